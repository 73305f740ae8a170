// SPDX-License-Identifier: MIT
/* Incoming datagrams: handshake messages, cookie replies and transport data.
 * Anything malformed or unauthenticated is dropped and counted. */
#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "overlay/aead.h"
#include "overlay/bcast.h"
#include "overlay/device_priv.h"

enum {
	/* Handshake messages per second above which MAC2 (a cookie) is required. */
	UNDER_LOAD_PER_SECOND = 64,
};

/* Under load while more than the bound arrived in the current second, and
 * for a second after that: without the second, every new window would take
 * its first UNDER_LOAD_PER_SECOND initiations without a cookie, and a
 * steady flood would still buy Diffie-Hellman 64 times a second. */
static bool under_load(struct tund_wg *wg, uint64_t now_ns)
{
	if (now_ns - wg->load_window_ns >= 1000000000ull) {
		wg->load_window_ns = now_ns;
		wg->load_count = 0;
	}
	if (++wg->load_count > UNDER_LOAD_PER_SECOND)
		wg->load_until_ns = now_ns + 1000000000ull;
	return now_ns < wg->load_until_ns;
}

static struct tund_noise_handshake *lookup_by_key(void *ctx, const uint8_t pubkey[32])
{
	struct tund_wg_peer *p = tund_wg_peer_by_key(ctx, pubkey);

	return p ? &p->hs : NULL;
}

/* MAC checks shared by initiations and responses. True to go on. */
static bool check_macs(struct tund_wg *wg, const uint8_t *buf, size_t len,
		       const struct tund_wg_endpoint *src, const struct tund_wg_clock *now)
{
	struct tund_message_handshake_cookie reply;

	/* MAC1 first: only messages sent to our key count towards "under load",
	 * so a flood of garbage cannot make real peers pay for cookies. */
	if (tund_cookie_validate_packet(&wg->checker, buf, len, src->key, src->key_len, false,
					now->mono_ns) != TUND_COOKIE_VALID_MAC1) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MAC);
		return false;
	}
	if (!under_load(wg, now->mono_ns))
		return true;
	switch (tund_cookie_validate_packet(&wg->checker, buf, len, src->key, src->key_len, true,
					    now->mono_ns)) {
	case TUND_COOKIE_VALID_MAC1:
	case TUND_COOKIE_VALID_MAC2:
		return true;
	case TUND_COOKIE_NEED_COOKIE:
		/* Busy: answer with a cookie instead of doing Diffie-Hellman. */
		if (tund_cookie_create_reply(&wg->checker, &reply, buf, len, src->key,
					     src->key_len, now->mono_ns))
			wg->send(wg->send_ctx, src, (const uint8_t *)&reply, sizeof(reply));
		return false;
	case TUND_COOKIE_INVALID_MAC1:
	default:
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MAC);
		return false;
	}
}

static void authenticated_receive(struct tund_wg_peer *p, const struct tund_wg_clock *now)
{
	tund_timers_on_any_authenticated_packet_received(&p->timers, tund_wg_ms(now));
	tund_timers_on_any_authenticated_packet_traversal(&p->timers, tund_wg_ms(now));
}

static enum tund_wg_result on_initiation(struct tund_wg *wg, uint8_t *buf, size_t len,
					 const struct tund_wg_endpoint *src,
					 const struct tund_wg_clock *now)
{
	const struct tund_message_handshake_initiation *msg;
	struct tund_message_handshake_response resp;
	struct tund_noise_handshake *hs;
	struct tund_wg_peer *p;
	struct tund_keypair *kp;
	uint32_t index;

	if (!tund_message_initiation_decode(buf, len, &msg)) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MALFORMED);
		return TUND_WG_DROP;
	}
	if (!check_macs(wg, buf, len, src, now))
		return TUND_WG_DROP;
	hs = tund_noise_handshake_consume_initiation(msg, &wg->identity, lookup_by_key, wg,
						     now->mono_ns);
	if (!hs) {
		/* Unknown key, replay or bad crypto: no answer at all. */
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_HANDSHAKE);
		return TUND_WG_DROP;
	}
	p = (struct tund_wg_peer *)((uint8_t *)hs - offsetof(struct tund_wg_peer, hs));
	p->endpoint = *src; /* roaming: the initiation is authenticated */
	authenticated_receive(p, now);
	/* Our own initiation in flight is superseded by theirs. */
	if (p->hs_index_live) {
		tund_wg_index_drop(wg, p->hs.local_index);
		p->hs_index_live = false;
	}
	if (tund_wg_index_new(wg, p, &index))
		return TUND_WG_DROP;
	if (!tund_noise_handshake_create_response(&resp, &p->hs, index)) {
		tund_wg_index_drop(wg, index);
		tund_wg_count_drop(wg, p, TUND_WG_DROP_HANDSHAKE);
		return TUND_WG_DROP;
	}
	tund_cookie_add_macs(&p->cookie, (uint8_t *)&resp, sizeof(resp), now->mono_ns);
	tund_wg_keypair_drop(wg, p, &p->next);
	kp = tund_wg_keypair_slot(p);
	if (!tund_noise_handshake_begin_session(&p->hs, kp, now->mono_ns)) {
		tund_wg_index_drop(wg, index);
		return TUND_WG_DROP;
	}
	p->next = kp;
	p->hs_sent_ns = now->mono_ns;
	wg->send(wg->send_ctx, &p->endpoint, (const uint8_t *)&resp, sizeof(resp));
	tund_timers_on_session_derived(&p->timers, tund_wg_ms(now), false);
	tund_timers_on_any_authenticated_packet_sent(&p->timers, tund_wg_ms(now));
	tund_timers_on_any_authenticated_packet_traversal(&p->timers, tund_wg_ms(now));
	tund_wg_run_timers(wg, p, now);
	return TUND_WG_DONE;
}

