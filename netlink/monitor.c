// SPDX-License-Identifier: MIT
#include "netlink/monitor.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct tund_nl_monitor {
	struct mnl_socket *nl;
};

struct dispatch {
	tund_nl_event_fn fn;
	void *ctx;
};

/* The address an RTM_NEWADDR/DELADDR names: for IPv4 IFA_LOCAL (IFA_ADDRESS
 * is the far end on a point-to-point link), for IPv6 IFA_ADDRESS. Attributes
 * of the wrong size are left out. */
static void addr_of(const struct nlmsghdr *nlh, const struct ifaddrmsg *ifa,
		    struct tund_nl_event *ev)
{
	const size_t want = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
	const struct nlattr *attr;

	if (!want)
		return;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		uint16_t type = mnl_attr_get_type(attr);

		if (mnl_attr_get_payload_len(attr) != want ||
		    (type != IFA_LOCAL && type != IFA_ADDRESS))
			continue;
		/* IFA_LOCAL wins over IFA_ADDRESS for IPv4, whatever the order. */
		if (type == IFA_ADDRESS && ev->addr_len && ifa->ifa_family == AF_INET)
			continue;
		memcpy(ev->addr, mnl_attr_get_payload(attr), want);
		ev->addr_len = (unsigned)want;
	}
}

/* One message, its length already checked against the datagram. */
static void on_msg(const struct nlmsghdr *nlh, const struct dispatch *d)
{
	struct tund_nl_event ev = { 0 };

	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa;

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
			return;
		ifa = mnl_nlmsg_get_payload(nlh);
		ev.kind = nlh->nlmsg_type == RTM_NEWADDR ? TUND_NL_ADDR_NEW : TUND_NL_ADDR_DEL;
		ev.ifindex = (int)ifa->ifa_index;
		ev.family = ifa->ifa_family;
		ev.scope = ifa->ifa_scope;
		ev.flags = ifa->ifa_flags;
		addr_of(nlh, ifa, &ev);
		break;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi;

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
			return;
		ifi = mnl_nlmsg_get_payload(nlh);
		ev.kind = nlh->nlmsg_type == RTM_NEWLINK ? TUND_NL_LINK_NEW : TUND_NL_LINK_DEL;
		ev.ifindex = ifi->ifi_index;
		ev.flags = ifi->ifi_flags;
		break;
	}
	default:
		return;
	}
	if (ev.ifindex <= 0)
		return; /* no interface has it */
	d->fn(d->ctx, &ev);
}

/* Walks the messages itself: libmnl's mnl_nlmsg_ok compares lengths as int,
 * so a header claiming 2 GiB or more would step past the datagram. */
bool tund_nl_monitor_parse(const void *buf, size_t len, tund_nl_event_fn fn, void *ctx)
{
	const struct dispatch d = { fn, ctx };
	const uint8_t *p = buf;

	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr hdr;
		size_t step;

		memcpy(&hdr, p, sizeof(hdr));
		if (hdr.nlmsg_len < sizeof(hdr) || hdr.nlmsg_len > len)
			return false;
		if (((uintptr_t)p % NLMSG_ALIGNTO) == 0)
			on_msg((const struct nlmsghdr *)p, &d);
		step = NLMSG_ALIGN(hdr.nlmsg_len);
		if (step >= len)
			return true;
		p += step;
		len -= step;
	}
	return len == 0;
}

/* One datagram from the kernel (port 0), never from another process. */
static ssize_t receive(int fd, void *buf, size_t size)
{
	struct sockaddr_nl from;
	struct iovec iov = { buf, size };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from),
			      .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	for (;;) {
		n = recvmsg(fd, &msg, 0);
		if (n < 0)
			return n;
		if (msg.msg_namelen == sizeof(from) && from.nl_pid == 0 &&
		    !(msg.msg_flags & MSG_TRUNC))
			return n;
		msg.msg_namelen = sizeof(from); /* not the kernel's, or cut: next */
	}
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
	/* Aligned for the nlmsghdr casts in on_msg. */
	char buf[8192] __attribute__((aligned(8))); /* MNL_SOCKET_BUFFER_SIZE: no constant */
	ssize_t n;
	bool lost = false;

	while ((n = receive(mnl_socket_get_fd(m->nl), buf, sizeof(buf))) > 0)
		lost |= !tund_nl_monitor_parse(buf, (size_t)n, fn, ctx);
	if (lost || (n < 0 && errno == ENOBUFS)) {
		struct tund_nl_event ev = { .kind = TUND_NL_LOST };

		fn(ctx, &ev);
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
