/* SPDX-License-Identifier: MIT */
/* tund.conf: INI (GKeyFile). Every key is known; anything else is an error. */
#ifndef TUND_CONFIG_H
#define TUND_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/cidr.h"

#define TUND_DEFAULT_CONFIG "/etc/tund/tund.conf"
#define TUND_DEFAULT_STATE_DIR "/var/lib/tund"
#define TUND_DEFAULT_SOCKET "/run/tund/tund.sock"

struct tund_config {
	char ifname[IFNAMSIZ];
	bool has_addr4, has_addr6;
	struct tund_cidr addr4, addr6;
	unsigned mtu;
	uint16_t listen_port; /* 0: pick a free port */
	bool broadcast;       /* LAN games: fan broadcasts/multicasts out to peers */
	bool offload;         /* TUN segmentation/checksum offload (IFF_VNET_HDR) */
	char *state_dir;
	char *control_socket;
	/* [ice]: host candidate ports (0 = any) and, for peers outside any
	 * network (manual signaling), STUN and TURN servers. */
	uint16_t ice_port_min, ice_port_max;
	char *ice_stun; /* "HOST:PORT" or NULL */
	char *ice_turn; /* "turn://USER:PASS@HOST:PORT?transport=udp|tcp" or NULL */
};

/* Fills cfg with the defaults. */
void tund_config_init(struct tund_config *cfg);
void tund_config_free(struct tund_config *cfg);
/* Parses INI text; label names the source in messages. On failure returns
 * false and sets *err to one line "LABEL: [group] key: problem" (g_free it). */
bool tund_config_parse(struct tund_config *cfg, const char *data, size_t len,
		       const char *label, char **err);
/* Reads and parses a file, with the same error convention. */
bool tund_config_load(struct tund_config *cfg, const char *path, char **err);

#endif
