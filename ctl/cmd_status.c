// SPDX-License-Identifier: MIT
/* tundctl status: the daemon's view of its interface. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "overlay/control_proto.h"

static const char usage[] =
	"Usage: tundctl status [--json]\n"
	"\n"
	"Shows the interface, its addresses and MTU, the node's public key, the UDP\n"
	"listen port, how long tund has been running and how many peers it knows;\n"
	"how packets move, and the LAN-game broadcasts fanned out and dropped by\n"
	"the rate bound.\n"
	"\n"
	"  --json   print the daemon's result object as JSON instead of a summary\n"
	"  --help   show this help\n";

static void field(const char *label, const char *value)
{
	char *clean = tund_format_sanitize(value ? value : "-");

	printf("  %s: %s\n", label, clean);
	g_free(clean);
}

static void int_field(const char *label, JsonObject *o, const char *name)
{
	char buf[32];
	int64_t v;

	if (!tund_client_get_int(o, name, &v)) {
		field(label, NULL);
		return;
	}
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	field(label, buf);
}

/* "member relay: 12 forwarded for members, 0 sent through one, 0 received
 * through one, 0 dropped" (doc/member-relay.md); nothing when absent. */
static void print_member_relay(JsonObject *o)
{
	JsonNode *rn = json_object_get_member(o, TUND_KEY_RELAY);
	JsonObject *ro, *drops = NULL;
	int64_t fwd = 0, sent = 0, recv = 0, dropped = 0, v;
	char buf[160];

	if (!rn || !JSON_NODE_HOLDS_OBJECT(rn))
		return;
	ro = json_node_get_object(rn);
	tund_client_get_int(ro, TUND_KEY_FORWARDED, &fwd);
	tund_client_get_int(ro, TUND_KEY_RELAYED, &sent);
	tund_client_get_int(ro, TUND_KEY_RECEIVED, &recv);
	if (json_object_has_member(ro, TUND_KEY_DROPS) &&
	    JSON_NODE_HOLDS_OBJECT(json_object_get_member(ro, TUND_KEY_DROPS)))
		drops = json_object_get_object_member(ro, TUND_KEY_DROPS);
	if (drops) {
		GList *names = json_object_get_members(drops);

		for (GList *l = names; l; l = l->next)
			if (tund_client_get_int(drops, l->data, &v))
				dropped += v;
		g_list_free(names);
	}
	snprintf(buf, sizeof(buf), "%" PRId64 " forwarded for members, %" PRId64
		 " sent through one, %" PRId64 " received through one, %" PRId64 " dropped",
		 fwd, sent, recv, dropped);
	field("member relay", buf);
}

/* "broadcasts: 3 sent, 0 over the rate bound", then one line per network:
 * copies sent to its members and broadcasts received from them. */
static void print_broadcasts(JsonObject *o)
{
	JsonNode *bn = json_object_get_member(o, TUND_KEY_BROADCASTS);
	JsonObject *bo;
	JsonNode *nets;
	int64_t sent = 0, dropped = 0;
	char buf[128];

	if (!bn || !JSON_NODE_HOLDS_OBJECT(bn))
		return;
	bo = json_node_get_object(bn);
	tund_client_get_int(bo, TUND_KEY_SENT, &sent);
	tund_client_get_int(bo, TUND_KEY_DROPPED, &dropped);
	snprintf(buf, sizeof(buf), "%" PRId64 " sent, %" PRId64 " over the rate bound", sent,
		 dropped);
	field("broadcasts", buf);
	nets = json_object_get_member(bo, TUND_KEY_NETWORKS);
	if (!nets || !JSON_NODE_HOLDS_ARRAY(nets))
		return;
	for (guint i = 0; i < json_array_get_length(json_node_get_array(nets)); i++) {
		JsonNode *n = json_array_get_element(json_node_get_array(nets), i);
		const char *name;
		char label[96];
		int64_t tx = 0, rx = 0;

		if (!JSON_NODE_HOLDS_OBJECT(n))
			continue;
		name = tund_client_get_string(json_node_get_object(n), TUND_KEY_NETWORK);
		tund_client_get_int(json_node_get_object(n), TUND_KEY_SENT, &tx);
		tund_client_get_int(json_node_get_object(n), TUND_KEY_RECEIVED, &rx);
		char *clean = tund_format_sanitize(name ? name : "static peers");

		snprintf(label, sizeof(label), "broadcasts in %s", clean);
		g_free(clean);
		snprintf(buf, sizeof(buf), "%" PRId64 " copies sent to members, %" PRId64 " received",
			 tx, rx);
		field(label, buf);
	}
}

