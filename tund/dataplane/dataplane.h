/* SPDX-License-Identifier: MIT */
/* The packet path: threads that move packets between the TUN device and the
 * underlay UDP socket through the WireGuard device, off the GLib loop. */
#ifndef TUND_DATAPLANE_H
#define TUND_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "overlay/cidr.h"
#include "overlay/device.h"

struct tund_dataplane;
struct tund_peer;

struct tund_dataplane_opts {
	int tun_fd;
	bool vnet;     /* the TUN was opened with IFF_VNET_HDR (offloads) */
	bool uso;      /* it also takes UDP super packets: datagrams written merged */
	bool realtime; /* packet threads raise their priority under load (tund/priority.h) */
	bool io_uring; /* read the TUN through io_uring where the kernel can (tund/tun_uring.h) */
	uint16_t listen_port;
	unsigned mtu;
	/* Crypto worker threads (overlay/pool.h) that seal and open large
	 * batches with the TUN and UDP threads; 0: those threads alone. */
	unsigned crypto_workers;
	/* While traffic is light, the UDP thread reads the TUN too, so that an
	 * idle ping wakes one thread per daemon (tund/dataplane/tun_handoff.h). */
	bool light_on_one_thread;
};

/* Opens the UDP socket and starts the threads. 0 or -errno. */
int tund_dataplane_start(const struct tund_dataplane_opts *opts, const uint8_t private_key[32],
			 struct tund_dataplane **out);
/* Light traffic on one thread (tund/dataplane/tun_handoff.h): whether it is
 * on, which receiving thread reads the TUN now ("udp", "fast_path"; NULL:
 * the TUN thread), and how many times the TUN went to one (handoffs, may be
 * NULL). */
bool tund_dataplane_one_thread(struct tund_dataplane *dp, const char **now, uint64_t *handoffs);
/* Whether the TUN reader thread reads through io_uring now. */
bool tund_dataplane_tun_uring(struct tund_dataplane *dp);
/* Crypto worker threads running (0: off); *slices (may be NULL) gets how
 * many slices of batches went through them. */
unsigned tund_dataplane_crypto_workers(struct tund_dataplane *dp, uint64_t *slices);
/* Stops the threads and closes the socket (not the TUN fd). */
void tund_dataplane_stop(struct tund_dataplane *dp);
uint16_t tund_dataplane_port(struct tund_dataplane *dp);
struct tund_wg *tund_dataplane_wg(struct tund_dataplane *dp);
/* Member relay frames (tund/dataplane/relay_fwd.h). */
struct tund_relay_fwd;
struct tund_relay_fwd *tund_dataplane_relay(struct tund_dataplane *dp);

/* Adds or refreshes a configured peer in the WireGuard device: key, psk,
 * allowed IPs and, when it has one, its endpoint (resolved now). 0 or -errno;
 * an endpoint that does not resolve is logged and the peer added anyway. */
int tund_dataplane_peer_apply(struct tund_dataplane *dp, struct tund_peer *p);
void tund_dataplane_peer_forget(struct tund_dataplane *dp, struct tund_peer *p);
/* New allowed IPs (its own and shared) and broadcast groups for an applied
 * peer, its session and endpoint kept; 0 if it has no WireGuard peer. */
int tund_dataplane_peer_update(struct tund_dataplane *dp, struct tund_peer *p);

/* ICE paths: the data plane sends a peer's datagrams over its ICE path
 * when the peer's endpoint is the path's id (family TUND_AF_PATH). The
 * path table is locked, so a path can be unregistered (and then freed)
 * while the data-plane threads run. */
#define TUND_AF_PATH 0x7e7e
/* How a packet thread sends on a path: path's owner (tund/connect/path.c)
 * gives it, so the data plane knows no ICE library. Called from the packet
 * threads, under the path table's read lock. */
typedef int (*tund_dataplane_send_fn)(void *path, const uint8_t *buf, size_t len);
uint32_t tund_dataplane_path_register(struct tund_dataplane *dp, tund_dataplane_send_fn send,
				      void *path);
void tund_dataplane_path_unregister(struct tund_dataplane *dp, uint32_t id);
/* Direct pairs, and pairs relayed by TURN over UDP, carry data on sockets
 * of tund's own (tund/fastpath.h) once enabled; path_update tells the data
 * plane the selected pair's socket (borrowed) and remote address after
 * libnice selected a pair (relayed: the allocation's local base and the TURN
 * server; turn, NULL if none: a direct pair's own TURN server on that base,
 * tund_fastpath_add), or fd < 0 when that pair can have no fast path. */
