// SPDX-License-Identifier: MIT
/* Control commands: each takes the request object and returns 0 with a result
 * node, or -errno with a one-line why. The table at the bottom is the whole
 * API. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "tund/control/commands.h"
#include "tund/control/control_codec.h"
#include "tund/connect/carrier.h"
#include "tund/connect/ice.h"
#include "tund/connect/mapping.h"
#include "tund/connect/member_relay.h"
#include "tund/connect/path.h"
#include "tund/dataplane/relay_fwd.h"
#include "tund/dataplane/dataplane.h"
#include "tund/dataplane/fastpath.h"
#include "tund/dataplane/udp.h"
#include "tund/daemon/state.h"
#include "tund/daemon/log.h"
#include "tund/dataplane/priority.h"
#include "overlay/aead.h"
#include "overlay/control_proto.h"

static void member_int(JsonBuilder *b, const char *name, uint64_t v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, (gint64)v);
}

static void member_bool(JsonBuilder *b, const char *name, bool v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, v);
}

/* "realtime": whether the packet threads may raise their priority under
 * load, and how often they did and gave it back (tund/priority.h). */
static void add_realtime(JsonBuilder *b, struct tund_dataplane *dp)
{
	struct tund_prio_status st;

	tund_dataplane_prio(dp, &st);
	json_builder_set_member_name(b, TUND_KEY_REALTIME);
	json_builder_begin_object(b);
	member_bool(b, TUND_KEY_ENABLED, st.enabled);
	member_bool(b, TUND_KEY_ACTIVE, st.active);
	member_int(b, TUND_KEY_RAISED, st.raised);
	member_int(b, TUND_KEY_LOWERED_IDLE, st.lowered_idle);
	member_int(b, TUND_KEY_LOWERED_BACKLOG, st.lowered_backlog);
	json_builder_end_object(b);
}

/* "aead": which backend seals and opens transport packets (overlay/aead.h):
 * OpenSSL from openssl_from bytes up, null when never. */
static void add_aead(JsonBuilder *b)
{
	struct tund_aead_choice c;

	tund_aead_get_choice(&c);
	json_builder_set_member_name(b, TUND_KEY_AEAD);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_MODE);
	json_builder_add_string_value(b, tund_aead_mode_name(c.mode));
	json_builder_set_member_name(b, TUND_KEY_OPENSSL_FROM);
	if (c.openssl_from == SIZE_MAX)
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, (gint64)c.openssl_from);
	json_builder_end_object(b);
}

/* "crypto_workers": the crypto pool as configured and as running. */
static void add_crypto_workers(JsonBuilder *b, struct tund_daemon *d)
{
	json_builder_set_member_name(b, TUND_KEY_CRYPTO_WORKERS);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_SETTING);
	uint64_t slices;
	unsigned workers = tund_dataplane_crypto_workers(d->dp, &slices);

	json_builder_add_string_value(b, d->crypto_setting);
	member_int(b, TUND_KEY_WORKERS, workers);
	member_int(b, TUND_KEY_SLICES, slices);
	json_builder_end_object(b);
}

/* "tun_io": how packets move between the TUN device and the daemon. */
static void add_tun_io(JsonBuilder *b, struct tund_daemon *d)
{
	json_builder_set_member_name(b, TUND_KEY_TUN_IO);
	json_builder_begin_object(b);
	member_bool(b, TUND_KEY_OFFLOAD, d->cfg.offload);
	member_bool(b, TUND_KEY_USO, d->cfg.offload && d->tun_uso);
	json_builder_set_member_name(b, TUND_KEY_READER);
	json_builder_add_string_value(b, tund_dataplane_tun_uring(d->dp) ? "io_uring" : "read");
	/* tund/dataplane/tun_handoff.h */
	const char *now;
	uint64_t handoffs;

	member_bool(b, TUND_KEY_ONE_THREAD, tund_dataplane_one_thread(d->dp, &now, &handoffs));
	json_builder_set_member_name(b, TUND_KEY_ONE_THREAD_NOW);
	if (now)
		json_builder_add_string_value(b, now);
	else
		json_builder_add_null_value(b);
	member_int(b, TUND_KEY_HANDOFFS, handoffs);
	json_builder_end_object(b);
}