static void install_initiator_keypair(struct tund_wg *wg, struct tund_wg_peer *p,
				      struct tund_keypair *kp)
{
	tund_wg_keypair_drop(wg, p, &p->previous);
	tund_wg_keypair_drop(wg, p, &p->next);
	p->previous = p->current;
	p->current = kp;
}

static enum tund_wg_result on_response(struct tund_wg *wg, uint8_t *buf, size_t len,
				       const struct tund_wg_endpoint *src,
				       const struct tund_wg_clock *now)
{
	const struct tund_message_handshake_response *msg;
	struct tund_wg_peer *p;
	struct tund_keypair *kp;

	if (!tund_message_response_decode(buf, len, &msg)) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MALFORMED);
		return TUND_WG_DROP;
	}
	if (!check_macs(wg, buf, len, src, now))
		return TUND_WG_DROP;
	p = tund_wg_index_find(wg, tund_le32_get(msg->receiver_index));
	if (!p || !p->hs_index_live || p->hs.local_index != tund_le32_get(msg->receiver_index) ||
	    !tund_noise_handshake_consume_response(msg, &p->hs)) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_HANDSHAKE);
		return TUND_WG_DROP;
	}
	/* The slot is taken before installing, so a free one always exists. */
	tund_wg_keypair_drop(wg, p, &p->next);
	kp = tund_wg_keypair_slot(p);
	if (!tund_noise_handshake_begin_session(&p->hs, kp, now->mono_ns))
		return TUND_WG_DROP;
	p->hs_index_live = false; /* the keypair owns the index now */
	install_initiator_keypair(wg, p, kp);
	if (p->hs_sent_ns)
		p->rtt_ns = now->mono_ns - p->hs_sent_ns;
	p->endpoint = *src; /* roaming: the response is authenticated */
	p->latest_handshake = now->wall.tv_sec;
	authenticated_receive(p, now);
	tund_timers_on_session_derived(&p->timers, tund_wg_ms(now), true);
	tund_timers_on_handshake_complete(&p->timers, tund_wg_ms(now));
	/* Confirm the session to the responder: staged data, or a keepalive. */
	if (p->staged_count)
		tund_wg_flush_staged(wg, p, now);
	else
		tund_wg_send_keepalive(wg, p, now);
	tund_wg_run_timers(wg, p, now);
	return TUND_WG_DONE;
}

static enum tund_wg_result on_cookie(struct tund_wg *wg, uint8_t *buf, size_t len,
				     const struct tund_wg_clock *now)
{
	const struct tund_message_handshake_cookie *msg;
	struct tund_wg_peer *p;

	if (!tund_message_cookie_decode(buf, len, &msg)) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MALFORMED);
		return TUND_WG_DROP;
	}
	p = tund_wg_index_find(wg, tund_le32_get(msg->receiver_index));
	if (!p || !tund_cookie_consume_reply(&p->cookie, msg, now->mono_ns)) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_MAC);
		return TUND_WG_DROP;
	}
	return TUND_WG_DONE;
}

/* Validates the decrypted packet, trims the padding and finds its source. */
static bool inner_packet(const uint8_t *pkt, size_t *len, int *family, const uint8_t **src)
{
	if (*len >= 20 && pkt[0] >> 4 == 4) {
		size_t total = (size_t)pkt[2] << 8 | pkt[3];

		if (total < (size_t)(pkt[0] & 15) * 4 || total < 20 || total > *len)
			return false;
		*len = total;
		*family = AF_INET;
		*src = pkt + 12;
		return true;
	}
	if (*len >= 40 && pkt[0] >> 4 == 6) {
		size_t total = 40 + ((size_t)pkt[4] << 8 | pkt[5]);

		if (total > *len)
			return false;
		*len = total;
		*family = AF_INET6;
		*src = pkt + 8;
		return true;
	}
	return false;
}

