// SPDX-License-Identifier: MIT
/* TUN offloads: GSO super packets split into segments, and segments merged
 * back, checked against packets built here and a byte-wise RFC 1071
 * checksum that shares nothing with overlay/offload.c. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/offload.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

#define VH TUND_VNET_HDR_LEN
#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define CWR 0x80

/* --- Reference checksum and packet builder -------------------------------- */

static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static bool is_v6(const uint8_t *ip)
{
	return ip[0] >> 4 == 6;
}

static size_t ref_iphl(const uint8_t *ip)
{
	return is_v6(ip) ? 40 : (size_t)(ip[0] & 15) * 4;
}

static uint8_t ref_proto(const uint8_t *ip)
{
	return is_v6(ip) ? ip[6] : ip[9];
}

static uint32_t ref_pseudo(const uint8_t *ip, size_t l4len)
{
	uint8_t ph[40] = { 0 };

	if (is_v6(ip)) {
		memcpy(ph, ip + 8, 32);
		wr32(ph + 32, (uint32_t)l4len);
		ph[39] = ip[6];
		return ref_sum(ph, 40, 0);
	}
	memcpy(ph, ip + 12, 8);
	ph[9] = ip[9];
	wr16(ph + 10, (uint32_t)l4len);
	return ref_sum(ph, 12, 0);
}

static size_t csum_off(const uint8_t *ip)
{
	return ref_iphl(ip) + (ref_proto(ip) == 6 ? 16 : 6);
}

static bool ref_ip4_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(ip, ref_iphl(ip), 0)) == 0xffff;
}

static bool ref_l4_ok(const uint8_t *ip, size_t len)
{
	size_t hl = ref_iphl(ip);

	return ref_fold(ref_sum(ip + hl, len - hl, ref_pseudo(ip, len - hl))) == 0xffff;
}

static void ref_set_ip4_csum(uint8_t *ip)
{
	wr16(ip + 10, 0);
	wr16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, ref_iphl(ip), 0)));
}

/* Full checksum; 0 is sent as 0xffff (equal in one's complement, and a UDP
 * checksum of 0 would mean "none"). */
static void ref_set_l4_csum(uint8_t *ip, size_t len)
{
	size_t hl = ref_iphl(ip);
	uint16_t c;

	wr16(ip + csum_off(ip), 0);
	c = (uint16_t)~ref_fold(ref_sum(ip + hl, len - hl, ref_pseudo(ip, len - hl)));
	wr16(ip + csum_off(ip), c ? c : 0xffff);
}

/* What the kernel leaves for CHECKSUM_PARTIAL: the folded pseudo-header sum. */
static void ref_set_partial(uint8_t *ip, size_t len)
{
	wr16(ip + csum_off(ip), ref_fold(ref_pseudo(ip, len - ref_iphl(ip))));
}

struct spec {
	bool v6;
	uint8_t proto;     /* 6 or 17 */
	size_t ipopt;      /* IPv4 option bytes, a multiple of 4 */
	size_t tcpopt;     /* TCP option bytes, a multiple of 4 */
	size_t payload;
	uint8_t flags;
	uint32_t seq;
	uint16_t id;
	uint16_t sport;
	uint32_t seed;     /* payload bytes; UINT32_MAX: all 0xff */
};

static size_t spec_iphl(const struct spec *s)
{
	return s->v6 ? 40 : 20 + s->ipopt;
}

static size_t spec_hl(const struct spec *s)
{
	return spec_iphl(s) + (s->proto == 6 ? 20 + s->tcpopt : 8);
}

/* An IP packet as spec says; the L4 checksum complete, or partial as a
 * TSO/USO read from TUN carries it. */
static size_t build(uint8_t *b, const struct spec *s, bool partial)
{
	size_t iphl = spec_iphl(s), hl = spec_hl(s), len = hl + s->payload;
	uint8_t *l4 = b + iphl;

	memset(b, 0, hl);
	if (s->v6) {
		b[0] = 0x60;
		b[1] = 0x01;
		b[2] = 0x23;
		b[3] = 0x45;
		wr16(b + 4, (uint32_t)(len - 40));
		b[6] = s->proto;
		b[7] = 64;
		b[8] = 0xfd;
		b[23] = 1;
		b[24] = 0xfd;
		b[39] = 2;
	} else {
		b[0] = (uint8_t)(0x40 | iphl / 4);
		b[1] = 0x10;
		wr16(b + 2, (uint32_t)len);
		wr16(b + 4, s->id);
		wr16(b + 6, 0x4000);
		b[8] = 64;
		b[9] = s->proto;
		wr32(b + 12, 0x0a000001);
		wr32(b + 16, 0x0a000002);
		memset(b + 20, 1, s->ipopt); /* NOP options */
	}
	wr16(l4, s->sport);
	wr16(l4 + 2, 5201);
	if (s->proto == 6) {
		wr32(l4 + 4, s->seq);
		wr32(l4 + 8, 0x11223344);
		l4[12] = (uint8_t)((20 + s->tcpopt) / 4 << 4);
		l4[13] = s->flags;
		wr16(l4 + 14, 0x2000);
		memset(l4 + 20, 1, s->tcpopt);
		if (s->tcpopt >= 12) { /* a timestamp option at the end */
			l4[20 + s->tcpopt - 10] = 8;
			l4[20 + s->tcpopt - 9] = 10;
			wr32(l4 + 20 + s->tcpopt - 8, 0xabcdef01);
			wr32(l4 + 20 + s->tcpopt - 4, 0x12345678);
		}
	} else {
		wr16(l4 + 4, (uint32_t)(len - iphl));
	}
	if (s->seed == UINT32_MAX)
		memset(b + hl, 0xff, s->payload);
	else
		tu_fill(b + hl, s->payload, s->seed);
	if (!s->v6)
		ref_set_ip4_csum(b);
	if (partial)
		ref_set_partial(b, len);
	else
		ref_set_l4_csum(b, len);
	return len;
}

