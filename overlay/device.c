// SPDX-License-Identifier: MIT
/* The device: peers, the index table and the locking. Sending, receiving and
 * timers live in send.c, receive.c and the tick at the end of send.c; the
 * shared internals are in device_priv.h. */
#include "overlay/device_priv.h"

#include <errno.h>
#include <sys/socket.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *const drop_names[TUND_WG_DROP_COUNT] = {
	[TUND_WG_DROP_MALFORMED] = "malformed",
	[TUND_WG_DROP_MAC] = "bad_mac",
	[TUND_WG_DROP_HANDSHAKE] = "handshake_rejected",
	[TUND_WG_DROP_UNKNOWN_INDEX] = "unknown_session",
	[TUND_WG_DROP_AUTH] = "auth_failed",
	[TUND_WG_DROP_REPLAY] = "replayed",
	[TUND_WG_DROP_SOURCE] = "source_not_allowed",
	[TUND_WG_DROP_BAD_INNER] = "bad_inner_packet",
	[TUND_WG_DROP_NO_ROUTE] = "no_route",
	[TUND_WG_DROP_STAGED] = "queue_dropped",
};

const char *tund_wg_drop_name(enum tund_wg_drop d)
{
	return d < TUND_WG_DROP_COUNT ? drop_names[d] : "unknown";
}

/* ---- index table: open addressing, 32-bit index -> peer ---- */

#define TOMBSTONE ((struct tund_wg_peer *)1)

static uint32_t slot_of(uint32_t index, uint32_t mask)
{
	/* Indices are random already; mix anyway in case a peer picks them. */
	return (index * 2654435761u) & mask;
}

static int index_grow(struct tund_wg *wg)
{
	uint32_t cap = wg->index_cap ? wg->index_cap * 2 : 64;
	struct index_entry *old = wg->index, *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	wg->index = n;
	wg->index_used = 0;
	for (uint32_t i = 0; i < wg->index_cap; i++) {
		if (old[i].peer && old[i].peer != TOMBSTONE) {
			uint32_t s = slot_of(old[i].index, cap - 1);
			while (n[s].peer)
				s = (s + 1) & (cap - 1);
			n[s] = old[i];
			wg->index_used++;
		}
	}
	wg->index_cap = cap;
	free(old);
	return 0;
}

struct tund_wg_peer *tund_wg_index_find(struct tund_wg *wg, uint32_t index)
{
	if (!wg->index_cap)
		return NULL;
	for (uint32_t s = slot_of(index, wg->index_cap - 1);; s = (s + 1) & (wg->index_cap - 1)) {
		struct index_entry *e = &wg->index[s];

		if (!e->peer)
			return NULL;
		if (e->peer != TOMBSTONE && e->index == index)
			return e->peer;
	}
}

/* Picks a fresh random index for peer and records it. 0 or -ENOMEM. */
int tund_wg_index_new(struct tund_wg *wg, struct tund_wg_peer *peer, uint32_t *out)
{
	uint32_t index;

	if ((wg->index_used + 1) * 2 > wg->index_cap && index_grow(wg))
		return -ENOMEM;
	do
		index = randombytes_random();
	while (tund_wg_index_find(wg, index));
	for (uint32_t s = slot_of(index, wg->index_cap - 1);; s = (s + 1) & (wg->index_cap - 1)) {
		struct index_entry *e = &wg->index[s];

		if (!e->peer || e->peer == TOMBSTONE) {
			if (!e->peer)
				wg->index_used++;
			e->index = index;
			e->peer = peer;
			break;
		}
	}
	*out = index;
	return 0;
}

void tund_wg_index_drop(struct tund_wg *wg, uint32_t index)
{
	if (!wg->index_cap)
		return;
	for (uint32_t s = slot_of(index, wg->index_cap - 1);; s = (s + 1) & (wg->index_cap - 1)) {
		struct index_entry *e = &wg->index[s];

		if (!e->peer)
			return;
		if (e->peer != TOMBSTONE && e->index == index) {
			e->peer = TOMBSTONE;
			return;
		}
	}
}

