// SPDX-License-Identifier: MIT
/* tund/ice: two sessions in one process on one GMainContext, over 127.0.0.1
 * only. Signaling is two in-memory queues pumped by the test loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/connect/ice.h"
#include "tund/connect/ice_config.h"
#include "tund/daemon/log.h"

struct side {
	const char *name;
	struct tund_ice *ice;
	struct side *peer;
	GQueue to_peer;  /* candidate lines for the peer (g_strdup'd) */
	bool eoc_to_peer;
	enum tund_ice_state state;
	char reason[64];
	unsigned n_states_failed;
	bool pair_seen;
	struct tund_ice_pair pair;
	unsigned n_recv;
	char last[64];
	bool free_on_recv;  /* test: tund_ice_free from inside receive */
};

static void cb_candidate(void *ctx, const char *line)
{
	struct side *s = ctx;

	g_queue_push_tail(&s->to_peer, g_strdup(line));
}

static void cb_gathering_done(void *ctx)
{
	struct side *s = ctx;

	s->eoc_to_peer = true;
}

static void cb_state(void *ctx, enum tund_ice_state st, const char *reason)
{
	struct side *s = ctx;

	s->state = st;
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
	if (st == TUND_ICE_FAILED)
		s->n_states_failed++;
}

static void cb_pair(void *ctx, const struct tund_ice_pair *pair)
{
	struct side *s = ctx;

	s->pair_seen = true;
	s->pair = *pair;
}

static void cb_receive(void *ctx, uint8_t *buf, size_t len)
{
	struct side *s = ctx;

	s->n_recv++;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)len, (const char *)buf);
	if (s->free_on_recv) {
		tund_ice_free(s->ice);
		s->ice = NULL;
	}
}

static const struct tund_ice_callbacks callbacks = {
	.local_candidate = cb_candidate,
	.gathering_done = cb_gathering_done,
	.state_changed = cb_state,
	.pair_selected = cb_pair,
	.receive = cb_receive,
};

static void loopback_cfg(struct tund_ice_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->local_addrs[0] = "127.0.0.1";
}

/* Delivers queued signaling from s to its peer. */
static void pump(struct side *s)
{
	char *line;

	if (!s->peer->ice)
		return;
	while ((line = g_queue_pop_head(&s->to_peer))) {
		CHECK(tund_ice_add_remote_candidate(s->peer->ice, line) == 0);
		g_free(line);
	}
	if (s->eoc_to_peer) {
		s->eoc_to_peer = false;
		tund_ice_remote_gathering_done(s->peer->ice);
	}
}

static void exchange_credentials(struct side *from, struct side *to)
{
	char ufrag[257], pwd[257];

	tund_ice_local_credentials(from->ice, ufrag, pwd);
	CHECK(strlen(ufrag) >= 4 && strlen(pwd) >= 22);
	CHECK(tund_ice_set_remote_credentials(to->ice, ufrag, pwd) == 0);
}

/* Iterates ctx, pumping signaling, until done(a, b) or the deadline. */
static bool run_until(GMainContext *ctx, struct side *a, struct side *b,
		      bool (*done)(struct side *, struct side *), double seconds)
{
	gint64 end = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);

	while (!done(a, b)) {
		if (g_get_monotonic_time() > end)
			return false;
		pump(a);
		pump(b);
		g_main_context_iteration(ctx, FALSE);
		g_usleep(500);
	}
	return true;
}

static bool both_connected(struct side *a, struct side *b)
{
	return a->state == TUND_ICE_CONNECTED && b->state == TUND_ICE_CONNECTED &&
	       a->pair_seen && b->pair_seen;
}

static unsigned want_a, want_b;
static bool both_received(struct side *a, struct side *b)
{
	return a->n_recv >= want_a && b->n_recv >= want_b;
}

static bool b_received(struct side *a, struct side *b)
{
	(void)a;
	return b->n_recv >= want_b;
}

