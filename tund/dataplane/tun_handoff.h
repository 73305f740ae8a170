/* SPDX-License-Identifier: MIT */
/* Which packet thread reads the TUN device: the TUN thread under load, the
 * UDP thread while traffic is light.
 *
 * An idle ping through two daemons that split the directions between two
 * threads wakes four threads (the sender's TUN thread, the answerer's UDP
 * thread, its TUN thread for the reply, the sender's UDP thread); on a VM,
 * where each wake-up may have to start an idle vCPU, that is most of an idle
 * ping's time. While traffic is light the UDP thread reads the TUN too: it
 * finds the reply queued as soon as its write of the request returns, and a
 * ping wakes two threads, as in a one-thread forwarder. Measured on the
 * 2-vCPU development machine (tests/bench, idle ping medians): a one-thread
 * forwarder 0.258 ms, the same split over two threads 0.310 ms.
 *
 * Light means no batch of TUND_HANDOFF_HEAVY_PACKETS packets or more, in
 * either direction, for TUND_HANDOFF_QUIET_MS. The first heavy batch the UDP
 * thread meets hands the TUN back to the TUN thread, so bulk traffic keeps
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
};

enum tund_tun_reader { TUND_TUN_READER_TUN_THREAD, TUND_TUN_READER_UDP_THREAD };

struct tund_tun_handoff {
	bool enabled;		  /* off: the TUN thread always reads */
	atomic_int reader;	  /* enum tund_tun_reader */
	int wake_tun, wake_udp;	  /* eventfds: it is that thread's turn now */
	_Atomic uint64_t last_heavy_ns; /* the last heavy batch, either thread */
	atomic_uint_fast64_t to_udp, to_tun; /* hand-offs, for status */
};

/* enabled false: the TUN thread reads always and nothing is opened. 0 or
 * -errno. */
int tund_tun_handoff_init(struct tund_tun_handoff *h, bool enabled);
void tund_tun_handoff_destroy(struct tund_tun_handoff *h);

/* Whether a batch of n packets (bytes in all) is heavy. */
bool tund_tun_handoff_heavy(size_t n, size_t bytes);
/* Whether traffic has been light long enough at now_ns for the UDP thread
 * to take the TUN. */
bool tund_tun_handoff_quiet(uint64_t last_heavy_ns, uint64_t now_ns);

/* Either thread saw a batch: a heavy one is remembered. */
void tund_tun_handoff_batch(struct tund_tun_handoff *h, size_t n, size_t bytes, uint64_t now_ns);
/* Whether the TUN is that thread's to read now. */
bool tund_tun_handoff_mine(struct tund_tun_handoff *h, enum tund_tun_reader who);
/* Gives the TUN to the other thread and wakes it. Call only from the
 * thread that reads it now, after its last read. */
void tund_tun_handoff_give(struct tund_tun_handoff *h, enum tund_tun_reader to);
/* The eventfd that wakes who when it is its turn (-1 when off); read it
 * empty with tund_tun_handoff_woken after a wake-up. */
int tund_tun_handoff_fd(const struct tund_tun_handoff *h, enum tund_tun_reader who);
void tund_tun_handoff_woken(const struct tund_tun_handoff *h, enum tund_tun_reader who);

#endif
