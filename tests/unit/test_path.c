// SPDX-License-Identifier: MIT
/* tund/connect/path.c's decisions between two paths in one process over 127.0.0.1:
 * offer and answer, duplicate delivery, restart requests, bye, bad
 * credentials, the controlled side asking for a new session when its
 * addresses go. Signaling is an in-memory queue per side; no data plane.
 * path.c puts its ICE agents and timers on the default main context, which
 * only these tests (and test_control_socket.c) iterate in this binary. */
#include <string.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/daemon/daemon.h"
#include "tund/daemon/state.h"
#include "tund/connect/ice.h"
#include "tund/connect/path.h"

struct side {
	struct tund_daemon d;
	struct tund_peer *peer; /* the other side, as this side knows it */
	struct tund_path *path;
	GQueue outbox;          /* struct tund_signal * for the other side */
	unsigned sent[7];       /* by type */
	uint32_t last_offer_session;
};

static struct side *sides[2];

static void queue_signal(struct tund_daemon *d, struct tund_peer *p, struct tund_signal *m)
{
	struct side *s = sides[0] && &sides[0]->d == d ? sides[0] : sides[1];

	(void)p;
	if (m->type < G_N_ELEMENTS(s->sent))
		s->sent[m->type]++;
	if (m->type == TUND_SIGNAL_OFFER)
		s->last_offer_session = m->session;
	g_queue_push_tail(&s->outbox, g_memdup2(m, sizeof(*m)));
}

static void deliver(struct side *from, struct side *to)
{
	struct tund_signal *m;

	while ((m = g_queue_pop_head(&from->outbox))) {
		if (to->path)
			tund_path_on_signal(to->path, m);
		g_free(m);
	}
}

static bool run_until(struct side *a, struct side *b, bool (*done)(struct side *, struct side *),
		      double seconds)
{
	gint64 end = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);

	while (!done(a, b)) {
		if (g_get_monotonic_time() > end)
			return false;
		deliver(a, b);
		deliver(b, a);
		unit_iterate(false);
		g_usleep(500);
	}
	return true;
}

static bool both_direct(struct side *a, struct side *b)
{
	return !g_strcmp0(tund_path_kind(a->path), "direct") &&
	       !g_strcmp0(tund_path_kind(b->path), "direct");
}

static bool b_has_none(struct side *a, struct side *b)
{
	(void)a;
	return tund_path_kind(b->path) == NULL;
}

static void side_init_on(struct side *s, bool controlling, const char *addr)
{
	struct tund_ice_server_config cfg;

	memset(s, 0, sizeof(*s));
	s->d.tun_fd = -1;
	g_queue_init(&s->outbox);
	s->peer = tund_peer_new();
	s->peer->name = g_strdup(controlling ? "b" : "a");
	memset(&cfg, 0, sizeof(cfg));
	cfg.local_addrs[0] = addr;
	s->path = tund_path_new(&s->d, s->peer, &cfg, controlling, queue_signal);
}

static void side_init(struct side *s, struct side *other, bool controlling)
{
	(void)other;
	side_init_on(s, controlling, "127.0.0.1");
}

static void side_clear(struct side *s)
{
	tund_path_free(s->path);
	s->path = NULL;
	g_queue_clear_full(&s->outbox, g_free);
	tund_peer_free(s->peer);
}

/* Freed sessions close their agents from idle callbacks. */
static void drain(void)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	do {
		while (unit_iterate(false))
			;
		g_usleep(1000);
	} while (tund_ice_pending_closes() > 0 && g_get_monotonic_time() < end);
	CHECK(tund_ice_pending_closes() == 0);
}

/* a controls, b is controlled, both on 127.0.0.1; signaling between them
 * goes through the outboxes (deliver). */
static void pair_up(struct side *a, struct side *b)
{
	side_init(a, b, true);
	side_init(b, a, false);
	sides[0] = a;
	sides[1] = b;
}

static void pair_down(struct side *a, struct side *b)
{
	side_clear(a);
	side_clear(b);
	sides[0] = sides[1] = NULL;
	drain();
}

static bool described(struct tund_path *path, const char *member, const char *want)
{
	JsonObject *o = json_object_new();
	bool ok;

	tund_path_describe(path, o);
	ok = json_object_has_member(o, member) &&
	     strstr(json_object_get_string_member(o, member), want) != NULL;
	if (!ok)
		fprintf(stderr, "  %s: %s\n", member,
			json_object_has_member(o, member) ? json_object_get_string_member(o, member) :
							    "(absent)");
	json_object_unref(o);
	return ok;
}