static bool a_failed(struct side *a, struct side *b)
{
	(void)b;
	return a->state == TUND_ICE_FAILED;
}

static void drain_closes(GMainContext *ctx)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	while (tund_ice_pending_closes() > 0 && g_get_monotonic_time() < end) {
		g_main_context_iteration(ctx, FALSE);
		g_usleep(1000);
	}
	CHECK(tund_ice_pending_closes() == 0);
}

static void side_clear(struct side *s)
{
	tund_ice_free(s->ice);
	s->ice = NULL;
	g_queue_clear_full(&s->to_peer, g_free);
}

static bool ping(struct side *from, const char *text)
{
	return tund_ice_send(from->ice, (const uint8_t *)text, strlen(text)) == 0;
}

static void check_host_pair(const struct side *s)
{
	struct tund_ice_pair p;

	CHECK(s->pair_seen);
	CHECK(!s->pair.relayed);
	CHECK(strcmp(s->pair.local_type, "host") == 0);
	CHECK(strcmp(s->pair.remote_type, "host") == 0);
	CHECK(strcmp(s->pair.transport, "udp") == 0);
	CHECK(strncmp(s->pair.local_addr, "127.0.0.1:", 10) == 0);
	CHECK(strncmp(s->pair.remote_addr, "127.0.0.1:", 10) == 0);
	CHECK(tund_ice_get_pair(s->ice, &p));
	CHECK(strcmp(p.local_addr, s->pair.local_addr) == 0);
	CHECK(strcmp(p.remote_addr, s->pair.remote_addr) == 0);
}

static void start_pair(GMainContext *ctx, struct side *a, struct side *b)
{
	struct tund_ice_server_config cfg;
	char err[TUND_WHY_LEN];

	loopback_cfg(&cfg);
	a->peer = b;
	b->peer = a;
	g_queue_init(&a->to_peer);
	g_queue_init(&b->to_peer);
	CHECK(tund_ice_new(ctx, true, &cfg, &callbacks, a, &a->ice, err, sizeof(err)) == 0);
	CHECK(a->ice);
	CHECK(tund_ice_new(ctx, false, &cfg, &callbacks, b, &b->ice, err, sizeof(err)) == 0);
	CHECK(b->ice);
	CHECK(tund_ice_state(a->ice) == TUND_ICE_NEW);
}

