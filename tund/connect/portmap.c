// SPDX-License-Identifier: MIT
/* Port mapping: a worker thread runs portmap_io.c's blocking requests one by
 * one from a queue; each answer comes back to the main context as an idle
 * callback (tund_loop_idle_add_to). The mappings themselves (ids, renewal
 * timers, callbacks) live on the main context only; the worker sees copies. */
#include "tund/connect/portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "overlay/control_proto.h"
#include "tund/connect/portmap_io.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

/* A failed renewal is tried again this soon (the mapping may still hold). */
#define RENEW_RETRY_S 30
/* RFC 6887 14.1.3: after an announcement, each client waits at random up
 * to this long, so that the router is not asked by all of them at once. */
#define ANNOUNCE_DELAY_MAX_MS 5000

enum job_kind { JOB_DISCOVER, JOB_MAP, JOB_DELETE, JOB_EPOCH, JOB_QUIT };

struct job {
	struct tund_portmap *pm;
	enum job_kind kind;
	unsigned id;
	char int_ip[INET_ADDRSTRLEN]; /* JOB_MAP: must be ours towards the router */
	uint16_t int_port, ext_port;
	uint8_t nonce[TUND_PCP_NONCE_LEN]; /* JOB_MAP, JOB_DELETE: the mapping's (PCP) */
	/* the answer */
	int ret;
	uint16_t got_port;
	unsigned got_lifetime;
	enum tund_portmap_proto proto; /* JOB_DISCOVER, or rediscovered: what was found */
	char lan_addr[INET_ADDRSTRLEN], external[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN];
	bool rediscovered; /* JOB_MAP: UPnP's router was looked for again first */
	bool has_epoch;    /* the server's epoch in its last answer (PCP, NAT-PMP) */
	uint32_t epoch;
	int64_t epoch_ms;
	char why[TUND_WHY_LEN];
};

struct mapping {
	struct tund_portmap *pm;
	unsigned id;
	struct tund_portmap_mapping m;
	uint8_t nonce[TUND_PCP_NONCE_LEN]; /* PCP: its renewals and removal say it again */
	bool granted;
	guint renew_timer;
	tund_portmap_done_fn done; /* NULL once answered */
	tund_portmap_done_fn moved; /* then: when the external address or port moves */
	void *ctx;
};

struct tund_portmap {
	GMainContext *ctx;
	GThread *worker;
	GAsyncQueue *jobs;
	struct tund_portmap_gw gw; /* the worker's own */
	bool gw_lost;              /* the worker's: UPnP's router not found again */
	/* Main-context copies of what discovery found. */
	bool discovering;
	enum tund_portmap_proto proto;
	char lan_addr[INET_ADDRSTRLEN], external[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN];
	char error[TUND_WHY_LEN];
	GHashTable *mappings; /* id -> struct mapping */
	unsigned next_id;
	bool closed;
	/* The server's epoch as last heard (RFC 6887 8.5), our time then (ms). */
	bool epoch_known;
	uint32_t epoch;
	int64_t epoch_ms;
	unsigned restarts; /* times the router was seen to lose its mappings */
	bool epoch_asked;  /* a JOB_EPOCH is out */
	/* Unsolicited announcements (224.0.0.1:5350), PCP and NAT-PMP only. */
	int listen_fd;
	guint listen_src;
	struct in_addr gw_addr;
};

/* ---- pure ---- */

unsigned tund_portmap_renew_after(unsigned lifetime_s)
{
	unsigned half = lifetime_s > 1 ? lifetime_s / 2 : 1;

	/* Half the lifetime, as RFC 6886 3.3 suggests, at least a second and
	 * at most TUND_PORTMAP_REASSERT_S even for a permanent one (0). */
	return lifetime_s == 0 || half > TUND_PORTMAP_REASSERT_S ? TUND_PORTMAP_REASSERT_S : half;
}

