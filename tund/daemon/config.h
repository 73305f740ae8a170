/* SPDX-License-Identifier: MIT */
/* tund.conf: INI (GKeyFile). Every key is known; anything else is an error. */
#ifndef TUND_CONFIG_H
#define TUND_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/aead.h"
#include "overlay/cidr.h"
#include "overlay/network.h"

/* [ice] turn_prediction (doc/paths.md, "TURN only when needed"). */
enum tund_turn_prediction {
	TUND_TURN_PREDICT_OFF = 0, /* every session gathers on both sides */
	/* Pairs predicted direct: the answering side keeps standby relay
	 * candidates until the direct path has held (no slower when the
	 * prediction is wrong). The default. */
	TUND_TURN_PREDICT_ON = 1,
	/* Pairs predicted direct allocate nothing; a wrong prediction costs
	 * the first session's failure (about 7 s). */
	TUND_TURN_PREDICT_LEAN = 2,
};

#define TUND_DEFAULT_CONFIG "/etc/tund/tund.conf"
#define TUND_DEFAULT_STATE_DIR "/var/lib/tund"
#define TUND_DEFAULT_SOCKET "/run/tund/tund.sock"
#define TUND_DEFAULT_USER "tund"
#define TUND_CONFIG_MAX_NETWORKS 16

/* [network NAME]: servers that replace the invite's for that network (each
 * key independently), so a moved broker or relay needs no new invite. */
struct tund_config_network {
	char name[TUND_NET_NAME_MAX + 1];
	bool has_broker, has_stun, has_turn;
	char broker[256]; /* "" with has_broker: no broker (LAN only) */
	struct tund_stun_server stun[TUND_NET_MAX_STUN];
	unsigned n_stun;
	struct tund_turn_server turn[TUND_NET_MAX_TURN];
	unsigned n_turn;
};

struct tund_config {
	char ifname[IFNAMSIZ];
	bool has_addr4, has_addr6;
	struct tund_cidr addr4, addr6;
	unsigned mtu;
	uint16_t listen_port; /* 0: pick a free port */
	bool broadcast;       /* LAN games: fan broadcasts/multicasts out to peers */
	bool beacons;         /* LAN beacons: find members on the LAN without ICE */
	bool offload;         /* TUN segmentation/checksum offload (IFF_VNET_HDR) */
	bool io_uring;        /* read the TUN through io_uring where the kernel can */
	char *state_dir;
	char *control_socket;
	/* [ice]: host candidate ports (0 = any) and, for peers outside any
	 * network (manual signaling), STUN and TURN servers. */
	uint16_t ice_port_min, ice_port_max;
	char *ice_stun; /* "HOST:PORT" or NULL */
	char *ice_turn; /* "turn://USER:PASS@HOST:PORT?transport=udp|tcp" or NULL */
	/* Direct and TURN-over-UDP relayed ICE pairs carry data on a socket of
	 * tund's own (fastpath.h). */
	bool ice_fast_path;
	bool ice_portmap; /* map ICE ports on the router (PCP, NAT-PMP, UPnP-IGD) */
	/* [ice] turn_prediction: gather TURN only for pairs that may need it
	 * (tund/connect/turn_policy.h). */
	enum tund_turn_prediction ice_turn_prediction;
	/* [daemon] user: who tund runs as after start-up when started as root.
	 * NULL (unset): TUND_DEFAULT_USER if that user exists, else root;
	 * "" or "root": stay root. */
	char *user;
	/* [daemon] realtime: packet threads at real-time priority under load. */
	bool realtime;
	/* [daemon] light_on_one_thread: light traffic both ways on the
	 * receiving thread (tund/dataplane/tun_handoff.h). */
	bool light_on_one_thread;
	/* [daemon] aead: the transport cipher's backend (overlay/aead.h). */
	enum tund_aead_mode aead;
	/* [daemon] crypto_workers: -1 auto, 0 off, else that many
	 * (overlay/pool.h; tund_config_crypto_workers resolves auto). */
	int crypto_workers;
	struct tund_config_network networks[TUND_CONFIG_MAX_NETWORKS];
	unsigned n_networks;
};

/* The crypto workers to start: TUND_CRYPTO_WORKERS in the environment
 * (auto|off|N) wins over [daemon] crypto_workers; auto is
 * tund_pool_auto_workers of the online CPUs. -EINVAL for a bad
 * TUND_CRYPTO_WORKERS, else the count. *setting gets the text the count
 * came from ("auto", "off" or the number), in a buffer of 16 bytes. */
int tund_config_crypto_workers(const struct tund_config *cfg, char setting[16]);
/* Fills cfg with the defaults. */
void tund_config_init(struct tund_config *cfg);
void tund_config_free(struct tund_config *cfg);
/* Parses INI text; label names the source in messages. On failure returns
 * -EINVAL and writes one line "LABEL:LINE: [group] key: problem" into why
 * (a TURN password is never quoted). */
int tund_config_parse(struct tund_config *cfg, const char *data, size_t len,
		      const char *label, char *why, size_t why_len);
/* Reads and parses a file: 0, -errno of the read, or -EINVAL, with why. */
int tund_config_load(struct tund_config *cfg, const char *path, char *why, size_t why_len);
/* The [network NAME] section for name, or NULL. */
const struct tund_config_network *tund_config_network(const struct tund_config *cfg,
						      const char *name);
/* net with the servers of its [network NAME] section, if any, in place. */
void tund_config_apply_network(const struct tund_config *cfg, struct tund_network *net);
/* [ice] stun and turn as a network's server list, for peers outside networks
 * (out is cleared first; a value that does not parse is left out). */
void tund_config_ice_servers(const struct tund_config *cfg, struct tund_network *out);

#endif
