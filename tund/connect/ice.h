/* SPDX-License-Identifier: MIT */
/* One ICE path to one peer, on libnice (>= 0.1.19): one NiceAgent with one
 * stream of one UDP component, driven by the daemon's main GMainContext.
 *
 * Threads: every function except tund_ice_send must be called on the thread
 * that iterates the GMainContext given to tund_ice_new; every callback runs on
 * that thread too. tund_ice_send may be called from any thread (libnice takes
 * the agent lock), but never concurrently with or after tund_ice_free.
 *
 * Signaling order for one session (caller's job; messages are small text):
 *   new -> local_credentials -> send them -> gather -> trickle each
 *   local_candidate line -> send end-of-candidates on gathering_done.
 *   On the peer's credentials: set_remote_credentials; on each of its lines:
 *   add_remote_candidate; on its end-of-candidates: remote_gathering_done.
 * Remote candidates may arrive before the remote credentials: they are held
 * and applied when the credentials are set.
 *
 * Restart (new credentials, new checks) on either side, see tund_ice_restart:
 *   initiator:  tund_ice_restart, send the new local credentials; the
 *               candidates and end-of-candidates follow via the callbacks.
 *   responder:  on credentials that differ from the current remote ones,
 *               tund_ice_restart FIRST, send its new local credentials back,
 *               THEN tund_ice_set_remote_credentials (libnice clears the remote
 *               credentials on restart, so the reverse order loses them).
 *   The signaling protocol must mark which message is the restart offer and
 *   which the answer, so that the initiator does not restart again. */
#ifndef TUND_ICE_H
#define TUND_ICE_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "overlay/servers.h"

#define TUND_ICE_MAX_TURN 4
/* libnice's own cap per component (NICE_AGENT_MAX_REMOTE_CANDIDATES). */
#define TUND_ICE_MAX_REMOTE_CANDIDATES 25
/* Longest candidate line accepted from the peer. */
#define TUND_ICE_MAX_LINE 512

struct tund_ice_server_config {
	char stun_host[256];  /* optional ("" = none); used only without TURN */
	uint16_t stun_port;   /* 0 = 3478 */
	/* host: IP or name (libnice resolves it asynchronously); port 0 = 3478;
	 * tcp: TURN over TCP (plain TCP: see ice.c). */
	struct tund_turn_server turn[TUND_ICE_MAX_TURN];
	unsigned n_turn;
	uint16_t port_min, port_max;  /* 0,0 = any; host candidate port range */
	char exclude_ifname[16];      /* tund's own TUN: never gather there */
	/* Tests only: when local_addrs[0] is set, use exactly these literal
	 * addresses (e.g. "127.0.0.1") instead of enumerating interfaces. */
	const char *local_addrs[4];
};

enum tund_ice_state {
	TUND_ICE_NEW,
	TUND_ICE_GATHERING,
	TUND_ICE_CONNECTING,
	TUND_ICE_CONNECTED,  /* a pair is selected: tund_ice_send works */
	TUND_ICE_FAILED,     /* with a reason; tund_ice_restart to try again */
	TUND_ICE_CLOSED,
};

struct tund_ice_pair {
	bool relayed;         /* either side is a relay candidate */
	char local_type[8];   /* host srflx prflx relay */
	char remote_type[8];
	char local_addr[64];  /* "ip:port", IPv6 as "[ip]:port" */
	char remote_addr[64];
	/* Our address under the local candidate, no port: the host address
	 * behind a srflx or prflx candidate, the local base of the TURN
	 * allocation behind a relay one. The path needs it while it is ours. */
	char local_base[46];
	char transport[4];    /* "udp", or "tcp" when the local side is a
	                       * relay reached over TURN-TCP */
};

struct tund_ice_callbacks {
	/* "a=candidate:..." to trickle to the peer. */
	void (*local_candidate)(void *ctx, const char *line);
	/* All local candidates were announced: send end-of-candidates. */
	void (*gathering_done)(void *ctx);
	/* reason: NULL, or a short text: FAILED has "no candidate pair answered"
	 * (never connected this session), "consent lost" (was connected: no
	 * answers for 10 s, or the TURN-TCP connection died) or "gathering
	 * failed ..."; CONNECTING/GATHERING after tund_ice_restart has "restart". */
	void (*state_changed)(void *ctx, enum tund_ice_state st, const char *reason);
	/* Every (re)selection; with aggressive nomination it may change again. */
	void (*pair_selected)(void *ctx, const struct tund_ice_pair *pair);
	/* One datagram from the peer; buf is valid only during the call. */
	void (*receive)(void *ctx, uint8_t *buf, size_t len);
};

struct tund_ice;

const char *tund_ice_state_name(enum tund_ice_state st);

/* Creates the agent (controlling role fixed for its lifetime) and adds the
 * local addresses: every up interface with carrier except loopback and
 * cfg->exclude_ifname, IPv4 and IPv6, no link-local. Callbacks may be NULL.
 * On failure (bad config, bad TURN entry, no usable local address: libnice
 * would otherwise gather on every interface, tund's TUN included) returns
 * -errno with a message in why (why_len may be 0); else 0 and the agent in
 * *out. */
int tund_ice_new(GMainContext *ctx, bool controlling, const struct tund_ice_server_config *cfg,
		 const struct tund_ice_callbacks *cb, void *cb_ctx, struct tund_ice **out,
		 char *why, size_t why_len);
/* Local credentials of the current session (valid after new and after each
 * restart). */
