// SPDX-License-Identifier: MIT
/* Member relays on the main loop (see member_relay.h). */
#include "tund/connect/member_relay.h"
#include "tund/connect/carrier.h"

#include <stdio.h>
#include <string.h>

#include "overlay/control_proto.h"
#include "overlay/relay.h"
#include "tund/connect/membership.h"
#include "tund/connect/path.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "tund/daemon/peers.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/dataplane/relay_fwd.h"

enum {
	TICK_MS = 1000,
	OFFER_EVERY_MS = 5000, /* we offer to each direct member this often */
	OFFER_FRESH_MS = 16000, /* an offer older than this is gone */
	REFUSAL_SHOWN_MS = 60000,
	MAX_SERVED = 64, /* groups we may have told the data plane to serve */
};

struct setting {
	bool on;
	uint32_t rate;
};

struct tund_member_relay {
	GHashTable *settings; /* network name -> struct setting */
	guint tick;
	uint64_t last_offer_ms;
	unsigned served; /* groups 1..served were told (on or off) */
	unsigned rr;     /* round robin over the candidate relays */
};

static struct tund_member_relay *mr_of(struct tund_daemon *d)
{
	if (!d->member_relay) {
		d->member_relay = g_new0(struct tund_member_relay, 1);
		d->member_relay->settings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
								  g_free);
	}
	return d->member_relay;
}

/* Without making the settings: a read needs none. */
static struct setting *setting_of(struct tund_daemon *d, const char *network)
{
	return d->member_relay ? g_hash_table_lookup(d->member_relay->settings, network) : NULL;
}

bool tund_member_relay_get(struct tund_daemon *d, const char *network, uint32_t *rate)
{
	struct setting *s = setting_of(d, network);

	*rate = s ? s->rate : TUND_MEMBER_RELAY_RATE;
	return s && s->on;
}

void tund_member_relay_set(struct tund_daemon *d, const char *network, bool on, uint32_t rate)
{
	struct tund_member_relay *mr = mr_of(d);
	struct setting *s = g_hash_table_lookup(mr->settings, network);

	if (!s) {
		s = g_new0(struct setting, 1);
		s->rate = TUND_MEMBER_RELAY_RATE;
		g_hash_table_insert(mr->settings, g_strdup(network), s);
	}
	s->on = on;
	if (rate)
		s->rate = MIN(rate, TUND_MEMBER_RELAY_RATE_MAX);
	mr->last_offer_ms = 0; /* offer at once */
}

void tund_member_relay_forget(struct tund_daemon *d, const char *network)
{
	if (d->member_relay)
		g_hash_table_remove(d->member_relay->settings, network);
}

void tund_member_relay_save(struct tund_daemon *d, const char *network, JsonBuilder *b)
{
	struct setting *s = setting_of(d, network);

	if (!s)
		return;
	json_builder_set_member_name(b, "relay");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "on");
	json_builder_add_boolean_value(b, s->on);
	json_builder_set_member_name(b, "rate");
	json_builder_add_int_value(b, s->rate);
	json_builder_end_object(b);
}

void tund_member_relay_load(struct tund_daemon *d, const char *network, JsonObject *entry)
{
	JsonNode *n = json_object_get_member(entry, "relay");
	JsonObject *o;
	gint64 rate;

	if (!n || !JSON_NODE_HOLDS_OBJECT(n))
		return;
	o = json_node_get_object(n);
	rate = json_object_get_int_member_with_default(o, "rate", TUND_MEMBER_RELAY_RATE);
	if (rate < 1 || rate > TUND_MEMBER_RELAY_RATE_MAX) {
		log_warn("networks.json: network %s: relay rate %" G_GINT64_FORMAT
			 " out of range; using %u", network, rate, TUND_MEMBER_RELAY_RATE);
		rate = TUND_MEMBER_RELAY_RATE;
	}
	tund_member_relay_set(d, network, json_object_get_boolean_member_with_default(o, "on", false),
			      (uint32_t)rate);
}

/* ---- who is who ---- */

static uint64_t now_ms(void)
{
	return (uint64_t)g_get_monotonic_time() / 1000;
}

/* The group a network's members are in here: its place among our networks
 * (0: none), so two networks never share one. */
static uint32_t group_of(struct tund_daemon *d, const char *network)
{
	for (guint i = 0; network && d->networks && i < d->networks->len; i++)
		if (!strcmp(tund_membership_network(g_ptr_array_index(d->networks, i))->name,
			    network))
			return i + 1;
	return 0;
}

