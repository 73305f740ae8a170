// SPDX-License-Identifier: MIT
/* One ICE path to one peer on libnice 0.1.21 (facts: shared/notes/libnice.md).
 *
 * Choices, and why:
 * - One NiceAgent per peer, one stream, one component, on the daemon's
 *   GMainContext (agent and attach_recv): the role and check pacing are per
 *   agent, and all signals then arrive on the one thread that drives ctx.
 * - RFC5245 compatibility, ICE_TRICKLE (FAILED only after the peer's
 *   end-of-candidates), CONSENT_FRESHNESS (RFC 7675: a dead path is noticed
 *   within 10 s and sends then fail with PERMISSION_DENIED).
 * - Aggressive nomination (libnice's default, no REGULAR_NOMINATION flag):
 *   the first pair that answers is used at once. Measured in the lab: 110-230
 *   ms to CONNECTED in every NAT case, against ~2 s with regular nomination,
 *   which waits for better but unreachable pairs to time out. The cost is that
 *   the selected pair can change once more after CONNECTED (pair_selected
 *   fires again); a datagram VPN does not mind.
 * - ice-tcp and upnp off: tund carries datagrams, and UPnP delays
 *   gathering-done.
 * - TURN over UDP and TCP via nice_agent_set_relay_info. In RFC5245 mode
 *   libnice's TURN_TLS is plain TCP, so it is not offered; relayed candidates
 *   are UDP towards the peer either way.
 * - No STUN server when TURN is configured: the TURN allocation already yields
 *   the srflx candidate, and STUN next to TURN on the same socket costs ~2 s of
 *   gathering in libnice 0.1.21. STUN is used only without TURN.
 * - Local addresses are enumerated here and added one by one, so libnice never
 *   enumerates by itself and never gathers on tund's own TUN. */
#include "tund/connect/ice.h"

#include <agent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tund/connect/portmap.h"
#include "tund/daemon/log.h"

#define COMPONENT 1
#define MAX_LOCAL_ADDRS 16
#define DEFAULT_PORT 3478
/* IFF_LOWER_UP (carrier) is in <linux/if.h>, which clashes with <net/if.h>. */
#define TUND_IFF_LOWER_UP 0x10000

struct tund_ice {
	GMainContext *ctx;
	NiceAgent *agent;
	guint stream;
	struct tund_ice_callbacks cb;
	void *cb_ctx;
	bool controlling;

	enum tund_ice_state state;
	bool gather_started;
	bool gather_done;       /* local candidate-gathering-done seen */
	bool session_connected; /* reached CONNECTED since the last (re)start */
	bool remote_creds;      /* remote credentials set in this session */
	bool remote_eoc;        /* peer's end-of-candidates, held until creds */
	bool restarting;        /* inside nice_agent_restart_stream */
	unsigned n_remote;      /* remote candidates accepted this session */
	GSList *held;           /* NiceCandidate* waiting for the credentials */
	guint reannounce_id;    /* idle source re-sending local candidates */

	/* Order of the relays given to libnice: the relay candidate's priority
	 * carries that index (libnice's turn->preference, bits 6-8 of the
	 * local preference), which tells UDP from TCP for the status line. */
	bool relay_tcp[NICE_CANDIDATE_MAX_TURN_SERVERS];
	/* Each relay's server when given as an IP address (family 0: a name,
	 * resolved by libnice only), for tund_ice_direct_socket. */
	struct sockaddr_storage relay_addr[NICE_CANDIDATE_MAX_TURN_SERVERS];
	unsigned n_relays;
	unsigned allocations; /* relay candidates gathered and not released */
	bool relays_released; /* tund_ice_release_relays ran */
	guint release_id;     /* idle source releasing a late allocation */

	/* Reentrancy: callbacks may call tund_ice_free. */
	unsigned depth;
	bool dead;
};

static atomic_uint pending_closes;
/* TURN allocations every session of this process holds (main thread). */
static unsigned allocations_held;

const char *tund_ice_state_name(enum tund_ice_state st)
{
	switch (st) {
	case TUND_ICE_NEW: return "new";
	case TUND_ICE_GATHERING: return "gathering";
	case TUND_ICE_CONNECTING: return "connecting";
	case TUND_ICE_CONNECTED: return "connected";
	case TUND_ICE_FAILED: return "failed";
	case TUND_ICE_CLOSED: return "closed";
	}
	return "?";
}

unsigned tund_ice_pending_closes(void)
{
	return atomic_load(&pending_closes);
}

unsigned tund_ice_allocations(void)
{
	return allocations_held;
}

/* This session's allocations are no longer held (released or closing). */
static void allocations_gone(struct tund_ice *ice)
{
	allocations_held -= ice->allocations;
	ice->allocations = 0;
}

