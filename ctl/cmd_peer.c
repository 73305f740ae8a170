// SPDX-License-Identifier: MIT
/* tundctl peers, peer add, peer remove. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/args.h"
#include "ctl/client.h"
#include "overlay/signal.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "overlay/keys.h"
#include "overlay/control_proto.h"

static const char peers_usage[] =
	"Usage: tundctl peers [--json]\n"
	"\n"
	"Lists the peers tund knows: name, public key, endpoint, allowed IPs, current\n"
	"path, time since the latest handshake, and bytes received and sent. Peers of\n"
	"networks add NETWORK, STATE (static, pending, member, blocked) and RTT\n"
	"columns, the candidate pair after the path (\"relay (srflx→relay)\") and\n"
	"their last error on an indented line; local and remote addresses are in\n"
	"--json only.\n"
	"\n"
	"  --json   print the daemon's peer array as JSON instead of a table\n"
	"  --help   show this help\n";

static const char peer_usage[] =
	"Usage: tundctl peer add KEY [--name NAME] [--endpoint HOST:PORT]\n"
	"                            [--allowed-ips CIDR[,CIDR...]] [--psk-file FILE]\n"
	"       tundctl peer remove KEY|NAME\n"
	"       tundctl peer approve|block|unblock KEY|NAME\n"
	"       tundctl peer offer KEY|NAME [--network NAME]\n"
	"       tundctl peer answer BLOB|-\n"
	"       tundctl peer accept BLOB|-\n"
	"\n"
	"Adds or removes a static peer, admits a pending network member, blocks or\n"
	"unblocks a peer, or connects to one by copying signaling blobs by hand.\n"
	"See 'tundctl peer SUBCOMMAND --help'.\n";

static const char approve_usage[] =
	"Usage: tundctl peer approve [--admin] [--network NAME] KEY|NAME\n"
	"\n"
	"Admits a member waiting to join a network with admission 'approve'.\n"
	"\n"
	"  --admin           on the network's creator: admit it (or make a member)\n"
	"                    an admin, which approves and blocks members too\n"
	"  --network NAME    the network, when the key is in several of ours\n"
	"  --help            show this help\n";

static const char block_usage[] =
	"Usage: tundctl peer block [--network NAME] KEY|NAME\n"
	"\n"
	"Blocks a peer: tund drops its packets and refuses its handshakes.\n"
	"\n"
	"  --network NAME    the network, when the key is in several of ours\n"
	"  --help            show this help\n";

static const char unblock_usage[] =
	"Usage: tundctl peer unblock [--network NAME] KEY|NAME\n"
	"\n"
	"Lifts a block set with 'tundctl peer block'.\n"
	"\n"
	"  --network NAME    the network, when the key is in several of ours\n"
	"  --help            show this help\n";

static const char offer_usage[] =
	"Usage: tundctl peer offer KEY|NAME [--network NAME]\n"
	"\n"
	"Manual signaling, without a broker: prints an offer blob (tund-sig2:...,\n"
	"the last line) to pass to 'tundctl peer answer' on the peer's node.\n"
	"\n"
	"  --network NAME   the network the peer belongs to\n"
	"  --help           show this help\n";

static const char answer_usage[] =
	"Usage: tundctl peer answer BLOB\n"
	"\n"
	"Manual signaling: answers an offer blob from 'tundctl peer offer' and prints\n"
	"the reply blob (the last line) to pass to 'tundctl peer accept' on the\n"
	"offering node. BLOB '-' reads it from standard input.\n"
	"\n"
	"  --help   show this help\n";

static const char accept_usage[] =
	"Usage: tundctl peer accept BLOB\n"
	"\n"
	"Manual signaling: completes an offer with the reply blob from 'tundctl peer\n"
	"answer' and prints the peer it connected to. BLOB '-' reads standard input.\n"
	"\n"
	"  --help   show this help\n";

static const char add_usage[] =
	"Usage: tundctl peer add KEY [OPTIONS]\n"
	"\n"
	"Adds a static peer with the public key KEY (44 characters of base64, as\n"
	"printed by 'tundctl pubkey' or 'wg pubkey').\n"
	"\n"
	"  --name NAME                  a name to show and to remove the peer by\n"
	"  --endpoint HOST:PORT         where to reach it; IPv6 as [ADDRESS]:PORT\n"
	"  --allowed-ips CIDR[,CIDR...] addresses it may send from and is routed;\n"
	"                               a bare address means a single host; may repeat\n"
	"  --psk-file FILE              file holding a base64 preshared key\n"
	"  --help                       show this help\n";

static const char remove_usage[] =
	"Usage: tundctl peer remove KEY|NAME\n"
	"\n"
	"Removes the peer with this public key or name.\n"
	"\n"
	"  --help   show this help\n";

static char *join_strings(JsonObject *o, const char *name)
{
	JsonNode *node = json_object_get_member(o, name);
	GString *s;
	JsonArray *a;

	if (!node || !JSON_NODE_HOLDS_ARRAY(node))
		return NULL;
	a = json_node_get_array(node);
	s = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);

		if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
			continue;
		if (s->len)
			g_string_append(s, ", ");
		g_string_append(s, json_node_get_string(n));
	}
	if (!s->len) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/* "replayed 5, auth_failed 1" from the drops object, "0" when all are zero,
 * NULL when the daemon sent none. */