static struct tund_keypair **keypair_for(struct tund_wg_peer *p, uint32_t index)
{
	if (p->current && p->current->local_index == index)
		return &p->current;
	if (p->next && p->next->local_index == index)
		return &p->next;
	if (p->previous && p->previous->local_index == index)
		return &p->previous;
	return NULL;
}

/* Phase one of a data message, locked: the keypair, the cheap checks, and a
 * copy of its receive key (once per run of one keypair). */
static void data_check(struct tund_wg *wg, struct tund_wg_packet *k,
		       const struct tund_wg_clock *now,
		       uint8_t keys[][TUND_NOISE_SYMMETRIC_KEY_LEN], uint16_t *n_keys,
		       const struct tund_keypair **last_kp)
{
	uint32_t index = tund_le32_get(k->buf + 4);
	struct tund_wg_peer *p = tund_wg_index_find(wg, index);
	struct tund_keypair **slot = p ? keypair_for(p, index) : NULL;

	if (!slot) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_UNKNOWN_INDEX);
		k->res = TUND_WG_DROP;
		return;
	}
	if (tund_keypair_open_check(*slot, k->buf, k->len, now->mono_ns, &k->counter) !=
	    TUND_KEYPAIR_OK) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_AUTH);
		k->res = TUND_WG_DROP;
		return;
	}
	if (*slot != *last_kp) {
		memcpy(keys[*n_keys], (*slot)->recv_key, TUND_NOISE_SYMMETRIC_KEY_LEN);
		(*n_keys)++;
		*last_kp = *slot;
	}
	k->key = (uint16_t)(*n_keys - 1);
	k->index = index;
	k->sealed = true; /* to be opened */
	k->res = TUND_WG_DONE;
}

/* Phase three, locked again: the replay window (only now that the packet
 * is authentic), keypair confirmation, roaming, timers, inner checks. */
static enum tund_wg_result data_finish(struct tund_wg *wg, struct tund_wg_packet *k,
				       bool authentic, const struct tund_wg_clock *now)
{
	struct tund_wg_peer *p = tund_wg_index_find(wg, k->index);
	/* The keypair may have gone while the lock was free. */
	struct tund_keypair **slot = p ? keypair_for(p, k->index) : NULL;
	size_t plain_len = k->len - TUND_MESSAGE_DATA_HEADER_LEN - TUND_NOISE_AUTHTAG_LEN;
	const uint8_t *saddr;
	int family;

	if (!authentic) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_AUTH);
		return TUND_WG_DROP;
	}
	if (!slot) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_UNKNOWN_INDEX);
		return TUND_WG_DROP;
	}
	if (!tund_replay_check(&(*slot)->replay, k->counter, TUND_REJECT_AFTER_MESSAGES)) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_REPLAY);
		return TUND_WG_DROP;
	}
	if (*slot == p->next) {
		/* The initiator used the new keypair: it is confirmed. */
		tund_wg_keypair_drop(wg, p, &p->previous);
		p->previous = p->current;
		p->current = p->next;
		p->next = NULL;
		p->latest_handshake = now->wall.tv_sec;
		if (p->hs_sent_ns)
			p->rtt_ns = now->mono_ns - p->hs_sent_ns;
		tund_timers_on_handshake_complete(&p->timers, tund_wg_ms(now));
		tund_wg_flush_staged(wg, p, now);
	}
	p->endpoint = *k->src; /* roaming: it decrypted, so reply where the peer is now */
	p->rx_bytes += k->len;
	authenticated_receive(p, now);
	if (plain_len == 0) { /* keepalive */
		tund_wg_run_timers(wg, p, now);
		return TUND_WG_DONE;
	}
	tund_timers_on_data_received(&p->timers, tund_wg_ms(now));
	tund_wg_run_timers(wg, p, now);
	k->inner_off = TUND_MESSAGE_DATA_HEADER_LEN;
	if (!inner_packet(k->buf + k->inner_off, &plain_len, &family, &saddr)) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_BAD_INNER);
		return TUND_WG_DROP;
	}
	if (tund_allowedips_lookup(&wg->allowed, family, saddr) != p) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_SOURCE);
		return TUND_WG_DROP;
	}
	if (tund_bcast_is_fanout(k->buf + k->inner_off, plain_len,
				 wg->overlay4.family ? &wg->overlay4 : NULL))
		p->bcast_rx++;
	k->inner_len = plain_len;
	return TUND_WG_TO_TUN;
}

/* Phase one for every message: handshakes and cookies are handled here, in
 * order, so that a response installs its keypair before the data after it
 * in the same batch is looked up. */
