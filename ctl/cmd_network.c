// SPDX-License-Identifier: MIT
/* tundctl network create|leave|invite|invites|invite-revoke|rekey|relay, networks, join. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "ctl/ice.h"
#include "overlay/cidr.h"
#include "overlay/control_proto.h"

#define ICE_FILE_MAX (1u << 20)
#define TUND_CTL_INVITE_MAX_S (366u * 86400u) /* TUND_INVITE_MAX_EXPIRES_S */

static const char network_usage[] =
	"Usage: tundctl network create NAME [OPTIONS]\n"
	"       tundctl network leave NAME\n"
	"       tundctl network invite NAME [--expires DURATION] [--uses N]\n"
	"       tundctl network invites NAME\n"
	"       tundctl network invite-revoke NAME ID\n"
	"       tundctl network rekey NAME\n"
	"       tundctl network relay NAME on|off [--rate N]\n"
	"\n"
	"Creates a network (this node becomes its first member), leaves one, prints\n"
	"a new invite for it, lists and revokes the limited invites this node\n"
	"issued as the network's admin, (its creator) gives the network a new key,\n"
	"or relays between members that cannot reach each other.\n"
	"See 'tundctl network create --help'.\n";

static const char create_usage[] =
	"Usage: tundctl network create NAME [OPTIONS]\n"
	"\n"
	"Creates the network NAME with this node as its first member and prints an\n"
	"invite (the last line) that other nodes pass to 'tundctl join'.\n"
	"\n"
	"  --prefix CIDR                 the overlay address range (default: tund picks)\n"
	"  --broker mqtt://HOST:PORT     MQTT broker used for signaling\n"
	"  --stun HOST:PORT              STUN server; may repeat\n"
	"  --turn turn://USER:PASS@HOST:PORT[?transport=udp|tcp]\n"
	"                                TURN server, USER and PASS percent-encoded;\n"
	"                                may repeat (turns:// is not supported)\n"
	"  --ice-servers FILE            read STUN and TURN servers from a WebRTC\n"
	"                                iceServers JSON array\n"
	"  --admission open|approve      whether new members need 'tundctl peer approve'\n"
	"  --no-broadcast                do not carry LAN-game broadcasts between members\n"
	"  --help                        show this help\n";

static const char leave_usage[] =
	"Usage: tundctl network leave NAME\n"
	"\n"
	"Leaves the network NAME and forgets its members.\n"
	"\n"
	"  --help   show this help\n";

static const char invite_usage[] =
	"Usage: tundctl network invite NAME [--expires DURATION] [--uses N]\n"
	"\n"
	"Prints an invite for the network NAME as the last line of output.\n"
	"\n"
	"With --expires or --uses, on the admin of a network with admission\n"
	"'approve' (its creator): a limited invite. It admits whoever joins with\n"
	"it without 'peer approve', until it expires or has been used N times,\n"
	"unless revoked ('network invite-revoke'). The admin must be online (with\n"
	"no broker: on the joiner's LAN) when it is used.\n"
	"\n"
	"  --expires DURATION   30s, 10m, 24h, 7d (at most 366d; default 24h)\n"
	"  --uses N             how many nodes may join with it (default 1)\n"
	"  --help               show this help\n";

static const char invites_usage[] =
	"Usage: tundctl network invites NAME [--json]\n"
	"\n"
	"Lists the limited invites this node issued for the network NAME: ID,\n"
	"expiry, uses left, and whether expired or revoked.\n"
	"\n"
	"  --json   print the daemon's invite array as JSON instead of a table\n"
	"  --help   show this help\n";

static const char revoke_usage[] =
	"Usage: tundctl network invite-revoke NAME ID\n"
	"\n"
	"Revokes the limited invite ID (from 'tundctl network invites NAME'): a\n"
	"node that joins with it later is refused.\n"
	"\n"
	"  --help   show this help\n";

static const char rekey_usage[] =
	"Usage: tundctl network rekey NAME\n"
	"\n"
	"On the network's creator: gives every member a new network key (sealed\n"
	"to each) and takes it into use. Invites made before no longer work (one\n"
	"that leaked, too); 'tundctl network invite NAME' prints one for the new key.\n"
	"Tunnels stay up. A block by an admin leads to this by itself.\n"
	"\n"
	"  --help   show this help\n";

