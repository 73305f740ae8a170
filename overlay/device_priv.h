/* SPDX-License-Identifier: MIT */
/* Internals shared by device.c, send.c and receive.c. All of it is guarded
 * by tund_wg.lock. */
#ifndef TUND_OVERLAY_DEVICE_PRIV_H
#define TUND_OVERLAY_DEVICE_PRIV_H

#include <pthread.h>

#include "overlay/allowedips.h"
#include "overlay/cookie.h"
#include "overlay/device.h"
#include "overlay/keypair.h"
#include "overlay/noise.h"
#include "overlay/pool.h"
#include "overlay/timers.h"

struct staged_packet {
	uint8_t *data;
	size_t len;
};

struct tund_wg_peer {
	uint8_t public_key[32];
	void *user;
	struct tund_noise_handshake hs;
	bool hs_index_live; /* hs.local_index is in the index table */
	struct tund_cookie_maker cookie;
	struct tund_keypair keypairs[3];
	/* Send with current; accept current, previous, and next (the
	 * responder's new keypair, promoted when the initiator first uses it). */
	struct tund_keypair *current, *previous, *next;
	struct tund_timers timers;
	uint64_t jitter_state; /* timers' jitter: seeded once, see device.c */
	struct tund_wg_endpoint endpoint;
	struct staged_packet staged[TUND_WG_MAX_STAGED];
	unsigned staged_head, staged_count;
	uint64_t rx_bytes, tx_bytes;
	int64_t latest_handshake;
	/* Round trip of the latest handshake: initiation -> response, or
	 * response -> first packet under the new keypair. */
	uint64_t hs_sent_ns, rtt_ns;
	bool no_broadcast;
	/* tund_wg_broadcast_group(): its networks (a key can be a member of
	 * several of ours); none: 0 groups. */
	uint32_t bcast_groups[TUND_WG_MAX_BCAST_GROUPS];
	unsigned n_bcast_groups;
	/* Broadcast/multicast copies sent to it and received from it. */
	uint64_t bcast_tx, bcast_rx;
	uint64_t drops[TUND_WG_DROP_COUNT];
};

struct index_entry {
	uint32_t index;
	struct tund_wg_peer *peer; /* NULL: empty, TOMBSTONE: deleted */
};

struct tund_wg {
	pthread_mutex_t lock;
	struct tund_noise_static_identity identity;
	struct tund_cookie_checker checker;
	struct tund_allowedips allowed;
	struct tund_wg_peer **peers;
	size_t n_peers, cap_peers;
	struct index_entry *index;
	uint32_t index_cap, index_used;
	uint64_t drops[TUND_WG_DROP_COUNT];
	/* Handshake messages with a valid MAC1 seen in the current second:
	 * above a bound we are "under load" and demand cookies until
	 * load_until_ns, a second after the bound was last passed. */
	uint64_t load_window_ns, load_until_ns;
	unsigned load_count;
	size_t mtu;
	/* Our overlay IPv4 address and prefix (family 0: none): a packet from a
	 * peer to its broadcast address counts as a broadcast received. */
	struct tund_cidr overlay4;
	tund_wg_send_fn send;
	void *send_ctx;
};

struct tund_wg_peer *tund_wg_index_find(struct tund_wg *wg, uint32_t index);
int tund_wg_index_new(struct tund_wg *wg, struct tund_wg_peer *peer, uint32_t *out);
void tund_wg_index_drop(struct tund_wg *wg, uint32_t index);
struct tund_wg_peer *tund_wg_peer_by_key(struct tund_wg *wg, const uint8_t key[32]);
void tund_wg_keypair_drop(struct tund_wg *wg, struct tund_wg_peer *p, struct tund_keypair **slot);
void tund_wg_keypairs_drop_all(struct tund_wg *wg, struct tund_wg_peer *p);
struct tund_keypair *tund_wg_keypair_slot(struct tund_wg_peer *p);
void tund_wg_handshake_forget(struct tund_wg *wg, struct tund_wg_peer *p);
void tund_wg_staged_clear(struct tund_wg *wg, struct tund_wg_peer *p, bool count_drops);

/* send.c */
void tund_wg_run_timers(struct tund_wg *wg, struct tund_wg_peer *p,
			const struct tund_wg_clock *now);
void tund_wg_flush_staged(struct tund_wg *wg, struct tund_wg_peer *p,
			  const struct tund_wg_clock *now);
/* An initiation to dst, not the endpoint (tund_wg_peer_probe). */
bool tund_wg_send_probe(struct tund_wg *wg, struct tund_wg_peer *p,
			const struct tund_wg_endpoint *dst, const struct tund_wg_clock *now);
void tund_wg_send_initiation(struct tund_wg *wg, struct tund_wg_peer *p,
			     const struct tund_wg_clock *now);
void tund_wg_send_keepalive(struct tund_wg *wg, struct tund_wg_peer *p,
			    const struct tund_wg_clock *now);
void tund_wg_count_drop(struct tund_wg *wg, struct tund_wg_peer *p, enum tund_wg_drop d);

/* device_pool.c: a batch's AEAD through a crypto pool (overlay/pool.h).
 * A slice is a run of the batch's packets worked by one thread. */
enum {
	TUND_WG_POOL_SLICES = 4,	/* at most, per batch of TUND_WG_BATCH_MAX */
	TUND_WG_POOL_MIN = 16,		/* sealed packets below which it stays inline */
	TUND_WG_POOL_MIN_BYTES = 16384, /* and bytes */
};

struct tund_wg_slice {
	struct tund_wg *wg;
	struct tund_wg_packet *pkts;
	size_t n;
	uint8_t (*keys)[TUND_NOISE_SYMMETRIC_KEY_LEN];
	const struct tund_wg_clock *now;
	bool authentic[TUND_WG_BATCH_MAX]; /* receive: per packet of the slice */
};

/* Splits pkts[0..n) into slices of about equal sealed bytes, submits them
 * to q and waits until all are released. False (nothing done) when q is
 * NULL or the batch is too small to be worth a hand-over: the caller then
 * seals or opens inline. */
bool tund_wg_pool_batch(struct tund_pool_queue *q, struct tund_wg *wg,
			struct tund_wg_packet *pkts, size_t n,
			uint8_t (*keys)[TUND_NOISE_SYMMETRIC_KEY_LEN],
			const struct tund_wg_clock *now, tund_pool_work_fn work,
			tund_pool_release_fn release);

static inline uint64_t tund_wg_ms(const struct tund_wg_clock *now)
{
	return now->mono_ns / 1000000;
}

#endif
