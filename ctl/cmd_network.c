// SPDX-License-Identifier: MIT
/* tundctl network create|leave|invite, networks, join. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "ctl/ice.h"
#include "overlay/cidr.h"
#include "overlay/control_proto.h"

#define ICE_FILE_MAX (1u << 20)

static const char network_usage[] =
	"Usage: tundctl network create NAME [OPTIONS]\n"
	"       tundctl network leave NAME\n"
	"       tundctl network invite NAME\n"
	"\n"
	"Creates a network (this node becomes its first member), leaves one, or\n"
	"prints a new invite for it. See 'tundctl network create --help'.\n";

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
	"Usage: tundctl network invite NAME\n"
	"\n"
	"Prints an invite for the network NAME as the last line of output.\n"
	"\n"
	"  --help   show this help\n";

static const char networks_usage[] =
	"Usage: tundctl networks [--json]\n"
	"\n"
	"Lists the networks this node belongs to: prefix, own address, broker and\n"
	"whether tund is connected to it, members, pending members, admission.\n"
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

/* leave and invite: one NAME, one request {"cmd", "name"}. */
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
	if (strcmp(cmd, TUND_CMD_NETWORK_INVITE) == 0) {
		ret = print_invite(result);
	} else {
		char *n = tund_format_sanitize(argv[optind]);

		printf("left network %s\n", n);
		g_free(n);
	}
	json_node_unref(result);
	return ret;
}

int network_main(int argc, char **argv, const char *sock)
{
	if (argc < 2)
		return ctl_usage_error("network: missing subcommand: create, leave or invite "
				       "(see 'tundctl network --help')");
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
		return network_name_cmd(argc - 1, argv + 1, sock, "network invite",
					TUND_CMD_NETWORK_INVITE, invite_usage);
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
