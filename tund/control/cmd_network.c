// SPDX-License-Identifier: MIT
/* Networks: create, join, leave, invite, list; and member admission. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "overlay/network.h"
#include "tund/control/commands.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/daemon/log.h"
#include "tund/connect/invites.h"
#include "tund/connect/member_relay.h"
#include "tund/connect/membership.h"
#include "tund/connect/networks.h"
#include "tund/control/control_codec.h"
#include "tund/connect/path.h"
#include "tund/connect/prefix.h"
#include "overlay/control_proto.h"

/* ---- commands ---- */

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_real_time() / 1000);
}

/* What `network invite` hands out: the servers in use, and no token (a
 * joiner's own token would let the next one in in its place). */
static void plain_invite(struct tund_membership *n, struct tund_network *out)
{
	*out = *tund_membership_effective(n);
	sodium_memzero(out->invite_token, sizeof(out->invite_token));
	out->has_token = false;
	out->invite_expires_ms = 0;
}

/* The network's summary and, unless inv is NULL, inv as an invite (a limited
 * one with its id, expiry and uses). */
static JsonNode *network_result(struct tund_membership *n, const struct tund_network *inv,
				unsigned uses)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_NETWORK);
	json_builder_add_value(b, tund_membership_to_json(n));
	if (inv) {
		char invite[TUND_INVITE_MAX_TEXT];

		tund_invite_encode(inv, invite, sizeof(invite));
		json_builder_set_member_name(b, TUND_KEY_INVITE);
		json_builder_add_string_value(b, invite);
		sodium_memzero(invite, sizeof(invite));
	}
	if (inv && inv->has_token) {
		char id[TUND_INVITE_ID_LEN + 1], at[40];

		tund_invites_id(inv->invite_token, id);
		tund_invites_format_time(inv->invite_expires_ms, at, sizeof(at));
		json_builder_set_member_name(b, TUND_KEY_ID);
		json_builder_add_string_value(b, id);
		json_builder_set_member_name(b, TUND_KEY_EXPIRES_AT);
		json_builder_add_string_value(b, at);
		json_builder_set_member_name(b, TUND_KEY_USES);
		json_builder_add_int_value(b, uses);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static int add_network(struct tund_daemon *d, struct tund_network *net, bool with_invite,
		       JsonNode **out, char *why, size_t why_len)
{
	struct tund_membership *n;
	int ret;

	if (tund_membership_find(d, net->name)) {
		tund_why(why, why_len, "already a member of a network called \"%s\"", net->name);
		return -EEXIST;
	}
	ret = tund_prefix_check(d, net, why, why_len);
	if (ret)
		return ret;
	n = tund_membership_start(d, net, !with_invite);
	g_ptr_array_add(d->networks, n);
	ret = tund_networks_save(d);
	if (ret) {
		g_ptr_array_remove(d->networks, n);
		tund_membership_stop(n, true);
		tund_why(why, why_len, "cannot save %s: %s", d->networks_path, g_strerror(-ret));
		return ret;
	}
	log_info("network %s: %s", net->name, with_invite ? "created" : "joined");
	if (with_invite) {
		struct tund_network inv;

		plain_invite(n, &inv);
		*out = network_result(n, &inv, 0);
		sodium_memzero(&inv, sizeof(inv));
	} else {
		*out = network_result(n, NULL, 0);
	}
	return 0;
}

static bool string_list(JsonObject *req, const char *name, GPtrArray **out, char *why,
			size_t why_len)
{
	JsonNode *n = json_object_get_member(req, name);

	*out = g_ptr_array_new();
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
		g_ptr_array_add(*out, (gpointer)json_node_get_string(n));
		return true;
	}
	if (!JSON_NODE_HOLDS_ARRAY(n)) {
		tund_why(why, why_len, "%s: expected a list of strings", name);
		return false;
	}
	JsonArray *a = json_node_get_array(n);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);

		if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING) {
			tund_why(why, why_len, "%s: expected a list of strings", name);
			return false;
		}
		g_ptr_array_add(*out, (gpointer)json_node_get_string(e));
	}
	return true;
}