static void enter(struct tund_ice *ice)
{
	ice->depth++;
}

/* Every entry point that can run a callback is bracketed by enter/leave; a
 * tund_ice_free from inside only marks the session dead, and the outermost
 * leave releases the memory. Nothing may touch ice after leave. */
static void leave(struct tund_ice *ice)
{
	if (--ice->depth == 0 && ice->dead)
		g_free(ice);
}

/* Call only between enter and leave. */
static void set_state(struct tund_ice *ice, enum tund_ice_state st, const char *reason)
{
	if (ice->state == st || ice->dead)
		return;
	log_debug("ice %p: %s -> %s%s%s", (void *)ice, tund_ice_state_name(ice->state),
		  tund_ice_state_name(st), reason ? ": " : "", reason ? reason : "");
	ice->state = st;
	if (ice->cb.state_changed)
		ice->cb.state_changed(ice->cb_ctx, st, reason);
}

/* --- local addresses ---------------------------------------------------- */

static bool usable_addr(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;

		return a[0] != 127 && a[0] != 0 && !(a[0] == 169 && a[1] == 254) &&
		       a[0] < 224;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_LINKLOCAL(a) &&
		       !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a) &&
		       !IN6_IS_ADDR_V4MAPPED(a);
	}
	return false;
}

/* An interface ICE gathers on: up, with carrier, not loopback, not ours. */
static bool usable_iface(const struct ifaddrs *ifa, const char *exclude_ifname, size_t len)
{
	/* Carrier, not operstate: RUNNING lags LOWER_UP by the kernel's
	 * linkwatch delay (up to a second after the link comes up). */
	if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP) ||
	    !(ifa->ifa_flags & (IFF_RUNNING | TUND_IFF_LOWER_UP)) ||
	    (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	return !exclude_ifname || !exclude_ifname[0] ||
	       strncmp(ifa->ifa_name, exclude_ifname, len) != 0;
}

bool tund_ice_global_ipv6(const struct in6_addr *a)
{
	/* 2000::/3 is all the global unicast space IANA hands out; ULAs
	 * (fc00::/7) and the rest reach no peer across the internet. */
	return (a->s6_addr[0] & 0xe0) == 0x20;
}

int tund_ice_list_global_ipv6(const char *exclude_ifname, char (*out)[INET6_ADDRSTRLEN],
			      size_t max)
{
	struct ifaddrs *ifa_list, *ifa;
	size_t n = 0;

	if (getifaddrs(&ifa_list) != 0)
		return -errno;
	for (ifa = ifa_list; ifa && n < max; ifa = ifa->ifa_next) {
		const struct sockaddr_in6 *s6 = (const void *)ifa->ifa_addr;

		if (!usable_iface(ifa, exclude_ifname, IF_NAMESIZE) ||
		    ifa->ifa_addr->sa_family != AF_INET6 || !usable_addr(ifa->ifa_addr) ||
		    !tund_ice_global_ipv6(&s6->sin6_addr))
			continue;
		inet_ntop(AF_INET6, &s6->sin6_addr, out[n++], INET6_ADDRSTRLEN);
	}
	freeifaddrs(ifa_list);
	return (int)n;
}

/* Adds every usable underlay address; returns how many, or -errno. */
static int add_local_addresses(struct tund_ice *ice, const struct tund_ice_server_config *cfg)
{
	struct ifaddrs *ifa_list, *ifa;
	NiceAddress addr;
	int n = 0;

	if (cfg->local_addrs[0]) {
		for (unsigned i = 0; i < G_N_ELEMENTS(cfg->local_addrs) && cfg->local_addrs[i]; i++) {
			if (!nice_address_set_from_string(&addr, cfg->local_addrs[i]))
				return -EINVAL;
			if (nice_agent_add_local_address(ice->agent, &addr))
				n++;
		}
		return n;
	}
	if (getifaddrs(&ifa_list) != 0)
		return -errno;
	for (ifa = ifa_list; ifa && n < MAX_LOCAL_ADDRS; ifa = ifa->ifa_next) {
		char text[INET6_ADDRSTRLEN];

		if (!usable_iface(ifa, cfg->exclude_ifname, sizeof(cfg->exclude_ifname)) ||
		    !usable_addr(ifa->ifa_addr))
			continue;
		nice_address_init(&addr);
		nice_address_set_from_sockaddr(&addr, ifa->ifa_addr);
		nice_address_set_port(&addr, 0);
		nice_address_to_string(&addr, text);
		if (nice_agent_add_local_address(ice->agent, &addr)) {
			log_debug("ice %p: local address %s (%s)", (void *)ice, text, ifa->ifa_name);
			n++;
		}
	}
	freeifaddrs(ifa_list);
	return n;
}

/* --- pairs ---------------------------------------------------------------- */