/* ---- keypairs ---- */

void tund_wg_keypair_drop(struct tund_wg *wg, struct tund_wg_peer *p, struct tund_keypair **slot)
{
	(void)p; /* kept in the signature: the slot must belong to this peer */
	if (!*slot)
		return;
	tund_wg_index_drop(wg, (*slot)->local_index);
	tund_keypair_destroy(*slot);
	*slot = NULL;
}

void tund_wg_keypairs_drop_all(struct tund_wg *wg, struct tund_wg_peer *p)
{
	tund_wg_keypair_drop(wg, p, &p->current);
	tund_wg_keypair_drop(wg, p, &p->previous);
	tund_wg_keypair_drop(wg, p, &p->next);
}

/* A storage slot not referenced by current, previous or next. */
struct tund_keypair *tund_wg_keypair_slot(struct tund_wg_peer *p)
{
	for (int i = 0; i < 3; i++) {
		struct tund_keypair *k = &p->keypairs[i];

		if (k != p->current && k != p->previous && k != p->next)
			return k;
	}
	return NULL; /* unreachable: three slots, three pointers, one is free */
}

void tund_wg_handshake_forget(struct tund_wg *wg, struct tund_wg_peer *p)
{
	if (p->hs_index_live) {
		/* The index lives on if a keypair took it over. */
		if (!(p->current && p->current->local_index == p->hs.local_index) &&
		    !(p->previous && p->previous->local_index == p->hs.local_index) &&
		    !(p->next && p->next->local_index == p->hs.local_index))
			tund_wg_index_drop(wg, p->hs.local_index);
		p->hs_index_live = false;
	}
}

/* ---- staged packets ---- */

void tund_wg_staged_clear(struct tund_wg *wg, struct tund_wg_peer *p, bool count_drops)
{
	while (p->staged_count) {
		struct staged_packet *s = &p->staged[p->staged_head];

		free(s->data);
		s->data = NULL;
		p->staged_head = (p->staged_head + 1) % TUND_WG_MAX_STAGED;
		p->staged_count--;
		if (count_drops) {
			p->drops[TUND_WG_DROP_STAGED]++;
			wg->drops[TUND_WG_DROP_STAGED]++;
		}
	}
}

/* ---- device and peers ---- */

/* Timer jitter needs spread, not secrecy: a per-peer splitmix64 seeded once
 * from the system, instead of a getrandom() call each time sending data
 * arms a timer (once per ping, once per batch of a TCP stream). */
static uint32_t timers_rand(void *ctx, uint32_t bound)
{
	uint64_t *state = ctx, z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)(((z >> 32) * bound) >> 32);
}

struct tund_wg *tund_wg_new(const uint8_t private_key[32], size_t mtu, tund_wg_send_fn send,
			    void *send_ctx)
{
	struct tund_wg *wg = calloc(1, sizeof(*wg));

	if (!wg)
		return NULL;
	if (!tund_noise_static_identity_init(&wg->identity, private_key)) {
		free(wg);
		return NULL;
	}
	tund_cookie_checker_init(&wg->checker, wg->identity.static_public);
	tund_allowedips_init(&wg->allowed);
	pthread_mutex_init(&wg->lock, NULL);
	wg->mtu = mtu;
	wg->send = send;
	wg->send_ctx = send_ctx;
	return wg;
}

