// SPDX-License-Identifier: MIT
/* tund: the daemon. Runs in the foreground, logs to stderr, exits cleanly on
 * SIGTERM/SIGINT with its interface and socket gone. */
#include <errno.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <glib-unix.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netlink/addr.h"
#include "netlink/link.h"
#include "netlink/tun.h"
#include "tund/host/bcast_rules.h"
#include "tund/control/commands.h"
#include "tund/control/control.h"
#include "overlay/network.h"
#include "tund/dataplane/dataplane.h"
#include "tund/daemon/daemon.h"
#include "tund/daemon/keyfile.h"
#include "tund/daemon/log.h"
#include "tund/connect/membership.h"
#include "tund/connect/path.h"
#include "tund/dataplane/priority.h"
#include "tund/host/privdrop.h"
#include "tund/daemon/statefile.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: tund [--config FILE] [--user USER] [--verbose]\n"
		   "  --config FILE   INI configuration (default " TUND_DEFAULT_CONFIG ")\n"
		   "  --user USER     started as root, run as USER with only CAP_NET_ADMIN once\n"
		   "                  the interface is up (overrides [daemon] user; root: stay\n"
		   "                  root; default: " TUND_DEFAULT_USER " if that user exists)\n"
		   "  --verbose       log debug events too\n"
		   "Runs in the foreground; stop with SIGTERM or SIGINT; SIGHUP reloads the\n"
		   "STUN/TURN and broker settings (like 'tundctl reload').\n");
}

