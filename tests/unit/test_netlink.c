// SPDX-License-Identifier: MIT
/* Message building and parsing of netlink/, checked by reading the built
 * messages back with libmnl. Talking to the kernel is tests/netns/. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/addr.h"
#include "netlink/nl.h"
#include "netlink/route.h"
#include "netlink/rule.h"
#include "netlink/tun.h"
#include "overlay/cidr.h"
#include "tests/unit/unit.h"

struct attrs {
	const struct nlattr *tb[64];
	int count;
};

static int collect(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type < 64)
		a->tb[type] = attr;
	a->count++;
	return MNL_CB_OK;
}

static struct tund_cidr cidr(const char *text)
{
	struct tund_cidr c;

	memset(&c, 0, sizeof(c));
	if (!tund_cidr_parse(&c, text, false))
		c.family = -1;
	return c;
}

static bool attr_is(const struct nlattr *a, const void *want, size_t len)
{
	return a && mnl_attr_get_payload_len(a) == len &&
	       memcmp(mnl_attr_get_payload(a), want, len) == 0;
}

UNIT_TEST(netlink_addr_encode_ipv4)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct tund_cidr c = cidr("10.77.0.1/24");
	const uint8_t bcast[4] = { 10, 77, 0, 255 };
	const struct nlmsghdr *nlh = (void *)buf;
	const struct ifaddrmsg *ifa;
	struct attrs a = { 0 };

	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 7, &c) == 0);
	CHECK(nlh->nlmsg_type == RTM_NEWADDR);
	CHECK((nlh->nlmsg_flags & (NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL)) ==
	      (NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL));
	ifa = mnl_nlmsg_get_payload(nlh);
	CHECK(ifa->ifa_family == AF_INET);
	CHECK(ifa->ifa_prefixlen == 24);
	CHECK(ifa->ifa_index == 7);
	CHECK(ifa->ifa_scope == RT_SCOPE_UNIVERSE);
	CHECK(mnl_attr_parse(nlh, sizeof(*ifa), collect, &a) == MNL_CB_OK);
	CHECK(a.count == 3);
	CHECK(attr_is(a.tb[IFA_LOCAL], c.addr, 4));
	CHECK(attr_is(a.tb[IFA_ADDRESS], c.addr, 4));
	CHECK(attr_is(a.tb[IFA_BROADCAST], bcast, 4));
}

UNIT_TEST(netlink_addr_encode_ipv4_broadcast_edges)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const struct nlmsghdr *nlh = (void *)buf;
	const uint8_t all[4] = { 255, 255, 255, 255 };
	const uint8_t b8[4] = { 10, 255, 255, 255 };
	struct tund_cidr c;
	struct attrs a;

	/* /31 and /32 carry no broadcast. */
	c = cidr("10.0.0.0/31");
	memset(&a, 0, sizeof(a));
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, &c) == 0);
	mnl_attr_parse(nlh, sizeof(struct ifaddrmsg), collect, &a);
	CHECK(a.count == 2 && !a.tb[IFA_BROADCAST]);
	c = cidr("10.0.0.1/32");
	memset(&a, 0, sizeof(a));
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, &c) == 0);
	mnl_attr_parse(nlh, sizeof(struct ifaddrmsg), collect, &a);
	CHECK(!a.tb[IFA_BROADCAST]);
	c = cidr("10.1.2.3/8");
	memset(&a, 0, sizeof(a));
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, &c) == 0);
	mnl_attr_parse(nlh, sizeof(struct ifaddrmsg), collect, &a);
	CHECK(attr_is(a.tb[IFA_BROADCAST], b8, 4));
	/* /0 must not shift by 32 (UBSan would catch it). */
	c = cidr("1.2.3.4/0");
	memset(&a, 0, sizeof(a));
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, &c) == 0);
	mnl_attr_parse(nlh, sizeof(struct ifaddrmsg), collect, &a);
	CHECK(attr_is(a.tb[IFA_BROADCAST], all, 4));
}

