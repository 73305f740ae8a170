// SPDX-License-Identifier: MIT
/* Drives tund/mqtt for tests/netns/test_mqtt.sh.
 *   mqtt_probe URL CLIENT_ID [--sub FILTER]... [--will TOPIC PAYLOAD]
 * Runs a GLib main loop with one tund_mqtt. Prints one line per event:
 *   connected | disconnected WHY | msg TOPIC PAYLOAD [retained] | hb N
 * "hb N" comes every second from a timer. A 100 ms timer measures how late the
 * main loop runs it; the worst lateness is reported by "stats".
 * Commands on stdin, one per line:
 *   pub TOPIC PAYLOAD | ret TOPIC PAYLOAD (retained; PAYLOAD "-" = empty)
 *   sub FILTER | unsub FILTER | will TOPIC PAYLOAD | stats | lagreset | quit
 * each answered with "ok CMD" or "err CMD: reason" (stats prints a line). */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tund/connect/mqtt.h"
#include "tund/daemon/log.h"

static struct tund_mqtt *mq;
static GMainLoop *loop;
static GString *in;
static unsigned hb;
static gint64 last_tick, max_lag_us;

static void on_connected(void *ctx)
{
	(void)ctx;
	printf("connected\n");
}

static void on_disconnected(void *ctx, const char *why)
{
	(void)ctx;
	printf("disconnected %s\n", why);
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len,
		       bool retained)
{
	(void)ctx;
	printf("msg %s %.*s%s\n", topic, (int)len, (const char *)payload,
	       retained ? " retained" : "");
}

static gboolean on_hb(gpointer data)
{
	(void)data;
	printf("hb %u\n", ++hb);
	return G_SOURCE_CONTINUE;
}

static gboolean on_tick(gpointer data)
{
	gint64 now = g_get_monotonic_time();
	gint64 lag = now - last_tick - 100000;

	(void)data;
	if (last_tick && lag > max_lag_us)
		max_lag_us = lag;
	last_tick = now;
	return G_SOURCE_CONTINUE;
}

static void reply(const char *cmd, int rc)
{
	if (rc < 0)
		printf("err %s: %s\n", cmd, g_strerror(-rc));
	else
		printf("ok %s\n", cmd);
}

static void command(char *line)
{
	char **w = g_strsplit(line, " ", 3);
	guint n = g_strv_length(w);
	const char *payload = n > 2 && strcmp(w[2], "-") ? w[2] : "";

	if (n == 0) {
		/* empty line */
	} else if (n == 3 && !strcmp(w[0], "pub")) {
		reply("pub", tund_mqtt_publish(mq, w[1], payload, strlen(payload), false));
	} else if (n == 3 && !strcmp(w[0], "ret")) {
		reply("ret", tund_mqtt_publish(mq, w[1], payload, strlen(payload), true));
	} else if (n == 3 && !strcmp(w[0], "will")) {
		reply("will", tund_mqtt_set_will(mq, w[1], payload, strlen(payload), true));
	} else if (n == 2 && !strcmp(w[0], "sub")) {
		reply("sub", tund_mqtt_subscribe(mq, w[1]));
	} else if (n == 2 && !strcmp(w[0], "unsub")) {
		reply("unsub", tund_mqtt_unsubscribe(mq, w[1]));
	} else if (!strcmp(w[0], "stats")) {
		struct tund_mqtt_stats s;

		tund_mqtt_get_stats(mq, &s);
		printf("stats connected=%d connects=%llu msgs_in=%llu msgs_out=%llu bytes_in=%llu "
		       "bytes_out=%llu dropped_out=%llu maxlag_ms=%lld\n",
		       s.connected, (unsigned long long)s.connects, (unsigned long long)s.msgs_in,
		       (unsigned long long)s.msgs_out, (unsigned long long)s.bytes_in,
		       (unsigned long long)s.bytes_out, (unsigned long long)s.dropped_out,
		       (long long)(max_lag_us / 1000));
	} else if (!strcmp(w[0], "lagreset")) {
		max_lag_us = 0;
		printf("ok lagreset\n");
	} else if (!strcmp(w[0], "quit")) {
		g_main_loop_quit(loop);
	} else {
		printf("err unknown command: %s\n", line);
	}
	g_strfreev(w);
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
	char buf[4096], *nl;
	ssize_t r;

	(void)cond;
	(void)data;
	r = read(fd, buf, sizeof(buf));
	if (r <= 0) {
		if (r < 0 && errno == EINTR)
			return G_SOURCE_CONTINUE;
		g_main_loop_quit(loop);
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(in, buf, r);
	while ((nl = memchr(in->str, '\n', in->len))) {
		*nl = '\0';
		command(in->str);
		g_string_erase(in, 0, nl - in->str + 1);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	(void)data;
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	static const struct tund_mqtt_callbacks cb = {
		.connected = on_connected,
		.disconnected = on_disconnected,
		.message = on_message,
	};
	char err[TUND_WHY_LEN];
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: %s URL CLIENT_ID [--sub FILTER]... [--will TOPIC PAYLOAD]\n",
			argv[0]);
		return 2;
	}
	loop = g_main_loop_new(NULL, FALSE);
	in = g_string_new(NULL);
	if (tund_mqtt_new(argv[1], argv[2], &cb, NULL, &mq, err, sizeof(err)) < 0) {
		printf("error: %s\n", err);
		return 1;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--sub") && i + 1 < argc) {
			reply("sub", tund_mqtt_subscribe(mq, argv[++i]));
		} else if (!strcmp(argv[i], "--will") && i + 2 < argc) {
			reply("will", tund_mqtt_set_will(mq, argv[i + 1], argv[i + 2],
							 strlen(argv[i + 2]), true));
			i += 2;
		} else {
			printf("error: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	g_unix_fd_add(0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
	g_timeout_add(1000, on_hb, NULL);
	g_timeout_add(100, on_tick, NULL);
	g_unix_signal_add(SIGTERM, on_signal, NULL);
	g_unix_signal_add(SIGINT, on_signal, NULL);
	g_main_loop_run(loop);
	tund_mqtt_free(mq);
	printf("bye\n");
	g_string_free(in, TRUE);
	g_main_loop_unref(loop);
	return 0;
}