int tund_portmap_candidate_line(char *buf, size_t len, const char *ext_ip, uint16_t ext_port,
				const char *base_ip, uint16_t base_port)
{
	struct in_addr a;
	/* srflx type preference 100, local preference 65535, component 1
	 * (RFC 8445 5.1.2.1): what a STUN-learned candidate would get. */
	const unsigned long prio = (100UL << 24) + (65535UL << 8) + 255;
	int n;

	if (!ext_ip || !base_ip || !ext_port || !base_port || inet_pton(AF_INET, ext_ip, &a) != 1 ||
	    inet_pton(AF_INET, base_ip, &a) != 1)
		return -EINVAL;
	n = snprintf(buf, len, "a=candidate:%s1 1 udp %lu %s %u typ srflx raddr %s rport %u",
		     TUND_PORTMAP_FOUNDATION, prio, ext_ip, ext_port, base_ip, base_port);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* ---- worker thread ---- */

static gboolean job_answered(gpointer data);

static void copy_gw(struct job *j, const struct tund_portmap_gw *gw)
{
	j->proto = gw->proto;
	g_strlcpy(j->lan_addr, gw->lan_addr, sizeof(j->lan_addr));
	g_strlcpy(j->external, gw->external, sizeof(j->external));
	g_strlcpy(j->gateway, gw->gateway, sizeof(j->gateway));
}

static int add(struct tund_portmap_gw *gw, struct job *j)
{
	return tund_portmap_io_add(gw, j->int_port, j->ext_port, j->nonce, TUND_PORTMAP_LIFETIME_S,
				   &j->got_port, &j->got_lifetime, j->why, sizeof(j->why));
}

static void map_job(struct tund_portmap *pm, struct job *j)
{
	struct tund_portmap_gw *gw = &pm->gw;
	char why[TUND_WHY_LEN];

	/* Asked before discovery answered: only now is our side known. */
	if (strcmp(j->int_ip, gw->lan_addr) != 0) {
		j->ret = -ENOENT;
		snprintf(j->why, sizeof(j->why), "%s is not on the router's side", j->int_ip);
		return;
	}
	j->ret = pm->gw_lost ? -ECONNREFUSED : add(gw, j);
	/* A UPnP router that restarted may serve its control URL elsewhere
	 * (miniupnpd picks a new HTTP port): look for it again, once a try. */
	if (j->ret == -ECONNREFUSED && (pm->gw_lost || gw->proto == TUND_PORTMAP_UPNP)) {
		tund_portmap_io_clear(gw);
		j->rediscovered = true;
		pm->gw_lost = tund_portmap_io_discover(gw, TUND_PORTMAP_DISCOVER_MS, why,
							sizeof(why)) != 0;
		if (pm->gw_lost)
			snprintf(j->why, sizeof(j->why), "the router does not answer any more (%.*s)",
				 (int)sizeof(j->why) - 48, why);
		else if (strcmp(j->int_ip, gw->lan_addr) == 0)
			j->ret = add(gw, j);
	}
	/* PCP learns the external address from its MAP answers. */
	copy_gw(j, gw);
}

static void run_job(struct tund_portmap *pm, struct job *j)
{
	struct tund_portmap_gw *gw = &pm->gw;

	switch (j->kind) {
	case JOB_DISCOVER:
		j->ret = tund_portmap_io_discover(gw, TUND_PORTMAP_DISCOVER_MS, j->why, sizeof(j->why));
		copy_gw(j, gw);
		break;
	case JOB_MAP:
		map_job(pm, j);
		break;
	case JOB_DELETE:
		j->ret = tund_portmap_io_delete(gw, j->int_port, j->ext_port, j->nonce, j->why,
						sizeof(j->why));
		if (j->ret)
			log_warn("port mapping of port %u not removed: %s", j->ext_port, j->why);
		break;
	case JOB_EPOCH:
		j->ret = tund_portmap_io_epoch(gw, j->why, sizeof(j->why));
		if (j->ret)
			log_warn("port mapping: %s", j->why);
		break;
	case JOB_QUIT:
		break;
	}
	/* Each answer's epoch goes to the main context with its job. */
	j->has_epoch = gw->has_epoch;
	j->epoch = gw->epoch;
	j->epoch_ms = gw->epoch_ms;
	gw->has_epoch = false;
}

static gpointer worker(gpointer data)
{
	struct tund_portmap *pm = data;
	struct job *j;

	while ((j = g_async_queue_pop(pm->jobs))->kind != JOB_QUIT) {
		run_job(pm, j);
		tund_loop_idle_add_to(pm->ctx, job_answered, j);
	}
	g_free(j);
	tund_portmap_io_clear(&pm->gw);
	return NULL;
}

static struct job *job_new(struct tund_portmap *pm, enum job_kind kind, unsigned id,
			   uint16_t int_port, uint16_t ext_port, const uint8_t *nonce)
{
	struct job *j = g_new0(struct job, 1);

	/* Each answer holds pm until it has run on the main context. */
	j->pm = g_atomic_rc_box_acquire(pm);
	j->kind = kind;
	j->id = id;
	j->int_port = int_port;
	j->ext_port = ext_port;
	if (nonce)
		memcpy(j->nonce, nonce, sizeof(j->nonce));
	return j;
}

static void push_map(struct tund_portmap *pm, const struct mapping *mp)
{
	struct job *j = job_new(pm, JOB_MAP, mp->id, mp->m.internal_port, mp->m.external_port,
				mp->nonce);

	g_strlcpy(j->int_ip, mp->m.internal_ip, sizeof(j->int_ip));
	g_async_queue_push(pm->jobs, j);
}

static void push_delete(struct tund_portmap *pm, uint16_t int_port, uint16_t ext_port,
			const uint8_t *nonce)
{
	g_async_queue_push(pm->jobs, job_new(pm, JOB_DELETE, 0, int_port, ext_port, nonce));
}

/* ---- main context ---- */

static void mapping_free(gpointer data)
{
	struct mapping *mp = data;

	if (mp->renew_timer)
		tund_loop_source_remove(mp->renew_timer);
	g_free(mp);
}

static gboolean renew_fire(gpointer data)
{
	struct mapping *mp = data;

	mp->renew_timer = 0;
	push_map(mp->pm, mp);
	return G_SOURCE_REMOVE;
}

static void schedule_renewal(struct mapping *mp, unsigned secs)
{
	if (mp->renew_timer)
		tund_loop_source_remove(mp->renew_timer);
	mp->renew_timer = secs ? tund_loop_timeout_add_seconds(secs, renew_fire, mp) : 0;
}

/* Every granted mapping but skip's is asked for again after one random
 * wait of up to max_delay_ms (0: now). */
static void remap_all(struct tund_portmap *pm, unsigned skip, guint max_delay_ms)
{
	guint ms = max_delay_ms ? (guint)g_random_int_range(0, (gint32)max_delay_ms + 1) : 0;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, pm->mappings);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct mapping *mp = v;

		if (!mp->granted || mp->id == skip)
			continue;
		if (mp->renew_timer)
			tund_loop_source_remove(mp->renew_timer);
		mp->renew_timer = tund_loop_timeout_add(ms, renew_fire, mp);
	}
}

