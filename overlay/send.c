// SPDX-License-Identifier: MIT
/* Outgoing: TUN packets to transport messages, handshake initiations,
 * keepalives, staged packets, and the timer actions that cause them. */
#include <sodium.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/aead.h"
#include "overlay/device_priv.h"

void tund_wg_count_drop(struct tund_wg *wg, struct tund_wg_peer *p, enum tund_wg_drop d)
{
	wg->drops[d]++;
	if (p)
		p->drops[d]++;
}

/* A fresh initiation to dst; false if none could be made. */
static bool initiate(struct tund_wg *wg, struct tund_wg_peer *p,
		     const struct tund_wg_endpoint *dst, const struct tund_wg_clock *now)
{
	struct tund_message_handshake_initiation msg;
	uint32_t index;

	tund_wg_handshake_forget(wg, p);
	if (tund_wg_index_new(wg, p, &index))
		return false;
	if (!tund_noise_handshake_create_initiation(&msg, &p->hs, index, &now->wall)) {
		tund_wg_index_drop(wg, index);
		return false;
	}
	p->hs_index_live = true;
	p->hs_sent_ns = now->mono_ns;
	tund_cookie_add_macs(&p->cookie, (uint8_t *)&msg, sizeof(msg), now->mono_ns);
	wg->send(wg->send_ctx, dst, (const uint8_t *)&msg, sizeof(msg));
	tund_timers_on_any_authenticated_packet_sent(&p->timers, tund_wg_ms(now));
	tund_timers_on_any_authenticated_packet_traversal(&p->timers, tund_wg_ms(now));
	return true;
}

void tund_wg_send_initiation(struct tund_wg *wg, struct tund_wg_peer *p,
			     const struct tund_wg_clock *now)
{
	tund_timers_on_handshake_initiated(&p->timers, tund_wg_ms(now));
	if (!p->endpoint.addr_len)
		return; /* no address yet: the timers keep trying */
	initiate(wg, p, &p->endpoint, now);
}

bool tund_wg_send_probe(struct tund_wg *wg, struct tund_wg_peer *p,
			const struct tund_wg_endpoint *dst, const struct tund_wg_clock *now)
{
	/* One probe per gap: a hint arrives in several copies, and a
	 * handshake just sent is not cut short. */
	if (p->hs_index_live && now->mono_ns - p->hs_sent_ns < TUND_WG_PROBE_GAP_NS)
		return false;
	return initiate(wg, p, dst, now);
}

/* Everything of sealing buf (plaintext at HEADROOM, len bytes) with the
 * current keypair but the AEAD itself: counter, header, padding, stats and
 * timers. Returns the keypair whose send key seals it, NULL when there is
 * no usable keypair. */
static struct tund_keypair *reserve(struct tund_wg *wg, struct tund_wg_peer *p, uint8_t *buf,
				    size_t cap, size_t len, const struct tund_wg_clock *now,
				    size_t *out_len, uint64_t *counter)
{
	struct tund_keypair *kp = p->current;

	if (!kp || !kp->valid || tund_keypair_expired(kp, now->mono_ns))
		return NULL;
	if (!tund_keypair_reserve(kp, buf, cap, len, wg->mtu, now->mono_ns, out_len, counter))
		return NULL;
	p->tx_bytes += *out_len;
	tund_timers_on_send_counter(&p->timers, tund_wg_ms(now), *counter);
	if (len)
		tund_timers_on_data_sent(&p->timers, tund_wg_ms(now));
	tund_timers_on_any_authenticated_packet_sent(&p->timers, tund_wg_ms(now));
	tund_timers_on_any_authenticated_packet_traversal(&p->timers, tund_wg_ms(now));
	if (tund_keypair_should_rekey(kp, now->mono_ns))
		tund_timers_on_handshake_wanted(&p->timers, tund_wg_ms(now));
	return kp;
}

/* Seals at once (under the lock): for the rare control-path packets. */
static bool seal(struct tund_wg *wg, struct tund_wg_peer *p, uint8_t *buf, size_t cap,
		 size_t len, const struct tund_wg_clock *now, size_t *out_len)
{
	uint64_t counter;
	struct tund_keypair *kp = reserve(wg, p, buf, cap, len, now, out_len, &counter);
	bool ok;

	if (!kp)
		return false;
	ok = tund_keypair_seal(kp->send_key, buf, *out_len, counter);
	tund_aead_wipe();
	return ok;
}

