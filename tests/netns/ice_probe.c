// SPDX-License-Identifier: MIT
/* Drives tund/ice for tests/netns/test_ice_relay.sh: one ICE session whose
 * signaling is two plain files (this side appends to OUT, reads the peer's
 * IN as it grows), then pings over the selected pair.
 *
 *   ice_probe [--controlling] --out FILE --in FILE [--turn udp|tcp:IP:PORT:USER:PASS]...
 *             [--stun IP:PORT] [--exclude IFNAME] [--count N] [--timeout S]
 *
 * Signaling lines: "cred UFRAG PWD", "cand a=candidate:...", "eoc".
 * Output lines (stdout): "local a=candidate:...", "connected MS" (from the
 * start of gathering), "pair LTYPE LADDR RTYPE RADDR TRANSPORT relayed|direct",
 * "pongs N", then "ok" (exit 0) or "error: ..." (exit 1). Each side sends
 * "ping I" every 50 ms once connected, answers "ping I" with "pong I", and
 * finishes after N pongs (answering for one more second). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tund/connect/ice.h"
#include "tund/daemon/log.h"

static struct {
	GMainLoop *loop;
	struct tund_ice *ice;
	FILE *out;
	const char *in_path;
	long in_off;
	GString *partial;
	gint64 t0;
	unsigned count, pings, pongs;
	bool connected, done, failed;
	gint64 done_at;
	struct tund_ice_pair pair;
	bool have_pair;
} P;

__attribute__((format(printf, 1, 2)))
static void sig(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(P.out, fmt, ap);
	va_end(ap);
	fflush(P.out);
}

static void on_candidate(void *ctx, const char *line)
{
	(void)ctx;
	printf("local %s\n", line);
	sig("cand %s\n", line);
}

static void on_gathering_done(void *ctx)
{
	(void)ctx;
	sig("eoc\n");
}

static void on_state(void *ctx, enum tund_ice_state st, const char *reason)
{
	(void)ctx;
	printf("state %s%s%s\n", tund_ice_state_name(st), reason ? " " : "", reason ? reason : "");
	if (st == TUND_ICE_CONNECTED && !P.connected) {
		P.connected = true;
		printf("connected %.1f\n", (double)(g_get_monotonic_time() - P.t0) / 1000.0);
	}
	if (st == TUND_ICE_FAILED) {
		printf("error: ICE failed: %s\n", reason ? reason : "?");
		P.failed = true;
		g_main_loop_quit(P.loop);
	}
}

static void on_pair(void *ctx, const struct tund_ice_pair *p)
{
	(void)ctx;
	P.pair = *p;
	P.have_pair = true;
}

static void on_receive(void *ctx, uint8_t *buf, size_t len)
{
	char text[64], reply[64];

	(void)ctx;
	snprintf(text, sizeof(text), "%.*s", (int)(len < 60 ? len : 60), (const char *)buf);
	if (strncmp(text, "ping ", 5) == 0) {
		snprintf(reply, sizeof(reply), "pong %s", text + 5);
		tund_ice_send(P.ice, (const uint8_t *)reply, strlen(reply));
	} else if (strncmp(text, "pong ", 5) == 0) {
		P.pongs++;
	}
}

static void handle_line(const char *line)
{
	int ret = 0;

	if (strncmp(line, "cred ", 5) == 0) {
		char ufrag[257] = "", pwd[257] = "";

		if (sscanf(line + 5, "%256s %256s", ufrag, pwd) != 2)
			ret = -EINVAL;
		else
			ret = tund_ice_set_remote_credentials(P.ice, ufrag, pwd);
	} else if (strncmp(line, "cand ", 5) == 0) {
		ret = tund_ice_add_remote_candidate(P.ice, line + 5);
		printf("remote %s -> %d\n", line + 5, ret);
		ret = 0;  /* a rejected candidate is not fatal */
	} else if (strcmp(line, "eoc") == 0) {
		tund_ice_remote_gathering_done(P.ice);
	}
	if (ret < 0)
		printf("signaling line \"%s\": %s\n", line, strerror(-ret));
}

/* Reads what the peer appended to its signaling file since last time. */
static void poll_signaling(void)
{
	FILE *f = fopen(P.in_path, "r");
	char buf[1024];
	size_t n;

	if (!f)
		return;
	if (fseek(f, P.in_off, SEEK_SET) == 0) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			P.in_off += (long)n;
			g_string_append_len(P.partial, buf, (gssize)n);
		}
	}
	fclose(f);
	for (;;) {
		char *nl = memchr(P.partial->str, '\n', P.partial->len);

		if (!nl)
			break;
		*nl = '\0';
		handle_line(P.partial->str);
		g_string_erase(P.partial, 0, nl - P.partial->str + 1);
	}
}

static gboolean tick(gpointer data)
{
	char msg[32];

	(void)data;
	poll_signaling();
	if (P.connected && !P.done) {
		snprintf(msg, sizeof(msg), "ping %u", P.pings++);
		tund_ice_send(P.ice, (const uint8_t *)msg, strlen(msg));
		if (P.pongs >= P.count) {
			P.done = true;
			P.done_at = g_get_monotonic_time();
		}
	}
	if (P.done && g_get_monotonic_time() - P.done_at > G_USEC_PER_SEC)
		g_main_loop_quit(P.loop);
	return G_SOURCE_CONTINUE;
}