static struct virtio_net_hdr gso_hdr(const struct spec *s, size_t gso)
{
	struct virtio_net_hdr h;

	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = s->proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4
		     : s->v6	    ? VIRTIO_NET_HDR_GSO_TCPV6
				    : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = htole16((uint16_t)spec_hl(s));
	h.gso_size = htole16((uint16_t)gso);
	h.csum_start = htole16((uint16_t)spec_iphl(s));
	h.csum_offset = htole16(s->proto == 6 ? 16 : 6);
	return h;
}

/* --- Split ---------------------------------------------------------------- */

#define MAXSEG 160
#define SEGCAP 9200

static uint8_t super[70000];
static uint8_t segbuf[MAXSEG][SEGCAP];
static uint8_t *segp[MAXSEG];
static size_t seg_len[MAXSEG];

static void init_segp(void)
{
	for (size_t i = 0; i < MAXSEG; i++)
		segp[i] = segbuf[i];
}

/* Segment i of the super packet, made here independently. */
static size_t expect_seg(const uint8_t *sp, const struct spec *s, size_t gso, size_t i,
			 size_t nseg, uint8_t *out)
{
	size_t iphl = spec_iphl(s), hl = spec_hl(s), off = i * gso;
	size_t plen = s->payload - off < gso ? s->payload - off : gso, slen = hl + plen;

	memcpy(out, sp, hl);
	memcpy(out + hl, sp + hl + off, plen);
	if (s->v6) {
		wr16(out + 4, (uint32_t)(slen - 40));
	} else {
		wr16(out + 2, (uint32_t)slen);
		wr16(out + 4, (uint16_t)(s->id + i));
		ref_set_ip4_csum(out);
	}
	if (s->proto == 6) {
		uint8_t f = s->flags;

		if (i + 1 != nseg)
			f &= (uint8_t)~(FIN | PSH);
		if (i)
			f &= (uint8_t)~CWR;
		wr32(out + iphl + 4, s->seq + (uint32_t)off);
		out[iphl + 13] = f;
	} else {
		wr16(out + iphl + 4, (uint32_t)(slen - iphl));
	}
	ref_set_l4_csum(out, slen);
	return slen;
}

/* Splits spec's super packet with gso_size gso; checks every segment. */
static void check_split(const struct spec *s, size_t gso, uint16_t hdr_len_lie)
{
	static uint8_t want[SEGCAP];
	struct virtio_net_hdr h = gso_hdr(s, gso);
	size_t len = build(super, s, true), hl = spec_hl(s);
	size_t nseg = (s->payload + gso - 1) / gso;
	size_t cap = hl + (s->payload < gso ? s->payload : gso);
	int r;

	if (hdr_len_lie)
		h.hdr_len = htole16(hdr_len_lie); /* must not matter */
	if (cap > SEGCAP || nseg > MAXSEG) {
		CHECK(!"test sizes exceed the test's buffers");
		return;
	}
	init_segp();
	r = tund_offload_split(&h, super, len, segp, cap, MAXSEG, seg_len);
	CHECK(r == (int)nseg);
	if (r != (int)nseg)
		return;
	for (size_t i = 0; i < nseg; i++) {
		size_t wl = expect_seg(super, s, gso, i, nseg, want);

		CHECK(seg_len[i] == wl);
		CHECK(seg_len[i] <= cap);
		CHECK(memcmp(segp[i], want, wl) == 0);
		CHECK(ref_l4_ok(segp[i], seg_len[i]));
		if (!s->v6) {
			CHECK(ref_ip4_ok(segp[i]));
			CHECK(rd16(segp[i] + 2) == seg_len[i]);
			CHECK(rd16(segp[i] + 4) == (uint16_t)(s->id + i));
		} else {
			CHECK(rd16(segp[i] + 4) == seg_len[i] - 40);
		}
		if (s->proto == 6)
			CHECK(rd32(segp[i] + spec_iphl(s) + 4) == (uint32_t)(s->seq + i * gso));
	}
}

static const size_t odd_payloads[] = { 1, 1356, 1357, 1358, 4071, 4072, 9001 };

UNIT_TEST(offload_split_tcp4_sizes)
{
	struct spec s = { .proto = 6, .flags = ACK | PSH | FIN | CWR, .seq = 0xfffff000,
			  .id = 0xfffe, .sport = 40000, .seed = 7 };

	for (size_t k = 0; k < sizeof(odd_payloads) / sizeof(odd_payloads[0]); k++) {
		s.payload = odd_payloads[k];
		check_split(&s, 1357, 0);
	}
	/* The biggest IPv4 packet, with IP and TCP options. */
	s.ipopt = 8;
	s.tcpopt = 12;
	s.payload = 65535 - 20 - 8 - 20 - 12;
	check_split(&s, 1357, 0);
	check_split(&s, 1448, 3); /* hdr_len is not trusted */
	s.payload = 1000;
	check_split(&s, 9000, 0); /* gso_size above the payload: one segment */
}

UNIT_TEST(offload_split_tcp6_sizes)
{
	struct spec s = { .v6 = true, .proto = 6, .flags = ACK | PSH, .seq = 1, .sport = 40001,
			  .seed = 8, .tcpopt = 12 };

	for (size_t k = 0; k < sizeof(odd_payloads) / sizeof(odd_payloads[0]); k++) {
		s.payload = odd_payloads[k];
		check_split(&s, 1357, 0);
	}
	s.payload = 65535 - 20 - 12;
	check_split(&s, 1428, 0);
	check_split(&s, 1357, 60);
}

UNIT_TEST(offload_split_udp_sizes)
{
	struct spec s = { .proto = 17, .id = 100, .sport = 4789, .seed = 9 };

	for (int v6 = 0; v6 < 2; v6++) {
		s.v6 = v6;
		for (size_t k = 0; k < sizeof(odd_payloads) / sizeof(odd_payloads[0]); k++) {
			s.payload = odd_payloads[k];
			check_split(&s, 1357, 0);
		}
		s.payload = 65535 - 40 - 8;
		check_split(&s, 1472, 0);
	}
}

