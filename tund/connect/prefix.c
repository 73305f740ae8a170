// SPDX-License-Identifier: MIT
/* Choosing and checking a network's prefix on this node (see prefix.h). */
#include "tund/connect/prefix.h"

#include <errno.h>
#include <glib.h>
#include <linux/rtnetlink.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "netlink/addr.h"
#include "overlay/network.h"
#include "tund/connect/membership.h"
#include "tund/daemon/state.h"

/* The ranges an overlay may use: RFC 1918's and the shared address space
 * (100.64.0.0/10, as Tailscale's). An invite's prefix becomes a route on
 * the TUN, so one on 8.0.0.0/8 would take the joiner's DNS to 8.8.8.8. */
static bool private_prefix(const struct tund_cidr *c)
{
	static const struct {
		uint8_t addr[4];
		uint8_t len;
	} ranges[] = { { { 10, 0, 0, 0 }, 8 },
		       { { 172, 16, 0, 0 }, 12 },
		       { { 192, 168, 0, 0 }, 16 },
		       { { 100, 64, 0, 0 }, 10 } };

	for (size_t i = 0; i < G_N_ELEMENTS(ranges); i++) {
		struct tund_cidr r = { .family = AF_INET, .prefix = ranges[i].len };

		memcpy(r.addr, ranges[i].addr, 4);
		if (c->prefix >= r.prefix && tund_cidr_contains(&r, c->addr))
			return true;
	}
	return false;
}

/* id: net's record id. */
static int check_one(const struct tund_network *net, const uint8_t id[TUND_NET_ID_LEN],
		     const struct tund_network *o, char *why, size_t why_len)
{
	char mine[TUND_CIDR_STRLEN], theirs[TUND_CIDR_STRLEN];
	uint8_t oid[TUND_NET_ID_LEN];

	tund_network_record_id(o, oid);
	/* The records file is named by it: two networks would share one. */
	if (!memcmp(id, oid, sizeof(oid))) {
		if (why_len)
			snprintf(why, why_len, "network \"%s\" has the root key of network \"%s\" "
				 "(a copy of its invite under another name)", net->name, o->name);
		return -EEXIST;
	}
	if (!tund_network_prefix_overlap(&net->prefix4, &o->prefix4))
		return 0;
	tund_cidr_format(&net->prefix4, mine, sizeof(mine));
	tund_cidr_format(&o->prefix4, theirs, sizeof(theirs));
	if (why_len)
		snprintf(why, why_len, "prefix %s of network \"%s\" overlaps network \"%s\" (%s)",
			 mine, net->name, o->name, theirs);
	return -EEXIST;
}

int tund_prefix_check(struct tund_daemon *d, const struct tund_network *net, char *why,
		      size_t why_len)
{
	if (!private_prefix(&net->prefix4)) {
		char mine[TUND_CIDR_STRLEN];

		tund_cidr_format(&net->prefix4, mine, sizeof(mine));
		if (why_len)
			snprintf(why, why_len, "prefix %s of network \"%s\" is not a private range "
				 "(10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10)",
				 mine, net->name);
		return -EINVAL;
	}
	uint8_t id[TUND_NET_ID_LEN];

	tund_network_record_id(net, id);
	for (guint i = 0; i < d->networks->len; i++) {
		int ret = check_one(net, id,
				    tund_membership_network(g_ptr_array_index(d->networks, i)),
				    why, why_len);

		if (ret)
			return ret;
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
