// SPDX-License-Identifier: MIT
/* The decisions of tund/dataplane/pace.c: which batches a packet thread pauses after,
 * on a made-up clock. */
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/pace.h"

#define US 1000ull
#define MS 1000000ull

struct clockwork {
	struct tund_pace p;
	uint64_t now;
	size_t pauses; /* batches followed by a pause */
};

/* count batches of n packets of size bytes each, every gap: a batch takes
 * 5 us, then the thread pauses if told to and waits for the next one. */
static void run(struct clockwork *c, size_t count, size_t n, size_t size, uint64_t gap)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t start = c->now;
		uint64_t pause = tund_pace_batch(&c->p, start, start + 5 * US, n, n * size);

		if (pause) {
			CHECK(pause == TUND_PACE_PAUSE_US * US);
			c->pauses++;
		}
		c->now = start + 5 * US + pause + gap;
	}
}

static void setup(struct clockwork *c, struct tund_pace_group *g)
{
	memset(g, 0, sizeof(*g));
	memset(c, 0, sizeof(*c));
	tund_pace_init(&c->p, g);
	c->now = 1000 * MS;
}

UNIT_TEST(pace_sparse_traffic_never_pauses)
{
	struct tund_pace_group g;
	struct clockwork c;

	setup(&c, &g);
	/* Pings every 10 ms, a game's 128 packets a second, for seconds. */
	run(&c, 500, 1, 84, 10 * MS);
	run(&c, 500, 1, 120, 7800 * US);
	/* Bursts of 40 packets (a state update to every player), 20 ms apart. */
	for (int i = 0; i < 100; i++) {
		run(&c, 40, 1, 120, 2 * US);
		c.now += 20 * MS;
	}
	CHECK(c.pauses == 0 && tund_pace_pauses(&g) == 0);
}

UNIT_TEST(pace_small_packet_flood_pauses_after_short_batches)
{
	struct tund_pace_group g;
	struct clockwork c;

	setup(&c, &g);
	/* 16 small packets every 80 us: 190 thousand a second. The first
	 * window only measures the rate. */
	run(&c, 100, 16, 96, 75 * US);
	CHECK(c.pauses == 0);
	run(&c, 200, 16, 96, 75 * US);
	CHECK(c.pauses > 150);
	CHECK(tund_pace_pauses(&g) == c.pauses);
	/* A batch that fills up: the queue grows, no pause. */
	c.pauses = 0;
	run(&c, 20, TUND_PACE_FULL, 96, 0);
	CHECK(c.pauses == 0);
	/* The flood stops: the next packet, after a quiet spell, goes at
	 * once, and so does everything after it. */
	c.now += 30 * MS;
	run(&c, 300, 1, 84, 10 * MS);
	CHECK(c.pauses == 0);
}

UNIT_TEST(pace_never_while_large_packets_flow)
{
	struct tund_pace_group g;
	struct clockwork acks, data;

	setup(&acks, &g);
	memset(&data, 0, sizeof(data));
	tund_pace_init(&data.p, &g);
	/* A TCP stream: one thread takes large segments, the other sends a
	 * flood of small ACKs, both at a high rate. */
	for (int i = 0; i < 2000; i++) {
		data.now = acks.now;
		run(&data, 1, 40, 1400, 0);
		run(&acks, 1, 20, 52, 80 * US);
	}
	CHECK(acks.pauses == 0 && data.pauses == 0);
	/* The stream ends, small packets flood on: paused once the large
	 * ones are TUND_PACE_LARGE_HOLD_MS in the past. */
	run(&acks, 200, 20, 52, 80 * US);
	CHECK(acks.pauses == 0);
	run(&acks, 2000, 20, 52, 80 * US);
	CHECK(acks.pauses > 1000);
}

UNIT_TEST(pace_without_group_never_pauses)
{
	struct clockwork c;

	memset(&c, 0, sizeof(c));
	tund_pace_init(&c.p, NULL);
	c.now = 1000 * MS;
	run(&c, 2000, 16, 96, 75 * US);
	CHECK(c.pauses == 0);
}