int tund_cmd_network_create(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			    size_t why_len)
{
	struct tund_network net;
	const char *name = tund_req_string(req, TUND_KEY_NAME), *bad = NULL, *v;
	g_autoptr(GPtrArray) stun = NULL, turn = NULL;
	int ret = -EINVAL;

	if (!name || !tund_network_init_new(&net, name, &bad)) {
		tund_why(why, why_len, "name: %s", bad ? bad : "required");
		return -EINVAL;
	}
	if ((v = tund_req_string(req, TUND_KEY_PREFIX))) {
		if (!tund_network_set_prefix4(&net, v, &bad)) {
			tund_why(why, why_len, "prefix: %s", bad);
			goto out;
		}
	} else {
		char pwhy[128];

		if (tund_prefix_pick(d, &net.prefix4, pwhy, sizeof(pwhy))) {
			tund_why(why, why_len, "prefix: %s", pwhy);
			goto out;
		}
	}
	if ((v = tund_req_string(req, TUND_KEY_BROKER))) {
		struct tund_broker br;

		if (!tund_parse_broker_url(v, &br, &bad)) {
			tund_why(why, why_len, "broker: %s", bad);
			goto out;
		}
		if (br.tls) {
			tund_why(why, why_len, "broker: mqtts (TLS) is not supported yet; use mqtt://");
			goto out;
		}
		g_strlcpy(net.broker, v, sizeof(net.broker));
	}
	if (!string_list(req, TUND_KEY_STUN, &stun, why, why_len) ||
	    !string_list(req, TUND_KEY_TURN, &turn, why, why_len))
		goto out;
	for (guint i = 0; i < stun->len; i++) {
		if (net.n_stun == TUND_NET_MAX_STUN ||
		    !tund_parse_stun(g_ptr_array_index(stun, i), &net.stun[net.n_stun], &bad)) {
			tund_why(why, why_len, "stun: %s", bad ? bad : "too many servers");
			goto out;
		}
		net.n_stun++;
	}
	for (guint i = 0; i < turn->len; i++) {
		if (net.n_turn == TUND_NET_MAX_TURN ||
		    !tund_parse_turn_url(g_ptr_array_index(turn, i), &net.turn[net.n_turn], &bad)) {
			tund_why(why, why_len, "turn: %s", bad ? bad : "too many servers");
			goto out;
		}
		net.n_turn++;
	}
	if (json_object_has_member(req, TUND_KEY_BROADCAST) &&
	    !json_object_get_boolean_member_with_default(req, TUND_KEY_BROADCAST, TRUE))
		net.no_broadcast = true;
	if ((v = tund_req_string(req, TUND_KEY_ADMISSION))) {
		if (!strcmp(v, "open")) {
			net.admission = TUND_ADMISSION_OPEN;
		} else if (!strcmp(v, "approve")) {
			net.admission = TUND_ADMISSION_APPROVE;
		} else {
			tund_why(why, why_len, "admission: expected open or approve");
			goto out;
		}
	}
	/* The creator is the admin whose signed records say who is a member,
	 * on every member (not each node's own guess): in approve networks
	 * when it approves, in open ones for every key that shows the invite.
	 * The records travel through the broker and over the LAN (a network
	 * with no broker: its members meet by LAN beacons). */
	memcpy(net.admin, d->public_key, 32);
	net.has_admin = true;
	ret = add_network(d, &net, true, out, why, why_len);
out:
	sodium_memzero(&net, sizeof(net));
	return ret;
}

int tund_cmd_network_join(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			  size_t why_len)
{
	struct tund_network net;
	const char *invite = tund_req_string(req, TUND_KEY_INVITE), *bad = "required";
	int ret;

	if (!invite || !tund_invite_decode(invite, &net, &bad)) {
		tund_why(why, why_len, "invite: %s", bad);
		return -EINVAL;
	}
	if (net.has_token && net.invite_expires_ms <= now_ms()) {
		char at[40];

		tund_invites_format_time(net.invite_expires_ms, at, sizeof(at));
		tund_why(why, why_len, "invite expired at %s", at);
		sodium_memzero(&net, sizeof(net));
		return -EINVAL;
	}
	ret = add_network(d, &net, false, out, why, why_len);
	sodium_memzero(&net, sizeof(net));
	return ret;
}