/* The server's epoch, heard at our at_ms in an answer or announcement
 * (how): false, logged once, when it shows the router lost its state
 * (RFC 6887 8.5). An answer older than what was heard last is not used. */
static bool epoch_heard(struct tund_portmap *pm, uint32_t epoch, int64_t at_ms, const char *how)
{
	bool valid;

	if (pm->epoch_known && at_ms < pm->epoch_ms)
		return true;
	valid = !pm->epoch_known || tund_pcp_epoch_valid(pm->epoch, pm->epoch_ms, epoch, at_ms);
	if (!valid) {
		pm->restarts++;
		log_warn("port mapping: the router restarted or lost its mappings (%s: epoch %u s, "
			 "%u s %lld s ago); mapping again",
			 how, epoch, pm->epoch, (long long)(at_ms - pm->epoch_ms) / 1000);
	}
	pm->epoch_known = true;
	pm->epoch = epoch;
	pm->epoch_ms = at_ms;
	return valid;
}

static void listen_close(struct tund_portmap *pm)
{
	if (pm->listen_src)
		tund_loop_source_remove(pm->listen_src);
	pm->listen_src = 0;
	if (pm->listen_fd >= 0)
		close(pm->listen_fd);
	pm->listen_fd = -1;
}

/* One announcement from the gateway's port 5351 (RFC 6887 14.1.3, RFC
 * 6886 3.2.1): the epoch is checked, NAT-PMP's address compared; a router
 * that lost its state gets every mapping again after a random wait. */
