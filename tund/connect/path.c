// SPDX-License-Identifier: MIT
#include "tund/connect/path.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "netlink/route.h"
#include "tund/connect/ice_config.h"
#include "tund/connect/mapping.h"
#include "tund/connect/portmap.h"
#include "tund/connect/turn_policy.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "overlay/control_proto.h"

enum {
	RETRY_MIN_S = 2,    /* after a failed session */
	RETRY_MAX_S = 30,
	UPGRADE_MIN_S = 5,  /* while relayed: look for a direct pair */
	UPGRADE_MAX_S = 40,
	/* Signaling is best effort: a session not connected by then is
	 * given up and, by the controlling side, tried again. */
	CONNECT_TIMEOUT_S = 20,
	MAX_CANDIDATES = 16,
	/* After a new path is used, the handshake is sent again while no
	 * session came of it, 100, 200, 400 and 800 ms later: the peer may not
	 * have been able to send its answer yet (its side of the pair not
	 * selected), and WireGuard itself would only retry after 5 s. A nudge
	 * once a session exists on the path sends nothing and ends them. */
	HANDSHAKE_NUDGE_MS = 100,
	HANDSHAKE_NUDGES = 4,
	/* The controlled side nudges at 1.5 times those steps (150, 300, 600,
	 * 1200 ms apart) and initiates only from its third (1050 ms after the
	 * pair), so its initiations never leave together with the controlling
	 * side's (at 0, 100, 300, 700, 1500 ms) and cross them. */
	CONTROLLED_NUDGE = 2,
	/* Sessions we offered that have not connected yet. Starting all of a
	 * big network's at once starves every one of them (checks time out,
	 * are retried, and the retries starve the next ones); the rest wait. */
	MAX_STARTING = 8,
	/* End-of-candidates waits this long for the router's port mapping
	 * (behind the worker's discovery at start-up, at most ~3 s). */
	MAP_WAIT_MS = 4000,
};

struct session {
	struct tund_path *path;
	struct tund_ice *ice;
	uint32_t id;      /* signaling session id */
	uint32_t path_id; /* data-plane path id */
	bool connected, gathered, remote_set;
	bool has_pair;
	bool starting; /* counted in n_starting */
	struct tund_ice_pair pair;
	/* The kernel's way out for the pair when it was selected; an address
	 * loss that moves it ends the path (hop_known false: not checked). */
	struct tund_route_hop hop;
	bool hop_known;
	GPtrArray *local; /* candidate lines, for manual blobs */
	guint connect_timer;
	guint nudge_timer;
	unsigned nudges; /* sent since the path was used */
	guint destroy_id; /* dropped: destroyed from this idle source */
	/* Router port mapping of the host candidate (portmap.h). */
	unsigned map_id;
	bool map_pending, eoc_held;
	guint map_timer;
	char mapped_base[64];              /* "ip:port" of the mapped host candidate */
	char mapped_ext[64];               /* "ip:port" the router forwards to it */
	char mapped_line[TUND_ICE_MAX_LINE]; /* its candidate line, "" if none */
	struct tund_turn_hold hold; /* gives TURN back once direct (turn_policy.h) */
	bool with_turn;             /* gathered relay candidates (tund_turn_wanted) */
	char turn_why[112];         /* why or why not, for tundctl peers */
};

struct tund_path {
	struct tund_daemon *d;
	struct tund_peer *peer;
	struct tund_ice_server_config cfg;
	bool controlling;
	tund_path_send_fn send;
	struct session *active, *probe;
	char last_error[160];
	guint retry_timer, upgrade_timer;
	unsigned retry_s, upgrade_s;
	void (*manual_done)(void *ctx, const struct tund_signal *m);
	void (*manual_gone)(void *ctx);
	void *manual_ctx;
	GList *dying; /* dropped sessions not destroyed yet (they point here) */
	/* TURN only when needed (turn_policy.h): a session without it failed,
	 * so the next ones gather it (until the underlay changes). */
	bool turn_forced;
	bool manual;          /* signaled by pasted blobs: always TURN */
	bool mapping_wait;    /* start waits for our mapping check (mapping.h) */
	uint8_t peer_mapping; /* the peer's hint in its last offer or answer */
	/* Controlled side: an offer (and its trickled candidates) held while
	 * our mapping check is under way (mapping.h). */
	GPtrArray *held; /* struct tund_signal *, the offer first */
};

/* One daemon, one thread: the limit is per process. */
static unsigned n_starting;
static GQueue waiting = G_QUEUE_INIT; /* paths to start when a slot frees */
static guint wake_source;

static gboolean start_waiting(gpointer unused)
{
	struct tund_path *path;

	(void)unused;
	wake_source = 0;
	while (n_starting < MAX_STARTING && (path = g_queue_pop_head(&waiting)))
		tund_path_start(path);
	return G_SOURCE_REMOVE;
}

static void starting_done(struct session *s)
{
	if (!s->starting)
		return;
	s->starting = false;
	n_starting--;
	if (!g_queue_is_empty(&waiting) && !wake_source)
		wake_source = tund_loop_idle_add(start_waiting, NULL);
}

static const char *peer_label(struct tund_peer *p)
{
	static char buf[TUND_KEY_B64_LEN + 1];

	if (p->name)
		return p->name;
	tund_key_encode(buf, p->public_key);
	return buf;
}