/* "crypto workers: N (setting), S slices of batches". */
static void print_crypto_workers(JsonObject *o)
{
	JsonNode *cw = json_object_get_member(o, TUND_KEY_CRYPTO_WORKERS);
	int64_t workers = 0, slices = 0;
	char buf[128];
	JsonObject *c;

	if (!cw || !JSON_NODE_HOLDS_OBJECT(cw))
		return;
	c = json_node_get_object(cw);
	tund_client_get_int(c, TUND_KEY_WORKERS, &workers);
	tund_client_get_int(c, TUND_KEY_SLICES, &slices);
	snprintf(buf, sizeof(buf), "%" PRId64 " (%s), %" PRId64 " slices of batches", workers,
		 json_object_get_string_member_with_default(c, TUND_KEY_SETTING, "?"), slices);
	field("crypto workers", buf);
}

/* Light traffic on one thread (tund/dataplane/tun_handoff.h). */
static void print_one_thread(JsonObject *t)
{
	char buf[96];
	int64_t handoffs = 0;

	if (!json_object_has_member(t, TUND_KEY_ONE_THREAD))
		return;
	tund_client_get_int(t, TUND_KEY_HANDOFFS, &handoffs);
	const char *now = tund_client_get_string(t, TUND_KEY_ONE_THREAD_NOW);

	if (!json_object_get_boolean_member_with_default(t, TUND_KEY_ONE_THREAD, FALSE))
		snprintf(buf, sizeof(buf), "off: a thread per direction always");
	else
		snprintf(buf, sizeof(buf), "%s, taken up %" PRId64 " times",
			 !now ? "not now (a thread per direction)" :
			 strcmp(now, "fast_path") == 0 ? "now, the fast path's (light traffic)" :
							  "now, the UDP thread's (light traffic)",
			 handoffs);
	field("one thread", buf);
}

/* The packet threads: fast path, TUN I/O, priority, pacing (when running). */
static void print_data_plane(JsonObject *o)
{
	char buf[96];

	JsonNode *fast = json_object_get_member(o, TUND_KEY_FAST_PATHS);

	if (fast && JSON_NODE_HOLDS_OBJECT(fast)) {
		JsonObject *f = json_node_get_object(fast);
		int64_t paths = 0, relayed = 0, received = 0;

		tund_client_get_int(f, TUND_KEY_PATHS, &paths);
		tund_client_get_int(f, TUND_KEY_RELAYED, &relayed);
		tund_client_get_int(f, TUND_KEY_RECEIVED, &received);
		if (!json_object_get_boolean_member_with_default(f, TUND_KEY_ENABLED, TRUE))
			snprintf(buf, sizeof(buf), "off ([ice] fast_path): data goes through libnice");
		else
			snprintf(buf, sizeof(buf),
				 "%" PRId64 " paths (%" PRId64 " relayed by TURN), %" PRId64
				 " datagrams",
				 paths, relayed, received);
		field("fast path", buf);
	}

	JsonNode *io = json_object_get_member(o, TUND_KEY_TUN_IO);

	if (io && JSON_NODE_HOLDS_OBJECT(io)) {
		JsonObject *t = json_node_get_object(io);
		const char *reader = json_object_get_string_member_with_default(t, TUND_KEY_READER, "read");

		snprintf(buf, sizeof(buf), "%s, reads through %s",
			 !json_object_get_boolean_member_with_default(t, TUND_KEY_OFFLOAD, FALSE) ?
				 "no offloads" :
			 json_object_get_boolean_member_with_default(t, TUND_KEY_USO, FALSE) ?
				 "offloads (TCP and UDP)" :
				 "offloads (TCP)",
			 strcmp(reader, "io_uring") == 0 ? "io_uring" : "read()");
		field("tun I/O", buf);
		print_one_thread(t);
	}

	JsonNode *aead = json_object_get_member(o, TUND_KEY_AEAD);

	if (aead && JSON_NODE_HOLDS_OBJECT(aead)) {
		JsonObject *a = json_node_get_object(aead);
		const char *mode = json_object_get_string_member_with_default(a, TUND_KEY_MODE, "?");
		int64_t from = 0;

		if (tund_client_get_int(a, TUND_KEY_OPENSSL_FROM, &from) && from == 0)
			snprintf(buf, sizeof(buf), "openssl (%s)", mode);
		else if (tund_client_get_int(a, TUND_KEY_OPENSSL_FROM, &from))
			snprintf(buf, sizeof(buf), "openssl from %" PRId64 " bytes, libsodium below (%s)",
				 from, mode);
		else
			snprintf(buf, sizeof(buf), "libsodium (%s)", mode);
		field("cipher", buf);
	}
	print_crypto_workers(o); /* after the cipher it works with */
	JsonNode *rt = json_object_get_member(o, TUND_KEY_REALTIME);

	if (rt && JSON_NODE_HOLDS_OBJECT(rt)) {
		JsonObject *r = json_node_get_object(rt);
		int64_t raised = 0;

		tund_client_get_int(r, TUND_KEY_RAISED, &raised);
		if (!json_object_get_boolean_member_with_default(r, TUND_KEY_ENABLED, FALSE))
			snprintf(buf, sizeof(buf), "off");
		else
			snprintf(buf, sizeof(buf), "%s, raised %" PRId64 " times under bulk traffic",
				 json_object_get_boolean_member_with_default(r, TUND_KEY_ACTIVE, FALSE) ?
					 "real-time now" :
					 "normal now",
				 raised);
		field("priority", buf);
	}

	JsonNode *pacing = json_object_get_member(o, TUND_KEY_PACING);
	int64_t pauses;

	if (pacing && JSON_NODE_HOLDS_OBJECT(pacing) &&
	    tund_client_get_int(json_node_get_object(pacing), TUND_KEY_PAUSES, &pauses)) {
		snprintf(buf, sizeof(buf), "paused %" PRId64 " times under small-packet floods",
			 pauses);
		field("pacing", buf);
	}
}