static void announced(struct tund_portmap *pm, const uint8_t *buf, size_t len,
		      const struct sockaddr_in *from)
{
	enum tund_pcp_unsolicited kind;
	struct tund_pcp_announce a;
	char ext[INET_ADDRSTRLEN];
	const char *why;
	bool lost;

	if (from->sin_addr.s_addr != pm->gw_addr.s_addr || ntohs(from->sin_port) != TUND_PCP_PORT)
		return; /* only the gateway speaks for the gateway */
	kind = tund_pcp_parse_unsolicited(buf, len, &a, &why);
	if (kind == TUND_PCP_UNSOL_DROP) {
		log_debug("port mapping: announcement from %s dropped: %s", pm->gateway, why);
		return;
	}
	/* The other protocol's clock is not the one we track, but the
	 * router says it restarted (miniupnpd announces by PCP alone): ask
	 * ours for its epoch; the answer is checked like any other. */
	if ((kind == TUND_PCP_UNSOL_PCP) != (pm->proto == TUND_PORTMAP_PCP)) {
		if (!pm->epoch_asked) /* one at a time */
			g_async_queue_push(pm->jobs, job_new(pm, JOB_EPOCH, 0, 0, 0, NULL));
		pm->epoch_asked = true;
		return;
	}
	lost = !epoch_heard(pm, a.epoch, g_get_monotonic_time() / 1000,
			    kind == TUND_PCP_UNSOL_PCP ? "PCP ANNOUNCE" : "NAT-PMP announcement");
	inet_ntop(AF_INET, a.ext_ip, ext, sizeof(ext));
	if (kind == TUND_PCP_UNSOL_NATPMP && strcmp(ext, pm->external) != 0) {
		log_warn("port mapping: the router's external address is now %s (was %s); "
			 "mapping again", ext, pm->external[0] ? pm->external : "-");
		g_strlcpy(pm->external, ext, sizeof(pm->external));
		lost = true;
	}
	if (lost)
		remap_all(pm, 0, ANNOUNCE_DELAY_MAX_MS);
}

static gboolean on_announce(gint fd, GIOCondition cond, gpointer data)
{
	struct tund_portmap *pm = data;
	uint8_t buf[TUND_PCP_MAX_LEN + 4];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;

	(void)cond;
	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		if (fl == sizeof(from) && from.sin_family == AF_INET)
			announced(pm, buf, (size_t)n, &from);
	}
	return G_SOURCE_CONTINUE;
}

/* Listens on 0.0.0.0:5350, in 224.0.0.1 on our interface towards the
 * gateway, for PCP's and NAT-PMP's announcements. Another client on this
 * host may listen too (SO_REUSEADDR: each gets the multicast ones). */
