/* SPDX-License-Identifier: MIT */
/* The daemon's state, shared by main, the control commands and (later) the
 * data plane. Touched only from the GLib main thread. */
#ifndef TUND_DAEMON_H
#define TUND_DAEMON_H

#include <glib.h>
#include <net/if.h>
#include <stdint.h>

#include "overlay/keys.h"
#include "tund/config.h"
#include "tund/peers.h"

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
	gint64 started_us; /* monotonic */
	struct tund_peer_list peers;
	char *peers_path;
	struct tund_control *control;
	struct tund_dataplane *dp;
	uint16_t listen_port; /* as bound */
	GMainLoop *loop;
};

/* Writes the peer list to state_dir atomically. 0 or -errno. */
int tund_daemon_save_peers(struct tund_daemon *d);

/* The control handler: one request line in, one reply line out. */
char *tund_commands_handle(void *daemon, const char *line, size_t len);

#endif
