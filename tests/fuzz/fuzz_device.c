// SPDX-License-Identifier: MIT
/* The whole receive path of the WireGuard device: any datagram from the
 * network, alone or in a batch, with one configured peer, must be dropped or
 * handled cleanly. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)dst;
	(void)buf;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tund_wg *wg;
	static const struct tund_wg_endpoint src = { .addr = { 2 }, .addr_len = 16,
						     .key = { 192, 0, 2, 1, 0xca, 0x6c },
						     .key_len = 6 };
	struct tund_wg_clock now = { .mono_ns = 1000000000ull, .wall = { 1700000000, 0 } };
	uint8_t *buf;
	size_t off, len;

	if (!wg) {
		uint8_t priv[32], peer_priv[32], peer_pub[32];
		struct tund_cidr all = { .family = 2, .prefix = 0 };

		if (sodium_init() < 0)
			abort();
		memset(priv, 1, sizeof(priv));
		memset(peer_priv, 2, sizeof(peer_priv));
		crypto_scalarmult_base(peer_pub, peer_priv);
		wg = tund_wg_new(priv, 1420, sink, NULL);
		struct tund_wg_peer *p = tund_wg_peer_add(wg, peer_pub, NULL, NULL);
		tund_wg_peer_allow(wg, p, &all);
	}
	buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	tund_wg_receive(wg, buf, size, &src, &now, &off, &len);
	/* The same bytes as a batch: a first byte n cuts the rest into up to
	 * 4 datagrams of (n >> 2 & 63) * 8 bytes (the last takes what is left). */
	if (size > 1) {
		struct tund_wg_packet pkts[4];
		size_t count = ((size_t)data[0] & 3) + 1, chunk = ((size_t)data[0] >> 2) * 8, at = 1;
		size_t n = 0;

		memcpy(buf, data, size);
		for (size_t i = 0; i < count && at < size; i++, n++) {
			size_t l = i + 1 == count || at + chunk > size ? size - at : chunk;

			pkts[n] = (struct tund_wg_packet){ .buf = buf + at, .len = l, .src = &src };
			at += l;
		}
		tund_wg_receive_batch(wg, pkts, n, &now);
	}
	free(buf);
	return 0;
}