static const char *type_name(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_HOST: return "host";
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return "prflx";
	case NICE_CANDIDATE_TYPE_RELAYED: return "relay";
	}
	return "?";
}

static void format_addr(const NiceAddress *a, char *out, size_t len)
{
	char ip[NICE_ADDRESS_STRING_LEN];

	nice_address_to_string(a, ip);
	if (nice_address_ip_version(a) == 6)
		snprintf(out, len, "[%s]:%u", ip, nice_address_get_port(a));
	else
		snprintf(out, len, "%s:%u", ip, nice_address_get_port(a));
}

G_STATIC_ASSERT(sizeof(((struct tund_ice_pair *)0)->local_base) >= NICE_ADDRESS_STRING_LEN);

/* A local relay candidate reached over TURN-TCP: its priority's local
 * preference names the relay (the order given to libnice). */
static bool relay_over_tcp(const struct tund_ice *ice, const NiceCandidate *l)
{
	unsigned idx = (l->priority >> 14) & 7; /* (local pref >> 6) & 7 */

	return idx < ice->n_relays && ice->relay_tcp[idx];
}

static void fill_pair(struct tund_ice *ice, const NiceCandidate *l, const NiceCandidate *r,
		      struct tund_ice_pair *out)
{
	memset(out, 0, sizeof(*out));
	out->relayed = l->type == NICE_CANDIDATE_TYPE_RELAYED ||
		       r->type == NICE_CANDIDATE_TYPE_RELAYED;
	snprintf(out->local_type, sizeof(out->local_type), "%s", type_name(l->type));
	snprintf(out->remote_type, sizeof(out->remote_type), "%s", type_name(r->type));
	/* A tund peer's router port mapping (tund/connect/portmap.h). */
	if (r->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE &&
	    strncmp(r->foundation, TUND_PORTMAP_FOUNDATION, strlen(TUND_PORTMAP_FOUNDATION)) == 0)
		snprintf(out->remote_type, sizeof(out->remote_type), "mapped");
	format_addr(&l->addr, out->local_addr, sizeof(out->local_addr));
	format_addr(&r->addr, out->remote_addr, sizeof(out->remote_addr));
	nice_address_to_string(nice_address_is_valid(&l->base_addr) ? &l->base_addr : &l->addr,
			       out->local_base);
	snprintf(out->transport, sizeof(out->transport), "udp");
	if (l->type == NICE_CANDIDATE_TYPE_RELAYED && relay_over_tcp(ice, l))
		snprintf(out->transport, sizeof(out->transport), "tcp");
}

/* --- libnice signals ---------------------------------------------------- */

static gboolean release_late(gpointer data)
{
	struct tund_ice *ice = data;

	ice->release_id = 0;
	tund_ice_release_relays(ice);
	return G_SOURCE_REMOVE;
}

/* A relay candidate is one allocation on the TURN server. One that comes
 * after the session gave its allocations back (its allocation was still
 * under way) goes back too, outside libnice's signal. */
static void count_allocation(struct tund_ice *ice)
{
	GSource *src;

	ice->allocations++;
	allocations_held++;
	if (!ice->relays_released || ice->release_id)
		return;
	src = g_idle_source_new();
	g_source_set_callback(src, release_late, ice, NULL);
	ice->release_id = g_source_attach(src, ice->ctx);
	g_source_unref(src);
}

static void on_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
	struct tund_ice *ice = data;
	gchar *line;

	if (cand->stream_id == ice->stream && cand->type == NICE_CANDIDATE_TYPE_RELAYED)
		count_allocation(ice);
	if (cand->stream_id != ice->stream || !ice->cb.local_candidate)
		return;
	line = nice_agent_generate_local_candidate_sdp(agent, cand);
	if (!line)
		return;
	log_debug("ice %p: local %s", (void *)ice, line);
	enter(ice);
	if (!ice->dead)
		ice->cb.local_candidate(ice->cb_ctx, line);
	leave(ice);
	g_free(line);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct tund_ice *ice = data;

	(void)agent;
	if (stream != ice->stream)
		return;
	ice->gather_done = true;
	enter(ice);
	if (!ice->dead && ice->cb.gathering_done)
		ice->cb.gathering_done(ice->cb_ctx);
	leave(ice);
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint st, gpointer data)
{
	struct tund_ice *ice = data;

	(void)agent;
	if (stream != ice->stream || component != COMPONENT)
		return;
	log_debug("ice %p: libnice %s", (void *)ice, nice_component_state_to_string(st));
	enter(ice);
	switch (st) {
	case NICE_COMPONENT_STATE_GATHERING:
		/* Also what a restart reports: local candidates are kept then. */
		set_state(ice, ice->gather_done ? TUND_ICE_CONNECTING : TUND_ICE_GATHERING,
			  ice->restarting ? "restart" : NULL);
		break;
	case NICE_COMPONENT_STATE_CONNECTING:
		set_state(ice, TUND_ICE_CONNECTING, NULL);
		break;
	case NICE_COMPONENT_STATE_CONNECTED:
	case NICE_COMPONENT_STATE_READY:
		ice->session_connected = true;
		set_state(ice, TUND_ICE_CONNECTED, NULL);
		break;
	case NICE_COMPONENT_STATE_FAILED:
		set_state(ice, TUND_ICE_FAILED,
			  ice->session_connected ? "consent lost" : "no candidate pair answered");
		break;
	default:
		break;
	}
	leave(ice);
}

