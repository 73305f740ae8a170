// SPDX-License-Identifier: MIT
/* Runs tund/connect/beacon.c for tests/netns/test_beacon.sh with a random public key.
 * Prints "self HEX" first (a fresh node key, beacons signed with it), then "peer HEX ADDR PORT" the first time each other
 * key is accepted; writes the counters to STATS (replaced every 200 ms) as
 * "name=value" lines. SIGTERM or SIGINT stops it.
 * Usage: beacon_probe KEYFILE LISTEN_PORT STATS [EXCLUDE_IFNAME] */
#include <arpa/inet.h>
#include <glib-unix.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tund/connect/beacon.h"
#include "tund/daemon/log.h"

static GMainLoop *loop;
static GHashTable *seen;
static struct tund_beacon *bc;
static const char *stats_path;

static void on_peer(void *ctx, const uint8_t pubkey[32], const struct sockaddr *src,
		    socklen_t srclen, uint16_t port)
{
	char hex[65], addr[INET6_ADDRSTRLEN] = "?";

	(void)ctx;
	(void)srclen;
	sodium_bin2hex(hex, sizeof(hex), pubkey, 32);
	if (g_hash_table_contains(seen, hex))
		return;
	g_hash_table_add(seen, g_strdup(hex));
	if (src->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)src)->sin_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)src)->sin6_addr, addr,
			  sizeof(addr));
	printf("peer %s %s %u\n", hex, addr, port);
	fflush(stdout);
}

static gboolean write_stats(gpointer data)
{
	struct tund_beacon_stats s;
	char *tmp = g_strconcat(stats_path, ".tmp", NULL);
	FILE *f = fopen(tmp, "w");

	(void)data;
	tund_beacon_get_stats(bc, &s);
	if (f) {
		fprintf(f,
			"sent=%llu\nreceived=%llu\naccepted=%llu\nother_network=%llu\n"
			"forged=%llu\nstale=%llu\nreplay=%llu\nmalformed=%llu\nratelimited=%llu\n"
			"old_version=%llu\n",
			(unsigned long long)s.sent, (unsigned long long)s.received,
			(unsigned long long)s.accepted, (unsigned long long)s.dropped_other_network,
			(unsigned long long)s.dropped_forged, (unsigned long long)s.dropped_stale,
			(unsigned long long)s.dropped_replay, (unsigned long long)s.dropped_malformed,
			(unsigned long long)s.dropped_ratelimited,
			(unsigned long long)s.dropped_old_version);
		fclose(f);
		rename(tmp, stats_path);
	}
	g_free(tmp);
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	(void)data;
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	uint8_t key[32], priv[32], pub[32];
	char hex[65], *text = NULL, err[TUND_WHY_LEN];
	size_t bin_len = 0;
	int ret;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: beacon_probe KEYFILE LISTEN_PORT STATS [EXCLUDE_IFNAME]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (getenv("BEACON_DEBUG"))
		tund_log_set_level(TUND_LOG_DEBUG);
	/* The key file holds 64 hex digits. */
	if (!g_file_get_contents(argv[1], &text, NULL, NULL) ||
	    sodium_hex2bin(key, sizeof(key), g_strstrip(text), strlen(text), NULL, &bin_len,
			   NULL) != 0 ||
	    bin_len != 32) {
		fprintf(stderr, "bad key file %s\n", argv[1]);
		return 1;
	}
	g_free(text);
	stats_path = argv[3];
	crypto_box_keypair(pub, priv);
	sodium_bin2hex(hex, sizeof(hex), pub, 32);
	printf("self %s\n", hex);
	fflush(stdout);

	loop = g_main_loop_new(NULL, FALSE);
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ret = tund_beacon_start(key, priv, pub, (uint16_t)atoi(argv[2]), argc == 5 ? argv[4] : NULL,
				"probe", on_peer, NULL, &bc, err, sizeof(err));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(priv, sizeof(priv));
	if (ret < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	g_timeout_add(200, write_stats, NULL);
	g_unix_signal_add(SIGTERM, on_signal, NULL);
	g_unix_signal_add(SIGINT, on_signal, NULL);
	write_stats(NULL);
	g_main_loop_run(loop);
	write_stats(NULL);
	tund_beacon_stop(bc);
	g_hash_table_destroy(seen);
	g_main_loop_unref(loop);
	return 0;
}
