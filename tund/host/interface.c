// SPDX-License-Identifier: MIT
/* The TUN interface: created and configured at start, removed at exit. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netlink/addr.h"
#include "netlink/link.h"
#include "netlink/tun.h"
#include "tund/daemon/log.h"
#include "tund/host/interface.h"

/* After a failed TUN open: if the device node's mode shuts this process out
 * (a capability does not override it), says so in one line with what to do
 * and returns true. */
static bool log_tun_shut_out(const struct tund_daemon *d)
{
	struct passwd *pw;
	struct group *gr;
	struct stat st;

	if ((d->tun_fd != -EACCES && d->tun_fd != -EPERM) ||
	    faccessat(AT_FDCWD, TUND_TUN_DEVICE, R_OK | W_OK, AT_EACCESS) == 0 ||
	    stat(TUND_TUN_DEVICE, &st) != 0)
		return false;
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	log_error("%s: [interface] name: cannot create TUN device \"%s\": %s is mode %04o "
		  "(owner %s:%s) and tund runs as uid %u: start tund as root (it opens the device, "
		  "then switches to [daemon] user) or make %s mode 0666",
		  d->config_path, d->cfg.ifname, TUND_TUN_DEVICE, (unsigned)(st.st_mode & 07777),
		  pw ? pw->pw_name : "?", gr ? gr->gr_name : "?", (unsigned)geteuid(),
		  TUND_TUN_DEVICE);
	return true;
}

/* Creates the TUN device and configures it; on failure nothing is left. */
bool tund_interface_up(struct tund_daemon *d)
{
	int ret;

	d->tun_fd = tund_tun_open(d->cfg.ifname, d->ifname, d->cfg.offload ? IFF_VNET_HDR : 0);
	if (d->tun_fd < 0) {
		if (d->tun_fd == -EBUSY || d->tun_fd == -EEXIST)
			log_error("%s: [interface] name: interface \"%s\" already exists",
				  d->config_path, d->cfg.ifname);
		else if (!log_tun_shut_out(d))
			log_error("%s: [interface] name: cannot create TUN device \"%s\": %s%s",
				  d->config_path, d->cfg.ifname, g_strerror(-d->tun_fd),
				  d->tun_fd == -EPERM ? " (it needs CAP_NET_ADMIN and a device policy "
							"that allows " TUND_TUN_DEVICE ")" : "");
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

void tund_interface_down(struct tund_daemon *d)
{
	if (d->tun_fd < 0)
		return;
	close(d->tun_fd);
	d->tun_fd = -1;
	if (d->ifindex > 0 && tund_link_index(d->ifname) == d->ifindex)
		tund_link_delete(d->ifindex);
	log_info("interface %s removed", d->ifname);
}
