/* SPDX-License-Identifier: MIT */
/* Real-time priority for the packet threads while bulk traffic flows.
 *
 * A packet thread that waits for a CPU behind a busy program (the download
 * that saturates the tunnel, a game using every core) delays every packet
 * queued behind it, pings and game packets included. At SCHED_FIFO priority
 * 1 it runs as soon as a packet arrives, as the kernel's own network stack
 * does in softirq. Measured here under one saturating TCP stream: median
 * ping 0.5-0.7 ms instead of 1.7-2.6 ms, and throughput up by about 10%.
 * Every packet thread of the daemon is raised together: the stream's ACKs
 * and the ping's reply travel on the other threads, and raising only the
 * busy one left the ping where it was.
 *
 * Bulk means a batch of TUND_PRIO_LOAD_BYTES. Lighter traffic stays at
 * normal priority, for two measured reasons: a real-time thread woken for
 * every small packet of a flood halved the 64-byte rate (the sending
 * program no longer fills the queue for a large batch), and an idle ping
 * took longer through real-time threads (0.70 ms against 0.51 ms).
 * The group goes back to normal priority after TUND_PRIO_IDLE_MS without
 * bulk, and, as softirq hands over to ksoftirqd, when one thread has been
 * busy for TUND_PRIO_BACKLOG_MS without draining its input (a flood it
 * cannot keep up with must share the CPUs fairly).
 *
 * Never while a path through a TURN server is selected (tund_prio_hold): its
 * bottleneck is the TURN server, and where that shares the CPUs (the NAT
 * lab's coturn, a member running its own) real-time packet threads, which
 * also carry the kernel's send path up to the server's socket, take the CPU
 * it needs: measured on 2 vCPUs, coturn got 3.2-4.0 s of CPU in 10 s instead
 * of 4.9 s and a relayed TCP stream ran at 82-150 instead of 212-260 Mbit/s. */
#ifndef TUND_PRIORITY_H
#define TUND_PRIORITY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	TUND_PRIO_LOAD_BYTES = 32 * 1024,
	TUND_PRIO_IDLE_MS = 50,
	TUND_PRIO_BACKLOG_MS = 200,
	TUND_PRIO_MAX_THREADS = 8,
};

enum tund_prio_change { TUND_PRIO_KEEP, TUND_PRIO_RAISE, TUND_PRIO_LOWER };

/* The packet threads of one daemon. */
struct tund_prio_group {
	bool enabled;
	pthread_mutex_t lock;
	pid_t tids[TUND_PRIO_MAX_THREADS];
	size_t n_tids;
	bool rt;	     /* the threads run at SCHED_FIFO now */
	bool backlogged;     /* lowered for a backlog: stays so until drained */
	uint64_t last_bulk_ns;
	uint64_t raised, lowered_idle, lowered_backlog;
	bool refused;	     /* the kernel said no: real-time priority is off */
	unsigned held;	     /* paths through TURN selected: never raised */
};

/* One packet thread's part. */
struct tund_prio {
	struct tund_prio_group *g; /* NULL: never raised */
	uint64_t busy_since_ns;    /* first batch since the input was last empty; 0: none */
	bool backlog_owner;	   /* this thread's backlog lowered the group */
};

void tund_prio_group_init(struct tund_prio_group *g, bool enabled);
void tund_prio_group_destroy(struct tund_prio_group *g);
/* What status shows of a group. */
struct tund_prio_status {
	bool enabled; /* configured and not refused by the kernel */
	bool active;  /* the threads run at SCHED_FIFO now */
	uint64_t raised, lowered_idle, lowered_backlog;
};
void tund_prio_group_status(struct tund_prio_group *g, struct tund_prio_status *out);

/* The calling thread joins g (NULL or disabled: p does nothing); leave
 * before it exits. */
void tund_prio_join(struct tund_prio *p, struct tund_prio_group *g);
void tund_prio_leave(struct tund_prio *p);

/* The decisions, without system calls (unit-tested); the caller holds
 * p->g->lock. */
/* A batch of `bytes` was taken from the input at now_ns. */
enum tund_prio_change tund_prio_on_batch(struct tund_prio *p, size_t bytes, uint64_t now_ns);
/* The input was found empty; returns how long to wait for it before
 * tund_prio_on_idle (ms), or -1: wait without a limit. */
int tund_prio_on_empty(struct tund_prio *p);
/* The wait that tund_prio_on_empty asked for ended without input. */
enum tund_prio_change tund_prio_on_idle(struct tund_prio *p, uint64_t now_ns);
/* A path through a TURN server was selected (hold) or left (!hold); the
 * caller holds g->lock. While any is held, returns TUND_PRIO_LOWER if the
 * threads run at SCHED_FIFO, and tund_prio_on_batch never raises. */
enum tund_prio_change tund_prio_on_hold(struct tund_prio_group *g, bool hold);
/* Records a change (flags, counters) once carried out. */
void tund_prio_record(struct tund_prio_group *g, enum tund_prio_change c);

/* What the packet threads call: the decisions above, with the current time,
 * under the lock, carried out on every thread of the group. When the kernel
 * refuses (no CAP_SYS_NICE and no RLIMIT_RTPRIO), that is logged once and
 * real-time priority stays off. */
void tund_prio_batch(struct tund_prio *p, size_t bytes);
int tund_prio_empty(struct tund_prio *p);
void tund_prio_idle(struct tund_prio *p);

/* Called while still root, before privileges are dropped: raises
 * RLIMIT_RTPRIO to 1 so that the unprivileged daemon may switch its packet
 * threads to SCHED_FIFO 1 and back. 0 or -errno. */
int tund_prio_allow(void);
/* tund_prio_on_hold under the lock, carried out. */
void tund_prio_hold(struct tund_prio_group *g, bool hold);

#endif
