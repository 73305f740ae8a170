// SPDX-License-Identifier: MIT
/* The decisions of tund/dataplane/priority.c: when the packet threads go to real-time
 * priority and back, without the system calls (a group with no threads). */
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/priority.h"

#define MS 1000000ull

/* A thread of group g, without a real thread id behind it. */
static void member(struct tund_prio *p, struct tund_prio_group *g)
{
	memset(p, 0, sizeof(*p));
	p->g = g;
}

static enum tund_prio_change batch(struct tund_prio *p, size_t bytes, uint64_t now)
{
	enum tund_prio_change c = tund_prio_on_batch(p, bytes, now);

	tund_prio_record(p->g, c);
	return c;
}

static enum tund_prio_change idle(struct tund_prio *p, uint64_t now)
{
	enum tund_prio_change c = tund_prio_on_idle(p, now);

	tund_prio_record(p->g, c);
	return c;
}

UNIT_TEST(priority_bulk_raises_light_does_not)
{
	struct tund_prio_group g;
	struct tund_prio p;

	tund_prio_group_init(&g, true);
	member(&p, &g);
	/* Pings, game packets, a flood of small ones: normal priority. */
	for (int i = 0; i < 100; i++) {
		CHECK(batch(&p, 64 * 60, 1000 * MS + (uint64_t)i * MS) == TUND_PRIO_KEEP);
		CHECK(tund_prio_on_empty(&p) == -1);
	}
	CHECK(!g.rt && g.raised == 0);
	/* A batch of bulk raises the group, once. */
	CHECK(batch(&p, TUND_PRIO_LOAD_BYTES, 2000 * MS) == TUND_PRIO_RAISE);
	CHECK(g.rt && g.raised == 1);
	CHECK(batch(&p, 65536, 2001 * MS) == TUND_PRIO_KEEP);
	/* While raised, waits are bounded so that idleness is noticed. */
	CHECK(tund_prio_on_empty(&p) == TUND_PRIO_IDLE_MS);
	tund_prio_group_destroy(&g);
}

UNIT_TEST(priority_lowered_when_bulk_stops)
{
	struct tund_prio_group g;
	struct tund_prio bulk, acks;

	tund_prio_group_init(&g, true);
	member(&bulk, &g);
	member(&acks, &g);
	CHECK(batch(&bulk, 65536, 1000 * MS) == TUND_PRIO_RAISE);
	tund_prio_on_empty(&bulk);
	/* The thread carrying the ACKs idles while the bulk still flows: the
	 * group stays raised. */
	CHECK(batch(&bulk, 65536, 1040 * MS) == TUND_PRIO_KEEP);
	CHECK(idle(&acks, 1060 * MS) == TUND_PRIO_KEEP);
	CHECK(g.rt);
	/* No bulk for TUND_PRIO_IDLE_MS: lowered, counted as idle. */
	CHECK(idle(&bulk, (1040 + TUND_PRIO_IDLE_MS) * MS) == TUND_PRIO_LOWER);
	CHECK(!g.rt && g.lowered_idle == 1 && g.lowered_backlog == 0);
	CHECK(tund_prio_on_empty(&bulk) == -1);
	CHECK(idle(&acks, 5000 * MS) == TUND_PRIO_KEEP);
	/* Bulk again: raised again. */
	CHECK(batch(&bulk, 65536, 6000 * MS) == TUND_PRIO_RAISE);
	CHECK(g.raised == 2);
	tund_prio_group_destroy(&g);
}

