// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <string.h>

#include "overlay/bcast.h"
#include "overlay/cidr.h"
#include "tests/unit/unit.h"

/* Reference: the one's complement sum folded to 16 bits, from scratch. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static uint16_t ref_ip_csum(const uint8_t *ip)
{
	uint8_t h[60];
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	memcpy(h, ip, ihl);
	h[10] = h[11] = 0;
	return (uint16_t)~ref_sum(0, h, ihl);
}

/* Transport checksum over the pseudo-header and the segment, with the
 * checksum field at seg[coff] taken as zero. */
static uint16_t ref_l4_csum(const uint8_t *ip, size_t coff)
{
	uint8_t seg[2048];
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t tot = (size_t)(ip[2] << 8 | ip[3]), n = tot - ihl;
	uint8_t pseudo[12];
	uint16_t c;

	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	pseudo[10] = (uint8_t)(n >> 8);
	pseudo[11] = (uint8_t)n;
	memcpy(seg, ip + ihl, n);
	seg[coff] = seg[coff + 1] = 0;
	c = (uint16_t)~ref_sum(ref_sum(0, pseudo, 12), seg, n);
	if (ip[9] == 17 && c == 0)
		c = 0xffff;
	return c;
}

static uint16_t at16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Builds an IPv4 packet: ihl words, proto, payload of plen bytes (after the
 * IP header), src, dst; checksums computed with the reference. Returns the
 * total length. */
static size_t build4(uint8_t *pkt, unsigned ihlw, uint8_t proto, size_t plen,
		     const char *src, const char *dst, bool l4csum)
{
	size_t ihl = ihlw * 4, tot = ihl + plen, i;

	memset(pkt, 0, tot);
	pkt[0] = (uint8_t)(0x40 | ihlw);
	set16(pkt + 2, (uint16_t)tot);
	set16(pkt + 4, 0x1234);
	pkt[8] = 64;
	pkt[9] = proto;
	inet_pton(AF_INET, src, pkt + 12);
	inet_pton(AF_INET, dst, pkt + 16);
	for (i = 20; i < ihl; i++)
		pkt[i] = 1; /* NOP options */
	for (i = ihl; i < tot; i++)
		pkt[i] = (uint8_t)(i * 37 + 11);
	if (proto == 17 && plen >= 8) {
		set16(pkt + ihl, 27015);
		set16(pkt + ihl + 2, 27015);
		set16(pkt + ihl + 4, (uint16_t)plen);
		set16(pkt + ihl + 6, 0);
		if (l4csum)
			set16(pkt + ihl + 6, ref_l4_csum(pkt, 6));
	}
	if (proto == 6 && plen >= 20) {
		pkt[ihl + 12] = 0x50;
		set16(pkt + ihl + 16, 0);
		set16(pkt + ihl + 16, ref_l4_csum(pkt, 16));
	}
	set16(pkt + 10, ref_ip_csum(pkt));
	return tot;
}

static bool fanout4(const char *dst, const char *overlay)
{
	uint8_t pkt[64];
	struct tund_cidr o;

	build4(pkt, 5, 17, 8, "10.77.0.1", dst, true);
	if (!overlay)
		return tund_bcast_is_fanout(pkt, 28, NULL);
	if (!tund_cidr_parse(&o, overlay, false))
		return false;
	return tund_bcast_is_fanout(pkt, 28, &o);
}

static bool fanout6(const char *dst)
{
	uint8_t pkt[48] = { 0x60 };

	inet_pton(AF_INET6, "fd77::1", pkt + 8);
	inet_pton(AF_INET6, dst, pkt + 24);
	return tund_bcast_is_fanout(pkt, sizeof(pkt), NULL);
}

UNIT_TEST(bcast_fanout_ipv4)
{
	CHECK(fanout4("255.255.255.255", NULL));
	CHECK(fanout4("255.255.255.255", "10.77.0.1/16"));
	CHECK(fanout4("10.77.255.255", "10.77.0.1/16"));
	CHECK(fanout4("10.77.0.255", "10.77.0.9/24"));
	CHECK(!fanout4("10.77.255.255", NULL));
	CHECK(!fanout4("10.77.255.255", "10.77.0.1/24"));
	CHECK(!fanout4("10.77.0.255", "10.77.0.1/16"));
	CHECK(!fanout4("10.77.0.2", "10.77.0.1/16"));
	CHECK(!fanout4("10.77.0.0", "10.77.0.1/16"));
	/* /31 and /32 have no broadcast address. */
	CHECK(!fanout4("10.77.0.1", "10.77.0.0/31"));
	CHECK(!fanout4("10.77.0.1", "10.77.0.1/32"));
	CHECK(fanout4("10.77.0.3", "10.77.0.1/30"));
	CHECK(fanout4("224.0.0.1", NULL));
	CHECK(fanout4("239.255.255.250", "10.77.0.1/16"));
	CHECK(fanout4("233.1.2.3", NULL));
	CHECK(!fanout4("240.0.0.1", NULL));
	CHECK(!fanout4("223.255.255.255", NULL));
	CHECK(!fanout4("8.8.8.8", "10.77.0.1/16"));
}

