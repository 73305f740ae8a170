// SPDX-License-Identifier: MIT
/* Three threads: TUN -> encrypt -> UDP, UDP -> decrypt -> TUN, and timers.
 * Descriptors are non-blocking; a thread polls only when its descriptor is
 * empty. Packets move in batches: what TUN has queued is read, encrypted
 * with one device lock and sent with one sendmmsg (segmented by the kernel
 * where it can), the reads themselves done by the kernel through io_uring
 * where it can (tund/tun_uring.h); the UDP side receives with recvmmsg
 * (coalesced by GRO where it can) and decrypts the batch likewise. Under a
 * flood of small packets both pace themselves (tund/pace.h). */
#include "tund/dataplane/dataplane.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "overlay/bcast.h"
#include "overlay/pool.h"
#include "overlay/ratelimit.h"
#include "tund/dataplane/fastpath.h"
#include "tund/dataplane/mcast_join.h"
#include "tund/daemon/log.h"
#include "tund/dataplane/pace.h"
#include "tund/dataplane/priority.h"
#include "tund/dataplane/relay_fwd.h"
#include "tund/dataplane/tun_handoff.h"
#include "tund/daemon/peers.h"
#include "tund/dataplane/tun_io.h"
#include "tund/dataplane/udp.h"
#include "tund/dataplane/udp_io.h"

enum { PACKET_MAX = 65536, TIMER_MAX_SLEEP_MS = 500 };

#define BCAST_NETS 16
struct bcast_net {
	uint32_t group; /* the members' tund_wg broadcast group */
	struct tund_cidr a4, a6; /* our addresses in it (family 0: none) */
};

struct tund_dataplane {
	int tun_fd, udp_fd, stop_fd;
	bool vnet; /* TUN reads and writes carry a virtio_net_hdr */
	bool uso;  /* and UDP super packets may be written */
	bool uring; /* read TUN through io_uring where the kernel can */
	atomic_bool tun_uring; /* and it does */
	struct tund_prio_group prio; /* the packet threads' priority */
	struct tund_pace_group pace; /* and pacing */
	struct tund_udp_tx udp_tx;
	uint16_t port;
	unsigned mtu;
	struct tund_wg *wg;
	/* The crypto workers (NULL: off) and the queues of the threads that
	 * submit: TUN, UDP and the fast path's (made with the fast path). */
	struct tund_pool *pool;
	struct tund_pool_queue *tun_q, *udp_q, *fast_q;
	struct tund_mcast_join mcast; /* groups joined on the TUN for peers */
	pthread_t tun_thread, udp_thread, timer_thread;
	bool threads_started;
	atomic_bool stopping;
	/* ICE paths by id; readers are the send paths of every thread. */
	pthread_rwlock_t paths_lock;
	GHashTable *paths; /* uint32 id -> struct path_sender *, owned */
	uint32_t next_path_id;
	struct tund_fastpath *fast; /* direct pairs off libnice; NULL: off */
	struct tund_tun_tx fast_tx; /* the fast path thread's TUN writer */
	/* Broadcast fan-out; touched by the TUN thread, set by the main one. */
	pthread_mutex_t bcast_lock; /* the rate bound and counters */
	/* Read for every TUN packet, so without a lock: 0 = off, else
	 * 1 << 40 | IPv4 address << 8 | prefix length. */
	_Atomic uint64_t bcast_overlay;
	uint8_t *bcast_buf; /* the TUN reader's scratch for sealing copies (tun_handoff.h) */
	struct tund_ratelimit bcast_rate;
	uint64_t bcast_sent, bcast_dropped;
	/* The networks: each broadcast goes to their members with their
	 * addresses (under bcast_lock). */
	struct bcast_net bcast_nets[BCAST_NETS];
	size_t n_bcast_nets;
	/* Bit p: a network above is a /p (p <= 30), so a subnet broadcast can be
	 * told from unicast without the lock (set under bcast_lock). */
	_Atomic uint64_t bcast_prefixes;
	uint8_t *bcast_copy; /* the TUN reader's copy for one network */
	struct tund_relay_fwd *relay; /* member relay frames (relay_fwd.h) */
	struct tund_tun_handoff handoff; /* which thread reads the TUN (tun_handoff.h) */
	struct tund_tun_rx solo_rx; /* a receiving thread's reader for its turns at it */
};

enum { BCAST_RATE = 200, BCAST_BURST = 400 }; /* packets/s: stops broadcast storms */

struct path_endpoint {
	uint16_t family; /* TUND_AF_PATH */
	uint16_t pad;
	uint32_t id;
};

void tund_dataplane_now(struct tund_wg_clock *now)
{
	struct timespec m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &now->wall);
	now->mono_ns = (uint64_t)m.tv_sec * 1000000000ull + (uint64_t)m.tv_nsec;
}

static void to_wg_endpoint(const struct tund_endpoint *ep, struct tund_wg_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->addr, &ep->sa, ep->len);
	out->addr_len = ep->len;
	out->key_len = (uint32_t)tund_endpoint_key(ep, out->key);
}

struct path_sender {
	tund_dataplane_send_fn send;
	void *path;
	bool via_turn; /* its selected pair goes through a TURN server */
};

static void send_on_path(struct tund_dataplane *dp, uint32_t id, const uint8_t *buf, size_t len)
{
	struct path_sender *ps;

	if (dp->fast && tund_fastpath_send(dp->fast, id, buf, len))
		return;
	pthread_rwlock_rdlock(&dp->paths_lock);
	ps = g_hash_table_lookup(dp->paths, GUINT_TO_POINTER(id));
	if (ps)
		ps->send(ps->path, buf, len);
	pthread_rwlock_unlock(&dp->paths_lock);
}

static void relay_send(void *ctx, uint32_t path_id, const uint8_t *buf, size_t len)
{
	send_on_path(ctx, path_id, buf, len);
}

static void send_datagram(struct tund_dataplane *dp, const struct tund_wg_endpoint *dst,
			  const uint8_t *buf, size_t len)
{
	int fd = dp->udp_fd;
	uint16_t family;

	memcpy(&family, dst->addr, sizeof(family));
	if (family == TUND_AF_RELAY) {
		tund_relay_fwd_send(dp->relay, dst, buf, len);
		return;
	}
	if (family == TUND_AF_PATH) {
		struct path_endpoint pe;

		memcpy(&pe, dst->addr, sizeof(pe));
		send_on_path(dp, pe.id, buf, len);
		return;
	}
	/* A full socket buffer drops the packet, as a full link would. */
	if (sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)dst->addr,
		   dst->addr_len) < 0 &&
	    errno != EAGAIN && errno != ENOBUFS)
		log_debug("udp send: %s", strerror(errno));
}

static void wg_send(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	send_datagram(ctx, dst, buf, len);
}

/* Waits until fd is readable, with the timeout that prio asks for (and
 * then tells it that the wait ended idle); false when stopping. */
