// SPDX-License-Identifier: MIT
/* Member relays in the data plane (see relay_fwd.h). */
#include "tund/dataplane/relay_fwd.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#include "overlay/ratelimit.h"
#include "overlay/relay.h"

enum {
	/* A datagram we wrap: a WireGuard message of an MTU-sized packet and
	 * then some (the TUN MTU is at most 65535, but segments go out here). */
	WRAP_MAX = 9216,
	/* Refusals we send: at most this many a second, after a burst. */
	REFUSE_RATE = 20,
	MAX_GROUPS = 16,
};

struct relay_endpoint {
	uint16_t family; /* TUND_AF_RELAY */
	uint16_t pad;
	uint32_t via_path; /* our ICE path to the relay */
	uint32_t slot;     /* the peer's slot here */
};

struct slot {
	uint8_t key[32];
	uint32_t group;
	bool member, direct, used;
	uint32_t path_id;
	uint64_t offer_ms;
	uint8_t refused;        /* enum tund_relay_refusal of the last refusal, 0: none */
	uint32_t refused_by;    /* slot of the relay that refused */
	uint64_t refused_ms;
};

struct group {
	uint32_t group;
	struct tund_ratelimit rate;
	uint64_t forwarded, rate_dropped;
};

struct tund_relay_fwd {
	pthread_mutex_t lock;
	GArray *slots;       /* struct slot; index + 1 is the slot number */
	GHashTable *by_key;  /* key bytes (in the slot... copied) -> slot number */
	struct group groups[MAX_GROUPS];
	size_t n_groups;
	struct tund_ratelimit refuse_rate;
	struct tund_relay_stats st;
	tund_relay_send_fn send;
	void *ctx;
};

static const char *const drop_names[TUND_RELAY_DROP_COUNT] = {
	"malformed", "unknown", "off", "not_member", "no_path", "rate_limited", "too_big",
};

const char *tund_relay_drop_name(enum tund_relay_drop d)
{
	return d < TUND_RELAY_DROP_COUNT ? drop_names[d] : "unknown";
}

static guint key_hash(gconstpointer k)
{
	guint h;

	memcpy(&h, k, sizeof(h));
	return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, 32) == 0;
}

struct tund_relay_fwd *tund_relay_fwd_new(tund_relay_send_fn send, void *ctx)
{
	struct tund_relay_fwd *r = g_new0(struct tund_relay_fwd, 1);

	pthread_mutex_init(&r->lock, NULL);
	r->slots = g_array_new(FALSE, TRUE, sizeof(struct slot));
	r->by_key = g_hash_table_new_full(key_hash, key_equal, g_free, NULL);
	tund_ratelimit_init(&r->refuse_rate, REFUSE_RATE, REFUSE_RATE, 0);
	r->send = send;
	r->ctx = ctx;
	return r;
}

void tund_relay_fwd_free(struct tund_relay_fwd *r)
{
	if (!r)
		return;
	g_hash_table_unref(r->by_key);
	g_array_unref(r->slots);
	pthread_mutex_destroy(&r->lock);
	g_free(r);
}

/* Under the lock. NULL when unknown. */
static struct slot *slot_at(struct tund_relay_fwd *r, uint32_t n)
{
	if (n == 0 || n > r->slots->len)
		return NULL;
	struct slot *s = &g_array_index(r->slots, struct slot, n - 1);
	return s->used ? s : NULL;
}

static uint32_t slot_of(struct tund_relay_fwd *r, const uint8_t key[32])
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(r->by_key, key));
}

static struct slot *slot_by_path(struct tund_relay_fwd *r, uint32_t path_id)
{
	if (!path_id)
		return NULL;
	for (guint i = 0; i < r->slots->len; i++) {
		struct slot *s = &g_array_index(r->slots, struct slot, i);

		if (s->used && s->path_id == path_id)
			return s;
	}
	return NULL;
}

static struct group *group_of(struct tund_relay_fwd *r, uint32_t group)
{
	for (size_t i = 0; i < r->n_groups; i++)
		if (r->groups[i].group == group)
			return &r->groups[i];
	return NULL;
}

/* Under the lock: the key's slot number, made when new. */
static uint32_t ensure_slot(struct tund_relay_fwd *r, const uint8_t key[32])
{
	uint32_t n = slot_of(r, key);

	if (!n) {
		/* Slots are never reused: an endpoint that names one stays
		 * meaningless after its peer went, never names another. */
		struct slot fresh = { .used = true };

		memcpy(fresh.key, key, 32);
		g_array_append_val(r->slots, fresh);
		n = r->slots->len;
		g_hash_table_insert(r->by_key, g_memdup2(key, 32), GUINT_TO_POINTER(n));
	}
	return n;
}