static const char relay_usage[] =
	"Usage: tundctl network relay NAME on|off [--rate N]\n"
	"\n"
	"With relaying on, this node carries WireGuard datagrams between two members\n"
	"of the network that have no direct path to each other but each have one to\n"
	"this node (it sees only ciphertext). Off by default; kept across restarts.\n"
	"\n"
	"  --rate N   at most N datagrams a second for the network (default 4000,\n"
	"             1 to 1000000); what is over it is dropped and counted\n"
	"  --help     show this help\n";

static const char networks_usage[] =
	"Usage: tundctl networks [--json]\n"
	"\n"
	"Lists the networks this node belongs to: prefix, own address, broker and\n"
	"whether tund is connected to it, members, pending members, admission;\n"
	"under a network joined with a limited invite the admin refused, why.\n"
	"\n"
	"  --json   print the daemon's network array as JSON instead of a table\n"
	"  --help   show this help\n";

static const char join_usage[] =
	"Usage: tundctl join INVITE\n"
	"\n"
	"Joins the network an invite (tund1:...) describes; INVITE '-' reads it\n"
	"from standard input.\n"
	"\n"
	"  --help   show this help\n";

static JsonObject *member_object(JsonNode *result, const char *name)
{
	JsonNode *n = result && JSON_NODE_HOLDS_OBJECT(result)
			      ? json_object_get_member(json_node_get_object(result), name)
			      : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* A count given as a number or as an array of members. */
static void count_cell(char *buf, size_t len, JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);
	int64_t v;

	if (tund_client_get_int(o, name, &v))
		snprintf(buf, len, "%" PRId64, v);
	else if (n && JSON_NODE_HOLDS_ARRAY(n))
		snprintf(buf, len, "%u", json_array_get_length(json_node_get_array(n)));
	else
		snprintf(buf, len, "-");
}

static const char *connected_word(JsonObject *o)
{
	JsonNode *n = json_object_get_member(o, TUND_KEY_BROKER_CONNECTED);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return "-";
	return json_node_get_boolean(n) ? "connected" : "disconnected";
}

static void line(const char *label, const char *value)
{
	char *clean = tund_format_sanitize(value ? value : "-");

	printf("  %s: %s\n", label, clean);
	g_free(clean);
}

void ctl_print_network(JsonObject *net)
{
	const char *broker = tund_client_get_string(net, TUND_KEY_BROKER);
	char *name = tund_format_sanitize(tund_client_get_string(net, TUND_KEY_NAME)
						  ? tund_client_get_string(net, TUND_KEY_NAME)
						  : "-");
	char buf[64], *b;

	printf("network %s\n", name);
	g_free(name);
	line("prefix", tund_client_get_string(net, TUND_KEY_PREFIX));
	line("address", tund_client_get_string(net, TUND_KEY_ADDRESS));
	b = broker ? g_strdup_printf("%s (%s)", broker, connected_word(net)) : NULL;
	line("broker", b);
	g_free(b);
	count_cell(buf, sizeof(buf), net, TUND_KEY_MEMBERS);
	line("members", buf);
	count_cell(buf, sizeof(buf), net, TUND_KEY_PENDING);
	if (strcmp(buf, "-") != 0)
		line("pending", buf);
	line("admission", tund_client_get_string(net, TUND_KEY_ADMISSION));
}

/* Prints the invite as the last line, or fails when the reply has none. */
static int print_invite(JsonNode *result)
{
	const char *invite = JSON_NODE_HOLDS_OBJECT(result)
				     ? tund_client_get_string(json_node_get_object(result), TUND_KEY_INVITE)
				     : NULL;
	char *clean;

	if (!invite || !*invite)
		return ctl_fail("malformed reply from tund: no \"invite\"");
	clean = tund_format_sanitize(invite);
	printf("%s\n", clean);
	g_free(clean);
	return CTL_EXIT_OK;
}

static void add_strings(JsonObject *req, const char *name, GPtrArray *list)
{
	JsonArray *a;

	if (!list->len)
		return;
	a = json_array_new();
	for (guint i = 0; i < list->len; i++)
		json_array_add_string_element(a, g_ptr_array_index(list, i));
	json_object_set_array_member(req, name, a);
}

