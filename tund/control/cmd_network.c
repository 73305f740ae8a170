// SPDX-License-Identifier: MIT
/* Networks: create, join, leave, invite, list; and member admission. */
#include <sodium.h>
#include <string.h>

#include "overlay/network.h"
#include "tund/control/commands.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/daemon/log.h"
#include "tund/connect/membership.h"
#include "tund/connect/networks.h"
#include "tund/control/control_codec.h"
#include "tund/connect/path.h"
#include "tund/connect/prefix.h"
#include "overlay/control_proto.h"

/* ---- commands ---- */

static JsonNode *network_result(struct tund_membership *n, bool with_invite)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_NETWORK);
	json_builder_add_value(b, tund_membership_to_json(n));
	if (with_invite) {
		char invite[TUND_INVITE_MAX_TEXT];

		tund_invite_encode(tund_membership_effective(n), invite, sizeof(invite));
		json_builder_set_member_name(b, TUND_KEY_INVITE);
		json_builder_add_string_value(b, invite);
		sodium_memzero(invite, sizeof(invite));
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *add_network(struct tund_daemon *d, struct tund_network *net, bool with_invite,
			     char **err)
{
	char why[256];
	struct tund_membership *n;
	int ret;

	if (tund_membership_find(d, net->name)) {
		*err = g_strdup_printf("already a member of a network called \"%s\"", net->name);
		return NULL;
	}
	if (tund_prefix_check(d, net, why, sizeof(why))) {
		*err = g_strdup(why);
		return NULL;
	}
	n = tund_membership_start(d, net, !with_invite);
	g_ptr_array_add(d->networks, n);
	ret = tund_networks_save(d);
	if (ret) {
		g_ptr_array_remove(d->networks, n);
		tund_membership_stop(n, true);
		*err = g_strdup_printf("cannot save %s: %s", d->networks_path, g_strerror(-ret));
		return NULL;
	}
	log_info("network %s: %s", net->name, with_invite ? "created" : "joined");
	return network_result(n, with_invite);
}

static bool string_list(JsonObject *req, const char *name, GPtrArray **out, char **err)
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
		*err = g_strdup_printf("%s: expected a list of strings", name);
		return false;
	}
	JsonArray *a = json_node_get_array(n);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);

		if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING) {
			*err = g_strdup_printf("%s: expected a list of strings", name);
			return false;
		}
		g_ptr_array_add(*out, (gpointer)json_node_get_string(e));
	}
	return true;
}

JsonNode *tund_cmd_network_create(struct tund_daemon *d, JsonObject *req, char **err)
{
	struct tund_network net;
	const char *name = tund_req_string(req, TUND_KEY_NAME), *why = NULL, *v;
	g_autoptr(GPtrArray) stun = NULL, turn = NULL;
	JsonNode *res = NULL;

	if (!name || !tund_network_init_new(&net, name, &why)) {
		*err = g_strdup_printf("name: %s", why ? why : "required");
		return NULL;
	}
	if ((v = tund_req_string(req, TUND_KEY_PREFIX))) {
		if (!tund_network_set_prefix4(&net, v, &why)) {
			*err = g_strdup_printf("prefix: %s", why);
			goto out;
		}
	} else {
		char pwhy[128];

		if (tund_prefix_pick(d, &net.prefix4, pwhy, sizeof(pwhy))) {
			*err = g_strdup_printf("prefix: %s", pwhy);
			goto out;
		}
	}
	if ((v = tund_req_string(req, TUND_KEY_BROKER))) {
		struct tund_broker br;

		if (!tund_parse_broker_url(v, &br, &why)) {
			*err = g_strdup_printf("broker: %s", why);
			goto out;
		}
		if (br.tls) {
			*err = g_strdup("broker: mqtts (TLS) is not supported yet; use mqtt://");
			goto out;
		}
		g_strlcpy(net.broker, v, sizeof(net.broker));
	}
	if (!string_list(req, TUND_KEY_STUN, &stun, err) || !string_list(req, TUND_KEY_TURN, &turn, err))
		goto out;
	for (guint i = 0; i < stun->len; i++) {
		if (net.n_stun == TUND_NET_MAX_STUN ||
		    !tund_parse_stun(g_ptr_array_index(stun, i), &net.stun[net.n_stun], &why)) {
			*err = g_strdup_printf("stun: %s", why ? why : "too many servers");
			goto out;
		}
		net.n_stun++;
	}
	for (guint i = 0; i < turn->len; i++) {
		if (net.n_turn == TUND_NET_MAX_TURN ||
		    !tund_parse_turn_url(g_ptr_array_index(turn, i), &net.turn[net.n_turn], &why)) {
			*err = g_strdup_printf("turn: %s", why ? why : "too many servers");
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
			*err = g_strdup("admission: expected open or approve");
			goto out;
		}
	}
	res = add_network(d, &net, true, err);
out:
	sodium_memzero(&net, sizeof(net));
	return res;
}

