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
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "overlay/keys.h"

static const char peers_usage[] =
	"Usage: tundctl peers [--json]\n"
	"\n"
	"Lists the peers tund knows: name, public key, endpoint, allowed IPs, current\n"
	"path, time since the latest handshake, and bytes received and sent.\n"
	"\n"
	"  --json   print the daemon's peer array as JSON instead of a table\n"
	"  --help   show this help\n";

static const char peer_usage[] =
	"Usage: tundctl peer add KEY [--name NAME] [--endpoint HOST:PORT]\n"
	"                            [--allowed-ips CIDR[,CIDR...]] [--psk-file FILE]\n"
	"       tundctl peer remove KEY|NAME\n"
	"\n"
	"Adds or removes a static peer. See 'tundctl peer add --help'.\n";

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
	JsonNode *node = json_object_get_member(p, "drops");
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

static void add_peer_row(struct tund_table *t, JsonObject *p, int64_t now)
{
	const char *key = tund_client_get_string(p, "public_key");
	char shortkey[64], age[64], rx[32], tx[32];
	char *ips = join_strings(p, "allowed_ips");
	char *drops = join_drops(p);
	int64_t v;
	const char *cells[9];

	if (key)
		tund_format_key_short(shortkey, sizeof(shortkey), key);
	if (tund_client_get_int(p, "latest_handshake", &v))
		tund_format_age(age, sizeof(age), v, now);
	else
		snprintf(age, sizeof(age), "%s",
			 tund_client_has_null(p, "latest_handshake") ? "never" : "-");
	if (tund_client_get_int(p, "rx_bytes", &v) && v >= 0)
		tund_format_bytes(rx, sizeof(rx), (uint64_t)v);
	else
		snprintf(rx, sizeof(rx), "-");
	if (tund_client_get_int(p, "tx_bytes", &v) && v >= 0)
		tund_format_bytes(tx, sizeof(tx), (uint64_t)v);
	else
		snprintf(tx, sizeof(tx), "-");

	cells[0] = tund_client_get_string(p, "name");
	cells[1] = key ? shortkey : NULL;
	cells[2] = tund_client_get_string(p, "endpoint");
	cells[3] = ips;
	cells[4] = tund_client_get_string(p, "path");
	cells[5] = age;
	cells[6] = rx;
	cells[7] = tx;
	cells[8] = drops;
	tund_table_add(t, cells);
	g_free(ips);
	g_free(drops);
}

int peers_main(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const headers[] = {
		"NAME", "PUBLIC KEY", "ENDPOINT", "ALLOWED IPS", "PATH", "HANDSHAKE", "RX", "TX",
		"DROPPED",
	};
	JsonNode *result = NULL, *peers;
	struct tund_table *t;
	JsonObject *req;
	JsonArray *a;
	bool json = false;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt(argc, argv, "peers", opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(peers_usage, stdout);
			return CTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error("peers: unexpected argument '%s'", argv[optind]);

	req = json_object_new();
	json_object_set_string_member(req, "cmd", "peers");
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	peers = JSON_NODE_HOLDS_OBJECT(result)
			? json_object_get_member(json_node_get_object(result), "peers")
			: NULL;
	if (!peers || !JSON_NODE_HOLDS_ARRAY(peers)) {
		ret = ctl_fail("malformed reply from tund: no \"peers\" array");
		goto out;
	}
	if (json) {
		ctl_print_json(peers);
		goto out;
	}
	a = json_node_get_array(peers);
	if (!json_array_get_length(a)) {
		puts("no peers");
		goto out;
	}
	t = tund_table_new(G_N_ELEMENTS(headers), headers);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);

		/* Skip what this version cannot read rather than fail the list. */
		if (JSON_NODE_HOLDS_OBJECT(n))
			add_peer_row(t, json_node_get_object(n), (int64_t)time(NULL));
	}
	tund_table_print(t, stdout);
	tund_table_free(t);
out:
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
	char why[160], *bad = NULL;
	JsonObject *req = NULL, *peer;
	JsonNode *result = NULL, *psk_node, *peer_node;
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
	if (optind >= argc) {
		ctl_usage_error("peer add: missing public key (see 'tundctl peer add --help')");
		goto out;
	}
	if (optind + 1 < argc) {
		ctl_usage_error("peer add: unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (!tund_args_normalise_key(key, argv[optind])) {
		ctl_usage_error("peer add: '%s' is not a public key", argv[optind]);
		goto out;
	}
	if (name && !tund_args_check_name(name, why, sizeof(why))) {
		ctl_usage_error("peer add: %s", why);
		goto out;
	}
	if (endpoint && !tund_args_check_endpoint(endpoint, why, sizeof(why))) {
		ctl_usage_error("peer add: bad endpoint: %s", why);
		goto out;
	}
	if (psk_file) {
		ret = read_psk(psk, psk_file);
		if (ret)
			goto out;
	}

	req = json_object_new();
	json_object_set_string_member(req, "cmd", "peer.add");
	json_object_set_string_member(req, "public_key", key);
	if (name)
		json_object_set_string_member(req, "name", name);
	if (endpoint)
		json_object_set_string_member(req, "endpoint", endpoint);
	if (have_ips) {
		JsonArray *a = json_array_new();

		for (guint i = 0; i < ips->len; i++)
			json_array_add_string_element(a, g_ptr_array_index(ips, i));
		json_object_set_array_member(req, "allowed_ips", a);
	}
	if (psk_file)
		json_object_set_string_member(req, "psk", psk);
	ret = ctl_call(sock, json_object_ref(req), &result);
	if (ret)
		goto out;

	peer_node = JSON_NODE_HOLDS_OBJECT(result)
			    ? json_object_get_member(json_node_get_object(result), "peer")
			    : NULL;
	peer = peer_node && JSON_NODE_HOLDS_OBJECT(peer_node) ? json_node_get_object(peer_node)
							      : NULL;
	{
		const char *k = tund_client_get_string(peer, "public_key");
		const char *n = tund_client_get_string(peer, "name");
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
out:
	/* json-glib keeps its own copy of the key; clear it before it is freed. */
	psk_node = req ? json_object_get_member(req, "psk") : NULL;
	if (psk_node && json_node_get_string(psk_node))
		sodium_memzero((char *)json_node_get_string(psk_node), strlen(psk));
	if (req)
		json_object_unref(req);
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
	json_object_set_string_member(req, "cmd", "peer.remove");
	json_object_set_string_member(req, "peer", target);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	removed = JSON_NODE_HOLDS_OBJECT(result)
			  ? tund_client_get_string(json_node_get_object(result), "removed")
			  : NULL;
	clean = tund_format_sanitize(removed ? removed : target);
	printf("removed peer %s\n", clean);
	g_free(clean);
	json_node_unref(result);
	return CTL_EXIT_OK;
}

int peer_main(int argc, char **argv, const char *sock)
{
	if (argc < 2)
		return ctl_usage_error("peer: missing subcommand: add or remove "
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
	return ctl_usage_error("peer: unknown subcommand '%s' (see 'tundctl peer --help')",
			       argv[1]);
}