UNIT_TEST(bcast_fanout_ipv6_and_malformed)
{
	uint8_t pkt[64];
	struct tund_cidr v6;

	CHECK(fanout6("ff02::1"));
	CHECK(fanout6("ff05::c"));
	CHECK(fanout6("ff0e::1:3"));
	CHECK(!fanout6("fe80::1"));
	CHECK(!fanout6("fd77::2"));
	CHECK(!fanout6("::1"));

	build4(pkt, 5, 17, 8, "10.77.0.1", "255.255.255.255", true);
	CHECK(tund_bcast_is_fanout(pkt, 20, NULL));
	CHECK(!tund_bcast_is_fanout(pkt, 19, NULL));
	CHECK(!tund_bcast_is_fanout(pkt, 0, NULL));
	CHECK(!tund_bcast_is_fanout(NULL, 28, NULL));
	pkt[0] = 0x55; /* version 5 */
	CHECK(!tund_bcast_is_fanout(pkt, 28, NULL));
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x60;
	pkt[24] = 0xff;
	CHECK(!tund_bcast_is_fanout(pkt, 39, NULL));
	CHECK(tund_bcast_is_fanout(pkt, 40, NULL));
	/* An IPv6 "overlay4" is ignored for IPv4 packets. */
	CHECK(tund_cidr_parse(&v6, "fd77::1/64", false));
	build4(pkt, 5, 17, 8, "10.77.0.1", "10.77.255.255", true);
	CHECK(!tund_bcast_is_fanout(pkt, 28, &v6));
}

static const uint8_t overlay_src[4] = { 10, 77, 0, 1 };

/* Rewrites a packet and checks every checksum from scratch. */
static bool rewrite_ok(uint8_t *pkt, size_t len)
{
	size_t ihl = (size_t)(pkt[0] & 15) * 4;
	uint16_t before_udp = 0;
	bool first = (at16(pkt + 6) & 0x1fff) == 0;

	if (pkt[9] == 17 && first)
		before_udp = at16(pkt + ihl + 6);
	if (!tund_bcast_rewrite_source(pkt, len, overlay_src))
		return false;
	if (memcmp(pkt + 12, overlay_src, 4))
		return false;
	if (at16(pkt + 10) != ref_ip_csum(pkt))
		return false;
	if (pkt[9] == 17 && first) {
		if (before_udp == 0)
			return at16(pkt + ihl + 6) == 0;
		return at16(pkt + ihl + 6) == ref_l4_csum(pkt, 6);
	}
	if (pkt[9] == 6 && first)
		return at16(pkt + ihl + 16) == ref_l4_csum(pkt, 16);
	return true;
}

UNIT_TEST(bcast_rewrite_udp)
{
	uint8_t pkt[1600];
	size_t n, plen;

	/* Even and odd payload lengths, with and without IP options. */
	for (plen = 8; plen < 80; plen++) {
		n = build4(pkt, 5, 17, plen, "192.168.1.23", "255.255.255.255",
			   true);
		CHECK(at16(pkt + 26) != 0);
		CHECK(rewrite_ok(pkt, n));
		n = build4(pkt, 7, 17, plen, "172.16.5.200", "255.255.255.255",
			   true);
		CHECK(rewrite_ok(pkt, n));
	}
	n = build4(pkt, 5, 17, 1472, "10.1.0.10", "255.255.255.255", true);
	CHECK(rewrite_ok(pkt, n));
	/* Bytes past the total length (padding) are neither read nor
	 * changed. */
	n = build4(pkt, 5, 17, 9, "10.1.0.10", "255.255.255.255", true);
	memset(pkt + n, 0xaa, 10);
	CHECK(rewrite_ok(pkt, n + 10));
	CHECK(pkt[n] == 0xaa && pkt[n + 9] == 0xaa);
}

UNIT_TEST(bcast_rewrite_udp_no_checksum)
{
	uint8_t pkt[256];
	size_t n, plen;

	for (plen = 8; plen < 40; plen++) {
		n = build4(pkt, 5, 17, plen, "192.168.1.23", "255.255.255.255",
			   false);
		CHECK(at16(pkt + 26) == 0);
		CHECK(rewrite_ok(pkt, n));
		CHECK(at16(pkt + 26) == 0);
	}
}