uint32_t tund_relay_fwd_set_peer(struct tund_relay_fwd *r, const uint8_t key[32], uint32_t group,
				 bool member, bool direct)
{
	uint32_t n;
	struct slot *s;

	pthread_mutex_lock(&r->lock);
	n = ensure_slot(r, key);
	s = &g_array_index(r->slots, struct slot, n - 1);
	s->used = true;
	s->group = group;
	s->member = member;
	s->direct = direct;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void tund_relay_fwd_forget(struct tund_relay_fwd *r, const uint8_t key[32])
{
	pthread_mutex_lock(&r->lock);
	struct slot *s = slot_at(r, slot_of(r, key));

	if (s) {
		s->member = s->direct = false;
		s->path_id = 0;
		s->offer_ms = 0;
		s->refused = 0;
	}
	pthread_mutex_unlock(&r->lock);
}

void tund_relay_fwd_set_path(struct tund_relay_fwd *r, const uint8_t key[32], uint32_t path_id)
{
	pthread_mutex_lock(&r->lock);
	/* Made first: a new slot may move the array. */
	uint32_t n = ensure_slot(r, key);

	g_array_index(r->slots, struct slot, n - 1).path_id = path_id;
	pthread_mutex_unlock(&r->lock);
}

void tund_relay_fwd_path_gone(struct tund_relay_fwd *r, uint32_t path_id)
{
	pthread_mutex_lock(&r->lock);
	for (guint i = 0; path_id && i < r->slots->len; i++) {
		struct slot *s = &g_array_index(r->slots, struct slot, i);

		if (s->path_id == path_id)
			s->path_id = 0;
	}
	pthread_mutex_unlock(&r->lock);
}

void tund_relay_fwd_serve(struct tund_relay_fwd *r, uint32_t group, uint32_t rate, uint64_t now_ms)
{
	pthread_mutex_lock(&r->lock);
	struct group *g = group_of(r, group);

	if (!rate && g) {
		*g = r->groups[--r->n_groups];
	} else if (rate && !g && r->n_groups < MAX_GROUPS) {
		g = &r->groups[r->n_groups++];
		memset(g, 0, sizeof(*g));
		g->group = group;
		tund_ratelimit_init(&g->rate, rate, rate * 2, now_ms);
	} else if (rate && g && g->rate.rate != rate) {
		tund_ratelimit_init(&g->rate, rate, rate * 2, now_ms);
	}
	pthread_mutex_unlock(&r->lock);
}

static void make_endpoint(uint32_t via_path, uint32_t slot, struct tund_wg_endpoint *out)
{
	struct relay_endpoint re = { .family = TUND_AF_RELAY, .via_path = via_path, .slot = slot };

	memset(out, 0, sizeof(*out));
	memcpy(out->addr, &re, sizeof(re));
	out->addr_len = sizeof(re);
	/* Cookies bind to the source: the relay's path and the peer. */
	memcpy(out->key, &re, sizeof(re));
	out->key_len = sizeof(re);
}

static bool read_endpoint(const struct tund_wg_endpoint *ep, struct relay_endpoint *re)
{
	if (ep->addr_len != sizeof(*re))
		return false;
	memcpy(re, ep->addr, sizeof(*re));
	return re->family == TUND_AF_RELAY;
}

bool tund_relay_fwd_endpoint(struct tund_relay_fwd *r, const uint8_t via[32],
			     const uint8_t key[32], struct tund_wg_endpoint *out)
{
	bool ok = false;

	pthread_mutex_lock(&r->lock);
	struct slot *v = slot_at(r, slot_of(r, via));
	uint32_t n = slot_of(r, key);

	if (v && v->path_id && n) {
		make_endpoint(v->path_id, n, out);
		ok = true;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

bool tund_relay_fwd_endpoint_via(struct tund_relay_fwd *r, const struct tund_wg_endpoint *ep,
				 uint8_t via[32])
{
	struct relay_endpoint re;
	struct slot *v;

	if (!read_endpoint(ep, &re))
		return false;
	pthread_mutex_lock(&r->lock);
	v = slot_by_path(r, re.via_path);
	if (v)
		memcpy(via, v->key, 32);
	else
		memset(via, 0, 32);
	pthread_mutex_unlock(&r->lock);
	return true;
}

uint64_t tund_relay_fwd_offered(struct tund_relay_fwd *r, const uint8_t key[32])
{
	uint64_t ms = 0;

	pthread_mutex_lock(&r->lock);
	struct slot *s = slot_at(r, slot_of(r, key));

	if (s)
		ms = s->offer_ms;
	pthread_mutex_unlock(&r->lock);
	return ms;
}

uint8_t tund_relay_fwd_refused(struct tund_relay_fwd *r, const uint8_t key[32], uint8_t by[32],
			       uint64_t *when_ms)
{
	uint8_t reason = 0;

	pthread_mutex_lock(&r->lock);
	struct slot *s = slot_at(r, slot_of(r, key));
	struct slot *b = s ? slot_at(r, s->refused_by) : NULL;

	if (s && b && s->refused) {
		reason = s->refused;
		memcpy(by, b->key, 32);
		*when_ms = s->refused_ms;
	}
	pthread_mutex_unlock(&r->lock);
	return reason;
}

void tund_relay_fwd_clear_refusal(struct tund_relay_fwd *r, const uint8_t key[32])
{
	pthread_mutex_lock(&r->lock);
	struct slot *s = slot_at(r, slot_of(r, key));

	if (s)
		s->refused = 0;
	pthread_mutex_unlock(&r->lock);
}

void tund_relay_fwd_offer(struct tund_relay_fwd *r, const uint8_t key[32])
{
	uint8_t frame[TUND_RELAY_HEADER];
	uint32_t path = 0;

	pthread_mutex_lock(&r->lock);
	struct slot *s = slot_at(r, slot_of(r, key));

	if (s)
		path = s->path_id;
	pthread_mutex_unlock(&r->lock);
	if (!path)
		return;
	tund_relay_header(frame, TUND_RELAY_OFFER, 0, NULL);
	r->send(r->ctx, path, frame, sizeof(frame));
}

void tund_relay_fwd_stats(struct tund_relay_fwd *r, struct tund_relay_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	pthread_mutex_unlock(&r->lock);
}

uint64_t tund_relay_fwd_group_forwarded(struct tund_relay_fwd *r, uint32_t group,
					uint64_t *rate_dropped)
{
	uint64_t n = 0;

	*rate_dropped = 0;
	pthread_mutex_lock(&r->lock);
	struct group *g = group_of(r, group);

	if (g) {
		n = g->forwarded;
		*rate_dropped = g->rate_dropped;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* ---- packet threads ---- */

static void count(struct tund_relay_fwd *r, enum tund_relay_drop d)
{
	r->st.drops[d]++;
}

/* Under the lock: why a FORWARD from src to key may not go on (0: it may),
 * with *drop the counter. */
static uint8_t forward_check(struct tund_relay_fwd *r, struct slot *src, const uint8_t *key,
			     uint64_t now_ms, struct slot **tgt, enum tund_relay_drop *drop)
{
	struct group *g = group_of(r, src->group);

	*tgt = slot_at(r, slot_of(r, key));
	if (!g || !src->group) {
		*drop = TUND_RELAY_DROP_OFF;
		return TUND_RELAY_REFUSED_OFF;
	}
	if (!src->member || !*tgt || !(*tgt)->member || (*tgt)->group != src->group ||
	    *tgt == src) {
		*drop = TUND_RELAY_DROP_NOT_MEMBER;
		return TUND_RELAY_REFUSED_NOT_MEMBER;
	}
	if (!src->direct || !(*tgt)->direct || !(*tgt)->path_id) {
		*drop = TUND_RELAY_DROP_NO_PATH;
		return TUND_RELAY_REFUSED_NO_PATH;
	}
	if (!tund_ratelimit_allow(&g->rate, now_ms)) {
		g->rate_dropped++;
		*drop = TUND_RELAY_DROP_RATE;
		return TUND_RELAY_REFUSED_RATE;
	}
	g->forwarded++;
	return 0;
}

/* We relay: a FORWARD from the member on path_id goes on to its target as
 * a DELIVER naming the source, rewritten in place; or is refused. */
static void forward(struct tund_relay_fwd *r, uint32_t path_id, uint8_t *buf, size_t len,
		    const struct tund_relay_frame *f, uint64_t now_ms)
{
	uint8_t refusal[TUND_RELAY_HEADER];
	enum tund_relay_drop drop = TUND_RELAY_DROP_UNKNOWN;
	struct slot *src, *tgt = NULL;
	uint8_t src_key[32], reason;
	uint32_t out_path = 0;
	bool tell;

	pthread_mutex_lock(&r->lock);
	src = slot_by_path(r, path_id);
	if (!src) {
		count(r, TUND_RELAY_DROP_UNKNOWN);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	memcpy(src_key, src->key, 32);
	reason = forward_check(r, src, f->key, now_ms, &tgt, &drop);
	if (!reason) {
		out_path = tgt->path_id;
		r->st.forwarded++;
	} else {
		count(r, drop);
	}
	/* The sender learns why, a few times a second at most (a refusal is
	 * smaller than what it answers, so it amplifies nothing). */
	tell = reason && tund_ratelimit_allow(&r->refuse_rate, now_ms);
	pthread_mutex_unlock(&r->lock);
	if (!reason) {
		tund_relay_header(buf, TUND_RELAY_DELIVER, 0, src_key);
		r->send(r->ctx, out_path, buf, len);
	} else if (tell) {
		tund_relay_header(refusal, TUND_RELAY_REFUSE, reason, f->key);
		r->send(r->ctx, path_id, refusal, sizeof(refusal));
	}
}

/* A member relays for us: the source's message, from an endpoint that
 * names the relay's path and the source. */
static enum tund_relay_in deliver(struct tund_relay_fwd *r, uint32_t path_id,
				  const struct tund_relay_frame *f, struct tund_wg_endpoint *src,
				  size_t *off)
{
	struct slot *via, *from;
	uint32_t n;

	pthread_mutex_lock(&r->lock);
	via = slot_by_path(r, path_id);
	n = slot_of(r, f->key);
	from = slot_at(r, n);
	if (!via || !via->member || !from || from == via) {
		count(r, TUND_RELAY_DROP_UNKNOWN);
		pthread_mutex_unlock(&r->lock);
		return TUND_RELAY_IN_DONE;
	}
	r->st.delivered++;
	pthread_mutex_unlock(&r->lock);
	make_endpoint(path_id, n, src);
	*off = TUND_RELAY_HEADER;
	return TUND_RELAY_IN_INNER;
}

static void noted(struct tund_relay_fwd *r, uint32_t path_id, const struct tund_relay_frame *f,
		  uint64_t now_ms)
{
	pthread_mutex_lock(&r->lock);
	struct slot *via = slot_by_path(r, path_id);
	struct slot *tgt = f->kind == TUND_RELAY_REFUSE ? slot_at(r, slot_of(r, f->key)) : NULL;

	if (!via || (f->kind == TUND_RELAY_REFUSE && !tgt)) {
		count(r, TUND_RELAY_DROP_UNKNOWN);
	} else if (f->kind == TUND_RELAY_OFFER) {
		via->offer_ms = now_ms ? now_ms : 1;
		r->st.offers_received++;
	} else {
		tgt->refused = f->reason;
		tgt->refused_by = (uint32_t)(via - &g_array_index(r->slots, struct slot, 0)) + 1;
		tgt->refused_ms = now_ms;
		r->st.refusals_received++;
	}
	pthread_mutex_unlock(&r->lock);
}

enum tund_relay_in tund_relay_fwd_input(struct tund_relay_fwd *r, uint32_t path_id, uint8_t *buf,
					size_t len, uint64_t now_ms, struct tund_wg_endpoint *src,
					size_t *off)
{
	struct tund_relay_frame f;

	if (!tund_relay_is_frame(buf, len))
		return TUND_RELAY_IN_NONE;
	if (!tund_relay_decode(buf, len, &f)) {
		pthread_mutex_lock(&r->lock);
		count(r, TUND_RELAY_DROP_MALFORMED);
		pthread_mutex_unlock(&r->lock);
		return TUND_RELAY_IN_DONE;
	}
	switch (f.kind) {
	case TUND_RELAY_FORWARD:
		forward(r, path_id, buf, len, &f, now_ms);
		return TUND_RELAY_IN_DONE;
	case TUND_RELAY_DELIVER:
		return deliver(r, path_id, &f, src, off);
	default:
		noted(r, path_id, &f, now_ms);
		return TUND_RELAY_IN_DONE;
	}
}

void tund_relay_fwd_send(struct tund_relay_fwd *r, const struct tund_wg_endpoint *dst,
			 const uint8_t *buf, size_t len)
{
	uint8_t frame[TUND_RELAY_HEADER + WRAP_MAX];
	struct relay_endpoint re;
	struct slot *tgt;

	if (!read_endpoint(dst, &re))
		return;
	pthread_mutex_lock(&r->lock);
	tgt = slot_at(r, re.slot);
	if (!tgt || len > WRAP_MAX) {
		count(r, tgt ? TUND_RELAY_DROP_TOO_BIG : TUND_RELAY_DROP_UNKNOWN);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	tund_relay_header(frame, TUND_RELAY_FORWARD, 0, tgt->key);
	r->st.sent++;
	pthread_mutex_unlock(&r->lock);
	memcpy(frame + TUND_RELAY_HEADER, buf, len);
	r->send(r->ctx, re.via_path, frame, TUND_RELAY_HEADER + len);
}
