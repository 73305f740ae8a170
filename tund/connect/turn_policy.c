// SPDX-License-Identifier: MIT
/* When a session gives its TURN allocations back (turn_policy.h). */
#include "tund/connect/turn_policy.h"

#include <errno.h>

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