static char *join_drops(JsonObject *p)
{
	JsonNode *node = json_object_get_member(p, TUND_KEY_DROPS);
	GString *s;
	JsonObject *d;
	GList *names;

	if (!node || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	d = json_node_get_object(node);
	s = g_string_new(NULL);
	names = json_object_get_members(d);
	for (GList *l = names; l; l = l->next) {
		int64_t v;

		if (!tund_client_get_int(d, l->data, &v) || v <= 0)
			continue;
		g_string_append_printf(s, "%s%s %" PRId64, s->len ? ", " : "",
				       (const char *)l->data, v);
	}
	g_list_free(names);
	if (!s->len)
		g_string_append(s, "0");
	return g_string_free(s, FALSE);
}

static bool get_double(JsonObject *o, const char *name, double *out)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return false;
	switch (json_node_get_value_type(n)) {
	case G_TYPE_INT64:
		*out = (double)json_node_get_int(n);
		return true;
	case G_TYPE_DOUBLE:
		*out = json_node_get_double(n);
		return *out >= 0 && *out < 1e9;
	default:
		return false;
	}
}

/* Columns that only show up when some peer has the field (a node without
 * networks keeps the old table). */
struct peer_cols {
	bool network, state, rtt;
};

static void add_peer_row(struct tund_table *t, const struct peer_cols *cols, JsonObject *p,
			 int64_t now)
{
	const char *key = tund_client_get_string(p, TUND_KEY_PUBLIC_KEY);
	const char *path = tund_client_get_string(p, TUND_KEY_PATH);
	const char *cands = tund_client_get_string(p, TUND_KEY_CANDIDATES);
	char shortkey[64], age[64], rx[32], tx[32], rtt[32];
	char *ips = join_strings(p, TUND_KEY_ALLOWED_IPS);
	char *drops = join_drops(p);
	char *pathcell = NULL;
	int64_t v;
	double d;
	const char *cells[12];
	size_t n = 0;

	if (key)
		tund_format_key_short(shortkey, sizeof(shortkey), key);
	if (tund_client_get_int(p, TUND_KEY_LATEST_HANDSHAKE, &v))
		tund_format_age(age, sizeof(age), v, now);
	else
		snprintf(age, sizeof(age), "%s",
			 tund_client_has_null(p, "latest_handshake") ? "never" : "-");
	if (tund_client_get_int(p, TUND_KEY_RX_BYTES, &v) && v >= 0)
		tund_format_bytes(rx, sizeof(rx), (uint64_t)v);
	else
		snprintf(rx, sizeof(rx), "-");
	if (tund_client_get_int(p, TUND_KEY_TX_BYTES, &v) && v >= 0)
		tund_format_bytes(tx, sizeof(tx), (uint64_t)v);
	else
		snprintf(tx, sizeof(tx), "-");
	if (get_double(p, TUND_KEY_RTT_MS, &d))
		snprintf(rtt, sizeof(rtt), "%.2f ms", d);
	else
		snprintf(rtt, sizeof(rtt), "-");
	if (path && tund_client_get_string(p, TUND_KEY_RELAY_VIA))
		pathcell = g_strdup_printf("%s via %s", path,
					   tund_client_get_string(p, TUND_KEY_RELAY_VIA));
	else if (path && cands && *cands)
		pathcell = g_strdup_printf("%s (%s)", path, cands);

	cells[n++] = tund_client_get_string(p, TUND_KEY_NAME);
	cells[n++] = key ? shortkey : NULL;
	if (cols->network)
		cells[n++] = tund_client_get_string(p, TUND_KEY_NETWORK);
	if (cols->state)
		cells[n++] = tund_client_get_string(p, TUND_KEY_STATE);
	/* A peer on an ICE path has no WireGuard endpoint: its selected pair's
	 * remote address is where the datagrams go. */
	cells[n++] = tund_client_get_string(p, TUND_KEY_ENDPOINT)
			     ? tund_client_get_string(p, TUND_KEY_ENDPOINT)
			     : tund_client_get_string(p, TUND_KEY_REMOTE_ADDR);
	cells[n++] = ips;
	cells[n++] = pathcell ? pathcell : path;
	if (cols->rtt)
		cells[n++] = rtt;
	cells[n++] = age;
	cells[n++] = rx;
	cells[n++] = tx;
	cells[n++] = drops;
	tund_table_add(t, cells);
	{
		const char *e = tund_client_get_string(p, TUND_KEY_LAST_ERROR);

		const char *np = tund_client_get_string(p, TUND_KEY_NO_PATH);

		if (np && *np) {
			char *note = g_strdup_printf("no path: %s", np);

			tund_table_note(t, note);
			g_free(note);
		} else if (e && *e) {
			char *note = g_strdup_printf("last error: %s", e);

			tund_table_note(t, note);
			g_free(note);
		}
	}
	g_free(pathcell);
	g_free(ips);
	g_free(drops);
}