static void session_destroy(struct session *s)
{
	struct tund_daemon *d = s->path->d;

	starting_done(s);
	tund_turn_hold_stop(&s->hold);
	if (s->connect_timer)
		tund_loop_source_remove(s->connect_timer);
	if (s->nudge_timer)
		tund_loop_source_remove(s->nudge_timer);
	if (s->map_timer)
		tund_loop_source_remove(s->map_timer);
	tund_portmap_unmap(d->portmap, s->map_id);
	if (d->dp && s->path_id)
		tund_dataplane_path_unregister(d->dp, s->path_id);
	if (s->ice)
		tund_ice_free(s->ice);
	g_ptr_array_unref(s->local);
	g_free(s);
}

static gboolean destroy_idle(gpointer data)
{
	struct session *s = data;

	s->destroy_id = 0;
	s->path->dying = g_list_remove(s->path->dying, s);
	session_destroy(s);
	return G_SOURCE_REMOVE;
}

/* Sessions die outside libnice's callbacks: a callback may be on the stack. */
static void session_drop(struct tund_path *path, struct session *s, bool tell_peer)
{
	/* Dropped already: a gathering that fails drops it from the FAILED
	 * callback, and its caller again. */
	if (!s || s->destroy_id)
		return;
	starting_done(s);
	if (path->active == s)
		path->active = NULL;
	if (path->probe == s)
		path->probe = NULL;
	if (tell_peer && !path->manual_done) {
		struct tund_signal m = { .type = TUND_SIGNAL_BYE, .session = s->id };

		path->send(path->d, path->peer, &m);
	}
	/* No longer active or probe: its callbacks are ignored from now on. */
	s->connected = false;
	s->destroy_id = tund_loop_idle_add(destroy_idle, s);
	path->dying = g_list_prepend(path->dying, s);
}

static struct session *find_session(struct tund_path *path, uint32_t id)
{
	if (path->active && path->active->id == id)
		return path->active;
	if (path->probe && path->probe->id == id)
		return path->probe;
	return NULL;
}

static bool session_alive(struct tund_path *path, struct session *s)
{
	return s == path->active || s == path->probe;
}

/* [ice] turn_prediction (no daemon: off; a zeroed daemon in unit tests: off too). */
static enum tund_turn_prediction prediction(const struct tund_path *path)
{
	return path->d ? path->d->cfg.ice_turn_prediction : TUND_TURN_PREDICT_OFF;
}

static bool prediction_on(const struct tund_path *path)
{
	return prediction(path) != TUND_TURN_PREDICT_OFF;
}

/* What offers and answers say of our mapping (tund_turn_wanted). */
static uint8_t our_hint(const struct tund_path *path)
{
	return path->turn_forced ? TUND_SIGNAL_MAPPING_FAILED : tund_mapping_get();
}

static void send_credentials(struct session *s, uint8_t type)
{
	struct tund_path *path = s->path;
	struct tund_signal m = { .type = type, .session = s->id, .mapping = our_hint(path) };

	tund_ice_local_credentials(s->ice, m.ufrag, m.pwd);
	if (path->manual_done) {
		if (!s->gathered)
			return; /* sent once gathering is done, with every candidate */
		for (guint i = 0; i < s->local->len && i < MAX_CANDIDATES; i++)
			g_strlcpy(m.candidates[m.n_candidates++], g_ptr_array_index(s->local, i),
				  sizeof(m.candidates[0]));
		m.end_of_candidates = true;
		/* Cleared first: done() owns ctx now, so free must not drop it. */
		void (*done)(void *, const struct tund_signal *) = path->manual_done;
		void *ctx = path->manual_ctx;

		path->manual_done = NULL;
		path->manual_ctx = NULL;
		done(ctx, &m);
		return;
	}
	path->send(path->d, path->peer, &m);
}

/* Sends the offer (or answer) of a session again, with the candidates
 * gathered so far: the other side may have missed it, and this costs one
 * message where a new session costs an ICE agent, a TURN allocation and a
 * dozen messages. */
static void resend(struct session *s, uint8_t type)
{
	struct tund_path *path = s->path;
	struct tund_signal m = { .type = type, .session = s->id, .mapping = our_hint(path) };

	tund_ice_local_credentials(s->ice, m.ufrag, m.pwd);
	for (guint i = 0; i < s->local->len && i < MAX_CANDIDATES; i++)
		g_strlcpy(m.candidates[m.n_candidates++], g_ptr_array_index(s->local, i),
			  sizeof(m.candidates[0]));
	m.end_of_candidates = s->gathered;
	path->send(path->d, path->peer, &m);
}

static void schedule(struct tund_path *path, guint *timer, unsigned *backoff, unsigned min,
		     unsigned max, GSourceFunc fn)
{
	unsigned secs;

	if (*timer)
		return;
	*backoff = *backoff ? MIN(*backoff * 2, max) : min;
	/* Jitter so two sides and many peers do not move in lockstep. */
	secs = *backoff + randombytes_uniform(*backoff / 2 + 1);
	*timer = tund_loop_timeout_add_seconds(secs, fn, path);
}

static gboolean retry_fire(gpointer data)
{
	struct tund_path *path = data;

	path->retry_timer = 0;
	if (!path->active)
		tund_path_start(path);
	return G_SOURCE_REMOVE;
}

static gboolean upgrade_fire(gpointer data)
{
	struct tund_path *path = data;

	path->upgrade_timer = 0;
	if (path->active && path->active->has_pair && path->active->pair.relayed && !path->probe)
		tund_path_start(path);
	return G_SOURCE_REMOVE;
}

/* The safety net of TURN only when needed: an active session that went
 * without TURN and failed (or lost its path) makes the pair's next sessions
 * gather relay candidates, and the next one starts at once: the controlling
 * side starts it, the controlled side asks for it. True when it did. */
