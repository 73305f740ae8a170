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
	 * a STUN server next to it costs libnice about 2 s: tund_ice_new uses
	 * it only without TURN (a probe, tund_ice_config_probe). */
	if (net->n_stun) {
		g_strlcpy(cfg->stun_host, net->stun[0].host, sizeof(cfg->stun_host));
		cfg->stun_port = net->stun[0].port;
	}
	if (net == &from_config)
		sodium_memzero(&from_config, sizeof(from_config));
}

void tund_ice_config_probe(const struct tund_ice_server_config *cfg,
			   struct tund_ice_server_config *out)
{
	*out = *cfg;
	sodium_memzero(out->turn, sizeof(out->turn));
	out->n_turn = 0;
	if (out->stun_host[0])
		return;
	/* A TURN server answers STUN Binding requests on its port too
	 * (coturn does), which gives the probe its server-reflexive
	 * candidates. Over TCP only, UDP is blocked anyway: no STUN then. */
	for (unsigned i = 0; i < cfg->n_turn; i++) {
		if (cfg->turn[i].tcp || !cfg->turn[i].host[0])
			continue;
		g_strlcpy(out->stun_host, cfg->turn[i].host, sizeof(out->stun_host));
		out->stun_port = cfg->turn[i].port;
		return;
	}
}
