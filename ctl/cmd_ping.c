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

int ping_main(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char key[TUND_KEY_B64_LEN + 1], why[160];
	unsigned count = PING_DEFAULT_COUNT;
	const char *target, *addr, *path;
	JsonNode *result = NULL, *rtts;
	JsonObject *req, *o;
	int64_t sent = 0, received = 0;
	double min = 0, max = 0, sum = 0;
	guint nrtt = 0;
	char *caddr, *cpath;
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
	if (!JSON_NODE_HOLDS_OBJECT(result)) {
		ret = ctl_fail("malformed reply from tund: result is not an object");
		goto out;
	}
	o = json_node_get_object(result);
	addr = tund_client_get_string(o, TUND_KEY_ADDRESS);
	path = tund_client_get_string(o, TUND_KEY_PATH);
	caddr = tund_format_sanitize(addr ? addr : target);
	cpath = tund_format_sanitize(path ? path : "-");
	rtts = json_object_get_member(o, TUND_KEY_RTT_MS);
	if (rtts && JSON_NODE_HOLDS_ARRAY(rtts)) {
		JsonArray *a = json_node_get_array(rtts);

		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *n = json_array_get_element(a, i);
			double ms;

			/* null marks a request that got no reply. */
			if (!JSON_NODE_HOLDS_VALUE(n) ||
			    (json_node_get_value_type(n) != G_TYPE_DOUBLE &&
			     json_node_get_value_type(n) != G_TYPE_INT64))
				continue;
			ms = json_node_get_double(n);
			printf("reply from %s via %s: time=%.2f ms\n", caddr, cpath, ms);
			if (!nrtt || ms < min)
				min = ms;
			if (!nrtt || ms > max)
				max = ms;
			sum += ms;
			nrtt++;
		}
	}
	if (!tund_client_get_int(o, TUND_KEY_SENT, &sent))
		sent = count;
	if (!tund_client_get_int(o, TUND_KEY_RECEIVED, &received))
		received = nrtt;
	printf("--- %s ping statistics ---\n", caddr);
	printf("%" PRId64 " sent, %" PRId64 " received, %.0f%% loss", sent, received,
	       sent > 0 ? 100.0 * (double)(sent - received) / (double)sent : 0.0);
	if (nrtt)
		printf(", rtt min/avg/max = %.2f/%.2f/%.2f ms", min, sum / nrtt, max);
	putchar('\n');
	if (received <= 0)
		ret = ctl_fail("ping: no reply from %s", caddr);
	g_free(caddr);
	g_free(cpath);
out:
	json_node_unref(result);
	return ret;
}