/* The network of a request's name, or -ENOENT with why. */
static int find_network(struct tund_daemon *d, JsonObject *req, struct tund_membership **n,
			char *why, size_t why_len)
{
	const char *name = tund_req_string(req, TUND_KEY_NAME);

	*n = tund_membership_find(d, name);
	if (*n)
		return 0;
	tund_why(why, why_len, "not a member of a network called \"%s\"", name ? name : "");
	return -ENOENT;
}

int tund_cmd_network_leave(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len)
{
	const char *name = tund_req_string(req, TUND_KEY_NAME);
	g_autoptr(JsonBuilder) b = json_builder_new();
	struct tund_membership *n;
	int ret;

	if ((ret = find_network(d, req, &n, why, why_len)))
		return ret;
	g_ptr_array_remove(d->networks, n);
	ret = tund_networks_save(d);
	if (ret) {
		g_ptr_array_add(d->networks, n);
		tund_why(why, why_len, "cannot save %s: %s", d->networks_path, g_strerror(-ret));
		return ret;
	}
	tund_member_relay_forget(d, name);
	/* Its members go with it; one that is in another of our networks too
	 * keeps its session there. */
	GArray *gone = g_array_new(FALSE, FALSE, 32);
	for (guint i = d->peers.items->len; i-- > 0;) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		if (p->network && !strcmp(p->network, name)) {
			tund_path_free(p->path);
			p->path = NULL;
			if (d->dp)
				tund_dataplane_peer_forget(d->dp, p);
			g_array_append_vals(gone, p->public_key, 1);
			tund_peer_list_remove(&d->peers, p);
		}
	}
	for (guint i = 0; i < gone->len; i++)
		tund_membership_carry(d, (const uint8_t *)gone->data + 32 * i);
	g_array_unref(gone);
	tund_daemon_save_peers(d);
	/* Read from disk first if need be: a later network of the same name
	 * must not inherit this one's unused tokens. */
	struct tund_invites *iv;
	char iv_why[TUND_WHY_LEN];

	if ((ret = tund_invites_get(d, &iv, iv_why, sizeof(iv_why))))
		log_warn("network %s: cannot drop its invites: %s", name, iv_why);
	else if ((ret = tund_invites_forget(iv, name)))
		log_warn("network %s: cannot drop its invites: %s", name, g_strerror(-ret));
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_LEFT);
	json_builder_add_string_value(b, name);
	json_builder_end_object(b);
	log_info("network %s: left", name);
	tund_membership_stop(n, true);
	*out = json_builder_get_root(b);
	return 0;
}

/* An optional whole number in min..max; def when absent. */
static bool req_number(JsonObject *req, const char *name, gint64 def, gint64 min, gint64 max,
		       gint64 *out, char *why, size_t why_len)
{
	JsonNode *n = json_object_get_member(req, name);

	*out = def;
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
	    json_node_get_int(n) < min || json_node_get_int(n) > max) {
		tund_why(why, why_len, "%s: expected a whole number from %" G_GINT64_FORMAT
			 " to %" G_GINT64_FORMAT, name, min, max);
		return false;
	}
	*out = json_node_get_int(n);
	return true;
}

/* Only the admin counts a limited invite's uses (when a joiner shows it). */
static int check_issuer(struct tund_membership *n, char *why, size_t why_len)
{
	const char *name = tund_membership_network(n)->name;

	/* In an open network the network key alone admits: a token adds no gate. */
	if (!tund_membership_has_admin(n) ||
	    tund_membership_network(n)->admission != TUND_ADMISSION_APPROVE) {
		tund_why(why, why_len, "network %s admits anyone with its invite: limited invites "
			 "need a network created with --admission approve", name);
		return -EPERM;
	}
	if (!tund_membership_is_creator(n)) {
		tund_why(why, why_len, "only the creator of network %s issues limited invites "
			 "(it counts their uses)", name);
		return -EPERM;
	}
	return 0;
}

/* Makes inv a limited invite (token, expiry) recorded in invites.json. */
static int limit_invite(struct tund_daemon *d, struct tund_membership *n, JsonObject *req,
			struct tund_network *inv, gint64 *uses, char *why, size_t why_len)
{
	struct tund_invites *iv;
	char id[TUND_INVITE_ID_LEN + 1], at[40];
	gint64 expires_s;
	int ret;