UNIT_TEST(bcast_rewrite_udp_checksum_never_zero)
{
	uint8_t pkt[64];
	size_t n;
	unsigned v;
	int seen_ffff = 0;

	/* Vary one payload word until the new checksum would compute to 0:
	 * it must then be sent as 0xffff. */
	for (v = 0; v < 0x10000; v++) {
		n = build4(pkt, 5, 17, 10, "192.168.1.23", "255.255.255.255",
			   false);
		set16(pkt + 28, (uint16_t)v);
		set16(pkt + 26, ref_l4_csum(pkt, 6));
		set16(pkt + 10, ref_ip_csum(pkt));
		if (!rewrite_ok(pkt, n)) {
			CHECK(!"rewrite");
			break;
		}
		CHECK(at16(pkt + 26) != 0);
		seen_ffff += at16(pkt + 26) == 0xffff;
	}
	CHECK(seen_ffff > 0);
}

UNIT_TEST(bcast_rewrite_tcp_icmp)
{
	uint8_t pkt[256];
	size_t n, plen;

	for (plen = 20; plen < 60; plen++) {
		n = build4(pkt, 5, 6, plen, "192.168.1.23", "10.77.0.9", true);
		CHECK(rewrite_ok(pkt, n));
	}
	/* ICMP has no pseudo-header: only the IP header changes. */
	n = build4(pkt, 5, 1, 9, "192.168.1.23", "10.77.255.255", true);
	CHECK(rewrite_ok(pkt, n));
	CHECK(pkt[20] == (uint8_t)(20 * 37 + 11));
	/* IGMP, no transport payload at all. */
	n = build4(pkt, 6, 2, 0, "192.168.1.23", "224.0.0.22", true);
	CHECK(rewrite_ok(pkt, n));
}

UNIT_TEST(bcast_rewrite_fragments)
{
	uint8_t pkt[256], copy[256];
	size_t n;

	/* First fragment (MF set, offset 0): UDP checksum fixed. */
	n = build4(pkt, 5, 17, 48, "192.168.1.23", "255.255.255.255", true);
	set16(pkt + 6, 0x2000);
	set16(pkt + 10, ref_ip_csum(pkt));
	CHECK(tund_bcast_rewrite_source(pkt, n, overlay_src));
	CHECK(at16(pkt + 10) == ref_ip_csum(pkt));
	/* The fragment holds only part of the datagram; its checksum must
	 * have moved by exactly the address change. */
	/* A later fragment: payload untouched, IP header fixed. */
	n = build4(pkt, 5, 17, 9, "192.168.1.23", "255.255.255.255", true);
	set16(pkt + 6, 0x0003);
	set16(pkt + 10, ref_ip_csum(pkt));
	memcpy(copy, pkt, n);
	CHECK(rewrite_ok(pkt, n));
	CHECK(!memcmp(pkt + 20, copy + 20, n - 20));
	/* A later fragment may be shorter than a UDP header. */
	n = build4(pkt, 5, 17, 3, "192.168.1.23", "255.255.255.255", true);
	set16(pkt + 6, 0x0010);
	set16(pkt + 10, ref_ip_csum(pkt));
	CHECK(rewrite_ok(pkt, n));
}

UNIT_TEST(bcast_rewrite_first_fragment_checksum_delta)
{
	uint8_t a[256], b[256];
	size_t n;

	/* The same first fragment built with both sources: rewriting one must
	 * give the other byte for byte (except nothing: all fields match). */
	n = build4(a, 5, 17, 48, "192.168.1.23", "255.255.255.255", true);
	build4(b, 5, 17, 48, "10.77.0.1", "255.255.255.255", true);
	set16(a + 6, 0x2000);
	set16(b + 6, 0x2000);
	set16(a + 10, ref_ip_csum(a));
	set16(b + 10, ref_ip_csum(b));
	CHECK(tund_bcast_rewrite_source(a, n, overlay_src));
	CHECK(!memcmp(a, b, n));
}