int peers_main(int argc, char **argv, const char *sock)
{
	const char *headers[12];
	struct peer_cols cols = { 0 };
	JsonNode *result = NULL;
	struct tund_table *t;
	JsonArray *a;
	size_t nh = 0;
	int ret;

	ret = ctl_list(argc, argv, sock, TUND_CMD_PEERS, peers_usage, &result, &a);
	if (ret || !a)
		goto out;
	if (!json_array_get_length(a)) {
		puts("no peers");
		goto out;
	}
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		JsonObject *p;
		double d;

		if (!JSON_NODE_HOLDS_OBJECT(n))
			continue;
		p = json_node_get_object(n);
		cols.network |= tund_client_get_string(p, TUND_KEY_NETWORK) != NULL;
		cols.state |= tund_client_get_string(p, TUND_KEY_STATE) != NULL;
		cols.rtt |= get_double(p, TUND_KEY_RTT_MS, &d);
	}
	headers[nh++] = "NAME";
	headers[nh++] = "PUBLIC KEY";
	if (cols.network)
		headers[nh++] = "NETWORK";
	if (cols.state)
		headers[nh++] = "STATE";
	headers[nh++] = "ENDPOINT";
	headers[nh++] = "ALLOWED IPS";
	headers[nh++] = "PATH";
	if (cols.rtt)
		headers[nh++] = "RTT";
	headers[nh++] = "HANDSHAKE";
	headers[nh++] = "RX";
	headers[nh++] = "TX";
	headers[nh++] = "DROPPED";
	t = tund_table_new(nh, headers);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);

		/* Skip what this version cannot read rather than fail the list. */
		if (JSON_NODE_HOLDS_OBJECT(n))
			add_peer_row(t, &cols, json_node_get_object(n), (int64_t)time(NULL));
	}
	tund_table_print(t, stdout);
	tund_table_free(t);
out:
	if (result)
		json_node_unref(result);
	return ret;
}

