/* SPDX-License-Identifier: MIT */
/* Pacing of a packet thread under a flood of small packets, as a network
 * card's interrupt moderation does (ethtool's rx-usecs).
 *
 * In a flood of small packets a thread woken for every few of them spends
 * as much CPU on waking, waiting and system calls as on the packets, and on
 * a busy machine it takes that CPU from the program the packets are for:
 * with 64-byte UDP through two daemons on 2 vCPUs, the receiving iperf3
 * got under half a CPU and dropped about half of what tund handed it
 * (receive livelock). So a thread that handled TUND_PACE_FLOOD_PPS packets
 * a second or more over its last TUND_PACE_WINDOW_MS window pauses
 * TUND_PACE_PAUSE_US after every batch that did not fill up: packets gather
 * into larger batches, the thread wakes less often, and the programs get
 * the CPU in between. What a flood leaves over is then dropped at tund's
 * input queue, before any work was spent on it, instead of at the
 * program's socket after all of it.
 *
 * Never paced:
 * - a batch after a quiet spell of TUND_PACE_QUIET_US, and traffic below the
 *   flood rate: pings, game packets, a burst of a few dozen;
 * - a batch of TUND_PACE_FULL packets or more: the queue is growing;
 * - anything while large packets flow through the daemon (a batch with a
 *   mean size of TUND_PACE_SMALL bytes or more in the last
 *   TUND_PACE_LARGE_HOLD_MS, on any of its threads): a TCP stream, whose
 *   ACKs and the ping beside it must not wait (pausing those took ping
 *   under load from 0.5 to 1.0 ms in a trial).
 * A pause delays a packet of the flood, or one that shares its thread, by
 * at most TUND_PACE_PAUSE_US on each daemon. */
#ifndef TUND_PACE_H
#define TUND_PACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TUND_PACE_SMALL = 256,
	TUND_PACE_FULL = 64,
	TUND_PACE_WINDOW_MS = 10,
	TUND_PACE_FLOOD_PPS = 50000,
	TUND_PACE_QUIET_US = 1000,
	TUND_PACE_PAUSE_US = 200,
	TUND_PACE_LARGE_HOLD_MS = 50,
};

/* The packet threads of one daemon. */
struct tund_pace_group {
	_Atomic uint64_t last_large_ns; /* end of the last batch of large packets; 0: none */
	atomic_uint_fast64_t pauses;	/* pauses taken, all threads */
};

/* One packet thread's part. */
struct tund_pace {
	struct tund_pace_group *g;
	uint64_t ready_ns;	 /* when the thread was last ready for input */
	uint64_t window_ns;	 /* start of the current rate window */
	uint64_t window_packets; /* packets handled in it */
	bool flood;		 /* the last window's rate was a flood's */
};

/* g NULL: never pauses. */
void tund_pace_init(struct tund_pace *p, struct tund_pace_group *g);

/* A batch of n packets, bytes in all, was begun at start_ns and handled by
 * end_ns. Returns how long to pause (ns) before the next read; 0: none.
 * Counts the pause in the group. No system calls (unit-tested). */
uint64_t tund_pace_batch(struct tund_pace *p, uint64_t start_ns, uint64_t end_ns, size_t n,
			 size_t bytes);

/* Pauses the calling thread for ns, a pause that tund_pace_batch asked for. */
void tund_pace_pause(uint64_t ns);
/* What the packet threads call: the monotonic clock before a batch, and
 * tund_pace_batch with it after the batch, pausing as it says. */
uint64_t tund_pace_now(void);
void tund_pace_after(struct tund_pace *p, uint64_t start_ns, size_t n, size_t bytes);

uint64_t tund_pace_pauses(struct tund_pace_group *g);

#endif