static bool ice_direct(struct tund_peer *p)
{
	const char *kind = p->path ? tund_path_kind(p->path) : NULL;

	return kind && !strcmp(kind, "direct");
}

static const char *label(struct tund_peer *p, char *buf, size_t len)
{
	char b64[TUND_KEY_B64_LEN + 1];

	if (p && p->name)
		return p->name;
	if (!p)
		return "a member";
	tund_key_encode(b64, p->public_key);
	snprintf(buf, len, "%.8s…", b64);
	return buf;
}

static void tell_peers(struct tund_daemon *d, struct tund_relay_fwd *r)
{
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		struct tund_peer *c = p->network ? tund_carrier_of(d, p->public_key) : NULL;

		/* A key in several of our networks: its carrier entry speaks for
		 * it (with none, each entry says it is no member). */
		if (!p->network || (c && c != p))
			continue;
		tund_relay_fwd_set_peer(r, p->public_key, group_of(d, p->network),
					p->state == TUND_PEER_MEMBER, ice_direct(p));
	}
}

/* The networks we relay in, and offers to their direct members. */
static void serve(struct tund_daemon *d, struct tund_member_relay *mr, struct tund_relay_fwd *r,
		  uint64_t now)
{
	unsigned n = d->networks ? d->networks->len : 0;
	bool offer = !mr->last_offer_ms || now - mr->last_offer_ms >= OFFER_EVERY_MS;

	for (unsigned g = 1; g <= MAX(n, mr->served) && g <= MAX_SERVED; g++) {
		uint32_t rate = 0;
		const char *name = g <= n ? tund_membership_network(
						    g_ptr_array_index(d->networks, g - 1))->name :
					    NULL;

		if (name && !tund_member_relay_get(d, name, &rate))
			rate = 0;
		tund_relay_fwd_serve(r, g, name ? rate : 0, now);
		for (guint i = 0; offer && rate && i < d->peers.items->len; i++) {
			struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

			if (p->network && !strcmp(p->network, name) &&
			    p->state == TUND_PEER_MEMBER && ice_direct(p))
				tund_relay_fwd_offer(r, p->public_key);
		}
	}
	mr->served = MIN(n, MAX_SERVED);
	if (offer)
		mr->last_offer_ms = now;
}

/* A member that may relay to p: same network, direct ICE path, offered
 * lately and not refused p since. */
static bool candidate(struct tund_relay_fwd *r, struct tund_peer *p, struct tund_peer *c,
		      uint64_t now)
{
	uint8_t by[32];
	uint64_t when = 0, offered;

	if (c == p || !c->network || strcmp(c->network, p->network) ||
	    c->state != TUND_PEER_MEMBER || !ice_direct(c))
		return false;
	offered = tund_relay_fwd_offered(r, c->public_key);
	if (!offered || now - offered > OFFER_FRESH_MS)
		return false;
	return !(tund_relay_fwd_refused(r, p->public_key, by, &when) &&
		 !memcmp(by, c->public_key, 32) && when >= offered);
}

static struct tund_peer *pick(struct tund_daemon *d, struct tund_member_relay *mr,
			      struct tund_relay_fwd *r, struct tund_peer *p, uint64_t now)
{
	guint n = d->peers.items->len;

	for (guint k = 0; k < n; k++) {
		struct tund_peer *c = g_ptr_array_index(d->peers.items, (mr->rr + k) % n);

		if (candidate(r, p, c, now)) {
			mr->rr = (mr->rr + k + 1) % n;
			return c;
		}
	}
	return NULL;
}

/* The member relaying to p now, if p's endpoint is a relay's (*via its key). */
static bool on_relay(struct tund_daemon *d, struct tund_peer *p, uint8_t via[32], bool *session)
{
	struct tund_wg_peer_stats st;

	if (!p->wg_peer)
		return false;
	tund_wg_peer_get_stats(tund_dataplane_wg(d->dp), p->wg_peer, &st);
	*session = st.has_session;
	return tund_relay_fwd_endpoint_via(tund_dataplane_relay(d->dp), &st.endpoint, via);
}

/* The relay refused what we sent through it (it stopped relaying): the
 * endpoint goes, so the peer shows no path and why, and ICE or another
 * relay may take over. */