static bool turn_fallback(struct tund_path *path, struct session *s)
{
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART };

	if (s->with_turn || !path->cfg.n_turn || s != path->active || path->turn_forced)
		return false;
	path->turn_forced = true;
	log_info("peer %s: the path without TURN failed: the next session gathers relay candidates",
		 peer_label(path->peer));
	if (!path->controlling) {
		if (!path->manual_done)
			path->send(path->d, path->peer, &restart);
		return true;
	}
	if (path->retry_timer)
		tund_loop_source_remove(path->retry_timer);
	path->retry_s = 0;
	path->retry_timer = tund_loop_idle_add(retry_fire, path);
	return true;
}

/* ---- libnice callbacks ---- */

static void on_local_candidate(void *ctx, const char *line)
{
	struct session *s = ctx;
	struct tund_path *path = s->path;

	if (!session_alive(path, s))
		return;
	if (s->local->len < MAX_CANDIDATES)
		g_ptr_array_add(s->local, g_strdup(line));
	if (!path->manual_done) {
		struct tund_signal m = { .type = TUND_SIGNAL_CANDIDATE, .session = s->id,
					 .n_candidates = 1 };

		g_strlcpy(m.candidates[0], line, sizeof(m.candidates[0]));
		path->send(path->d, path->peer, &m);
	}
}

/* End of our candidates: the mapped address goes last, right before. */
static void finish_gathering(struct session *s)
{
	struct tund_path *path = s->path;

	s->eoc_held = false;
	if (path->manual_done) {
		if (s->mapped_line[0] && s->local->len < MAX_CANDIDATES)
			g_ptr_array_add(s->local, g_strdup(s->mapped_line));
		send_credentials(s, path->controlling ? TUND_SIGNAL_OFFER : TUND_SIGNAL_ANSWER);
		return;
	}
	if (s->mapped_line[0]) {
		struct tund_signal c = { .type = TUND_SIGNAL_CANDIDATE, .session = s->id,
					 .n_candidates = 1 };

		g_strlcpy(c.candidates[0], s->mapped_line, sizeof(c.candidates[0]));
		path->send(path->d, path->peer, &c);
	}
	struct tund_signal m = { .type = TUND_SIGNAL_CANDIDATE, .session = s->id,
				 .end_of_candidates = true };
	path->send(path->d, path->peer, &m);
}

static gboolean map_wait_over(gpointer data)
{
	struct session *s = data;

	s->map_timer = 0;
	s->map_pending = false;
	if (s->eoc_held && session_alive(s->path, s))
		finish_gathering(s);
	return G_SOURCE_REMOVE;
}

static const char *local_label(const struct session *s);

/* The router moved our mapping (it restarted, or has a new address): the
 * peer gets the new candidate on this session (or with end-of-candidates,
 * still to come), and when our path goes through the mapping a new session
 * is negotiated: the controlling side makes it before it breaks the old. */
static void mapping_moved(struct session *s)
{
	struct tund_path *path = s->path;
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART };
	struct tund_signal c = { .type = TUND_SIGNAL_CANDIDATE, .session = s->id,
				 .n_candidates = 1 };
	bool through = s == path->active && s->connected && s->has_pair &&
		       !strcmp(local_label(s), "mapped");

	if (!session_alive(path, s) || path->manual_done)
		return;
	log_info("peer %s: our mapped address is now %s%s", peer_label(path->peer), s->mapped_ext,
		 through ? "; negotiating a new path" : "");
	if (s->gathered && !s->eoc_held && s->mapped_line[0]) {
		g_strlcpy(c.candidates[0], s->mapped_line, sizeof(c.candidates[0]));
		path->send(path->d, path->peer, &c);
	}
	if (!through)
		return;
	if (path->controlling)
		tund_path_start(path);
	else
		path->send(path->d, path->peer, &restart);
}

static void on_mapped(void *ctx, const struct tund_portmap_mapping *m)
{
	struct session *s = ctx;
	bool moved = m && s->mapped_ext[0];

	s->map_pending = false;
	if (s->map_timer) {
		tund_loop_source_remove(s->map_timer);
		s->map_timer = 0;
	}
	if (m && tund_portmap_candidate_line(s->mapped_line, sizeof(s->mapped_line),
					     m->external_ip, m->external_port, m->internal_ip,
					     m->internal_port) == 0) {
		snprintf(s->mapped_base, sizeof(s->mapped_base), "%s:%u", m->internal_ip,
			 m->internal_port);
		snprintf(s->mapped_ext, sizeof(s->mapped_ext), "%s:%u", m->external_ip,
			 m->external_port);
	} else {
		s->mapped_line[0] = '\0';
	}
	if (moved) {
		mapping_moved(s);
		return;
	}
	if (s->eoc_held && session_alive(s->path, s))
		finish_gathering(s);
}

/* After gathering started: the router maps our host candidate's port. */
static void request_mapping(struct session *s)
{
	char ip[46];
	uint16_t port;

	if (!s->path->d->portmap || tund_ice_host_candidate(s->ice, ip, &port) != 0)
		return;
	s->map_id = tund_portmap_map(s->path->d->portmap, ip, port, on_mapped, s);
	s->map_pending = s->map_id != 0;
}

static void on_gathering_done(void *ctx)
{
	struct session *s = ctx;
	struct tund_path *path = s->path;

	if (!session_alive(path, s))
		return;
	s->gathered = true;
	if (s->map_pending) {
		s->eoc_held = true;
		if (!s->map_timer)
			s->map_timer = tund_loop_timeout_add(MAP_WAIT_MS, map_wait_over, s);
		return;
	}
	finish_gathering(s);
}

