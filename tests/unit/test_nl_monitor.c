// SPDX-License-Identifier: MIT
/* netlink/monitor.c's decoding of address and link events, on datagrams
 * built here: what a local process could send must not be walked past. */
#include <linux/if_addr.h>
#include <stdint.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/monitor.h"
#include "tests/unit/unit.h"

struct seen {
	struct tund_nl_event ev[8];
	unsigned n;
};

static void collect(void *ctx, const struct tund_nl_event *ev)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->ev[s->n] = *ev;
	s->n++;
}

/* Appends one message of type TYPE with PAYLOAD at *off; returns its start. */
static struct nlmsghdr *put(uint8_t *buf, size_t *off, uint16_t type, const void *payload,
			    size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(buf + *off);

	memset(h, 0, NLMSG_ALIGN(NLMSG_HDRLEN + len));
	h->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len);
	h->nlmsg_type = type;
	memcpy(buf + *off + NLMSG_HDRLEN, payload, len);
	*off += NLMSG_ALIGN(h->nlmsg_len);
	return h;
}

UNIT_TEST(nl_monitor_decodes_address_and_link_events)
{
	uint64_t store[64] = { 0 };
	uint8_t *buf = (uint8_t *)store;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET6, .ifa_scope = RT_SCOPE_LINK,
				 .ifa_flags = IFA_F_TENTATIVE, .ifa_index = 7 };
	struct ifinfomsg ifi = { .ifi_index = 3, .ifi_flags = 0x1003 };
	struct seen s = { 0 };
	size_t off = 0;

	put(buf, &off, RTM_NEWADDR, &ifa, sizeof(ifa));
	put(buf, &off, RTM_DELLINK, &ifi, sizeof(ifi));
	put(buf, &off, RTM_NEWROUTE, &ifi, sizeof(ifi)); /* not ours: ignored */
	CHECK(tund_nl_monitor_parse(buf, off, collect, &s));
	CHECK(s.n == 2);
	CHECK(s.ev[0].kind == TUND_NL_ADDR_NEW && s.ev[0].ifindex == 7);
	CHECK(s.ev[0].family == AF_INET6 && s.ev[0].scope == RT_SCOPE_LINK);
	CHECK(s.ev[0].flags == IFA_F_TENTATIVE);
	CHECK(s.ev[1].kind == TUND_NL_LINK_DEL && s.ev[1].ifindex == 3 && s.ev[1].flags == 0x1003);
}

UNIT_TEST(nl_monitor_refuses_lengths_past_the_datagram)
{
	uint64_t store[64] = { 0 };
	uint8_t *buf = (uint8_t *)store;
	struct ifinfomsg ifi = { .ifi_index = 3 };
	struct seen s = { 0 };
	size_t off = 0;
	struct nlmsghdr *h;

	put(buf, &off, RTM_NEWLINK, &ifi, sizeof(ifi));
	h = put(buf, &off, RTM_NEWLINK, &ifi, sizeof(ifi));
	/* A length that is negative as an int (libmnl's own check lets it by). */
	h->nlmsg_len = 0x80000010u;
	CHECK(!tund_nl_monitor_parse(buf, off, collect, &s));
	CHECK(s.n == 1); /* the first one still counts */
	/* Shorter than a header, and a message cut short. */
	h->nlmsg_len = 4;
	s.n = 0;
	CHECK(!tund_nl_monitor_parse(buf, off, collect, &s));
	s.n = 0;
	CHECK(!tund_nl_monitor_parse(buf, off - 4, collect, &s));
	CHECK(s.n == 1);
}

UNIT_TEST(nl_monitor_skips_events_without_an_interface)
{
	uint64_t store[64] = { 0 };
	uint8_t *buf = (uint8_t *)store;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_index = 0 };
	struct ifinfomsg ifi = { .ifi_index = -5 };
	struct seen s = { 0 };
	size_t off = 0;

	put(buf, &off, RTM_NEWADDR, &ifa, sizeof(ifa));
	put(buf, &off, RTM_NEWLINK, &ifi, sizeof(ifi));
	/* A payload too short for its header is skipped, not read past. */
	put(buf, &off, RTM_NEWLINK, &ifi, 4);
	CHECK(tund_nl_monitor_parse(buf, off, collect, &s));
	CHECK(s.n == 0);
}

/* Appends one attribute to the message at h (its length grows). */
static void put_attr(struct nlmsghdr *h, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((uint8_t *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* The address an event names: IFA_LOCAL for IPv4 (IFA_ADDRESS is the far
 * end of a point-to-point link), IFA_ADDRESS for IPv6; wrong sizes skipped. */
UNIT_TEST(nl_monitor_decodes_the_address)
{
	uint64_t store[64] = { 0 };
	uint8_t *buf = (uint8_t *)store;
	struct ifaddrmsg v4 = { .ifa_family = AF_INET, .ifa_index = 2 };
	struct ifaddrmsg v6 = { .ifa_family = AF_INET6, .ifa_index = 2 };
	const uint8_t peer[4] = { 10, 0, 0, 2 }, local[4] = { 10, 0, 0, 1 }, odd[6] = { 0 };
	const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct seen s = { 0 };
	size_t off = 0;
	struct nlmsghdr *h;

	h = put(buf, &off, RTM_DELADDR, &v4, sizeof(v4));
	put_attr(h, IFA_ADDRESS, peer, 4);
	put_attr(h, IFA_LOCAL, local, 4);
	off = (size_t)((uint8_t *)h - buf) + NLMSG_ALIGN(h->nlmsg_len);
	h = put(buf, &off, RTM_NEWADDR, &v6, sizeof(v6));
	put_attr(h, IFA_ADDRESS, odd, sizeof(odd)); /* wrong size */
	put_attr(h, IFA_ADDRESS, a6, 16);
	off = (size_t)((uint8_t *)h - buf) + NLMSG_ALIGN(h->nlmsg_len);
	h = put(buf, &off, RTM_DELADDR, &v4, sizeof(v4)); /* none at all */
	put_attr(h, IFA_LOCAL, odd, sizeof(odd));
	off = (size_t)((uint8_t *)h - buf) + NLMSG_ALIGN(h->nlmsg_len);
	CHECK(tund_nl_monitor_parse(buf, off, collect, &s));
	CHECK(s.n == 3);
	CHECK(s.ev[0].kind == TUND_NL_ADDR_DEL && s.ev[0].addr_len == 4);
	CHECK(!memcmp(s.ev[0].addr, local, 4));
	CHECK(s.ev[1].addr_len == 16 && !memcmp(s.ev[1].addr, a6, 16));
	CHECK(s.ev[2].addr_len == 0);
}