static gboolean timeout(gpointer data)
{
	(void)data;
	printf("error: timeout (connected=%d pongs=%u)\n", P.connected, P.pongs);
	P.failed = true;
	g_main_loop_quit(P.loop);
	return G_SOURCE_REMOVE;
}

static bool parse_server(const char *arg, char *host, size_t hlen, uint16_t *port)
{
	const char *colon = strrchr(arg, ':');
	size_t n;

	if (!colon)
		return false;
	n = (size_t)(colon - arg);
	if (n == 0 || n >= hlen)
		return false;
	memcpy(host, arg, n);
	host[n] = '\0';
	*port = (uint16_t)atoi(colon + 1);
	return *port != 0;
}

static bool parse_turn(struct tund_ice_server_config *cfg, const char *arg)
{
	char **f = g_strsplit(arg, ":", 5);
	bool ok = false;

	if (g_strv_length(f) == 5 && cfg->n_turn < TUND_ICE_MAX_TURN &&
	    (strcmp(f[0], "udp") == 0 || strcmp(f[0], "tcp") == 0)) {
		unsigned i = cfg->n_turn++;

		cfg->turn[i].tcp = strcmp(f[0], "tcp") == 0;
		g_strlcpy(cfg->turn[i].host, f[1], sizeof(cfg->turn[i].host));
		cfg->turn[i].port = (uint16_t)atoi(f[2]);
		g_strlcpy(cfg->turn[i].user, f[3], sizeof(cfg->turn[i].user));
		g_strlcpy(cfg->turn[i].pass, f[4], sizeof(cfg->turn[i].pass));
		ok = cfg->turn[i].port != 0;
	}
	g_strfreev(f);
	return ok;
}

static int usage(void)
{
	fprintf(stderr, "usage: ice_probe [--controlling] --out FILE --in FILE "
			"[--turn udp|tcp:IP:PORT:USER:PASS]... [--stun IP:PORT] "
			"[--exclude IFNAME] [--count N] [--timeout S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct tund_ice_server_config cfg;
	struct tund_ice_callbacks cb = {
		.local_candidate = on_candidate,
		.gathering_done = on_gathering_done,
		.state_changed = on_state,
		.pair_selected = on_pair,
		.receive = on_receive,
	};
	const char *out_path = NULL;
	bool controlling = false;
	unsigned secs = 20;
	char ufrag[257], pwd[257], err[TUND_WHY_LEN] = "tund_ice_new failed";
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&cfg, 0, sizeof(cfg));
	P.count = 10;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--controlling") == 0) {
			controlling = true;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--out") == 0)
			out_path = v;
		else if (strcmp(a, "--in") == 0)
			P.in_path = v;
		else if (strcmp(a, "--turn") == 0) {
			if (!parse_turn(&cfg, v))
				return usage();
		} else if (strcmp(a, "--stun") == 0) {
			if (!parse_server(v, cfg.stun_host, sizeof(cfg.stun_host), &cfg.stun_port))
				return usage();
		} else if (strcmp(a, "--exclude") == 0)
			g_strlcpy(cfg.exclude_ifname, v, sizeof(cfg.exclude_ifname));
		else if (strcmp(a, "--count") == 0)
			P.count = (unsigned)atoi(v);
		else if (strcmp(a, "--timeout") == 0)
			secs = (unsigned)atoi(v);
		else
			return usage();
	}
	if (!out_path || !P.in_path)
		return usage();
	P.out = fopen(out_path, "a");
	if (!P.out) {
		printf("error: %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	P.partial = g_string_new(NULL);
	P.loop = g_main_loop_new(NULL, FALSE);
	P.t0 = g_get_monotonic_time();
	if (tund_ice_new(g_main_context_default(), controlling, &cfg, &cb, NULL, &P.ice, err,
			 sizeof(err)) < 0) {
		printf("error: %s\n", err);
		goto out;
	}
	tund_ice_local_credentials(P.ice, ufrag, pwd);
	sig("cred %s %s\n", ufrag, pwd);
	if (tund_ice_gather(P.ice) != 0) {
		printf("error: gather failed\n");
		goto out;
	}
	g_timeout_add(20, tick, NULL);
	g_timeout_add_seconds(secs, timeout, NULL);
	g_main_loop_run(P.loop);
	if (P.have_pair)
		printf("pair %s %s %s %s %s %s\n", P.pair.local_type, P.pair.local_addr,
		       P.pair.remote_type, P.pair.remote_addr, P.pair.transport,
		       P.pair.relayed ? "relayed" : "direct");
	printf("pongs %u\n", P.pongs);
	if (!P.failed && P.pongs >= P.count) {
		printf("ok\n");
		rc = 0;
	}
out:
	tund_ice_free(P.ice);
	/* Let the TURN allocations be released before exiting. */
	for (gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	     tund_ice_pending_closes() > 0 && g_get_monotonic_time() < end;)
		g_main_context_iteration(NULL, TRUE);
	printf("closed %s\n", tund_ice_pending_closes() ? "late" : "cleanly");
	fclose(P.out);
	g_main_loop_unref(P.loop);
	g_string_free(P.partial, TRUE);
	return rc;
}