UNIT_TEST(netlink_addr_encode_ipv6_nodad)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct tund_cidr c = cidr("fd00:77::1/64");
	const struct nlmsghdr *nlh = (void *)buf;
	const struct ifaddrmsg *ifa;
	struct attrs a = { 0 };

	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 3, &c) == 0);
	ifa = mnl_nlmsg_get_payload(nlh);
	CHECK(ifa->ifa_family == AF_INET6);
	CHECK(ifa->ifa_prefixlen == 64);
	CHECK(ifa->ifa_flags & IFA_F_NODAD);
	CHECK(mnl_attr_parse(nlh, sizeof(*ifa), collect, &a) == MNL_CB_OK);
	CHECK(a.count == 1);
	CHECK(attr_is(a.tb[IFA_ADDRESS], c.addr, 16));
}

UNIT_TEST(netlink_addr_encode_rejects)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	struct tund_cidr c = cidr("10.77.0.1/24");
	struct tund_cidr bad = c;

	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 0, &c) == -EINVAL);
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, NULL) == -EINVAL);
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWLINK, 1, &c) == -EINVAL);
	bad.prefix = 33;
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, &bad) == -EINVAL);
	bad = c;
	bad.family = AF_UNIX;
	CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 1, &bad) == -EINVAL);
	CHECK(tund_addr_encode(buf, 8, RTM_NEWADDR, 1, &c) == -ENOSPC);
	/* Room for the headers but not for all three attributes. */
	CHECK(tund_addr_encode(buf, 40, RTM_NEWADDR, 1, &c) == -ENOSPC);
}

UNIT_TEST(netlink_addr_decode_roundtrip)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const char *texts[] = { "10.77.0.1/24", "fd00:77::1/64", "192.0.2.9/32" };
	struct tund_addr_info info;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct tund_cidr c = cidr(texts[i]);

		CHECK(tund_addr_encode(buf, sizeof(buf), RTM_NEWADDR, 42, &c) == 0);
		CHECK(tund_addr_decode((void *)buf, &info));
		CHECK(info.ifindex == 42);
		CHECK(info.cidr.family == c.family);
		CHECK(info.cidr.prefix == c.prefix);
		CHECK(memcmp(info.cidr.addr, c.addr, 16) == 0);
	}
}

/* A kernel-shaped RTM_NEWADDR with hand-picked attributes. */
static struct nlmsghdr *fake_addr(char *buf, int family, uint8_t prefix)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_index = 5;
	ifa->ifa_flags = IFA_F_PERMANENT;
	return nlh;
}

