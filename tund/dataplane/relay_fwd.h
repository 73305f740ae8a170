/* SPDX-License-Identifier: MIT */
/* Member relays in the data plane (doc/member-relay.md): the relay frames
 * (overlay/relay.h) that arrive on ICE paths, forwarded to a member (we
 * relay), handed to WireGuard as a relayed peer's message (a member relays
 * for us), or noted (offers, refusals); and the frames we send through a
 * relay. WireGuard sees a relayed peer at an endpoint of its own family,
 * TUND_AF_RELAY: the path to the relay and the peer's slot here, so its
 * endpoint follows authenticated packets as WireGuard's roaming does.
 *
 * Threads: the main thread says who is who (members, direct paths, which
 * networks we relay in); the packet threads ask. One mutex; no device call
 * is made under it, so it may be taken inside the device's send callback. */
#ifndef TUND_RELAY_FWD_H
#define TUND_RELAY_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/device.h"

#define TUND_AF_RELAY 0x7e7f

/* Why frames were dropped here; counted. */
enum tund_relay_drop {
	TUND_RELAY_DROP_MALFORMED,  /* not a well-formed frame */
	TUND_RELAY_DROP_UNKNOWN,    /* from a path no member of ours is on, or for an unknown key */
	TUND_RELAY_DROP_OFF,        /* FORWARD in a network we do not relay in */
	TUND_RELAY_DROP_NOT_MEMBER, /* source or target not an admitted member of it */
	TUND_RELAY_DROP_NO_PATH,    /* no direct path to the target (or from the source) */
	TUND_RELAY_DROP_RATE,       /* over the rate bound */
	TUND_RELAY_DROP_TOO_BIG,    /* a datagram too large to wrap */
	TUND_RELAY_DROP_COUNT
};
const char *tund_relay_drop_name(enum tund_relay_drop d);

struct tund_relay_stats {
	uint64_t forwarded, delivered, sent, offers_received, refusals_received;
	uint64_t drops[TUND_RELAY_DROP_COUNT];
};

typedef void (*tund_relay_send_fn)(void *ctx, uint32_t path_id, const uint8_t *buf, size_t len);

struct tund_relay_fwd;
struct tund_relay_fwd *tund_relay_fwd_new(tund_relay_send_fn send, void *ctx);
void tund_relay_fwd_free(struct tund_relay_fwd *r);

/* ---- main thread ---- */
/* A peer as we know it now: its network's group (tund_dataplane_bcast_group),
 * whether it is an admitted member and whether we have a direct path to it.
 * Returns its slot (never 0). */
uint32_t tund_relay_fwd_set_peer(struct tund_relay_fwd *r, const uint8_t key[32], uint32_t group,
				 bool member, bool direct);
void tund_relay_fwd_forget(struct tund_relay_fwd *r, const uint8_t key[32]);
/* The ICE path the peer's datagrams go on now (0: none). */
void tund_relay_fwd_set_path(struct tund_relay_fwd *r, const uint8_t key[32], uint32_t path_id);
void tund_relay_fwd_path_gone(struct tund_relay_fwd *r, uint32_t path_id);
/* We relay between the members of group (rate: frames a second, burst twice
 * that), or no longer (rate 0). */
void tund_relay_fwd_serve(struct tund_relay_fwd *r, uint32_t group, uint32_t rate, uint64_t now_ms);
/* The endpoint of peer key reached through the member on via's path;
 * false when either is unknown. */
bool tund_relay_fwd_endpoint(struct tund_relay_fwd *r, const uint8_t via[32],
			     const uint8_t key[32], struct tund_wg_endpoint *out);
/* An endpoint of ours: is it a relay endpoint, and the relay's key. */
bool tund_relay_fwd_endpoint_via(struct tund_relay_fwd *r, const struct tund_wg_endpoint *ep,
				 uint8_t via[32]);
/* What we heard: when the member last offered to relay (mono ms, 0: never),
 * and the last refusal to relay to key (reason 0: none) with its relay. */
uint64_t tund_relay_fwd_offered(struct tund_relay_fwd *r, const uint8_t key[32]);
uint8_t tund_relay_fwd_refused(struct tund_relay_fwd *r, const uint8_t key[32], uint8_t by[32],
			       uint64_t *when_ms);
void tund_relay_fwd_clear_refusal(struct tund_relay_fwd *r, const uint8_t key[32]);
/* Sends an OFFER on the member's path. */
void tund_relay_fwd_offer(struct tund_relay_fwd *r, const uint8_t key[32]);
void tund_relay_fwd_stats(struct tund_relay_fwd *r, struct tund_relay_stats *out);
/* Counts for one group we relay in. */
uint64_t tund_relay_fwd_group_forwarded(struct tund_relay_fwd *r, uint32_t group,
					uint64_t *rate_dropped);

/* ---- packet threads ---- */
enum tund_relay_in {
	TUND_RELAY_IN_NONE,    /* not a relay frame: a WireGuard message (or junk) */
	TUND_RELAY_IN_DONE,    /* handled or dropped and counted */
	TUND_RELAY_IN_INNER,   /* buf[*off ..] is a relayed peer's message from *src */
};
/* A datagram that arrived on path_id (buf may be rewritten and sent on). */
enum tund_relay_in tund_relay_fwd_input(struct tund_relay_fwd *r, uint32_t path_id, uint8_t *buf,
					size_t len, uint64_t now_ms, struct tund_wg_endpoint *src,
					size_t *off);
/* Sends a WireGuard datagram to a TUND_AF_RELAY endpoint: wrapped in a
 * FORWARD frame to the relay. */
void tund_relay_fwd_send(struct tund_relay_fwd *r, const struct tund_wg_endpoint *dst,
			 const uint8_t *buf, size_t len);

#endif
