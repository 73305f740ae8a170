// SPDX-License-Identifier: MIT
#include "overlay/bcast.h"

#include <string.h>
#include <sys/socket.h>

#define IP4_HLEN 20
#define IP6_HLEN 40
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

bool tund_bcast_is_fanout(const uint8_t *pkt, size_t len,
			  const struct tund_cidr *overlay4)
{
	uint32_t dst, mask, bcast;

	if (!pkt || len < 1)
		return false;
	if (pkt[0] >> 4 == 6)
		return len >= IP6_HLEN && pkt[24] == 0xff;
	if (pkt[0] >> 4 != 4 || len < IP4_HLEN)
		return false;
	dst = get32(pkt + 16);
	if (dst == 0xffffffffu || (dst >> 28) == 0xe)
		return true;
	/* /31 and /32 subnets have no broadcast address (RFC 3021). */
	if (!overlay4 || overlay4->family != AF_INET || overlay4->prefix > 30)
		return false;
	mask = overlay4->prefix ? 0xffffffffu << (32 - overlay4->prefix) : 0;
	bcast = get32(overlay4->addr) | ~mask;
	return dst == bcast;
}

/* RFC 1624 eqn. 3 for a change of the two 16-bit words at old/new:
 * HC' = ~(~HC + ~m + m'), in one's complement arithmetic. */
static uint16_t csum_update(uint16_t check, const uint8_t old[4],
			    const uint8_t new[4])
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~get16(old) + (uint16_t)~get16(old + 2);
	sum += get16(new) + get16(new + 2);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool tund_bcast_rewrite_source(uint8_t *pkt, size_t len,
			       const uint8_t new_src[4])
{
	size_t ihl, tot, off = 0;
	bool first_frag;
	uint8_t old[4];
	uint16_t check;

	if (!pkt || !new_src || len < IP4_HLEN || pkt[0] >> 4 != 4)
		return false;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = get16(pkt + 2);
	if (ihl < IP4_HLEN || tot < ihl || tot > len)
		return false;
	/* Only the first fragment (offset 0) carries the transport header. */
	first_frag = (get16(pkt + 6) & 0x1fff) == 0;
	if (first_frag && pkt[9] == PROTO_UDP) {
		if (tot - ihl < 8)
			return false;
		off = ihl + 6;
	} else if (first_frag && pkt[9] == PROTO_TCP) {
		if (tot - ihl < 20)
			return false;
		off = ihl + 16;
	}

	memcpy(old, pkt + 12, 4);
	memcpy(pkt + 12, new_src, 4);
	put16(pkt + 10, csum_update(get16(pkt + 10), old, new_src));
	if (off) {
		check = get16(pkt + off);
		/* UDP: 0 means "no checksum" and must stay so; a computed 0
		 * is sent as 0xffff (RFC 768). */
		if (pkt[9] == PROTO_UDP && check == 0)
			return true;
		check = csum_update(check, old, new_src);
		if (pkt[9] == PROTO_UDP && check == 0)
			check = 0xffff;
		put16(pkt + off, check);
	}
	return true;
}

bool tund_bcast_rewrite_source6(uint8_t *pkt, size_t len, const uint8_t new_src[16])
{
	size_t tot, off = 0;
	uint8_t old[16];
	uint16_t check;

	if (!pkt || !new_src || len < 40 || pkt[0] >> 4 != 6)
		return false;
	tot = 40 + (size_t)get16(pkt + 4);
	if (tot > len)
		return false;
	/* The checksum covers the source in the pseudo-header; only a transport
	 * header right after the fixed header is found (no extension headers). */
	if (pkt[6] == PROTO_UDP) {
		if (tot < 48)
			return false;
		off = 46;
	} else if (pkt[6] == PROTO_TCP) {
		if (tot < 60)
			return false;
		off = 56;
	} else if (pkt[6] == PROTO_ICMPV6) {
		if (tot < 44)
			return false;
		off = 42;
	} else {
		return false; /* an extension header: leave it alone */
	}
	memcpy(old, pkt + 8, 16);
	memcpy(pkt + 8, new_src, 16);
	check = get16(pkt + off);
	for (int i = 0; i < 16; i += 4)
		check = csum_update(check, old + i, new_src + i);
	if (pkt[6] == PROTO_UDP && check == 0)
		check = 0xffff;
	put16(pkt + off, check);
	return true;
}