int tund_dataplane_enable_fast_paths(struct tund_dataplane *dp);
void tund_dataplane_path_update(struct tund_dataplane *dp, uint32_t id, int fd,
				const struct sockaddr *remote, socklen_t remote_len, bool relayed,
				const struct sockaddr *turn, socklen_t turn_len);
/* Whether path id's selected pair goes through a TURN server (either
 * candidate relayed): while any does, the packet threads stay at normal
 * priority (tund/dataplane/priority.h). */
void tund_dataplane_path_via_turn(struct tund_dataplane *dp, uint32_t id, bool via_turn);
/* Whether path id's data is on the fast path now (a relayed one once it
 * sends on its learnt TURN channel); *relayed: the path is a relayed one. */
bool tund_dataplane_path_fast(struct tund_dataplane *dp, uint32_t id, bool *relayed);
struct tund_fastpath_stats;
void tund_dataplane_fast_stats(struct tund_dataplane *dp, struct tund_fastpath_stats *out);
/* The packet threads' priority: enabled, now, and how often it changed. */
struct tund_prio_status;
void tund_dataplane_prio(struct tund_dataplane *dp, struct tund_prio_status *out);
/* How many pauses the packet threads took under small-packet floods
 * (tund/pace.h). */
uint64_t tund_dataplane_pace_pauses(struct tund_dataplane *dp);
/* Makes the path the peer's endpoint and starts a handshake over it (a
 * keepalive where a session exists). initiate false: without a session, only
 * the endpoint moves and the peer's initiation is awaited, unless one was
 * answered already (the answer may have found no path to leave by). False
 * when there is nothing more to do: no WireGuard state for the peer yet, or
 * a session on this path exists already; true while a session is awaited. */
bool tund_dataplane_peer_use_path(struct tund_dataplane *dp, struct tund_peer *p, uint32_t id,
				  bool initiate);
/* A LAN beacon hinted the peer at addr (its listen port given): probe it
 * there over the UDP socket (tund_wg_peer_probe). The hint is not
 * authenticated, so the endpoint moves only if the peer answers from there.
 * Returns true if a probe went out (not when the endpoint is addr already). */
bool tund_dataplane_peer_probe_lan(struct tund_dataplane *dp, struct tund_peer *p,
				   const struct sockaddr *addr, socklen_t len, uint16_t port);
/* The peer has a session over a plain UDP address (a LAN path that
 * answered), not an ICE path. */
bool tund_dataplane_peer_on_udp(struct tund_dataplane *dp, struct tund_peer *p);
/* A datagram that arrived on a path (main thread): decrypt, write to TUN. */
void tund_dataplane_path_receive(struct tund_dataplane *dp, uint32_t id, uint8_t *buf,
				 size_t len);
/* The endpoint the peer's packets currently go to, "-" if none; *is_path
 * tells whether it is an ICE path. */
void tund_dataplane_peer_endpoint(struct tund_dataplane *dp, struct tund_peer *p, char *buf,
				  size_t len, bool *is_path);

/* LAN games: broadcasts and multicasts read from TUN go to every connected
 * peer, at most rate packets per second, with an IPv4 source outside the
 * overlay rewritten to our overlay address (overlay4: address and prefix).
 * Off until called; overlay4 may change at run time. */
/* A network's broadcast group (tund_wg_peer_set_bcast_group of its members)
 * and our addresses in it: broadcasts go to its members with these as the
 * source. Setting a group again updates it; drop on leaving. */
/* The broadcast group of the network named network (never 0), 0 for NULL
 * (static peers). Peers get it from their network when applied. */
uint32_t tund_dataplane_bcast_group(const char *network);
void tund_dataplane_set_network(struct tund_dataplane *dp, uint32_t group,
				const struct tund_cidr *a4, const struct tund_cidr *a6);
void tund_dataplane_drop_network(struct tund_dataplane *dp, uint32_t group);
void tund_dataplane_set_broadcast(struct tund_dataplane *dp, bool on,
				  const struct tund_cidr *overlay4);
/* Fan-out packets that passed the rate bound (returned) and that it dropped
 * (*dropped), since start. */
uint64_t tund_dataplane_broadcasts(struct tund_dataplane *dp, uint64_t *dropped);

/* Current time for the device. */
void tund_dataplane_now(struct tund_wg_clock *now);

#endif