static void listen_open(struct tund_portmap *pm)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TUND_PCP_CLIENT_PORT) };
	struct ip_mreqn mr = { .imr_ifindex = 0 };
	int one = 1, fd;

	listen_close(pm);
	if ((pm->proto != TUND_PORTMAP_PCP && pm->proto != TUND_PORTMAP_NATPMP) ||
	    inet_pton(AF_INET, pm->gateway, &pm->gw_addr) != 1 ||
	    inet_pton(AF_INET, "224.0.0.1", &mr.imr_multiaddr) != 1 ||
	    inet_pton(AF_INET, pm->lan_addr, &mr.imr_address) != 1)
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0 &&
	     errno != EADDRINUSE)) {
		log_info("port mapping: not listening for the router's announcements on port %u "
			 "(%s); renewals still notice a restart", TUND_PCP_CLIENT_PORT,
			 g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	pm->listen_fd = fd;
	pm->listen_src = tund_loop_fd_add(fd, G_IO_IN, on_announce, pm);
}

static void discovered(struct tund_portmap *pm, const struct job *j)
{
	pm->discovering = false;
	if (j->ret) {
		g_strlcpy(pm->error, j->why, sizeof(pm->error));
		log_info("port mapping: no router offers it (%s)", j->why);
		return;
	}
	pm->proto = j->proto;
	g_strlcpy(pm->lan_addr, j->lan_addr, sizeof(pm->lan_addr));
	g_strlcpy(pm->external, j->external, sizeof(pm->external));
	g_strlcpy(pm->gateway, j->gateway, sizeof(pm->gateway));
	log_info("port mapping: %s on %s, external address %s, for %s",
		 tund_portmap_proto_name(pm->proto), pm->gateway,
		 pm->external[0] ? pm->external : "(named by the first mapping)", pm->lan_addr);
	listen_open(pm);
}

/* A map job looked for UPnP's router again (it stopped answering). */
static void rediscovered(struct tund_portmap *pm, const struct job *j)
{
	if (j->proto == TUND_PORTMAP_NONE) {
		g_strlcpy(pm->error, j->why, sizeof(pm->error));
		return; /* the job's failure is logged */
	}
	pm->error[0] = '\0';
	if (j->proto == pm->proto && !strcmp(j->gateway, pm->gateway) &&
	    !strcmp(j->lan_addr, pm->lan_addr))
		return;
	pm->proto = j->proto;
	g_strlcpy(pm->lan_addr, j->lan_addr, sizeof(pm->lan_addr));
	g_strlcpy(pm->gateway, j->gateway, sizeof(pm->gateway));
	log_info("port mapping: the router answers again: %s on %s, for %s",
		 tund_portmap_proto_name(pm->proto), pm->gateway, pm->lan_addr);
	listen_open(pm);
}

/* A granted mapping (new or renewed): keep it and plan the renewal. */
static void granted(struct tund_portmap *pm, struct mapping *mp, const struct job *j)
{
	unsigned secs;
	bool moved;

	if (j->external[0] && strcmp(j->external, pm->external) != 0) {
		if (pm->external[0])
			log_warn("port mapping: the router's external address is now %s (was %s)",
				 j->external, pm->external);
		g_strlcpy(pm->external, j->external, sizeof(pm->external));
	}
	if (!mp->granted)
		log_info("port mapping: %s:%u -> %s:%u (%s, %u s)", pm->external, j->got_port,
			 mp->m.internal_ip, mp->m.internal_port, tund_portmap_proto_name(pm->proto),
			 j->got_lifetime);
	else if (j->got_port != mp->m.external_port || strcmp(pm->external, mp->m.external_ip))
		log_warn("port mapping: %s:%u is now reached at %s:%u (was %s:%u)",
			 mp->m.internal_ip, mp->m.internal_port, pm->external, j->got_port,
			 mp->m.external_ip, mp->m.external_port);
	moved = mp->granted && (j->got_port != mp->m.external_port ||
				strcmp(pm->external, mp->m.external_ip) != 0);
	mp->granted = true;
	mp->m.external_port = j->got_port;
	mp->m.lifetime_s = j->got_lifetime;
	g_strlcpy(mp->m.external_ip, pm->external, sizeof(mp->m.external_ip));
	secs = tund_portmap_renew_after(j->got_lifetime);
	schedule_renewal(mp, secs);
	if (moved && mp->moved) {
		struct tund_portmap_mapping copy = mp->m;

		mp->moved(mp->ctx, &copy); /* may unmap: mp is not used after */
	}
}

static void mapped(struct tund_portmap *pm, const struct job *j)
{
	struct mapping *mp = g_hash_table_lookup(pm->mappings, GUINT_TO_POINTER(j->id));
	struct tund_portmap_mapping copy;
	tund_portmap_done_fn done;
	void *ctx;

	if (j->rediscovered)
		rediscovered(pm, j);
	if (!mp) {
		/* Unmapped while the request was out: remove what was made. */
		if (j->ret == 0)
			push_delete(pm, j->int_port, j->got_port, j->nonce);
		return;
	}
	if (j->ret == 0) {
		bool first = !mp->granted;

		granted(pm, mp, j); /* may call moved(), which may unmap */
		if (!first)
			return;
	} else {
		/* No router is the quiet case: discovery said so once already. */
		if (pm->proto != TUND_PORTMAP_NONE)
			log_warn("port mapping: %s", j->why);
		if (mp->granted) { /* a renewal: the mapping may hold a while */
			schedule_renewal(mp, RENEW_RETRY_S);
			return;
		}
	}
	done = mp->done;
	ctx = mp->ctx;
	copy = mp->m;
	mp->done = NULL;
	if (!mp->granted)
		g_hash_table_remove(pm->mappings, GUINT_TO_POINTER(j->id)); /* frees mp */
	if (done)
		done(ctx, j->ret ? NULL : &copy);
}

static void clear(gpointer data);

static gboolean job_answered(gpointer data)
{
	struct job *j = data;
	struct tund_portmap *pm = j->pm;

	if (!pm->closed) {
		/* A MAP answered is that mapping made again already; asked
		 * after an announcement, the RFC's random wait. */
		if (j->kind == JOB_EPOCH)
			pm->epoch_asked = false;
		if (j->has_epoch &&
		    !epoch_heard(pm, j->epoch, j->epoch_ms,
				 j->kind == JOB_EPOCH ? "asked after an announcement" : "an answer"))
			remap_all(pm, j->kind == JOB_MAP && j->ret == 0 ? j->id : 0,
				  j->kind == JOB_EPOCH ? ANNOUNCE_DELAY_MAX_MS : 0);
		if (j->kind == JOB_DISCOVER)
			discovered(pm, j);
		else if (j->kind == JOB_MAP)
			mapped(pm, j);
	}
	/* The last answer after tund_portmap_free lets pm go. */
	g_atomic_rc_box_release_full(pm, clear);
	g_free(j);
	return G_SOURCE_REMOVE;
}

static void clear(gpointer data)
{
	struct tund_portmap *pm = data;

	g_async_queue_unref(pm->jobs);
	g_hash_table_destroy(pm->mappings);
	g_main_context_unref(pm->ctx);
}

int tund_portmap_new(struct tund_portmap **out)
{
	struct tund_portmap *pm = g_atomic_rc_box_new0(struct tund_portmap);
	GError *e = NULL;

	*out = NULL;
	pm->ctx = g_main_context_ref(tund_loop_context());
	pm->jobs = g_async_queue_new();
	pm->mappings = g_hash_table_new_full(NULL, NULL, NULL, mapping_free);
	pm->discovering = true;
	pm->listen_fd = -1;
	pm->worker = g_thread_try_new("tund-portmap", worker, pm, &e);
	if (!pm->worker) {
		log_error("port mapping: cannot start its thread: %s", e->message);
		g_error_free(e);
		g_atomic_rc_box_release_full(pm, clear);
		return -EAGAIN;
	}
	g_async_queue_push(pm->jobs, job_new(pm, JOB_DISCOVER, 0, 0, 0, NULL));
	*out = pm;
	return 0;
}

void tund_portmap_free(struct tund_portmap *pm)
{
	GHashTableIter it;
	gpointer v;
	struct job *quit;

	if (!pm)
		return;
	pm->closed = true;
	listen_close(pm);
	g_hash_table_iter_init(&it, pm->mappings);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct mapping *mp = v;

		if (mp->granted)
			push_delete(pm, mp->m.internal_port, mp->m.external_port, mp->nonce);
	}
	quit = g_new0(struct job, 1);
	quit->kind = JOB_QUIT;
	g_async_queue_push(pm->jobs, quit);
	/* Waits for the deletions: the router must not keep them after exit. */
	g_thread_join(pm->worker);
	g_hash_table_remove_all(pm->mappings);
	g_atomic_rc_box_release_full(pm, clear);
}