static bool wait_readable(struct tund_dataplane *dp, int fd, struct tund_prio *prio)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = dp->stop_fd, .events = POLLIN } };
	int timeout = tund_prio_empty(prio), r;

	r = poll(p, 2, timeout);
	if (r == 0 && timeout >= 0) {
		tund_prio_idle(prio);
		return !atomic_load(&dp->stopping);
	}
	if (r < 0)
		return !atomic_load(&dp->stopping);
	return !(p[1].revents & POLLIN) && !atomic_load(&dp->stopping);
}

/* The source becomes our address in the network where it is not already
 * (a copy of a LAN broadcast carries the LAN source, an IPv6 send to ff02::1
 * the TUN's link-local one: peers neither accept nor answer those). */
static void set_source(uint8_t *pkt, size_t len, const struct tund_cidr *a4,
		       const struct tund_cidr *a6)
{
	if (a4->family == AF_INET && len >= 20 && pkt[0] >> 4 == 4 && memcmp(pkt + 12, a4->addr, 4))
		tund_bcast_rewrite_source(pkt, len, a4->addr);
	if (a6->family == AF_INET6 && len >= 40 && pkt[0] >> 4 == 6 && memcmp(pkt + 8, a6->addr, 16))
		tund_bcast_rewrite_source6(pkt, len, a6->addr);
}

/* True when pkt was a broadcast or multicast (sent to the peers, or dropped
 * by the rate bound). A network's own subnet broadcast goes to its members
 * only; anything else to every network's members, each copy with our address
 * in that network, and to the static peers (broadcast group 0) with the
 * configured address. */
/* Whether an IPv4 packet's destination has every host bit set for one of
 * the networks' prefixes (or the overlay's): only such a packet, besides the
 * generic broadcasts, is worth the lock in fan_out. Reads no shared state but
 * one atomic, so unicast traffic never takes bcast_lock. */
static bool maybe_subnet_bcast(struct tund_dataplane *dp, const struct tund_cidr *overlay,
			       const uint8_t *pkt, size_t len)
{
	uint64_t prefixes = atomic_load_explicit(&dp->bcast_prefixes, memory_order_relaxed);
	uint32_t dst;

	if (len < 20 || pkt[0] >> 4 != 4)
		return false;
	if (overlay->family == AF_INET && overlay->prefix <= 30)
		prefixes |= 1ull << overlay->prefix;
	dst = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 | (uint32_t)pkt[18] << 8 | pkt[19];
	for (unsigned p = 0; prefixes; p++, prefixes >>= 1)
		if ((prefixes & 1) && (dst | (p ? 0xffffffffu << (32 - p) : 0)) == 0xffffffffu)
			return true;
	return false;
}

static bool fan_out(struct tund_dataplane *dp, uint8_t *pkt, size_t len,
		    const struct tund_wg_clock *now)
{
	uint64_t packed = atomic_load_explicit(&dp->bcast_overlay, memory_order_relaxed);
	const size_t cap = PACKET_MAX + TUND_WG_HEADROOM + TUND_WG_TAILROOM;
	struct tund_cidr overlay = { 0 }, none = { 0 };
	struct bcast_net nets[BCAST_NETS];
	size_t n_nets;
	bool allowed, generic;
	int only = -1;

	if (!packed)
		return false;
	if (packed & 0xffffffffffull) {
		uint32_t a = (uint32_t)(packed >> 8);

		overlay.family = AF_INET;
		overlay.prefix = (uint8_t)packed;
		memcpy(overlay.addr, &a, 4);
	}
	generic = tund_bcast_is_fanout(pkt, len, NULL);
	if (!generic && !maybe_subnet_bcast(dp, &overlay, pkt, len))
		return false;
	pthread_mutex_lock(&dp->bcast_lock);
	n_nets = dp->n_bcast_nets;
	memcpy(nets, dp->bcast_nets, n_nets * sizeof(nets[0]));
	pthread_mutex_unlock(&dp->bcast_lock);
	if (!generic) {
		for (size_t i = 0; i < n_nets && only < 0; i++)
			if (nets[i].a4.family && tund_bcast_is_fanout(pkt, len, &nets[i].a4))
				only = (int)i;
		if (only < 0 && !(overlay.family && tund_bcast_is_fanout(pkt, len, &overlay)))
			return false;
	}
	pthread_mutex_lock(&dp->bcast_lock);
	allowed = tund_ratelimit_allow(&dp->bcast_rate, now->mono_ns / 1000000);
	if (allowed)
		dp->bcast_sent++;
	else
		dp->bcast_dropped++;
	pthread_mutex_unlock(&dp->bcast_lock);
	if (!allowed || len > PACKET_MAX)
		return true;
	for (size_t i = 0; i < n_nets && (generic || only >= 0); i++) {
		if (only >= 0 && (size_t)only != i)
			continue;
		memcpy(dp->bcast_copy, pkt, len);
		set_source(dp->bcast_copy, len, &nets[i].a4, &nets[i].a6);
		tund_wg_broadcast_group(dp->wg, nets[i].group, dp->bcast_copy, len, dp->bcast_buf,
					cap, now);
	}
	if (only < 0) {
		if (overlay.family && !tund_cidr_contains(&overlay, pkt + 12))
			set_source(pkt, len, &overlay, &none);
		tund_wg_broadcast_group(dp->wg, 0, pkt, len, dp->bcast_buf, cap, now);
	}
	return true;
}

uint32_t tund_dataplane_bcast_group(const char *network)
{
	return network ? (uint32_t)g_str_hash(network) | 1u : 0;
}

/* Under bcast_lock. */
static void update_prefixes(struct tund_dataplane *dp)
{
	uint64_t bits = 0;

	for (size_t i = 0; i < dp->n_bcast_nets; i++)
		if (dp->bcast_nets[i].a4.family == AF_INET && dp->bcast_nets[i].a4.prefix <= 30)
			bits |= 1ull << dp->bcast_nets[i].a4.prefix;
	atomic_store(&dp->bcast_prefixes, bits);
}

void tund_dataplane_set_network(struct tund_dataplane *dp, uint32_t group,
				const struct tund_cidr *a4, const struct tund_cidr *a6)
{
	size_t i;

	pthread_mutex_lock(&dp->bcast_lock);
	for (i = 0; i < dp->n_bcast_nets && dp->bcast_nets[i].group != group; i++)
		;
	if (i == dp->n_bcast_nets && i < BCAST_NETS)
		dp->n_bcast_nets++;
	if (i < BCAST_NETS) {
		dp->bcast_nets[i].group = group;
		dp->bcast_nets[i].a4 = *a4;
		dp->bcast_nets[i].a6 = *a6;
	}
	update_prefixes(dp);
	pthread_mutex_unlock(&dp->bcast_lock);
	if (i == BCAST_NETS)
		log_warn("broadcast: more than %d networks; the others get none", BCAST_NETS);
}

void tund_dataplane_drop_network(struct tund_dataplane *dp, uint32_t group)
{
	pthread_mutex_lock(&dp->bcast_lock);
	for (size_t i = 0; i < dp->n_bcast_nets; i++) {
		if (dp->bcast_nets[i].group != group)
			continue;
		dp->bcast_nets[i] = dp->bcast_nets[--dp->n_bcast_nets];
		break;
	}
	update_prefixes(dp);
	pthread_mutex_unlock(&dp->bcast_lock);
}