void tund_wg_send_keepalive(struct tund_wg *wg, struct tund_wg_peer *p,
			    const struct tund_wg_clock *now)
{
	uint8_t buf[TUND_WG_HEADROOM + TUND_WG_TAILROOM];
	size_t out_len;

	if (!p->endpoint.addr_len)
		return;
	if (seal(wg, p, buf, sizeof(buf), 0, now, &out_len))
		wg->send(wg->send_ctx, &p->endpoint, buf, out_len);
	else
		tund_timers_on_handshake_wanted(&p->timers, tund_wg_ms(now));
}

void tund_wg_flush_staged(struct tund_wg *wg, struct tund_wg_peer *p,
			  const struct tund_wg_clock *now)
{
	while (p->staged_count && p->current && p->endpoint.addr_len) {
		struct staged_packet *s = &p->staged[p->staged_head];
		size_t out_len;

		if (!seal(wg, p, s->data, s->len + TUND_WG_HEADROOM + TUND_WG_TAILROOM, s->len,
			  now, &out_len))
			return;
		wg->send(wg->send_ctx, &p->endpoint, s->data, out_len);
		free(s->data);
		s->data = NULL;
		p->staged_head = (p->staged_head + 1) % TUND_WG_MAX_STAGED;
		p->staged_count--;
	}
}

static void stage(struct tund_wg *wg, struct tund_wg_peer *p, const uint8_t *pkt, size_t len)
{
	struct staged_packet *s;
	uint8_t *copy;

	if (p->staged_count == TUND_WG_MAX_STAGED) {
		/* Keep the newest packets, as WireGuard does. */
		s = &p->staged[p->staged_head];
		free(s->data);
		s->data = NULL;
		p->staged_head = (p->staged_head + 1) % TUND_WG_MAX_STAGED;
		p->staged_count--;
		tund_wg_count_drop(wg, p, TUND_WG_DROP_STAGED);
	}
	copy = malloc(len + TUND_WG_HEADROOM + TUND_WG_TAILROOM);
	if (!copy) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_STAGED);
		return;
	}
	memcpy(copy + TUND_WG_HEADROOM, pkt, len);
	s = &p->staged[(p->staged_head + p->staged_count) % TUND_WG_MAX_STAGED];
	s->data = copy;
	s->len = len;
	p->staged_count++;
}

void tund_wg_run_timers(struct tund_wg *wg, struct tund_wg_peer *p,
			const struct tund_wg_clock *now)
{
	unsigned actions = tund_timers_poll(&p->timers, tund_wg_ms(now), NULL);

	if (actions & TUND_TIMER_ZERO_KEYS) {
		tund_wg_keypairs_drop_all(wg, p);
		tund_wg_handshake_forget(wg, p);
		tund_noise_handshake_clear(&p->hs);
	} else if (actions & TUND_TIMER_EXPIRE_KEYPAIRS) {
		tund_wg_keypairs_drop_all(wg, p);
	}
	if (actions & TUND_TIMER_GIVE_UP)
		tund_wg_staged_clear(wg, p, true);
	if (actions & TUND_TIMER_SEND_INITIATION)
		tund_wg_send_initiation(wg, p, now);
	if (actions & TUND_TIMER_SEND_KEEPALIVE)
		tund_wg_send_keepalive(wg, p, now);
}

/* Destination address of an IP packet, or false if it is not one. */
static bool packet_dst(const uint8_t *pkt, size_t len, int *family, const uint8_t **dst)
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		*family = AF_INET;
		*dst = pkt + 16;
		return true;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		*family = AF_INET6;
		*dst = pkt + 24;
		return true;
	}
	return false;
}

/* The peer for a destination, remembering the last one: a batch is mostly
 * runs of packets to one address. */
struct route_cache {
	int family;
	uint8_t addr[16];
	struct tund_wg_peer *peer;
};

