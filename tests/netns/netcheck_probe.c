// SPDX-License-Identifier: MIT
/* Drives tund/connect/netcheck.c for tests/netns/test_netcheck.sh: runs one check on
 * a main loop and prints the result JSON on one line, then how long it took
 * on stderr ("elapsed_ms N").
 * Usage: netcheck_probe [--stun HOST:PORT] [--turn HOST:PORT[/tcp]]...
 *                       [--broker mqtt://HOST:PORT] [--timeout MS] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tund/daemon/log.h"
#include "tund/connect/netcheck.h"

static GMainLoop *loop;

static void done(void *ctx, JsonNode *result)
{
	JsonGenerator *gen = json_generator_new();
	gchar *text;

	(void)ctx;
	json_generator_set_root(gen, result);
	text = json_generator_to_data(gen, NULL);
	puts(text);
	g_free(text);
	g_object_unref(gen);
	json_node_unref(result);
	g_main_loop_quit(loop);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stun", required_argument, NULL, 's' },
		{ "turn", required_argument, NULL, 't' },
		{ "broker", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct tund_turn_server turn[8];
	struct tund_stun_server stun;
	struct tund_netcheck_config cfg = { .turn = turn };
	gint64 start;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tund_parse_hostport(optarg, stun.host, &stun.port, 0, NULL)) {
				fprintf(stderr, "bad --stun %s\n", optarg);
				return 2;
			}
			cfg.stun = &stun;
			break;
		case 'b':
			cfg.broker = optarg;
			break;
		case 'T':
			cfg.timeout_ms = (unsigned)atoi(optarg);
			break;
		case 'd':
			tund_log_set_level(TUND_LOG_DEBUG);
			break;
		case 't': {
			char *arg = g_strdup(optarg), *slash = strrchr(arg, '/');
			struct tund_turn_server *t = &turn[cfg.n_turn];

			if (cfg.n_turn == G_N_ELEMENTS(turn))
				return 2;
			memset(t, 0, sizeof(*t));
			if (slash && strcmp(slash, "/tcp") == 0) {
				t->tcp = true;
				*slash = '\0';
			}
			if (!tund_parse_hostport(arg, t->host, &t->port, 0, NULL)) {
				fprintf(stderr, "bad --turn %s\n", optarg);
				return 2;
			}
			cfg.n_turn++;
			g_free(arg);
			break;
		}
		default:
			return 2;
		}
	}
	loop = g_main_loop_new(NULL, FALSE);
	start = g_get_monotonic_time();
	tund_netcheck_run(&cfg, done, NULL);
	g_main_loop_run(loop);
	fprintf(stderr, "elapsed_ms %" G_GINT64_FORMAT "\n", (g_get_monotonic_time() - start) / 1000);
	g_main_loop_unref(loop);
	return 0;
}