UNIT_TEST(netlink_addr_decode_validates)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const uint8_t local[4] = { 10, 0, 0, 1 }, peer[4] = { 10, 0, 0, 2 };
	const uint8_t three[3] = { 1, 2, 3 };
	struct tund_addr_info info;
	struct nlmsghdr *nlh;

	/* Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer. */
	nlh = fake_addr(buf, AF_INET, 32);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, peer);
	mnl_attr_put(nlh, IFA_LOCAL, 4, local);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);
	CHECK(tund_addr_decode(nlh, &info));
	CHECK(memcmp(info.cidr.addr, local, 4) == 0);
	CHECK(info.flags == (IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE));

	/* Wrong address length for the family. */
	nlh = fake_addr(buf, AF_INET, 24);
	mnl_attr_put(nlh, IFA_ADDRESS, 3, three);
	CHECK(!tund_addr_decode(nlh, &info));
	/* IFA_FLAGS must be a u32. */
	nlh = fake_addr(buf, AF_INET, 24);
	mnl_attr_put(nlh, IFA_LOCAL, 4, local);
	mnl_attr_put_u16(nlh, IFA_FLAGS, 1);
	CHECK(!tund_addr_decode(nlh, &info));
	/* No address at all, bad prefix, other families, other types. */
	nlh = fake_addr(buf, AF_INET, 24);
	CHECK(!tund_addr_decode(nlh, &info));
	nlh = fake_addr(buf, AF_INET, 40);
	mnl_attr_put(nlh, IFA_LOCAL, 4, local);
	CHECK(!tund_addr_decode(nlh, &info));
	nlh = fake_addr(buf, AF_PACKET, 0);
	CHECK(!tund_addr_decode(nlh, &info));
	nlh = fake_addr(buf, AF_INET, 24);
	mnl_attr_put(nlh, IFA_LOCAL, 4, local);
	nlh->nlmsg_type = RTM_NEWLINK;
	CHECK(!tund_addr_decode(nlh, &info));
	/* Truncated before the ifaddrmsg. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	CHECK(!tund_addr_decode(nlh, &info));
}

UNIT_TEST(netlink_route_encode)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const uint8_t net4[4] = { 10, 99, 0, 0 };
	const struct nlmsghdr *nlh = (void *)buf;
	struct tund_cidr c = cidr("10.99.1.2/16");
	const struct rtmsg *rtm;
	struct attrs a = { 0 };

	CHECK(tund_route_encode(buf, sizeof(buf), RTM_NEWROUTE, 9, &c) == 0);
	CHECK(nlh->nlmsg_type == RTM_NEWROUTE);
	CHECK(nlh->nlmsg_flags & NLM_F_CREATE);
	rtm = mnl_nlmsg_get_payload(nlh);
	CHECK(rtm->rtm_family == AF_INET);
	CHECK(rtm->rtm_dst_len == 16);
	CHECK(rtm->rtm_table == RT_TABLE_MAIN);
	CHECK(rtm->rtm_protocol == RTPROT_STATIC);
	CHECK(rtm->rtm_scope == RT_SCOPE_LINK);
	CHECK(rtm->rtm_type == RTN_UNICAST);
	CHECK(mnl_attr_parse(nlh, sizeof(*rtm), collect, &a) == MNL_CB_OK);
	/* Host bits are cleared: the kernel refuses them for IPv4. */
	CHECK(attr_is(a.tb[RTA_DST], net4, 4));
	CHECK(a.tb[RTA_OIF] && mnl_attr_get_u32(a.tb[RTA_OIF]) == 9);
	CHECK(a.tb[RTA_TABLE] &&
	      mnl_attr_get_u32(a.tb[RTA_TABLE]) == RT_TABLE_MAIN);
	/* The caller's value is untouched. */
	CHECK(c.addr[2] == 1 && c.addr[3] == 2);
}

UNIT_TEST(netlink_route_encode_ipv6_and_default)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const struct nlmsghdr *nlh = (void *)buf;
	struct tund_cidr c = cidr("fd00:99::5/64");
	struct tund_cidr want = cidr("fd00:99::/64");
	struct attrs a = { 0 };

	CHECK(tund_route_encode(buf, sizeof(buf), RTM_DELROUTE, 2, &c) == 0);
	CHECK(nlh->nlmsg_type == RTM_DELROUTE);
	CHECK(!(nlh->nlmsg_flags & NLM_F_CREATE));
	mnl_attr_parse(nlh, sizeof(struct rtmsg), collect, &a);
	CHECK(attr_is(a.tb[RTA_DST], want.addr, 16));

	c = cidr("::/0");
	memset(&a, 0, sizeof(a));
	CHECK(tund_route_encode(buf, sizeof(buf), RTM_NEWROUTE, 2, &c) == 0);
	mnl_attr_parse(nlh, sizeof(struct rtmsg), collect, &a);
	CHECK(!a.tb[RTA_DST] && a.tb[RTA_OIF]);

	c.prefix = 129;
	CHECK(tund_route_encode(buf, sizeof(buf), RTM_NEWROUTE, 2, &c) == -EINVAL);
	c = cidr("10.0.0.0/8");
	CHECK(tund_route_encode(buf, sizeof(buf), RTM_NEWROUTE, -1, &c) == -EINVAL);
	CHECK(tund_route_encode(buf, 16, RTM_NEWROUTE, 1, &c) == -ENOSPC);
}

