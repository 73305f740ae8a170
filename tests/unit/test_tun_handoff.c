// SPDX-License-Identifier: MIT
/* tund/dataplane/tun_handoff.c: what counts as heavy and as quiet, which
 * receiving thread gets the TUN, and a hand-off wakes the thread it goes
 * to. */
#include <poll.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/tun_handoff.h"

UNIT_TEST(tun_handoff_heavy_and_quiet)
{
	CHECK(!tund_tun_handoff_heavy(0));
	CHECK(!tund_tun_handoff_heavy(TUND_HANDOFF_HEAVY_PACKETS - 1));
	CHECK(tund_tun_handoff_heavy(TUND_HANDOFF_HEAVY_PACKETS));
	uint64_t ms = 1000000, t = 1000 * ms;

	CHECK(!tund_tun_handoff_quiet(t, t));
	CHECK(!tund_tun_handoff_quiet(t, t + TUND_HANDOFF_QUIET_MS * ms - 1));
	CHECK(tund_tun_handoff_quiet(t, t + TUND_HANDOFF_QUIET_MS * ms));
	CHECK(tund_tun_handoff_quiet(0, TUND_HANDOFF_QUIET_MS * ms)); /* never heavy */
	/* Another thread stamped a heavy batch after the caller's clock read. */
	CHECK(!tund_tun_handoff_quiet(t + 1, t));
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

UNIT_TEST(tun_handoff_give_wakes_the_taker)
{
	struct tund_tun_handoff h;
	int tun_fd, udp_fd, fast_fd;

	CHECK(tund_tun_handoff_init(&h, true) == 0);
	tun_fd = tund_tun_handoff_fd(&h, TUND_TUN_READER_TUN_THREAD);
	udp_fd = tund_tun_handoff_fd(&h, TUND_TUN_READER_UDP_THREAD);
	fast_fd = tund_tun_handoff_fd(&h, TUND_TUN_READER_FAST_THREAD);
	CHECK(tun_fd >= 0 && udp_fd >= 0 && fast_fd >= 0);
	/* The TUN thread starts with it. */
	CHECK(tund_tun_handoff_mine(&h, TUND_TUN_READER_TUN_THREAD));
	CHECK(!tund_tun_handoff_mine(&h, TUND_TUN_READER_UDP_THREAD));

	tund_tun_handoff_give(&h, TUND_TUN_READER_UDP_THREAD);
	CHECK(tund_tun_handoff_mine(&h, TUND_TUN_READER_UDP_THREAD));
	CHECK(readable(udp_fd) && !readable(tun_fd) && !readable(fast_fd));
	tund_tun_handoff_woken(&h, TUND_TUN_READER_UDP_THREAD);
	CHECK(!readable(udp_fd));

	tund_tun_handoff_give(&h, TUND_TUN_READER_FAST_THREAD);
	CHECK(tund_tun_handoff_reader(&h) == TUND_TUN_READER_FAST_THREAD);
	CHECK(readable(fast_fd) && !readable(tun_fd) && !readable(udp_fd));

	tund_tun_handoff_give(&h, TUND_TUN_READER_TUN_THREAD);
	CHECK(tund_tun_handoff_mine(&h, TUND_TUN_READER_TUN_THREAD));
	CHECK(readable(tun_fd));
	CHECK(atomic_load(&h.to_light) == 2 && atomic_load(&h.to_tun) == 1);

	/* A heavy batch is remembered, a light one is not. */
	tund_tun_handoff_batch(&h, 1, 5);
	CHECK(atomic_load(&h.last_heavy_ns) == 0);
	tund_tun_handoff_batch(&h, TUND_HANDOFF_HEAVY_PACKETS, 7);
	CHECK(atomic_load(&h.last_heavy_ns) == 7);
	tund_tun_handoff_destroy(&h);
}

/* The TUN goes to the receiving thread that received last, and a light
 * reader passes it on only after TUND_HANDOFF_MOVE_AFTER batches in a row
 * on the other one (traffic on both does not bounce it at every packet). */
UNIT_TEST(tun_handoff_follows_the_receiving_thread)
{
	struct tund_tun_handoff h;
	enum tund_tun_reader to = TUND_TUN_READER_TUN_THREAD;

	CHECK(tund_tun_handoff_init(&h, true) == 0);
	CHECK(tund_tun_handoff_light_reader(&h) == TUND_TUN_READER_UDP_THREAD);
	CHECK(!tund_tun_handoff_should_move(&h, TUND_TUN_READER_UDP_THREAD, &to));

	tund_tun_handoff_received(&h, TUND_TUN_READER_FAST_THREAD);
	CHECK(tund_tun_handoff_light_reader(&h) == TUND_TUN_READER_FAST_THREAD);
	for (int i = 1; i < TUND_HANDOFF_MOVE_AFTER; i++) {
		CHECK(!tund_tun_handoff_should_move(&h, TUND_TUN_READER_UDP_THREAD, &to));
		tund_tun_handoff_received(&h, TUND_TUN_READER_FAST_THREAD);
	}
	CHECK(tund_tun_handoff_should_move(&h, TUND_TUN_READER_UDP_THREAD, &to) &&
	      to == TUND_TUN_READER_FAST_THREAD);
	CHECK(!tund_tun_handoff_should_move(&h, TUND_TUN_READER_FAST_THREAD, &to));

	/* Alternating threads never build a streak. */
	for (int i = 0; i < 10; i++) {
		tund_tun_handoff_received(&h, i % 2 ? TUND_TUN_READER_FAST_THREAD :
						      TUND_TUN_READER_UDP_THREAD);
		CHECK(!tund_tun_handoff_should_move(&h, TUND_TUN_READER_UDP_THREAD, &to));
		CHECK(!tund_tun_handoff_should_move(&h, TUND_TUN_READER_FAST_THREAD, &to));
	}
	tund_tun_handoff_destroy(&h);
}

/* A receiving thread that ended, or cannot wait for the TUN, is never given
 * it again, and gives it back if it has it. */
UNIT_TEST(tun_handoff_retired_reader_is_passed_over)
{
	struct tund_tun_handoff h;
	enum tund_tun_reader to;

	CHECK(tund_tun_handoff_init(&h, true) == 0);
	for (int i = 0; i < TUND_HANDOFF_MOVE_AFTER; i++)
		tund_tun_handoff_received(&h, TUND_TUN_READER_FAST_THREAD);
	tund_tun_handoff_give(&h, TUND_TUN_READER_FAST_THREAD);
	tund_tun_handoff_retire(&h, TUND_TUN_READER_FAST_THREAD);
	CHECK(tund_tun_handoff_mine(&h, TUND_TUN_READER_TUN_THREAD));
	/* It received last, yet the TUN goes to the UDP thread. */
	CHECK(tund_tun_handoff_light_reader(&h) == TUND_TUN_READER_UDP_THREAD);
	CHECK(!tund_tun_handoff_should_move(&h, TUND_TUN_READER_UDP_THREAD, &to));
	/* Neither: the TUN thread keeps it. */
	tund_tun_handoff_retire(&h, TUND_TUN_READER_UDP_THREAD);
	CHECK(tund_tun_handoff_light_reader(&h) == TUND_TUN_READER_TUN_THREAD);
	tund_tun_handoff_destroy(&h);
}

UNIT_TEST(tun_handoff_off_keeps_the_tun_thread)
{
	struct tund_tun_handoff h;

	CHECK(tund_tun_handoff_init(&h, false) == 0);
	CHECK(tund_tun_handoff_fd(&h, TUND_TUN_READER_UDP_THREAD) < 0);
	tund_tun_handoff_give(&h, TUND_TUN_READER_UDP_THREAD);
	CHECK(tund_tun_handoff_mine(&h, TUND_TUN_READER_TUN_THREAD));
	CHECK(!tund_tun_handoff_mine(&h, TUND_TUN_READER_UDP_THREAD));
	tund_tun_handoff_destroy(&h);
}
