// SPDX-License-Identifier: MIT
/* Port mapping: a worker thread runs portmap_io.c's blocking requests one by
 * one from a queue; each answer comes back to the main context as an idle
 * callback (tund_loop_idle_add_to). The mappings themselves (ids, renewal
 * timers, callbacks) live on the main context only; the worker sees copies. */
#include "tund/connect/portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>

#include "overlay/control_proto.h"
#include "tund/connect/portmap_io.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

/* A failed renewal is tried again this soon (the mapping may still hold). */
#define RENEW_RETRY_S 30

enum job_kind { JOB_DISCOVER, JOB_MAP, JOB_DELETE, JOB_QUIT };

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
	enum tund_portmap_proto proto; /* JOB_DISCOVER: what was found */
	char lan_addr[INET_ADDRSTRLEN], external[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN];
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
	void *ctx;
};

struct tund_portmap {
	GMainContext *ctx;
	GThread *worker;
	GAsyncQueue *jobs;
	struct tund_portmap_gw gw; /* the worker's own */
	/* Main-context copies of what discovery found. */
	bool discovering;
	enum tund_portmap_proto proto;
	char lan_addr[INET_ADDRSTRLEN], external[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN];
	char error[TUND_WHY_LEN];
	GHashTable *mappings; /* id -> struct mapping */
	unsigned next_id;
	bool closed;
};

/* ---- pure ---- */

unsigned tund_portmap_renew_after(unsigned lifetime_s)
{
	if (lifetime_s == 0)
		return 0;
	/* Half the lifetime, as RFC 6886 3.3 suggests; at least a second. */
	return lifetime_s > 1 ? lifetime_s / 2 : 1;
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

static void run_job(struct tund_portmap_gw *gw, struct job *j)
{
	switch (j->kind) {
	case JOB_DISCOVER:
		j->ret = tund_portmap_io_discover(gw, TUND_PORTMAP_DISCOVER_MS, j->why, sizeof(j->why));
		j->proto = gw->proto;
		g_strlcpy(j->lan_addr, gw->lan_addr, sizeof(j->lan_addr));
		g_strlcpy(j->external, gw->external, sizeof(j->external));
		g_strlcpy(j->gateway, gw->gateway, sizeof(j->gateway));
		break;
	case JOB_MAP:
		/* Asked before discovery answered: only now is our side known. */
		if (strcmp(j->int_ip, gw->lan_addr) != 0) {
			j->ret = -ENOENT;
			snprintf(j->why, sizeof(j->why), "%s is not on the router's side",
				 j->int_ip);
			break;
		}
		j->ret = tund_portmap_io_add(gw, j->int_port, j->ext_port, j->nonce,
					     TUND_PORTMAP_LIFETIME_S, &j->got_port, &j->got_lifetime,
					     j->why, sizeof(j->why));
		/* PCP learns the external address from its MAP answers. */
		g_strlcpy(j->external, gw->external, sizeof(j->external));
		break;
	case JOB_DELETE:
		j->ret = tund_portmap_io_delete(gw, j->int_port, j->ext_port, j->nonce, j->why,
						sizeof(j->why));
		if (j->ret)
			log_warn("port mapping of port %u not removed: %s", j->ext_port, j->why);
		break;
	case JOB_QUIT:
		break;
	}
}

static gpointer worker(gpointer data)
{
	struct tund_portmap *pm = data;
	struct job *j;

	while ((j = g_async_queue_pop(pm->jobs))->kind != JOB_QUIT) {
		run_job(&pm->gw, j);
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
}

/* A granted mapping (new or renewed): keep it and plan the renewal. */
static void granted(struct tund_portmap *pm, struct mapping *mp, const struct job *j)
{
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
	else if (j->got_port != mp->m.external_port)
		log_warn("port mapping: renewal moved %s:%u to external port %u", mp->m.internal_ip,
			 mp->m.internal_port, j->got_port);
	mp->granted = true;
	mp->m.external_port = j->got_port;
	mp->m.lifetime_s = j->got_lifetime;
	g_strlcpy(mp->m.external_ip, pm->external, sizeof(mp->m.external_ip));
	schedule_renewal(mp, tund_portmap_renew_after(j->got_lifetime));
}

static void mapped(struct tund_portmap *pm, const struct job *j)
{
	struct mapping *mp = g_hash_table_lookup(pm->mappings, GUINT_TO_POINTER(j->id));
	struct tund_portmap_mapping copy;
	tund_portmap_done_fn done;
	void *ctx;

	if (!mp) {
		/* Unmapped while the request was out: remove what was made. */
		if (j->ret == 0)
			push_delete(pm, j->int_port, j->got_port, j->nonce);
		return;
	}
	if (j->ret == 0) {
		granted(pm, mp, j);
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

static gboolean job_answered(gpointer data)
{
	struct job *j = data;
	struct tund_portmap *pm = j->pm;

	if (!pm->closed) {
		if (j->kind == JOB_DISCOVER)
			discovered(pm, j);
		else if (j->kind == JOB_MAP)
			mapped(pm, j);
	}
	g_atomic_rc_box_release(pm);
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