UNIT_TEST(netlink_route_encode_mcast6)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const struct nlmsghdr *nlh = (void *)buf;
	struct tund_cidr c = cidr("ff00::/8");
	const struct rtmsg *rtm;
	struct attrs a = { 0 };

	CHECK(tund_route_encode_mcast6(buf, sizeof(buf), RTM_NEWROUTE, 3, &c,
				       128) == 0);
	rtm = mnl_nlmsg_get_payload(nlh);
	CHECK(rtm->rtm_family == AF_INET6);
	CHECK(rtm->rtm_dst_len == 8);
	CHECK(rtm->rtm_table == RT_TABLE_LOCAL);
	CHECK(rtm->rtm_type == RTN_MULTICAST);
	CHECK(rtm->rtm_protocol == RTPROT_STATIC);
	CHECK(mnl_attr_parse(nlh, sizeof(*rtm), collect, &a) == MNL_CB_OK);
	CHECK(attr_is(a.tb[RTA_DST], c.addr, 16));
	CHECK(a.tb[RTA_OIF] && mnl_attr_get_u32(a.tb[RTA_OIF]) == 3);
	CHECK(a.tb[RTA_TABLE] &&
	      mnl_attr_get_u32(a.tb[RTA_TABLE]) == RT_TABLE_LOCAL);
	CHECK(a.tb[RTA_PRIORITY] && mnl_attr_get_u32(a.tb[RTA_PRIORITY]) == 128);
	c = cidr("224.0.0.0/4");
	CHECK(tund_route_encode_mcast6(buf, sizeof(buf), RTM_NEWROUTE, 3, &c,
				       128) == -EINVAL);
}

UNIT_TEST(netlink_rule_encode)
{
	_Alignas(struct nlmsghdr) char buf[TUND_NL_REQSIZE];
	const struct nlmsghdr *nlh = (void *)buf;
	struct tund_cidr c = cidr("255.255.255.255/32");
	const struct fib_rule_hdr *frh;
	struct attrs a = { 0 };

	CHECK(tund_rule_encode(buf, sizeof(buf), RTM_NEWRULE, &c, 0x74751234,
			       32767) == 0);
	CHECK(nlh->nlmsg_type == RTM_NEWRULE);
	CHECK(nlh->nlmsg_flags & NLM_F_EXCL);
	frh = mnl_nlmsg_get_payload(nlh);
	CHECK(frh->family == AF_INET);
	CHECK(frh->dst_len == 32);
	CHECK(frh->table == RT_TABLE_UNSPEC);
	CHECK(frh->action == FR_ACT_TO_TBL);
	CHECK(mnl_attr_parse(nlh, sizeof(*frh), collect, &a) == MNL_CB_OK);
	CHECK(attr_is(a.tb[FRA_DST], c.addr, 4));
	CHECK(a.tb[FRA_TABLE] && mnl_attr_get_u32(a.tb[FRA_TABLE]) == 0x74751234);
	CHECK(a.tb[FRA_PRIORITY] && mnl_attr_get_u32(a.tb[FRA_PRIORITY]) == 32767);

	CHECK(tund_rule_encode(buf, sizeof(buf), RTM_DELRULE, &c, 0, 1) == -EINVAL);
	CHECK(tund_rule_encode(buf, sizeof(buf), RTM_NEWROUTE, &c, 5, 1) == -EINVAL);
	CHECK(tund_rule_encode(buf, 16, RTM_NEWRULE, &c, 5, 1) == -ENOSPC);
	c.prefix = 33;
	CHECK(tund_rule_encode(buf, sizeof(buf), RTM_NEWRULE, &c, 5, 1) == -EINVAL);
}

UNIT_TEST(netlink_tun_open_rejects_before_kernel)
{
	char out[IFNAMSIZ];

	CHECK(tund_tun_open("tt0", out, IFF_TAP) == -EINVAL);
	CHECK(tund_tun_open("a-name-far-too-long", out, 0) == -EINVAL);
}