static void check_refused(struct tund_daemon *d, struct tund_relay_fwd *r, struct tund_peer *p,
			  const uint8_t via[32], uint64_t now)
{
	struct tund_wg_endpoint none = { 0 };
	uint8_t by[32];
	uint64_t when = 0;
	uint8_t reason = tund_relay_fwd_refused(r, p->public_key, by, &when);
	char a[16], b[16];

	if (!reason || memcmp(by, via, 32) || now - when > 2 * TICK_MS)
		return;
	log_info("peer %s: member relay %s refused (%s); no longer relayed", label(p, a, sizeof(a)),
		 label(tund_peer_list_find_key(&d->peers, via), b, sizeof(b)),
		 tund_relay_refusal_name(reason));
	tund_wg_peer_set_endpoint(tund_dataplane_wg(d->dp), p->wg_peer, &none);
}

static void try_relay(struct tund_daemon *d, struct tund_member_relay *mr,
		      struct tund_relay_fwd *r, struct tund_peer *p, uint64_t now)
{
	struct tund_wg_endpoint ep;
	struct tund_wg_clock clock;
	struct tund_peer *c;
	uint8_t via[32];
	bool session = false;
	const char *kind;
	char a[16], b[16];

	if (!p->network || p->state != TUND_PEER_MEMBER || !p->path || !p->wg_peer)
		return;
	if (on_relay(d, p, via, &session)) {
		check_refused(d, r, p, via, now);
		if (session)
			return;
	}
	kind = tund_path_kind(p->path);
	if ((kind && !strcmp(kind, "direct")) || tund_dataplane_peer_on_udp(d->dp, p))
		return; /* nothing a member relay would better */
	/* One side tries, as one side initiates on a new ICE path: two
	 * initiations through the relay would cross. */
	if (!tund_path_controlling(p->path))
		return;
	/* Direct first: a member relay only once ICE found nothing direct. */
	if (!kind && !tund_path_last_error(p->path)[0])
		return;
	if (!(c = pick(d, mr, r, p, now)) ||
	    !tund_relay_fwd_endpoint(r, c->public_key, p->public_key, &ep))
		return;
	tund_dataplane_now(&clock);
	if (tund_wg_peer_probe(tund_dataplane_wg(d->dp), p->wg_peer, &ep, &clock))
		log_debug("peer %s: handshake through member relay %s", label(p, a, sizeof(a)),
			  label(c, b, sizeof(b)));
}

static gboolean tick(gpointer data)
{
	struct tund_daemon *d = data;
	struct tund_member_relay *mr = mr_of(d);
	struct tund_relay_fwd *r;
	uint64_t now = now_ms();

	if (!d->dp || !d->peers.items)
		return G_SOURCE_CONTINUE;
	r = tund_dataplane_relay(d->dp);
	tell_peers(d, r);
	serve(d, mr, r, now);
	for (guint i = 0; i < d->peers.items->len; i++)
		try_relay(d, mr, r, g_ptr_array_index(d->peers.items, i), now);
	return G_SOURCE_CONTINUE;
}

void tund_member_relay_start(struct tund_daemon *d)
{
	struct tund_member_relay *mr = mr_of(d);

	if (!mr->tick)
		mr->tick = tund_loop_timeout_add(TICK_MS, tick, d);
}

void tund_member_relay_stop(struct tund_daemon *d)
{
	struct tund_member_relay *mr = d->member_relay;

	if (!mr)
		return;
	if (mr->tick)
		tund_loop_source_remove(mr->tick);
	g_hash_table_unref(mr->settings);
	g_free(mr);
	d->member_relay = NULL;
}

/* ---- what a person sees ---- */

/* Why no member relays to p: the third part of "no path: ...". */
static void member_why(struct tund_daemon *d, struct tund_peer *p, char *buf, size_t len)
{
	struct tund_relay_fwd *r = tund_dataplane_relay(d->dp);
	uint64_t now = now_ms(), when = 0;
	unsigned direct = 0;
	uint8_t by[32];
	uint8_t reason = tund_relay_fwd_refused(r, p->public_key, by, &when);
	char a[16], b[16];

	if (reason && now - when < REFUSAL_SHOWN_MS) {
		snprintf(buf, len, "no member relay (%s refused: %s)",
			 label(tund_peer_list_find_key(&d->peers, by), a, sizeof(a)),
			 tund_relay_refusal_name(reason));
		return;
	}
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *c = g_ptr_array_index(d->peers.items, i);

		if (c == p || !c->network || strcmp(c->network, p->network) || !ice_direct(c))
			continue;
		direct++;
		if (!candidate(r, p, c, now))
			continue;
		if (tund_path_controlling(p->path))
			snprintf(buf, len, "trying member relay %s", label(c, a, sizeof(a)));
		else
			snprintf(buf, len, "member relay %s offers; %s tries it",
				 label(c, a, sizeof(a)), label(p, b, sizeof(b)));
		return;
	}
	if (direct)
		snprintf(buf, len, "no member relay (none of the %u member%s with a direct path "
			 "relays)", direct, direct == 1 ? "" : "s");
	else
		snprintf(buf, len, "no member relay (no member has a direct path to us)");
}