JsonNode *tund_cmd_network_join(struct tund_daemon *d, JsonObject *req, char **err)
{
	struct tund_network net;
	const char *invite = tund_req_string(req, TUND_KEY_INVITE), *why = "required";
	JsonNode *res;

	if (!invite || !tund_invite_decode(invite, &net, &why)) {
		*err = g_strdup_printf("invite: %s", why);
		return NULL;
	}
	res = add_network(d, &net, false, err);
	sodium_memzero(&net, sizeof(net));
	return res;
}

JsonNode *tund_cmd_network_leave(struct tund_daemon *d, JsonObject *req, char **err)
{
	const char *name = tund_req_string(req, TUND_KEY_NAME);
	struct tund_membership *n = tund_membership_find(d, name);
	g_autoptr(JsonBuilder) b = json_builder_new();
	int ret;

	if (!n) {
		*err = g_strdup_printf("not a member of a network called \"%s\"", name ? name : "");
		return NULL;
	}
	g_ptr_array_remove(d->networks, n);
	ret = tund_networks_save(d);
	if (ret) {
		g_ptr_array_add(d->networks, n);
		*err = g_strdup_printf("cannot save %s: %s", d->networks_path, g_strerror(-ret));
		return NULL;
	}
	/* Its members go with it. */
	for (guint i = d->peers.items->len; i-- > 0;) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		if (p->network && !strcmp(p->network, name)) {
			tund_path_free(p->path);
			p->path = NULL;
			if (d->dp)
				tund_dataplane_peer_forget(d->dp, p);
			tund_peer_list_remove(&d->peers, p);
		}
	}
	tund_daemon_save_peers(d);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_LEFT);
	json_builder_add_string_value(b, name);
	json_builder_end_object(b);
	log_info("network %s: left", name);
	tund_membership_stop(n, true);
	return json_builder_get_root(b);
}

JsonNode *tund_cmd_network_invite(struct tund_daemon *d, JsonObject *req, char **err)
{
	const char *name = tund_req_string(req, TUND_KEY_NAME);
	struct tund_membership *n = tund_membership_find(d, name);

	if (!n) {
		*err = g_strdup_printf("not a member of a network called \"%s\"", name ? name : "");
		return NULL;
	}
	return network_result(n, true);
}

JsonNode *tund_cmd_networks(struct tund_daemon *d, JsonObject *req, char **err)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	(void)req;
	(void)err;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_NETWORKS);
	json_builder_begin_array(b);
	for (guint i = 0; i < d->networks->len; i++)
		json_builder_add_value(b, tund_membership_to_json(g_ptr_array_index(d->networks, i)));
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *set_state(struct tund_daemon *d, JsonObject *req, char **err,
			   enum tund_peer_state to)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER);
	struct tund_peer *p = which ? tund_peer_list_find(&d->peers, which) : NULL;
	enum tund_peer_state before;
	char key[TUND_KEY_B64_LEN + 1];
	int ret;

	if (!p) {
		*err = g_strdup_printf("no such peer: %s", which ? which : "(none given)");
		return NULL;
	}
	if (to == TUND_PEER_MEMBER && p->state == TUND_PEER_BLOCKED && !p->network)
		to = TUND_PEER_STATIC; /* unblocking a static peer */
	if (to == TUND_PEER_MEMBER && !p->network && p->state != TUND_PEER_BLOCKED) {
		*err = g_strdup("only network members wait for approval");
		return NULL;
	}
	before = p->state;
	p->state = to;
	ret = tund_daemon_save_peers(d);
	if (ret) {
		p->state = before;
		*err = g_strdup_printf("cannot save peers: %s", g_strerror(-ret));
		return NULL;
	}
	struct tund_membership *n = tund_membership_find(d, p->network);
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
	return json_builder_get_root(b);
}

JsonNode *tund_cmd_peer_approve(struct tund_daemon *d, JsonObject *req, char **err)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER);
	struct tund_peer *p = which ? tund_peer_list_find(&d->peers, which) : NULL;

	if (p && p->state != TUND_PEER_PENDING) {
		*err = g_strdup_printf("peer is %s, not pending", tund_peer_state_name(p->state));
		return NULL;
	}
	return set_state(d, req, err, TUND_PEER_MEMBER);
}

JsonNode *tund_cmd_peer_block(struct tund_daemon *d, JsonObject *req, char **err)
{
	return set_state(d, req, err, TUND_PEER_BLOCKED);
}

JsonNode *tund_cmd_peer_unblock(struct tund_daemon *d, JsonObject *req, char **err)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER);
	struct tund_peer *p = which ? tund_peer_list_find(&d->peers, which) : NULL;

	if (p && p->state != TUND_PEER_BLOCKED) {
		*err = g_strdup("peer is not blocked");
		return NULL;
	}
	return set_state(d, req, err, TUND_PEER_MEMBER);
}