static void on_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *l,
		    NiceCandidate *r, gpointer data)
{
	struct tund_ice *ice = data;
	struct tund_ice_pair pair;

	(void)agent;
	if (stream != ice->stream || component != COMPONENT)
		return;
	fill_pair(ice, l, r, &pair);
	log_info("ice %p: pair %s %s -> %s %s (%s%s)", (void *)ice, pair.local_type,
		 pair.local_addr, pair.remote_type, pair.remote_addr, pair.transport,
		 pair.relayed ? ", relayed" : "");
	enter(ice);
	if (!ice->dead && ice->cb.pair_selected)
		ice->cb.pair_selected(ice->cb_ctx, &pair);
	leave(ice);
}

static void on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
		    gpointer data)
{
	struct tund_ice *ice = data;

	(void)agent;
	(void)stream;
	(void)component;
	if (ice->dead || !ice->cb.receive)
		return;
	enter(ice);
	ice->cb.receive(ice->cb_ctx, (uint8_t *)buf, len);
	leave(ice);
}

/* --- lifecycle ---------------------------------------------------------- */

/* Fills why and passes ret on, so a failure is one line. */
__attribute__((format(printf, 4, 5)))
static int set_err(char *why, size_t why_len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* A TURN server given as an IP address, as a socket address; else family 0. */
static void relay_literal(const char *host, unsigned port, struct sockaddr_storage *out)
{
	NiceAddress a;

	memset(out, 0, sizeof(*out));
	nice_address_init(&a);
	if (!nice_address_set_from_string(&a, host))
		return;
	nice_address_set_port(&a, port);
	nice_address_copy_to_sockaddr(&a, (struct sockaddr *)out);
}

/* The TURN servers, each as a relay of the one component. */
static int add_relays(struct tund_ice *ice, const struct tund_ice_server_config *cfg,
		      char *why, size_t why_len)
{
	for (unsigned i = 0; i < cfg->n_turn; i++) {
		const char *host = cfg->turn[i].host;

		if (!host[0] || !nice_agent_set_relay_info(ice->agent, ice->stream, COMPONENT, host,
							   cfg->turn[i].port ? cfg->turn[i].port : DEFAULT_PORT,
							   cfg->turn[i].user, cfg->turn[i].pass,
							   cfg->turn[i].tcp ? NICE_RELAY_TYPE_TURN_TCP
									    : NICE_RELAY_TYPE_TURN_UDP)) {
			return set_err(why, why_len, -EINVAL, "bad TURN server \"%s\"", host);
		}
		relay_literal(host, cfg->turn[i].port ? cfg->turn[i].port : DEFAULT_PORT,
			      &ice->relay_addr[ice->n_relays]);
		ice->relay_tcp[ice->n_relays++] = cfg->turn[i].tcp;
	}
	return 0;
}

int tund_ice_new(GMainContext *ctx, bool controlling, const struct tund_ice_server_config *cfg,
		 const struct tund_ice_callbacks *cb, void *cb_ctx, struct tund_ice **out,
		 char *why, size_t why_len)
{
	struct tund_ice *ice;
	int ret;

	*out = NULL;
	if (!ctx || !cfg || cfg->n_turn > TUND_ICE_MAX_TURN ||
	    (cfg->port_min || cfg->port_max ? cfg->port_min > cfg->port_max || !cfg->port_min : false))
		return set_err(why, why_len, -EINVAL, "%s", "invalid ICE configuration");
	ice = g_new0(struct tund_ice, 1);
	ice->ctx = ctx;
	ice->controlling = controlling;
	if (cb)
		ice->cb = *cb;
	ice->cb_ctx = cb_ctx;
	ice->state = TUND_ICE_NEW;
	/* Aggressive nomination: no NICE_AGENT_OPTION_REGULAR_NOMINATION. */
	ice->agent = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245,
					 NICE_AGENT_OPTION_ICE_TRICKLE |
					 NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	if (!ice->agent) {
		g_free(ice);
		return set_err(why, why_len, -ENOMEM, "%s", "cannot create the ICE agent");
	}
	g_object_set(ice->agent, "controlling-mode", (gboolean)controlling, "ice-tcp", FALSE,
		     "upnp", FALSE, NULL);
	if (cfg->n_turn == 0 && cfg->stun_host[0])
		g_object_set(ice->agent, "stun-server", cfg->stun_host, "stun-server-port",
			     (guint)(cfg->stun_port ? cfg->stun_port : DEFAULT_PORT), NULL);
	nice_agent_set_software(ice->agent, "tund");

	ice->stream = nice_agent_add_stream(ice->agent, 1);
	if (!ice->stream) {
		ret = set_err(why, why_len, -EIO, "%s", "cannot add the ICE stream");
		goto fail;
	}
	nice_agent_set_stream_name(ice->agent, ice->stream, "application");
	if (cfg->port_min)
		nice_agent_set_port_range(ice->agent, ice->stream, COMPONENT, cfg->port_min,
					  cfg->port_max);
	ret = add_relays(ice, cfg, why, why_len);
	if (ret)
		goto fail;

	int n = add_local_addresses(ice, cfg);
	if (n < 0) {
		ret = set_err(why, why_len, n, "cannot list local addresses: %s", g_strerror(-n));
		goto fail;
	}
	if (n == 0) {
		/* Without any, libnice would gather on every interface (and tund's TUN). */
		ret = set_err(why, why_len, -EADDRNOTAVAIL, "%s", "no usable local address");
		goto fail;
	}

	g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_candidate), ice);
	g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ice);
	g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_state), ice);
	g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_pair), ice);
	if (!nice_agent_attach_recv(ice->agent, ice->stream, COMPONENT, ctx, on_recv, ice)) {
		ret = set_err(why, why_len, -EIO, "%s", "cannot attach the receive callback");
		goto fail;
	}
	*out = ice;
	return 0;