/* All-ones payloads: the most carries for the checksum's wide additions. */
UNIT_TEST(offload_split_all_ones)
{
	for (int k = 0; k < 4; k++) {
		struct spec s = { .v6 = k & 1, .proto = k & 2 ? 17 : 6, .flags = ACK, .seq = 1,
				  .id = 0xffff, .sport = 0xffff, .seed = UINT32_MAX };

		for (size_t p = 0; p < sizeof(odd_payloads) / sizeof(odd_payloads[0]); p++) {
			s.payload = odd_payloads[p];
			check_split(&s, 1357, 0);
			if (s.payload < 7 * MAXSEG)
				check_split(&s, 7, 0);
		}
	}
}

/* Random shapes: lengths, options, sizes, flags, both versions, both protocols. */
UNIT_TEST(offload_split_random)
{
	uint32_t x = 0x1234567;

	for (int it = 0; it < 300; it++) {
		struct spec s;
		size_t gso;

		x = x * 1103515245u + 12345u;
		memset(&s, 0, sizeof(s));
		s.v6 = x >> 31;
		s.proto = (x >> 30) & 1 ? 6 : 17;
		s.ipopt = s.v6 ? 0 : ((x >> 8) & 7) * 4;
		s.tcpopt = s.proto == 6 ? ((x >> 12) & 7) * 4 : 0;
		s.flags = (uint8_t)(ACK | ((x >> 4) & (FIN | PSH)) | ((x >> 3) & CWR));
		s.seq = x * 2654435761u;
		s.id = (uint16_t)(x >> 5);
		s.sport = (uint16_t)(1024 + it);
		s.seed = x;
		x = x * 1103515245u + 12345u;
		gso = 1 + (x >> 16) % 9000;
		s.payload = 1 + (x % 60000);
		if ((s.payload + gso - 1) / gso > MAXSEG)
			s.payload = gso * MAXSEG - (x & 7);
		check_split(&s, gso, 0);
	}
}

