// SPDX-License-Identifier: MIT
/* Signaling messages from the broker or pasted by hand: open with fixed keys
 * (network and manual), the text form, and the per-sender replay window. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/keys.h"
#include "overlay/signal.h"
#include "tests/fuzz/signal_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t netkey[32], priv[32], pub[32], spriv[32];
static const uint8_t zero[32];

static void open_all(const uint8_t *in, size_t len)
{
	static struct tund_signal m;
	struct tund_signal_replay r;

	for (int k = 0; k < 2; k++) {
		enum tund_signal_verdict pre = tund_signal_precheck(in, len, k ? zero : netkey);

		if (tund_signal_open(in, len, k ? zero : netkey, priv, pub, &m) != TUND_SIGNAL_OK)
			continue;
		if (pre != TUND_SIGNAL_OK) /* the cheap check never refuses what opens */
			abort();
		if (m.has_record) { /* what membership.c does with a record message */
			struct tund_record rec;
			(void)tund_record_open(m.record, sizeof(m.record), m.netid, &rec);
		}
		tund_signal_replay_init(&r);
		if (tund_signal_replay_check(&r, m.time_ms, m.nonce, FUZZ_SIGNAL_NOW_MS) ==
			    TUND_SIGNAL_REPLAY_OK &&
		    tund_signal_replay_check(&r, m.time_ms, m.nonce, FUZZ_SIGNAL_NOW_MS) !=
			    TUND_SIGNAL_REPLAY_REPLAY)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bin[TUND_SIGNAL_MAX_LEN];
	static int ready;
	struct tund_signal_replay r;
	char *text;
	size_t n;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		fuzz_signal_keys(netkey, priv, spriv);
		if (!tund_key_public(pub, priv))
			abort();
		ready = 1;
	}
	open_all(data, size);

	if (size <= TUND_SIGNAL_TEXT_MAX + 16) {
		text = malloc(size + 1);
		if (!text)
			return 0;
		memcpy(text, data, size);
		text[size] = '\0';
		n = tund_signal_from_text(text, bin, sizeof(bin));
		if (n)
			open_all(bin, n);
		free(text);
	}

	/* The input as a stream of (time offset, nonce) pairs for one sender:
	 * whatever was just accepted must be refused right after. */
	tund_signal_replay_init(&r);
	for (size_t off = 0; off + 12 <= size; off += 12) {
		uint8_t nonce[TUND_SIGNAL_NONCE_LEN] = { 0 };
		int32_t delta = (int32_t)((uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
					  (uint32_t)data[off + 2] << 8 | data[off + 3]);
		uint64_t t = FUZZ_SIGNAL_NOW_MS + (uint64_t)(int64_t)(delta / 8192);

		memcpy(nonce, data + off + 4, 8);
		if (tund_signal_replay_check(&r, t, nonce, FUZZ_SIGNAL_NOW_MS) ==
			    TUND_SIGNAL_REPLAY_OK &&
		    tund_signal_replay_check(&r, t, nonce, FUZZ_SIGNAL_NOW_MS) !=
			    TUND_SIGNAL_REPLAY_REPLAY)
			abort();
	}
	return 0;
}