UNIT_TEST(bcast_rewrite_malformed)
{
	uint8_t pkt[128], copy[128];
	size_t n;

	n = build4(pkt, 5, 17, 16, "192.168.1.23", "255.255.255.255", true);
	memcpy(copy, pkt, n);
	CHECK(!tund_bcast_rewrite_source(NULL, n, overlay_src));
	CHECK(!tund_bcast_rewrite_source(pkt, n, NULL));
	CHECK(!tund_bcast_rewrite_source(pkt, 19, overlay_src));
	/* Truncated: total length says more than we have. */
	CHECK(!tund_bcast_rewrite_source(pkt, n - 1, overlay_src));
	CHECK(!memcmp(pkt, copy, n));
	/* IHL below 5 or beyond the total length. */
	pkt[0] = 0x44;
	CHECK(!tund_bcast_rewrite_source(pkt, n, overlay_src));
	pkt[0] = 0x4f;
	CHECK(!tund_bcast_rewrite_source(pkt, n, overlay_src));
	pkt[0] = 0x45;
	/* Total length below the header. */
	set16(pkt + 2, 19);
	CHECK(!tund_bcast_rewrite_source(pkt, n, overlay_src));
	set16(pkt + 2, (uint16_t)n);
	/* Not IPv4. */
	pkt[0] = 0x65;
	CHECK(!tund_bcast_rewrite_source(pkt, n, overlay_src));
	pkt[0] = 0x45;
	CHECK(!memcmp(pkt, copy, n));
	/* A first fragment too short for its UDP or TCP header. */
	n = build4(pkt, 5, 17, 7, "192.168.1.23", "255.255.255.255", true);
	memcpy(copy, pkt, n);
	CHECK(!tund_bcast_rewrite_source(pkt, n, overlay_src));
	CHECK(!memcmp(pkt, copy, n));
	n = build4(pkt, 5, 6, 19, "192.168.1.23", "10.77.0.9", true);
	CHECK(!tund_bcast_rewrite_source(pkt, n, overlay_src));
	/* IPv6 is never rewritten. */
	memset(pkt, 0, 60);
	pkt[0] = 0x60;
	CHECK(!tund_bcast_rewrite_source(pkt, 60, overlay_src));
}

/* IPv6 transport checksum from scratch: pseudo-header (source, destination,
 * upper-layer length, next header) and the segment with its checksum zeroed. */
static uint16_t ref_l4_csum6(const uint8_t *ip, size_t coff)
{
	uint8_t seg[2048], pseudo[40] = { 0 };
	size_t n = (size_t)(ip[4] << 8 | ip[5]);
	uint16_t c;

	memcpy(pseudo, ip + 8, 32);
	pseudo[34] = (uint8_t)(n >> 8);
	pseudo[35] = (uint8_t)n;
	pseudo[39] = ip[6];
	memcpy(seg, ip + 40, n);
	seg[coff] = seg[coff + 1] = 0;
	c = (uint16_t)~ref_sum(ref_sum(0, pseudo, 40), seg, n);
	if (ip[6] == 17 && c == 0)
		c = 0xffff;
	return c;
}

static size_t build6(uint8_t *pkt, uint8_t nh, size_t plen, size_t coff)
{
	memset(pkt, 0, 40 + plen);
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)(plen >> 8);
	pkt[5] = (uint8_t)plen;
	pkt[6] = nh;
	pkt[7] = 1;
	inet_pton(AF_INET6, "fe80::1234:5678:9abc:def0", pkt + 8);
	inet_pton(AF_INET6, "ff02::1", pkt + 24);
	for (size_t i = 0; i < plen; i++)
		pkt[40 + i] = (uint8_t)(i * 37 + 11);
	if (nh == 17) {
		pkt[44] = (uint8_t)(plen >> 8);
		pkt[45] = (uint8_t)plen;
	}
	set16(pkt + 40 + coff, ref_l4_csum6(pkt, coff));
	return 40 + plen;
}

UNIT_TEST(bcast_rewrite6_udp_tcp_icmp)
{
	static const struct { uint8_t nh; size_t coff, plen; } cases[] = {
		{ 17, 6, 8 }, { 17, 6, 61 }, { 6, 16, 20 }, { 6, 16, 33 }, { 58, 2, 4 }, { 58, 2, 77 },
	};
	uint8_t pkt[256], src[16];

	inet_pton(AF_INET6, "fd77:1:2:3::a", src);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = build6(pkt, cases[i].nh, cases[i].plen, cases[i].coff);

		CHECK(at16(pkt + 40 + cases[i].coff) == ref_l4_csum6(pkt, cases[i].coff));
		CHECK(tund_bcast_rewrite_source6(pkt, len, src));
		CHECK(!memcmp(pkt + 8, src, 16));
		CHECK(at16(pkt + 40 + cases[i].coff) == ref_l4_csum6(pkt, cases[i].coff));
	}
}

UNIT_TEST(bcast_rewrite6_malformed)
{
	uint8_t pkt[256], copy[256], src[16] = { 0xfd };
	size_t len = build6(pkt, 17, 8, 6);

	memcpy(copy, pkt, len);
	CHECK(!tund_bcast_rewrite_source6(pkt, 39, src));	/* short */
	CHECK(!tund_bcast_rewrite_source6(pkt, len - 1, src)); /* payload length past the end */
	pkt[6] = 0; /* hop-by-hop options first */
	CHECK(!tund_bcast_rewrite_source6(pkt, len, src));
	pkt[6] = 17;
	pkt[0] = 0x45;
	CHECK(!tund_bcast_rewrite_source6(pkt, len, src));
	pkt[0] = 0x60;
	CHECK(!memcmp(pkt, copy, len));
}
