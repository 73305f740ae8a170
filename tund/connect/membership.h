/* SPDX-License-Identifier: MIT */
/* A joined network at run time: its broker connection, the sealed signaling
 * it carries, its members and their addresses. */
#ifndef TUND_MEMBERSHIP_H
#define TUND_MEMBERSHIP_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "overlay/network.h"
#include "overlay/signal.h"

struct tund_daemon;
struct tund_peer;
struct tund_membership;

enum tund_sig_drop {
	TUND_SIG_DROP_MALFORMED,
	TUND_SIG_DROP_OTHER_NETWORK,
	TUND_SIG_DROP_NOT_FOR_ME,
	TUND_SIG_DROP_FORGED,
	TUND_SIG_DROP_STALE,
	TUND_SIG_DROP_REPLAYED,
	TUND_SIG_DROP_UNKNOWN_SENDER,
	TUND_SIG_DROP_BLOCKED,
	TUND_SIG_DROP_OLD_VERSION,
	TUND_SIG_DROP_NOT_ADMITTED, /* admin network: no admin record for the key */
	TUND_SIG_DROP_BAD_RECORD,   /* a record not signed by the network's admin */
	TUND_SIG_DROP_OVERSIZE,     /* over TUND_SIGBOUND_MAX_LEN (overlay/sigbound.h) */
	TUND_SIG_DROP_RATE_LIMITED, /* over the network's signaling rate */
	TUND_SIG_DROP_JOIN_REFUSED, /* the admin: a join with a bad invite (answered) */
	TUND_SIG_DROP_SENDER_RATE,  /* a member over its own rate, after its proof */
	TUND_SIG_DROP_ADDRESS_CONFLICT, /* an admit for an address another member holds */
	TUND_SIG_DROP_COUNT
};
/* The creator after a block (its own or another admin's) or on `network
 * rekey`: a new network key for the next epoch, sealed to every admitted
 * member but us and the blocked (sent to each inbox and left retained for
 * those offline), then taken into use here. 0, -EPERM (not the creator) or
 * -EOVERFLOW. */
int tund_membership_rekey(struct tund_membership *n);

/* Networks with an admin (approve admission): the admin signs a membership
 * record (overlay/record.h, TUND_RECORD_ADMIT or _BLOCK) about subject and
 * publishes it retained; every member applies it. -EPERM if we are not the
 * network's admin. */
int tund_membership_sign_record(struct tund_membership *n, uint8_t kind, const uint8_t subject[32]);
/* We sign records: the creator, or a member it admitted as an admin. */
bool tund_membership_is_admin(const struct tund_membership *n);
/* key is an admin of the network (its creator, or made admin by it). */
bool tund_membership_key_is_admin(const struct tund_membership *n, const uint8_t key[32]);
/* We created the network (the first admin). */
bool tund_membership_is_creator(const struct tund_membership *n);
bool tund_membership_has_admin(const struct tund_membership *n);

/* joining: we just joined with an invite, so the members announced now were
 * there before us and are admitted even under `approve` admission. */
struct tund_membership *tund_membership_start(struct tund_daemon *d, const struct tund_network *net,
				    bool joining);
/* Leaves: clears our retained announce, disconnects. Members stay in the
 * peer list until the caller removes them. */
void tund_membership_stop(struct tund_membership *n, bool leaving);
/* The joined network called name (in d->networks), or NULL. */
struct tund_membership *tund_membership_find(struct tund_daemon *d, const char *name);
/* The network as joined (what networks.json keeps). */
const struct tund_network *tund_membership_network(struct tund_membership *n);
/* The same with the servers of the config's [network NAME] section: what
 * the node actually uses and what its invites hand out. */
const struct tund_network *tund_membership_effective(struct tund_membership *n);
/* After a config reload: applies changed [network NAME] servers. New STUN/TURN
 * servers go to every member's path for its next session (working sessions
 * are untouched); a new broker replaces the MQTT client (our retained
 * announce is cleared on the old one, we announce on the new one). Adds one
 * line per change to applied (g_free'd strings); returns how many. */
unsigned tund_membership_reconfigure(struct tund_membership *n, GPtrArray *applied);
/* A member was approved, blocked, unblocked or added: (re)apply it. */
void tund_membership_member_changed(struct tund_membership *n, struct tund_peer *p);
/* The same, and when we are the controlled side without a path, asks the
 * peer for a new ICE session. */
void tund_membership_member_connect(struct tund_membership *n, struct tund_peer *p);
/* After an entry of key changed or went away: its carrier (tund/connect/carrier.h)
 * holds the key's WireGuard peer and path, starting them if it did not. */
void tund_membership_carry(struct tund_daemon *d, const uint8_t key[32]);
/* The network's admin blocked this node (its record says so). */
bool tund_membership_blocked_us(const struct tund_membership *n);
/* Whether an admin's signed record blocks key in n (network-wide, and the
 * rest moved to a network key it does not get), not a block by this node
 * alone. */
bool tund_membership_admin_blocked(const struct tund_membership *n, const uint8_t key[32]);
/* Recomputes every member's overlay address (and ours). */
void tund_membership_assign(struct tund_membership *n);
/* Summary for `tundctl networks`. */
JsonNode *tund_membership_to_json(struct tund_membership *n);
/* Seals and publishes a signaling message to a member's inbox. */
void tund_membership_send(struct tund_membership *n, struct tund_peer *p, struct tund_signal *m);
/* Handles a sealed message (from the broker, or a manual blob when
 * manual_client is not 0). */
void tund_membership_receive(struct tund_membership *n, const uint8_t *buf, size_t len,
			     bool retained);

#endif