UNIT_TEST(path_offer_answer_restart_bye)
{
	struct side a, b;

	pair_up(&a, &b);
	CHECK(tund_path_controlling(a.path) && !tund_path_controlling(b.path));
	CHECK(tund_path_kind(a.path) == NULL);

	/* The controlled side never offers. */
	tund_path_start(b.path);
	CHECK(b.sent[TUND_SIGNAL_OFFER] == 0 && g_queue_is_empty(&b.outbox));

	tund_path_start(a.path);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1);
	/* One attempt at a time. */
	tund_path_start(a.path);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1);
	CHECK(run_until(&a, &b, both_direct, 15));
	CHECK(b.sent[TUND_SIGNAL_ANSWER] == 1);
	CHECK(described(a.path, "ice_state", "connected"));
	CHECK(described(a.path, "path", "direct"));
	CHECK(described(a.path, "local_addr", "127.0.0.1:"));
	CHECK(described(b.path, "remote_addr", "127.0.0.1:"));

	/* The offer delivered twice: answered once. */
	struct tund_signal dup = { .type = TUND_SIGNAL_OFFER, .session = a.last_offer_session };
	g_strlcpy(dup.ufrag, "abcd", sizeof(dup.ufrag));
	g_strlcpy(dup.pwd, "0123456789012345678901", sizeof(dup.pwd));
	tund_path_on_signal(b.path, &dup);
	CHECK(b.sent[TUND_SIGNAL_ANSWER] == 1);
	/* An offer to the controlling side is ignored. */
	dup.session++;
	tund_path_on_signal(a.path, &dup);
	CHECK(!g_strcmp0(tund_path_kind(a.path), "direct"));
	/* A restart request to the controlled side too. */
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART };
	tund_path_on_signal(b.path, &restart);
	CHECK(!g_strcmp0(tund_path_kind(b.path), "direct") && b.sent[TUND_SIGNAL_ANSWER] == 1);

	/* Addresses went away, which ones unknown (events were missed), but
	 * the path's own (127.0.0.1) is still ours: both keep their session
	 * (test_path_underlay below has the path whose address went). */
	const struct tund_addrwatch_change lost = { .removed = true, .unknown = true };
	tund_path_underlay_changed(b.path, &lost);
	tund_path_underlay_changed(a.path, &lost);
	CHECK(b.sent[TUND_SIGNAL_BYE] == 0 && b.sent[TUND_SIGNAL_RESTART] == 0);
	CHECK(a.sent[TUND_SIGNAL_BYE] == 0 && a.sent[TUND_SIGNAL_OFFER] == 1);
	CHECK(!g_strcmp0(tund_path_kind(b.path), "direct"));

	/* A new address (none removed) leaves a working path alone. */
	const struct tund_addrwatch_change added = { .removed = false };
	tund_path_underlay_changed(a.path, &added);
	tund_path_underlay_changed(b.path, &added);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1 && b.sent[TUND_SIGNAL_RESTART] == 0);

	/* Bye for the active session: it is gone on the other side. */
	struct tund_signal bye = { .type = TUND_SIGNAL_BYE, .session = a.last_offer_session };
	tund_path_on_signal(b.path, &bye);
	CHECK(run_until(&a, &b, b_has_none, 5));
	/* A bye for a session that does not exist changes nothing. */
	bye.session ^= 1;
	tund_path_on_signal(a.path, &bye);
	CHECK(!g_strcmp0(tund_path_kind(a.path), "direct"));

	pair_down(&a, &b);
}

UNIT_TEST(path_unanswered_offer_resent_and_bad_answer)
{
	struct side a, b;

	pair_up(&a, &b);
	tund_path_start(a.path);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1);
	uint32_t id = a.last_offer_session;
	/* The restart request crossed our offer in the broker: the same
	 * session is offered again, not a new one. */
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART };
	tund_path_on_signal(a.path, &restart);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 2 && a.last_offer_session == id);

	/* An answer with credentials ICE refuses: noted, not applied. */
	struct tund_signal bad = { .type = TUND_SIGNAL_ANSWER, .session = id };
	g_strlcpy(bad.ufrag, "a", sizeof(bad.ufrag));
	g_strlcpy(bad.pwd, "b", sizeof(bad.pwd));
	tund_path_on_signal(a.path, &bad);
	CHECK(described(a.path, "last_error", "bad ICE credentials"));
	/* An answer for another session is ignored; the real one still works. */
	g_queue_clear_full(&b.outbox, g_free);
	CHECK(run_until(&a, &b, both_direct, 15));

	pair_down(&a, &b);
}

