// SPDX-License-Identifier: MIT
/* The daemon's lifecycle: tund_daemon_start reads as the start-up order;
 * tund_daemon_stop undoes it in reverse. */
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "netlink/link.h"
#include "overlay/aead.h"
#include "overlay/network.h"
#include "tund/connect/invites.h"
#include "tund/connect/member_relay.h"
#include "tund/connect/networks.h"
#include "tund/connect/path.h"
#include "tund/connect/portmap.h"
#include "tund/control/commands.h"
#include "tund/control/control.h"
#include "tund/daemon/daemon.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "tund/dataplane/dataplane.h"
#include "tund/dataplane/priority.h"
#include "tund/host/bcast_rules.h"
#include "tund/host/interface.h"
#include "tund/host/privdrop.h"

/* The config, and a first check that its interface name is free. */
static bool load_config(struct tund_daemon *d)
{
	char why[TUND_WHY_LEN];

	if (tund_config_load(&d->cfg, d->config_path, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return false;
	}
	/* Checked again atomically at creation; this early check keeps the
	 * error to one line, before anything is loaded or created. */
	if (tund_link_index(d->cfg.ifname) > 0) {
		log_error("%s: [interface] name: interface \"%s\" already exists", d->config_path,
			  d->cfg.ifname);
		return false;
	}
	return true;
}

/* Whom to become once the interface is up (user: --user, or NULL). */
static bool plan_privileges(struct tund_daemon *d, const char *user, struct tund_privdrop *pd)
{
	char why[TUND_WHY_LEN];

	if (tund_privdrop_plan(user ? user : d->cfg.user, pd, why, sizeof(why)) < 0) {
		log_error("%s%s", user ? "--user: " : "", why);
		return false;
	}
	pd->keep_bind = (d->cfg.listen_port > 0 && d->cfg.listen_port < 1024) ||
			(d->cfg.ice_port_min > 0 && d->cfg.ice_port_min < 1024);
	return true;
}

/* *dir_created: whether the socket's folder is ours to hand over. */
static bool open_control(struct tund_daemon *d, bool *dir_created)
{
	g_autofree char *socket_dir = g_path_get_dirname(d->cfg.control_socket);
	int ret;

	*dir_created = !g_file_test(socket_dir, G_FILE_TEST_EXISTS);
	ret = tund_control_open(d->cfg.control_socket, tund_commands_handle, d, &d->control);
	if (ret) {
		log_error("%s: [paths] control_socket: cannot listen on %s: %s", d->config_path,
			  d->cfg.control_socket,
			  ret == -EADDRINUSE ? "another tund is running there" : g_strerror(-ret));
		return false;
	}
	return true;
}

/* Before the data plane's threads start: capabilities are per thread, and
 * the threads made later inherit the reduced set. */
static bool drop_privileges(struct tund_daemon *d, struct tund_privdrop *pd,
			    bool socket_dir_created)
{
	const char *what = NULL;
	char why[TUND_WHY_LEN];
	int ret;

	/* tundctl ping's raw ICMP socket, while CAP_NET_RAW may still be ours. */
	ret = tund_ping_open_socket();
	if (ret)
		log_warn("no ICMP socket for tundctl ping yet (each ping tries again): %s",
			 g_strerror(-ret));
	if (!pd->drop) {
		if (geteuid() == 0)
			log_info("running as root ([daemon] user is root, or no \"%s\" user)",
				 TUND_DEFAULT_USER);
		return true;
	}
	ret = tund_privdrop_hand_over(pd, d->cfg.state_dir, d->cfg.control_socket,
				      socket_dir_created, &what);
	if (ret) {
		log_error("cannot hand %s to user %s: %s", what, pd->user, g_strerror(-ret));
		return false;
	}
	ret = tund_privdrop_apply(pd, why, sizeof(why));
	if (ret) {
		log_error("cannot drop privileges to user %s: %s", pd->user, why);
		return false;
	}
	log_info("running as user %s (uid %u, gid %u) with only CAP_NET_ADMIN%s", pd->user,
		 (unsigned)pd->uid, (unsigned)pd->gid,
		 pd->keep_bind ? " and CAP_NET_BIND_SERVICE (a port below 1024)" : "");
	/* Owning state_dir is not enough if a parent cannot be searched. */
	if (access(d->cfg.state_dir, R_OK | W_OK | X_OK) != 0) {
		log_error("%s: [paths] state_dir: user %s cannot use %s: %s", d->config_path,
			  pd->user, d->cfg.state_dir, g_strerror(errno));
		return false;
	}
	g_autofree char *sdir = g_path_get_dirname(d->cfg.control_socket);
	if (access(sdir, W_OK | X_OK) != 0)
		log_warn("user %s cannot write to %s: the control socket stays there after exit "
			 "(the next start replaces it)", pd->user, sdir);
	return true;
}

static bool start_dataplane(struct tund_daemon *d)
{
	struct tund_dataplane_opts opts = { .tun_fd = d->tun_fd,
					    .vnet = d->cfg.offload,
					    .uso = d->tun_uso,
					    .realtime = d->cfg.realtime,
					    .light_on_one_thread = d->cfg.light_on_one_thread,
					    .io_uring = d->cfg.io_uring,
					    .listen_port = d->cfg.listen_port,
					    .mtu = d->cfg.mtu };
	int ret = tund_config_crypto_workers(&d->cfg, d->crypto_setting);

	if (ret < 0) {
		log_error("TUND_CRYPTO_WORKERS=%s: expected auto, off or a number of threads "
			  "from 0 to 64", getenv("TUND_CRYPTO_WORKERS"));
		return false;
	}
	opts.crypto_workers = (unsigned)ret;
	ret = tund_dataplane_start(&opts, d->private_key, &d->dp);
	if (ret) {
		log_error("%s: [interface] listen_port: cannot use UDP port %u: %s", d->config_path,
			  d->cfg.listen_port, g_strerror(-ret));
		return false;
	}
	d->listen_port = tund_dataplane_port(d->dp);
	log_info("crypto workers (%s): %u%s", d->crypto_setting, opts.crypto_workers,
		 opts.crypto_workers ? " threads seal and open large batches with the packet threads" :
				       ", the packet threads seal and open alone");
	if (d->cfg.ice_fast_path && (ret = tund_dataplane_enable_fast_paths(d->dp)))
		log_warn("%s: [ice] fast_path: off, ICE paths stay on libnice: %s",
			 d->config_path, g_strerror(-ret));
	return true;
}

/* The transport cipher's backend per packet size ([daemon] aead, or
 * TUND_AEAD in the environment), measured here rather than on the first
 * packet; one line says what was chosen and why. */
static bool start_aead(struct tund_daemon *d)
{
	struct tund_aead_choice c;
	char rates[256] = "", from[64] = "libsodium for every size";
	size_t used = 0;
	int ret = tund_aead_setup(d->cfg.aead, &c);

	if (ret == -EINVAL) {
		log_error("TUND_AEAD=%s: expected auto, sodium or openssl", getenv("TUND_AEAD"));
		return false;
	}
	if (ret)
		log_warn("%s: [daemon] aead (or TUND_AEAD): openssl does not compute what "
			 "libsodium does here, using libsodium", d->config_path);
	if (c.openssl_from == 0)
		snprintf(from, sizeof(from), "openssl for every size");
	else if (c.openssl_from != SIZE_MAX)
		snprintf(from, sizeof(from), "openssl from %zu bytes, libsodium below",
			 c.openssl_from);
	for (int s = 0; c.mode == TUND_AEAD_MODE_AUTO && s < TUND_AEAD_PROBE_SIZES &&
			used < sizeof(rates); s++)
		used += (size_t)snprintf(rates + used, sizeof(rates) - used, "%s%zu B %.0f/%.0f",
					 s ? ", " : " (MB per CPU-second, sodium/openssl: ",
					 tund_aead_probe_sizes[s],
					 c.mbps[TUND_AEAD_SODIUM][s], c.mbps[TUND_AEAD_OPENSSL][s]);
	log_info("transport cipher (%s): %s%s%s", tund_aead_mode_name(c.mode), from, rates,
		 *rates ? ")" : "");
	return true;
}

/* Peers from peers.json outside networks; members come with their networks. */
static void start_static_peers(struct tund_daemon *d)
{
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);
		int ret;

		if (p->state != TUND_PEER_STATIC)
			continue;
		ret = tund_dataplane_peer_apply(d->dp, p);
		if (ret)
			log_error("peer %s: cannot start its session: %s", p->name ? p->name : "",
				  g_strerror(-ret));
	}
}