static void receive_check(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
			  const struct tund_wg_clock *now,
			  uint8_t keys[][TUND_NOISE_SYMMETRIC_KEY_LEN], uint16_t *n_keys)
{
	const struct tund_keypair *last_kp = NULL;

	for (size_t i = 0; i < n; i++) {
		struct tund_wg_packet *k = &pkts[i];

		k->sealed = false;
		switch (tund_message_classify(k->buf, k->len)) {
		case TUND_MESSAGE_HANDSHAKE_INITIATION:
			k->res = on_initiation(wg, k->buf, k->len, k->src, now);
			last_kp = NULL;
			break;
		case TUND_MESSAGE_HANDSHAKE_RESPONSE:
			k->res = on_response(wg, k->buf, k->len, k->src, now);
			last_kp = NULL;
			break;
		case TUND_MESSAGE_HANDSHAKE_COOKIE:
			k->res = on_cookie(wg, k->buf, k->len, now);
			break;
		case TUND_MESSAGE_DATA:
			data_check(wg, k, now, keys, n_keys, &last_kp);
			break;
		default:
			tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MALFORMED);
			k->res = TUND_WG_DROP;
			break;
		}
	}
}

/* Opens a run of checked packets: inline, or a slice on a pool thread. */
static void open_run(struct tund_wg_packet *pkts, size_t n,
		     uint8_t keys[][TUND_NOISE_SYMMETRIC_KEY_LEN], bool *authentic)
{
	for (size_t i = 0; i < n; i++)
		if (pkts[i].sealed)
			authentic[i] = tund_keypair_open(keys[pkts[i].key], pkts[i].buf,
							 pkts[i].len, pkts[i].counter);
	tund_aead_wipe();
}

/* Under the lock, in order: the replay window, keypair confirmation,
 * roaming and timers of each opened packet, as if received one by one. */
static void finish_run(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
		       const bool *authentic, const struct tund_wg_clock *now)
{
	pthread_mutex_lock(&wg->lock);
	for (size_t i = 0; i < n; i++)
		if (pkts[i].sealed)
			pkts[i].res = data_finish(wg, &pkts[i], authentic[i], now);
	pthread_mutex_unlock(&wg->lock);
}

static void open_slice(void *item)
{
	struct tund_wg_slice *s = item;

	open_run(s->pkts, s->n, s->keys, s->authentic);
}

/* The slice's turn comes only after every earlier slice's: the window and
 * the keypair moves see the packets in the order they arrived. A keypair
 * dropped meanwhile (a new session, expiry) finds no slot there and the
 * packet is dropped, as WireGuard drops packets of a dead keypair. */
static void open_release(void *item, bool worked)
{
	struct tund_wg_slice *s = item;

	if (worked) {
		finish_run(s->wg, s->pkts, s->n, s->authentic, s->now);
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->pkts[i].sealed)
			s->pkts[i].res = TUND_WG_DROP; /* stopped: never opened */
}

void tund_wg_receive_batch_pool(struct tund_wg *wg, struct tund_pool_queue *q,
				struct tund_wg_packet *pkts, size_t n,
				const struct tund_wg_clock *now)
{
	uint8_t keys[TUND_WG_BATCH_MAX][TUND_NOISE_SYMMETRIC_KEY_LEN];
	bool authentic[TUND_WG_BATCH_MAX];

	while (n) {
		size_t chunk = n < TUND_WG_BATCH_MAX ? n : TUND_WG_BATCH_MAX, opened = 0;
		uint16_t n_keys = 0;

		pthread_mutex_lock(&wg->lock);
		receive_check(wg, pkts, chunk, now, keys, &n_keys);
		pthread_mutex_unlock(&wg->lock);
		if (!tund_wg_pool_batch(q, wg, pkts, chunk, keys, now, open_slice, open_release)) {
			open_run(pkts, chunk, keys, authentic);
			for (size_t i = 0; i < chunk; i++)
				opened += pkts[i].sealed;
			if (opened)
				finish_run(wg, pkts, chunk, authentic, now);
		}
		sodium_memzero(keys, (size_t)n_keys * TUND_NOISE_SYMMETRIC_KEY_LEN);
		pkts += chunk;
		n -= chunk;
	}
}

void tund_wg_receive_batch(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
			   const struct tund_wg_clock *now)
{
	tund_wg_receive_batch_pool(wg, NULL, pkts, n, now);
}

enum tund_wg_result tund_wg_receive(struct tund_wg *wg, uint8_t *buf, size_t len,
				    const struct tund_wg_endpoint *src,
				    const struct tund_wg_clock *now, size_t *inner_off,
				    size_t *inner_len)
{
	struct tund_wg_packet k = { .buf = buf, .len = len, .src = src };

	tund_wg_receive_batch(wg, &k, 1, now);
	if (k.res == TUND_WG_TO_TUN) {
		*inner_off = k.inner_off;
		*inner_len = k.inner_len;
	}
	return k.res;
}
