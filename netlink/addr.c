// SPDX-License-Identifier: MIT
#include "netlink/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/nl.h"

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static bool cidr_ok(const struct tund_cidr *c)
{
	return c && family_len(c->family) &&
	       c->prefix <= family_len(c->family) * 8;
}

int tund_addr_encode(void *buf, size_t len, uint16_t type, int ifindex,
		     const struct tund_cidr *addr)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen;

	if (ifindex <= 0 || !cidr_ok(addr) ||
	    (type != RTM_NEWADDR && type != RTM_DELADDR))
		return -EINVAL;
	if (len < mnl_nlmsg_size(sizeof(*ifa)))
		return -ENOSPC;
	alen = family_len(addr->family);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = addr->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;

	if (addr->family == AF_INET) {
		uint32_t host, bcast;

		if (!mnl_attr_put_check(nlh, len, IFA_LOCAL, alen, addr->addr) ||
		    !mnl_attr_put_check(nlh, len, IFA_ADDRESS, alen, addr->addr))
			return -ENOSPC;
		/* /31 and /32 have no broadcast address (RFC 3021). */
		if (type == RTM_NEWADDR && addr->prefix < 31) {
			host = addr->prefix ? 0xffffffffu >> addr->prefix :
					      0xffffffffu;
			memcpy(&bcast, addr->addr, 4);
			bcast |= htonl(host);
			if (!mnl_attr_put_u32_check(nlh, len, IFA_BROADCAST,
						    bcast))
				return -ENOSPC;
		}
	} else {
		/* Without NODAD the address stays tentative, unusable for a
		 * second or more, and on a TUN DAD has no one to ask. */
		if (type == RTM_NEWADDR)
			ifa->ifa_flags = IFA_F_NODAD;
		if (!mnl_attr_put_check(nlh, len, IFA_ADDRESS, alen, addr->addr))
			return -ENOSPC;
	}
	return 0;
}

int tund_addr_add(int ifindex, const struct tund_cidr *addr)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	int ret;

	ret = tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, ifindex, addr);
	if (ret < 0)
		return ret;
	return tund_nl_talk((struct nlmsghdr *)buf, NULL, NULL);
}

int tund_addr_del(int ifindex, const struct tund_cidr *addr)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	int ret;

	ret = tund_addr_encode(buf, sizeof(buf), RTM_DELADDR, ifindex, addr);
	if (ret < 0)
		return ret;
	return tund_nl_talk((struct nlmsghdr *)buf, NULL, NULL);
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	/* Unknown (newer) attributes are skipped, not refused. */
	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case IFA_ADDRESS:
	case IFA_LOCAL:
		if (mnl_attr_validate(attr, MNL_TYPE_BINARY) < 0)
			return MNL_CB_ERROR;
		break;
	case IFA_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

bool tund_addr_decode(const struct nlmsghdr *nlh, struct tund_addr_info *out)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return false;
	ifa = mnl_nlmsg_get_payload(nlh);
	alen = family_len(ifa->ifa_family);
	if (!alen || ifa->ifa_prefixlen > alen * 8)
		return false;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, tb) < 0)
		return false;
	/* IFA_LOCAL is ours when both are present (the other is a peer). */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != alen)
		return false;

	memset(out, 0, sizeof(*out));
	out->ifindex = (int)ifa->ifa_index;
	out->cidr.family = ifa->ifa_family;
	out->cidr.prefix = ifa->ifa_prefixlen;
	memcpy(out->cidr.addr, mnl_attr_get_payload(a), alen);
	out->scope = ifa->ifa_scope;
	out->flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) :
				     ifa->ifa_flags;
	return true;
}

struct list_ctx {
	int ifindex;
	tund_addr_cb cb;
	void *ctx;
};

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	const struct list_ctx *l = data;
	const struct ifaddrmsg *ifa;
	struct tund_addr_info info;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (!family_len(ifa->ifa_family))
		return MNL_CB_OK;
	if (l->ifindex && ifa->ifa_index != (uint32_t)l->ifindex)
		return MNL_CB_OK;
	if (!tund_addr_decode(nlh, &info)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	ret = l->cb(&info, l->ctx);
	if (ret < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return ret > 0 ? MNL_CB_STOP : MNL_CB_OK;
}

int tund_addr_list(int ifindex, tund_addr_cb cb, void *ctx)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct list_ctx l = { .ifindex = ifindex, .cb = cb, .ctx = ctx };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (ifindex < 0 || !cb)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return tund_nl_talk(nlh, on_addr, &l);
}