UNIT_TEST(priority_backlog_lowers_until_drained)
{
	struct tund_prio_group g;
	struct tund_prio flooded, other;
	uint64_t t = 1000 * MS;

	tund_prio_group_init(&g, true);
	member(&flooded, &g);
	member(&other, &g);
	CHECK(batch(&flooded, 65536, t) == TUND_PRIO_RAISE);
	/* Busy without ever finding the input empty, for longer than
	 * TUND_PRIO_BACKLOG_MS: a flood it cannot keep up with. */
	for (int i = 1; i <= TUND_PRIO_BACKLOG_MS; i++)
		CHECK(batch(&flooded, 65536, t + (uint64_t)i * MS) == TUND_PRIO_KEEP);
	CHECK(batch(&flooded, 65536, t + (TUND_PRIO_BACKLOG_MS + 1) * (uint64_t)MS) ==
	      TUND_PRIO_LOWER);
	CHECK(!g.rt && g.lowered_backlog == 1 && g.lowered_idle == 0);
	/* Neither it nor another thread's bulk raises the group meanwhile. */
	CHECK(batch(&flooded, 65536, t + 500 * (uint64_t)MS) == TUND_PRIO_KEEP);
	CHECK(batch(&other, 65536, t + 501 * (uint64_t)MS) == TUND_PRIO_KEEP);
	CHECK(!g.rt);
	/* Drained: bulk may raise it again. */
	tund_prio_on_empty(&flooded);
	CHECK(batch(&other, 65536, t + 600 * (uint64_t)MS) == TUND_PRIO_RAISE);
	tund_prio_group_destroy(&g);
}

UNIT_TEST(priority_off_or_refused_never_raises)
{
	struct tund_prio_group g;
	struct tund_prio p;

	/* [daemon] realtime = off: threads do not even join. */
	tund_prio_group_init(&g, false);
	tund_prio_join(&p, &g);
	CHECK(p.g == NULL && g.n_tids == 0);
	CHECK(tund_prio_on_batch(&p, 65536, 1000 * MS) == TUND_PRIO_KEEP);
	CHECK(tund_prio_on_empty(&p) == -1);
	tund_prio_group_destroy(&g);
	/* The kernel refused once: no more attempts. */
	tund_prio_group_init(&g, true);
	g.refused = true;
	member(&p, &g);
	CHECK(tund_prio_on_batch(&p, 65536, 1000 * MS) == TUND_PRIO_KEEP);
	tund_prio_group_destroy(&g);
}

UNIT_TEST(priority_join_leave)
{
	struct tund_prio_group g;
	struct tund_prio p;

	tund_prio_group_init(&g, true);
	tund_prio_join(&p, &g);
	CHECK(p.g == &g && g.n_tids == 1);
	tund_prio_leave(&p);
	CHECK(p.g == NULL && g.n_tids == 0);
	tund_prio_group_destroy(&g);
}

/* A path through a TURN server selected: raised threads come down at once,
 * bulk does not raise them while it stays, and leaving it allows it again. */
UNIT_TEST(priority_turn_path_holds_normal)
{
	struct tund_prio_group g;
	struct tund_prio p;
	enum tund_prio_change c;

	tund_prio_group_init(&g, true);
	member(&p, &g);
	CHECK(batch(&p, 65536, 1000 * MS) == TUND_PRIO_RAISE);
	c = tund_prio_on_hold(&g, true);
	CHECK(c == TUND_PRIO_LOWER);
	tund_prio_record(&g, c);
	CHECK(!g.rt);
	CHECK(batch(&p, 65536, 1001 * MS) == TUND_PRIO_KEEP);
	/* A second TURN path; leaving one of them still holds. */
	CHECK(tund_prio_on_hold(&g, true) == TUND_PRIO_KEEP);
	CHECK(tund_prio_on_hold(&g, false) == TUND_PRIO_KEEP);
	CHECK(batch(&p, 65536, 1002 * MS) == TUND_PRIO_KEEP && !g.rt);
	CHECK(tund_prio_on_hold(&g, false) == TUND_PRIO_KEEP);
	CHECK(batch(&p, 65536, 1003 * MS) == TUND_PRIO_RAISE && g.rt);
	/* An unmatched release does not wrap the count. */
	CHECK(tund_prio_on_hold(&g, false) == TUND_PRIO_KEEP && g.held == 0);
	tund_prio_group_destroy(&g);
}