/* "mapped" when the pair reaches us through the router's mapping: libnice
 * names our side prflx at the mapped address (the peer's checks told it),
 * or host at the mapped socket with a remote that is not on our LAN. */
static const char *local_label(const struct session *s)
{
	if (s->mapped_ext[0] && !strcmp(s->pair.local_addr, s->mapped_ext))
		return "mapped";
	if (s->mapped_base[0] && !strcmp(s->pair.local_type, "host") &&
	    !strcmp(s->pair.local_addr, s->mapped_base) && strcmp(s->pair.remote_type, "host"))
		return "mapped";
	return s->pair.local_type;
}

static gboolean nudge_fire(gpointer data);

/* The LAN path wins while beacons keep coming and the member answered
 * there (its endpoint is a UDP address, authenticated by WireGuard). */
static bool lan_wins(struct tund_path *path)
{
	return tund_peer_on_lan(path->peer) &&
	       tund_dataplane_peer_on_udp(path->d->dp, path->peer);
}

/* The wait before nudge number n (from 0). */
static guint nudge_ms(const struct tund_path *path, unsigned n)
{
	guint ms = HANDSHAKE_NUDGE_MS << n;

	return path->controlling ? ms : ms * 3 / 2;
}

static void use_session(struct tund_path *path, struct session *s)
{
	if (!path->d->dp || lan_wins(path))
		return;
	/* Only the controlling side initiates when a path comes up: the
	 * controlled side selects the pair half a round trip earlier, so were
	 * both to initiate, the initiations would cross, each side would answer
	 * the other's and drop its own, and neither session would be confirmed
	 * until a nudge (measured: the first ping after ~1.2 s instead of
	 * ~0.2 s). The controlled side initiates at once only if it answered an
	 * initiation before its side of the pair was selected (that answer had
	 * no way out), and otherwise from its later nudges (CONTROLLED_NUDGE). */
	tund_dataplane_peer_use_path(path->d->dp, path->peer, s->path_id, path->controlling);
	if (!s->nudge_timer) {
		s->nudges = 0;
		s->nudge_timer = tund_loop_timeout_add(nudge_ms(path, 0), nudge_fire, s);
	}
}

static gboolean nudge_fire(gpointer data)
{
	struct session *s = data;
	struct tund_path *path = s->path;

	s->nudge_timer = 0;
	/* A no-op once a session exists on this path. */
	if (s == path->active && path->d->dp && !lan_wins(path) &&
	    tund_dataplane_peer_use_path(path->d->dp, path->peer, s->path_id,
					 path->controlling || s->nudges >= CONTROLLED_NUDGE) &&
	    ++s->nudges < HANDSHAKE_NUDGES)
		s->nudge_timer = tund_loop_timeout_add(nudge_ms(path, s->nudges), nudge_fire, s);
	return G_SOURCE_REMOVE;
}

/* The packet threads' way onto this session (tund_dataplane_send_fn). */
static int ice_send(void *ice, const uint8_t *buf, size_t len)
{
	return tund_ice_send(ice, buf, len);
}

/* A direct pair, or one relayed by TURN over UDP, may carry data on the
 * fast path; any other (TURN-TCP) leaves it. */
static void update_fast_path(struct tund_dataplane *dp, struct session *s)
{
	struct sockaddr_storage remote, turn;
	socklen_t remote_len = 0, turn_len = 0;
	bool relayed = false;
	int fd = tund_ice_direct_socket(s->ice, &remote, &remote_len, &turn, &turn_len);

	if (fd < 0) {
		fd = tund_ice_relay_socket(s->ice, &remote, &remote_len);
		relayed = fd >= 0;
		turn_len = 0;
	}
	tund_dataplane_path_update(dp, s->path_id, fd, (struct sockaddr *)&remote, remote_len,
				   relayed, turn_len ? (struct sockaddr *)&turn : NULL, turn_len);
	tund_dataplane_path_via_turn(dp, s->path_id, s->pair.relayed);
}

/* The kernel's way out now for the session's selected pair. 0 or -errno. */
static int route_now(struct session *s, struct tund_route_hop *hop)
{
	struct sockaddr_storage src, dst;
	int ret = tund_ice_first_hop(s->ice, &src, &dst);

	if (ret)
		return ret;
	if (src.ss_family == AF_INET)
		return tund_route_get(AF_INET, &((struct sockaddr_in *)&src)->sin_addr,
				      &((struct sockaddr_in *)&dst)->sin_addr, hop);
	return tund_route_get(AF_INET6, &((struct sockaddr_in6 *)&src)->sin6_addr,
			      &((struct sockaddr_in6 *)&dst)->sin6_addr, hop);
}

static void on_pair_selected(void *ctx, const struct tund_ice_pair *pair)
{
	struct session *s = ctx;
	struct tund_path *path = s->path;

	if (!session_alive(path, s))
		return;
	s->pair = *pair;
	s->has_pair = true;
	tund_turn_hold_pair(&s->hold, s->ice, peer_label(path->peer));
	s->hop_known = route_now(s, &s->hop) == 0;
	if (path->d->dp)
		update_fast_path(path->d->dp, s);
	log_info("peer %s: path %s (%s -> %s, %s -> %s, from %s)", peer_label(path->peer),
		 pair->relayed ? "relay" : "direct", local_label(s), pair->remote_type,
		 pair->local_addr, pair->remote_addr, pair->local_base);
	if (s == path->probe && path->controlling) {
		if (pair->relayed) {
			/* No better than what we have: keep the active one. */
			session_drop(path, s, true);
			schedule(path, &path->upgrade_timer, &path->upgrade_s, UPGRADE_MIN_S,
				 UPGRADE_MAX_S, upgrade_fire);
			return;
		}
		/* Make before break: move traffic, then let the relay go. */
		struct session *old = path->active;
		path->active = s;
		path->probe = NULL;
		use_session(path, s);
		session_drop(path, old, true);
		path->upgrade_s = 0;
		return;
	}
	if (s == path->active) {
		use_session(path, s);
		if (pair->relayed && path->controlling)
			schedule(path, &path->upgrade_timer, &path->upgrade_s, UPGRADE_MIN_S,
				 UPGRADE_MAX_S, upgrade_fire);
	}
}

