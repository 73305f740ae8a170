// SPDX-License-Identifier: MIT
/* tundctl ping: tund pings a peer's overlay address through the tunnel. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "overlay/keys.h"
#include "overlay/control_proto.h"

#define PING_DEFAULT_COUNT 4
#define PING_MAX_COUNT 100

static const char usage[] =
	"Usage: tundctl ping PEER [-c COUNT]\n"
	"\n"
	"Has tund send COUNT echo requests, one a second, to the overlay address of\n"
	"PEER (a public key or a name) through the tunnel, and prints each reply,\n"
	"the path it took and a summary. Exit status 1 when no reply came back.\n"
	"\n"
	"  -c, --count COUNT   how many requests, 1-" G_STRINGIFY(PING_MAX_COUNT)
	" (default " G_STRINGIFY(PING_DEFAULT_COUNT) ")\n"
	"  --help              show this help\n";

struct rtt_stats {
	double min, max, sum;
	guint n;
};

/* One line per reply; null marks a request that got no reply. */
static void print_replies(JsonNode *rtts, const char *addr, const char *path,
			  struct rtt_stats *st)
{
	JsonArray *a;

	if (!rtts || !JSON_NODE_HOLDS_ARRAY(rtts))
		return;
	a = json_node_get_array(rtts);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		double ms;

		if (!JSON_NODE_HOLDS_VALUE(n) || (json_node_get_value_type(n) != G_TYPE_DOUBLE &&
						  json_node_get_value_type(n) != G_TYPE_INT64))
			continue;
		ms = json_node_get_double(n);
		printf("reply from %s via %s: time=%.2f ms\n", addr, path, ms);
		if (!st->n || ms < st->min)
			st->min = ms;
		if (!st->n || ms > st->max)
			st->max = ms;
		st->sum += ms;
		st->n++;
	}
}

/* The replies and the summary; exit status 1 when nothing came back. */
static int print_ping(JsonObject *o, const char *target, unsigned count)
{
	const char *addr = tund_client_get_string(o, TUND_KEY_ADDRESS);
	const char *path = tund_client_get_string(o, TUND_KEY_PATH);
	char *caddr = tund_format_sanitize(addr ? addr : target);
	char *cpath = tund_format_sanitize(path ? path : "-");
	struct rtt_stats st = { 0 };
	int64_t sent = 0, received = 0;
	int ret = CTL_EXIT_OK;

	print_replies(json_object_get_member(o, TUND_KEY_RTT_MS), caddr, cpath, &st);
	if (!tund_client_get_int(o, TUND_KEY_SENT, &sent))
		sent = count;
	if (!tund_client_get_int(o, TUND_KEY_RECEIVED, &received))
		received = st.n;
	printf("--- %s ping statistics ---\n", caddr);
	printf("%" PRId64 " sent, %" PRId64 " received, %.0f%% loss", sent, received,
	       sent > 0 ? 100.0 * (double)(sent - received) / (double)sent : 0.0);
	if (st.n)
		printf(", rtt min/avg/max = %.2f/%.2f/%.2f ms", st.min, st.sum / st.n, st.max);
	putchar('\n');
	if (received <= 0)
		ret = ctl_fail("ping: no reply from %s", caddr);
	g_free(caddr);
	g_free(cpath);
	return ret;
}

int ping_main(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char key[TUND_KEY_B64_LEN + 1], why[160];
	unsigned count = PING_DEFAULT_COUNT;
	JsonNode *result = NULL;
	const char *target;
	JsonObject *req;
	int c, ret;

	optind = 0;
	while ((c = ctl_getopt_short(argc, argv, "ping", ":hc:", opts)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return CTL_EXIT_OK;
		case 'c':
			if (!tund_args_parse_uint(optarg, 1, PING_MAX_COUNT, &count))
				return ctl_usage_error("ping: count must be 1-%d, not '%s'",
						       PING_MAX_COUNT, optarg);
			break;
		default:
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return ctl_usage_error("ping: missing PEER (see 'tundctl ping --help')");
	if (optind + 1 < argc)
		return ctl_usage_error("ping: unexpected argument '%s'", argv[optind + 1]);
	target = argv[optind];
	if (tund_args_normalise_key(key, target))
		target = key;
	else if (!tund_args_check_name(target, why, sizeof(why)))
		return ctl_usage_error("ping: %s", why);

	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_PING);
	json_object_set_string_member(req, TUND_KEY_PEER, target);
	json_object_set_int_member(req, TUND_KEY_COUNT, count);
	/* tund answers after the last reply or COUNT+5 s; allow for transit. */
	ret = ctl_call_timeout(sock, req, &result, (int)(count + 5 + 3) * 1000);
	if (ret)
		return ret;
	if (JSON_NODE_HOLDS_OBJECT(result))
		ret = print_ping(json_node_get_object(result), target, count);
	else
		ret = ctl_fail("malformed reply from tund: result is not an object");
	json_node_unref(result);
	return ret;
}
