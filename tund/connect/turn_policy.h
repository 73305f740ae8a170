/* SPDX-License-Identifier: MIT */
/* TURN only while it is needed (doc/paths.md, "TURN allocations"): every ICE
 * session gathers a relay candidate, so a pair that cannot go direct is
 * relayed as fast as before; once a pair that does not use our allocation
 * has been selected and held for TUND_TURN_HOLD_S, the allocation is given
 * back. Each side decides for its own allocations alone: no message, and a
 * peer that keeps its own (an older tund) changes nothing here. */
#ifndef TUND_TURN_POLICY_H
#define TUND_TURN_POLICY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "tund/connect/ice.h"
#include "tund/daemon/config.h"

/* Twice the time ICE consent needs to notice a dead pair (10 s): a pair
 * held that long has answered consent checks for a while. Holding the
 * allocation longer buys nothing: a pair that loses consent fails the whole
 * session, relay candidates and all, and the next session allocates anew. */
#define TUND_TURN_HOLD_S 20

struct tund_turn_hold {
	guint timer;
	struct tund_ice *ice;
	char peer[48]; /* for the log line */
};

/* A pair was selected on ice: (re)starts the hold. When it is over and the
 * selected pair's local candidate is not a relay, our allocations go back
 * (also for a pair relayed on the peer's side only); a pair relayed through
 * ours keeps it. Either is logged. */
void tund_turn_hold_pair(struct tund_turn_hold *h, struct tund_ice *ice, const char *peer);
/* Disarms (the session is going); safe when never armed. */
void tund_turn_hold_stop(struct tund_turn_hold *h);

/* Whether a new session gathers TURN relay candidates at once (doc/paths.md,
 * "TURN only when needed"); why (a phrase for tundctl peers and the log) in
 * why. own and peer are enum tund_signal_mapping (own from mapping.h, peer
 * from the offer; the offering side does not know the peer's yet).
 *   mode OFF: always gather.
 *   forced:   a session of this pair without TURN failed: gather.
 * Otherwise gather when our own mapping is neither none nor
 * endpoint-independent, or, on the answering side, the peer's is not. The
 * offering side decides on its own mapping alone: the answering side knows
 * both and gathers when either is in doubt, and one relay candidate is
 * enough for a relayed pair (TURN permissions are per IP address, RFC 8656,
 * so the relay reaches the other side's reflexive address through any NAT).
 * A pair predicted direct: mode ON, the answering side still gathers, as a
 * standby ("standby (...)"): a firewall the prediction cannot see (one that
 * drops UDP between the two NATs) would otherwise cost the first session's
 * failure before a relay; the hold gives it back once direct has held.
 * Mode LEAN skips it. */
bool tund_turn_wanted(enum tund_turn_prediction mode, bool forced, bool offering, uint8_t own,
		      uint8_t peer, char *why, size_t len);

#endif