static void no_path(struct tund_daemon *d, struct tund_peer *p, JsonObject *o)
{
	struct tund_membership *n = tund_membership_find(d, p->network);
	const char *err = tund_path_last_error(p->path);
	char member[160], text[512];
	bool turn = n && tund_membership_effective(n)->n_turn;

	member_why(d, p, member, sizeof(member));
	snprintf(text, sizeof(text), "direct failed (%s), %s, %s", err,
		 turn ? "TURN failed" : "no TURN server", member);
	json_object_set_string_member(o, TUND_KEY_NO_PATH, text);
}

void tund_member_relay_describe(struct tund_daemon *d, struct tund_peer *p, JsonObject *o)
{
	static const char *const ice_keys[] = { TUND_KEY_CANDIDATES, TUND_KEY_LOCAL_ADDR,
						TUND_KEY_REMOTE_ADDR, TUND_KEY_RELAY_TRANSPORT,
						TUND_KEY_FAST_PATH };
	uint8_t via[32];
	bool session = false;
	char a[16];

	if (!d->dp || !p->wg_peer || !p->network)
		return;
	if (on_relay(d, p, via, &session) && session) {
		/* Not the ICE pair: the member carries the datagrams. */
		for (size_t i = 0; i < G_N_ELEMENTS(ice_keys); i++)
			if (json_object_has_member(o, ice_keys[i]))
				json_object_remove_member(o, ice_keys[i]);
		json_object_set_string_member(o, TUND_KEY_PATH, "relay");
		json_object_set_string_member(
			o, TUND_KEY_RELAY_VIA,
			label(tund_peer_list_find_key(&d->peers, via), a, sizeof(a)));
		return;
	}
	if (p->state != TUND_PEER_MEMBER || !p->path || tund_path_kind(p->path) ||
	    tund_dataplane_peer_on_udp(d->dp, p) || !tund_path_last_error(p->path)[0])
		return;
	no_path(d, p, o);
}

void tund_member_relay_network_json(struct tund_daemon *d, const char *network, JsonObject *o)
{
	JsonObject *rel = json_object_new();
	uint32_t rate;
	bool on = tund_member_relay_get(d, network, &rate);
	uint64_t forwarded = 0, dropped = 0;

	if (d->dp)
		forwarded = tund_relay_fwd_group_forwarded(tund_dataplane_relay(d->dp),
							   group_of(d, network), &dropped);
	json_object_set_boolean_member(rel, TUND_KEY_ENABLED, on);
	json_object_set_int_member(rel, TUND_KEY_RATE, rate);
	json_object_set_int_member(rel, TUND_KEY_FORWARDED, (gint64)forwarded);
	json_object_set_int_member(rel, TUND_KEY_RATE_LIMITED, (gint64)dropped);
	json_object_set_object_member(o, TUND_KEY_RELAY, rel);
}

JsonNode *tund_member_relay_status(struct tund_daemon *d)
{
	struct tund_relay_stats st = { 0 };
	JsonObject *o = json_object_new(), *drops = json_object_new();
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);

	if (d->dp)
		tund_relay_fwd_stats(tund_dataplane_relay(d->dp), &st);
	json_object_set_int_member(o, TUND_KEY_FORWARDED, (gint64)st.forwarded);
	json_object_set_int_member(o, TUND_KEY_RELAYED, (gint64)st.sent);
	json_object_set_int_member(o, TUND_KEY_RECEIVED, (gint64)st.delivered);
	for (int i = 0; i < TUND_RELAY_DROP_COUNT; i++)
		json_object_set_int_member(drops, tund_relay_drop_name(i), (gint64)st.drops[i]);
	json_object_set_object_member(o, TUND_KEY_DROPS, drops);
	json_node_take_object(n, o);
	return n;
}
