// SPDX-License-Identifier: MIT
#include "netlink/rule.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink/nl.h"
#include "overlay/cidr.h"

int tund_rule_encode(void *buf, size_t len, uint16_t type,
		     const struct tund_cidr *dst, uint32_t table,
		     uint32_t priority)
{
	struct fib_rule_hdr *frh;
	struct tund_cidr net;
	struct nlmsghdr *nlh;
	size_t alen;

	if (!dst || table == 0 || (type != RTM_NEWRULE && type != RTM_DELRULE))
		return -EINVAL;
	alen = dst->family == AF_INET ? 4 : dst->family == AF_INET6 ? 16 : 0;
	if (!alen || dst->prefix > alen * 8)
		return -EINVAL;
	if (len < mnl_nlmsg_size(sizeof(*frh)))
		return -ENOSPC;
	net = *dst;
	tund_cidr_mask(&net);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWRULE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)net.family;
	frh->dst_len = net.prefix;
	/* Tables above 255 travel in FRA_TABLE only. */
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;

	if (net.prefix &&
	    !mnl_attr_put_check(nlh, len, FRA_DST, alen, net.addr))
		return -ENOSPC;
	if (!mnl_attr_put_u32_check(nlh, len, FRA_TABLE, table) ||
	    !mnl_attr_put_u32_check(nlh, len, FRA_PRIORITY, priority))
		return -ENOSPC;
	return 0;
}

static int rule_change(uint16_t type, const struct tund_cidr *dst,
		       uint32_t table, uint32_t priority)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	int ret;

	ret = tund_rule_encode(buf, sizeof(buf), type, dst, table, priority);
	if (ret < 0)
		return ret;
	return tund_nl_talk((struct nlmsghdr *)buf, NULL, NULL);
}

int tund_rule_add(const struct tund_cidr *dst, uint32_t table,
		  uint32_t priority)
{
	return rule_change(RTM_NEWRULE, dst, table, priority);
}

int tund_rule_del(const struct tund_cidr *dst, uint32_t table,
		  uint32_t priority)
{
	return rule_change(RTM_DELRULE, dst, table, priority);
}