static int read_ice_file(const char *path, GPtrArray *stun, GPtrArray *turn)
{
	GError *err = NULL;
	gchar *text = NULL;
	gsize len = 0;
	char why[TUND_CTL_WHY_LEN];
	int ret = CTL_EXIT_OK;

	if (!g_file_get_contents(path, &text, &len, &err)) {
		ret = ctl_fail("network create: %s", err->message);
		g_error_free(err);
		return ret;
	}
	if (len > ICE_FILE_MAX)
		ret = ctl_usage_error("network create: %s: larger than %u bytes", path,
				      ICE_FILE_MAX);
	else if (tund_ice_parse_servers(text, len, stun, turn, why, sizeof(why)) < 0)
		ret = ctl_usage_error("network create: %s: %s", path, why);
	g_free(text);
	return ret;
}

struct create_args {
	GPtrArray *stun, *turn; /* g_free'd strings */
	const char *broker, *admission, *ice;
	bool no_broadcast;
	char prefix[TUND_CIDR_STRLEN];
};

/* One option of network create (not --help); false after the message for a
 * bad value. */
static bool create_option(int c, struct create_args *a)
{
	struct tund_cidr cidr;
	char why[256];

	switch (c) {
	case 'p':
		if (!tund_cidr_parse(&cidr, optarg, false)) {
			ctl_usage_error("network create: bad prefix '%s' (want CIDR, "
					"e.g. 10.77.0.0/16)", optarg);
			return false;
		}
		tund_cidr_mask(&cidr);
		tund_cidr_format(&cidr, a->prefix, sizeof(a->prefix));
		return true;
	case 'b':
		if (!tund_ice_check_broker(optarg, why, sizeof(why))) {
			ctl_usage_error("network create: %s", why);
			return false;
		}
		a->broker = optarg;
		return true;
	case 's':
		if (!tund_ice_check_stun(optarg, why, sizeof(why))) {
			ctl_usage_error("network create: bad STUN server: %s", why);
			return false;
		}
		g_ptr_array_add(a->stun, g_strdup(optarg));
		return true;
	case 't':
		if (!tund_ice_check_turn(optarg, why, sizeof(why))) {
			ctl_usage_error("network create: %s", why);
			return false;
		}
		g_ptr_array_add(a->turn, g_strdup(optarg));
		return true;
	case 'i':
		a->ice = optarg;
		return true;
	case 'a':
		if (strcmp(optarg, "open") != 0 && strcmp(optarg, "approve") != 0) {
			ctl_usage_error("network create: --admission must be open or "
					"approve, not '%s'", optarg);
			return false;
		}
		a->admission = optarg;
		return true;
	case 'B':
		a->no_broadcast = true;
		return true;
	default:
		return false;
	}
}

static JsonObject *create_request(const char *name, const struct create_args *a)
{
	JsonObject *req = json_object_new();

	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_CREATE);
	json_object_set_string_member(req, TUND_KEY_NAME, name);
	if (*a->prefix)
		json_object_set_string_member(req, TUND_KEY_PREFIX, a->prefix);
	if (a->broker)
		json_object_set_string_member(req, TUND_KEY_BROKER, a->broker);
	add_strings(req, TUND_KEY_STUN, a->stun);
	add_strings(req, TUND_KEY_TURN, a->turn);
	if (a->admission)
		json_object_set_string_member(req, TUND_KEY_ADMISSION, a->admission);
	if (a->no_broadcast)
		json_object_set_boolean_member(req, TUND_KEY_BROADCAST, FALSE);
	return req;
}

static int print_created(JsonNode *result, const char *name)
{
	JsonObject *net = member_object(result, TUND_KEY_NETWORK);

	if (net) {
		fputs("created ", stdout);
		ctl_print_network(net);
	} else {
		char *n = tund_format_sanitize(name);

		printf("created network %s\n", n);
		g_free(n);
	}
	puts("invite (give it to 'tundctl join' on the other node):");
	return print_invite(result);
}

