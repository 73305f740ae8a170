// SPDX-License-Identifier: MIT
#include <stdint.h>

#include "overlay/sigbound.h"
#include "tests/unit/unit.h"

static const uint64_t T0 = 1700000000000ULL;

UNIT_TEST(sigbound_oversize)
{
	struct tund_sigbound g;

	tund_sigbound_init(&g, T0);
	CHECK(tund_sigbound_check(&g, TUND_SIGNAL_MAX_LEN, T0) == TUND_SIGBOUND_OK);
	CHECK(tund_sigbound_check(&g, TUND_SIGNAL_MAX_LEN + 1, T0) == TUND_SIGBOUND_OVERSIZE);
	CHECK(tund_sigbound_check(&g, (size_t)1 << 28, T0) == TUND_SIGBOUND_OVERSIZE);
	/* Oversize messages take no token: the burst is still there less one. */
	for (int i = 0; i < 1000; i++)
		CHECK(tund_sigbound_check(&g, 100000, T0) == TUND_SIGBOUND_OVERSIZE);
	unsigned ok = 0;
	for (int i = 0; i < 1000; i++)
		ok += tund_sigbound_check(&g, 300, T0) == TUND_SIGBOUND_OK;
	CHECK(ok == TUND_SIGBOUND_BURST - 1);
	/* The packet size asked of the broker holds a whole message. */
	CHECK(TUND_SIGBOUND_MAX_PACKET > TUND_SIGBOUND_MAX_LEN + 200);
}

UNIT_TEST(sigbound_rate)
{
	struct tund_sigbound g;
	unsigned ok = 0, limited = 0;

	tund_sigbound_init(&g, T0);
	/* A flood of 5,000 messages over 10 s: the burst plus 10 s of rate. */
	for (unsigned i = 0; i < 5000; i++) {
		enum tund_sigbound_verdict v = tund_sigbound_check(&g, 300, T0 + i * 2);

		ok += v == TUND_SIGBOUND_OK;
		limited += v == TUND_SIGBOUND_RATE_LIMITED;
	}
	CHECK(ok + limited == 5000);
	CHECK(ok >= TUND_SIGBOUND_BURST + 10 * TUND_SIGBOUND_RATE - 1);
	CHECK(ok <= TUND_SIGBOUND_BURST + 10 * TUND_SIGBOUND_RATE + 1);
	/* Quiet for a while: real members get through again. */
	CHECK(tund_sigbound_check(&g, 300, T0 + 60000) == TUND_SIGBOUND_OK);
}

/* Junk refused for a MAC's cost has its own, larger budget: spending it
 * leaves the main one whole, and the other way round. */
UNIT_TEST(sigbound_cheap_budget_is_separate)
{
	struct tund_sigbound g;
	unsigned ok = 0;

	tund_sigbound_init(&g, T0);
	for (unsigned i = 0; i < 2 * TUND_SIGBOUND_CHEAP_BURST; i++)
		ok += tund_sigbound_precheck(&g, 300, T0) == TUND_SIGBOUND_OK;
	CHECK(ok == TUND_SIGBOUND_CHEAP_BURST);
	CHECK(tund_sigbound_precheck(&g, TUND_SIGNAL_MAX_LEN + 1, T0) == TUND_SIGBOUND_OVERSIZE);
	ok = 0;
	for (unsigned i = 0; i < 1000; i++)
		ok += tund_sigbound_check(&g, 300, T0) == TUND_SIGBOUND_OK;
	CHECK(ok == TUND_SIGBOUND_BURST);
	/* A second later the cheap budget has its rate back. */
	ok = 0;
	for (unsigned i = 0; i < 3 * TUND_SIGBOUND_CHEAP_RATE; i++)
		ok += tund_sigbound_precheck(&g, 300, T0 + 1000) == TUND_SIGBOUND_OK;
	CHECK(ok >= TUND_SIGBOUND_CHEAP_RATE - 1 && ok <= TUND_SIGBOUND_CHEAP_RATE + 1);
}