void tund_ice_local_credentials(struct tund_ice *ice, char ufrag[257], char pwd[257]);
/* Starts gathering; host candidates are reported before it returns, the rest
 * (srflx, relay) later. 0, -EALREADY or -EIO (then FAILED, e.g. no free port
 * in the configured range). */
int tund_ice_gather(struct tund_ice *ice);
/* 0 or -EINVAL (ufrag 4-256 and pwd 22-256 ice-chars). */
int tund_ice_set_remote_credentials(struct tund_ice *ice, const char *ufrag,
				    const char *pwd);
/* Validates and adds one "a=candidate:..." line (also accepted without the
 * "a=" prefix): component 1, UDP, a unicast address, a port, at most 25 per
 * session. 0, -EINVAL (malformed or unsupported), -ENOSPC (too many). */
int tund_ice_add_remote_candidate(struct tund_ice *ice, const char *line);
/* The peer sent end-of-candidates: only now can the session go FAILED ("no
 * candidate pair answered", ~7 s after the last check started with libnice's
 * default retransmissions). Until then a silent peer keeps it CONNECTING:
 * the caller's own timer decides when to give up or restart. */
void tund_ice_remote_gathering_done(struct tund_ice *ice);
/* Sends one datagram on the selected pair. Thread-safe. Returns 0, -EAGAIN
 * (no pair selected yet, or the socket is full: drop), -EACCES (consent lost:
 * restart), -EMSGSIZE (0 or > 65535 bytes) or -EIO. */
int tund_ice_send(struct tund_ice *ice, const uint8_t *buf, size_t len);
/* ICE restart: new local credentials, remote credentials and candidates
 * forgotten, new checks. The caller sends tund_ice_local_credentials to the
 * peer right after this returns; the local candidates (kept from the first
 * gathering) are then re-announced through local_candidate + gathering_done
 * from an idle callback on the context, i.e. after the credentials. The state
 * goes back to CONNECTING ("restart"). If a pair was selected, libnice keeps
 * sending on it until a new one is selected, so tund_ice_send keeps working
 * (measured in tests/unit/test_ice.c). 0, -EAGAIN (not gathered yet) or -EIO. */
int tund_ice_restart(struct tund_ice *ice);
/* The selected pair, if any (copied; safe to keep). */
bool tund_ice_get_pair(struct tund_ice *ice, struct tund_ice_pair *out);
/* For a selected pair whose local side is not a relay: libnice's socket
 * (borrowed: valid while the session lives) and the pair's remote address;
 * *turn_len 0, or turn the TURN server (given as an IP address) of our own
 * TURN-over-UDP allocation on the same socket, through which the peer's
 * selected pair may come. -ENOENT when there is no such pair. */
int tund_ice_direct_socket(struct tund_ice *ice, struct sockaddr_storage *remote,
			   socklen_t *remote_len, struct sockaddr_storage *turn,
			   socklen_t *turn_len);
/* A selected pair relayed by TURN over UDP: the agent's UDP socket that is
 * the allocation's local base (borrowed; libnice keeps it) and the TURN
 * server's address; -ENOENT for any other pair (direct, TURN-TCP). */
int tund_ice_relay_socket(struct tund_ice *ice, struct sockaddr_storage *server,
			  socklen_t *server_len);
/* The first hop of the selected pair, as the kernel routes it: src is our
 * local base (port 0), dst where our datagrams go (the peer's candidate, or
 * for a local relay candidate the TURN server). 0 or -ENOENT (no pair). */
int tund_ice_first_hop(struct tund_ice *ice, struct sockaddr_storage *src,
		       struct sockaddr_storage *dst);
enum tund_ice_state tund_ice_state(struct tund_ice *ice);
/* After gathering started: the first IPv4 host candidate's address and
 * port (the socket a router's port mapping should point at). 0 or -ENOENT. */
int tund_ice_host_candidate(struct tund_ice *ice, char ip[46], uint16_t *port);
/* Stops everything and releases TURN allocations (nice_agent_close_async);
 * no callback runs after it returns. Safe to call from inside any of this
 * session's callbacks (the memory is released when the callback returns). The
 * agent itself is released a little later on the context: keep iterating it
 * (see tund_ice_pending_closes) before exiting the process. NULL is a no-op. */
void tund_ice_free(struct tund_ice *ice);
/* True for a global unicast IPv6 address (2000::/3): one a member across the
 * internet can reach, unlike a ULA (fc00::/7) or a link-local one. */
bool tund_ice_global_ipv6(const struct in6_addr *a);
/* The global IPv6 addresses ICE gathers host candidates on (the interfaces
 * tund_ice_new uses, exclude_ifname left out; may be NULL), at most max, as
 * text into out. How many, or -errno. */
int tund_ice_list_global_ipv6(const char *exclude_ifname, char (*out)[INET6_ADDRSTRLEN],
			      size_t max);
/* Gives back the TURN allocations of a session whose selected pair does not
 * use one of them (nice_agent_forget_relays: each is deleted on the server,
 * and one still being made is deleted when it arrives; the session gathers
 * no relay candidate again). How many were released (0: none held or no
 * TURN server), -ENOENT (no selected pair), -EBUSY (the selected pair's
 * local candidate is a relay) or -EIO. */
int tund_ice_release_relays(struct tund_ice *ice);
/* TURN allocations (relay candidates gathered and not released) held by
 * every session of the process. */
unsigned tund_ice_allocations(void);
/* Number of agents whose asynchronous close has not finished yet. */
unsigned tund_ice_pending_closes(void);

#endif