unsigned tund_portmap_map(struct tund_portmap *pm, const char *ip, uint16_t port,
			  tund_portmap_done_fn done, void *ctx)
{
	struct mapping *mp;

	if (!pm || pm->closed || !ip || !port)
		return 0;
	/* Before discovery answered, the request waits behind it in the queue. */
	if (!pm->discovering && (pm->proto == TUND_PORTMAP_NONE || strcmp(ip, pm->lan_addr) != 0))
		return 0;
	mp = g_new0(struct mapping, 1);
	mp->pm = pm;
	if (++pm->next_id == 0)
		++pm->next_id;
	mp->id = pm->next_id;
	g_strlcpy(mp->m.internal_ip, ip, sizeof(mp->m.internal_ip));
	mp->m.internal_port = port;
	mp->m.external_port = port; /* asked for: the same as ours */
	randombytes_buf(mp->nonce, sizeof(mp->nonce));
	mp->done = done;
	mp->moved = done;
	mp->ctx = ctx;
	g_hash_table_insert(pm->mappings, GUINT_TO_POINTER(mp->id), mp);
	push_map(pm, mp);
	return mp->id;
}

void tund_portmap_unmap(struct tund_portmap *pm, unsigned id)
{
	struct mapping *mp;

	if (!pm || !id || !(mp = g_hash_table_lookup(pm->mappings, GUINT_TO_POINTER(id))))
		return;
	/* Still out: mapped() removes what the router made. */
	if (mp->granted)
		push_delete(pm, mp->m.internal_port, mp->m.external_port, mp->nonce);
	g_hash_table_remove(pm->mappings, GUINT_TO_POINTER(id));
}