UNIT_TEST(ice_loopback_connect_send_restart)
{
	GMainContext *ctx = g_main_context_new();
	struct side a = { .name = "a" }, b = { .name = "b" };
	char uf1[257], pw1[257], uf2[257], pw2[257], msg[32];
	gint64 t0;

	start_pair(ctx, &a, &b);
	if (!a.ice || !b.ice)
		goto out;
	CHECK(tund_ice_send(a.ice, (const uint8_t *)"x", 1) == -EAGAIN);
	CHECK(tund_ice_restart(a.ice) == -EAGAIN);  /* not gathered yet */

	t0 = g_get_monotonic_time();
	CHECK(tund_ice_gather(a.ice) == 0);
	CHECK(tund_ice_gather(b.ice) == 0);
	CHECK(tund_ice_gather(b.ice) == -EALREADY);
	CHECK(!g_queue_is_empty(&a.to_peer));  /* host candidates are synchronous */
	/* Candidates before credentials: held, then applied. */
	pump(&a);
	pump(&b);
	exchange_credentials(&a, &b);
	exchange_credentials(&b, &a);
	CHECK(run_until(ctx, &a, &b, both_connected, 10));
	fprintf(stderr, "  ice: loopback connected in %.1f ms\n",
		(double)(g_get_monotonic_time() - t0) / 1000.0);
	check_host_pair(&a);
	check_host_pair(&b);

	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "a->b %d", i);
		CHECK(ping(&a, msg));
		snprintf(msg, sizeof(msg), "b->a %d", i);
		CHECK(ping(&b, msg));
	}
	want_a = want_b = 5;
	CHECK(run_until(ctx, &a, &b, both_received, 5));
	CHECK(strcmp(b.last, "a->b 4") == 0);
	CHECK(strcmp(a.last, "b->a 4") == 0);

	/* Restart, initiated by a: new credentials; b restarts first on the
	 * offer, then takes a's credentials; a takes b's answer. */
	tund_ice_local_credentials(a.ice, uf1, pw1);
	a.pair_seen = b.pair_seen = false;
	t0 = g_get_monotonic_time();
	CHECK(tund_ice_restart(a.ice) == 0);
	CHECK(tund_ice_state(a.ice) == TUND_ICE_CONNECTING);
	CHECK(strcmp(a.reason, "restart") == 0);
	tund_ice_local_credentials(a.ice, uf2, pw2);
	CHECK(strcmp(uf1, uf2) != 0 && strcmp(pw1, pw2) != 0);
	/* The old pair still carries traffic until a new one is selected. */
	want_b = b.n_recv + 1;
	CHECK(ping(&a, "during restart"));
	CHECK(tund_ice_restart(b.ice) == 0);
	exchange_credentials(&a, &b);
	exchange_credentials(&b, &a);
	CHECK(run_until(ctx, &a, &b, b_received, 5));
	CHECK(strcmp(b.last, "during restart") == 0);
	CHECK(run_until(ctx, &a, &b, both_connected, 10));
	fprintf(stderr, "  ice: reconnected after restart in %.1f ms\n",
		(double)(g_get_monotonic_time() - t0) / 1000.0);
	check_host_pair(&a);
	check_host_pair(&b);
	want_a = a.n_recv + 1;
	want_b = b.n_recv + 1;
	CHECK(ping(&a, "after restart a"));
	CHECK(ping(&b, "after restart b"));
	CHECK(run_until(ctx, &a, &b, both_received, 5));
	CHECK(strcmp(b.last, "after restart a") == 0);
	CHECK(strcmp(a.last, "after restart b") == 0);
	CHECK(a.n_states_failed == 0 && b.n_states_failed == 0);

	/* b frees itself from inside its receive callback. */
	b.free_on_recv = true;
	want_b = b.n_recv + 1;
	CHECK(ping(&a, "bye"));
	CHECK(run_until(ctx, &a, &b, b_received, 5));
	CHECK(b.ice == NULL);
out:
	side_clear(&a);
	side_clear(&b);
	drain_closes(ctx);
	g_main_context_unref(ctx);
}

UNIT_TEST(ice_remote_validation)
{
	GMainContext *ctx = g_main_context_new();
	struct side a = { .name = "a" }, b = { .name = "b" };
	char line[128];

	start_pair(ctx, &a, &b);
	if (!a.ice)
		goto out;
	CHECK(tund_ice_set_remote_credentials(a.ice, "abc", "0123456789012345678901") == -EINVAL);
	CHECK(tund_ice_set_remote_credentials(a.ice, "abcd", "012345678901234567890") == -EINVAL);
	CHECK(tund_ice_set_remote_credentials(a.ice, "ab d", "0123456789012345678901") == -EINVAL);
	CHECK(tund_ice_set_remote_credentials(a.ice, "abcd", "01234567890123456789\n1") == -EINVAL);
	{
		char big[300];

		memset(big, 'x', 257);
		big[257] = '\0';
		CHECK(tund_ice_set_remote_credentials(a.ice, big, "0123456789012345678901") == -EINVAL);
		big[256] = '\0';
		CHECK(tund_ice_set_remote_credentials(a.ice, big, "0123456789012345678901") == 0);
	}
	CHECK(tund_ice_set_remote_credentials(a.ice, "ab+/", "0123456789+/0123456789") == 0);

	CHECK(tund_ice_add_remote_candidate(a.ice, NULL) == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(a.ice, "") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(a.ice, "a=candidate:garbage") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 2 UDP 2015364095 192.0.2.1 4000 typ host") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 1 TCP 2015364095 192.0.2.1 4000 typ host tcptype active") ==
	      -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 1 UDP 2015364095 224.0.0.1 4000 typ host") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 1 UDP 2015364095 0.0.0.0 4000 typ host") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 1 UDP 2015364095 192.0.2.1 0 typ host") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 1 UDP 2015364095 192.0.2.1 4000 typ host\r") == -EINVAL);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "candidate:1 1 UDP 2015364095 192.0.2.1 3999 typ host") == 0);
	for (int i = 1; i < 25; i++) {
		snprintf(line, sizeof(line), "a=candidate:%d 1 UDP %d 192.0.2.%d 4000 typ host", i + 1,
			 2015364095 - i, i + 1);
		CHECK(tund_ice_add_remote_candidate(a.ice, line) == 0);
	}
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:99 1 UDP 2015364095 192.0.2.99 4000 typ host") == -ENOSPC);
	{
		char big[600];

		memset(big, ' ', sizeof(big) - 1);
		memcpy(big, "a=candidate:", 12);
		big[sizeof(big) - 1] = '\0';
		CHECK(tund_ice_add_remote_candidate(a.ice, big) == -EINVAL);
	}
