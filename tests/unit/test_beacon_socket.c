// SPDX-License-Identifier: MIT
/* tund/connect/beacon.c on its sockets, in a network namespace of the test's
 * own (only its loopback): what its callbacks may do. */
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "overlay/beacon.h"
#include "overlay/network.h"
#include "tests/unit/daemon_fixture.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"
#include "tund/connect/beacon.h"
#include "tund/daemon/log.h"

struct stopper {
	struct tund_beacon *b, *next;
	uint8_t netkey[32], priv[32], pub[32], msg[64];
	unsigned signals, next_signals;
};

static void send_msg(const struct stopper *s)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TUND_BEACON_PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(sendto(fd, s->msg, sizeof(s->msg), 0, (struct sockaddr *)&to, sizeof(to)) ==
	      (ssize_t)sizeof(s->msg));
	close(fd);
}

static void count_next(void *ctx, const uint8_t *msg, size_t len)
{
	struct stopper *s = ctx;

	(void)msg;
	(void)len;
	s->next_signals++;
}

/* What a rekey heard on the LAN does: stop this beacon from inside its own
 * receive callback and start one under the new key, whose socket may get
 * the old one's descriptor number; another datagram arrives meanwhile. */
static void restart_on_signal(void *ctx, const uint8_t *msg, size_t len)
{
	struct stopper *s = ctx;
	char why[TUND_WHY_LEN] = "";

	(void)msg;
	(void)len;
	s->signals++;
	tund_beacon_stop(s->b);
	tund_beacon_stop(s->b); /* a second stop does nothing (b is still ours) */
	s->b = NULL;
	CHECK(tund_beacon_start(s->netkey, s->priv, s->pub, 51820, NULL, "t", NULL, s, &s->next,
				why, sizeof(why)) == 0);
	if (!s->next) {
		fprintf(stderr, "  %s\n", why);
		return;
	}
	tund_beacon_on_signal(s->next, count_next);
	send_msg(s);
}

/* A stop that touches what is already gone says so with a critical. */
static void count_critical(const gchar *domain, GLogLevelFlags level, const gchar *msg,
			   gpointer data)
{
	(void)domain;
	(void)level;
	fprintf(stderr, "  critical: %s\n", msg);
	(*(unsigned *)data)++;
}

UNIT_TEST(beacon_stopped_from_its_own_signal_callback)
{
	struct stopper s = { 0 };
	char why[TUND_WHY_LEN] = "";
	unsigned criticals = 0;
	guint handler = g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL, count_critical, &criticals);
	int ns = fx_netns_enter();

	CHECK(ns >= 0);
	if (ns < 0) {
		g_log_remove_handler(NULL, handler);
		return;
	}
	CHECK(system("ip link set lo up") == 0);
	tu_fill(s.netkey, 32, 1);
	tu_fill(s.priv, 32, 2);
	crypto_scalarmult_base(s.pub, s.priv);
	CHECK(tund_beacon_start(s.netkey, s.priv, s.pub, 51820, NULL, "t", NULL, &s, &s.b, why,
				sizeof(why)) == 0);
	if (!s.b) {
		fprintf(stderr, "  %s\n", why);
		goto out;
	}
	tund_beacon_on_signal(s.b, restart_on_signal);
	/* A sealed signal of this network (only its header is read here). */
	s.msg[0] = 'T';
	s.msg[1] = 'S';
	tund_network_id(s.netkey, s.msg + 4);
	send_msg(&s);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	while (s.next_signals == 0 && g_get_monotonic_time() < end) {
		unit_iterate(false);
		g_usleep(1000);
	}
	/* The old beacon heard one; the datagram sent after the restart went
	 * to the new one, not to the stopped one through a reused descriptor
	 * (a use after free, which ASan reported before the fix). */
	CHECK(s.signals == 1);
	CHECK(s.next_signals == 1);
out:
	tund_beacon_stop(s.b);
	tund_beacon_stop(s.next);
	fx_netns_leave(ns);
	g_log_remove_handler(NULL, handler);
	CHECK(criticals == 0);
}