static JsonArray *mappings_array(struct tund_portmap *pm)
{
	JsonArray *a = json_array_new();
	GHashTableIter it;
	gpointer v;

	if (!pm)
		return a;
	g_hash_table_iter_init(&it, pm->mappings);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct mapping *mp = v;
		JsonObject *e;
		char buf[64];

		if (!mp->granted)
			continue;
		e = json_object_new();
		snprintf(buf, sizeof(buf), "%s:%u", mp->m.internal_ip, mp->m.internal_port);
		json_object_set_string_member(e, TUND_KEY_INTERNAL, buf);
		snprintf(buf, sizeof(buf), "%s:%u", mp->m.external_ip, mp->m.external_port);
		json_object_set_string_member(e, TUND_KEY_EXTERNAL, buf);
		json_object_set_int_member(e, TUND_KEY_LIFETIME, mp->m.lifetime_s);
		json_array_add_object_element(a, e);
	}
	return a;
}

JsonNode *tund_portmap_describe(struct tund_portmap *pm)
{
	JsonObject *o = json_object_new();
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	const char *proto = pm ? tund_portmap_proto_name(pm->proto) : NULL;
	const char *error = !pm ? "off ([ice] portmap = off)" : pm->error[0] ? pm->error : NULL;

	json_object_set_boolean_member(o, TUND_KEY_ENABLED, pm != NULL);
	json_object_set_boolean_member(o, TUND_KEY_DISCOVERING, pm && pm->discovering);
	json_object_set_string_member(o, TUND_KEY_PROTOCOL, proto);
	json_object_set_string_member(o, TUND_KEY_GATEWAY, proto ? pm->gateway : NULL);
	/* PCP names it with the first mapping only. */
	json_object_set_string_member(o, TUND_KEY_EXTERNAL,
				      proto && pm->external[0] ? pm->external : NULL);
	json_object_set_string_member(o, TUND_KEY_ERROR, error);
	json_object_set_array_member(o, TUND_KEY_MAPPINGS, mappings_array(pm));
	json_node_take_object(n, o);
	return n;
}
