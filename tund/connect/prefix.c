// SPDX-License-Identifier: MIT
/* Choosing and checking a network's prefix on this node (see prefix.h). */
#include "tund/connect/prefix.h"

#include <errno.h>
#include <glib.h>
#include <linux/rtnetlink.h>
#include <sodium.h>
#include <stdio.h>

#include "netlink/addr.h"
#include "overlay/network.h"
#include "tund/connect/membership.h"
#include "tund/daemon/state.h"

int tund_prefix_check(struct tund_daemon *d, const struct tund_network *net, char *why,
		      size_t why_len)
{
	for (guint i = 0; i < d->networks->len; i++) {
		const struct tund_network *o = tund_membership_network(g_ptr_array_index(d->networks, i));
		char mine[TUND_CIDR_STRLEN], theirs[TUND_CIDR_STRLEN];

		if (!tund_network_prefix_overlap(&net->prefix4, &o->prefix4))
			continue;
		tund_cidr_format(&net->prefix4, mine, sizeof(mine));
		tund_cidr_format(&o->prefix4, theirs, sizeof(theirs));
		if (why_len)
			snprintf(why, why_len, "prefix %s of network \"%s\" overlaps network \"%s\" (%s)",
				 mine, net->name, o->name, theirs);
		return -EEXIST;
	}
	return 0;
}

static int take_host_addr(const struct tund_addr_info *info, void *ctx)
{
	GArray *taken = ctx;

	if (info->cidr.family == AF_INET && info->scope != RT_SCOPE_HOST)
		g_array_append_val(taken, info->cidr);
	return 0;
}

int tund_prefix_pick(struct tund_daemon *d, struct tund_cidr *out, char *why, size_t why_len)
{
	g_autoptr(GArray) taken = g_array_new(FALSE, FALSE, sizeof(struct tund_cidr));
	bool ok;

	for (guint i = 0; i < d->networks->len; i++)
		g_array_append_val(taken,
				   tund_membership_network(g_ptr_array_index(d->networks, i))->prefix4);
	/* Best effort: without the host's list our networks still count. */
	tund_addr_list(0, take_host_addr, taken);
	ok = tund_network_pick_prefix4(randombytes_random(),
				       taken->len ? &g_array_index(taken, struct tund_cidr, 0) : NULL,
				       taken->len, out);
	if (!ok && why_len)
		snprintf(why, why_len, "every 10.X.0.0/16 is in use here; pass --prefix");
	return ok ? 0 : -EADDRINUSE;
}