	if ((ret = check_issuer(n, why, why_len)))
		return ret;
	if (!req_number(req, TUND_KEY_EXPIRES_S, 86400, 1, TUND_INVITE_MAX_EXPIRES_S, &expires_s,
			why, why_len) ||
	    !req_number(req, TUND_KEY_USES, 1, 1, TUND_INVITE_MAX_USES, uses, why, why_len))
		return -EINVAL;
	if ((ret = tund_invites_get(d, &iv, why, why_len)))
		return ret;
	inv->invite_expires_ms = now_ms() + (uint64_t)expires_s * 1000;
	ret = tund_invites_issue(iv, inv->name, inv->invite_expires_ms, (uint32_t)*uses,
				 inv->invite_token, why, why_len);
	if (ret)
		return ret;
	inv->has_token = true;
	tund_invites_id(inv->invite_token, id);
	tund_invites_format_time(inv->invite_expires_ms, at, sizeof(at));
	log_info("network %s: limited invite %s issued: %" G_GINT64_FORMAT " use(s), expires %s",
		 inv->name, id, *uses, at);
	return 0;
}

int tund_cmd_network_invite(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			    size_t why_len)
{
	struct tund_membership *n;
	struct tund_network inv;
	gint64 uses = 0;
	int ret;

	if ((ret = find_network(d, req, &n, why, why_len)))
		return ret;
	plain_invite(n, &inv);
	if (json_object_has_member(req, TUND_KEY_EXPIRES_S) ||
	    json_object_has_member(req, TUND_KEY_USES))
		ret = limit_invite(d, n, req, &inv, &uses, why, why_len);
	if (!ret)
		*out = network_result(n, &inv, (unsigned)uses);
	sodium_memzero(&inv, sizeof(inv));
	return ret;
}

int tund_cmd_network_invites(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			     size_t why_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	struct tund_membership *n;
	struct tund_invites *iv;
	int ret;

	if ((ret = find_network(d, req, &n, why, why_len)) ||
	    (ret = tund_invites_get(d, &iv, why, why_len)))
		return ret;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_INVITES);
	json_builder_add_value(b, tund_invites_list(iv, tund_membership_network(n)->name,
						    now_ms()));
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

int tund_cmd_network_invite_revoke(struct tund_daemon *d, JsonObject *req, JsonNode **out,
				   char *why, size_t why_len)
{
	const char *id = tund_req_string(req, TUND_KEY_ID);
	g_autoptr(JsonBuilder) b = json_builder_new();
	struct tund_membership *n;
	struct tund_invites *iv;
	int ret;

	if ((ret = find_network(d, req, &n, why, why_len)) ||
	    (ret = tund_invites_get(d, &iv, why, why_len)) ||
	    (ret = tund_invites_revoke(iv, tund_membership_network(n)->name, id, why, why_len)))
		return ret;
	log_info("network %s: invite %s revoked", tund_membership_network(n)->name, id);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_REVOKED);
	json_builder_add_string_value(b, id);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

/* A new network key without a block: retires every invite made so far
 * (a leaked one among them). Only an admin can hand the key to each member. */
int tund_cmd_network_rekey(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	struct tund_membership *n;
	int ret;

	if ((ret = find_network(d, req, &n, why, why_len)))
		return ret;
	if (!tund_membership_is_creator(n)) {
		tund_why(why, why_len, "only the creator of network %s rotates its key (a network "
			 "created with a broker)",
			 tund_membership_network(n)->name);
		return -EPERM;
	}
	ret = tund_membership_rekey(n);
	if (ret) {
		tund_why(why, why_len, "cannot rotate the key: %s", g_strerror(-ret));
		return ret;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_EPOCH);
	json_builder_add_int_value(b, tund_membership_network(n)->epoch);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

int tund_cmd_networks(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		      size_t why_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	(void)req;
	(void)why;
	(void)why_len;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_NETWORKS);
	json_builder_begin_array(b);
	for (guint i = 0; i < d->networks->len; i++) {
		struct tund_membership *n = g_ptr_array_index(d->networks, i);
		JsonNode *net = tund_membership_to_json(n);

		if (JSON_NODE_HOLDS_OBJECT(net))
			tund_member_relay_network_json(d, tund_membership_network(n)->name,
						       json_node_get_object(net));
		json_builder_add_value(b, net);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The request's "peer" (key or name), in its "network" when given: a key
 * in several of our networks has an entry in each, and the request must
 * say which (-EINVAL with the networks named); -ENOENT with why if none. */
static int request_peer(struct tund_daemon *d, JsonObject *req, struct tund_peer **out,
			char *why, size_t why_len)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER);
	const char *network = tund_req_string(req, TUND_KEY_NETWORK);
	struct tund_peer *p = which ? tund_peer_list_find(&d->peers, which) : NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autofree char *nets = NULL;

	*out = NULL;
	if (!p) {
		tund_why(why, why_len, "no such peer: %s", which ? which : "(none given)");
		return -ENOENT;
	}
	if (network) {
		*out = tund_peer_list_find_in(&d->peers, network, p->public_key);
		if (!*out)
			tund_why(why, why_len, "peer %s is not a member of network %s", which,
				 network);
		return *out ? 0 : -ENOENT;
	}
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *e = g_ptr_array_index(d->peers.items, i);

		if (!memcmp(e->public_key, p->public_key, TUND_KEY_LEN) && e->network)
			g_ptr_array_add(names, e->network);
	}
	if (names->len <= 1) {
		*out = p;
		return 0;
	}
	g_ptr_array_sort(names, by_name); /* as the user reads them */
	g_ptr_array_add(names, NULL);
	nets = g_strjoinv(", ", (char **)names->pdata);
	tund_why(why, why_len, "peer %s is a member of networks %s: name one with --network",
		 which, nets);
	return -EINVAL;
}

