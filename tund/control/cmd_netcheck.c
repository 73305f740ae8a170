// SPDX-License-Identifier: MIT
/* tundctl netcheck: how our NAT maps, and whether the broker, STUN and TURN
 * servers of a network (default: the first) answer. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "overlay/network.h"
#include "tund/control/commands.h"
#include "tund/control/control.h"
#include "tund/control/control_codec.h"
#include "tund/daemon/log.h"
#include "tund/daemon/state.h"
#include "tund/connect/ice.h"
#include "tund/connect/netcheck.h"
#include "tund/connect/portmap.h"
#include "tund/connect/membership.h"
#include "overlay/control_proto.h"

struct pending {
	struct tund_daemon *d;
	uint64_t client;
};

/* The global IPv6 addresses ICE offers now: with one on each side, members
 * connect over IPv6 whatever their IPv4 NATs do. */
static JsonArray *global_ipv6(const char *ifname)
{
	char addrs[8][INET6_ADDRSTRLEN];
	JsonArray *a = json_array_new();
	int n = tund_ice_list_global_ipv6(ifname, addrs, G_N_ELEMENTS(addrs));

	if (n < 0)
		log_warn("netcheck: cannot list local addresses: %s", g_strerror(-n));
	for (int i = 0; i < n; i++)
		json_array_add_string_element(a, addrs[i]);
	return a;
}

static void done(void *ctx, JsonNode *result)
{
	struct pending *p = ctx;

	/* The router's port mapping, as found at start-up and kept since. */
	json_object_set_member(json_node_get_object(result), TUND_KEY_PORTMAP,
			       tund_portmap_describe(p->d->portmap));
	json_object_set_array_member(json_node_get_object(result), TUND_KEY_IPV6,
				     global_ipv6(p->d->ifname));
	tund_control_reply(p->d->control, p->client, tund_control_encode_ok(result));
	g_free(p);
}

int tund_cmd_netcheck(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		      size_t why_len)
{
	const char *name = tund_req_string(req, TUND_KEY_NETWORK);
	struct tund_membership *n = name ? tund_membership_find(d, name) :
			       d->networks && d->networks->len ? g_ptr_array_index(d->networks, 0) :
								  NULL;
	struct tund_netcheck_config cfg = { 0 };
	struct tund_network from_config;
	const struct tund_network *net;
	struct tund_stun_server stun = { 0 };
	struct pending *p;

	(void)out; /* answered by done() */
	if (name && !n) {
		tund_why(why, why_len, "no network called \"%s\"", name);
		return -ENOENT;
	}
	if (n) {
		net = tund_membership_effective(n);
	} else {
		tund_config_ice_servers(&d->cfg, &from_config);
		net = &from_config;
	}
	if (!net->n_stun && !net->n_turn && !net->broker[0]) {
		tund_why(why, why_len,
			 "nothing to check: join a network or set [ice] stun/turn in the config");
		sodium_memzero(&from_config, sizeof(from_config));
		return -ENOENT;
	}
	/* A TURN server answers STUN binding requests too. */
	if (net->n_stun) {
		stun = net->stun[0];
	} else if (net->n_turn) {
		g_strlcpy(stun.host, net->turn[0].host, sizeof(stun.host));
		stun.port = net->turn[0].port;
	}
	cfg.stun = net->n_stun || net->n_turn ? &stun : NULL;
	cfg.turn = net->turn;
	cfg.n_turn = net->n_turn;
	cfg.broker = net->broker[0] ? net->broker : NULL;
	p = g_new0(struct pending, 1);
	p->d = d;
	p->client = d->current_client;
	tund_netcheck_run(&cfg, done, p); /* copies cfg */
	sodium_memzero(&from_config, sizeof(from_config));
	return 0;
}
