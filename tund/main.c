// SPDX-License-Identifier: MIT
/* tund: the daemon. Runs in the foreground, logs to stderr, exits cleanly on
 * SIGTERM/SIGINT with its interface and socket gone. Here: argv and signals;
 * the start-up order is tund/daemon/daemon.c's. */
#include <getopt.h>
#include <glib-unix.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>

#include "tund/daemon/daemon.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "tund/host/privdrop.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: tund [--config FILE] [--user USER] [--verbose]\n"
		   "  --config FILE   INI configuration (default " TUND_DEFAULT_CONFIG ")\n"
		   "  --user USER     started as root, run as USER with only CAP_NET_ADMIN once\n"
		   "                  the interface is up (overrides [daemon] user; root: stay\n"
		   "                  root; default: " TUND_DEFAULT_USER " if that user exists)\n"
		   "  --verbose       log debug events too\n"
		   "Runs in the foreground; stop with SIGTERM or SIGINT; SIGHUP reloads the\n"
		   "STUN/TURN and broker settings (like 'tundctl reload').\n");
}

static gboolean on_quit_signal(gpointer data)
{
	struct tund_daemon *d = data;

	log_info("signal received, shutting down");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_reload_signal(gpointer data)
{
	struct tund_daemon *d = data;
	char why[TUND_WHY_LEN];
	JsonNode *reply = NULL;

	log_info("SIGHUP: reloading %s", d->config_path);
	/* It logs what it did or why not. */
	if (tund_daemon_reload(d, &reply, why, sizeof(why)) == 0)
		json_node_unref(reply);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tund_daemon d = { .tun_fd = -1 };
	g_autofree char *user = NULL;
	int opt, ret, status = 1;

	d.config_path = g_strdup(TUND_DEFAULT_CONFIG);
	while ((opt = getopt_long(argc, argv, "c:u:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			g_free(d.config_path);
			d.config_path = g_strdup(optarg);
			break;
		case 'u':
			g_free(user);
			user = g_strdup(optarg);
			break;
		case 'v':
			tund_log_set_level(TUND_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tund: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	ret = tund_privdrop_no_dumps();
	if (ret) {
		log_error("cannot make the process undumpable (a core file would hold keys): %s",
			  g_strerror(-ret));
		return 1;
	}
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	if (tund_daemon_start(&d, user)) {
		tund_loop_signal_add(SIGTERM, on_quit_signal, &d);
		tund_loop_signal_add(SIGINT, on_quit_signal, &d);
		tund_loop_signal_add(SIGHUP, on_reload_signal, &d);
		tund_daemon_run(&d);
		status = 0;
	}
	tund_daemon_stop(&d);
	return status;
}