/* The active session is gone: the probe takes its place and, if it has a
 * pair already, carries the traffic at once (the data plane would otherwise
 * keep sending on the gone session until WireGuard heard from the new one). */
static void promote_probe(struct tund_path *path)
{
	if (!path->probe)
		return;
	path->active = path->probe;
	path->probe = NULL;
	if (path->active->connected && path->active->has_pair)
		use_session(path, path->active);
}

static void on_state(void *ctx, enum tund_ice_state st, const char *reason)
{
	struct session *s = ctx;
	struct tund_path *path = s->path;

	if (!session_alive(path, s))
		return;
	if (st == TUND_ICE_CONNECTED) {
		s->connected = true;
		starting_done(s);
		if (s->connect_timer) {
			tund_loop_source_remove(s->connect_timer);
			s->connect_timer = 0;
		}
		path->retry_s = 0;
		path->last_error[0] = '\0';
		return;
	}
	if (st != TUND_ICE_FAILED)
		return;
	snprintf(path->last_error, sizeof(path->last_error), "ICE failed: %s",
		 reason ? reason : "no candidate pair answered");
	log_warn("peer %s: %s", peer_label(path->peer), path->last_error);
	bool was_active = s == path->active;
	bool fallback = turn_fallback(path, s);
	session_drop(path, s, false);
	if (was_active)
		promote_probe(path);
	if (path->controlling && !fallback) {
		if (was_active)
			schedule(path, &path->retry_timer, &path->retry_s, RETRY_MIN_S, RETRY_MAX_S,
				 retry_fire);
		else
			schedule(path, &path->upgrade_timer, &path->upgrade_s, UPGRADE_MIN_S,
				 UPGRADE_MAX_S, upgrade_fire);
	}
}

static void on_receive(void *ctx, uint8_t *buf, size_t len)
{
	struct session *s = ctx;
	struct tund_path *path = s->path;

	if (path->d->dp && s->path_id)
		tund_dataplane_path_receive(path->d->dp, s->path_id, buf, len);
}

static const struct tund_ice_callbacks callbacks = {
	.local_candidate = on_local_candidate,
	.gathering_done = on_gathering_done,
	.state_changed = on_state,
	.pair_selected = on_pair_selected,
	.receive = on_receive,
};

/* ---- sessions ---- */

static gboolean connect_timeout(gpointer data)
{
	struct session *s = data;
	struct tund_path *path = s->path;

	s->connect_timer = 0;
	if (!session_alive(path, s) || s->connected)
		return G_SOURCE_REMOVE;
	snprintf(path->last_error, sizeof(path->last_error),
		 "no ICE connection within %d s (peer offline or signaling lost)",
		 CONNECT_TIMEOUT_S);
	log_warn("peer %s: %s", peer_label(path->peer), path->last_error);
	bool was_active = s == path->active;
	bool fallback = turn_fallback(path, s);
	session_drop(path, s, false);
	if (path->controlling && was_active && !fallback)
		schedule(path, &path->retry_timer, &path->retry_s, RETRY_MIN_S, RETRY_MAX_S,
			 retry_fire);
	return G_SOURCE_REMOVE;
}

/* Whether session s gathers relay candidates (turn_policy.h); peer is the
 * offer's mapping hint on the answering side. */
static bool session_turn(struct tund_path *path, struct session *s, uint8_t peer)
{
	/* Placed as a probe (place()): no TURN allocation (turn_policy.h). */
	if (path->active && path->active->connected) {
		snprintf(s->turn_why, sizeof(s->turn_why), "skipped (a probe for a direct path)");
		return false;
	}
	if (!path->cfg.n_turn) {
		snprintf(s->turn_why, sizeof(s->turn_why), "none (no TURN server)");
		return false;
	}
	/* A failure could not be retried without new blobs. */
	if (path->manual) {
		snprintf(s->turn_why, sizeof(s->turn_why), "gathered (manual signaling)");
		return s->with_turn = true;
	}
	s->with_turn = tund_turn_wanted(prediction(path), path->turn_forced,
				       path->controlling, tund_mapping_get(), peer, s->turn_why,
				       sizeof(s->turn_why));
	log_debug("peer %s: session %08x: TURN %s", peer_label(path->peer), s->id, s->turn_why);
	return s->with_turn;
}

static struct session *session_new(struct tund_path *path, uint32_t id, uint8_t peer_mapping)
{
	struct session *s = g_new0(struct session, 1);
	char why[TUND_WHY_LEN] = "unknown error";
	struct tund_ice_server_config probe_cfg;
	const struct tund_ice_server_config *cfg = &path->cfg;
	int ret;