static void print_status(JsonObject *o)
{
	JsonNode *addrs = json_object_get_member(o, TUND_KEY_ADDRESSES);
	GString *list = g_string_new(NULL);
	const char *name = tund_client_get_string(o, TUND_KEY_INTERFACE);
	char *iface = tund_format_sanitize(name ? name : "-");
	char buf[96];
	int64_t v;

	printf("interface: %s\n", iface);
	g_free(iface);

	if (addrs && JSON_NODE_HOLDS_ARRAY(addrs)) {
		JsonArray *a = json_node_get_array(addrs);

		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *n = json_array_get_element(a, i);

			if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
				continue;
			if (list->len)
				g_string_append(list, ", ");
			g_string_append(list, json_node_get_string(n));
		}
	}
	field("addresses", list->len ? list->str : NULL);
	g_string_free(list, TRUE);

	int_field("mtu", o, TUND_KEY_MTU);
	field("public key", tund_client_get_string(o, TUND_KEY_PUBLIC_KEY));
	int_field("listen port", o, TUND_KEY_LISTEN_PORT);
	if (tund_client_get_int(o, TUND_KEY_UPTIME, &v)) {
		tund_format_duration(buf, sizeof(buf), v);
		field("uptime", buf);
	} else {
		field("uptime", NULL);
	}
	int_field("peers", o, TUND_KEY_PEERS);
	int_field("TURN allocations", o, TUND_KEY_ALLOCATIONS);
	if (tund_client_get_string(o, TUND_KEY_MAPPING))
		field("NAT mapping", tund_client_get_string(o, TUND_KEY_MAPPING));
	print_broadcasts(o);
	print_member_relay(o);

	print_data_plane(o);
}

int status_main(int argc, char **argv, const char *sock)
{
	JsonObject *req;
	JsonNode *result = NULL;
	bool json;
	int ret;

	if ((ret = ctl_parse_json_only(argc, argv, "status", usage, &json)) >= 0)
		return ret;

	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_STATUS);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	if (json)
		ctl_print_json(result);
	else if (JSON_NODE_HOLDS_OBJECT(result))
		print_status(json_node_get_object(result));
	else
		ret = ctl_fail("malformed reply from tund: status result is not an object");
	json_node_unref(result);
	return ret;
}