void tund_dataplane_set_broadcast(struct tund_dataplane *dp, bool on,
				  const struct tund_cidr *overlay4)
{
	struct tund_wg_clock now;

	uint64_t packed = 0;
	uint32_t a;

	tund_dataplane_now(&now);
	pthread_mutex_lock(&dp->bcast_lock);
	if (on && !atomic_load(&dp->bcast_overlay))
		tund_ratelimit_init(&dp->bcast_rate, BCAST_RATE, BCAST_BURST, now.mono_ns / 1000000);
	if (overlay4 && overlay4->family == AF_INET) {
		memcpy(&a, overlay4->addr, 4);
		packed = (uint64_t)a << 8 | overlay4->prefix;
	} else if (!overlay4) {
		packed = atomic_load(&dp->bcast_overlay) & 0xffffffffffull;
	}
	atomic_store(&dp->bcast_overlay, on ? 1ull << 40 | packed : 0);
	pthread_mutex_unlock(&dp->bcast_lock);
	if (overlay4)
		tund_wg_set_overlay4(dp->wg, overlay4);
}

uint64_t tund_dataplane_broadcasts(struct tund_dataplane *dp, uint64_t *dropped)
{
	uint64_t sent;

	pthread_mutex_lock(&dp->bcast_lock);
	sent = dp->bcast_sent;
	*dropped = dp->bcast_dropped;
	pthread_mutex_unlock(&dp->bcast_lock);
	return sent;
}

/* A run of datagrams for ICE path id: in one go on a direct pair's own
 * socket, else one by one through the path's sender, looked up once. */
static void send_path_run(struct tund_dataplane *dp, uint32_t id, struct tund_udp_datagram *d,
			  size_t n)
{
	struct path_sender *ps;

	if (dp->fast && tund_fastpath_send_batch(dp->fast, id, d, n))
		return;
	pthread_rwlock_rdlock(&dp->paths_lock);
	ps = g_hash_table_lookup(dp->paths, GUINT_TO_POINTER(id));
	for (size_t i = 0; ps && i < n; i++)
		ps->send(ps->path, d[i].buf, d[i].len);
	pthread_rwlock_unlock(&dp->paths_lock);
}

/* Sends the datagrams of a batch: runs to UDP endpoints go out together
 * (segmented where the kernel can), runs for an ICE path together too. */
static void send_batch(struct tund_dataplane *dp, struct tund_wg_packet *pkts, size_t n)
{
	struct tund_udp_datagram d[TUND_UDP_SEND_MAX], pd[TUND_UDP_SEND_MAX];
	size_t nd = 0, npd = 0;
	uint32_t path = 0;

	for (size_t i = 0; i < n; i++) {
		const struct tund_wg_endpoint *dst = &pkts[i].dst;
		uint16_t family;

		if (pkts[i].res != TUND_WG_SEND)
			continue;
		memcpy(&family, dst->addr, sizeof(family));
		if (family == TUND_AF_RELAY) {
			tund_relay_fwd_send(dp->relay, dst, pkts[i].buf, pkts[i].out_len);
			continue;
		}
		if (family == TUND_AF_PATH) {
			struct path_endpoint pe;

			memcpy(&pe, dst->addr, sizeof(pe));
			if (npd && (pe.id != path || npd == TUND_UDP_SEND_MAX)) {
				send_path_run(dp, path, pd, npd);
				npd = 0;
			}
			path = pe.id;
			pd[npd++] = (struct tund_udp_datagram){ .buf = pkts[i].buf,
								.len = pkts[i].out_len };
			continue;
		}
		if (nd == TUND_UDP_SEND_MAX) {
			tund_udp_send_batch(&dp->udp_tx, d, nd);
			nd = 0;
		}
		d[nd++] = (struct tund_udp_datagram){ .addr = (const struct sockaddr *)dst->addr,
						      .addr_len = dst->addr_len,
						      .buf = pkts[i].buf,
						      .len = pkts[i].out_len };
	}
	if (nd)
		tund_udp_send_batch(&dp->udp_tx, d, nd);
	if (npd)
		send_path_run(dp, path, pd, npd);
}

/* A batch read from TUN: broadcasts fan out, the rest is encrypted and sent. */
static void tun_batch(void *ctx, struct tund_wg_packet *pkts, size_t n)
{
	struct tund_dataplane *dp = ctx;
	struct tund_wg_clock now;
	size_t kept = 0;

	tund_dataplane_now(&now);
	for (size_t i = 0; i < n; i++)
		if (!fan_out(dp, pkts[i].buf + TUND_WG_HEADROOM, pkts[i].len, &now))
			pkts[kept++] = pkts[i];
	tund_wg_encrypt_batch_pool(dp->wg, dp->tun_q, pkts, kept, &now);
	send_batch(dp, pkts, kept);
}

/* A packet thread whose turn it is not to read the TUN waits for its turn
 * (tun_handoff.h); false when stopping. */
static bool wait_turn(struct tund_dataplane *dp, enum tund_tun_reader who)
{
	struct pollfd p[2] = { { .fd = tund_tun_handoff_fd(&dp->handoff, who), .events = POLLIN },
			       { .fd = dp->stop_fd, .events = POLLIN } };

	if (poll(p, 2, -1) > 0 && (p[0].revents & POLLIN))
		tund_tun_handoff_woken(&dp->handoff, who);
	return !atomic_load(&dp->stopping);
}

/* The UDP thread's wait: its socket, and the TUN while that is its to read
 * (tun_handoff.h), or the wake-up that gives it the TUN; false when
 * stopping. */
static bool wait_udp(struct tund_dataplane *dp, bool tun_too, struct tund_prio *prio,
		     bool *udp_ready)
{
	struct pollfd p[4] = {
		{ .fd = dp->stop_fd, .events = POLLIN },
		{ .fd = dp->udp_fd, .events = POLLIN },
		{ .fd = tund_tun_handoff_fd(&dp->handoff, TUND_TUN_READER_UDP_THREAD), .events = POLLIN },
		{ .fd = dp->tun_fd, .events = POLLIN },
	};
	int timeout = tund_prio_empty(prio), r;

	if (!dp->handoff.enabled)
		return wait_readable(dp, dp->udp_fd, prio);
	r = poll(p, tun_too ? 4 : 3, timeout);
	if (r == 0 && timeout >= 0)
		tund_prio_idle(prio);
	if (r > 0 && (p[2].revents & POLLIN))
		tund_tun_handoff_woken(&dp->handoff, TUND_TUN_READER_UDP_THREAD);
	*udp_ready = r <= 0 || p[1].revents != 0;
	return !(r > 0 && (p[0].revents & POLLIN)) && !atomic_load(&dp->stopping);
}