	s->path = path;
	s->id = id;
	s->local = g_ptr_array_new_with_free_func(g_free);
	/* Without TURN: the servers a probe gets (STUN, or TURN asked as STUN). */
	if (!session_turn(path, s, peer_mapping) && path->cfg.n_turn) {
		tund_ice_config_probe(&path->cfg, &probe_cfg);
		cfg = &probe_cfg;
	}
	ret = tund_ice_new(tund_loop_context(), path->controlling, cfg, &callbacks, s, &s->ice,
			   why, sizeof(why));
	if (cfg == &probe_cfg)
		sodium_memzero(&probe_cfg, sizeof(probe_cfg));
	if (ret < 0) {
		/* last_error holds what fits, as it always did. */
		g_snprintf(path->last_error, sizeof(path->last_error), "cannot start ICE: %s", why);
		log_error("peer %s: %s", peer_label(path->peer), path->last_error);
		g_ptr_array_unref(s->local);
		g_free(s);
		return NULL;
	}
	if (path->d->dp)
		s->path_id = tund_dataplane_path_register(path->d->dp, ice_send, s->ice);
	if (!path->manual_done)
		s->connect_timer = tund_loop_timeout_add_seconds(CONNECT_TIMEOUT_S, connect_timeout, s);
	return s;
}

/* Places a new session: the first becomes active; later ones probe. */
static void place(struct tund_path *path, struct session *s)
{
	if (!path->active || !path->active->connected) {
		session_drop(path, path->active, false);
		path->active = s;
	} else {
		session_drop(path, path->probe, false);
		path->probe = s;
	}
}

static void mapping_known(void *ctx)
{
	struct tund_path *path = ctx;

	path->mapping_wait = false;
	tund_path_start(path);
}

void tund_path_start(struct tund_path *path)
{
	struct session *s;

	/* Both sides come here when the peer is known (a no-op below on the
	 * controlled side): our mapping check starts before any offer. */
	if (prediction_on(path) && !path->manual)
		tund_mapping_ensure(&path->cfg);
	if (!path->controlling || path->probe)
		return;
	if (path->active && !path->active->connected && !path->manual_done)
		return; /* one attempt at a time */
	if (n_starting >= MAX_STARTING && !path->manual_done) {
		if (!g_queue_find(&waiting, path))
			g_queue_push_tail(&waiting, path);
		return;
	}
	/* Our mapping decides whether we gather TURN: a check under way gets
	 * up to TUND_MAPPING_WAIT_MS (mapping.h) before we go without knowing. */
	if (path->mapping_wait)
		return;
	if (tund_mapping_pending() && path->cfg.n_turn && prediction_on(path) && !path->manual &&
	    !(path->active && path->active->connected)) {
		path->mapping_wait = true;
		tund_mapping_wait(mapping_known, path);
		return;
	}
	s = session_new(path, randombytes_random(), TUND_SIGNAL_MAPPING_UNSAID);
	if (!s) {
		schedule(path, &path->retry_timer, &path->retry_s, RETRY_MIN_S, RETRY_MAX_S,
			 retry_fire);
		return;
	}
	place(path, s);
	if (!path->manual_done) {
		s->starting = true;
		n_starting++;
	}
	send_credentials(s, TUND_SIGNAL_OFFER);
	if (tund_ice_gather(s->ice) == 0) {
		request_mapping(s);
	} else {
		snprintf(path->last_error, sizeof(path->last_error), "gathering failed");
		session_drop(path, s, false);
		schedule(path, &path->retry_timer, &path->retry_s, RETRY_MIN_S, RETRY_MAX_S,
			 retry_fire);
	}
}

static void add_candidates(struct session *s, const struct tund_signal *m)
{
	for (unsigned i = 0; i < m->n_candidates; i++)
		if (tund_ice_add_remote_candidate(s->ice, m->candidates[i]) != 0)
			log_debug("peer %s: candidate refused: %s", peer_label(s->path->peer),
				  m->candidates[i]);
	if (m->end_of_candidates)
		tund_ice_remote_gathering_done(s->ice);
}

static void drop_held(struct tund_path *path)
{
	if (!path->held)
		return;
	for (guint i = 0; i < path->held->len; i++) {
		struct tund_signal *m = g_ptr_array_index(path->held, i);

		sodium_memzero(m, sizeof(*m));
		g_free(m);
	}
	g_ptr_array_free(path->held, TRUE);
	path->held = NULL;
}

/* Our mapping is known (or its wait is over): the held offer goes on. */
static void offer_mapping_known(void *ctx)
{
	struct tund_path *path = ctx;
	GPtrArray *held = path->held;

	path->mapping_wait = false;
	path->held = NULL;
	for (guint i = 0; held && i < held->len; i++)
		tund_path_on_signal(path, g_ptr_array_index(held, i));
	for (guint i = 0; held && i < held->len; i++) {
		sodium_memzero(g_ptr_array_index(held, i), sizeof(struct tund_signal));
		g_free(g_ptr_array_index(held, i));
	}
	if (held)
		g_ptr_array_free(held, TRUE);
}

/* Holds m (an offer, or a candidate of the held offer's session) while our
 * mapping check is under way; true when it did. */
static bool hold_signal(struct tund_path *path, const struct tund_signal *m)
{
	if (m->type == TUND_SIGNAL_OFFER) {
		if (!tund_mapping_pending() || !path->cfg.n_turn || !prediction_on(path) ||
		    path->manual || (path->active && path->active->connected))
			return false;
		drop_held(path); /* a newer offer replaces one held */
		path->held = g_ptr_array_new();
		if (!path->mapping_wait) {
			path->mapping_wait = true;
			tund_mapping_wait(offer_mapping_known, path);
		}
	} else {
		const struct tund_signal *offer;

		if (!path->held || !path->held->len)
			return false;
		offer = g_ptr_array_index(path->held, 0);
		if (offer->session != m->session)
			return false;
		if (m->type == TUND_SIGNAL_BYE) {
			drop_held(path);
			return true;
		}
	}
	g_ptr_array_add(path->held, g_memdup2(m, sizeof(*m)));
	return true;
}