UNIT_TEST(offload_split_ecn_tcp)
{
	struct spec s = { .proto = 6, .flags = ACK | CWR, .payload = 3000, .seed = 3 };
	struct virtio_net_hdr h = gso_hdr(&s, 1000);
	size_t len = build(super, &s, true);

	init_segp();
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	CHECK(tund_offload_split(&h, super, len, segp, SEGCAP, MAXSEG, seg_len) == 3);
	CHECK(segp[0][20 + 13] == (ACK | CWR));
	CHECK(segp[1][20 + 13] == ACK);
	CHECK(segp[2][20 + 13] == ACK);
	/* ECN is a TCP thing: not with UDP, not without GSO. */
	s.proto = 17;
	len = build(super, &s, true);
	h = gso_hdr(&s, 1000);
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	CHECK(tund_offload_split(&h, super, len, segp, SEGCAP, MAXSEG, seg_len) == -EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN;
	CHECK(tund_offload_split(&h, super, len, segp, SEGCAP, MAXSEG, seg_len) == -EINVAL);
}

/* No GSO: the partial checksum the kernel left is completed, the rest copied. */
UNIT_TEST(offload_split_none)
{
	struct spec specs[] = {
		{ .proto = 6, .flags = ACK, .payload = 1001, .seed = 1, .tcpopt = 12 },
		{ .v6 = true, .proto = 17, .payload = 333, .seed = 2 },
		{ .proto = 17, .payload = 0, .seed = 3 },
	};
	static uint8_t want[SEGCAP];

	init_segp();
	for (size_t k = 0; k < 3; k++) {
		struct virtio_net_hdr h = gso_hdr(&specs[k], 1000);
		size_t len = build(super, &specs[k], true);

		h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		memset(segp[0], 0xee, len);
		CHECK(tund_offload_split(&h, super, len, segp, len, 1, seg_len) == 1);
		CHECK(seg_len[0] == len);
		build(want, &specs[k], false);
		CHECK(memcmp(segp[0], want, len) == 0);
		CHECK(ref_l4_ok(segp[0], len));
		/* Without NEEDS_CSUM the bytes pass untouched, whatever they are. */
		h.flags = 0;
		CHECK(tund_offload_split(&h, super, len, segp, len, 1, seg_len) == 1);
		CHECK(seg_len[0] == len && memcmp(segp[0], super, len) == 0);
	}
}

UNIT_TEST(offload_split_malformed)
{
	struct spec s = { .proto = 6, .flags = ACK, .payload = 4000, .seed = 4 };
	struct spec s6 = { .v6 = true, .proto = 6, .flags = ACK, .payload = 4000, .seed = 4 };
	struct virtio_net_hdr h = gso_hdr(&s, 1000), h2;
	size_t len = build(super, &s, true), len6;
	static uint8_t bad[70000];

	init_segp();
#define SPLIT(hp, p, l) tund_offload_split(hp, p, l, segp, SEGCAP, MAXSEG, seg_len)
	CHECK(SPLIT(&h, super, len) == 4);
	/* Truncated anywhere: the IP length no longer matches, or no header. */
	for (size_t l = 0; l < len; l += (l < 80 ? 1 : 997))
		CHECK(SPLIT(&h, super, l) == -EINVAL);
	memcpy(bad, super, len);
	bad[len] = 0;
	CHECK(SPLIT(&h, bad, len + 1) == -EINVAL); /* trailing byte */
	/* IHL below 5, or beyond the packet. */
	memcpy(bad, super, len);
	bad[0] = 0x44;
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	bad[0] = 0x4f;
	wr16(bad + 2, 40);
	CHECK(SPLIT(&h, bad, 40) == -EINVAL);
	/* Not IP at all. */
	bad[0] = 0x55;
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	/* A fragment. */
	memcpy(bad, super, len);
	wr16(bad + 6, 0x2000);
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	wr16(bad + 6, 0x0001);
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	/* TCP data offset below 5, or past the end. */
	memcpy(bad, super, len);
	bad[20 + 12] = 0x40;
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	bad[20 + 12] = 0xf0;
	wr16(bad + 2, 60);
	CHECK(SPLIT(&h, bad, 60) == -EINVAL);
	bad[20 + 12] = 0x50;
	CHECK(SPLIT(&h, bad, 60) == 1); /* the same, sane, is accepted */
	/* gso_size 0. */
	h2 = h;
	h2.gso_size = 0;
	CHECK(SPLIT(&h2, super, len) == -EINVAL);
	/* Header says TCP, packet is UDP; and the other way round. */
	memcpy(bad, super, len);
	bad[9] = 17;
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	h2 = h;
	h2.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	CHECK(SPLIT(&h2, super, len) == -EINVAL);
	/* TCPV6 on an IPv4 packet, TCPV4 on an IPv6 one. */
	h2.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK(SPLIT(&h2, super, len) == -EINVAL);
	len6 = build(bad, &s6, true);
	CHECK(SPLIT(&h, bad, len6) == -EINVAL);
	CHECK(SPLIT(&h2, bad, len6) == 4);
	/* IPv6 extension header (hop-by-hop) in front of TCP; bad payload length. */
	bad[6] = 0;
	CHECK(SPLIT(&h2, bad, len6) == -EINVAL);
	bad[6] = 6;
	wr16(bad + 4, (uint32_t)(len6 - 41));
	CHECK(SPLIT(&h2, bad, len6) == -EINVAL);
	/* UFO (GSO_UDP) and unknown types. */
	h2 = h;
	h2.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK(SPLIT(&h2, super, len) == -EINVAL);
	h2.gso_type = 9;
	CHECK(SPLIT(&h2, super, len) == -EINVAL);
	/* GSO with nothing to segment. */
	s.payload = 0;
	len = build(bad, &s, true);
	CHECK(SPLIT(&h, bad, len) == -EINVAL);
	/* NEEDS_CSUM pointing outside the packet. */
	s.payload = 10;
	len = build(bad, &s, true);
	h2 = h;
	h2.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	h2.csum_start = htole16((uint16_t)len);
	CHECK(SPLIT(&h2, bad, len) == -EINVAL);
	h2.csum_start = htole16((uint16_t)(len - 2));
	h2.csum_offset = htole16(1);
	CHECK(SPLIT(&h2, bad, len) == -EINVAL);
	h2.csum_offset = 0;
	CHECK(SPLIT(&h2, bad, len) == 1);
	CHECK(SPLIT(&h2, bad, 0) == -EINVAL);
#undef SPLIT
}

UNIT_TEST(offload_split_no_room)
{
	struct spec s = { .proto = 6, .flags = ACK, .payload = 4001, .seed = 5 };
	struct virtio_net_hdr h = gso_hdr(&s, 1000);
	size_t len = build(super, &s, true);

	init_segp();
	CHECK(tund_offload_split(&h, super, len, segp, 1040, 5, seg_len) == 5);
	CHECK(tund_offload_split(&h, super, len, segp, 1040, 4, seg_len) == -ENOSPC);
	CHECK(tund_offload_split(&h, super, len, segp, 1039, 5, seg_len) == -ENOSPC);
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	CHECK(tund_offload_split(&h, super, len, segp, len - 1, 5, seg_len) == -ENOSPC);
	CHECK(tund_offload_split(&h, super, len, segp, len, 0, seg_len) == -ENOSPC);
}

/* --- Coalesce ------------------------------------------------------------- */

#define MAXW 200

static struct rec {
	size_t n;
	uint8_t *buf[MAXW];
	size_t len[MAXW];
	const uint8_t *at[MAXW];
} rec;

static void rec_reset(void)
{
	for (size_t i = 0; i < rec.n; i++)
		free(rec.buf[i]);
	memset(&rec, 0, sizeof(rec));
}

static void rec_write(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (rec.n == MAXW)
		abort();
	rec.buf[rec.n] = malloc(len);
	if (!rec.buf[rec.n])
		abort();
	memcpy(rec.buf[rec.n], buf, len);
	rec.len[rec.n] = len;
	rec.at[rec.n] = buf;
	rec.n++;
}

static uint8_t pool[MAXSEG][VH + SEGCAP];
static struct tund_offload_pkt pkts[MAXSEG];
static uint8_t scratch[VH + TUND_OFFLOAD_MAX];

static void set_pkt(size_t i, const uint8_t *data, size_t len)
{
	memset(pool[i], 0xa5, VH);
	memcpy(pool[i] + VH, data, len);
	pkts[i].data = pool[i] + VH;
	pkts[i].len = len;
}

static size_t coalesce_with(size_t n, unsigned flags)
{
	rec_reset();
	return tund_offload_coalesce(pkts, n, flags, scratch, rec_write, NULL);
}

static size_t coalesce(size_t n)
{
	return coalesce_with(n, TUND_OFFLOAD_COALESCE_UDP);
}

/* The virtio header a merged packet must carry, spelled out byte by byte. */
static void want_vnet(uint8_t *out, const struct spec *s, size_t gso)
{
	size_t iphl = spec_iphl(s), hl = spec_hl(s);

	memset(out, 0, VH);
	out[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	out[1] = s->proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4 :
		 s->v6		? VIRTIO_NET_HDR_GSO_TCPV6 :
				  VIRTIO_NET_HDR_GSO_TCPV4;
	out[2] = (uint8_t)hl;
	out[3] = (uint8_t)(hl >> 8);
	out[4] = (uint8_t)gso;
	out[5] = (uint8_t)(gso >> 8);
	out[6] = (uint8_t)iphl;
	out[8] = s->proto == 17 ? 6 : 16;
}

static bool zero_vnet(const uint8_t *b)
{
	static const uint8_t z[VH];

	return memcmp(b, z, VH) == 0;
}

/* Splits spec's super packet into the test's segment buffers; returns count. */
static size_t split_into_segs(const struct spec *s, size_t gso)
{
	struct virtio_net_hdr h = gso_hdr(s, gso);
	size_t len = build(super, s, true);
	int r;

	init_segp();
	r = tund_offload_split(&h, super, len, segp, SEGCAP, MAXSEG, seg_len);
	CHECK(r > 0);
	return r > 0 ? (size_t)r : 0;
}

/* Write w is exactly spec's super packet (as the kernel hands it to us)
 * behind the virtio header of a merge. */
static bool write_is_super(size_t w, const struct spec *s, size_t gso)
{
	static uint8_t want[VH + 70000];
	size_t len;

	want_vnet(want, s, gso);
	len = build(want + VH, s, true);
	return w < rec.n && rec.len[w] == VH + len && memcmp(rec.buf[w], want, VH + len) == 0;
}

UNIT_TEST(offload_coalesce_round_trip)
{
	static const size_t sizes[] = { 1357 + 1, 2 * 1357, 5 * 1357 - 1, 40000, 0 };

	for (int v6 = 0; v6 < 2; v6++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct spec s = { .v6 = v6, .proto = 6, .tcpopt = 12, .flags = ACK | PSH,
					  .seq = 0xffffff00, .id = 77, .sport = 1000,
					  .payload = sizes[k], .seed = (uint32_t)k };
			size_t n;

			if (!s.payload) /* the largest that fits one write */
				s.payload = TUND_OFFLOAD_MAX - spec_hl(&s);
			n = split_into_segs(&s, 1357);

			for (size_t i = 0; i < n; i++)
				set_pkt(i, segp[i], seg_len[i]);
			CHECK(coalesce(n) == 1);
			CHECK(rec.n == 1);
			CHECK(write_is_super(0, &s, 1357));
		}
	}
}

UNIT_TEST(offload_coalesce_single_in_place)
{
	struct spec s = { .proto = 6, .flags = ACK | PSH, .payload = 500, .seed = 1, .sport = 9 };
	uint8_t p[600];
	size_t len = build(p, &s, false);

	set_pkt(0, p, len);
	CHECK(coalesce(1) == 1);
	CHECK(rec.n == 1 && rec.at[0] == pkts[0].data - VH);
	CHECK(rec.len[0] == VH + len && zero_vnet(rec.buf[0]));
	CHECK(memcmp(rec.buf[0] + VH, p, len) == 0);
	CHECK(coalesce(0) == 0 && rec.n == 0);
}

UNIT_TEST(offload_coalesce_two_flows_interleaved)
{
	struct spec a = { .proto = 6, .flags = ACK, .seq = 1000, .sport = 1111, .payload = 3 * 1400,
			  .seed = 11, .id = 5 };
	struct spec b = { .v6 = true, .proto = 6, .flags = ACK | PSH, .seq = 9, .sport = 2222,
			  .payload = 3 * 1400 - 17, .seed = 12 };
	static uint8_t sa[3][SEGCAP], sb[3][SEGCAP];
	size_t la[3], lb[3];

	CHECK(split_into_segs(&a, 1400) == 3);
	for (int i = 0; i < 3; i++) {
		memcpy(sa[i], segp[i], seg_len[i]);
		la[i] = seg_len[i];
	}
	CHECK(split_into_segs(&b, 1400) == 3);
	for (int i = 0; i < 3; i++) {
		memcpy(sb[i], segp[i], seg_len[i]);
		lb[i] = seg_len[i];
	}
	for (int i = 0; i < 3; i++) {
		set_pkt(2 * i, sa[i], la[i]);
		set_pkt(2 * i + 1, sb[i], lb[i]);
	}
	CHECK(coalesce(6) == 2);
	CHECK(write_is_super(0, &a, 1400));
	CHECK(write_is_super(1, &b, 1400));
}

/* Segments of spec split at gso, copied into pkts in the order given. */
static size_t load_order(const struct spec *s, size_t gso, const int *order, size_t n)
{
	static uint8_t copy[MAXSEG][SEGCAP];
	static size_t clen[MAXSEG];
	size_t nseg = split_into_segs(s, gso);

	for (size_t i = 0; i < nseg; i++) {
		memcpy(copy[i], segp[i], seg_len[i]);
		clen[i] = seg_len[i];
	}
	for (size_t i = 0; i < n; i++)
		set_pkt(i, copy[order[i]], clen[order[i]]);
	return nseg;
}

/* Write w is a merge of segments [from, to) of spec split at gso: check its
 * header and completed checksum against the reference. */
static bool write_is_merge(size_t w, const struct spec *s, size_t gso, size_t from, size_t to)
{
	static uint8_t want[VH + 70000];
	struct spec part = *s;
	size_t hl = spec_hl(s), len;

	if (w >= rec.n)
		return false;
	/* The merge of [from, to) is the super packet of that byte range. */
	part.seq = s->seq + (uint32_t)(from * gso);
	part.id = (uint16_t)(s->id + from);
	part.payload = (to * gso < s->payload ? to * gso : s->payload) - from * gso;
	if (to * gso < s->payload)
		part.flags &= (uint8_t)~(PSH | FIN);
	want_vnet(want, &part, gso);
	len = build(want + VH, &part, true);
	/* Payload bytes come from the original, not from part's seed. */
	build(super, s, true);
	memcpy(want + VH + hl, super + hl + from * gso, part.payload);
	ref_set_partial(want + VH, len);
	return rec.len[w] == VH + len && memcmp(rec.buf[w], want, VH + len) == 0;
}

/* Write w is a packet the kernel accepts: lengths, IPv4 header checksum; a
 * full L4 checksum behind a zero header, or a consistent GSO header with the
 * pseudo-header sum in the TCP checksum field. */
static bool write_valid(size_t w)
{
	const uint8_t *b = rec.buf[w], *ip = b + VH;
	size_t len = rec.len[w] - VH, iphl, hl;

	if (rec.len[w] < VH + 40 || rec.len[w] > VH + TUND_OFFLOAD_MAX)
		return false;
	iphl = ref_iphl(ip);
	if (is_v6(ip) ? rd16(ip + 4) != len - 40 : (!ref_ip4_ok(ip) || rd16(ip + 2) != len))
		return false;
	if (zero_vnet(b))
		return ref_l4_ok(ip, len);
	hl = iphl + (size_t)(ip[iphl + 12] >> 4) * 4;
	if (b[0] != VIRTIO_NET_HDR_F_NEEDS_CSUM ||
	    b[1] != (is_v6(ip) ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) ||
	    (b[2] | b[3] << 8) != (int)hl || (b[6] | b[7] << 8) != (int)iphl || b[8] != 16 || b[9])
		return false;
	size_t gso = (size_t)(b[4] | b[5] << 8);

	return gso > 0 && gso < len - hl && rd16(ip + csum_off(ip)) == ref_fold(ref_pseudo(ip, len - iphl));
}

UNIT_TEST(offload_coalesce_seq_gap)
{
	struct spec s = { .proto = 6, .flags = ACK, .seq = 5, .sport = 3, .payload = 5 * 1000,
			  .seed = 13, .id = 1 };
	const int order[] = { 0, 1, 3, 4 };

	load_order(&s, 1000, order, 4);
	CHECK(coalesce(4) == 2);
	CHECK(write_is_merge(0, &s, 1000, 0, 2));
	CHECK(write_is_merge(1, &s, 1000, 3, 5));
	/* Reordered: nothing merges, and the order stays as it came. */
	const int swapped[] = { 1, 0, 2 };

	load_order(&s, 1000, swapped, 3);
	CHECK(coalesce(3) == 3);
	CHECK(rec.n == 3);
	for (size_t w = 0; w < rec.n; w++) {
		CHECK(zero_vnet(rec.buf[w]) && write_valid(w));
		CHECK(rd32(rec.buf[w] + VH + 24) == 5 + 1000 * (uint32_t)swapped[w]);
	}
}

UNIT_TEST(offload_coalesce_bad_checksum_alone)
{
	struct spec s = { .v6 = true, .proto = 6, .flags = ACK, .seq = 77, .sport = 4,
			  .payload = 5 * 1200, .seed = 14 };
	const int order[] = { 0, 1, 2, 3, 4 };
	uint8_t *p;

	load_order(&s, 1200, order, 5);
	p = pkts[2].data;
	p[pkts[2].len - 1] ^= 0x40; /* one payload bit */
	uint8_t bad[SEGCAP];
	size_t bad_len = pkts[2].len;

	memcpy(bad, p, bad_len);
	CHECK(coalesce(5) == 3);
	CHECK(write_is_merge(0, &s, 1200, 0, 2));
	CHECK(rec.n == 3 && rec.len[1] == VH + bad_len && zero_vnet(rec.buf[1]) &&
	      memcmp(rec.buf[1] + VH, bad, bad_len) == 0);
	CHECK(write_is_merge(2, &s, 1200, 3, 5));
	/* A bad IPv4 header checksum is refused as well. */
	struct spec s4 = s;

	s4.v6 = false;
	load_order(&s4, 1200, order, 3);
	pkts[1].data[8]--; /* TTL changed behind the checksum's back */
	pkts[2].data[8]--;
	CHECK(coalesce(3) == 3);
}

static void set_flags(size_t i, uint8_t flags)
{
	uint8_t *ip = pkts[i].data;

	ip[ref_iphl(ip) + 13] = flags;
	ref_set_l4_csum(ip, pkts[i].len);
}

UNIT_TEST(offload_coalesce_control_flags)
{
	struct spec s = { .proto = 6, .flags = ACK, .seq = 1, .sport = 5, .payload = 4 * 1000,
			  .seed = 15 };
	const int order[] = { 0, 1, 2, 3 };

	/* FIN ends the run and is written alone. */
	load_order(&s, 1000, order, 4);
	set_flags(2, ACK | FIN);
	CHECK(coalesce(4) == 3);
	CHECK(write_is_merge(0, &s, 1000, 0, 2));
	CHECK(rec.n == 3 && zero_vnet(rec.buf[1]) && zero_vnet(rec.buf[2]));
	/* SYN / RST / URG / ECE: alone; the rest still merges. */
	static const uint8_t alone[] = { SYN | ACK, RST | ACK, 0x20 | ACK, 0x40 | ACK, CWR | ACK, 0 };

	for (size_t k = 0; k < sizeof(alone); k++) {
		load_order(&s, 1000, order, 4);
		set_flags(0, alone[k]);
		CHECK(coalesce(4) == 2);
		CHECK(rec.n == 2 && zero_vnet(rec.buf[0]) && rd16(rec.buf[0] + VH + 2) == 1040);
		CHECK(write_is_merge(1, &s, 1000, 1, 4));
	}
	/* PSH in the middle: the run ends after it. */
	load_order(&s, 1000, order, 4);
	set_flags(1, ACK | PSH);
	CHECK(coalesce(4) == 2);
	CHECK(rec.n == 2 && rec.buf[0][1] == VIRTIO_NET_HDR_GSO_TCPV4 &&
	      rd16(rec.buf[0] + VH + 2) == 2040 && (rec.buf[0][VH + 20 + 13] & PSH));
	CHECK(write_is_merge(1, &s, 1000, 2, 4));
}

UNIT_TEST(offload_coalesce_differences)
{
	struct spec s = { .proto = 6, .flags = ACK, .seq = 1, .sport = 6, .tcpopt = 12,
			  .payload = 4 * 1000, .seed = 16 };
	const int order[] = { 0, 1, 2, 3 };
	uint8_t *t;

	/* Options differ (a newer timestamp from segment 2 on). */
	load_order(&s, 1000, order, 4);
	for (size_t i = 2; i < 4; i++) {
		t = pkts[i].data + 20;
		t[20 + 11]++;
		ref_set_l4_csum(pkts[i].data, pkts[i].len);
	}
	CHECK(coalesce(4) == 2);
	CHECK(write_is_merge(0, &s, 1000, 0, 2));
	CHECK(rec.n == 2 && rec.buf[1][1] == VIRTIO_NET_HDR_GSO_TCPV4 &&
	      rec.buf[1][VH + 20 + 20 + 11] == pkts[2].data[20 + 20 + 11]);
	/* ACK number, window, TTL, TOS each break the run. */
	static const size_t field[] = { 20 + 8 + 3, 20 + 14, 8, 1 };

	for (size_t k = 0; k < 4; k++) {
		load_order(&s, 1000, order, 4);
		pkts[2].data[field[k]]++;
		if (field[k] < 20)
			ref_set_ip4_csum(pkts[2].data);
		ref_set_l4_csum(pkts[2].data, pkts[2].len);
		CHECK(coalesce(4) == 3);
		CHECK(write_is_merge(0, &s, 1000, 0, 2));
		CHECK(rec.n == 3 && zero_vnet(rec.buf[1]) && zero_vnet(rec.buf[2]));
	}
	/* IPv6: traffic class, flow label, hop limit each break the run. */
	struct spec s6 = s;
	static const size_t field6[] = { 1, 3, 7 };

	s6.v6 = true;
	for (size_t k = 0; k < 3; k++) {
		load_order(&s6, 1000, order, 4);
		pkts[2].data[field6[k]]++;
		CHECK(coalesce(4) == 3);
		CHECK(write_is_merge(0, &s6, 1000, 0, 2));
		CHECK(rec.n == 3 && zero_vnet(rec.buf[1]) && zero_vnet(rec.buf[2]));
	}
	/* A short segment ends the run; a bigger one after it starts anew. */
	struct spec u = s;

	u.payload = 2500;
	const int o2[] = { 0, 1, 2 };

	load_order(&u, 1000, o2, 3); /* 1000, 1000, 500 */
	CHECK(coalesce(3) == 1);
	CHECK(write_is_super(0, &u, 1000));
	/* First smaller than the second: no merge. */
	const int o3[] = { 2 };

	load_order(&u, 1000, o3, 1);
	uint8_t small[SEGCAP];
	size_t small_len = pkts[0].len;

	memcpy(small, pkts[0].data, small_len);
	u.seq += 2500;
	u.payload = 1000;
	build(super, &u, false);
	set_pkt(0, small, small_len);
	set_pkt(1, super, spec_hl(&u) + 1000);
	/* small's seq + 500 == the next one's seq: contiguous, yet not merged. */
	CHECK(rd32(small + 24) + 500 == rd32(super + 24));
	CHECK(coalesce(2) == 2);
}

UNIT_TEST(offload_coalesce_not_tcp)
{
	struct spec s = { .proto = 6, .flags = ACK, .seq = 1, .sport = 7, .payload = 3 * 1000,
			  .seed = 17 };
	struct spec u = { .proto = 17, .sport = 7, .payload = 100, .seed = 18 };
	const int order[] = { 0, 1, 2 };
	uint8_t udp[200], ack[60];
	size_t ulen = build(udp, &u, false), alen;

	/* A UDP datagram in the middle does not break the TCP run: without
	 * UDP merging it goes at once, with it its flow is held like TCP's
	 * and written after the run that started first. */
	load_order(&s, 1000, order, 3);
	set_pkt(3, pkts[2].data, pkts[2].len);
	set_pkt(2, pkts[1].data, pkts[1].len);
	set_pkt(1, udp, ulen);
	CHECK(coalesce_with(4, 0) == 2);
	CHECK(rec.n == 2 && rec.at[0] == pkts[1].data - VH && zero_vnet(rec.buf[0]) &&
	      memcmp(rec.buf[0] + VH, udp, ulen) == 0);
	CHECK(write_is_super(1, &s, 1000));
	CHECK(coalesce(4) == 2);
	CHECK(write_is_super(0, &s, 1000));
	CHECK(rec.n == 2 && rec.at[1] == pkts[1].data - VH && zero_vnet(rec.buf[1]) &&
	      memcmp(rec.buf[1] + VH, udp, ulen) == 0);
	/* A pure ACK of the same flow: written alone, after the run before it. */
	s.payload = 0;
	s.seq = 3001;
	alen = build(ack, &s, false);
	s.payload = 3000;
	s.seq = 1;
	load_order(&s, 1000, order, 3);
	set_pkt(3, ack, alen);
	CHECK(coalesce(4) == 2);
	CHECK(write_is_super(0, &s, 1000));
	CHECK(rec.n == 2 && rec.len[1] == VH + alen && memcmp(rec.buf[1] + VH, ack, alen) == 0);
	/* Garbage and empty packets are written as they are. */
	set_pkt(0, (const uint8_t *)"\x45", 1);
	set_pkt(1, (const uint8_t *)"", 0);
	CHECK(coalesce(2) == 2);
	CHECK(rec.n == 2 && rec.len[0] == VH + 1 && rec.len[1] == VH);
}

/* 50 segments of 1400 bytes do not fit one 64 KiB packet: 46 do. */
UNIT_TEST(offload_coalesce_64k_bound)
{
	static uint8_t stream[50 * 1400];
	size_t fit = (TUND_OFFLOAD_MAX - 60) / 1400;

	for (size_t i = 0; i < 50; i++) {
		struct spec s = { .v6 = true, .proto = 6, .flags = ACK, .sport = 8,
				  .seq = 100 + (uint32_t)i * 1400, .payload = 1400,
				  .seed = (uint32_t)i + 1 };
		size_t len = build(super, &s, false);

		memcpy(stream + i * 1400, super + 60, 1400);
		set_pkt(i, super, len);
	}
	CHECK(fit == 46);
	CHECK(coalesce(50) == 2);
	CHECK(rec.n == 2 && rec.len[0] == VH + 60 + fit * 1400 &&
	      rec.len[1] == VH + 60 + (50 - fit) * 1400);
	for (size_t w = 0; w < rec.n; w++) {
		CHECK(write_valid(w) && !zero_vnet(rec.buf[w]));
		CHECK(rd32(rec.buf[w] + VH + 44) == 100 + (w ? fit * 1400 : 0));
		CHECK(memcmp(rec.buf[w] + VH + 60, stream + (w ? fit * 1400 : 0),
			     rec.len[w] - VH - 60) == 0);
	}
}

/* More flows than coalesce holds open: everything still arrives in order. */
UNIT_TEST(offload_coalesce_many_flows)
{
	enum { FLOWS = 12, SEGS = 4 };
	static uint8_t copy[FLOWS][SEGS][SEGCAP];
	static size_t clen[FLOWS][SEGS];
	uint32_t next[FLOWS];
	size_t n = 0, bytes = 0;

	for (int f = 0; f < FLOWS; f++) {
		struct spec s = { .proto = 6, .flags = ACK, .seq = (uint32_t)f * 100000,
				  .sport = (uint16_t)(100 + f), .payload = SEGS * 700,
				  .seed = (uint32_t)f + 1 };

		CHECK(split_into_segs(&s, 700) == SEGS);
		for (int i = 0; i < SEGS; i++) {
			memcpy(copy[f][i], segp[i], seg_len[i]);
			clen[f][i] = seg_len[i];
		}
		next[f] = s.seq;
	}
	/* Flows 0..9 round robin, then 10 and 11 one after another. */
	for (int i = 0; i < SEGS; i++)
		for (int f = 0; f < 10; f++, n++)
			set_pkt(n, copy[f][i], clen[f][i]);
	for (int f = 10; f < FLOWS; f++)
		for (int i = 0; i < SEGS; i++, n++)
			set_pkt(n, copy[f][i], clen[f][i]);
	CHECK(coalesce(n) == rec.n);
	for (size_t w = 0; w < rec.n; w++) {
		const uint8_t *ip = rec.buf[w] + VH;
		size_t f = rd16(ip + 20) - 100, pay = rec.len[w] - VH - 40;

		CHECK(write_valid(w));
		CHECK(f < FLOWS && rd32(ip + 24) == next[f]);
		if (f < FLOWS)
			next[f] += (uint32_t)pay;
		bytes += pay;
	}
	CHECK(bytes == FLOWS * SEGS * 700);
	/* Flows 10 and 11 came in runs: one write each. */
	CHECK(rec.n >= 2 && rec.len[rec.n - 1] == VH + 40 + SEGS * 700 &&
	      rec.len[rec.n - 2] == VH + 40 + SEGS * 700);
}

/* UDP datagrams of one flow: merged into one USO write that splits back
 * into exactly the datagrams, IPv4 and IPv6, odd sizes, a short last one. */
UNIT_TEST(offload_coalesce_udp_round_trip)
{
	static const size_t sizes[][2] = { { 64, 64 * 5 }, { 64, 64 * 5 - 23 }, { 1372, 1372 * 3 },
					   { 1, 40 }, { 999, 999 * 64 } };

	for (int v6 = 0; v6 < 2; v6++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct spec s = { .v6 = v6, .proto = 17, .id = 9, .sport = 4000,
					  .payload = sizes[k][1], .seed = (uint32_t)(30 + k) };
			size_t n = split_into_segs(&s, sizes[k][0]);

			CHECK(n == (sizes[k][1] + sizes[k][0] - 1) / sizes[k][0]);
			for (size_t i = 0; i < n; i++)
				set_pkt(i, segp[i], seg_len[i]);
			CHECK(coalesce(n) == 1);
			CHECK(write_is_super(0, &s, sizes[k][0]));
			/* Without the flag (a TUN without USO): one write each. */
			CHECK(coalesce_with(n, 0) == n);
			for (size_t i = 0; i < n; i++)
				CHECK(zero_vnet(rec.buf[i]) && rec.len[i] == VH + seg_len[i] &&
				      memcmp(rec.buf[i] + VH, segp[i], seg_len[i]) == 0);
		}
	}
}