/* wait_readable for the TUN reader, which may be io_uring's. */
static bool wait_tun(struct tund_dataplane *dp, struct tund_tun_rx *rx, struct tund_prio *prio)
{
	int timeout, r;

	if (!tund_tun_rx_ring_waits(rx))
		return wait_readable(dp, dp->tun_fd, prio);
	timeout = tund_prio_empty(prio);
	r = tund_tun_rx_wait(rx, timeout);
	if (r == 0 && timeout >= 0)
		tund_prio_idle(prio);
	if (r == -ESHUTDOWN)
		return false;
	if (r < 0) {
		log_error("tun: io_uring wait failed (%s); reading with read() from now on",
			  strerror(-r));
		tund_tun_rx_drop_uring(rx);
		atomic_store(&dp->tun_uring, false);
	}
	return !atomic_load(&dp->stopping);
}

static void *tun_loop(void *arg)
{
	struct tund_dataplane *dp = arg;
	struct tund_tun_rx rx;
	struct tund_prio prio;
	struct tund_pace pace;
	int ret;

	if (tund_tun_rx_init(&rx, dp->tun_fd, dp->vnet, dp->mtu) != 0) {
		log_error("tun: out of memory for the packet buffers");
		return NULL;
	}
	if (dp->uring && (ret = tund_tun_rx_use_uring(&rx, dp->stop_fd)))
		log_info("tun: reading with read(), not io_uring: %s", strerror(-ret));
	atomic_store(&dp->tun_uring, rx.uring != NULL);
	tund_prio_join(&prio, &dp->prio);
	tund_pace_init(&pace, &dp->pace);
	while (!atomic_load(&dp->stopping)) {
		uint64_t start = tund_pace_now();
		int n;

		if (!tund_tun_handoff_mine(&dp->handoff, TUND_TUN_READER_TUN_THREAD)) {
			if (!wait_turn(dp, TUND_TUN_READER_TUN_THREAD))
				break;
			continue;
		}
		n = tund_tun_read_batch(&rx, tun_batch, dp);

		if (n == -ESHUTDOWN)
			break;
		if (n < 0 && rx.uring) {
			/* read() then meets the same error, or does better. */
			log_warn("tun read through io_uring: %s; reading with read() from now on",
				 strerror(-n));
			tund_tun_rx_drop_uring(&rx);
			atomic_store(&dp->tun_uring, false);
			continue;
		}
		if (n < 0) {
			log_error("tun read: %s", strerror(-n));
			break;
		}
		if (n > 0) {
			tund_prio_batch(&prio, rx.read_bytes);
			tund_pace_after(&pace, start, (size_t)n, rx.read_bytes);
			tund_tun_handoff_batch(&dp->handoff, (size_t)n, start);
		} else if (dp->handoff.enabled && !tund_tun_rx_ring_waits(&rx) &&
			   tund_tun_handoff_quiet(atomic_load(&dp->handoff.last_heavy_ns), start) &&
			   tund_tun_handoff_light_reader(&dp->handoff) !=
				   TUND_TUN_READER_TUN_THREAD) {
			/* Light traffic: the thread that receives reads the TUN
			 * too. The input was found empty: priority hears so
			 * (a wait would have told it). */
			tund_prio_empty(&prio);
			tund_tun_handoff_give(&dp->handoff,
					      tund_tun_handoff_light_reader(&dp->handoff));
		} else if (!wait_tun(dp, &rx, &prio)) {
			break;
		}
	}
	atomic_store(&dp->tun_uring, false);
	tund_prio_leave(&prio);
	tund_tun_rx_free(&rx);
	return NULL;
}

/* A batch received on the UDP socket: opened and written to TUN. */
static void udp_batch(struct tund_dataplane *dp, struct tund_udp_received *got,
		      struct tund_wg_packet *pkts, struct tund_wg_endpoint *src, size_t n,
		      struct tund_tun_tx *tx, struct tund_prio *prio, struct tund_pace *pace,
		      uint64_t start)
{
	const struct tund_endpoint *last = NULL;
	struct tund_wg_clock now;
	size_t n_src = 0, bytes = 0;

	for (size_t i = 0; i < n; i++)
		bytes += got[i].len;
	tund_prio_batch(prio, bytes);
	tund_tun_handoff_batch(&dp->handoff, n, start);
	tund_tun_handoff_received(&dp->handoff, TUND_TUN_READER_UDP_THREAD);
	for (size_t i = 0; i < n; i++) {
		/* Segments of one coalesced buffer share their sender. */
		if (got[i].from != last) {
			to_wg_endpoint(got[i].from, &src[n_src++]);
			last = got[i].from;
		}
		pkts[i] = (struct tund_wg_packet){ .buf = got[i].buf, .len = got[i].len,
						   .src = &src[n_src - 1] };
	}
	tund_dataplane_now(&now);
	tund_wg_receive_batch_pool(dp->wg, dp->udp_q, pkts, n, &now);
	tund_mcast_join_batch(&dp->mcast, pkts, n);
	tund_tun_write_batch(tx, pkts, n);
	tund_pace_after(pace, start, n, bytes);
}

/* A receiving thread's turn at the TUN (tun_handoff.h): reads what is queued
 * and sends it, as the TUN thread would. A heavy batch either way (received:
 * the packets it just wrote) gives the TUN back to the TUN thread, so bulk
 * traffic has a thread per direction; so does a read error, which the TUN
 * thread reports and handles. When the other receiving thread carries the
 * traffic now, the TUN goes to it. Returns the packets read, or -1 once
 * given away. */
static int light_reads_tun(struct tund_dataplane *dp, enum tund_tun_reader who, size_t received,
			   uint64_t now_ns)
{
	enum tund_tun_reader to;
	int m;

	/* Bulk arriving: give before reading, or the TUN thread's first
	 * read waits on ours. */
	if (tund_tun_handoff_heavy(received)) {
		tund_tun_handoff_give(&dp->handoff, TUND_TUN_READER_TUN_THREAD);
		return -1;
	}
	m = tund_tun_read_batch(&dp->solo_rx, tun_batch, dp);
	if (m > 0)
		tund_tun_handoff_batch(&dp->handoff, (size_t)m, now_ns);
	if (m < 0 || (m > 0 && tund_tun_handoff_heavy((size_t)m))) {
		tund_tun_handoff_give(&dp->handoff, TUND_TUN_READER_TUN_THREAD);
		return -1;
	}
	if (tund_tun_handoff_should_move(&dp->handoff, who, &to)) {
		tund_tun_handoff_give(&dp->handoff, to);
		return -1;
	}
	return m;
}