static gboolean on_quit_signal(gpointer data)
{
	struct tund_daemon *d = data;

	log_info("signal received, shutting down");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_reload_signal(gpointer data)
{
	struct tund_daemon *d = data;
	char *err = NULL;
	JsonNode *reply;

	log_info("SIGHUP: reloading %s", d->config_path);
	reply = tund_daemon_reload(d, &err); /* logs what it did or why not */
	if (reply)
		json_node_unref(reply);
	g_free(err);
	return G_SOURCE_CONTINUE;
}

static bool load_state(struct tund_daemon *d)
{
	g_autofree char *key_path = g_build_filename(d->cfg.state_dir, "private.key", NULL);
	g_autofree char *data = NULL;
	g_autoptr(GError) gerr = NULL;
	char *err = NULL;
	char pub[TUND_KEY_B64_LEN + 1];
	gsize len;
	bool created;
	int ret;

	ret = tund_statefile_prepare_dir(d->cfg.state_dir);
	if (ret) {
		log_error("%s: [paths] state_dir: cannot use %s: %s", d->config_path,
			  d->cfg.state_dir, g_strerror(-ret));
		return false;
	}
	if (!tund_keyfile_load_or_create(key_path, d->private_key, &created, &err) ||
	    !tund_key_public(d->public_key, d->private_key)) {
		log_error("%s", err ? err : "private key gives an invalid public key");
		g_free(err);
		return false;
	}
	tund_key_encode(pub, d->public_key);
	log_info("%s private key %s; public key %s", created ? "created" : "loaded", key_path,
		 pub);

	d->peers_path = g_build_filename(d->cfg.state_dir, "peers.json", NULL);
	if (!g_file_get_contents(d->peers_path, &data, &len, &gerr)) {
		if (!g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			log_error("%s: %s", d->peers_path, gerr->message);
			return false;
		}
		return true;
	}
	if (!tund_peer_list_parse(&d->peers, data, len, &err)) {
		log_error("%s: %s; refusing to start and leaving the file as it is",
			  d->peers_path, err);
		g_free(err);
		return false;
	}
	sodium_memzero(data, len);
	log_info("loaded %u peers from %s", d->peers.items->len, d->peers_path);
	return true;
}

/* Creates the TUN device and configures it; on failure nothing is left. */
static bool bring_up_interface(struct tund_daemon *d)
{
	int ret;

	d->tun_fd = tund_tun_open(d->cfg.ifname, d->ifname, d->cfg.offload ? IFF_VNET_HDR : 0);
	if (d->tun_fd < 0) {
		if (d->tun_fd == -EBUSY || d->tun_fd == -EEXIST)
			log_error("%s: [interface] name: interface \"%s\" already exists",
				  d->config_path, d->cfg.ifname);
		else
			log_error("%s: [interface] name: cannot create TUN device \"%s\": %s",
				  d->config_path, d->cfg.ifname, g_strerror(-d->tun_fd));
		return false;
	}
	d->ifindex = tund_link_index(d->ifname);
	if (d->ifindex <= 0) {
		log_error("interface %s vanished right after creation", d->ifname);
		goto fail;
	}
	if (d->cfg.offload) {
		unsigned features;

		ret = tund_tun_enable_offload(d->tun_fd, &features);
		if (ret)
			log_warn("%s: no TUN offloads (%s); packets go one by one "
				 "([interface] offload = off silences this)", d->ifname,
				 g_strerror(-ret));
		else
			log_info("%s: TUN offloads on (features 0x%x)", d->ifname, features);
		d->tun_uso = !ret && tund_tun_has_uso(features);
	}
	ret = tund_link_set_mtu(d->ifindex, d->cfg.mtu);
	if (ret) {
		log_error("%s: [interface] mtu: cannot set %u: %s", d->config_path, d->cfg.mtu,
			  g_strerror(-ret));
		goto fail;
	}
	if (d->cfg.has_addr4 && (ret = tund_addr_add(d->ifindex, &d->cfg.addr4))) {
		log_error("%s: [interface] address: cannot add: %s", d->config_path,
			  g_strerror(-ret));
		goto fail;
	}
	if (d->cfg.has_addr6 && (ret = tund_addr_add(d->ifindex, &d->cfg.addr6))) {
		log_error("%s: [interface] address6: cannot add: %s", d->config_path,
			  g_strerror(-ret));
		goto fail;
	}
	ret = tund_link_set_up(d->ifindex);
	if (ret) {
		log_error("cannot set %s up: %s", d->ifname, g_strerror(-ret));
		goto fail;
	}
	log_info("interface %s up (index %d, mtu %u)", d->ifname, d->ifindex, d->cfg.mtu);
	return true;
fail:
	close(d->tun_fd);
	d->tun_fd = -1;
	/* Closing a non-persistent TUN removes it; delete to be sure. */
	tund_link_delete(d->ifindex);
	d->ifindex = 0;
	return false;
}

static void bring_down_interface(struct tund_daemon *d)
{
	if (d->tun_fd < 0)
		return;
	close(d->tun_fd);
	d->tun_fd = -1;
	if (d->ifindex > 0 && tund_link_index(d->ifname) == d->ifindex)
		tund_link_delete(d->ifindex);
	log_info("interface %s removed", d->ifname);
}

/* Before the data plane's threads start: capabilities are per thread, and
 * the threads made later inherit the reduced set. */
static bool drop_privileges(struct tund_daemon *d, struct tund_privdrop *pd,
			    bool socket_dir_created)
{
	const char *what = NULL;
	char *err = NULL;
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
	ret = tund_privdrop_apply(pd, &err);
	if (ret) {
		log_error("cannot drop privileges to user %s: %s", pd->user, err);
		g_free(err);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tund_daemon d = { .tun_fd = -1 };
	struct tund_privdrop pd = { 0 };
	g_autofree char *user = NULL, *socket_dir = NULL;
	bool socket_dir_created;
	char *err = NULL;
	int opt, ret, status = 1;

	d.config_path = g_strdup(TUND_DEFAULT_CONFIG);
	while ((opt = getopt_long(argc, argv, "c:u:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			g_free(d.config_path);
			d.config_path = g_strdup(optarg);
			break;
		case 'u':
			g_free(user);
			user = g_strdup(optarg);
			break;
		case 'v':
			tund_log_set_level(TUND_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tund: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	tund_config_init(&d.cfg);
	tund_peer_list_init(&d.peers);
	if (!tund_config_load(&d.cfg, d.config_path, &err)) {
		log_error("%s", err);
		g_free(err);
		goto out;
	}
	/* Checked again atomically at creation; this early check keeps the
	 * error to one line, before anything is loaded or created. */
	if (tund_link_index(d.cfg.ifname) > 0) {
		log_error("%s: [interface] name: interface \"%s\" already exists", d.config_path,
			  d.cfg.ifname);
		goto out;
	}
	if (!tund_privdrop_plan(user ? user : d.cfg.user, &pd, &err)) {
		log_error("%s%s", user ? "--user: " : "", err);
		g_free(err);
		goto out;
	}
	pd.keep_bind = (d.cfg.listen_port > 0 && d.cfg.listen_port < 1024) ||
		       (d.cfg.ice_port_min > 0 && d.cfg.ice_port_min < 1024);
	if (!load_state(&d) || !tund_daemon_load_networks(&d))
		goto out;

	socket_dir = g_path_get_dirname(d.cfg.control_socket);
	socket_dir_created = !g_file_test(socket_dir, G_FILE_TEST_EXISTS);
	ret = tund_control_open(d.cfg.control_socket, tund_commands_handle, &d, &d.control);
	if (ret) {
		log_error("%s: [paths] control_socket: cannot listen on %s: %s", d.config_path,
			  d.cfg.control_socket,
			  ret == -EADDRINUSE ? "another tund is running there" : g_strerror(-ret));
		goto out;
	}
	if (!bring_up_interface(&d))
		goto out;
	/* While root: an unprivileged daemon may then switch its packet
	 * threads to real-time priority 1 and back (tund/priority.h). A
	 * failure shows when a thread first asks. */
	if (d.cfg.realtime)
		(void)tund_prio_allow();
	if (!drop_privileges(&d, &pd, socket_dir_created))
		goto out;

	struct tund_dataplane_opts dp_opts = { .tun_fd = d.tun_fd,
					    .vnet = d.cfg.offload,
					    .uso = d.tun_uso,
					    .realtime = d.cfg.realtime,
					    .io_uring = d.cfg.io_uring,
					    .listen_port = d.cfg.listen_port,
					    .mtu = d.cfg.mtu };

	ret = tund_dataplane_start(&dp_opts, d.private_key, &d.dp);
	if (ret) {
		log_error("%s: [interface] listen_port: cannot use UDP port %u: %s", d.config_path,
			  d.cfg.listen_port, g_strerror(-ret));
		goto out;
	}
	d.listen_port = tund_dataplane_port(d.dp);
	if (d.cfg.ice_fast_path && (ret = tund_dataplane_enable_fast_paths(d.dp)))
		log_warn("%s: [ice] fast_path: off, direct paths stay on libnice: %s",
			 d.config_path, g_strerror(-ret));
	for (guint i = 0; i < d.peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d.peers.items, i);

		if (p->state != TUND_PEER_STATIC)
			continue; /* members come with their networks */
		ret = tund_dataplane_peer_apply(d.dp, p);
		if (ret)
			log_error("peer %s: cannot start its session: %s", p->name ? p->name : "",
				  g_strerror(-ret));
	}
	log_info("listening on UDP port %u", d.listen_port);
	if (d.cfg.broadcast) {
		char *berr = NULL;

		ret = tund_bcast_rules_install(d.ifname, &berr);
		if (ret)
			log_error("broadcast for LAN games is off: %s", berr ? berr : g_strerror(-ret));
		else
			d.bcast_rules = true;
		free(berr);
		tund_dataplane_set_broadcast(d.dp, true, d.cfg.has_addr4 ? &d.cfg.addr4 : NULL);
	}
	for (guint i = 0; d.pending_networks && i < d.pending_networks->len; i++) {
		struct tund_network *net = g_ptr_array_index(d.pending_networks, i);

		g_ptr_array_add(d.networks, tund_netrt_start(&d, net, false));
		sodium_memzero(net, sizeof(*net));
	}
	g_clear_pointer(&d.pending_networks, g_ptr_array_unref);

	d.loop = g_main_loop_new(NULL, FALSE);
	d.started_us = g_get_monotonic_time();
	g_unix_signal_add(SIGTERM, on_quit_signal, &d);
	g_unix_signal_add(SIGINT, on_quit_signal, &d);
	g_unix_signal_add(SIGHUP, on_reload_signal, &d);
	log_info("control socket %s ready", d.cfg.control_socket);
	g_main_loop_run(d.loop);
	status = 0;
out:
	tund_daemon_stop_networks(&d);
	for (guint i = 0; i < d.peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d.peers.items, i);

		tund_path_free(p->path);
		p->path = NULL;
	}
	tund_dataplane_stop(d.dp);
	if (d.bcast_rules)
		tund_bcast_rules_remove(d.ifname);
	bring_down_interface(&d);
	tund_control_close(d.control);
	if (d.loop)
		g_main_loop_unref(d.loop);
	tund_peer_list_clear(&d.peers);
	sodium_memzero(d.private_key, sizeof(d.private_key));
	g_free(d.peers_path);
	g_free(d.networks_path);
	if (d.pending_networks)
		g_ptr_array_unref(d.pending_networks);
	g_free(d.config_path);
	tund_config_free(&d.cfg);
	tund_privdrop_clear(&pd);
	return status;
}
