/* SPDX-License-Identifier: MIT */
/* Member relays (doc/member-relay.md): a member with direct paths to two
 * members that cannot reach each other carries their WireGuard datagrams
 * (ciphertext only) when it opted in for the network. On the main loop,
 * once a second: tells the data plane (tund/dataplane/relay_fwd.h) who is a
 * member with a direct path, offers relaying to those members in the
 * networks where it is on, and, for a member without a direct ICE path,
 * tries a member that offered (the controlling side sends a WireGuard
 * handshake through it; the endpoint moves when the answer comes, as
 * WireGuard's roaming does, and moves back when ICE selects a pair). */
#ifndef TUND_MEMBER_RELAY_H
#define TUND_MEMBER_RELAY_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

struct tund_daemon;
struct tund_peer;

/* Frames a second the relay forwards per network unless set, and bounds. */
#define TUND_MEMBER_RELAY_RATE 4000u
#define TUND_MEMBER_RELAY_RATE_MAX 1000000u

/* The network's setting (off and the default rate when never set). */
bool tund_member_relay_get(struct tund_daemon *d, const char *network, uint32_t *rate);
/* Sets it (rate 0: keep the current one); applies at the next tick. */
void tund_member_relay_set(struct tund_daemon *d, const char *network, bool on, uint32_t rate);
void tund_member_relay_forget(struct tund_daemon *d, const char *network);
/* networks.json: the entry's "relay" object, written when set. */
void tund_member_relay_save(struct tund_daemon *d, const char *network, JsonBuilder *b);
void tund_member_relay_load(struct tund_daemon *d, const char *network, JsonObject *entry);

/* The tick: after the data plane and the networks started; stop before
 * the data plane stops. */
void tund_member_relay_start(struct tund_daemon *d);
void tund_member_relay_stop(struct tund_daemon *d);
/* For `tundctl peers`: "relay_via" (and path "relay") when a member relays
 * our datagrams to p, or "no_path" saying why p has none. */
void tund_member_relay_describe(struct tund_daemon *d, struct tund_peer *p, JsonObject *o);
/* For `tundctl networks` and `status`. */
void tund_member_relay_network_json(struct tund_daemon *d, const char *network, JsonObject *o);
JsonNode *tund_member_relay_status(struct tund_daemon *d);

#endif