static int network_create(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "broker", required_argument, NULL, 'b' },
		{ "stun", required_argument, NULL, 's' },
		{ "turn", required_argument, NULL, 't' },
		{ "ice-servers", required_argument, NULL, 'i' },
		{ "admission", required_argument, NULL, 'a' },
		{ "no-broadcast", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = { .stun = g_ptr_array_new_with_free_func(g_free),
				 .turn = g_ptr_array_new_with_free_func(g_free) };
	JsonNode *result = NULL;
	char why[256];
	int c, ret = CTL_EXIT_USAGE;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "network create", opts)) != -1) {
		if (c == 'h') {
			fputs(create_usage, stdout);
			ret = CTL_EXIT_OK;
			goto out;
		}
		if (!create_option(c, &a))
			goto out;
	}
	if (optind >= argc) {
		ctl_usage_error("network create: missing NAME (see 'tundctl network create "
				"--help')");
		goto out;
	}
	if (optind + 1 < argc) {
		ctl_usage_error("network create: unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (!tund_args_check_network(argv[optind], why, sizeof(why))) {
		ctl_usage_error("network create: %s", why);
		goto out;
	}
	if (a.ice && (ret = read_ice_file(a.ice, a.stun, a.turn)))
		goto out;
	ret = ctl_call(sock, create_request(argv[optind], &a), &result);
	if (!ret)
		ret = print_created(result, argv[optind]);
out:
	if (result)
		json_node_unref(result);
	g_ptr_array_free(a.stun, TRUE);
	g_ptr_array_free(a.turn, TRUE);
	return ret;
}

/* leave: one NAME, one request {"cmd", "name"}. */
static int network_name_cmd(int argc, char **argv, const char *sock, const char *what,
			    const char *cmd, const char *usage)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	JsonNode *result = NULL;
	JsonObject *req;
	char why[160];
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, what, opts)) != -1) {
		if (c != 'h')
			return CTL_EXIT_USAGE;
		fputs(usage, stdout);
		return CTL_EXIT_OK;
	}
	if (optind >= argc)
		return ctl_usage_error("%s: missing NAME", what);
	if (optind + 1 < argc)
		return ctl_usage_error("%s: unexpected argument '%s'", what, argv[optind + 1]);
	if (!tund_args_check_network(argv[optind], why, sizeof(why)))
		return ctl_usage_error("%s: %s", what, why);
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, cmd);
	json_object_set_string_member(req, TUND_KEY_NAME, argv[optind]);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	char *n = tund_format_sanitize(argv[optind]);

	printf("left network %s\n", n);
	g_free(n);
	json_node_unref(result);
	return ret;
}

/* --expires and --uses of network invite; false after the message. */
static bool invite_option(int c, JsonObject *req)
{
	unsigned v;

	if (c == 'e') {
		if (!tund_args_parse_duration(optarg, TUND_CTL_INVITE_MAX_S, &v)) {
			ctl_usage_error("network invite: --expires: expected a duration such as 30s, "
					"10m, 24h or 7d, at most 366d (got '%s')", optarg);
			return false;
		}
		json_object_set_int_member(req, TUND_KEY_EXPIRES_S, v);
		return true;
	}
	if (c == 'u') {
		if (!tund_args_parse_uint(optarg, 1, 1000000, &v)) {
			ctl_usage_error("network invite: --uses: expected a number from 1 to "
					"1000000 (got '%s')", optarg);
			return false;
		}
		json_object_set_int_member(req, TUND_KEY_USES, v);
		return true;
	}
	return false;
}

/* A limited invite's id, uses and expiry, then the invite (the last line). */
static int print_limited(JsonNode *result)
{
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(result) ? json_node_get_object(result) : NULL;
	const char *id = o ? tund_client_get_string(o, TUND_KEY_ID) : NULL;
	const char *at = o ? tund_client_get_string(o, TUND_KEY_EXPIRES_AT) : NULL;
	int64_t uses = 0;

	if (id && at && tund_client_get_int(o, TUND_KEY_USES, &uses)) {
		char *cid = tund_format_sanitize(id), *cat = tund_format_sanitize(at);

		printf("limited invite %s: %" PRId64 " use%s, expires %s\n", cid, uses,
		       uses == 1 ? "" : "s", cat);
		g_free(cid);
		g_free(cat);
	}
	return print_invite(result);
}

