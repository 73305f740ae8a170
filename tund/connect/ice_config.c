// SPDX-License-Identifier: MIT
/* The ICE servers and ports a path uses, from a network or from [ice]. */
#include <sodium.h>
#include <string.h>

#include "overlay/network.h"
#include "tund/connect/ice.h"
#include "tund/connect/ice_config.h"
#include "tund/daemon/state.h"

void tund_ice_config_for(struct tund_daemon *d, const struct tund_network *net,
			 struct tund_ice_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port_min = d->cfg.ice_port_min;
	cfg->port_max = d->cfg.ice_port_max;
	g_strlcpy(cfg->exclude_ifname, d->ifname, sizeof(cfg->exclude_ifname));
	struct tund_network from_config;
	if (!net) {
		/* Peers outside networks use [ice] from the config. */
		tund_config_ice_servers(&d->cfg, &from_config);
		net = &from_config;
	}
	for (unsigned i = 0; i < net->n_turn && i < G_N_ELEMENTS(cfg->turn); i++) {
		cfg->turn[i] = net->turn[i];
		cfg->n_turn++;
	}
	/* TURN's allocation already yields the server-reflexive candidate;
	 * a STUN server next to it costs libnice about 2 s. */
	if (!cfg->n_turn && net->n_stun) {
		g_strlcpy(cfg->stun_host, net->stun[0].host, sizeof(cfg->stun_host));
		cfg->stun_port = net->stun[0].port;
	}
	if (net == &from_config)
		sodium_memzero(&from_config, sizeof(from_config));
}