static void peer_destroy(struct tund_wg *wg, struct tund_wg_peer *p)
{
	tund_wg_staged_clear(wg, p, false);
	tund_wg_keypairs_drop_all(wg, p);
	tund_wg_handshake_forget(wg, p);
	tund_noise_handshake_destroy(&p->hs);
	tund_cookie_maker_destroy(&p->cookie);
	tund_allowedips_remove_by_peer(&wg->allowed, p);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

void tund_wg_free(struct tund_wg *wg)
{
	if (!wg)
		return;
	for (size_t i = 0; i < wg->n_peers; i++)
		peer_destroy(wg, wg->peers[i]);
	free(wg->peers);
	free(wg->index);
	tund_allowedips_free(&wg->allowed);
	tund_cookie_checker_destroy(&wg->checker);
	tund_noise_static_identity_clear(&wg->identity);
	pthread_mutex_destroy(&wg->lock);
	free(wg);
}

struct tund_wg_peer *tund_wg_peer_by_key(struct tund_wg *wg, const uint8_t key[32])
{
	for (size_t i = 0; i < wg->n_peers; i++)
		if (!memcmp(wg->peers[i]->public_key, key, 32))
			return wg->peers[i];
	return NULL;
}

struct tund_wg_peer *tund_wg_peer_add(struct tund_wg *wg, const uint8_t public_key[32],
				      const uint8_t *psk, void *user)
{
	struct tund_wg_peer *p;

	pthread_mutex_lock(&wg->lock);
	p = tund_wg_peer_by_key(wg, public_key);
	if (p) {
		tund_noise_handshake_set_preshared_key(&p->hs, psk);
		p->user = user;
		goto out;
	}
	if (!memcmp(public_key, wg->identity.static_public, 32))
		goto out; /* never a peer of ourselves */
	if (wg->n_peers == wg->cap_peers) {
		size_t cap = wg->cap_peers ? wg->cap_peers * 2 : 8;
		struct tund_wg_peer **n = realloc(wg->peers, cap * sizeof(*n));

		if (!n)
			goto out;
		wg->peers = n;
		wg->cap_peers = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto out;
	memcpy(p->public_key, public_key, 32);
	tund_noise_handshake_init(&p->hs, &wg->identity, public_key, psk);
	tund_cookie_maker_init(&p->cookie, public_key);
	randombytes_buf(&p->jitter_state, sizeof(p->jitter_state));
	tund_timers_init(&p->timers, timers_rand, &p->jitter_state);
	p->user = user;
	wg->peers[wg->n_peers++] = p;
out:
	pthread_mutex_unlock(&wg->lock);
	return p;
}

void tund_wg_peer_remove(struct tund_wg *wg, struct tund_wg_peer *peer)
{
	pthread_mutex_lock(&wg->lock);
	for (size_t i = 0; i < wg->n_peers; i++) {
		if (wg->peers[i] != peer)
			continue;
		wg->peers[i] = wg->peers[--wg->n_peers];
		peer_destroy(wg, peer);
		break;
	}
	pthread_mutex_unlock(&wg->lock);
}

void *tund_wg_peer_user(struct tund_wg_peer *peer)
{
	return peer->user;
}

int tund_wg_peer_set_allowed(struct tund_wg *wg, struct tund_wg_peer *peer,
			     const struct tund_cidr *cidrs, size_t n)
{
	int ret = 0;

	pthread_mutex_lock(&wg->lock);
	tund_allowedips_remove_by_peer(&wg->allowed, peer);
	for (size_t i = 0; i < n && !ret; i++)
		ret = tund_allowedips_insert(&wg->allowed, &cidrs[i], peer);
	pthread_mutex_unlock(&wg->lock);
	return ret;
}

int tund_wg_peer_allow(struct tund_wg *wg, struct tund_wg_peer *peer, const struct tund_cidr *c)
{
	int ret;

	pthread_mutex_lock(&wg->lock);
	ret = tund_allowedips_insert(&wg->allowed, c, peer);
	pthread_mutex_unlock(&wg->lock);
	return ret;
}

bool tund_wg_peer_probe(struct tund_wg *wg, struct tund_wg_peer *peer,
			const struct tund_wg_endpoint *addr, const struct tund_wg_clock *now)
{
	bool sent;

	pthread_mutex_lock(&wg->lock);
	sent = tund_wg_send_probe(wg, peer, addr, now);
	pthread_mutex_unlock(&wg->lock);
	return sent;
}

void tund_wg_set_overlay4(struct tund_wg *wg, const struct tund_cidr *overlay4)
{
	pthread_mutex_lock(&wg->lock);
	if (overlay4 && overlay4->family == AF_INET)
		wg->overlay4 = *overlay4;
	else
		memset(&wg->overlay4, 0, sizeof(wg->overlay4));
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_set_bcast_groups(struct tund_wg *wg, struct tund_wg_peer *peer,
				   const uint32_t *groups, unsigned n)
{
	pthread_mutex_lock(&wg->lock);
	peer->n_bcast_groups = 0;
	for (unsigned i = 0; i < n && peer->n_bcast_groups < TUND_WG_MAX_BCAST_GROUPS; i++)
		if (groups[i])
			peer->bcast_groups[peer->n_bcast_groups++] = groups[i];
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_set_bcast_group(struct tund_wg *wg, struct tund_wg_peer *peer, uint32_t group)
{
	tund_wg_peer_set_bcast_groups(wg, peer, &group, 1);
}

void tund_wg_peer_rotate_psk(struct tund_wg *wg, struct tund_wg_peer *peer, const uint8_t psk[32])
{
	pthread_mutex_lock(&wg->lock);
	tund_noise_handshake_rotate_preshared_key(&peer->hs, psk);
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_forget_previous_psk(struct tund_wg *wg, struct tund_wg_peer *peer)
{
	pthread_mutex_lock(&wg->lock);
	tund_noise_handshake_forget_previous_psk(&peer->hs);
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_set_broadcast(struct tund_wg *wg, struct tund_wg_peer *peer, bool on)
{
	pthread_mutex_lock(&wg->lock);
	peer->no_broadcast = !on;
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_set_endpoint(struct tund_wg *wg, struct tund_wg_peer *peer,
			       const struct tund_wg_endpoint *ep)
{
	pthread_mutex_lock(&wg->lock);
	peer->endpoint = *ep;
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_connect(struct tund_wg *wg, struct tund_wg_peer *peer,
			  const struct tund_wg_clock *now)
{
	pthread_mutex_lock(&wg->lock);
	/* A new path: an initiation sent over the old one may be lost, so do
	 * not wait out the retry timer. */
	if (!peer->current)
		tund_wg_send_initiation(wg, peer, now);
	else
		tund_wg_send_keepalive(wg, peer, now); /* the peer roams to the new path */
	tund_wg_run_timers(wg, peer, now);
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_set_keepalive(struct tund_wg *wg, struct tund_wg_peer *peer,
				unsigned seconds, const struct tund_wg_clock *now)
{
	pthread_mutex_lock(&wg->lock);
	tund_timers_set_persistent_keepalive(&peer->timers, now->mono_ns / 1000000,
					     seconds * 1000);
	tund_wg_run_timers(wg, peer, now);
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_peer_get_stats(struct tund_wg *wg, struct tund_wg_peer *peer,
			    struct tund_wg_peer_stats *out)
{
	pthread_mutex_lock(&wg->lock);
	out->rx_bytes = peer->rx_bytes;
	out->tx_bytes = peer->tx_bytes;
	out->bcast_tx = peer->bcast_tx;
	out->bcast_rx = peer->bcast_rx;
	out->latest_handshake = peer->latest_handshake;
	out->rtt_ns = peer->rtt_ns;
	memcpy(out->drops, peer->drops, sizeof(out->drops));
	out->endpoint = peer->endpoint;
	out->has_session = peer->current != NULL;
	out->answered = peer->next != NULL;
	pthread_mutex_unlock(&wg->lock);
}

void tund_wg_get_drops(struct tund_wg *wg, uint64_t out[TUND_WG_DROP_COUNT])
{
	pthread_mutex_lock(&wg->lock);
	memcpy(out, wg->drops, sizeof(wg->drops));
	pthread_mutex_unlock(&wg->lock);
}