static void *udp_loop(void *arg)
{
	struct tund_dataplane *dp = arg;
	struct tund_udp_rx rx;
	struct tund_tun_tx tx;
	struct tund_udp_received *got = NULL;
	struct tund_wg_packet *pkts = NULL;
	struct tund_wg_endpoint *src = NULL;
	struct tund_prio prio;
	struct tund_pace pace;
	bool udp_ready = true;

	if (tund_udp_rx_init(&rx, dp->udp_fd, true) != 0) {
		log_error("udp: out of memory for the packet buffers");
		return NULL;
	}
	if (tund_tun_tx_init(&tx, dp->tun_fd, dp->vnet, tund_udp_rx_max(&rx)) != 0) {
		log_error("tun: out of memory for the packet buffers");
		tund_udp_rx_free(&rx);
		return NULL;
	}
	tx.uso = dp->uso;
	tund_prio_join(&prio, &dp->prio);
	tund_pace_init(&pace, &dp->pace);
	got = calloc(tund_udp_rx_max(&rx), sizeof(*got));
	pkts = calloc(tund_udp_rx_max(&rx), sizeof(*pkts));
	src = calloc(rx.n_msgs, sizeof(*src));
	if (!got || !pkts || !src)
		log_error("udp: out of memory for the packet buffers");
	while (got && pkts && src && !atomic_load(&dp->stopping)) {
		uint64_t start = tund_pace_now();
		/* Woken by the TUN alone: recvmmsg could only say EAGAIN. */
		int n = udp_ready ? tund_udp_receive(&rx, got) : 0, m = 0;
		bool tun_too = tund_tun_handoff_mine(&dp->handoff, TUND_TUN_READER_UDP_THREAD);

		if (n < 0) {
			log_warn("udp receive: %s", strerror(-n));
			continue;
		}
		if (n > 0)
			udp_batch(dp, got, pkts, src, (size_t)n, &tx, &prio, &pace, start);
		/* Light traffic: the reply to what was just written is queued on
		 * the TUN already; read it here, without waking the TUN thread. */
		if (tun_too)
			m = light_reads_tun(dp, TUND_TUN_READER_UDP_THREAD, (size_t)n, start);
		/* A short batch emptied the socket: poll, not another recvmmsg
		 * that would only say so (a system call per ping saved). */
		udp_ready = true;
		if ((n == 0 || rx.drained) && (m <= 0 || dp->solo_rx.drained) &&
		    !wait_udp(dp, tun_too && m >= 0, &prio, &udp_ready))
			break;
	}
	/* Ended (stopping, or out of memory at start): the TUN is not ours to
	 * read any more. */
	tund_tun_handoff_retire(&dp->handoff, TUND_TUN_READER_UDP_THREAD);
	tund_prio_leave(&prio);
	free(src);
	free(pkts);
	free(got);
	tund_tun_tx_free(&tx);
	tund_udp_rx_free(&rx);
	return NULL;
}

static void *timer_loop(void *arg)
{
	struct tund_dataplane *dp = arg;

	while (!atomic_load(&dp->stopping)) {
		struct tund_wg_clock now;
		uint64_t next;
		int64_t wait_ms;

		tund_dataplane_now(&now);
		next = tund_wg_tick(dp->wg, &now);
		wait_ms = next == UINT64_MAX ? TIMER_MAX_SLEEP_MS :
					      (int64_t)((next - now.mono_ns) / 1000000) + 1;
		if (wait_ms > TIMER_MAX_SLEEP_MS)
			wait_ms = TIMER_MAX_SLEEP_MS;
		struct pollfd p = { .fd = dp->stop_fd, .events = POLLIN };
		if (poll(&p, 1, (int)wait_ms) > 0)
			break;
	}
	return NULL;
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return -errno;
	return 0;
}

/* The crypto pool and a queue for each packet thread that submits. */
static int start_pool(struct tund_dataplane *dp, unsigned workers)
{
	int ret;

	if ((ret = tund_pool_new(workers, &dp->pool)) ||
	    (ret = tund_pool_queue_new(dp->pool, &dp->tun_q)) ||
	    (ret = tund_pool_queue_new(dp->pool, &dp->udp_q)))
		return ret;
	return 0;
}

static void stop_pool(struct tund_dataplane *dp)
{
	if (!dp->pool)
		return;
	tund_pool_stop(dp->pool);
	tund_pool_queue_free(dp->tun_q);
	tund_pool_queue_free(dp->udp_q);
	tund_pool_queue_free(dp->fast_q);
	tund_pool_free(dp->pool);
	dp->pool = NULL;
	dp->tun_q = dp->udp_q = dp->fast_q = NULL;
}

unsigned tund_dataplane_crypto_workers(struct tund_dataplane *dp, uint64_t *slices)
{
	if (slices)
		*slices = dp->pool ? tund_pool_items(dp->pool) : 0;
	return dp->pool ? tund_pool_workers(dp->pool) : 0;
}

/* What start sets before anything can fail. */
static void init_fields(struct tund_dataplane *dp, const struct tund_dataplane_opts *o)
{
	dp->tun_fd = o->tun_fd;
	dp->vnet = o->vnet;
	dp->uso = o->vnet && o->uso;
	dp->uring = o->io_uring;
	tund_prio_group_init(&dp->prio, o->realtime);
	dp->mtu = o->mtu;
	dp->stop_fd = -1;
	dp->udp_fd = -1;
	pthread_rwlock_init(&dp->paths_lock, NULL);
	pthread_mutex_init(&dp->bcast_lock, NULL);
	dp->paths = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	dp->next_path_id = 1;
	tund_mcast_join_init(&dp->mcast, o->tun_fd);
	dp->relay = tund_relay_fwd_new(relay_send, dp);
	for (int i = 0; i < TUND_TUN_READERS; i++)
		dp->handoff.wake[i] = -1;
}

int tund_dataplane_start(const struct tund_dataplane_opts *o, const uint8_t private_key[32],
			 struct tund_dataplane **out)
{
	static void *(*const loops[])(void *) = { tun_loop, udp_loop, timer_loop };
	struct tund_dataplane *dp = calloc(1, sizeof(*dp));
	pthread_t *threads[G_N_ELEMENTS(loops)];
	unsigned started = 0;
	int ret;

	if (!dp)
		return -ENOMEM;
	threads[0] = &dp->tun_thread;
	threads[1] = &dp->udp_thread;
	threads[2] = &dp->timer_thread;
	init_fields(dp, o);
	dp->bcast_buf = malloc(PACKET_MAX + TUND_WG_HEADROOM + TUND_WG_TAILROOM);
	dp->bcast_copy = malloc(PACKET_MAX);
	if (!dp->bcast_buf || !dp->bcast_copy) {
		ret = -ENOMEM;
		goto fail;
	}
	dp->udp_fd = tund_udp_open(o->listen_port, &dp->port);
	if (dp->udp_fd < 0) {
		ret = dp->udp_fd;
		goto fail;
	}
	tund_udp_tx_init(&dp->udp_tx, dp->udp_fd, true);
	dp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dp->stop_fd < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = tund_tun_handoff_init(&dp->handoff, o->light_on_one_thread)) ||
	    (o->light_on_one_thread &&
	     (ret = tund_tun_rx_init(&dp->solo_rx, o->tun_fd, o->vnet, o->mtu))))
		goto fail;
	dp->wg = tund_wg_new(private_key, o->mtu, wg_send, dp);
	if (!dp->wg) {
		ret = -ENOMEM;
		goto fail;
	}
	if ((ret = set_nonblock(dp->udp_fd)) || (ret = set_nonblock(o->tun_fd)))
		goto fail;
	if (o->crypto_workers && (ret = start_pool(dp, o->crypto_workers)))
		goto fail;
	for (; started < G_N_ELEMENTS(loops); started++)
		if ((ret = -pthread_create(threads[started], NULL, loops[started], dp)))
			goto fail;
	/* Names that top -H and ps -L show. */
	pthread_setname_np(dp->tun_thread, "tund-tun");
	pthread_setname_np(dp->udp_thread, "tund-udp");
	pthread_setname_np(dp->timer_thread, "tund-timer");
	dp->threads_started = true;
	*out = dp;
	return 0;
