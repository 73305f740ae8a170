// SPDX-License-Identifier: MIT
#include "tund/connect/carrier.h"

#include <string.h>

#include "tund/connect/membership.h"
#include "tund/connect/path.h"
#include "tund/daemon/daemon.h"
#include "tund/daemon/log.h"
#include "tund/daemon/peers.h"
#include "tund/dataplane/dataplane.h"

static bool same_array(GArray *a, GArray *b, size_t elt)
{
	return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len * elt));
}

/* Takes key's WireGuard peer and path off an entry that does not carry it. */
static void release(struct tund_daemon *d, struct tund_peer *e)
{
	tund_path_free(e->path);
	e->path = NULL;
	if (e->wg_peer && d->dp)
		tund_dataplane_peer_forget(d->dp, e);
}

/* An entry that can carry its key: in a network we are still in, and not
 * shut out there by an admin's record. Either would put the two ends of the
 * pair on different network keys (and so pre-shared keys): an admin's block
 * moved the others to a key the blocked side does not get. Pending entries
 * and blocks by one node alone are usable: the other end still counts us a
 * member there, and only the pre-shared key is taken from such an entry
 * (tund_peer_owns_addresses). */
static bool usable(const struct tund_peer *e, void *ctx)
{
	struct tund_membership *n = tund_membership_find(ctx, e->network);

	return n && !tund_membership_blocked_us(n) &&
	       !tund_membership_admin_blocked(n, e->public_key);
}

struct tund_peer *tund_carrier_of(struct tund_daemon *d, const uint8_t key[32])
{
	return tund_peer_list_carrier(&d->peers, key, usable, d);
}

struct tund_peer *tund_carrier_sync(struct tund_daemon *d, const uint8_t key[32])
{
	struct tund_peer *c = tund_carrier_of(d, key);
	GArray *ips = g_array_new(FALSE, TRUE, sizeof(struct tund_cidr));
	GArray *groups = g_array_new(FALSE, TRUE, sizeof(uint32_t));

	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *e = g_ptr_array_index(d->peers.items, i);
		uint32_t g;

		if (e == c || !e->network || memcmp(e->public_key, key, 32))
			continue;
		release(d, e);
		if (!c || !c->network || e->state != TUND_PEER_MEMBER || !usable(e, d))
			continue;
		g_array_append_vals(ips, e->allowed_ips->data, e->allowed_ips->len);
		g = tund_dataplane_bcast_group(e->network);
		g_array_append_val(groups, g);
	}
	if (c && c->network) {
		bool same = same_array(ips, c->shared_ips, sizeof(struct tund_cidr)) &&
			    same_array(groups, c->shared_groups, sizeof(uint32_t));

		g_array_unref(c->shared_ips);
		g_array_unref(c->shared_groups);
		c->shared_ips = g_array_ref(ips);
		c->shared_groups = g_array_ref(groups);
		if (!same && c->wg_peer && d->dp && tund_dataplane_peer_update(d->dp, c))
			log_error("peer in network %s: cannot update its addresses", c->network);
	}
	g_array_unref(ips);
	g_array_unref(groups);
	return c;
}
