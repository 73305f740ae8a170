// SPDX-License-Identifier: MIT
#include "overlay/replay.h"

#include <string.h>

enum {
	WORD_SHIFT = 6, /* log2(TUND_REPLAY_WORD_BITS) */
	RING_MASK = TUND_REPLAY_RING_WORDS - 1,
	BIT_MASK = TUND_REPLAY_WORD_BITS - 1,
};

_Static_assert((1 << WORD_SHIFT) == TUND_REPLAY_WORD_BITS, "word shift");
_Static_assert((TUND_REPLAY_RING_WORDS & RING_MASK) == 0, "ring is a power of two");
_Static_assert(TUND_REPLAY_WINDOW_SIZE >= 2048, "window of at least 2048 packets");

void tund_replay_reset(struct tund_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool tund_replay_check(struct tund_replay *r, uint64_t counter, uint64_t limit)
{
	uint64_t word = counter >> WORD_SHIFT;
	uint64_t bit, old;

	if (counter >= limit)
		return false;
	if (counter > r->last) {
		uint64_t current = r->last >> WORD_SHIFT;
		uint64_t diff = word - current;

		/* Clear the words the window slides over (all of them at most). */
		if (diff > TUND_REPLAY_RING_WORDS)
			diff = TUND_REPLAY_RING_WORDS;
		for (uint64_t i = current + 1; i <= current + diff; i++)
			r->ring[i & RING_MASK] = 0;
		r->last = counter;
	} else if (r->last - counter > TUND_REPLAY_WINDOW_SIZE) {
		return false;
	}
	bit = 1ULL << (counter & BIT_MASK);
	old = r->ring[word & RING_MASK];
	r->ring[word & RING_MASK] = old | bit;
	return !(old & bit);
}