out:
	side_clear(&a);
	side_clear(&b);
	drain_closes(ctx);
	g_main_context_unref(ctx);
}

UNIT_TEST(ice_bad_config)
{
	GMainContext *ctx = g_main_context_new();
	struct tund_ice_server_config cfg;
	char err[TUND_WHY_LEN] = "";
	struct tund_ice *ice;

	loopback_cfg(&cfg);
	cfg.port_min = 5000;
	cfg.port_max = 4000;
	CHECK(tund_ice_new(ctx, true, &cfg, &callbacks, NULL, &ice, err, sizeof(err)) == -EINVAL);
	CHECK(ice == NULL && err[0] != '\0');
	err[0] = '\0';
	loopback_cfg(&cfg);
	cfg.local_addrs[0] = "not-an-address";
	CHECK(tund_ice_new(ctx, true, &cfg, &callbacks, NULL, &ice, err, sizeof(err)) < 0);
	CHECK(ice == NULL && err[0] != '\0');
	err[0] = '\0';
	/* Enumerating with everything excluded must fail, not gather anywhere:
	 * a fresh unit-test process may have only loopback; either way no
	 * candidate may be on 127.0.0.1. */
	memset(&cfg, 0, sizeof(cfg));
	CHECK((tund_ice_new(ctx, true, &cfg, &callbacks, NULL, &ice, err, sizeof(err)) == 0) ==
	      (ice != NULL));
	CHECK(ice != NULL || err[0] != '\0');
	tund_ice_free(ice);
	drain_closes(ctx);
	g_main_context_unref(ctx);
}

/* The peer vanishes after connecting: consent freshness (RFC 7675, 10 s in
 * libnice) turns that into FAILED "consent lost", and sends are refused. */
UNIT_TEST(ice_consent_lost)
{
	GMainContext *ctx = g_main_context_new();
	struct side a = { .name = "a" }, b = { .name = "b" };
	gint64 t0;
	int ret;

	start_pair(ctx, &a, &b);
	if (!a.ice || !b.ice)
		goto out;
	exchange_credentials(&a, &b);
	exchange_credentials(&b, &a);
	CHECK(tund_ice_gather(a.ice) == 0);
	CHECK(tund_ice_gather(b.ice) == 0);
	CHECK(run_until(ctx, &a, &b, both_connected, 10));
	side_clear(&b);
	t0 = g_get_monotonic_time();
	CHECK(run_until(ctx, &a, &b, a_failed, 20));
	fprintf(stderr, "  ice: peer gone, FAILED after %.1f s (%s)\n",
		(double)(g_get_monotonic_time() - t0) / 1e6, a.reason);
	CHECK(strcmp(a.reason, "consent lost") == 0);
	ret = tund_ice_send(a.ice, (const uint8_t *)"x", 1);
	fprintf(stderr, "  ice: send after consent lost: %d\n", ret);
	CHECK(ret == -EACCES);
out:
	side_clear(&a);
	side_clear(&b);
	drain_closes(ctx);
	g_main_context_unref(ctx);
}