fail:
	g_signal_handlers_disconnect_by_data(ice->agent, ice);
	g_object_unref(ice->agent);
	g_free(ice);
	return ret;
}

void tund_ice_local_credentials(struct tund_ice *ice, char ufrag[257], char pwd[257])
{
	gchar *u = NULL, *p = NULL;

	ufrag[0] = pwd[0] = '\0';
	if (nice_agent_get_local_credentials(ice->agent, ice->stream, &u, &p)) {
		g_strlcpy(ufrag, u, 257);
		g_strlcpy(pwd, p, 257);
	}
	g_free(u);
	g_free(p);
}

int tund_ice_gather(struct tund_ice *ice)
{
	int ret = 0;

	if (ice->gather_started)
		return -EALREADY;
	ice->gather_started = true;
	enter(ice);
	set_state(ice, TUND_ICE_GATHERING, NULL);
	/* Host candidates are emitted before this returns. */
	if (!ice->dead && !nice_agent_gather_candidates(ice->agent, ice->stream)) {
		set_state(ice, TUND_ICE_FAILED, "gathering failed (no free port in range?)");
		ret = -EIO;
	}
	leave(ice);
	return ret;
}

/* ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8445 15.4). */
static bool ice_chars(const char *s, size_t min, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= max || !(g_ascii_isalnum(c) || c == '+' || c == '/'))
			return false;
	}
	return n >= min;
}

static int apply_candidates(struct tund_ice *ice, GSList *list)
{
	int n = nice_agent_set_remote_candidates(ice->agent, ice->stream, COMPONENT, list);

	return n < 0 ? -EIO : 0;
}

int tund_ice_set_remote_credentials(struct tund_ice *ice, const char *ufrag, const char *pwd)
{
	GSList *held;
	int ret = 0;

	if (!ufrag || !pwd || !ice_chars(ufrag, 4, 256) || !ice_chars(pwd, 22, 256))
		return -EINVAL;
	if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd))
		return -EIO;
	ice->remote_creds = true;
	held = g_slist_reverse(ice->held);
	ice->held = NULL;
	enter(ice);
	if (held)
		ret = apply_candidates(ice, held);
	g_slist_free_full(held, (GDestroyNotify)nice_candidate_free);
	if (ice->remote_eoc && !ice->dead) {
		ice->remote_eoc = false;
		nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
	}
	leave(ice);
	return ret;
}

static bool unicast(const NiceAddress *a)
{
	struct sockaddr_storage ss;

	nice_address_copy_to_sockaddr(a, (struct sockaddr *)&ss);
	if (ss.ss_family == AF_INET) {
		const uint8_t *b = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;

		return b[0] != 0 && b[0] < 224;
	}
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *b = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		return !IN6_IS_ADDR_UNSPECIFIED(b) && !IN6_IS_ADDR_MULTICAST(b);
	}
	return false;
}