fail:
	if (started) {
		atomic_store(&dp->stopping, true);
		eventfd_write(dp->stop_fd, 1);
		while (started--)
			pthread_join(*threads[started], NULL);
	}
	stop_pool(dp);
	tund_mcast_join_destroy(&dp->mcast);
	free(dp->bcast_copy);
	tund_wg_free(dp->wg);
	g_hash_table_unref(dp->paths);
	tund_relay_fwd_free(dp->relay);
	free(dp->bcast_buf);
	tund_tun_rx_free(&dp->solo_rx);
	tund_tun_handoff_destroy(&dp->handoff);
	if (dp->stop_fd >= 0)
		close(dp->stop_fd);
	if (dp->udp_fd >= 0)
		close(dp->udp_fd);
	tund_prio_group_destroy(&dp->prio);
	free(dp);
	return ret;
}

void tund_dataplane_stop(struct tund_dataplane *dp)
{
	if (!dp)
		return;
	atomic_store(&dp->stopping, true);
	eventfd_write(dp->stop_fd, 1);
	if (dp->threads_started) {
		pthread_join(dp->tun_thread, NULL);
		pthread_join(dp->udp_thread, NULL);
		pthread_join(dp->timer_thread, NULL);
	}
	if (dp->fast) {
		tund_fastpath_free(dp->fast);
		tund_tun_tx_free(&dp->fast_tx);
	}
	/* The packet threads are gone: no batch is in the pool. */
	stop_pool(dp);
	tund_wg_free(dp->wg);
	g_hash_table_unref(dp->paths);
	tund_relay_fwd_free(dp->relay);
	tund_mcast_join_destroy(&dp->mcast);
	free(dp->bcast_buf);
	free(dp->bcast_copy);
	tund_tun_rx_free(&dp->solo_rx);
	tund_tun_handoff_destroy(&dp->handoff);
	close(dp->stop_fd);
	close(dp->udp_fd);
	tund_prio_group_destroy(&dp->prio);
	free(dp);
}

bool tund_dataplane_one_thread(struct tund_dataplane *dp, const char **now, uint64_t *handoffs)
{
	static const char *const names[] = { [TUND_TUN_READER_TUN_THREAD] = NULL,
					     [TUND_TUN_READER_UDP_THREAD] = "udp",
					     [TUND_TUN_READER_FAST_THREAD] = "fast_path" };

	*now = names[tund_tun_handoff_reader(&dp->handoff)];
	if (handoffs)
		*handoffs = atomic_load(&dp->handoff.to_light);
	return dp->handoff.enabled;
}

bool tund_dataplane_tun_uring(struct tund_dataplane *dp)
{
	return atomic_load(&dp->tun_uring);
}

uint16_t tund_dataplane_port(struct tund_dataplane *dp)
{
	return dp->port;
}

struct tund_wg *tund_dataplane_wg(struct tund_dataplane *dp)
{
	return dp->wg;
}

/* Its network's broadcasts, and those of the other networks it carries. */
static void set_groups(struct tund_dataplane *dp, struct tund_peer *p)
{
	uint32_t groups[TUND_WG_MAX_BCAST_GROUPS];
	unsigned n = 0;

	if (tund_peer_owns_addresses(p))
		groups[n++] = tund_dataplane_bcast_group(p->network);
	for (guint i = 0; i < p->shared_groups->len && n < TUND_WG_MAX_BCAST_GROUPS; i++)
		groups[n++] = g_array_index(p->shared_groups, uint32_t, i);
	tund_wg_peer_set_bcast_groups(dp->wg, p->wg_peer, groups, n);
}

struct tund_relay_fwd *tund_dataplane_relay(struct tund_dataplane *dp)
{
	return dp->relay;
}

int tund_dataplane_peer_apply(struct tund_dataplane *dp, struct tund_peer *p)
{
	struct tund_wg_peer *wp;

	/* Reconfiguration starts the peer afresh: simplest correct rule. */
	tund_dataplane_peer_forget(dp, p);
	wp = tund_wg_peer_add(dp->wg, p->public_key, p->has_psk ? p->psk : NULL, p);
	if (!wp)
		return -ENOMEM;
	p->wg_peer = wp;
	int ret = tund_dataplane_peer_update(dp, p); /* its addresses and groups */

	if (ret)
		return ret;
	if (p->endpoint) {
		struct tund_endpoint ep;
		struct tund_wg_endpoint wep;

		ret = tund_udp_resolve(dp->udp_fd, p->endpoint, &ep);

		if (ret) {
			log_warn("peer %s: endpoint %s does not resolve; waiting for it to "
				 "contact us", p->name ? p->name : "(unnamed)", p->endpoint);
			return 0;
		}
		struct tund_wg_clock now;

		to_wg_endpoint(&ep, &wep);
		tund_wg_peer_set_endpoint(dp->wg, wp, &wep);
		tund_dataplane_now(&now);
		tund_wg_peer_connect(dp->wg, wp, &now);
	}
	return 0;
}

int tund_dataplane_peer_update(struct tund_dataplane *dp, struct tund_peer *p)
{
	g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(struct tund_cidr));

	if (!p->wg_peer)
		return 0;
	if (tund_peer_owns_addresses(p))
		g_array_append_vals(all, p->allowed_ips->data, p->allowed_ips->len);
	g_array_append_vals(all, p->shared_ips->data, p->shared_ips->len);
	set_groups(dp, p);
	return tund_wg_peer_set_allowed(dp->wg, p->wg_peer, (const struct tund_cidr *)all->data,
					all->len);
}

void tund_dataplane_peer_forget(struct tund_dataplane *dp, struct tund_peer *p)
{
	if (!p->wg_peer)
		return;
	tund_relay_fwd_forget(dp->relay, p->public_key);
	tund_wg_peer_remove(dp->wg, p->wg_peer);
	p->wg_peer = NULL;
}

static void path_endpoint(uint32_t id, struct tund_wg_endpoint *out)
{
	struct path_endpoint pe = { .family = TUND_AF_PATH, .id = id };

	memset(out, 0, sizeof(*out));
	memcpy(out->addr, &pe, sizeof(pe));
	out->addr_len = sizeof(pe);
	/* Cookies bind to the source; a path's id is its source. */
	memcpy(out->key, &pe, sizeof(pe));
	out->key_len = sizeof(pe);
}