/* Nobody answers at the only remote candidate: after the peer's
 * end-of-candidates the session fails with a reason. */
UNIT_TEST(ice_no_pair_answers)
{
	GMainContext *ctx = g_main_context_new();
	struct side a = { .name = "a" }, b = { .name = "b" };
	gint64 t0 = g_get_monotonic_time();

	start_pair(ctx, &a, &b);
	if (!a.ice)
		goto out;
	side_clear(&b);
	CHECK(tund_ice_gather(a.ice) == 0);
	CHECK(tund_ice_set_remote_credentials(a.ice, "abcd", "0123456789012345678901") == 0);
	CHECK(tund_ice_add_remote_candidate(
		      a.ice, "a=candidate:1 1 UDP 2015364095 127.0.0.1 9 typ host") == 0);
	tund_ice_remote_gathering_done(a.ice);
	CHECK(run_until(ctx, &a, &b, a_failed, 20));
	fprintf(stderr, "  ice: no answer, FAILED after %.1f s (%s)\n",
		(double)(g_get_monotonic_time() - t0) / 1e6, a.reason);
	CHECK(strcmp(a.reason, "no candidate pair answered") == 0);
	CHECK(tund_ice_send(a.ice, (const uint8_t *)"x", 1) == -EAGAIN);
out:
	side_clear(&a);
	side_clear(&b);
	drain_closes(ctx);
	g_main_context_unref(ctx);
}

/* The host candidate's port comes from the configured range. */
UNIT_TEST(ice_port_range)
{
	GMainContext *ctx = g_main_context_new();
	struct tund_ice_server_config cfg;
	struct side a = { .name = "a" };
	char err[TUND_WHY_LEN], *line;
	unsigned port = 0;

	loopback_cfg(&cfg);
	cfg.port_min = 47310;
	cfg.port_max = 47319;
	g_queue_init(&a.to_peer);
	CHECK(tund_ice_new(ctx, true, &cfg, &callbacks, &a, &a.ice, err, sizeof(err)) == 0);
	CHECK(a.ice);
	if (!a.ice)
		goto out;
	CHECK(tund_ice_gather(a.ice) == 0);
	CHECK(tund_ice_state(a.ice) == TUND_ICE_GATHERING);
	line = g_queue_peek_head(&a.to_peer);
	CHECK(line && sscanf(line, "a=candidate:%*s %*u %*s %*u 127.0.0.1 %u typ host", &port) == 1);
	CHECK(port >= 47310 && port <= 47319);
out:
	side_clear(&a);
	drain_closes(ctx);
	g_main_context_unref(ctx);
}

/* Global IPv6 (what netcheck reports and what reaches a member across the
 * internet): 2000::/3 only. */