static int network_invite(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "expires", required_argument, NULL, 'e' },
		{ "uses", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	JsonObject *req = json_object_new();
	JsonNode *result = NULL;
	char why[160];
	int c, ret = CTL_EXIT_USAGE;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "network invite", opts)) != -1) {
		if (c == 'h') {
			fputs(invite_usage, stdout);
			ret = CTL_EXIT_OK;
			goto out;
		}
		if (!invite_option(c, req))
			goto out;
	}
	if (optind >= argc) {
		ctl_usage_error("network invite: missing NAME");
		goto out;
	}
	if (optind + 1 < argc) {
		ctl_usage_error("network invite: unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (!tund_args_check_network(argv[optind], why, sizeof(why))) {
		ctl_usage_error("network invite: %s", why);
		goto out;
	}
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_INVITE);
	json_object_set_string_member(req, TUND_KEY_NAME, argv[optind]);
	ret = ctl_call(sock, json_object_ref(req), &result);
	if (!ret)
		ret = print_limited(result);
out:
	json_object_unref(req);
	if (result)
		json_node_unref(result);
	return ret;
}

/* NAME and the given number of further operands, after --help/--json. */
static int name_operands(int argc, char **argv, const char *what, const char *usage,
			 int extra, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char why[160];
	int c;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, what, opts)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return CTL_EXIT_OK;
		}
		if (c != 'j' || !json)
			return c == 'j' ? ctl_usage_error("%s: unknown option '--json'", what) :
					  CTL_EXIT_USAGE;
		*json = true;
	}
	if (argc - optind < 1 + extra)
		return ctl_usage_error("%s: missing %s", what, optind >= argc ? "NAME" : "ID");
	if (argc - optind > 1 + extra)
		return ctl_usage_error("%s: unexpected argument '%s'", what,
				       argv[optind + 1 + extra]);
	if (!tund_args_check_network(argv[optind], why, sizeof(why)))
		return ctl_usage_error("%s: %s", what, why);
	return -1;
}

static void invite_row(struct tund_table *t, JsonObject *o)
{
	JsonNode *rv = json_object_get_member(o, TUND_KEY_REVOKED);
	JsonNode *ex = json_object_get_member(o, TUND_KEY_EXPIRED);
	int64_t left = 0;
	char uses[32];
	const char *cells[4], *state = "valid";

	if (tund_client_get_int(o, TUND_KEY_USES_LEFT, &left))
		snprintf(uses, sizeof(uses), "%" PRId64, left);
	else
		snprintf(uses, sizeof(uses), "-");
	if (rv && JSON_NODE_HOLDS_VALUE(rv) && json_node_get_value_type(rv) == G_TYPE_BOOLEAN &&
	    json_node_get_boolean(rv))
		state = "revoked";
	else if (ex && JSON_NODE_HOLDS_VALUE(ex) &&
		 json_node_get_value_type(ex) == G_TYPE_BOOLEAN && json_node_get_boolean(ex))
		state = "expired";
	else if (left == 0)
		state = "used";
	cells[0] = tund_client_get_string(o, TUND_KEY_ID);
	cells[1] = tund_client_get_string(o, TUND_KEY_EXPIRES_AT);
	cells[2] = uses;
	cells[3] = state;
	tund_table_add(t, cells);
}

static int print_invites(JsonNode *result, bool json)
{
	static const char *const headers[] = { "ID", "EXPIRES", "USES LEFT", "STATE" };
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(result) ? json_node_get_object(result) : NULL;
	JsonNode *list = o ? json_object_get_member(o, TUND_KEY_INVITES) : NULL;
	struct tund_table *t;
	JsonArray *a;

	if (!list || !JSON_NODE_HOLDS_ARRAY(list))
		return ctl_fail("malformed reply from tund: no \"invites\"");
	if (json) {
		ctl_print_json(list);
		return CTL_EXIT_OK;
	}
	a = json_node_get_array(list);
	if (!json_array_get_length(a)) {
		puts("no limited invites");
		return CTL_EXIT_OK;
	}
	t = tund_table_new(G_N_ELEMENTS(headers), headers);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);

		if (JSON_NODE_HOLDS_OBJECT(e))
			invite_row(t, json_node_get_object(e));
	}
	tund_table_print(t, stdout);
	tund_table_free(t);
	return CTL_EXIT_OK;
}

