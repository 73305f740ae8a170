// SPDX-License-Identifier: MIT
/* Incoming datagrams: handshake messages, cookie replies and transport data.
 * Anything malformed or unauthenticated is dropped and counted. */
#include <arpa/inet.h>
#include <string.h>

#include "overlay/device_priv.h"

enum {
	/* Handshake messages per second above which MAC2 (a cookie) is required. */
	UNDER_LOAD_PER_SECOND = 64,
};

static bool under_load(struct tund_wg *wg, uint64_t now_ns)
{
	if (now_ns - wg->load_window_ns >= 1000000000ull) {
		wg->load_window_ns = now_ns;
		wg->load_count = 0;
	}
	return ++wg->load_count > UNDER_LOAD_PER_SECOND;
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

	switch (tund_cookie_validate_packet(&wg->checker, buf, len, src->key, src->key_len,
					    under_load(wg, now->mono_ns), now->mono_ns)) {
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
	if (now->mono_ns >= p->pinned_until_ns)
		p->endpoint = *src;
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
	if (now->mono_ns >= p->pinned_until_ns)
		p->endpoint = *src;
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

static enum tund_wg_result on_data(struct tund_wg *wg, uint8_t *buf, size_t len,
				   const struct tund_wg_endpoint *src,
				   const struct tund_wg_clock *now, size_t *inner_off,
				   size_t *inner_len)
{
	uint32_t index = tund_le32_get(buf + 4);
	struct tund_wg_peer *p = tund_wg_index_find(wg, index);
	struct tund_keypair **slot = p ? keypair_for(p, index) : NULL;
	const uint8_t *saddr;
	size_t plain_len;
	uint64_t counter;
	int family;

	if (!slot) {
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_UNKNOWN_INDEX);
		return TUND_WG_DROP;
	}
	switch (tund_keypair_decrypt(*slot, buf, len, now->mono_ns, &plain_len, &counter)) {
	case TUND_KEYPAIR_OK:
		break;
	case TUND_KEYPAIR_REPLAY:
		tund_wg_count_drop(wg, p, TUND_WG_DROP_REPLAY);
		return TUND_WG_DROP;
	default:
		tund_wg_count_drop(wg, p, TUND_WG_DROP_AUTH);
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
	if (now->mono_ns >= p->pinned_until_ns)
		p->endpoint = *src; /* roaming: reply where the peer is now */
	p->rx_bytes += len;
	authenticated_receive(p, now);
	if (plain_len == 0) { /* keepalive */
		tund_wg_run_timers(wg, p, now);
		return TUND_WG_DONE;
	}
	tund_timers_on_data_received(&p->timers, tund_wg_ms(now));
	tund_wg_run_timers(wg, p, now);
	*inner_off = TUND_MESSAGE_DATA_HEADER_LEN;
	if (!inner_packet(buf + *inner_off, &plain_len, &family, &saddr)) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_BAD_INNER);
		return TUND_WG_DROP;
	}
	if (tund_allowedips_lookup(&wg->allowed, family, saddr) != p) {
		tund_wg_count_drop(wg, p, TUND_WG_DROP_SOURCE);
		return TUND_WG_DROP;
	}
	*inner_len = plain_len;
	return TUND_WG_TO_TUN;
}

enum tund_wg_result tund_wg_receive(struct tund_wg *wg, uint8_t *buf, size_t len,
				    const struct tund_wg_endpoint *src,
				    const struct tund_wg_clock *now, size_t *inner_off,
				    size_t *inner_len)
{
	enum tund_wg_result res;

	pthread_mutex_lock(&wg->lock);
	switch (tund_message_classify(buf, len)) {
	case TUND_MESSAGE_HANDSHAKE_INITIATION:
		res = on_initiation(wg, buf, len, src, now);
		break;
	case TUND_MESSAGE_HANDSHAKE_RESPONSE:
		res = on_response(wg, buf, len, src, now);
		break;
	case TUND_MESSAGE_HANDSHAKE_COOKIE:
		res = on_cookie(wg, buf, len, now);
		break;
	case TUND_MESSAGE_DATA:
		res = on_data(wg, buf, len, src, now, inner_off, inner_len);
		break;
	default:
		tund_wg_count_drop(wg, NULL, TUND_WG_DROP_MALFORMED);
		res = TUND_WG_DROP;
		break;
	}
	pthread_mutex_unlock(&wg->lock);
	return res;
}