/* [interface] broadcast: LAN games' broadcasts reach the peers. */
static void start_broadcast(struct tund_daemon *d)
{
	char why[512];
	int ret;

	if (!d->cfg.broadcast)
		return;
	ret = tund_bcast_rules_install(d->ifname, why, sizeof(why));
	if (ret)
		log_error("broadcast for LAN games is off: %s", why[0] ? why : g_strerror(-ret));
	else
		d->bcast_rules = true;
	tund_dataplane_set_broadcast(d->dp, true, d->cfg.has_addr4 ? &d->cfg.addr4 : NULL);
}

bool tund_daemon_start(struct tund_daemon *d, const char *user)
{
	struct tund_privdrop pd = { 0 };
	bool socket_dir_created, ok = false;

	tund_config_init(&d->cfg);
	tund_peer_list_init(&d->peers);
	if (!load_config(d) || !plan_privileges(d, user, &pd))
		goto out;
	if (!tund_daemon_load_state(d) || !tund_networks_load(d))
		goto out;
	if (!open_control(d, &socket_dir_created) || !tund_interface_up(d))
		goto out;
	/* While root: an unprivileged daemon may then switch its packet
	 * threads to real-time priority 1 and back (tund/dataplane/priority.h).
	 * A failure shows when a thread first asks. */
	if (d->cfg.realtime)
		(void)tund_prio_allow();
	if (!drop_privileges(d, &pd, socket_dir_created) || !start_aead(d) ||
	    !start_dataplane(d))
		goto out;
	start_static_peers(d);
	log_info("listening on UDP port %u", d->listen_port);
	/* Before any path gathers: its mapping requests queue behind discovery. */
	if (d->cfg.ice_portmap)
		(void)tund_portmap_new(&d->portmap);
	start_broadcast(d);
	tund_networks_start_pending(d);
	tund_member_relay_start(d);
	d->loop = g_main_loop_new(tund_loop_context(), FALSE);
	d->started_us = g_get_monotonic_time();
	ok = true;
out:
	tund_privdrop_clear(&pd);
	return ok;
}

void tund_daemon_run(struct tund_daemon *d)
{
	log_info("control socket %s ready", d->cfg.control_socket);
	g_main_loop_run(d->loop);
}

void tund_daemon_stop(struct tund_daemon *d)
{
	tund_member_relay_stop(d);
	tund_networks_stop_all(d);
	for (guint i = 0; d->peers.items && i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		tund_path_free(p->path);
		p->path = NULL;
	}
	/* After the paths: their mappings come off the router before exit. */
	tund_portmap_free(d->portmap);
	d->portmap = NULL;
	tund_dataplane_stop(d->dp);
	if (d->bcast_rules)
		tund_bcast_rules_remove(d->ifname);
	tund_interface_down(d);
	tund_control_close(d->control);
	if (d->loop)
		g_main_loop_unref(d->loop);
	tund_peer_list_clear(&d->peers);
	sodium_memzero(d->private_key, sizeof(d->private_key));
	g_free(d->peers_path);
	g_free(d->networks_path);
	tund_invites_free(d->invites);
	if (d->pending_networks)
		g_ptr_array_unref(d->pending_networks);
	g_free(d->config_path);
	tund_config_free(&d->cfg);
}