static void on_offer(struct tund_path *path, const struct tund_signal *m)
{
	struct session *s = find_session(path, m->session);

	if (path->controlling) {
		/* Both think they control: cannot happen with distinct keys. */
		return;
	}
	if (s) {
		/* Sent again: our answer may have been lost (the controlling
		 * side offers again when a RESTART of ours names a session it
		 * has no answer for). */
		if (!s->connected && !path->manual_done)
			resend(s, TUND_SIGNAL_ANSWER);
		return;
	}
	if (hold_signal(path, m))
		return;
	path->peer_mapping = m->mapping;
	s = session_new(path, m->session, m->mapping);
	if (!s)
		return;
	place(path, s);
	if (tund_ice_set_remote_credentials(s->ice, m->ufrag, m->pwd) != 0) {
		snprintf(path->last_error, sizeof(path->last_error), "peer sent bad ICE credentials");
		session_drop(path, s, false);
		return;
	}
	s->remote_set = true;
	add_candidates(s, m);
	send_credentials(s, TUND_SIGNAL_ANSWER);
	if (tund_ice_gather(s->ice) == 0)
		request_mapping(s);
	else
		session_drop(path, s, false);
}

void tund_path_on_signal(struct tund_path *path, const struct tund_signal *m)
{
	struct session *s;

	switch (m->type) {
	case TUND_SIGNAL_OFFER:
		on_offer(path, m);
		break;
	case TUND_SIGNAL_ANSWER:
		s = find_session(path, m->session);
		if (!s || s->remote_set || !path->controlling)
			break;
		if (tund_ice_set_remote_credentials(s->ice, m->ufrag, m->pwd) != 0) {
			snprintf(path->last_error, sizeof(path->last_error),
				 "peer sent bad ICE credentials");
			break;
		}
		s->remote_set = true;
		path->peer_mapping = m->mapping;
		add_candidates(s, m);
		break;
	case TUND_SIGNAL_CANDIDATE:
		s = find_session(path, m->session);
		if (s)
			add_candidates(s, m);
		else
			(void)hold_signal(path, m);
		break;
	case TUND_SIGNAL_RESTART:
		/* The controlled side asks for a new session. */
		if (!path->controlling || path->probe)
			break;
		/* A session it has not answered yet is still good: when members
		 * meet, its request and our offer cross in the broker. */
		s = path->active;
		if (s && !s->connected && !s->remote_set && !path->manual_done) {
			resend(s, TUND_SIGNAL_OFFER);
			break;
		}
		/* It names the session it is working on, answered already: its
		 * checks are under way on both sides (the connect timeout still
		 * ends it), or ours is connected a moment before its side.
		 * Asked again as it heard of us once more (a fresh announce, an
		 * admission), not because it lost anything. */
		if (s && m->session && m->session == s->id)
			break;
		session_drop(path, path->active, false);
		tund_path_start(path);
		break;
	case TUND_SIGNAL_BYE:
		s = find_session(path, m->session);
		if (!s) {
			(void)hold_signal(path, m);
			break;
		}
		bool was_active = s == path->active;
		session_drop(path, s, false);
		if (was_active)
			promote_probe(path);
		break;
	default:
		break;
	}
}

struct tund_path *tund_path_new(struct tund_daemon *d, struct tund_peer *p,
				const struct tund_ice_server_config *cfg, bool controlling,
				tund_path_send_fn send)
{
	struct tund_path *path = g_new0(struct tund_path, 1);

	path->d = d;
	path->peer = p;
	path->cfg = *cfg;
	path->controlling = controlling;
	path->send = send;
	return path;
}

void tund_path_free(struct tund_path *path)
{
	if (!path)
		return;
	g_queue_remove(&waiting, path);
	tund_mapping_unwait(path);
	drop_held(path);
	if (path->retry_timer)
		tund_loop_source_remove(path->retry_timer);
	if (path->upgrade_timer)
		tund_loop_source_remove(path->upgrade_timer);
	/* Sessions go now: nothing may call back into a freed path. */
	if (path->active)
		session_destroy(path->active);
	if (path->probe)
		session_destroy(path->probe);
	/* Dropped ones too: their idle destroy would read the freed path. */
	while (path->dying) {
		struct session *s = path->dying->data;

		path->dying = g_list_delete_link(path->dying, path->dying);
		tund_loop_source_remove(s->destroy_id);
		session_destroy(s);
	}
	/* A blob still owed: its owner frees what it handed us. */
	if (path->manual_done && path->manual_gone)
		path->manual_gone(path->manual_ctx);
	sodium_memzero(&path->cfg, sizeof(path->cfg)); /* TURN passwords */
	g_free(path);
}

void tund_path_set_servers(struct tund_path *path, const struct tund_ice_server_config *cfg)
{
	sodium_memzero(&path->cfg, sizeof(path->cfg));
	path->cfg = *cfg;
}

void tund_path_kick(struct tund_path *path)
{
	if (!path->controlling || (path->active && path->active->connected))
		return;
	/* A half-made session may have lost its messages: start afresh. */
	session_drop(path, path->active, false);
	if (path->retry_timer) {
		tund_loop_source_remove(path->retry_timer);
		path->retry_timer = 0;
	}
	tund_path_start(path);
}

/* Only addresses came: a working path is left alone, a dead one gets its
 * first chance with them. */