/* Broadcasts fanned out (and cut by the rate bound), then per network the
 * copies sent to its members and the broadcasts received from them, so a
 * user can see game discovery happening. Static peers: network null. */
struct bcast_sum {
	uint64_t sent, received;
};

static void add_broadcasts(JsonBuilder *b, struct tund_daemon *d)
{
	struct tund_wg *wg = tund_dataplane_wg(d->dp);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GArray) sums = g_array_new(FALSE, TRUE, sizeof(struct bcast_sum));
	uint64_t dropped, sent = tund_dataplane_broadcasts(d->dp, &dropped);

	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);
		struct tund_wg_peer_stats st;
		guint j;

		if (!p->wg_peer)
			continue;
		tund_wg_peer_get_stats(wg, p->wg_peer, &st);
		for (j = 0; j < names->len; j++)
			if (g_strcmp0(g_ptr_array_index(names, j), p->network) == 0)
				break;
		if (j == names->len) {
			struct bcast_sum zero = { 0, 0 };

			g_ptr_array_add(names, p->network);
			g_array_append_val(sums, zero);
		}
		g_array_index(sums, struct bcast_sum, j).sent += st.bcast_tx;
		g_array_index(sums, struct bcast_sum, j).received += st.bcast_rx;
	}
	json_builder_set_member_name(b, TUND_KEY_BROADCASTS);
	json_builder_begin_object(b);
	member_int(b, TUND_KEY_SENT, sent);
	member_int(b, TUND_KEY_DROPPED, dropped);
	json_builder_set_member_name(b, TUND_KEY_NETWORKS);
	json_builder_begin_array(b);
	for (guint j = 0; j < names->len; j++) {
		const char *name = g_ptr_array_index(names, j);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, TUND_KEY_NETWORK);
		if (name)
			json_builder_add_string_value(b, name);
		else
			json_builder_add_null_value(b);
		member_int(b, TUND_KEY_SENT, g_array_index(sums, struct bcast_sum, j).sent);
		member_int(b, TUND_KEY_RECEIVED, g_array_index(sums, struct bcast_sum, j).received);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static int cmd_status(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		      size_t why_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	char key[TUND_KEY_B64_LEN + 1], buf[TUND_CIDR_STRLEN];

	(void)req;
	(void)why;
	(void)why_len;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_INTERFACE);
	json_builder_add_string_value(b, d->ifname);
	json_builder_set_member_name(b, TUND_KEY_ADDRESSES);
	json_builder_begin_array(b);
	if (d->cfg.has_addr4) {
		tund_cidr_format(&d->cfg.addr4, buf, sizeof(buf));
		json_builder_add_string_value(b, buf);
	}
	if (d->cfg.has_addr6) {
		tund_cidr_format(&d->cfg.addr6, buf, sizeof(buf));
		json_builder_add_string_value(b, buf);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, TUND_KEY_MTU);
	json_builder_add_int_value(b, d->cfg.mtu);
	json_builder_set_member_name(b, TUND_KEY_PUBLIC_KEY);
	tund_key_encode(key, d->public_key);
	json_builder_add_string_value(b, key);
	json_builder_set_member_name(b, TUND_KEY_LISTEN_PORT);
	json_builder_add_int_value(b, d->listen_port);
	json_builder_set_member_name(b, TUND_KEY_UPTIME);
	json_builder_add_int_value(b, (g_get_monotonic_time() - d->started_us) / G_USEC_PER_SEC);
	json_builder_set_member_name(b, TUND_KEY_PEERS);
	json_builder_add_int_value(b, d->peers.items->len);
	member_int(b, TUND_KEY_ALLOCATIONS, tund_ice_allocations());
	json_builder_set_member_name(b, TUND_KEY_MAPPING);
	json_builder_add_string_value(b, tund_mapping_name(tund_mapping_get()));
	if (d->dp) {
		uint64_t drops[TUND_WG_DROP_COUNT];

		tund_wg_get_drops(tund_dataplane_wg(d->dp), drops);
		json_builder_set_member_name(b, TUND_KEY_DROPS);
		json_builder_begin_object(b);
		for (int i = 0; i < TUND_WG_DROP_COUNT; i++) {
			json_builder_set_member_name(b, tund_wg_drop_name(i));
			json_builder_add_int_value(b, (gint64)drops[i]);
		}
		json_builder_end_object(b);

		struct tund_fastpath_stats fs;

		tund_dataplane_fast_stats(d->dp, &fs);
		json_builder_set_member_name(b, TUND_KEY_FAST_PATHS);
		json_builder_begin_object(b);
		member_bool(b, TUND_KEY_ENABLED, d->cfg.ice_fast_path);
		member_int(b, TUND_KEY_PATHS, fs.paths);
		member_int(b, TUND_KEY_RELAYED, fs.relayed);
		member_int(b, TUND_KEY_RECEIVED, fs.received);
		member_int(b, TUND_KEY_FOREIGN, fs.foreign);
		member_int(b, TUND_KEY_MALFORMED, fs.malformed);
		json_builder_end_object(b);
		add_realtime(b, d->dp);
		add_broadcasts(b, d);
		add_tun_io(b, d);
		add_aead(b);
		add_crypto_workers(b, d);
		/* tund/pace.h */
		json_builder_set_member_name(b, TUND_KEY_PACING);
		json_builder_begin_object(b);
		member_int(b, TUND_KEY_PAUSES, tund_dataplane_pace_pauses(d->dp));
		json_builder_end_object(b);
		/* Member relays: what we forwarded for others, what went through
		 * relays for us, drops by reason (doc/member-relay.md). */
		json_builder_set_member_name(b, TUND_KEY_RELAY);
		json_builder_add_value(b, tund_member_relay_status(d));
	}
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

