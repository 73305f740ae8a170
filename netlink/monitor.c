// SPDX-License-Identifier: MIT
#include "netlink/monitor.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>

struct tund_nl_monitor {
	struct mnl_socket *nl;
};

struct dispatch {
	tund_nl_event_fn fn;
	void *ctx;
};

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct dispatch *d = data;
	struct tund_nl_event ev = { 0 };

	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa;

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
			return MNL_CB_OK;
		ifa = mnl_nlmsg_get_payload(nlh);
		ev.kind = nlh->nlmsg_type == RTM_NEWADDR ? TUND_NL_ADDR_NEW : TUND_NL_ADDR_DEL;
		ev.ifindex = (int)ifa->ifa_index;
		ev.family = ifa->ifa_family;
		ev.scope = ifa->ifa_scope;
		ev.flags = ifa->ifa_flags;
		break;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi;

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
			return MNL_CB_OK;
		ifi = mnl_nlmsg_get_payload(nlh);
		ev.kind = nlh->nlmsg_type == RTM_NEWLINK ? TUND_NL_LINK_NEW : TUND_NL_LINK_DEL;
		ev.ifindex = ifi->ifi_index;
		ev.flags = ifi->ifi_flags;
		break;
	}
	default:
		return MNL_CB_OK;
	}
	d->fn(d->ctx, &ev);
	return MNL_CB_OK;
}

int tund_nl_monitor_open(unsigned what, struct tund_nl_monitor **out)
{
	struct tund_nl_monitor *m = calloc(1, sizeof(*m));
	unsigned groups = 0;
	int ret;

	if (!m)
		return -ENOMEM;
	if (what & TUND_NL_WATCH_ADDR)
		groups |= RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
	if (what & TUND_NL_WATCH_LINK)
		groups |= RTMGRP_LINK;
	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->nl || mnl_socket_bind(m->nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		tund_nl_monitor_close(m);
		return ret ? ret : -EIO;
	}
	*out = m;
	return 0;
}

int tund_nl_monitor_fd(const struct tund_nl_monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

void tund_nl_monitor_read(struct tund_nl_monitor *m, tund_nl_event_fn fn, void *ctx)
{
	struct dispatch d = { fn, ctx };
	char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE is not a constant */
	ssize_t n;

	while ((n = mnl_socket_recvfrom(m->nl, buf, sizeof(buf))) > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, &d);
	if (n < 0 && errno == ENOBUFS) {
		struct tund_nl_event lost = { .kind = TUND_NL_LOST };

		fn(ctx, &lost);
	}
}

void tund_nl_monitor_close(struct tund_nl_monitor *m)
{
	if (!m)
		return;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m);
}