/* p: the request's peer (request_peer). */
static int set_state(struct tund_daemon *d, struct tund_peer *p, JsonNode **out, char *why,
		     size_t why_len, enum tund_peer_state to, bool as_admin)
{
	enum tund_peer_state before;
	char key[TUND_KEY_B64_LEN + 1];
	int ret;

	if (to == TUND_PEER_MEMBER && p->state == TUND_PEER_BLOCKED && !p->network)
		to = TUND_PEER_STATIC; /* unblocking a static peer */
	if (to == TUND_PEER_MEMBER && !p->network && p->state != TUND_PEER_BLOCKED) {
		tund_why(why, why_len, "only network members wait for approval");
		return -EINVAL;
	}
	struct tund_membership *n = tund_membership_find(d, p->network);
	if (n && tund_membership_has_admin(n) && !tund_membership_is_admin(n) &&
	    to == TUND_PEER_MEMBER && p->state == TUND_PEER_PENDING) {
		tund_why(why, why_len, "only an admin of network %s (its creator, or a member it "
			 "made admin) admits members", p->network);
		return -EPERM;
	}
	if (n && tund_membership_is_admin(n) && !tund_membership_is_creator(n) &&
	    tund_membership_key_is_admin(n, p->public_key)) {
		tund_why(why, why_len, "only the creator of network %s blocks or changes an admin",
			 p->network);
		return -EPERM;
	}
	if (as_admin && (!n || !tund_membership_is_creator(n))) {
		tund_why(why, why_len, "only the creator of a network with an admin makes admins");
		return -EPERM;
	}
	before = p->state;
	p->state = to;
	ret = tund_daemon_save_peers(d);
	if (ret) {
		p->state = before;
		tund_why(why, why_len, "cannot save peers: %s", g_strerror(-ret));
		return ret;
	}
	if (n && tund_membership_is_admin(n)) {
		/* Our decision, signed, reaches every member (and later joiners). */
		ret = tund_membership_sign_record(n, to == TUND_PEER_BLOCKED ? TUND_RECORD_BLOCK :
						  as_admin		 ? TUND_RECORD_ADMIT_ADMIN :
									   TUND_RECORD_ADMIT,
						  p->public_key);
		if (ret) {
			p->state = before;
			tund_daemon_save_peers(d);
			tund_why(why, why_len, "cannot sign the membership record: %s",
				 g_strerror(-ret));
			return ret;
		}
		/* The blocked member holds the network key: the rest move on to
		 * a new one it never sees, and old invites stop working. The
		 * creator rotates it (another admin's block reaches it as a
		 * record and it rotates then). */
		if (to == TUND_PEER_BLOCKED && tund_membership_is_creator(n) &&
		    (ret = tund_membership_rekey(n))) {
			tund_membership_member_connect(n, p);
			tund_why(why, why_len, "blocked, but cannot rotate the network key: %s",
				 g_strerror(-ret));
			return ret;
		}
	}
	if (n) {
		tund_membership_member_connect(n, p);
	} else if (d->dp) {
		if (to == TUND_PEER_BLOCKED) {
			tund_path_free(p->path);
			p->path = NULL;
			tund_dataplane_peer_forget(d->dp, p);
		} else {
			tund_dataplane_peer_apply(d->dp, p);
		}
	}
	tund_key_encode(key, p->public_key);
	log_info("peer %s: %s -> %s", key, tund_peer_state_name(before), tund_peer_state_name(to));
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_PEER);
	json_builder_add_string_value(b, key);
	json_builder_set_member_name(b, TUND_KEY_STATE);
	json_builder_add_string_value(b, tund_peer_state_name(p->state));
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