/* The configured peer plus what the data plane observed. */
static JsonNode *peer_json(struct tund_daemon *d, struct tund_peer *p)
{
	JsonNode *n = tund_peer_to_json(p, false);
	JsonObject *o = json_node_get_object(n);
	struct tund_wg_peer_stats st;
	JsonObject *drops;

	/* A member of several of our networks: one session, on its carrier. */
	if (p->state == TUND_PEER_MEMBER && !p->wg_peer) {
		struct tund_peer *c = tund_carrier_of(d, p->public_key);

		if (c && c->state == TUND_PEER_MEMBER)
			p = c;
	}
	if (!d->dp || !p->wg_peer)
		return n;
	tund_wg_peer_get_stats(tund_dataplane_wg(d->dp), p->wg_peer, &st);
	bool is_path = false;
	uint16_t family = 0;

	if (st.endpoint.addr_len)
		memcpy(&family, st.endpoint.addr, sizeof(family));
	is_path = family == TUND_AF_PATH || family == TUND_AF_RELAY;
	if (st.endpoint.addr_len && !is_path) {
		struct tund_endpoint ep = { .len = st.endpoint.addr_len };
		char text[80];

		memcpy(&ep.sa, st.endpoint.addr, st.endpoint.addr_len);
		tund_endpoint_format(&ep, text, sizeof(text));
		json_object_set_string_member(o, TUND_KEY_ENDPOINT, text);
	}
	if (p->path)
		tund_path_describe(p->path, o);
	tund_member_relay_describe(d, p, o);
	if (tund_peer_on_lan(p) && st.has_session && !is_path)
		json_object_set_string_member(o, TUND_KEY_PATH, "lan");
	else if (!p->path && st.has_session)
		json_object_set_string_member(o, TUND_KEY_PATH, "direct");
	if (st.latest_handshake)
		json_object_set_int_member(o, TUND_KEY_LATEST_HANDSHAKE, st.latest_handshake);
	if (st.rtt_ns)
		json_object_set_double_member(o, TUND_KEY_RTT_MS, (double)st.rtt_ns / 1e6);
	json_object_set_int_member(o, TUND_KEY_RX_BYTES, (gint64)st.rx_bytes);
	json_object_set_int_member(o, TUND_KEY_TX_BYTES, (gint64)st.tx_bytes);
	json_object_set_int_member(o, TUND_KEY_BROADCASTS_SENT, (gint64)st.bcast_tx);
	json_object_set_int_member(o, TUND_KEY_BROADCASTS_RECEIVED, (gint64)st.bcast_rx);
	drops = json_object_new();
	for (int i = 0; i < TUND_WG_DROP_COUNT; i++)
		json_object_set_int_member(drops, tund_wg_drop_name(i), (gint64)st.drops[i]);
	json_object_set_object_member(o, TUND_KEY_DROPS, drops);
	return n;
}