static void underlay_added(struct tund_path *path)
{
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART };

	if (tund_path_kind(path))
		return;
	if (path->controlling)
		tund_path_kick(path);
	else
		path->send(path->d, path->peer, &restart);
}

/* Why an address loss ends the active session, or NULL: it keeps working if
 * it is connected, its local base (the host address, or the TURN
 * allocation's base) is still ours and the kernel still routes its datagrams
 * the way it did when the pair was chosen. A probe (relayed path looking for
 * a direct one) is left running: checks from a lost address fail, the
 * others go on. */
static const char *ends_session(struct tund_path *path, const struct tund_addrwatch_change *ch,
				char *buf, size_t len)
{
	struct session *s = path->active;
	struct tund_route_hop now;

	if (!s || !s->connected || !s->has_pair)
		return "no working path";
	if (tund_addrwatch_gone(ch, s->pair.local_base)) {
		snprintf(buf, len, "its address %s went away", s->pair.local_base);
		return buf;
	}
	if (s->hop_known && (route_now(s, &now) != 0 || now.oif != s->hop.oif ||
			     memcmp(now.gateway, s->hop.gateway, sizeof(now.gateway)))) {
		snprintf(buf, len, "its way out from %s moved", s->pair.local_base);
		return buf;
	}
	log_debug("peer %s: our addresses changed; the path from %s is not affected",
		  peer_label(path->peer), s->pair.local_base);
	return NULL;
}

void tund_path_underlay_changed(struct tund_path *path, const struct tund_addrwatch_change *ch)
{
	struct tund_signal restart = { .type = TUND_SIGNAL_RESTART };
	char buf[96];
	const char *why;

	if (path->manual_done)
		return; /* waiting for a blob: nothing to renegotiate with */
	/* Our NAT may be another now: sessions gather TURN until a new check
	 * says (one check for all paths), and a failure's forcing is over. */
	if (prediction_on(path))
		tund_mapping_invalidate(&path->cfg);
	path->turn_forced = false;
	if (!ch->removed) {
		underlay_added(path);
		return;
	}
	if (!(why = ends_session(path, ch, buf, sizeof(buf))))
		return;
	/* The old session cannot work any more (or never did), so there is
	 * nothing to make the new one before: libnice would keep sending from
	 * the dead socket until consent is lost (10 s). Start afresh with the
	 * addresses we have now. The peer drops its side (BYE). */
	snprintf(path->last_error, sizeof(path->last_error), "underlay address changed");
	log_info("peer %s: our addresses changed (%s); negotiating a new path",
		 peer_label(path->peer), why);
	session_drop(path, path->probe, true);
	session_drop(path, path->active, true);
	if (path->retry_timer) {
		tund_loop_source_remove(path->retry_timer);
		path->retry_timer = 0;
	}
	path->retry_s = 0;
	if (path->controlling)
		tund_path_start(path);
	else
		path->send(path->d, path->peer, &restart);
}

bool tund_path_controlling(struct tund_path *path)
{
	return path->controlling;
}

void tund_path_manual(struct tund_path *path, void (*done)(void *ctx, const struct tund_signal *m),
		      void (*gone)(void *ctx), void *ctx)
{
	if (path->manual_done && path->manual_gone)
		path->manual_gone(path->manual_ctx);
	path->manual = true;
	path->manual_done = done;
	path->manual_gone = gone;
	path->manual_ctx = ctx;
}

uint32_t tund_path_pending_session(struct tund_path *path)
{
	return path && path->active && !path->active->connected ? path->active->id : 0;
}

const char *tund_path_kind(struct tund_path *path)
{
	if (!path || !path->active || !path->active->has_pair || !path->active->connected)
		return NULL;
	return path->active->pair.relayed ? "relay" : "direct";
}

const char *tund_path_last_error(struct tund_path *path)
{
	return path ? path->last_error : "";
}

void tund_path_describe(struct tund_path *path, JsonObject *o)
{
	struct session *s = path->active;
	static const char *const states[] = { "new", "gathering", "connecting", "connected",
					      "failed", "closed" };

	if (s) {
		enum tund_ice_state st = tund_ice_state(s->ice);

		json_object_set_string_member(o, TUND_KEY_ICE_STATE,
					      st <= TUND_ICE_CLOSED ? states[st] : "unknown");
	}
	if (tund_path_kind(path)) {
		char cands[32];

		json_object_set_string_member(o, TUND_KEY_PATH, tund_path_kind(path));
		snprintf(cands, sizeof(cands), "%s→%s", local_label(s), s->pair.remote_type);
		json_object_set_string_member(o, TUND_KEY_CANDIDATES, cands);
		json_object_set_string_member(o, TUND_KEY_LOCAL_ADDR, s->pair.local_addr);
		json_object_set_string_member(o, TUND_KEY_REMOTE_ADDR, s->pair.remote_addr);
		if (s->pair.relayed && s->pair.transport[0])
			json_object_set_string_member(o, TUND_KEY_RELAY_TRANSPORT, s->pair.transport);
		if (path->d->dp && s->path_id) {
			bool relayed;

			json_object_set_boolean_member(
				o, TUND_KEY_FAST_PATH,
				tund_dataplane_path_fast(path->d->dp, s->path_id, &relayed));
		}
	}
	if (s && s->turn_why[0])
		json_object_set_string_member(o, TUND_KEY_TURN_START, s->turn_why);
	if (path->peer_mapping)
		json_object_set_string_member(o, TUND_KEY_PEER_MAPPING,
					      tund_mapping_name(path->peer_mapping));
	if (path->last_error[0])
		json_object_set_string_member(o, TUND_KEY_LAST_ERROR, path->last_error);
}