uint32_t tund_dataplane_path_register(struct tund_dataplane *dp, tund_dataplane_send_fn send,
				      void *path)
{
	struct path_sender *ps = g_new0(struct path_sender, 1);
	uint32_t id;

	ps->send = send;
	ps->path = path;
	pthread_rwlock_wrlock(&dp->paths_lock);
	id = dp->next_path_id++;
	g_hash_table_insert(dp->paths, GUINT_TO_POINTER(id), ps);
	pthread_rwlock_unlock(&dp->paths_lock);
	return id;
}

void tund_dataplane_path_unregister(struct tund_dataplane *dp, uint32_t id)
{
	struct path_sender *ps;
	bool held;

	if (dp->fast)
		tund_fastpath_remove(dp->fast, id);
	pthread_rwlock_wrlock(&dp->paths_lock);
	ps = g_hash_table_lookup(dp->paths, GUINT_TO_POINTER(id));
	held = ps && ps->via_turn;
	g_hash_table_remove(dp->paths, GUINT_TO_POINTER(id));
	pthread_rwlock_unlock(&dp->paths_lock);
	if (held)
		tund_prio_hold(&dp->prio, false);
	tund_relay_fwd_path_gone(dp->relay, id);
}

bool tund_dataplane_peer_use_path(struct tund_dataplane *dp, struct tund_peer *p, uint32_t id,
				  bool initiate)
{
	struct tund_wg_endpoint ep;
	struct tund_wg_clock now;

	struct tund_wg_peer_stats st;

	if (!p->wg_peer)
		return false;
	tund_relay_fwd_set_path(dp->relay, p->public_key, id);
	path_endpoint(id, &ep);
	/* libnice may select a pair more than once: only a new path needs a
	 * new handshake or keepalive. */
	tund_wg_peer_get_stats(dp->wg, p->wg_peer, &st);
	if (st.endpoint.addr_len == ep.addr_len && !memcmp(st.endpoint.addr, ep.addr, ep.addr_len) &&
	    st.has_session)
		return false;
	tund_wg_peer_set_endpoint(dp->wg, p->wg_peer, &ep);
	if (!initiate && !st.has_session && !st.answered)
		return true; /* the peer's initiation is awaited */
	tund_dataplane_now(&now);
	tund_wg_peer_connect(dp->wg, p->wg_peer, &now);
	return true;
}

void tund_dataplane_path_receive(struct tund_dataplane *dp, uint32_t id, uint8_t *buf,
				 size_t len)
{
	struct tund_wg_endpoint src;
	struct tund_wg_clock now;
	size_t off, inner;

	path_endpoint(id, &src);
	tund_dataplane_now(&now);
	switch (tund_relay_fwd_input(dp->relay, id, buf, len, now.mono_ns / 1000000, &src, &off)) {
	case TUND_RELAY_IN_DONE:
		return;
	case TUND_RELAY_IN_INNER:
		buf += off;
		len -= off;
		break;
	default:
		break;
	}
	if (tund_wg_receive(dp->wg, buf, len, &src, &now, &off, &inner) == TUND_WG_TO_TUN) {
		tund_mcast_join_one(&dp->mcast, buf + off, inner);
		tund_tun_write_one(dp->tun_fd, dp->vnet, buf, off, inner);
	}
}

void tund_dataplane_peer_endpoint(struct tund_dataplane *dp, struct tund_peer *p, char *buf,
				  size_t len, bool *is_path)
{
	struct tund_wg_peer_stats st;
	uint16_t family;

	*is_path = false;
	snprintf(buf, len, "-");
	if (!p->wg_peer)
		return;
	tund_wg_peer_get_stats(dp->wg, p->wg_peer, &st);
	if (!st.endpoint.addr_len)
		return;
	memcpy(&family, st.endpoint.addr, sizeof(family));
	if (family == TUND_AF_PATH || family == TUND_AF_RELAY) {
		*is_path = true;
		return;
	}
	struct tund_endpoint ep = { .len = st.endpoint.addr_len };
	memcpy(&ep.sa, st.endpoint.addr, st.endpoint.addr_len);
	tund_endpoint_format(&ep, buf, len);
}

/* addr with port, in the UDP socket's family (IPv4 as a mapped address on
 * a dual-stack socket); false if the socket cannot reach it. */
static bool lan_endpoint(struct tund_dataplane *dp, const struct sockaddr *addr, socklen_t len,
			 uint16_t port, struct tund_wg_endpoint *out)
{
	struct tund_endpoint ep = { 0 };
	int family = AF_INET6;
	struct sockaddr_storage self;
	socklen_t self_len = sizeof(self);

	if (len > sizeof(ep.in6))
		return false;
	if (getsockname(dp->udp_fd, (struct sockaddr *)&self, &self_len) == 0)
		family = self.ss_family;
	if (addr->sa_family == AF_INET && family == AF_INET6) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)addr;

		ep.in6.sin6_family = AF_INET6;
		ep.in6.sin6_addr.s6_addr[10] = 0xff;
		ep.in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&ep.in6.sin6_addr.s6_addr[12], &a->sin_addr, 4);
		ep.len = sizeof(ep.in6);
	} else if (addr->sa_family == family) {
		memcpy(&ep.sa, addr, len);
		ep.len = len;
	} else {
		return false;
	}
	if (ep.sa.sa_family == AF_INET6)
		ep.in6.sin6_port = htons(port);
	else
		ep.in4.sin_port = htons(port);
	to_wg_endpoint(&ep, out);
	return true;
}

/* 4 or 6 for an address (an IPv4-mapped one is 4), 0 for a path. */
static int ip_version(const struct tund_wg_endpoint *ep)
{
	struct sockaddr_in6 in6;
	uint16_t family;

	memcpy(&family, ep->addr, sizeof(family));
	if (family == AF_INET)
		return 4;
	if (family != AF_INET6 || ep->addr_len < sizeof(in6))
		return 0;
	memcpy(&in6, ep->addr, sizeof(in6));
	return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) ? 4 : 6;
}

bool tund_dataplane_peer_probe_lan(struct tund_dataplane *dp, struct tund_peer *p,
				   const struct sockaddr *addr, socklen_t len, uint16_t port)
{
	struct tund_wg_endpoint wep;
	struct tund_wg_peer_stats st;
	struct tund_wg_clock now;

	if (!p->wg_peer || !lan_endpoint(dp, addr, len, port, &wep))
		return false;
	tund_wg_peer_get_stats(dp->wg, p->wg_peer, &st);
	if (st.has_session && st.endpoint.addr_len == wep.addr_len &&
	    !memcmp(st.endpoint.addr, wep.addr, wep.addr_len))
		return false; /* it answered there already */
	/* It answered on the LAN in the other IP version: a dual-stack member
	 * beacons over both, and probing each would move the endpoint to and
	 * fro with a handshake each time. */
	if (st.has_session && ip_version(&st.endpoint) && ip_version(&st.endpoint) != ip_version(&wep))
		return false;
	tund_dataplane_now(&now);
	return tund_wg_peer_probe(dp->wg, p->wg_peer, &wep, &now);
}