static int network_invites(int argc, char **argv, const char *sock)
{
	JsonNode *result = NULL;
	JsonObject *req;
	bool json = false;
	int ret = name_operands(argc, argv, "network invites", invites_usage, 0, &json);

	if (ret >= 0)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_INVITES);
	json_object_set_string_member(req, TUND_KEY_NAME, argv[optind]);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	ret = print_invites(result, json);
	json_node_unref(result);
	return ret;
}

static int network_invite_revoke(int argc, char **argv, const char *sock)
{
	JsonNode *result = NULL;
	JsonObject *req;
	const char *id;
	int ret = name_operands(argc, argv, "network invite-revoke", revoke_usage, 1, NULL);

	if (ret >= 0)
		return ret;
	id = argv[optind + 1];
	if (strlen(id) != 8 || strspn(id, "0123456789abcdefABCDEF") != 8)
		return ctl_usage_error("network invite-revoke: ID: expected the 8 hex characters "
				       "'tundctl network invites' shows (got '%s')", id);
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_INVITE_REVOKE);
	json_object_set_string_member(req, TUND_KEY_NAME, argv[optind]);
	json_object_set_string_member(req, TUND_KEY_ID, id);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	char *n = tund_format_sanitize(argv[optind]);
	printf("revoked invite %s of network %s\n", id, n);
	g_free(n);
	json_node_unref(result);
	return CTL_EXIT_OK;
}

static int network_rekey(int argc, char **argv, const char *sock)
{
	JsonNode *result = NULL;
	JsonObject *req;
	int ret = name_operands(argc, argv, "network rekey", rekey_usage, 0, NULL);

	if (ret >= 0)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_REKEY);
	json_object_set_string_member(req, TUND_KEY_NAME, argv[optind]);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	char *n = tund_format_sanitize(argv[optind]);
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(result) ? json_node_get_object(result) : NULL;
	printf("network %s: new key (epoch %" G_GINT64_FORMAT "); invites made before no longer "
	       "work\n", n, o ? json_object_get_int_member_with_default(o, TUND_KEY_EPOCH, 0) : 0);
	g_free(n);
	json_node_unref(result);
	return CTL_EXIT_OK;
}

static int network_relay(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	JsonNode *result = NULL;
	JsonObject *req, *o;
	long long rate = 0;
	char why[160], *end;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "network relay", opts)) != -1) {
		if (c == 'h') {
			fputs(relay_usage, stdout);
			return CTL_EXIT_OK;
		}
		if (c != 'r')
			return CTL_EXIT_USAGE;
		rate = strtoll(optarg, &end, 10);
		if (*optarg == '\0' || *end != '\0' || rate < 1 || rate > 1000000)
			return ctl_usage_error("network relay: --rate: expected a whole number from 1 "
					       "to 1000000 (got '%s')", optarg);
	}
	if (argc - optind != 2 || (strcmp(argv[optind + 1], "on") && strcmp(argv[optind + 1], "off")))
		return ctl_usage_error("network relay: expected NAME and on or off");
	if (!tund_args_check_network(argv[optind], why, sizeof(why)))
		return ctl_usage_error("network relay: %s", why);
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_RELAY);
	json_object_set_string_member(req, TUND_KEY_NAME, argv[optind]);
	json_object_set_boolean_member(req, TUND_KEY_RELAY, !strcmp(argv[optind + 1], "on"));
	if (rate)
		json_object_set_int_member(req, TUND_KEY_RATE, rate);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	o = JSON_NODE_HOLDS_OBJECT(result) ? json_node_get_object(result) : NULL;
	char *n = tund_format_sanitize(argv[optind]);
	if (o && json_object_get_boolean_member_with_default(o, TUND_KEY_RELAY, false))
		printf("network %s: relaying on (at most %" G_GINT64_FORMAT " datagrams/s)\n", n,
		       json_object_get_int_member_with_default(o, TUND_KEY_RATE, 0));
	else
		printf("network %s: relaying off\n", n);
	g_free(n);
	json_node_unref(result);
	return CTL_EXIT_OK;
}