int tund_ice_add_remote_candidate(struct tund_ice *ice, const char *line)
{
	char buf[TUND_ICE_MAX_LINE + 3];
	NiceCandidate *c;
	size_t len;
	int ret;

	if (!line)
		return -EINVAL;
	len = strnlen(line, TUND_ICE_MAX_LINE + 1);
	if (len > TUND_ICE_MAX_LINE)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			return -EINVAL;
	if (strncmp(line, "a=candidate:", 12) == 0)
		snprintf(buf, sizeof(buf), "%s", line);
	else if (strncmp(line, "candidate:", 10) == 0)
		snprintf(buf, sizeof(buf), "a=%s", line);
	else
		return -EINVAL;
	if (ice->n_remote >= TUND_ICE_MAX_REMOTE_CANDIDATES)
		return -ENOSPC;
	c = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, buf);
	if (!c)
		return -EINVAL;
	if (c->component_id != COMPONENT || c->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
	    !nice_address_is_valid(&c->addr) || nice_address_get_port(&c->addr) == 0 ||
	    !unicast(&c->addr)) {
		nice_candidate_free(c);
		return -EINVAL;
	}
	ice->n_remote++;
	if (!ice->remote_creds) {
		ice->held = g_slist_prepend(ice->held, c);
		return 0;
	}
	GSList one = { .data = c, .next = NULL };
	enter(ice);
	ret = apply_candidates(ice, &one);
	leave(ice);
	nice_candidate_free(c);
	return ret;
}

void tund_ice_remote_gathering_done(struct tund_ice *ice)
{
	if (!ice->remote_creds) {
		ice->remote_eoc = true;
		return;
	}
	enter(ice);
	nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
	leave(ice);
}

