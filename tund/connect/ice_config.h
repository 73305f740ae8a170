/* SPDX-License-Identifier: MIT */
/* The ICE settings a path (tund/connect/path.c) is made with. */
#ifndef TUND_ICE_CONFIG_H
#define TUND_ICE_CONFIG_H

struct tund_daemon;
struct tund_network;
struct tund_ice_server_config;

/* ICE servers for a network (or, with net NULL, from [ice] in the config),
 * the port range and our TUN to leave out. */
void tund_ice_config_for(struct tund_daemon *d, const struct tund_network *net,
			 struct tund_ice_server_config *cfg);

/* The settings of a probe (a relayed path looking for a direct one, which
 * drops whatever relayed pair it finds): cfg without its TURN servers, so it
 * allocates nothing, and with cfg's STUN server or else its first UDP TURN
 * server as the STUN server. */
void tund_ice_config_probe(const struct tund_ice_server_config *cfg,
			   struct tund_ice_server_config *out);

#endif
