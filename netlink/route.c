// SPDX-License-Identifier: MIT
#include "netlink/route.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/nl.h"
#include "overlay/cidr.h"

/* The common encoder: rtype RTN_UNICAST with scope link, or RTN_MULTICAST
 * (IPv6 only); metric 0 = the kernel's default. */
static int encode(void *buf, size_t len, uint16_t type, int ifindex,
		  const struct tund_cidr *dst, uint8_t rtype, uint32_t metric,
		  uint32_t table)
{
	struct tund_cidr net;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	size_t alen;

	if (ifindex <= 0 || !dst ||
	    (type != RTM_NEWROUTE && type != RTM_DELROUTE))
		return -EINVAL;
	alen = dst->family == AF_INET ? 4 : dst->family == AF_INET6 ? 16 : 0;
	if (!alen || dst->prefix > alen * 8)
		return -EINVAL;
	if ((rtype == RTN_MULTICAST && dst->family != AF_INET6) || !table)
		return -EINVAL;
	if (len < mnl_nlmsg_size(sizeof(*rtm)))
		return -ENOSPC;
	/* The IPv4 FIB refuses a destination with host bits set. */
	net = *dst;
	tund_cidr_mask(&net);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)net.family;
	rtm->rtm_dst_len = net.prefix;
	/* Tables above 255 travel in RTA_TABLE only. */
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_COMPAT;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = rtype == RTN_UNICAST ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = rtype;

	if (net.prefix &&
	    !mnl_attr_put_check(nlh, len, RTA_DST, alen, net.addr))
		return -ENOSPC;
	if (!mnl_attr_put_u32_check(nlh, len, RTA_OIF, (uint32_t)ifindex) ||
	    !mnl_attr_put_u32_check(nlh, len, RTA_TABLE, table))
		return -ENOSPC;
	if (metric && !mnl_attr_put_u32_check(nlh, len, RTA_PRIORITY, metric))
		return -ENOSPC;
	return 0;
}

int tund_route_encode(void *buf, size_t len, uint16_t type, int ifindex,
		      const struct tund_cidr *dst)
{
	return encode(buf, len, type, ifindex, dst, RTN_UNICAST, 0,
		      RT_TABLE_MAIN);
}

int tund_route_encode_mcast6(void *buf, size_t len, uint16_t type, int ifindex,
			     const struct tund_cidr *dst, uint32_t metric)
{
	return encode(buf, len, type, ifindex, dst, RTN_MULTICAST, metric,
		      RT_TABLE_LOCAL);
}

static int route_change(uint16_t type, int ifindex, const struct tund_cidr *dst,
			uint8_t rtype, uint32_t metric, uint32_t table)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	int ret;

	ret = encode(buf, sizeof(buf), type, ifindex, dst, rtype, metric, table);
	if (ret < 0)
		return ret;
	return tund_nl_talk((struct nlmsghdr *)buf, NULL, NULL);
}

int tund_route_add(int ifindex, const struct tund_cidr *dst)
{
	return route_change(RTM_NEWROUTE, ifindex, dst, RTN_UNICAST, 0,
			    RT_TABLE_MAIN);
}

int tund_route_del(int ifindex, const struct tund_cidr *dst)
{
	return route_change(RTM_DELROUTE, ifindex, dst, RTN_UNICAST, 0,
			    RT_TABLE_MAIN);
}

int tund_route_add_mcast6(int ifindex, const struct tund_cidr *dst,
			  uint32_t metric)
{
	return route_change(RTM_NEWROUTE, ifindex, dst, RTN_MULTICAST, metric,
			    RT_TABLE_LOCAL);
}

int tund_route_del_mcast6(int ifindex, const struct tund_cidr *dst,
			  uint32_t metric)
{
	return route_change(RTM_DELROUTE, ifindex, dst, RTN_MULTICAST, metric,
			    RT_TABLE_LOCAL);
}

int tund_route_add_table(int ifindex, const struct tund_cidr *dst,
			 uint32_t table)
{
	return route_change(RTM_NEWROUTE, ifindex, dst, RTN_UNICAST, 0, table);
}

int tund_route_del_table(int ifindex, const struct tund_cidr *dst,
			 uint32_t table)
{
	return route_change(RTM_DELROUTE, ifindex, dst, RTN_UNICAST, 0, table);
}

struct hop_reply {
	struct tund_route_hop *hop;
	size_t alen;
};

static int on_hop(const struct nlmsghdr *nlh, void *data)
{
	const struct hop_reply *r = data;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(struct rtmsg)) {
		uint16_t type = mnl_attr_get_type(attr);

		if (type == RTA_OIF && mnl_attr_get_payload_len(attr) == 4)
			r->hop->oif = (int)mnl_attr_get_u32(attr);
		else if (type == RTA_GATEWAY && mnl_attr_get_payload_len(attr) == r->alen)
			memcpy(r->hop->gateway, mnl_attr_get_payload(attr), r->alen);
	}
	return MNL_CB_OK;
}

int tund_route_get(int family, const void *src, const void *dst, struct tund_route_hop *out)
{
	uint64_t buf[TUND_NL_REQSIZE / sizeof(uint64_t)];
	struct hop_reply r = { out, family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!r.alen)
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(r.alen * 8);
	rtm->rtm_src_len = (uint8_t)(r.alen * 8);
	mnl_attr_put(nlh, RTA_DST, r.alen, dst);
	mnl_attr_put(nlh, RTA_SRC, r.alen, src);
	ret = tund_nl_talk(nlh, on_hop, &r);
	if (!ret && !out->oif)
		ret = -ENETUNREACH; /* a reply without an interface: nowhere to go */
	return ret;
}