/* Reads a base64 preshared key from path into out (canonical form). */
static int read_psk(char out[TUND_KEY_B64_LEN + 1], const char *path)
{
	uint8_t key[TUND_KEY_LEN];
	char buf[256];
	size_t len = 0;
	ssize_t n;
	int fd, ret = CTL_EXIT_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctl_fail("peer add: %s: %s", path, strerror(errno));
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ctl_fail("peer add: %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (len == sizeof(buf) - 1 || memchr(buf, '\0', len) || !tund_key_decode(key, buf)) {
		ret = ctl_fail("peer add: %s does not hold a base64 preshared key", path);
		goto out;
	}
	tund_key_encode(out, key);
out:
	close(fd);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static JsonArray *string_array(GPtrArray *list)
{
	JsonArray *a = json_array_new();

	for (guint i = 0; i < list->len; i++)
		json_array_add_string_element(a, g_ptr_array_index(list, i));
	return a;
}

/* "added peer NAME (KEY)" from the reply, or from what was asked. */
static void print_added(JsonNode *result, const char *key, const char *name)
{
	JsonNode *peer_node = JSON_NODE_HOLDS_OBJECT(result) ?
				      json_object_get_member(json_node_get_object(result),
							     TUND_KEY_PEER) :
				      NULL;
	JsonObject *peer = peer_node && JSON_NODE_HOLDS_OBJECT(peer_node) ?
				   json_node_get_object(peer_node) :
				   NULL;
	const char *k = tund_client_get_string(peer, TUND_KEY_PUBLIC_KEY);
	const char *n = tund_client_get_string(peer, TUND_KEY_NAME);
	char *ck = tund_format_sanitize(k ? k : key);

	if (n || name) {
		char *cn = tund_format_sanitize(n ? n : name);

		printf("added peer %s (%s)\n", cn, ck);
		g_free(cn);
	} else {
		printf("added peer %s\n", ck);
	}
	g_free(ck);
}

/* The public key (normalised into key), name and endpoint of peer add;
 * false after the message. */
static bool add_args_ok(int argc, char **argv, char key[TUND_KEY_B64_LEN + 1], const char *name,
			const char *endpoint)
{
	char why[160];

	if (optind >= argc) {
		ctl_usage_error("peer add: missing public key (see 'tundctl peer add --help')");
		return false;
	}
	if (optind + 1 < argc) {
		ctl_usage_error("peer add: unexpected argument '%s'", argv[optind + 1]);
		return false;
	}
	if (!tund_args_normalise_key(key, argv[optind])) {
		ctl_usage_error("peer add: '%s' is not a public key", argv[optind]);
		return false;
	}
	if (name && !tund_args_check_name(name, why, sizeof(why))) {
		ctl_usage_error("peer add: %s", why);
		return false;
	}
	if (endpoint && !tund_args_check_endpoint(endpoint, why, sizeof(why))) {
		ctl_usage_error("peer add: bad endpoint: %s", why);
		return false;
	}
	return true;
}

/* json-glib keeps its own copy of the key; clear it before it is freed. */
static void free_wiping_psk(JsonObject *req, size_t psk_len)
{
	JsonNode *psk_node = json_object_get_member(req, TUND_KEY_PSK);

	if (psk_node && json_node_get_string(psk_node))
		sodium_memzero((char *)json_node_get_string(psk_node), psk_len);
	json_object_unref(req);
}

static int peer_add(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "allowed-ips", required_argument, NULL, 'a' },
		{ "psk-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *endpoint = NULL, *psk_file = NULL;
	GPtrArray *ips = g_ptr_array_new_with_free_func(g_free);
	char key[TUND_KEY_B64_LEN + 1], psk[TUND_KEY_B64_LEN + 1] = "";
	char *bad = NULL;
	JsonObject *req = NULL;
	JsonNode *result = NULL;
	bool have_ips = false;
	int c, ret = CTL_EXIT_USAGE;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "peer add", opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(add_usage, stdout);
			ret = CTL_EXIT_OK;
			goto out;
		case 'n':
			name = optarg;
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'a':
			have_ips = true;
			if (!tund_args_parse_cidrs(ips, optarg, &bad)) {
				ctl_usage_error("peer add: bad allowed IP '%s'", bad);
				goto out;
			}
			break;
		case 'p':
			psk_file = optarg;
			break;
		default:
			goto out;
		}
	}
	if (!add_args_ok(argc, argv, key, name, endpoint))
		goto out;
	if (psk_file) {
		ret = read_psk(psk, psk_file);
		if (ret)
			goto out;
	}

	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_PEER_ADD);
	json_object_set_string_member(req, TUND_KEY_PUBLIC_KEY, key);
	if (name)
		json_object_set_string_member(req, TUND_KEY_NAME, name);
	if (endpoint)
		json_object_set_string_member(req, TUND_KEY_ENDPOINT, endpoint);
	if (have_ips)
		json_object_set_array_member(req, TUND_KEY_ALLOWED_IPS, string_array(ips));
	if (psk_file)
		json_object_set_string_member(req, TUND_KEY_PSK, psk);
	ret = ctl_call(sock, json_object_ref(req), &result);
	if (!ret)
		print_added(result, key, name);
out:
	if (req)
		free_wiping_psk(req, strlen(psk));
	if (result)
		json_node_unref(result);
	sodium_memzero(psk, sizeof(psk));
	g_free(bad);
	g_ptr_array_free(ips, TRUE);
	return ret;
}