int network_main(int argc, char **argv, const char *sock)
{
	if (argc < 2)
		return ctl_usage_error("network: missing subcommand: create, leave, invite, invites, "
				       "invite-revoke, rekey or relay (see 'tundctl network --help')");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(network_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "create") == 0)
		return network_create(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "leave") == 0)
		return network_name_cmd(argc - 1, argv + 1, sock, "network leave",
					TUND_CMD_NETWORK_LEAVE, leave_usage);
	if (strcmp(argv[1], "invite") == 0)
		return network_invite(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "invites") == 0)
		return network_invites(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "invite-revoke") == 0)
		return network_invite_revoke(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "rekey") == 0)
		return network_rekey(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "relay") == 0)
		return network_relay(argc - 1, argv + 1, sock);
	return ctl_usage_error("network: unknown subcommand '%s' (see 'tundctl network --help')",
			       argv[1]);
}

int networks_main(int argc, char **argv, const char *sock)
{
	static const char *const headers[] = {
		"NAME", "PREFIX", "ADDRESS", "BROKER", "MEMBERS", "PENDING", "ADMISSION",
	};
	JsonNode *result = NULL;
	struct tund_table *t;
	JsonArray *a;
	int ret;

	ret = ctl_list(argc, argv, sock, TUND_CMD_NETWORKS, networks_usage, &result, &a);
	if (ret || !a)
		goto out;
	if (!json_array_get_length(a)) {
		puts("no networks");
		goto out;
	}
	t = tund_table_new(G_N_ELEMENTS(headers), headers);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		char members[32], pending[32], *broker = NULL;
		const char *cells[7];
		JsonObject *o;

		if (!JSON_NODE_HOLDS_OBJECT(n))
			continue;
		o = json_node_get_object(n);
		count_cell(members, sizeof(members), o, TUND_KEY_MEMBERS);
		count_cell(pending, sizeof(pending), o, TUND_KEY_PENDING);
		if (tund_client_get_string(o, TUND_KEY_BROKER))
			broker = g_strdup_printf("%s %s", tund_client_get_string(o, TUND_KEY_BROKER),
						 connected_word(o));
		cells[0] = tund_client_get_string(o, TUND_KEY_NAME);
		cells[1] = tund_client_get_string(o, TUND_KEY_PREFIX);
		cells[2] = tund_client_get_string(o, TUND_KEY_ADDRESS);
		cells[3] = broker;
		cells[4] = members;
		cells[5] = pending;
		cells[6] = tund_client_get_string(o, TUND_KEY_ADMISSION);
		tund_table_add(t, cells);
		if (tund_client_get_string(o, TUND_KEY_JOIN_REFUSED)) {
			char *note = g_strdup_printf("join refused by the admin: %s",
						     tund_client_get_string(o, TUND_KEY_JOIN_REFUSED));
			tund_table_note(t, note);
			g_free(note);
		}
		g_free(broker);
	}
	tund_table_print(t, stdout);
	tund_table_free(t);
out:
	if (result)
		json_node_unref(result);
	return ret;
}

int join_main(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	JsonNode *result = NULL;
	JsonObject *req, *net;
	char *invite = NULL;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "join", opts)) != -1) {
		if (c != 'h')
			return CTL_EXIT_USAGE;
		fputs(join_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (optind >= argc)
		return ctl_usage_error("join: missing INVITE (see 'tundctl join --help')");
	if (optind + 1 < argc)
		return ctl_usage_error("join: unexpected argument '%s'", argv[optind + 1]);
	ret = ctl_read_token(argv[optind], "join", "tund1:", "an invite", &invite);
	if (ret)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETWORK_JOIN);
	json_object_set_string_member(req, TUND_KEY_INVITE, invite);
	g_free(invite);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	net = member_object(result, TUND_KEY_NETWORK);
	if (net) {
		fputs("joined ", stdout);
		ctl_print_network(net);
	} else {
		puts("joined the network");
	}
	json_node_unref(result);
	return CTL_EXIT_OK;
}
