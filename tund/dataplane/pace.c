// SPDX-License-Identifier: MIT
#include "tund/dataplane/pace.h"

#include <errno.h>
#include <time.h>

#define US 1000ull
#define MS 1000000ull

void tund_pace_init(struct tund_pace *p, struct tund_pace_group *g)
{
	p->g = g;
	p->ready_ns = 0;
	p->window_ns = 0;
	p->window_packets = 0;
	p->flood = false;
}

uint64_t tund_pace_batch(struct tund_pace *p, uint64_t start_ns, uint64_t end_ns, size_t n,
			 size_t bytes)
{
	uint64_t last_large, elapsed, pause = 0;
	bool quiet_before;

	if (!n || !p->g)
		return 0;
	quiet_before = start_ns > p->ready_ns && start_ns - p->ready_ns >= TUND_PACE_QUIET_US * US;
	if (bytes / n >= TUND_PACE_SMALL)
		atomic_store_explicit(&p->g->last_large_ns, end_ns, memory_order_relaxed);
	/* The rate over the last window, or none after a quiet one. */
	elapsed = end_ns - p->window_ns;
	if (elapsed >= TUND_PACE_WINDOW_MS * MS) {
		p->flood = elapsed < 2 * TUND_PACE_WINDOW_MS * MS &&
			   p->window_packets * 1000000000u / elapsed >= TUND_PACE_FLOOD_PPS;
		p->window_ns = end_ns;
		p->window_packets = 0;
	}
	p->window_packets += n;
	last_large = atomic_load_explicit(&p->g->last_large_ns, memory_order_relaxed);
	/* last_large may be another thread's, a little after end_ns. */
	if (p->flood && !quiet_before && n < TUND_PACE_FULL &&
	    (!last_large ||
	     (end_ns > last_large && end_ns - last_large >= TUND_PACE_LARGE_HOLD_MS * MS))) {
		pause = TUND_PACE_PAUSE_US * US;
		atomic_fetch_add_explicit(&p->g->pauses, 1, memory_order_relaxed);
	}
	p->ready_ns = end_ns + pause;
	return pause;
}

uint64_t tund_pace_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void tund_pace_after(struct tund_pace *p, uint64_t start_ns, size_t n, size_t bytes)
{
	uint64_t pause = tund_pace_batch(p, start_ns, tund_pace_now(), n, bytes);

	if (pause)
		tund_pace_pause(pause);
}

void tund_pace_pause(uint64_t ns)
{
	struct timespec t = { .tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u) };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

uint64_t tund_pace_pauses(struct tund_pace_group *g)
{
	return atomic_load_explicit(&g->pauses, memory_order_relaxed);
}
