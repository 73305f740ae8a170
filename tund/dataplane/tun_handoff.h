/* SPDX-License-Identifier: MIT */
/* Which packet thread reads the TUN device: the TUN thread under load, a
 * receiving thread while traffic is light.
 *
 * An idle ping through two daemons that split the directions between two
 * threads wakes four threads (the sender's TUN thread, the answerer's
 * receiving thread, its TUN thread for the reply, the sender's receiving
 * thread); on a VM, where each wake-up may have to start an idle vCPU, that
 * is most of an idle ping's time. While traffic is light the thread that
 * receives the peers' datagrams reads the TUN too: it finds the reply queued
 * as soon as its write of the request returns, and a ping wakes one thread
 * per daemon, as in a one-thread forwarder. Measured on the 2-vCPU
 * development machine (tests/bench, idle ping medians): a one-thread
 * forwarder 0.258 ms, the same split over two threads 0.310 ms.
 *
 * Two threads receive: the UDP thread (tund's own port: static endpoints,
 * LAN paths, port mappings) and the fast path's (ICE pairs, direct and
 * relayed). The TUN goes to the one that received last; a light reader that
 * sees TUND_HANDOFF_MOVE_AFTER batches in a row arrive on the other passes it
 * on.
 *
 * Light means no batch of TUND_HANDOFF_HEAVY_PACKETS packets or more, in
 * either direction, for TUND_HANDOFF_QUIET_MS. The first heavy batch a light
 * reader meets hands the TUN back to the TUN thread, so bulk traffic keeps
 * one thread per direction. Exactly one thread reads the TUN at any time, so
 * the order of packets holds across a hand-off. */
#ifndef TUND_TUN_HANDOFF_H
#define TUND_TUN_HANDOFF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TUND_HANDOFF_HEAVY_PACKETS = 4,
	TUND_HANDOFF_QUIET_MS = 50,
	TUND_HANDOFF_MOVE_AFTER = 3,
};

enum tund_tun_reader {
	TUND_TUN_READER_TUN_THREAD,
	TUND_TUN_READER_UDP_THREAD,
	TUND_TUN_READER_FAST_THREAD,
	TUND_TUN_READERS
};

struct tund_tun_handoff {
	bool enabled;			/* off: the TUN thread always reads */
	atomic_int reader;		/* enum tund_tun_reader */
	int wake[TUND_TUN_READERS];	/* eventfds: it is that thread's turn now */
	_Atomic uint64_t last_heavy_ns; /* the last heavy batch, any thread */
	atomic_int last_rx;		/* the receiving thread that got the last batch */
	atomic_uint rx_streak;		/* and how many in a row */
	atomic_bool cannot[TUND_TUN_READERS]; /* retired: never given the TUN again */
	atomic_uint_fast64_t to_light, to_tun; /* hand-offs, for status */
};

/* enabled false: the TUN thread reads always and nothing is opened. 0 or
 * -errno. */
int tund_tun_handoff_init(struct tund_tun_handoff *h, bool enabled);
void tund_tun_handoff_destroy(struct tund_tun_handoff *h);

/* Whether a batch of n packets is heavy. */
bool tund_tun_handoff_heavy(size_t n);
/* Whether traffic has been light long enough at now_ns for a receiving
 * thread to take the TUN. */
bool tund_tun_handoff_quiet(uint64_t last_heavy_ns, uint64_t now_ns);

/* Any thread saw a batch of n packets: a heavy one is remembered. */
void tund_tun_handoff_batch(struct tund_tun_handoff *h, size_t n, uint64_t now_ns);
/* A receiving thread delivered a batch from the peers. */
void tund_tun_handoff_received(struct tund_tun_handoff *h, enum tund_tun_reader who);
/* The receiving thread that should read the TUN while traffic is light:
 * the one that received last. */
enum tund_tun_reader tund_tun_handoff_light_reader(struct tund_tun_handoff *h);
/* Whether who, reading the TUN while traffic is light, should pass it to
 * the other receiving thread (*to), which has received the last
 * TUND_HANDOFF_MOVE_AFTER batches. */
bool tund_tun_handoff_should_move(struct tund_tun_handoff *h, enum tund_tun_reader who,
				  enum tund_tun_reader *to);
/* who cannot read the TUN any more (its thread ended, or cannot wait for
 * it): it is never given the TUN again, and if it reads it now, the TUN
 * thread does from now on. Call from who's own thread. */
void tund_tun_handoff_retire(struct tund_tun_handoff *h, enum tund_tun_reader who);
/* Whether the TUN is that thread's to read now. */
bool tund_tun_handoff_mine(struct tund_tun_handoff *h, enum tund_tun_reader who);
/* Who reads it now. */
enum tund_tun_reader tund_tun_handoff_reader(struct tund_tun_handoff *h);
/* Gives the TUN to another thread and wakes it. Call only from the thread
 * that reads it now, after its last read. */
void tund_tun_handoff_give(struct tund_tun_handoff *h, enum tund_tun_reader to);
/* The eventfd that wakes who when it is its turn (-1 when off); read it
 * empty with tund_tun_handoff_woken after a wake-up. */
int tund_tun_handoff_fd(const struct tund_tun_handoff *h, enum tund_tun_reader who);
void tund_tun_handoff_woken(const struct tund_tun_handoff *h, enum tund_tun_reader who);

#endif
