/* SPDX-License-Identifier: MIT */
/* Sliding anti-replay window for transport counters (RFC 6479 style, as in
 * WireGuard): a ring of 64-bit words; moving forward clears whole words, so
 * the cost is independent of the jump. Accepts a counter at most
 * TUND_REPLAY_WINDOW_SIZE behind the highest seen; each counter once. */
#ifndef TUND_OVERLAY_REPLAY_H
#define TUND_OVERLAY_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	TUND_REPLAY_WORD_BITS = 64,
	TUND_REPLAY_RING_WORDS = 128, /* power of two */
	/* One word is kept as slack for the partially used head word. */
	TUND_REPLAY_WINDOW_SIZE = (TUND_REPLAY_RING_WORDS - 1) * TUND_REPLAY_WORD_BITS,
};

/* Zero-initialised state is valid (nothing seen yet). Caller serialises. */
struct tund_replay {
	uint64_t last; /* highest counter accepted so far */
	uint64_t ring[TUND_REPLAY_RING_WORDS];
};

/* Forgets everything seen. */
void tund_replay_reset(struct tund_replay *r);
/* Records counter and returns true if it is new, inside the window and below
 * limit (use TUND_REJECT_AFTER_MESSAGES). Call only after the packet was
 * authenticated, or a forger could advance the window. */
bool tund_replay_check(struct tund_replay *r, uint64_t counter, uint64_t limit);

#endif