/* The controlled side asks again for a session it is already negotiating
 * (it heard of the peer once more): naming that session, the controlling
 * side keeps it and it connects; naming none (after a broker reconnect, or
 * an older tund), the controlling side starts a new one. */
UNIT_TEST(path_restart_naming_the_session_under_way_keeps_it)
{
	struct side a, b;

	pair_up(&a, &b);
	CHECK(tund_path_pending_session(b.path) == 0);
	tund_path_start(a.path);
	uint32_t id = a.last_offer_session;
	CHECK(tund_path_pending_session(a.path) == id);
	deliver(&a, &b); /* the offer: b answers */
	CHECK(b.sent[TUND_SIGNAL_ANSWER] == 1);
	CHECK(tund_path_pending_session(b.path) == id);
	deliver(&b, &a); /* the answer: a's session is answered, checks to come */
	CHECK(tund_path_kind(a.path) == NULL);

	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART,
				       .session = tund_path_pending_session(b.path) };
	tund_path_on_signal(a.path, &restart);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1 && tund_path_pending_session(a.path) == id);
	CHECK(run_until(&a, &b, both_direct, 15));
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1 && b.sent[TUND_SIGNAL_ANSWER] == 1);
	CHECK(tund_path_pending_session(a.path) == 0 && tund_path_pending_session(b.path) == 0);
	/* Named while connected (ours a moment before the other side's): kept. */
	tund_path_on_signal(a.path, &restart);
	CHECK(!g_strcmp0(tund_path_kind(a.path), "direct") && a.sent[TUND_SIGNAL_OFFER] == 1);
	pair_down(&a, &b);

	/* No session named: a new one, whatever the state of the old. */
	pair_up(&a, &b);
	tund_path_start(a.path);
	id = a.last_offer_session;
	deliver(&a, &b);
	deliver(&b, &a);
	restart.session = 0;
	tund_path_on_signal(a.path, &restart);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 2 && a.last_offer_session != id);
	/* Another session named (one b has dropped): a new one too. */
	id = a.last_offer_session;
	deliver(&a, &b);
	deliver(&b, &a);
	restart.session = id ^ 1;
	tund_path_on_signal(a.path, &restart);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 3 && a.last_offer_session != id);
	CHECK(run_until(&a, &b, both_direct, 15));

	pair_down(&a, &b);
}

/* b's answer is lost: its RESTART names the session, a offers it again,
 * and b answers that repeated offer again (before, it was dropped as a
 * duplicate and the pair waited for the 20 s connect timeout). */
UNIT_TEST(path_lost_answer_is_sent_again)
{
	struct side a, b;

	pair_up(&a, &b);
	tund_path_start(a.path);
	uint32_t id = a.last_offer_session;
	deliver(&a, &b);
	CHECK(b.sent[TUND_SIGNAL_ANSWER] == 1);
	g_queue_clear_full(&b.outbox, g_free); /* the answer (and candidates) lost */
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART,
				       .session = tund_path_pending_session(b.path) };
	CHECK(restart.session == id);
	tund_path_on_signal(a.path, &restart);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 2 && a.last_offer_session == id);
	deliver(&a, &b);
	CHECK(b.sent[TUND_SIGNAL_ANSWER] == 2);
	CHECK(run_until(&a, &b, both_direct, 15));
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 2 && tund_path_pending_session(a.path) == 0);

	pair_down(&a, &b);
}

UNIT_TEST(path_free_with_a_dropped_session_pending)
{
	struct side a, b;

	pair_up(&a, &b);
	tund_path_start(a.path);
	/* The broker came back: the unconnected session is dropped (its
	 * destruction deferred to an idle callback) and a new one offered. */
	tund_path_kick(a.path);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 2);
	/* The peer is removed before the main loop runs again: the dropped
	 * session must not be left pointing at the freed path. */
	pair_down(&a, &b);
}

/* In a network namespace of its own: both sides on 192.0.2.1 (on lo), which
 * then goes away. Losing other addresses leaves the path alone; losing its
 * own renews it at once (bye and restart from the controlled side, a new
 * offer from the controlling one), and it connects again once the address
 * is back. */
