// SPDX-License-Identifier: MIT
/* LAN beacons from the wire: decode under a fixed key (in the fuzz build the
 * MAC and signature checks pass, so the fields behind them are reached), then
 * the replay guard and the token bucket driven by the input. */
#include <stdlib.h>
#include <string.h>

#include "overlay/beacon.h"
#include "overlay/ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1700000000000ULL

/* The seeds in tests/fuzz/corpus/beacon are encoded under this key
 * (tests/fuzz/gen_seeds.c, signal_keys.h's network key). */
static const uint8_t netkey[32] = {
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_beacon_msg b, again;
	struct tund_beacon_replay r;
	struct tund_ratelimit rl;
	uint8_t buf[TUND_BEACON_LEN];
	uint64_t t = NOW_MS;

	if (tund_beacon_decode(data, size, netkey, &b) == TUND_BEACON_OK) {
		/* Every field is read back (the signature and MAC, which pass
		 * here, are not compared: the input's key is unknown). */
		if (size != TUND_BEACON_LEN || b.listen_port == 0 ||
		    memcmp(b.pubkey, data + TUND_BEACON_PUBKEY_OFFSET, 32) != 0)
			abort();
		memcpy(buf, data, size);
		if (tund_beacon_decode(buf, sizeof(buf), netkey, &again) != TUND_BEACON_OK)
			abort();
		tund_beacon_replay_init(&r);
		if (tund_beacon_replay_check(&r, &b, b.time_ms) != TUND_BEACON_REPLAY_OK ||
		    tund_beacon_replay_check(&r, &b, b.time_ms) != TUND_BEACON_REPLAY_REPLAY)
			abort();
	}

	/* The input as (time delta, nonce) pairs for one sender: whatever was just
	 * accepted is refused right after. */
	tund_beacon_replay_init(&r);
	for (size_t off = 0; off + 12 <= size; off += 12) {
		int32_t delta = (int32_t)((uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
					  (uint32_t)data[off + 2] << 8 | data[off + 3]);

		memset(&b, 0, sizeof(b));
		b.listen_port = 1;
		b.time_ms = NOW_MS + (uint64_t)(int64_t)(delta / 16384);
		memcpy(b.nonce, data + off + 4, 8);
		if (tund_beacon_replay_check(&r, &b, NOW_MS) == TUND_BEACON_REPLAY_OK &&
		    tund_beacon_replay_check(&r, &b, NOW_MS) != TUND_BEACON_REPLAY_REPLAY)
			abort();
	}

	/* Token bucket: never more than burst + rate * elapsed tokens. */
	tund_ratelimit_init(&rl, 7, 3, t);
	{
		uint64_t allowed = 0, start = t;

		for (size_t i = 0; i < size; i++) {
			t += data[i];
			allowed += tund_ratelimit_allow(&rl, t);
		}
		if (allowed > 3 + (t - start) * 7 / 1000 + 1)
			abort();
	}
	return 0;
}