static int peer_remove(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char key[TUND_KEY_B64_LEN + 1], why[160];
	const char *target, *removed;
	JsonNode *result = NULL;
	JsonObject *req;
	char *clean;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "peer remove", opts)) != -1) {
		if (c != 'h')
			return CTL_EXIT_USAGE;
		fputs(remove_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (optind >= argc)
		return ctl_usage_error("peer remove: missing KEY or NAME");
	if (optind + 1 < argc)
		return ctl_usage_error("peer remove: unexpected argument '%s'", argv[optind + 1]);
	target = argv[optind];
	if (tund_args_normalise_key(key, target))
		target = key;
	else if (!tund_args_check_name(target, why, sizeof(why)))
		return ctl_usage_error("peer remove: %s", why);

	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_PEER_REMOVE);
	json_object_set_string_member(req, TUND_KEY_PEER, target);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	removed = JSON_NODE_HOLDS_OBJECT(result)
			  ? tund_client_get_string(json_node_get_object(result), TUND_KEY_REMOVED)
			  : NULL;
	clean = tund_format_sanitize(removed ? removed : target);
	printf("removed peer %s\n", clean);
	g_free(clean);
	json_node_unref(result);
	return CTL_EXIT_OK;
}

/* A KEY or NAME operand: the canonical key, or the name as given. */
static int peer_target(const char *arg, const char *what, char key[TUND_KEY_B64_LEN + 1],
		       const char **target)
{
	char why[160];

	if (tund_args_normalise_key(key, arg)) {
		*target = key;
		return CTL_EXIT_OK;
	}
	if (!tund_args_check_name(arg, why, sizeof(why)))
		return ctl_usage_error("%s: %s", what, why);
	*target = arg;
	return CTL_EXIT_OK;
}

/* "name (key)", "key" or fallback, from a PEER object or a bare string. */
static char *peer_label(JsonNode *result, const char *fallback)
{
	JsonNode *n = JSON_NODE_HOLDS_OBJECT(result)
			      ? json_object_get_member(json_node_get_object(result), TUND_KEY_PEER)
			      : NULL;
	const char *k = NULL, *name = NULL;
	char *label, *clean;

	if (n && JSON_NODE_HOLDS_OBJECT(n)) {
		k = tund_client_get_string(json_node_get_object(n), TUND_KEY_PUBLIC_KEY);
		name = tund_client_get_string(json_node_get_object(n), TUND_KEY_NAME);
	} else if (n && JSON_NODE_HOLDS_VALUE(n) &&
		   json_node_get_value_type(n) == G_TYPE_STRING) {
		k = json_node_get_string(n);
	}
	if (name && k)
		label = g_strdup_printf("%s (%s)", name, k);
	else
		label = g_strdup(k ? k : name ? name : fallback);
	clean = tund_format_sanitize(label);
	g_free(label);
	return clean;
}

static const struct peer_action {
	const char *sub, *cmd, *done, *usage;
} peer_actions[] = {
	{ "approve", TUND_CMD_PEER_APPROVE, "approved", approve_usage },
	{ "block", TUND_CMD_PEER_BLOCK, "blocked", block_usage },
	{ "unblock", TUND_CMD_PEER_UNBLOCK, "unblocked", unblock_usage },
};

