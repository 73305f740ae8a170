// SPDX-License-Identifier: MIT
#include <stdint.h>

#include "overlay/ratelimit.h"
#include "tests/unit/unit.h"

static const uint64_t T0 = 1700000000000ULL;

static unsigned drain(struct tund_ratelimit *rl, uint64_t now, unsigned tries)
{
	unsigned n = 0;

	for (unsigned i = 0; i < tries; i++)
		n += tund_ratelimit_allow(rl, now);
	return n;
}

UNIT_TEST(ratelimit_burst)
{
	struct tund_ratelimit rl;

	tund_ratelimit_init(&rl, 50, 200, T0);
	CHECK(drain(&rl, T0, 1000) == 200);
	CHECK(!tund_ratelimit_allow(&rl, T0));
}

UNIT_TEST(ratelimit_refill)
{
	struct tund_ratelimit rl;

	tund_ratelimit_init(&rl, 50, 200, T0);
	drain(&rl, T0, 200);
	CHECK(!tund_ratelimit_allow(&rl, T0 + 19)); /* 0.95 of a token */
	CHECK(tund_ratelimit_allow(&rl, T0 + 20));  /* one token per 20 ms */
	CHECK(drain(&rl, T0 + 1020, 1000) == 50);    /* one second: 50 */
	/* An hour's pause refills to the burst only. */
	CHECK(drain(&rl, T0 + 3600000ULL * 24, 1000) == 200);
}

UNIT_TEST(ratelimit_clock_backwards)
{
	struct tund_ratelimit rl;

	tund_ratelimit_init(&rl, 50, 200, T0);
	drain(&rl, T0, 200);
	CHECK(!tund_ratelimit_allow(&rl, T0 - 100000));
	CHECK(!tund_ratelimit_allow(&rl, T0 + 10));
	CHECK(tund_ratelimit_allow(&rl, T0 + 20));
}

UNIT_TEST(ratelimit_zero_rate)
{
	struct tund_ratelimit rl;

	tund_ratelimit_init(&rl, 0, 3, T0);
	CHECK(drain(&rl, T0 + 100000, 10) == 3);
	CHECK(!tund_ratelimit_allow(&rl, T0 + 1000000));
}
