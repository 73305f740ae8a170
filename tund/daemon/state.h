/* SPDX-License-Identifier: MIT */
/* The daemon's state, shared by its start-up (daemon.c), the control
 * commands and the joined networks. Touched only from the GLib main thread.
 * state.c keeps its files in state_dir: the private key and peers.json
 * (networks.json is tund/connect/networks.c's, invites.json
 * tund/connect/invites.c's). */
#ifndef TUND_STATE_H
#define TUND_STATE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <net/if.h>
#include <stdint.h>

#include "overlay/keys.h"
#include "tund/daemon/config.h"
#include "tund/daemon/peers.h"

struct tund_control;
struct tund_dataplane;
struct tund_invites;
struct tund_member_relay;

struct tund_daemon {
	struct tund_config cfg;
	char *config_path;
	uint8_t private_key[TUND_KEY_LEN];
	uint8_t public_key[TUND_KEY_LEN];
	char ifname[IFNAMSIZ];
	int ifindex;
	int tun_fd;
	bool tun_uso; /* the TUN takes UDP super packets (tund_tun_has_uso) */
	gint64 started_us; /* monotonic */
	struct tund_peer_list peers;
	char *peers_path;
	struct tund_control *control;
	struct tund_dataplane *dp;
	/* [daemon] crypto_workers as it was resolved at start: "auto", "off"
	 * or the number (the threads: tund_dataplane_crypto_workers). */
	char crypto_setting[16];
	/* Router port mapping (tund/connect/portmap.h); NULL when [ice] portmap = off. */
	struct tund_portmap *portmap;
	uint16_t listen_port; /* as bound */
	bool bcast_rules;     /* installed, to remove at exit */
	GMainLoop *loop;
	GPtrArray *networks; /* struct tund_membership *, owned */
	GPtrArray *pending_networks; /* loaded, started once the data plane runs */
	char *networks_path;
	/* Limited invites this node issued as an admin (tund/connect/invites.h):
	 * read on first use. */
	struct tund_invites *invites;
	/* Member relays: settings per network and the tick
	 * (tund/connect/member_relay.h); made on first use. */
	struct tund_member_relay *member_relay;
	/* The control client whose request is being handled (deferred replies). */
	uint64_t current_client;
};

/* Loads (or creates) the private key and loads peers.json from state_dir;
 * refuses a corrupt peers file. Logs why on failure. */
bool tund_daemon_load_state(struct tund_daemon *d);
/* peers.json: load at start into the empty peer list (a corrupt file is
 * refused whole, wiped from memory and left as it is; a missing one is an
 * empty list). */
bool tund_daemon_load_peers(struct tund_daemon *d);
/* Writes the peer list to state_dir atomically. 0 or -errno. */
int tund_daemon_save_peers(struct tund_daemon *d);

#endif