static int peer_action(int argc, char **argv, const char *sock, const struct peer_action *act)
{
	static const struct option opts[] = {
		{ "admin", no_argument, NULL, 'a' },
		{ "network", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char key[TUND_KEY_B64_LEN + 1], what[32];
	JsonNode *result = NULL;
	const char *target = NULL, *network = NULL;
	JsonObject *req;
	bool as_admin = false;
	char *label;
	int c, ret;

	snprintf(what, sizeof(what), "peer %s", act->sub);
	optind = 0;
	while ((c = ctl_getopt(argc, argv, what, opts)) != -1) {
		if (c == 'a' && !strcmp(act->cmd, TUND_CMD_PEER_APPROVE)) {
			as_admin = true;
			continue;
		}
		if (c == 'a')
			return ctl_usage_error("%s: unknown option --admin", what);
		if (c == 'n') {
			network = optarg;
			continue;
		}
		if (c != 'h')
			return CTL_EXIT_USAGE;
		fputs(act->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (optind >= argc)
		return ctl_usage_error("%s: missing KEY or NAME", what);
	if (optind + 1 < argc)
		return ctl_usage_error("%s: unexpected argument '%s'", what, argv[optind + 1]);
	ret = peer_target(argv[optind], what, key, &target);
	if (ret)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, act->cmd);
	json_object_set_string_member(req, TUND_KEY_PEER, target);
	if (as_admin)
		json_object_set_boolean_member(req, TUND_KEY_ADMIN, TRUE);
	if (network)
		json_object_set_string_member(req, TUND_KEY_NETWORK, network);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	label = peer_label(result, target);
	printf("%s peer %s\n", act->done, label);
	g_free(label);
	json_node_unref(result);
	return CTL_EXIT_OK;
}

/* Prints the result's "blob" as the last line. */
static int print_blob(JsonNode *result)
{
	const char *blob = JSON_NODE_HOLDS_OBJECT(result)
				   ? tund_client_get_string(json_node_get_object(result), TUND_KEY_BLOB)
				   : NULL;
	char *clean;

	if (!blob || !*blob)
		return ctl_fail("malformed reply from tund: no \"blob\"");
	clean = tund_format_sanitize(blob);
	printf("%s\n", clean);
	g_free(clean);
	return CTL_EXIT_OK;
}

static int peer_offer(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "network", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char key[TUND_KEY_B64_LEN + 1], why[160];
	const char *network = NULL, *target = NULL;
	JsonNode *result = NULL;
	JsonObject *req;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "peer offer", opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(offer_usage, stdout);
			return CTL_EXIT_OK;
		case 'n':
			if (!tund_args_check_network(optarg, why, sizeof(why)))
				return ctl_usage_error("peer offer: %s", why);
			network = optarg;
			break;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return ctl_usage_error("peer offer: missing KEY (see 'tundctl peer offer --help')");
	if (optind + 1 < argc)
		return ctl_usage_error("peer offer: unexpected argument '%s'", argv[optind + 1]);
	ret = peer_target(argv[optind], "peer offer", key, &target);
	if (ret)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_PEER_OFFER);
	json_object_set_string_member(req, TUND_KEY_PEER, target);
	if (network)
		json_object_set_string_member(req, TUND_KEY_NETWORK, network);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	puts("offer (give it to 'tundctl peer answer' on the peer's node):");
	ret = print_blob(result);
	json_node_unref(result);
	return ret;
}

/* answer and accept: one BLOB (or "-"), request {"cmd", "blob"}. */
static int peer_blob_cmd(int argc, char **argv, const char *sock, bool answer)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = answer ? TUND_CMD_PEER_ANSWER : TUND_CMD_PEER_ACCEPT;
	JsonNode *result = NULL;
	JsonObject *req;
	char *blob = NULL, *label;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, what, opts)) != -1) {
		if (c != 'h')
			return CTL_EXIT_USAGE;
		fputs(answer ? answer_usage : accept_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (optind >= argc)
		return ctl_usage_error("%s: missing BLOB (or '-' for stdin)", what);
	if (optind + 1 < argc)
		return ctl_usage_error("%s: unexpected argument '%s'", what, argv[optind + 1]);
	ret = ctl_read_token(argv[optind], what, TUND_SIGNAL_TEXT_PREFIX, "a signaling blob", &blob);
	if (ret)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD,
				      answer ? TUND_CMD_PEER_ANSWER : TUND_CMD_PEER_ACCEPT);
	json_object_set_string_member(req, TUND_KEY_BLOB, blob);
	g_free(blob);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	if (answer) {
		puts("reply (give it to 'tundctl peer accept' on the offering node):");
		ret = print_blob(result);
	} else {
		label = peer_label(result, "(unnamed)");
		printf("connected to peer %s\n", label);
		g_free(label);
	}
	json_node_unref(result);
	return ret;
}

int peer_main(int argc, char **argv, const char *sock)
{
	if (argc < 2)
		return ctl_usage_error("peer: missing subcommand: add, remove, approve, block, "
				       "unblock, offer, answer or accept "
				       "(see 'tundctl peer --help')");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(peer_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return peer_add(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "remove") == 0)
		return peer_remove(argc - 1, argv + 1, sock);
	for (size_t i = 0; i < G_N_ELEMENTS(peer_actions); i++)
		if (strcmp(argv[1], peer_actions[i].sub) == 0)
			return peer_action(argc - 1, argv + 1, sock, &peer_actions[i]);
	if (strcmp(argv[1], "offer") == 0)
		return peer_offer(argc - 1, argv + 1, sock);
	if (strcmp(argv[1], "answer") == 0)
		return peer_blob_cmd(argc - 1, argv + 1, sock, true);
	if (strcmp(argv[1], "accept") == 0)
		return peer_blob_cmd(argc - 1, argv + 1, sock, false);
	return ctl_usage_error("peer: unknown subcommand '%s' (see 'tundctl peer --help')",
			       argv[1]);
}