UNIT_TEST(path_underlay_loss_renews_only_a_path_that_used_it)
{
	const struct tund_addrwatch_change other = { .removed = true, .n_removed = 1,
						     .removed_ip = { "198.51.100.7" } };
	const struct tund_addrwatch_change back = { .removed = true, .n_removed = 1,
						    .removed_ip = { "192.0.2.1" } };
	struct side a, b;
	int ns = fx_netns_enter();

	CHECK(ns >= 0);
	if (ns < 0)
		return;
	CHECK(system("ip link set lo up && ip addr add 192.0.2.1/32 dev lo") == 0);
	side_init_on(&a, true, "192.0.2.1");
	side_init_on(&b, false, "192.0.2.1");
	sides[0] = &a;
	sides[1] = &b;
	tund_path_start(a.path);
	CHECK(run_until(&a, &b, both_direct, 15));
	CHECK(described(a.path, "local_addr", "192.0.2.1:"));

	/* Some other address went: nothing is sent, nothing changes. */
	tund_path_underlay_changed(a.path, &other);
	tund_path_underlay_changed(b.path, &other);
	/* Ours went and came back within the settle time: the socket works. */
	tund_path_underlay_changed(b.path, &back);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1 && a.sent[TUND_SIGNAL_BYE] == 0);
	CHECK(b.sent[TUND_SIGNAL_RESTART] == 0 && b.sent[TUND_SIGNAL_BYE] == 0);
	CHECK(both_direct(&a, &b));

	/* Gone for good: the controlled side drops its session at once. */
	CHECK(system("ip addr del 192.0.2.1/32 dev lo") == 0);
	tund_path_underlay_changed(b.path, &back);
	CHECK(b.sent[TUND_SIGNAL_BYE] == 1 && b.sent[TUND_SIGNAL_RESTART] == 1);
	CHECK(tund_path_kind(b.path) == NULL);
	CHECK(described(b.path, "last_error", "underlay address changed"));
	/* Also unknown which went: still gone. The controlling side offers anew. */
	const struct tund_addrwatch_change unknown = { .removed = true, .unknown = true };
	uint32_t first = a.last_offer_session;
	tund_path_underlay_changed(a.path, &unknown);
	CHECK(a.sent[TUND_SIGNAL_BYE] == 1 && a.sent[TUND_SIGNAL_OFFER] == 2);
	CHECK(a.last_offer_session != first);
	/* The address is back (a new lease): the new session connects. */
	CHECK(system("ip addr add 192.0.2.1/32 dev lo") == 0);
	CHECK(run_until(&a, &b, both_direct, 20));

	pair_down(&a, &b);
	fx_netns_leave(ns);
}

/* Its address stays but the kernel now routes the pair another way (here a
 * rule moves 192.0.2.1's traffic off lo): the path is renewed too, as its
 * datagrams would leave by a way the peer does not know. */
UNIT_TEST(path_underlay_loss_renews_a_path_whose_way_out_moved)
{
	const struct tund_addrwatch_change other = { .removed = true, .n_removed = 1,
						     .removed_ip = { "198.51.100.7" } };
	struct side a, b;
	int ns = fx_netns_enter();

	CHECK(ns >= 0);
	if (ns < 0)
		return;
	CHECK(system("ip link set lo up && ip addr add 192.0.2.1/32 dev lo && "
		     "ip link add tt-p0 type veth peer name tt-p1 && ip link set tt-p0 up && "
		     "ip link set tt-p1 up") == 0);
	side_init_on(&a, true, "192.0.2.1");
	side_init_on(&b, false, "192.0.2.1");
	sides[0] = &a;
	sides[1] = &b;
	tund_path_start(a.path);
	CHECK(run_until(&a, &b, both_direct, 15));
	/* The same way out: kept. */
	tund_path_underlay_changed(a.path, &other);
	CHECK(a.sent[TUND_SIGNAL_OFFER] == 1 && a.sent[TUND_SIGNAL_BYE] == 0);

	CHECK(system("ip rule del pref 0 lookup local && ip rule add pref 100 lookup local && "
		     "ip route add 192.0.2.1/32 dev tt-p0 table 7 && "
		     "ip rule add pref 10 from 192.0.2.1 lookup 7") == 0);
	tund_path_underlay_changed(a.path, &other);
	CHECK(a.sent[TUND_SIGNAL_BYE] == 1 && a.sent[TUND_SIGNAL_OFFER] == 2);
	CHECK(described(a.path, "last_error", "underlay address changed"));
	/* The old way back: the new session connects. */
	CHECK(system("ip rule del pref 10") == 0);
	CHECK(run_until(&a, &b, both_direct, 20));

	pair_down(&a, &b);
	fx_netns_leave(ns);
}
