// SPDX-License-Identifier: MIT
/* This node's NAT mapping behaviour (mapping.h). */
#include "tund/connect/mapping.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "overlay/control_proto.h"
#include "overlay/signal.h"
#include "tund/connect/netcheck.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

struct waiter {
	void (*fn)(void *ctx);
	void *ctx;
};

static struct {
	uint8_t mapping;
	bool running, again, checked;
	guint wait_timer;
	gint64 started; /* monotonic us of the check under way */
	char server[300];
	struct tund_stun_server next; /* the server of the next check */
	GArray *waiters;              /* struct waiter */
} st;

const char *tund_mapping_name(uint8_t mapping)
{
	switch (mapping) {
	case TUND_SIGNAL_MAPPING_UNSAID:
		return "not said";
	case TUND_SIGNAL_MAPPING_NONE:
		return "none";
	case TUND_SIGNAL_MAPPING_EIM:
		return "endpoint-independent";
	case TUND_SIGNAL_MAPPING_DEPENDENT:
		return "endpoint-dependent";
	case TUND_SIGNAL_MAPPING_FAILED:
		return "failed without TURN";
	default:
		return "unknown";
	}
}

uint8_t tund_mapping_get(void)
{
	return st.running || !st.mapping ? TUND_SIGNAL_MAPPING_UNKNOWN : st.mapping;
}

bool tund_mapping_pending(void)
{
	return st.running && st.wait_timer;
}

const char *tund_mapping_server(void)
{
	return st.server;
}

/* The STUN server a check asks: cfg's STUN server, else its first TURN
 * server over UDP (a TURN server answers Binding requests). */
static bool pick_server(const struct tund_ice_server_config *cfg, struct tund_stun_server *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg->stun_host[0]) {
		g_strlcpy(out->host, cfg->stun_host, sizeof(out->host));
		out->port = cfg->stun_port ? cfg->stun_port : 3478;
		return true;
	}
	for (unsigned i = 0; i < cfg->n_turn; i++) {
		if (cfg->turn[i].tcp || !cfg->turn[i].host[0])
			continue;
		g_strlcpy(out->host, cfg->turn[i].host, sizeof(out->host));
		out->port = cfg->turn[i].port ? cfg->turn[i].port : 3478;
		return true;
	}
	return false;
}

/* Whether "IP:PORT" or "[IP6]:PORT" names an address of one of our interfaces. */
static bool is_local(const char *public)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(public, ':');
	struct ifaddrs *ifs, *i;
	bool found = false;
	size_t n;

	if (!colon || (n = (size_t)(colon - public)) >= sizeof(host))
		return false;
	memcpy(host, public, n);
	host[n] = '\0';
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (getifaddrs(&ifs) != 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		char ip[INET6_ADDRSTRLEN];
		const void *a;

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		else
			continue;
		found = inet_ntop(i->ifa_addr->sa_family, a, ip, sizeof(ip)) && !strcmp(ip, host);
	}
	freeifaddrs(ifs);
	return found;
}

static uint8_t classify(JsonNode *result)
{
	JsonObject *root = json_node_get_object(result), *nat;
	JsonArray *pub;
	const char *m;

	if (!root || !(nat = json_object_get_object_member(root, TUND_KEY_NAT)))
		return TUND_SIGNAL_MAPPING_UNKNOWN;
	pub = json_object_get_array_member(nat, TUND_KEY_PUBLIC);
	if (pub && json_array_get_length(pub) >= 1 &&
	    is_local(json_array_get_string_element(pub, 0)))
		return TUND_SIGNAL_MAPPING_NONE;
	m = json_object_get_string_member_with_default(nat, TUND_KEY_MAPPING, "");
	if (!strcmp(m, "endpoint-independent"))
		return TUND_SIGNAL_MAPPING_EIM;
	if (!strcmp(m, "endpoint-dependent"))
		return TUND_SIGNAL_MAPPING_DEPENDENT;
	return TUND_SIGNAL_MAPPING_UNKNOWN;
}

static void wake_waiters(void)
{
	GArray *w = st.waiters;

	if (st.wait_timer)
		tund_loop_source_remove(st.wait_timer);
	st.wait_timer = 0;
	st.waiters = NULL;
	if (!w)
		return;
	/* A woken path may wait again (a new check): it goes on a new list. */
	for (guint i = 0; i < w->len; i++) {
		struct waiter *x = &g_array_index(w, struct waiter, i);

		if (x->fn)
			x->fn(x->ctx);
	}
	g_array_free(w, TRUE);
}

static gboolean wait_over(gpointer unused)
{
	(void)unused;
	st.wait_timer = 0;
	wake_waiters();
	return G_SOURCE_REMOVE;
}

static void run_check(void);

static void on_result(void *ctx, JsonNode *result)
{
	(void)ctx;
	st.running = false;
	if (st.again) {
		/* The underlay changed while it ran: its answer may be stale. */
		json_node_unref(result);
		run_check();
		return;
	}
	st.mapping = classify(result);
	st.checked = true;
	json_node_unref(result);
	log_info("NAT mapping: %s (STUN %s)", tund_mapping_name(st.mapping), st.server);
	wake_waiters();
}

static void run_check(void)
{
	struct tund_netcheck_config nc = { .stun = &st.next, .timeout_ms = TUND_MAPPING_STEP_MS };

	st.again = false;
	st.running = true;
	st.started = g_get_monotonic_time();
	snprintf(st.server, sizeof(st.server), "%s:%u", st.next.host, st.next.port);
	if (!st.wait_timer)
		st.wait_timer = tund_loop_timeout_add(TUND_MAPPING_WAIT_MS, wait_over, NULL);
	tund_netcheck_run(&nc, on_result, NULL);
}

void tund_mapping_ensure(const struct tund_ice_server_config *cfg)
{
	if (st.running || st.checked)
		return;
	if (!pick_server(cfg, &st.next))
		return; /* no server: stays unknown (no TURN to skip either) */
	run_check();
}

void tund_mapping_invalidate(const struct tund_ice_server_config *cfg)
{
	struct tund_stun_server s;

	if (!pick_server(cfg, &s) && !st.next.host[0])
		return;
	if (s.host[0])
		st.next = s;
	st.checked = false;
	st.mapping = TUND_SIGNAL_MAPPING_UNKNOWN;
	/* Every path calls this for one change: a check started by this very
	 * change (within 100 ms) is not run again. */
	if (st.running && g_get_monotonic_time() - st.started > 100000)
		st.again = true;
	else if (!st.running)
		run_check();
}

void tund_mapping_wait(void (*fn)(void *ctx), void *ctx)
{
	struct waiter w = { fn, ctx };

	if (!st.waiters)
		st.waiters = g_array_new(FALSE, FALSE, sizeof(struct waiter));
	g_array_append_val(st.waiters, w);
}

void tund_mapping_unwait(void *ctx)
{
	if (!st.waiters)
		return;
	for (guint i = 0; i < st.waiters->len; i++) {
		struct waiter *x = &g_array_index(st.waiters, struct waiter, i);

		if (x->ctx == ctx)
			x->fn = NULL;
	}
}

void tund_mapping_reset(void)
{
	if (st.wait_timer)
		tund_loop_source_remove(st.wait_timer);
	if (st.waiters)
		g_array_free(st.waiters, TRUE);
	memset(&st, 0, sizeof(st));
}
