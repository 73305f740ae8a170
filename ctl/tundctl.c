// SPDX-License-Identifier: MIT
/* tundctl: the control CLI. This file is only option parsing for the top
 * level and a table of subcommands; each lives in its own cmd_*.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/ctl.h"
#include "overlay/control_proto.h"

static int help_main(int argc, char **argv, const char *sock);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv, const char *sock);
} commands[] = {
	{ "status", status_main },     { "peers", peers_main },   { "peer", peer_main },
	{ "network", network_main },   { "networks", networks_main },
	{ "join", join_main },         { "ping", ping_main },     { "netcheck", netcheck_main },
	{ "genkey", genkey_main },     { "pubkey", pubkey_main }, { "help", help_main },
	{ "reload", reload_main },
};

static const char usage[] =
	"Usage: tundctl [--socket PATH] COMMAND [ARGS]\n"
	"\n"
	"Controls the tund daemon through its control socket: --socket PATH, else\n"
	"$TUND_SOCKET, else " TUND_CLIENT_DEFAULT_SOCKET ".\n"
	"\n"
	"Commands:\n"
	"  status [--json]          interface, addresses, MTU, key, port, uptime, peers\n"
	"  peers [--json]           list peers with endpoint, path, handshake, traffic\n"
	"  peer add KEY [OPTIONS]   add a static peer (see 'tundctl peer add --help')\n"
	"  peer remove KEY|NAME     remove a peer\n"
	"  peer approve|block|unblock KEY|NAME\n"
	"                           admit a pending member, block or unblock a peer\n"
	"  peer offer KEY           manual signaling: print an offer blob for KEY\n"
	"  peer answer BLOB         answer an offer blob, print the reply blob\n"
	"  peer accept BLOB         complete with the reply blob\n"
	"  network create NAME      create a network, print an invite\n"
	"  network leave NAME       leave a network\n"
	"  network invite NAME [--expires DURATION] [--uses N]\n"
	"                           print a new invite (limited: on the network's admin)\n"
	"  network invites NAME     list the limited invites this node issued\n"
	"  network invite-revoke NAME ID\n"
	"  network rekey NAME\n"
	"  network relay NAME on|off [--rate N]\n"
	"                           revoke a limited invite\n"
	"  networks [--json]        list networks, their broker and members\n"
	"  join INVITE              join a network from an invite\n"
	"  ping PEER [-c COUNT]     ping a peer through the tunnel\n"
	"  netcheck [--json]        NAT type, broker, STUN and TURN reachability\n"
	"  reload [--json]          re-read the config: apply STUN/TURN/broker changes\n"
	"  genkey                   print a new private key (offline, like 'wg genkey')\n"
	"  pubkey                   print the public key of the private key on stdin\n"
	"  help [COMMAND]           show this help, or a command's\n"
	"\n"
	"Exit status: 0 on success, 1 when the command failed, 2 on a usage error.\n";

static int vreport(int code, const char *fmt, va_list ap)
{
	fputs("tundctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return code;
}

int ctl_fail(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vreport(CTL_EXIT_FAIL, fmt, ap);
	va_end(ap);
	return ret;
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vreport(CTL_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return ret;
}

int ctl_parse_json_only(int argc, char **argv, const char *cmd, const char *help, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = false;
	optind = 0;
	while ((c = ctl_getopt(argc, argv, cmd, opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(help, stdout);
			return CTL_EXIT_OK;
		case 'j':
			*json = true;
			break;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error("%s: unexpected argument '%s'", cmd, argv[optind]);
	return -1;
}

int ctl_getopt(int argc, char **argv, const char *cmd, const struct option *longopts)
{
	return ctl_getopt_short(argc, argv, cmd, ":h", longopts);
}

int ctl_getopt_short(int argc, char **argv, const char *cmd, const char *shortopts,
		     const struct option *longopts)
{
	const char *arg;
	int c, n;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	arg = argv[optind - 1];
	n = (int)strcspn(arg, "=");
	if (c == ':')
		ctl_usage_error("%s: option '%s' needs a value", cmd, arg);
	else if (strncmp(arg, "--", 2) == 0 && optopt)
		ctl_usage_error("%s: option '%.*s' takes no value", cmd, n, arg);
	else if (strncmp(arg, "--", 2) == 0)
		ctl_usage_error("%s: unknown option '%.*s' (see 'tundctl %s --help')", cmd, n, arg,
				cmd);
	else
		ctl_usage_error("%s: unknown option '-%c' (see 'tundctl %s --help')", cmd, optopt,
				cmd);
	return '?';
}

int ctl_call(const char *sock, JsonObject *request, JsonNode **result)
{
	return ctl_call_timeout(sock, request, result, TUND_CLIENT_TIMEOUT_MS);
}

int ctl_call_timeout(const char *sock, JsonObject *request, JsonNode **result, int timeout_ms)
{
	char why[TUND_CTL_WHY_LEN];
	int ret = tund_client_call_timeout(sock, request, result, why, sizeof(why), timeout_ms);

	json_object_unref(request);
	if (ret) {
		ctl_fail("%s", why);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

void ctl_print_json(JsonNode *node)
{
	JsonGenerator *gen = json_generator_new();
	gchar *text;

	json_generator_set_pretty(gen, TRUE);
	json_generator_set_indent(gen, 2);
	json_generator_set_root(gen, node);
	text = json_generator_to_data(gen, NULL);
	puts(text);
	g_free(text);
	g_object_unref(gen);
}

int ctl_read_token(const char *arg, const char *what, const char *prefix, const char *noun,
		   char **out)
{
	char *text;

	*out = NULL;
	if (strcmp(arg, "-") == 0) {
		GString *line = g_string_new(NULL);
		int ch;

		while ((ch = getchar()) != EOF && ch != '\n') {
			if (line->len >= 64 * 1024) {
				g_string_free(line, TRUE);
				return ctl_usage_error("%s: line on stdin longer than 64 KiB", what);
			}
			g_string_append_c(line, (char)ch);
		}
		if (ferror(stdin)) {
			g_string_free(line, TRUE);
			return ctl_fail("%s: reading stdin: %s", what, strerror(errno));
		}
		text = g_strstrip(g_string_free(line, FALSE));
		if (!*text) {
			g_free(text);
			return ctl_usage_error("%s: no %s on stdin", what, noun);
		}
	} else {
		text = g_strstrip(g_strdup(arg));
	}
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			g_free(text);
			return ctl_usage_error("%s: %s holds a space or control character", what,
					       noun);
		}
	}
	if (!g_str_has_prefix(text, prefix) || !text[strlen(prefix)]) {
		int ret = ctl_usage_error("%s: not %s (it starts with '%s')", what, noun, prefix);

		g_free(text);
		return ret;
	}
	*out = text;
	return CTL_EXIT_OK;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int dispatch(int argc, char **argv, const char *sock)
{
	const struct command *cmd = find_command(argv[0]);

	if (!cmd)
		return ctl_usage_error("unknown command '%s' (see 'tundctl --help')", argv[0]);
	return cmd->fn(argc, argv, sock);
}

/* "help" alone prints the overview; "help peer add" runs "peer add --help". */
static int help_main(int argc, char **argv, const char *sock)
{
	char **args;
	int ret;

	if (argc < 2 || strcmp(argv[1], "help") == 0 || argv[1][0] == '-') {
		fputs(usage, stdout);
		return CTL_EXIT_OK;
	}
	args = g_new0(char *, (size_t)argc + 1);
	for (int i = 1; i < argc; i++)
		args[i - 1] = argv[i];
	args[argc - 1] = (char *)"--help";
	ret = dispatch(argc, args, sock);
	g_free(args);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("TUND_SOCKET");
	int c, ret;

	if (!sock || !*sock)
		sock = TUND_CLIENT_DEFAULT_SOCKET;
	opterr = 0;
	/* '+': stop at the command so that its options stay its own. */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg)
				return ctl_usage_error("--socket needs a non-empty path");
			sock = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CTL_EXIT_OK;
		case ':':
			return ctl_usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage_error("unknown option '%s' (see 'tundctl --help')",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing command (see 'tundctl --help')");
	ret = dispatch(argc - optind, argv + optind, sock);
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctl_fail("writing to stdout: %s", strerror(errno));
	return ret;
}

int ctl_list(int argc, char **argv, const char *sock, const char *cmd, const char *help,
	     JsonNode **result, JsonArray **array)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	JsonObject *req;
	JsonNode *list;
	bool json = false;
	int c, ret;

	*result = NULL;
	*array = NULL;
	optind = 0;
	while ((c = ctl_getopt(argc, argv, cmd, opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(help, stdout);
			return CTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error("%s: unexpected argument '%s'", cmd, argv[optind]);

	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, cmd);
	ret = ctl_call(sock, req, result);
	if (ret)
		return ret;
	list = JSON_NODE_HOLDS_OBJECT(*result) ?
		       json_object_get_member(json_node_get_object(*result), cmd) :
		       NULL;
	if (!list || !JSON_NODE_HOLDS_ARRAY(list))
		return ctl_fail("malformed reply from tund: no \"%s\" array", cmd);
	if (json)
		ctl_print_json(list);
	else
		*array = json_node_get_array(list);
	return CTL_EXIT_OK;
}