static struct tund_wg_peer *route(struct tund_wg *wg, struct route_cache *c, int family,
				  const uint8_t *daddr)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if (c->family == family && !memcmp(c->addr, daddr, alen))
		return c->peer;
	c->peer = tund_allowedips_lookup(&wg->allowed, family, daddr);
	c->family = family;
	memcpy(c->addr, daddr, alen);
	return c->peer;
}

/* Phase one, locked: route, reserve counters, stage what cannot go yet.
 * Each distinct keypair's send key is copied once into keys. */
static void encrypt_reserve(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
			    const struct tund_wg_clock *now,
			    uint8_t keys[][TUND_NOISE_SYMMETRIC_KEY_LEN], uint16_t *n_keys)
{
	struct route_cache cache = { .family = 0 };
	struct tund_keypair *last_kp = NULL;

	for (size_t i = 0; i < n; i++) {
		struct tund_wg_packet *k = &pkts[i];
		const uint8_t *pkt = k->buf + TUND_WG_HEADROOM, *daddr;
		struct tund_keypair *kp = NULL;
		struct tund_wg_peer *p;
		int family;

		k->sealed = false;
		if (!packet_dst(pkt, k->len, &family, &daddr)) {
			tund_wg_count_drop(wg, NULL, TUND_WG_DROP_BAD_INNER);
			k->res = TUND_WG_DROP;
			continue;
		}
		p = route(wg, &cache, family, daddr);
		if (!p) {
			tund_wg_count_drop(wg, NULL, TUND_WG_DROP_NO_ROUTE);
			k->res = TUND_WG_DROP;
			continue;
		}
		if (p->endpoint.addr_len)
			kp = reserve(wg, p, k->buf, k->cap, k->len, now, &k->out_len, &k->counter);
		if (kp) {
			if (kp != last_kp) {
				memcpy(keys[*n_keys], kp->send_key, TUND_NOISE_SYMMETRIC_KEY_LEN);
				(*n_keys)++;
				last_kp = kp;
			}
			k->key = (uint16_t)(*n_keys - 1);
			k->dst = p->endpoint;
			k->sealed = true;
			k->res = TUND_WG_SEND;
		} else {
			stage(wg, p, pkt, k->len);
			tund_timers_on_handshake_wanted(&p->timers, tund_wg_ms(now));
			k->res = TUND_WG_DONE;
		}
		tund_wg_run_timers(wg, p, now);
		/* Timers may have dropped keypairs: copy the next key afresh. */
		last_kp = kp && p->current == kp ? kp : NULL;
	}
}

/* Seals a run of reserved packets: inline, or a slice on a pool thread. */
static void seal_run(struct tund_wg_packet *pkts, size_t n,
		     uint8_t keys[][TUND_NOISE_SYMMETRIC_KEY_LEN])
{
	for (size_t i = 0; i < n; i++)
		if (pkts[i].sealed && !tund_keypair_seal(keys[pkts[i].key], pkts[i].buf,
							 pkts[i].out_len, pkts[i].counter)) {
			/* The backend failed (no memory): the bytes must not go out. */
			pkts[i].sealed = false;
			pkts[i].res = TUND_WG_DROP;
		}
	/* This thread's cipher contexts forget the keys (overlay/aead.h). */
	tund_aead_wipe();
}

static void seal_slice(void *item)
{
	struct tund_wg_slice *s = item;

	seal_run(s->pkts, s->n, s->keys);
}

/* In order; the packets go out after the whole batch, in its order. A slice
 * the pool dropped unworked holds plaintext: never sent. */
static void seal_release(void *item, bool worked)
{
	struct tund_wg_slice *s = item;

	for (size_t i = 0; !worked && i < s->n; i++)
		if (s->pkts[i].sealed) {
			s->pkts[i].sealed = false;
			s->pkts[i].res = TUND_WG_DROP;
		}
}

