// SPDX-License-Identifier: MIT
/* When a session gives its TURN allocations back (turn_policy.h). */
#include "tund/connect/turn_policy.h"

#include <errno.h>
#include <stdio.h>

#include "overlay/signal.h"
#include "tund/connect/mapping.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

static gboolean hold_over(gpointer data)
{
	struct tund_turn_hold *h = data;
	int n;

	h->timer = 0;
	n = tund_ice_release_relays(h->ice);
	if (n > 0)
		log_info("peer %s: path held %d s without our relay: released %d TURN allocation%s",
			 h->peer, TUND_TURN_HOLD_S, n, n == 1 ? "" : "s");
	else if (n == -EBUSY)
		log_info("peer %s: path held %d s through our relay: keeping its TURN allocation",
			 h->peer, TUND_TURN_HOLD_S);
	else if (n < 0 && n != -ENOENT) /* -ENOENT: no pair any more, the session is failing */
		log_warn("peer %s: cannot release the TURN allocations: %s", h->peer,
			 g_strerror(-n));
	return G_SOURCE_REMOVE;
}

void tund_turn_hold_stop(struct tund_turn_hold *h)
{
	if (h->timer)
		tund_loop_source_remove(h->timer);
	h->timer = 0;
}

void tund_turn_hold_pair(struct tund_turn_hold *h, struct tund_ice *ice, const char *peer)
{
	/* Every new selection starts the hold afresh. A pair relayed on our
	 * side is timed too, only to say in the log that it keeps the
	 * allocation (tund_ice_release_relays refuses it). */
	tund_turn_hold_stop(h);
	h->ice = ice;
	g_strlcpy(h->peer, peer, sizeof(h->peer));
	h->timer = tund_loop_timeout_add_seconds(TUND_TURN_HOLD_S, hold_over, h);
}

static bool direct_sure(uint8_t m)
{
	return m == TUND_SIGNAL_MAPPING_NONE || m == TUND_SIGNAL_MAPPING_EIM;
}

bool tund_turn_wanted(enum tund_turn_prediction mode, bool forced, bool offering, uint8_t own,
		      uint8_t peer, char *why, size_t len)
{
	const char *verb = mode == TUND_TURN_PREDICT_LEAN ? "skipped" : "standby";

	if (mode == TUND_TURN_PREDICT_OFF) {
		snprintf(why, len, "gathered ([ice] turn_prediction = off)");
		return true;
	}
	if (forced) {
		snprintf(why, len, "gathered (a session without TURN failed)");
		return true;
	}
	if (!direct_sure(own)) {
		snprintf(why, len, "gathered (our mapping %s)", tund_mapping_name(own));
		return true;
	}
	if (offering) {
		snprintf(why, len, "skipped (our mapping %s; the answering side decides for its own)",
			 tund_mapping_name(own));
		return false;
	}
	if (peer == TUND_SIGNAL_MAPPING_UNSAID) {
		snprintf(why, len, "gathered (the peer's tund does not say its mapping)");
		return true;
	}
	if (!direct_sure(peer)) {
		snprintf(why, len, "gathered (the peer's mapping %s)", tund_mapping_name(peer));
		return true;
	}
	if (own == peer)
		snprintf(why, len, "%s (both %s)", verb, tund_mapping_name(own));
	else
		snprintf(why, len, "%s (ours %s, the peer's %s)", verb, tund_mapping_name(own),
			 tund_mapping_name(peer));
	return mode != TUND_TURN_PREDICT_LEAN;
}