bool tund_dataplane_peer_on_udp(struct tund_dataplane *dp, struct tund_peer *p)
{
	struct tund_wg_peer_stats st;
	uint16_t family;

	if (!p->wg_peer)
		return false;
	tund_wg_peer_get_stats(dp->wg, p->wg_peer, &st);
	if (!st.has_session || !st.endpoint.addr_len)
		return false;
	memcpy(&family, st.endpoint.addr, sizeof(family));
	return family != TUND_AF_PATH && family != TUND_AF_RELAY;
}

/* Fast-path thread: what libnice would have delivered, a batch at a time,
 * written to the TUN coalesced. A datagram that decrypted into a packet for
 * the TUN is marked authentic (a relayed path learns its channel from it). */
static void fast_deliver(void *ctx, uint32_t id, struct tund_fastpath_datagram *d, size_t n)
{
	struct tund_dataplane *dp = ctx;
	struct tund_wg_packet pkts[TUND_FASTPATH_BATCH];
	struct tund_wg_endpoint src, relayed[TUND_FASTPATH_BATCH];
	struct tund_wg_clock now;
	size_t kept = 0, off, from[TUND_FASTPATH_BATCH];

	if (n > TUND_FASTPATH_BATCH)
		n = TUND_FASTPATH_BATCH;
	path_endpoint(id, &src);
	tund_dataplane_now(&now);
	for (size_t i = 0; i < n; i++) {
		d[i].authentic = false;
		switch (tund_relay_fwd_input(dp->relay, id, d[i].buf, d[i].len,
					     now.mono_ns / 1000000, &relayed[kept], &off)) {
		case TUND_RELAY_IN_DONE:
			break;
		case TUND_RELAY_IN_INNER:
			/* Another member's, through this path's peer: not
			 * this path's own WireGuard. */
			pkts[kept] = (struct tund_wg_packet){ .buf = d[i].buf + off,
							      .len = d[i].len - off,
							      .src = &relayed[kept] };
			from[kept++] = SIZE_MAX;
			break;
		default:
			pkts[kept] = (struct tund_wg_packet){ .buf = d[i].buf, .len = d[i].len,
							      .src = &src };
			from[kept++] = i;
		}
	}
	n = kept;
	tund_wg_receive_batch_pool(dp->wg, dp->fast_q, pkts, n, &now);
	for (size_t k = 0; k < n; k++)
		if (from[k] != SIZE_MAX && pkts[k].res == TUND_WG_TO_TUN)
			d[from[k]].authentic = true;
	tund_mcast_join_batch(&dp->mcast, pkts, n);
	tund_tun_write_batch(&dp->fast_tx, pkts, n);
}

/* The fast path thread after each wake-up (tund_fastpath_hooks): while
 * traffic is light and its paths carry it, it reads the TUN too
 * (tun_handoff.h), watching the TUN only while it is its turn. */
static void fast_after(struct tund_fastpath *fp, void *ctx, size_t packets, bool woken)
{
	struct tund_dataplane *dp = ctx;
	const enum tund_tun_reader me = TUND_TUN_READER_FAST_THREAD;
	uint64_t now_ns = tund_pace_now();
	bool mine;
	int ret;

	if (woken)
		tund_tun_handoff_woken(&dp->handoff, me);
	if (packets) {
		tund_tun_handoff_batch(&dp->handoff, packets, now_ns);
		tund_tun_handoff_received(&dp->handoff, me);
	}
	mine = tund_tun_handoff_mine(&dp->handoff, me);
	if (mine && light_reads_tun(dp, me, packets, now_ns) < 0)
		mine = false;
	if ((ret = tund_fastpath_watch(fp, dp->tun_fd, mine)) != 0) {
		/* Once: from now on the fast path's thread never reads it. */
		log_warn("fast path: cannot %s the TUN (%s); light traffic on it stays on two threads",
			 mine ? "wait for" : "stop waiting for", strerror(-ret));
		tund_tun_handoff_retire(&dp->handoff, me);
	}
}

int tund_dataplane_enable_fast_paths(struct tund_dataplane *dp)
{
	struct tund_fastpath_hooks hooks = {
		.after = dp->handoff.enabled ? fast_after : NULL,
		.wake_fd = tund_tun_handoff_fd(&dp->handoff, TUND_TUN_READER_FAST_THREAD),
	};
	int ret;

	if (dp->fast)
		return 0;
	ret = tund_tun_tx_init(&dp->fast_tx, dp->tun_fd, dp->vnet, TUND_FASTPATH_BATCH);
	if (ret)
		return ret;
	dp->fast_tx.uso = dp->uso;
	/* Its queue first: the fast path thread starts delivering at once. */
	if (dp->pool && !dp->fast_q && (ret = tund_pool_queue_new(dp->pool, &dp->fast_q))) {
		tund_tun_tx_free(&dp->fast_tx);
		return ret;
	}
	dp->fast = tund_fastpath_new(fast_deliver, dp, &dp->prio, &dp->pace, &hooks);
	if (!dp->fast) {
		ret = -errno;
		tund_tun_tx_free(&dp->fast_tx);
		return ret;
	}
	return 0;
}

void tund_dataplane_path_update(struct tund_dataplane *dp, uint32_t id, int fd,
				const struct sockaddr *remote, socklen_t remote_len, bool relayed,
				const struct sockaddr *turn, socklen_t turn_len)
{
	int ret;

	if (!dp->fast)
		return;
	if (fd < 0) {
		tund_fastpath_remove(dp->fast, id);
		return;
	}
	ret = tund_fastpath_add(dp->fast, id, fd, remote, remote_len, relayed, turn, turn_len);
	if (ret)
		log_warn("path %u: no %sfast path, data stays on libnice: %s", id,
			 relayed ? "relayed " : "", strerror(-ret));
}

void tund_dataplane_path_via_turn(struct tund_dataplane *dp, uint32_t id, bool via_turn)
{
	struct path_sender *ps;
	bool changed = false;

	pthread_rwlock_wrlock(&dp->paths_lock);
	ps = g_hash_table_lookup(dp->paths, GUINT_TO_POINTER(id));
	if (ps && ps->via_turn != via_turn) {
		ps->via_turn = via_turn;
		changed = true;
	}
	pthread_rwlock_unlock(&dp->paths_lock);
	if (changed)
		tund_prio_hold(&dp->prio, via_turn);
}

bool tund_dataplane_path_fast(struct tund_dataplane *dp, uint32_t id, bool *relayed)
{
	*relayed = false;
	return dp->fast && tund_fastpath_state(dp->fast, id, relayed);
}

void tund_dataplane_prio(struct tund_dataplane *dp, struct tund_prio_status *out)
{
	tund_prio_group_status(&dp->prio, out);
}

uint64_t tund_dataplane_pace_pauses(struct tund_dataplane *dp)
{
	return tund_pace_pauses(&dp->pace);
}

void tund_dataplane_fast_stats(struct tund_dataplane *dp, struct tund_fastpath_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dp->fast)
		tund_fastpath_get_stats(dp->fast, out);
}