void tund_wg_encrypt_batch_pool(struct tund_wg *wg, struct tund_pool_queue *q,
				struct tund_wg_packet *pkts, size_t n,
				const struct tund_wg_clock *now)
{
	uint8_t keys[TUND_WG_BATCH_MAX][TUND_NOISE_SYMMETRIC_KEY_LEN];

	while (n) {
		size_t chunk = n < TUND_WG_BATCH_MAX ? n : TUND_WG_BATCH_MAX;
		uint16_t n_keys = 0;

		pthread_mutex_lock(&wg->lock);
		encrypt_reserve(wg, pkts, chunk, now, keys, &n_keys);
		pthread_mutex_unlock(&wg->lock);
		/* The counters are ours now, assigned in order: the AEAD needs
		 * no lock and may run on any thread. */
		if (!tund_wg_pool_batch(q, wg, pkts, chunk, keys, now, seal_slice, seal_release))
			seal_run(pkts, chunk, keys);
		sodium_memzero(keys, (size_t)n_keys * TUND_NOISE_SYMMETRIC_KEY_LEN);
		pkts += chunk;
		n -= chunk;
	}
}

void tund_wg_encrypt_batch(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
			   const struct tund_wg_clock *now)
{
	tund_wg_encrypt_batch_pool(wg, NULL, pkts, n, now);
}

enum tund_wg_result tund_wg_encrypt(struct tund_wg *wg, uint8_t *buf, size_t cap, size_t len,
				    const struct tund_wg_clock *now, size_t *out_len,
				    struct tund_wg_endpoint *dst)
{
	struct tund_wg_packet k = { .buf = buf, .cap = cap, .len = len };

	tund_wg_encrypt_batch(wg, &k, 1, now);
	if (k.res == TUND_WG_SEND) {
		*out_len = k.out_len;
		*dst = k.dst;
	}
	return k.res;
}

uint64_t tund_wg_tick(struct tund_wg *wg, const struct tund_wg_clock *now)
{
	uint64_t next = UINT64_MAX;

	pthread_mutex_lock(&wg->lock);
	for (size_t i = 0; i < wg->n_peers; i++) {
		struct tund_wg_peer *p = wg->peers[i];
		uint64_t peer_next;

		tund_wg_run_timers(wg, p, now);
		tund_timers_poll(&p->timers, tund_wg_ms(now), &peer_next);
		if (peer_next != TUND_TIMER_OFF && peer_next * 1000000 < next)
			next = peer_next * 1000000;
	}
	pthread_mutex_unlock(&wg->lock);
	return next;
}

/* Group 0: the peers in none of our networks (static peers). */
static bool in_group(const struct tund_wg_peer *p, uint32_t group)
{
	if (!group)
		return p->n_bcast_groups == 0;
	for (unsigned i = 0; i < p->n_bcast_groups; i++)
		if (p->bcast_groups[i] == group)
			return true;
	return false;
}

static unsigned broadcast(struct tund_wg *wg, bool all, uint32_t group, const uint8_t *pkt,
			  size_t len, uint8_t *scratch, size_t cap, const struct tund_wg_clock *now)
{
	size_t out_len;
	unsigned sent = 0;

	if (len + TUND_WG_HEADROOM + TUND_WG_TAILROOM > cap)
		return 0;
	pthread_mutex_lock(&wg->lock);
	for (size_t i = 0; i < wg->n_peers; i++) {
		struct tund_wg_peer *p = wg->peers[i];

		if (!p->current || !p->endpoint.addr_len || p->no_broadcast)
			continue; /* only connected peers: a broadcast never starts a handshake */
		if (!all && !in_group(p, group))
			continue;
		memcpy(scratch + TUND_WG_HEADROOM, pkt, len);
		if (!seal(wg, p, scratch, cap, len, now, &out_len))
			continue;
		wg->send(wg->send_ctx, &p->endpoint, scratch, out_len);
		p->bcast_tx++;
		sent++;
	}
	pthread_mutex_unlock(&wg->lock);
	return sent;
}

unsigned tund_wg_broadcast(struct tund_wg *wg, const uint8_t *pkt, size_t len, uint8_t *scratch,
			   size_t cap, const struct tund_wg_clock *now)
{
	return broadcast(wg, true, 0, pkt, len, scratch, cap, now);
}

unsigned tund_wg_broadcast_group(struct tund_wg *wg, uint32_t group, const uint8_t *pkt,
				 size_t len, uint8_t *scratch, size_t cap,
				 const struct tund_wg_clock *now)
{
	return broadcast(wg, false, group, pkt, len, scratch, cap, now);
}
