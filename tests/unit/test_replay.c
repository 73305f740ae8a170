// SPDX-License-Identifier: MIT
/* Replay window, checked against a naive reference that remembers every
 * counter, plus the edge cases of the kernel's counter selftest. */
#include <stdlib.h>
#include <string.h>

#include "overlay/messages.h"
#include "overlay/replay.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

#define W TUND_REPLAY_WINDOW_SIZE
#define LIMIT TUND_REJECT_AFTER_MESSAGES

UNIT_TEST(replay_in_order)
{
	static struct tund_replay r;

	tund_replay_reset(&r);
	for (uint64_t i = 0; i < 10000; i++)
		CHECK(tund_replay_check(&r, i, LIMIT));
	for (uint64_t i = 0; i < 10000; i++)
		CHECK(!tund_replay_check(&r, i, LIMIT));
}

UNIT_TEST(replay_edges)
{
	static struct tund_replay r;

	CHECK(W >= 2048);
	tund_replay_reset(&r);
	CHECK(tund_replay_check(&r, 0, LIMIT));
	CHECK(!tund_replay_check(&r, 0, LIMIT)); /* duplicate */
	CHECK(tund_replay_check(&r, 1, LIMIT));
	CHECK(!tund_replay_check(&r, 1, LIMIT));
	CHECK(tund_replay_check(&r, 9, LIMIT));
	CHECK(tund_replay_check(&r, 8, LIMIT)); /* reordered, inside window */
	CHECK(tund_replay_check(&r, 7, LIMIT));
	CHECK(!tund_replay_check(&r, 7, LIMIT));
	CHECK(tund_replay_check(&r, W + 9, LIMIT));
	CHECK(tund_replay_check(&r, 10, LIMIT));
	CHECK(!tund_replay_check(&r, 8, LIMIT)); /* seen */
	CHECK(tund_replay_check(&r, 6, LIMIT) == false); /* exactly W + 3 behind: too old */
	CHECK(tund_replay_check(&r, W + 9 - W, LIMIT) == false); /* 9, seen */
	CHECK(tund_replay_check(&r, 11, LIMIT)); /* W - 2 behind: still inside */
	CHECK(tund_replay_check(&r, 2 * W + 100, LIMIT)); /* big jump */
	CHECK(!tund_replay_check(&r, W + 99, LIMIT)); /* W + 1 behind */
	CHECK(tund_replay_check(&r, W + 100, LIMIT)); /* exactly W behind */
	CHECK(!tund_replay_check(&r, W + 100, LIMIT));
}

UNIT_TEST(replay_reject_limit)
{
	static struct tund_replay r;

	tund_replay_reset(&r);
	CHECK(LIMIT == 0xFFFFFFFFFFFFDFFFULL);
	CHECK(!tund_replay_check(&r, LIMIT, LIMIT));
	CHECK(!tund_replay_check(&r, UINT64_MAX, LIMIT));
	CHECK(tund_replay_check(&r, LIMIT - 1, LIMIT));
	CHECK(!tund_replay_check(&r, LIMIT - 1, LIMIT));
	CHECK(tund_replay_check(&r, LIMIT - 2, LIMIT));
	CHECK(tund_replay_check(&r, LIMIT - 1 - W, LIMIT));
	CHECK(!tund_replay_check(&r, LIMIT - 2 - W, LIMIT));
	CHECK(!tund_replay_check(&r, 0, LIMIT));
}

/* Naive reference: a set of seen counters and the maximum. */
UNIT_TEST(replay_against_reference)
{
	enum { N = 20000, SPAN = 40000 };
	static struct tund_replay r;
	static bool seen[SPAN];
	uint64_t max = 0;
	bool any = false;
	uint32_t x = 12345;

	tund_replay_reset(&r);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		uint64_t c;
		bool expect, got;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		/* Mostly forward with jitter, sometimes far back or far ahead. */
		if (x % 10 == 0)
			c = x % SPAN;
		else
			c = (uint64_t)i * 2 + (x % 3000) - (x % 3000 > 1500 ? 1500 : 0);
		if (c >= SPAN)
			c %= SPAN;
		expect = !seen[c] && (!any || c > max || max - c <= W);
		got = tund_replay_check(&r, c, LIMIT);
		CHECK(got == expect);
		if (got) {
			seen[c] = true;
			if (!any || c > max)
				max = c;
			any = true;
		}
	}
}