static int cmd_peers(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		     size_t why_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	(void)req;
	(void)why;
	(void)why_len;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_PEERS);
	json_builder_begin_array(b);
	for (guint i = 0; i < d->peers.items->len; i++)
		json_builder_add_value(b, peer_json(d, g_ptr_array_index(d->peers.items, i)));
	json_builder_end_array(b);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

/* Persists, or puts the list back as it was and reports why. */
static int save_or_undo(struct tund_daemon *d, char *why, size_t why_len)
{
	int ret = tund_daemon_save_peers(d);

	if (ret) {
		log_error("cannot save peers to %s: %s", d->peers_path, g_strerror(-ret));
		tund_why(why, why_len, "cannot save peers to %s: %s", d->peers_path,
			 g_strerror(-ret));
	}
	return ret;
}

static int cmd_peer_add(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			size_t why_len)
{
	struct tund_peer *p = NULL;
	char key[TUND_KEY_B64_LEN + 1];
	int ret = tund_peer_from_request(req, &p, why, why_len);

	if (ret)
		return ret;
	if (!memcmp(p->public_key, d->public_key, TUND_KEY_LEN)) {
		tund_why(why, why_len, "that is this node's own public key");
		tund_peer_free(p);
		return -EINVAL;
	}
	/* The entry being replaced leaves the data plane first (upsert frees
	 * it); if the upsert is refused it goes back. */
	struct tund_peer *old = tund_peer_list_find_key(&d->peers, p->public_key);
	if (old && old->network) {
		tund_why(why, why_len, "that key is a member of network %s; use peer block/approve",
			 old->network);
		tund_peer_free(p);
		return -EEXIST;
	}
	if (old) {
		tund_path_free(old->path);
		old->path = NULL;
	}
	if (old && d->dp)
		tund_dataplane_peer_forget(d->dp, old);
	ret = tund_peer_list_upsert(&d->peers, p, why, why_len);
	if (ret) {
		if (old && d->dp)
			tund_dataplane_peer_apply(d->dp, old);
		tund_peer_free(p);
		return ret;
	}
	if (d->dp) {
		ret = tund_dataplane_peer_apply(d->dp, p);
		if (ret)
			log_error("peer %s: cannot start its session: %s", p->name ? p->name : "",
				  g_strerror(-ret));
	}
	tund_key_encode(key, p->public_key);
	ret = save_or_undo(d, why, why_len);
	if (ret) {
		if (d->dp)
			tund_dataplane_peer_forget(d->dp, p);
		tund_peer_list_remove(&d->peers, p);
		return ret;
	}
	log_info("peer %s%s%s added", key, p->name ? " as " : "", p->name ? p->name : "");
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_PEER);
	json_builder_add_value(b, tund_peer_to_json(p, false));
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