int tund_cmd_peer_approve(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			  size_t why_len)
{
	JsonNode *admin = json_object_get_member(req, TUND_KEY_ADMIN);
	bool as_admin = false;
	struct tund_peer *p;
	int ret = request_peer(d, req, &p, why, why_len);

	if (ret)
		return ret;

	if (admin) {
		if (!JSON_NODE_HOLDS_VALUE(admin) || json_node_get_value_type(admin) != G_TYPE_BOOLEAN) {
			tund_why(why, why_len, "admin: expected true or false");
			return -EINVAL;
		}
		as_admin = json_node_get_boolean(admin);
	}

	/* A member can be made admin; otherwise only a pending key is approved. */
	if (p->state != TUND_PEER_PENDING && !(as_admin && p->state == TUND_PEER_MEMBER)) {
		tund_why(why, why_len, "peer is %s, not pending", tund_peer_state_name(p->state));
		return -EINVAL;
	}
	return set_state(d, p, out, why, why_len, TUND_PEER_MEMBER, as_admin);
}

int tund_cmd_peer_block(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			size_t why_len)
{
	struct tund_peer *p;
	int ret = request_peer(d, req, &p, why, why_len);

	return ret ? ret : set_state(d, p, out, why, why_len, TUND_PEER_BLOCKED, false);
}

int tund_cmd_peer_unblock(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			  size_t why_len)
{
	struct tund_peer *p;
	int ret = request_peer(d, req, &p, why, why_len);

	if (ret)
		return ret;
	if (p->state != TUND_PEER_BLOCKED) {
		tund_why(why, why_len, "peer is not blocked");
		return -EINVAL;
	}
	return set_state(d, p, out, why, why_len, TUND_PEER_MEMBER, false);
}

/* `tundctl network relay NAME on|off`: whether we relay between the
 * network's members (doc/member-relay.md); kept in networks.json. */
int tund_cmd_network_relay(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	JsonNode *on = json_object_get_member(req, TUND_KEY_RELAY);
	struct tund_membership *n;
	const char *name;
	uint32_t old_rate, rate;
	bool was_on;
	gint64 want;
	int ret;

	if ((ret = find_network(d, req, &n, why, why_len)))
		return ret;
	name = tund_membership_network(n)->name;
	if (!on || !JSON_NODE_HOLDS_VALUE(on) || json_node_get_value_type(on) != G_TYPE_BOOLEAN) {
		tund_why(why, why_len, "%s: expected true or false", TUND_KEY_RELAY);
		return -EINVAL;
	}
	was_on = tund_member_relay_get(d, name, &old_rate);
	if (!req_number(req, TUND_KEY_RATE, old_rate, 1, TUND_MEMBER_RELAY_RATE_MAX, &want, why,
			why_len))
		return -EINVAL;
	tund_member_relay_set(d, name, json_node_get_boolean(on), (uint32_t)want);
	if ((ret = tund_networks_save(d))) {
		tund_member_relay_set(d, name, was_on, old_rate);
		tund_why(why, why_len, "cannot save %s: %s", d->networks_path, g_strerror(-ret));
		return ret;
	}
	bool now_on = tund_member_relay_get(d, name, &rate);

	log_info("network %s: member relay %s (%u frames/s)", name, now_on ? "on" : "off", rate);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_NETWORK);
	json_builder_add_string_value(b, name);
	json_builder_set_member_name(b, TUND_KEY_RELAY);
	json_builder_add_boolean_value(b, now_on);
	json_builder_set_member_name(b, TUND_KEY_RATE);
	json_builder_add_int_value(b, rate);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}