/* What breaks a UDP run: a datagram whose checksum does not verify, one
 * sent without a checksum (IPv4's zero), a longer one after a short one. */
UNIT_TEST(offload_coalesce_udp_breaks)
{
	struct spec s = { .proto = 17, .id = 1, .sport = 4001, .payload = 6 * 100, .seed = 40 };
	size_t n = split_into_segs(&s, 100), l4 = spec_iphl(&s);

	CHECK(n == 6);
	for (size_t i = 0; i < n; i++)
		set_pkt(i, segp[i], seg_len[i]);
	pkts[2].data[l4 + 8] ^= 0x01; /* payload changed, checksum not */
	CHECK(coalesce(n) == 3);      /* [0,1] merged, [2] alone, [3..5] merged */
	CHECK(rec.n == 3 && !zero_vnet(rec.buf[0]) && zero_vnet(rec.buf[1]) &&
	      !zero_vnet(rec.buf[2]));
	CHECK(rec.len[0] == VH + l4 + 8 + 200 && rec.len[2] == VH + l4 + 8 + 300);
	CHECK(memcmp(rec.buf[1] + VH, pkts[2].data, pkts[2].len) == 0);

	for (size_t i = 0; i < n; i++)
		set_pkt(i, segp[i], seg_len[i]);
	pkts[3].data[l4 + 6] = pkts[3].data[l4 + 7] = 0; /* no checksum */
	CHECK(coalesce(n) == 3);
	CHECK(zero_vnet(rec.buf[1]) && memcmp(rec.buf[1] + VH, pkts[3].data, pkts[3].len) == 0);

	/* 100, 40, 100: the short one ends the run. */
	struct spec a = s, b = s;
	uint8_t d[3][200];
	size_t len[3];

	a.payload = 100;
	b.payload = 40;
	len[0] = build(d[0], &a, false);
	len[1] = build(d[1], &b, false);
	len[2] = build(d[2], &a, false);
	for (size_t i = 0; i < 3; i++)
		set_pkt(i, d[i], len[i]);
	CHECK(coalesce(3) == 2);
	CHECK(rec.len[0] == VH + l4 + 8 + 140 && !zero_vnet(rec.buf[0]));
	CHECK(zero_vnet(rec.buf[1]) && memcmp(rec.buf[1] + VH, d[2], len[2]) == 0);
}