static int cmd_peer_remove(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER); /* NULL unless a string */
	struct tund_peer *p;
	char key[TUND_KEY_B64_LEN + 1];
	int ret;

	if (!which) {
		tund_why(why, why_len, "peer.remove needs \"peer\": a public key or a name");
		return -EINVAL;
	}
	p = tund_peer_list_find(&d->peers, which);
	if (!p) {
		tund_why(why, why_len, "no such peer: %s", which);
		return -ENOENT;
	}
	tund_key_encode(key, p->public_key);
	/* Detach first so a failed save can put it back unchanged. */
	g_ptr_array_set_free_func(d->peers.items, NULL);
	g_ptr_array_remove(d->peers.items, p);
	g_ptr_array_set_free_func(d->peers.items, (GDestroyNotify)tund_peer_free);
	ret = save_or_undo(d, why, why_len);
	if (ret) {
		g_ptr_array_add(d->peers.items, p);
		return ret;
	}
	tund_path_free(p->path);
	p->path = NULL;
	if (d->dp)
		tund_dataplane_peer_forget(d->dp, p);
	tund_peer_free(p);
	log_info("peer %s removed", key);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_REMOVED);
	json_builder_add_string_value(b, key);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	return 0;
}

static const struct {
	const char *name;
	tund_command_fn fn;
} commands[] = {
	{ TUND_CMD_STATUS, cmd_status },
	{ TUND_CMD_PEERS, cmd_peers },
	{ TUND_CMD_PEER_ADD, cmd_peer_add },
	{ TUND_CMD_PEER_REMOVE, cmd_peer_remove },
	{ TUND_CMD_PEER_APPROVE, tund_cmd_peer_approve },
	{ TUND_CMD_PEER_BLOCK, tund_cmd_peer_block },
	{ TUND_CMD_PEER_UNBLOCK, tund_cmd_peer_unblock },
	{ TUND_CMD_PEER_OFFER, tund_cmd_peer_offer },
	{ TUND_CMD_PEER_ANSWER, tund_cmd_peer_answer },
	{ TUND_CMD_PEER_ACCEPT, tund_cmd_peer_accept },
	{ TUND_CMD_NETWORK_CREATE, tund_cmd_network_create },
	{ TUND_CMD_NETWORK_JOIN, tund_cmd_network_join },
	{ TUND_CMD_NETWORK_LEAVE, tund_cmd_network_leave },
	{ TUND_CMD_NETWORK_INVITE, tund_cmd_network_invite },
	{ TUND_CMD_NETWORK_INVITES, tund_cmd_network_invites },
	{ TUND_CMD_NETWORK_INVITE_REVOKE, tund_cmd_network_invite_revoke },
	{ TUND_CMD_NETWORK_REKEY, tund_cmd_network_rekey },
	{ TUND_CMD_NETWORK_RELAY, tund_cmd_network_relay },
	{ TUND_CMD_NETWORKS, tund_cmd_networks },
	{ TUND_CMD_PING, tund_cmd_ping },
	{ TUND_CMD_NETCHECK, tund_cmd_netcheck },
	{ TUND_CMD_RELOAD, tund_cmd_reload },
};

char *tund_commands_handle(void *daemon, uint64_t client, const char *line, size_t len)
{
	struct tund_daemon *d = daemon;
	g_autoptr(JsonObject) req = NULL;
	char why[TUND_WHY_LEN];
	const char *cmd = NULL;

	d->current_client = client;
	if (tund_control_decode_request(line, len, &req, &cmd, why, sizeof(why)) < 0)
		return tund_control_encode_error(why);
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		JsonNode *result = NULL;

		if (strcmp(commands[i].name, cmd))
			continue;
		/* A handler that fails without words still gets a reply. */
		snprintf(why, sizeof(why), "internal error");
		if (commands[i].fn(d, req, &result, why, sizeof(why)) < 0) {
			if (result)
				json_node_unref(result);
			return tund_control_encode_error(why);
		}
		if (!result)
			return NULL; /* answered later by tund_control_reply() */
		return tund_control_encode_ok(result);
	}
	snprintf(why, sizeof(why), "unknown command \"%.64s\"", cmd);
	return tund_control_encode_error(why);
}
