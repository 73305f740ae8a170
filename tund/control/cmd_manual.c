// SPDX-License-Identifier: MIT
/* Manual signaling for friends without a broker: offer, answer, accept.
 * Each blob is one sealed signaling message with the ICE credentials and
 * every candidate, as text to paste into a chat. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "overlay/network.h"
#include "overlay/signal.h"
#include "tund/control/commands.h"
#include "tund/control/control.h"
#include "tund/control/control_codec.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/daemon/log.h"
#include "tund/connect/membership.h"
#include "tund/connect/ice_config.h"
#include "tund/connect/path.h"
#include "overlay/control_proto.h"

enum { BLOB_MAX = 16384 };

struct pending_blob {
	struct tund_daemon *d;
	uint64_t client;
	struct tund_peer *peer;
	uint8_t netkey[32];
	uint8_t netid[16];
};

static void no_send(struct tund_daemon *d, struct tund_peer *p, struct tund_signal *m)
{
	/* No channel after the blobs: trickle and restarts cannot be told. */
	(void)d;
	(void)p;
	(void)m;
}

/* Every way a pending blob ends comes here: its copy of the key goes. */
static void blob_free(void *ctx)
{
	struct pending_blob *pb = ctx;

	sodium_memzero(pb, sizeof(*pb));
	g_free(pb);
}

static void blob_ready(void *ctx, const struct tund_signal *m_in)
{
	struct pending_blob *pb = ctx;
	struct tund_daemon *d = pb->d;
	struct tund_signal m = *m_in;
	uint8_t *bin = g_malloc(BLOB_MAX);
	char *text = g_malloc(BLOB_MAX * 2);
	size_t len;

	memcpy(m.netid, pb->netid, 16);
	memcpy(m.sender, d->public_key, 32);
	memcpy(m.recipient, pb->peer->public_key, 32);
	m.time_ms = (uint64_t)(g_get_real_time() / 1000);
	len = tund_signal_seal(&m, pb->netkey, d->private_key, bin, BLOB_MAX);
	if (len && tund_signal_to_text(bin, len, text, BLOB_MAX * 2)) {
		g_autoptr(JsonBuilder) b = json_builder_new();

		json_builder_begin_object(b);
		json_builder_set_member_name(b, TUND_KEY_BLOB);
		json_builder_add_string_value(b, text);
		json_builder_end_object(b);
		tund_control_reply(d->control, pb->client,
				   tund_control_encode_ok(json_builder_get_root(b)));
	} else {
		tund_control_reply(d->control, pb->client,
				   tund_control_encode_error("cannot seal the blob"));
	}
	sodium_memzero(&m, sizeof(m));
	blob_free(pb);
	g_free(bin);
	g_free(text);
}

/* The path went before its blob was ready (a newer offer or answer for the
 * same peer, the peer removed, shutdown): the client waiting is told. */
static void blob_gone(void *ctx)
{
	struct pending_blob *pb = ctx;

	if (pb->d->control)
		tund_control_reply(pb->d->control, pb->client,
				   tund_control_encode_error("cancelled: a newer offer or answer "
							     "for this peer, or the peer is gone"));
	blob_free(pb);
}

/* Replaces the peer's path with a manual one in the given role. */
static struct tund_path *manual_path(struct tund_daemon *d, struct tund_peer *p, bool controlling,
				     const struct tund_network *net, uint64_t client)
{
	struct tund_ice_server_config cfg;
	struct pending_blob *pb = g_new0(struct pending_blob, 1);

	tund_path_free(p->path);
	tund_ice_config_for(d, net, &cfg);
	p->path = tund_path_new(d, p, &cfg, controlling, no_send);
	sodium_memzero(&cfg, sizeof(cfg));
	pb->d = d;
	pb->client = client;
	pb->peer = p;
	if (net) {
		memcpy(pb->netkey, net->key, 32);
		tund_network_id(net->key, pb->netid);
	}
	tund_path_manual(p->path, blob_ready, blob_gone, pb);
	if (d->dp && !p->wg_peer)
		tund_dataplane_peer_apply(d->dp, p);
	return p->path;
}

int tund_cmd_peer_offer(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			size_t why_len)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER);
	const char *netname = tund_req_string(req, TUND_KEY_NETWORK);
	struct tund_peer *p = which ? tund_peer_list_find(&d->peers, which) : NULL;
	struct tund_membership *n = NULL;

	(void)out; /* the blob comes when gathering is done */
	if (!p) {
		tund_why(why, why_len, "no such peer: %s (add it first with tundctl peer add)",
			 which ? which : "(none given)");
		return -ENOENT;
	}
	if (p->state == TUND_PEER_BLOCKED || p->state == TUND_PEER_PENDING) {
		tund_why(why, why_len, "peer is %s", tund_peer_state_name(p->state));
		return -EPERM;
	}
	if (netname || p->network) {
		n = tund_membership_find(d, netname ? netname : p->network);
		if (!n) {
			tund_why(why, why_len, "no network called \"%s\"",
				 netname ? netname : p->network);
			return -ENOENT;
		}
	}
	tund_path_start(manual_path(d, p, true, n ? tund_membership_effective(n) : NULL,
				    d->current_client));
	return 0;
}

