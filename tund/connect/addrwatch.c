// SPDX-License-Identifier: MIT
#include "tund/connect/addrwatch.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tund/daemon/log.h"

enum {
	/* A move is several events (old address gone, new one, routes): one
	 * report for all of them. */
	SETTLE_MS = 300,
};

struct tund_addrwatch {
	struct mnl_socket *nl;
	guint watch, timer;
	int exclude;
	bool removed;
	tund_addrwatch_fn cb;
	void *ctx;
};

static gboolean settled(gpointer data)
{
	struct tund_addrwatch *w = data;
	bool removed = w->removed;

	w->timer = 0;
	w->removed = false;
	w->cb(w->ctx, removed);
	return G_SOURCE_REMOVE;
}

static void changed(struct tund_addrwatch *w, bool removed)
{
	w->removed |= removed;
	if (w->timer)
		g_source_remove(w->timer);
	w->timer = g_timeout_add(SETTLE_MS, settled, w);
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct tund_addrwatch *w = data;
	const struct ifaddrmsg *ifa;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	/* Loopback is host scope, IPv6 link-local is link scope: ICE uses neither. */
	if ((int)ifa->ifa_index == w->exclude || ifa->ifa_scope >= RT_SCOPE_LINK)
		return MNL_CB_OK;
	/* IPv6 privacy addresses come and go every few hours; renewing every
	 * path each time would cost more than the rare path that used one
	 * (consent loss catches that within about 10 s). */
	if (ifa->ifa_family == AF_INET6 && (ifa->ifa_flags & IFA_F_TEMPORARY))
		return MNL_CB_OK;
	changed(w, nlh->nlmsg_type == RTM_DELADDR);
	return MNL_CB_OK;
}

static gboolean on_readable(int fd, GIOCondition cond, gpointer data)
{
	struct tund_addrwatch *w = data;
	char buf[8192];
	ssize_t n;

	(void)fd;
	(void)cond;
	while ((n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf))) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, w);
	if (n < 0 && errno == ENOBUFS)
		changed(w, true); /* events were lost: assume the worst */
	return G_SOURCE_CONTINUE;
}

struct tund_addrwatch *tund_addrwatch_new(int exclude_ifindex, tund_addrwatch_fn cb, void *ctx,
					  char **err)
{
	struct tund_addrwatch *w = g_new0(struct tund_addrwatch, 1);

	w->exclude = exclude_ifindex;
	w->cb = cb;
	w->ctx = ctx;
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!w->nl ||
	    mnl_socket_bind(w->nl, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
		*err = g_strdup_printf("rtnetlink: %s", g_strerror(errno));
		tund_addrwatch_free(w);
		return NULL;
	}
	w->watch = g_unix_fd_add(mnl_socket_get_fd(w->nl), G_IO_IN, on_readable, w);
	return w;
}

void tund_addrwatch_free(struct tund_addrwatch *w)
{
	if (!w)
		return;
	if (w->watch)
		g_source_remove(w->watch);
	if (w->timer)
		g_source_remove(w->timer);
	if (w->nl)
		mnl_socket_close(w->nl);
	g_free(w);
}

bool tund_addrwatch_is_local(const void *addr, unsigned len)
{
	const struct sockaddr *sa = addr;
	struct sockaddr_storage ss = { 0 };
	int fd, rc;

	if (len > sizeof(ss) || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return true; /* nothing to check: keep what works */
	memcpy(&ss, addr, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	rc = bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
	close(fd);
	return rc != EADDRNOTAVAIL;
}
