/* SPDX-License-Identifier: MIT */
/* The daemon's state, shared by main, the control commands and (later) the
 * data plane. Touched only from the GLib main thread. */
#ifndef TUND_DAEMON_H
#define TUND_DAEMON_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <net/if.h>
#include <stdint.h>

#include "overlay/keys.h"
#include "tund/daemon/config.h"
#include "tund/daemon/peers.h"

struct tund_control;
struct tund_dataplane;

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
	uint16_t listen_port; /* as bound */
	bool bcast_rules;     /* installed, to remove at exit */
	GMainLoop *loop;
	GPtrArray *networks; /* struct tund_netrt *, owned */
	GPtrArray *pending_networks; /* loaded, started once the data plane runs */
	char *networks_path;
	/* The control client whose request is being handled (deferred replies). */
	uint64_t current_client;
};

struct tund_netrt;
struct tund_network;
struct tund_ice_server_config;

/* The joined network called name, or NULL. */
struct tund_netrt *tund_daemon_network(struct tund_daemon *d, const char *name);
/* ICE servers for a network (or, with net NULL, from [ice] in the config),
 * the port range and our TUN to leave out. */
void tund_daemon_ice_config(struct tund_daemon *d, const struct tund_network *net,
			    struct tund_ice_server_config *cfg);
/* networks.json: load at start (refusing a corrupt file), save on change. */
bool tund_daemon_load_networks(struct tund_daemon *d);
int tund_daemon_save_networks(struct tund_daemon *d);
void tund_daemon_stop_networks(struct tund_daemon *d);

/* Re-reads config_path and applies what can change at run time (see
 * tund/reload.c). The reply object ({config, applied, needs_restart}), or
 * NULL with *err (the file:line problem; nothing changed). */
JsonNode *tund_daemon_reload(struct tund_daemon *d, char **err);

/* Writes the peer list to state_dir atomically. 0 or -errno. */
int tund_daemon_save_peers(struct tund_daemon *d);

/* The control handler: one request line in, one reply line out. */
char *tund_commands_handle(void *daemon, uint64_t client, const char *line, size_t len);

#endif