/* Opens a blob under any of our networks' keys, or the no-network key. */
static bool open_blob(struct tund_daemon *d, const char *text, struct tund_signal *m,
		      struct tund_membership **net, char *why, size_t why_len)
{
	uint8_t *bin = g_malloc(BLOB_MAX);
	static const uint8_t zero[32];
	size_t len;
	bool ok = false;

	*net = NULL;
	while (text && g_ascii_isspace(*text))
		text++;
	if (text && g_str_has_prefix(text, TUND_SIGNAL_TEXT_PREFIX_V1)) {
		tund_why(why, why_len, "blob: a " TUND_SIGNAL_TEXT_PREFIX_V1 " blob from an older "
			 "tund; upgrade that node (this one speaks " TUND_SIGNAL_TEXT_PREFIX ")");
		goto out;
	}
	if (!text || !(len = tund_signal_from_text(text, bin, BLOB_MAX))) {
		tund_why(why, why_len, "blob: not a " TUND_SIGNAL_TEXT_PREFIX " blob");
		goto out;
	}
	for (guint i = 0; d->networks && i <= d->networks->len && !ok; i++) {
		struct tund_membership *n = i < d->networks->len ? g_ptr_array_index(d->networks, i) : NULL;
		const uint8_t *key = n ? tund_membership_network(n)->key : zero;

		if (tund_signal_open(bin, len, key, d->private_key, d->public_key, m) ==
		    TUND_SIGNAL_OK) {
			ok = true;
			*net = n;
		}
	}
	if (!ok)
		tund_why(why, why_len, "blob: not for this node, from another network, or damaged");
	else if ((uint64_t)(g_get_real_time() / 1000) > m->time_ms + 3600 * 1000) {
		tund_why(why, why_len, "blob: older than an hour; ask for a new one");
		ok = false;
	}
out:
	g_free(bin);
	return ok;
}

int tund_cmd_peer_answer(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			 size_t why_len)
{
	struct tund_signal *m = g_new0(struct tund_signal, 1);
	struct tund_membership *n;
	struct tund_peer *p;
	int ret = -EINVAL;

	(void)out; /* the answer blob comes after gathering */
	if (!open_blob(d, tund_req_string(req, TUND_KEY_BLOB), m, &n, why, why_len))
		goto out;
	if (m->type != TUND_SIGNAL_OFFER) {
		tund_why(why, why_len, "blob: not an offer (use peer accept for an answer)");
		goto out;
	}
	p = tund_peer_list_find_key(&d->peers, m->sender);
	if (!p || p->state == TUND_PEER_BLOCKED || p->state == TUND_PEER_PENDING) {
		char key[TUND_KEY_B64_LEN + 1];

		tund_key_encode(key, m->sender);
		tund_why(why, why_len, "the offer is from %s, which is %s; add or approve it first",
			 key, p ? tund_peer_state_name(p->state) : "not a peer");
		ret = -EPERM;
		goto out;
	}
	tund_path_on_signal(manual_path(d, p, false, n ? tund_membership_effective(n) : NULL,
					d->current_client),
			    m);
	ret = 0;
out:
	sodium_memzero(m, sizeof(*m));
	g_free(m);
	return ret;
}

int tund_cmd_peer_accept(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			 size_t why_len)
{
	struct tund_signal *m = g_new0(struct tund_signal, 1);
	g_autoptr(JsonBuilder) b = json_builder_new();
	struct tund_membership *n;
	struct tund_peer *p;
	int ret = -EINVAL;
	char key[TUND_KEY_B64_LEN + 1];

	if (!open_blob(d, tund_req_string(req, TUND_KEY_BLOB), m, &n, why, why_len))
		goto out;
	p = tund_peer_list_find_key(&d->peers, m->sender);
	if (m->type != TUND_SIGNAL_ANSWER || !p || !p->path) {
		tund_why(why, why_len, "blob: not an answer to an offer of ours");
		goto out;
	}
	tund_path_on_signal(p->path, m);
	tund_key_encode(key, p->public_key);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_PEER);
	json_builder_add_string_value(b, key);
	json_builder_end_object(b);
	*out = json_builder_get_root(b);
	ret = 0;
out:
	sodium_memzero(m, sizeof(*m));
	g_free(m);
	return ret;
}