UNIT_TEST(ice_global_ipv6)
{
	static const struct {
		const char *a;
		bool global;
	} cases[] = {
		{ "2001:db8:1::10", true }, { "2a01:4f8::1", true },     { "3fff::1", true },
		{ "fd12:3456::1", false },  { "fc00::1", false },        { "fe80::1", false },
		{ "::1", false },           { "ff02::1", false },        { "::", false },
		{ "::ffff:192.0.2.1", false }, { "4000::1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in6_addr a;

		CHECK(inet_pton(AF_INET6, cases[i].a, &a) == 1);
		if (tund_ice_global_ipv6(&a) != cases[i].global)
			fprintf(stderr, "  %s: want %s\n", cases[i].a, cases[i].global ? "global" : "not");
		CHECK(tund_ice_global_ipv6(&a) == cases[i].global);
	}
}

/* A session whose TURN server never answers holds no allocation; it refuses
 * to release before a pair is selected and releases nothing after. */
UNIT_TEST(ice_release_relays_counts)
{
	GMainContext *ctx = g_main_context_new();
	struct side a = { .name = "a" }, b = { .name = "b" };
	struct tund_ice_server_config cfg;
	char err[TUND_WHY_LEN];
	unsigned before = tund_ice_allocations();

	loopback_cfg(&cfg);
	g_strlcpy(cfg.turn[0].host, "127.0.0.1", sizeof(cfg.turn[0].host));
	cfg.turn[0].port = 9; /* discard: nothing answers */
	g_strlcpy(cfg.turn[0].user, "u", sizeof(cfg.turn[0].user));
	g_strlcpy(cfg.turn[0].pass, "p", sizeof(cfg.turn[0].pass));
	cfg.n_turn = 1;
	a.peer = &b;
	b.peer = &a;
	g_queue_init(&a.to_peer);
	g_queue_init(&b.to_peer);
	CHECK(tund_ice_new(ctx, true, &cfg, &callbacks, &a, &a.ice, err, sizeof(err)) == 0);
	loopback_cfg(&cfg);
	CHECK(tund_ice_new(ctx, false, &cfg, &callbacks, &b, &b.ice, err, sizeof(err)) == 0);
	if (!a.ice || !b.ice)
		goto out;
	CHECK(tund_ice_gather(a.ice) == 0);
	CHECK(tund_ice_gather(b.ice) == 0);
	CHECK(tund_ice_release_relays(a.ice) == -ENOENT); /* no pair yet */
	pump(&a);
	pump(&b);
	exchange_credentials(&a, &b);
	exchange_credentials(&b, &a);
	CHECK(run_until(ctx, &a, &b, both_connected, 10));
	CHECK(tund_ice_allocations() == before);
	CHECK(tund_ice_release_relays(a.ice) == 0);
	CHECK(tund_ice_release_relays(b.ice) == 0); /* no TURN server at all */
	want_b = b.n_recv + 1;
	CHECK(ping(&a, "after release"));
	CHECK(run_until(ctx, &a, &b, b_received, 5));
out:
	side_clear(&a);
	side_clear(&b);
	drain_closes(ctx);
	CHECK(tund_ice_allocations() == before);
	g_main_context_unref(ctx);
}

/* A probe allocates nothing: no TURN server, and the STUN server is the
 * configured one, or else the first TURN server reached over UDP. */
UNIT_TEST(ice_config_probe_has_no_turn)
{
	struct tund_ice_server_config cfg, probe;

	memset(&cfg, 0, sizeof(cfg));
	g_strlcpy(cfg.turn[0].host, "turn-tcp.example", sizeof(cfg.turn[0].host));
	cfg.turn[0].tcp = true;
	g_strlcpy(cfg.turn[1].host, "192.0.2.7", sizeof(cfg.turn[1].host));
	cfg.turn[1].port = 3479;
	g_strlcpy(cfg.turn[1].pass, "secret", sizeof(cfg.turn[1].pass));
	cfg.n_turn = 2;
	cfg.port_min = 40000;
	cfg.port_max = 40100;
	tund_ice_config_probe(&cfg, &probe);
	CHECK(probe.n_turn == 0);
	CHECK(probe.turn[1].pass[0] == '\0' && probe.turn[1].host[0] == '\0');
	CHECK(strcmp(probe.stun_host, "192.0.2.7") == 0 && probe.stun_port == 3479);
	CHECK(probe.port_min == 40000 && probe.port_max == 40100);

	g_strlcpy(cfg.stun_host, "stun.example", sizeof(cfg.stun_host));
	cfg.stun_port = 19302;
	tund_ice_config_probe(&cfg, &probe);
	CHECK(strcmp(probe.stun_host, "stun.example") == 0 && probe.stun_port == 19302);

	cfg.stun_host[0] = '\0';
	cfg.n_turn = 1; /* TCP only */
	tund_ice_config_probe(&cfg, &probe);
	CHECK(probe.stun_host[0] == '\0' && probe.n_turn == 0);
}