int tund_ice_send(struct tund_ice *ice, const uint8_t *buf, size_t len)
{
	GOutputVector vec = { .buffer = buf, .size = len };
	NiceOutputMessage msg = { .buffers = &vec, .n_buffers = 1 };
	GError *e = NULL;
	gint n;
	int ret;

	if (len == 0 || len > 65535)
		return -EMSGSIZE;
	n = nice_agent_send_messages_nonblocking(ice->agent, ice->stream, COMPONENT, &msg, 1,
						 NULL, &e);
	if (n == 1)
		return 0;
	if (n == 0 || !e)
		return -EAGAIN;
	if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ||
	    g_error_matches(e, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
		ret = -EAGAIN;  /* no selected pair (yet) */
	else if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
		ret = -EACCES;  /* consent lost */
	else
		ret = -EIO;
	g_error_free(e);
	return ret;
}

/* After a restart the peer forgot our candidates; libnice does not emit them
 * again, so announce the kept ones, after the caller sent the credentials. */
static gboolean reannounce(gpointer data)
{
	struct tund_ice *ice = data;
	GSList *list, *l;

	ice->reannounce_id = 0;
	list = nice_agent_get_local_candidates(ice->agent, ice->stream, COMPONENT);
	enter(ice);
	for (l = list; l && !ice->dead; l = l->next) {
		gchar *line = nice_agent_generate_local_candidate_sdp(ice->agent, l->data);

		if (line && ice->cb.local_candidate)
			ice->cb.local_candidate(ice->cb_ctx, line);
		g_free(line);
	}
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	if (!ice->dead && ice->gather_done && ice->cb.gathering_done)
		ice->cb.gathering_done(ice->cb_ctx);
	leave(ice);
	return G_SOURCE_REMOVE;
}

int tund_ice_restart(struct tund_ice *ice)
{
	GSource *src;
	int ret = 0;

	if (!ice->gather_started)
		return -EAGAIN;
	g_slist_free_full(ice->held, (GDestroyNotify)nice_candidate_free);
	ice->held = NULL;
	ice->n_remote = 0;
	ice->remote_creds = false;
	ice->remote_eoc = false;
	ice->session_connected = false;
	enter(ice);
	/* Emits component-state-changed(GATHERING) synchronously. */
	ice->restarting = true;
	if (!nice_agent_restart_stream(ice->agent, ice->stream)) {
		ice->restarting = false;
		ret = -EIO;
		goto out;
	}
	ice->restarting = false;
	set_state(ice, ice->gather_done ? TUND_ICE_CONNECTING : TUND_ICE_GATHERING, "restart");
	if (!ice->dead && !ice->reannounce_id) {
		src = g_idle_source_new();
		g_source_set_callback(src, reannounce, ice, NULL);
		ice->reannounce_id = g_source_attach(src, ice->ctx);
		g_source_unref(src);
	}
out:
	leave(ice);
	return ret;
}

bool tund_ice_get_pair(struct tund_ice *ice, struct tund_ice_pair *out)
{
	NiceCandidate *l, *r;

	if (!nice_agent_get_selected_pair(ice->agent, ice->stream, COMPONENT, &l, &r))
		return false;
	fill_pair(ice, l, r, out);
	return true;
}

/* The server of our TURN-over-UDP allocation whose local base is base, if
 * tund knows its address: *turn_len, or 0. */
static void own_turn_at(struct tund_ice *ice, const NiceAddress *base, struct sockaddr_storage *turn,
			socklen_t *turn_len)
{
	GSList *list = nice_agent_get_local_candidates(ice->agent, ice->stream, COMPONENT);

	*turn_len = 0;
	for (GSList *i = list; i && !*turn_len; i = i->next) {
		const NiceCandidate *c = i->data;
		unsigned idx = (c->priority >> 14) & 7;

		if (c->type != NICE_CANDIDATE_TYPE_RELAYED || c->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
		    idx >= ice->n_relays || ice->relay_tcp[idx] || !ice->relay_addr[idx].ss_family ||
		    !nice_address_equal(&c->base_addr, base))
			continue;
		*turn = ice->relay_addr[idx];
		*turn_len = turn->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
							   sizeof(struct sockaddr_in);
	}
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

int tund_ice_direct_socket(struct tund_ice *ice, struct sockaddr_storage *remote,
			   socklen_t *remote_len, struct sockaddr_storage *turn,
			   socklen_t *turn_len)
{
	NiceCandidate *l, *r;
	GSocket *sock;
	int fd;

	*turn_len = 0;
	if (ice->dead ||
	    !nice_agent_get_selected_pair(ice->agent, ice->stream, COMPONENT, &l, &r))
		return -ENOENT;
	/* A local relay wraps every datagram for the TURN server; a remote
	 * relay is just an address to send plain UDP to. */
	if (l->type == NICE_CANDIDATE_TYPE_RELAYED || l->transport != NICE_CANDIDATE_TRANSPORT_UDP)
		return -ENOENT;
	sock = nice_agent_get_selected_socket(ice->agent, ice->stream, COMPONENT);
	if (!sock)
		return -ENOENT;
	fd = g_socket_get_fd(sock);
	g_object_unref(sock); /* the agent keeps its own reference */
	memset(remote, 0, sizeof(*remote));
	nice_address_copy_to_sockaddr(&r->addr, (struct sockaddr *)remote);
	*remote_len = remote->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in);
	own_turn_at(ice, nice_address_is_valid(&l->base_addr) ? &l->base_addr : &l->addr, turn,
		    turn_len);
	if (*turn_len && turn->ss_family != remote->ss_family)
		*turn_len = 0;
	return fd;
}

static socklen_t sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static bool same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* The agent's UDP socket bound to base (libnice does not hand out a relay's
 * socket: its base is one of the host candidates' sockets). */
static int udp_socket_at(struct tund_ice *ice, const struct sockaddr_storage *base)
{
	GPtrArray *socks = nice_agent_get_sockets(ice->agent, ice->stream, COMPONENT);
	int fd = -ENOENT;

	for (guint i = 0; socks && i < socks->len && fd < 0; i++) {
		GSocket *sock = g_ptr_array_index(socks, i);
		struct sockaddr_storage local;
		socklen_t len = sizeof(local);
		int f = g_socket_get_fd(sock);

		memset(&local, 0, sizeof(local));
		if (g_socket_get_socket_type(sock) == G_SOCKET_TYPE_DATAGRAM &&
		    getsockname(f, (struct sockaddr *)&local, &len) == 0 &&
		    same_sockaddr(&local, base))
			fd = f;
	}
	if (socks)
		g_ptr_array_unref(socks); /* the agent keeps its own references */
	return fd;
}

int tund_ice_relay_socket(struct tund_ice *ice, struct sockaddr_storage *server,
			  socklen_t *server_len)
{
	NiceCandidate *l, *r;
	NiceAddress srv;
	struct sockaddr_storage base;

	if (ice->dead ||
	    !nice_agent_get_selected_pair(ice->agent, ice->stream, COMPONENT, &l, &r))
		return -ENOENT;
	/* TURN-TCP carries ChannelData in the TCP stream: it stays on libnice. */
	if (l->type != NICE_CANDIDATE_TYPE_RELAYED || l->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
	    relay_over_tcp(ice, l) || !nice_address_is_valid(&l->base_addr))
		return -ENOENT;
	/* On the selected pair's own pointer only: copies lose the TURN server
	 * in libnice 0.1.21 (shared/notes/libnice.md). */
	nice_candidate_relay_address(l, &srv);
	memset(server, 0, sizeof(*server));
	memset(&base, 0, sizeof(base));
	nice_address_copy_to_sockaddr(&srv, (struct sockaddr *)server);
	nice_address_copy_to_sockaddr(&l->base_addr, (struct sockaddr *)&base);
	if (server->ss_family != base.ss_family)
		return -ENOENT;
	*server_len = sockaddr_len(server);
	return udp_socket_at(ice, &base);
}

int tund_ice_host_candidate(struct tund_ice *ice, char ip[46], uint16_t *port)
{
	GSList *list, *l;
	int ret = -ENOENT;

	if (ice->dead || !ice->gather_started)
		return -ENOENT;
	list = nice_agent_get_local_candidates(ice->agent, ice->stream, COMPONENT);
	for (l = list; l && ret; l = l->next) {
		const NiceCandidate *c = l->data;

		if (c->type != NICE_CANDIDATE_TYPE_HOST ||
		    c->transport != NICE_CANDIDATE_TRANSPORT_UDP || nice_address_ip_version(&c->addr) != 4)
			continue;
		nice_address_to_string(&c->addr, ip);
		*port = (uint16_t)nice_address_get_port(&c->addr);
		ret = 0;
	}
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	return ret;
}

int tund_ice_first_hop(struct tund_ice *ice, struct sockaddr_storage *src,
		       struct sockaddr_storage *dst)
{
	NiceCandidate *l, *r;
	NiceAddress server;

	if (ice->dead ||
	    !nice_agent_get_selected_pair(ice->agent, ice->stream, COMPONENT, &l, &r))
		return -ENOENT;
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	nice_address_copy_to_sockaddr(nice_address_is_valid(&l->base_addr) ? &l->base_addr :
									      &l->addr,
				      (struct sockaddr *)src);
	/* On the selected pair's own pointer only: copies lose the TURN server
	 * in libnice 0.1.21 (shared/notes/libnice.md). */
	if (l->type == NICE_CANDIDATE_TYPE_RELAYED) {
		nice_candidate_relay_address(l, &server);
		nice_address_copy_to_sockaddr(&server, (struct sockaddr *)dst);
	} else {
		nice_address_copy_to_sockaddr(&r->addr, (struct sockaddr *)dst);
	}
	return src->ss_family == dst->ss_family ? 0 : -ENOENT;
}

int tund_ice_release_relays(struct tund_ice *ice)
{
	NiceCandidate *l, *r;
	unsigned n;

	if (ice->dead || ice->n_relays == 0)
		return 0;
	if (!nice_agent_get_selected_pair(ice->agent, ice->stream, COMPONENT, &l, &r))
		return -ENOENT;
	if (l->type == NICE_CANDIDATE_TYPE_RELAYED)
		return -EBUSY;
	/* Not on the selected pair: libnice deletes each allocation on the
	 * server (a refresh with lifetime 0) and drops its checks. */
	if (!nice_agent_forget_relays(ice->agent, ice->stream, COMPONENT))
		return -EIO;
	ice->relays_released = true;
	n = ice->allocations;
	allocations_gone(ice);
	return (int)n;
}

enum tund_ice_state tund_ice_state(struct tund_ice *ice)
{
	return ice->state;
}

static void closed(GObject *src, GAsyncResult *res, gpointer data)
{
	(void)res;
	(void)data;
	g_object_unref(src);
	atomic_fetch_sub(&pending_closes, 1);
}

void tund_ice_free(struct tund_ice *ice)
{
	if (!ice || ice->dead)
		return;
	ice->dead = true;
	ice->state = TUND_ICE_CLOSED;
	allocations_gone(ice); /* nice_agent_close_async releases them */
	if (ice->reannounce_id) {
		GSource *src = g_main_context_find_source_by_id(ice->ctx, ice->reannounce_id);

		if (src)
			g_source_destroy(src);
		ice->reannounce_id = 0;
	}
	if (ice->release_id) {
		GSource *src = g_main_context_find_source_by_id(ice->ctx, ice->release_id);

		if (src)
			g_source_destroy(src);
		ice->release_id = 0;
	}
	g_slist_free_full(ice->held, (GDestroyNotify)nice_candidate_free);
	ice->held = NULL;
	g_signal_handlers_disconnect_by_data(ice->agent, ice);
	nice_agent_attach_recv(ice->agent, ice->stream, COMPONENT, ice->ctx, NULL, NULL);
	/* Releases TURN allocations (refresh with lifetime 0), then closed()
	 * drops the last reference from the context, never from inside one of
	 * the agent's own signals. */
	atomic_fetch_add(&pending_closes, 1);
	/* The GTask inside completes on the thread-default context: make that
	 * ctx (this is its thread), not whatever the default context is. */
	g_main_context_push_thread_default(ice->ctx);
	nice_agent_close_async(ice->agent, closed, NULL);
	g_main_context_pop_thread_default(ice->ctx);
	ice->agent = NULL;
	if (ice->depth == 0)
		g_free(ice);
}
