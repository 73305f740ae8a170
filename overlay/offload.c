// SPDX-License-Identifier: MIT
/* TUN offloads: splitting the GSO super packets read from TUN into ordinary
 * IP packets, and merging runs of received TCP segments or UDP datagrams
 * into one GSO write.
 * Every input is untrusted: lengths come from the IP/TCP/UDP headers, never
 * from virtio_net_hdr.hdr_len, and anything inconsistent is refused. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "overlay/offload.h"

#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define PROTO_NONE6 59

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

#define IP4_MIN 20
#define IP6_LEN 40
#define TCP_MIN 20
#define UDP_LEN 8
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* --- Internet checksum (RFC 1071) ------------------------------------------
 * Sums are kept in host order of 16-bit words as they lie in memory: the
 * folded result stored back with memcpy is then in network order on either
 * endianness. 64-bit words are added with end-around carry (one's complement
 * sums are congruent modulo 2^64 - 1 as well as 2^16 - 1), in four
 * independent chains so the additions overlap. */

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

/* Adds len bytes at p to sum; the result is below 2^33, so callers may add
 * a few 16-bit words to it before folding. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint64_t s0 = sum, s1 = 0, s2 = 0, s3 = 0;

	while (len >= 32) {
		s0 = add_carry(s0, load64(p));
		s1 = add_carry(s1, load64(p + 8));
		s2 = add_carry(s2, load64(p + 16));
		s3 = add_carry(s3, load64(p + 24));
		p += 32;
		len -= 32;
	}
	s0 = add_carry(add_carry(s0, s1), add_carry(s2, s3));
	while (len >= 8) {
		s0 = add_carry(s0, load64(p));
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		s0 = add_carry(s0, v);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		s0 = add_carry(s0, v);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high half of a network-order word. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s0 = add_carry(s0, p[0]);
#else
		s0 = add_carry(s0, (uint64_t)p[0] << 8);
#endif
	}
	return (s0 & 0xffffffffu) + (s0 >> 32);
}

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A 16-bit value in network order, as csum_add would have read it. */
static inline uint64_t net16(uint16_t v)
{
	return htobe16(v);
}

/* Pseudo-header sum (addresses, protocol, L4 length) of an IPv4/IPv6 packet. */
static uint64_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4len)
{
	uint64_t s = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);

	return s + net16(proto) + net16((uint16_t)(l4len >> 16)) + net16((uint16_t)l4len);
}

static inline void put_csum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, sizeof(c));
}

/* Final checksum; 0 becomes 0xffff (the same in one's complement) because
 * a UDP checksum of 0 means "none". */
static inline uint16_t csum_final(uint64_t sum)
{
	uint16_t c = (uint16_t)~csum_fold(sum);

	return c ? c : 0xffff;
}

static void ip4_set_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	put_csum(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, ihl)));
}

/* --- Split ---------------------------------------------------------------- */

struct gso_hdrs {
	bool v6;
	size_t iphl; /* IP header */
	size_t hl;   /* IP + TCP/UDP header */
};

/* Parses the headers of a GSO packet carrying proto; false if malformed. */
static bool parse_gso(const uint8_t *pkt, size_t len, uint8_t proto, struct gso_hdrs *h)
{
	size_t l4len;

	if (len < 1)
		return false;
	switch (pkt[0] >> 4) {
	case 4:
		if (len < IP4_MIN)
			return false;
		h->v6 = false;
		h->iphl = (size_t)(pkt[0] & 0x0f) * 4;
		if (h->iphl < IP4_MIN || h->iphl > len || get16(pkt + 2) != len)
			return false;
		if (get16(pkt + 6) & 0x3fff) /* more fragments or an offset */
			return false;
		if (pkt[9] != proto)
			return false;
		break;
	case 6:
		/* Extension headers are refused: TCP/UDP must follow directly. */
		if (len < IP6_LEN || get16(pkt + 4) != len - IP6_LEN || pkt[6] != proto)
			return false;
		h->v6 = true;
		h->iphl = IP6_LEN;
		break;
	default:
		return false;
	}
	l4len = len - h->iphl;
	if (proto == PROTO_TCP) {
		size_t thl;

		if (l4len < TCP_MIN)
			return false;
		thl = (size_t)(pkt[h->iphl + 12] >> 4) * 4;
		if (thl < TCP_MIN || thl > l4len)
			return false;
		h->hl = h->iphl + thl;
	} else {
		if (l4len < UDP_LEN)
			return false;
		h->hl = h->iphl + UDP_LEN;
	}
	return true;
}

/* No GSO: one packet, its checksum completed if the kernel left it partial. */
static int split_none(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		      uint8_t *const segs[], size_t seg_cap, size_t max_segs, size_t seg_len[])
{
	size_t start = le16toh(hdr->csum_start), off = le16toh(hdr->csum_offset);
	bool partial = hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (len == 0)
		return -EINVAL;
	if (partial && (start >= len || len - start < 2 || off > len - start - 2))
		return -EINVAL;
	if (max_segs < 1 || len > seg_cap)
		return -ENOSPC;
	memcpy(segs[0], pkt, len);
	if (partial) {
		/* The field holds the pseudo-header sum: summing over it completes it. */
		put_csum(segs[0] + start + off, csum_final(csum_add(0, segs[0] + start, len - start)));
	}
	seg_len[0] = len;
	return 1;
}

int tund_offload_split(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		       uint8_t *const segs[], size_t seg_cap, size_t max_segs,
		       size_t seg_len[])
{
	uint8_t type = hdr->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = hdr->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	size_t gso = le16toh(hdr->gso_size), payload, nseg, first;
	uint8_t proto;
	struct gso_hdrs h;
	uint32_t seq = 0;
	uint16_t id = 0;

	switch (type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (ecn)
			return -EINVAL;
		return split_none(hdr, pkt, len, segs, seg_cap, max_segs, seg_len);
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		proto = PROTO_TCP;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (ecn)
			return -EINVAL;
		proto = PROTO_UDP;
		break;
	default:
		return -EINVAL;
	}
	if (gso == 0 || !parse_gso(pkt, len, proto, &h))
		return -EINVAL;
	if ((type == VIRTIO_NET_HDR_GSO_TCPV4 && h.v6) || (type == VIRTIO_NET_HDR_GSO_TCPV6 && !h.v6))
		return -EINVAL;
	payload = len - h.hl;
	if (payload == 0)
		return -EINVAL;
	nseg = (payload + gso - 1) / gso;
	first = h.hl + (payload < gso ? payload : gso);
	if (nseg > max_segs || first > seg_cap)
		return -ENOSPC;
	if (!h.v6)
		id = get16(pkt + 4);
	if (proto == PROTO_TCP)
		seq = get32(pkt + h.iphl + 4);

	for (size_t i = 0; i < nseg; i++) {
		size_t off = i * gso, plen = payload - off < gso ? payload - off : gso;
		size_t slen = h.hl + plen, l4len = slen - h.iphl;
		uint8_t *s = segs[i], *l4 = s + h.iphl;
		uint64_t sum;

		memcpy(s, pkt, h.hl);
		memcpy(s + h.hl, pkt + h.hl + off, plen);
		if (h.v6) {
			put16(s + 4, (uint16_t)(slen - IP6_LEN));
		} else {
			put16(s + 2, (uint16_t)slen);
			put16(s + 4, (uint16_t)(id + i));
			ip4_set_csum(s, h.iphl);
		}
		sum = pseudo_sum(s, h.v6, proto, l4len);
		if (proto == PROTO_TCP) {
			put32(l4 + 4, seq + (uint32_t)off);
			if (i + 1 < nseg)
				l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i > 0)
				l4[13] &= (uint8_t)~TCP_CWR;
			l4[TCP_CSUM_OFF] = l4[TCP_CSUM_OFF + 1] = 0;
			put_csum(l4 + TCP_CSUM_OFF, csum_final(csum_add(sum, l4, l4len)));
		} else {
			put16(l4 + 4, (uint16_t)l4len);
			l4[UDP_CSUM_OFF] = l4[UDP_CSUM_OFF + 1] = 0;
			put_csum(l4 + UDP_CSUM_OFF, csum_final(csum_add(sum, l4, l4len)));
		}
		seg_len[i] = slen;
	}
	return (int)nseg;
}

/* --- Coalesce ------------------------------------------------------------- */

/* Open flows per call and segments per merged packet: bounded work and a
 * fixed stack. 64 segments of a 1420-byte MTU already exceed 64 KiB. */
#define CO_FLOWS 8
#define CO_SEGS 64

enum pkt_kind {
	PKT_OTHER,     /* no flow we could be holding: write at once */
	PKT_UNKNOWN,   /* may belong to any held flow: flush all first */
	PKT_FLOW,      /* TCP or UDP with a flow key; maybe mergeable */
};

struct flow_key {
	uint8_t addr[32];
	uint8_t ports[4];
	uint8_t v6;
	uint8_t proto; /* PROTO_TCP or PROTO_UDP */
};

struct pkt_info {
	enum pkt_kind kind;
	bool mergeable;
	struct flow_key key;
	size_t iphl, hl, payload;
	uint32_t seq;
};

struct flow {
	bool open;
	struct flow_key key;
	size_t idx[CO_SEGS]; /* members, in order */
	size_t count;
	size_t total;        /* bytes of the merged IP packet */
	size_t iphl, hl, gso;
	uint32_t next_seq;
};

/* UDP: mergeable with an exact length, some payload and a checksum that
 * verifies (a datagram sent without one, IPv4's zero, is written alone). */
static void classify_udp(const uint8_t *d, size_t len, struct pkt_info *pi)
{
	const uint8_t *udp = d + pi->iphl;
	size_t l4len = len - pi->iphl;

	if (l4len <= UDP_LEN || get16(udp + 4) != l4len || get16(udp + UDP_CSUM_OFF) == 0)
		return;
	if (csum_fold(csum_add(pseudo_sum(d, pi->key.v6, PROTO_UDP, l4len), udp, l4len)) != 0xffff)
		return;
	pi->hl = pi->iphl + UDP_LEN;
	pi->payload = len - pi->hl;
	pi->mergeable = true;
}

static void classify(const uint8_t *d, size_t len, struct pkt_info *pi)
{
	const uint8_t *tcp;
	size_t l4len;
	uint8_t flags;

	memset(pi, 0, sizeof(*pi));
	pi->kind = PKT_OTHER;
	if (len < 1)
		return;
	if (d[0] >> 4 == 4) {
		if (len < IP4_MIN || (d[9] != PROTO_TCP && d[9] != PROTO_UDP))
			return;
		pi->key.proto = d[9];
		pi->iphl = (size_t)(d[0] & 0x0f) * 4;
		if (get16(d + 6) & 0x1fff) { /* a later fragment: no ports to tell the flow */
			pi->kind = PKT_UNKNOWN;
			return;
		}
		if (pi->iphl < IP4_MIN || pi->iphl + 4 > len)
			return; /* the kernel drops it */
		memcpy(pi->key.addr, d + 12, 8);
	} else if (d[0] >> 4 == 6) {
		if (len < IP6_LEN)
			return;
		if (d[6] != PROTO_TCP && d[6] != PROTO_UDP) {
			/* Behind extension headers could be a held flow's. */
			if (d[6] != PROTO_ICMPV6 && d[6] != PROTO_NONE6)
				pi->kind = PKT_UNKNOWN;
			return;
		}
		pi->key.proto = d[6];
		pi->iphl = IP6_LEN;
		if (pi->iphl + 4 > len)
			return;
		memcpy(pi->key.addr, d + 8, 32);
		pi->key.v6 = 1;
	} else {
		return;
	}
	tcp = d + pi->iphl;
	memcpy(pi->key.ports, tcp, 4);
	pi->kind = PKT_FLOW;

	/* Mergeable: exact lengths, no IP options or fragments, a valid IPv4
	 * header checksum; TCP: plain ACK data (PSH allowed) and a TCP
	 * checksum that verifies; UDP: see classify_udp. */
	if (pi->key.v6) {
		if (get16(d + 4) != len - IP6_LEN)
			return;
	} else {
		if (pi->iphl != IP4_MIN || get16(d + 2) != len || (get16(d + 6) & 0x3fff))
			return;
		if (csum_fold(csum_add(0, d, IP4_MIN)) != 0xffff)
			return;
	}
	if (pi->key.proto == PROTO_UDP) {
		classify_udp(d, len, pi);
		return;
	}
	l4len = len - pi->iphl;
	if (l4len < TCP_MIN)
		return;
	pi->hl = pi->iphl + (size_t)(tcp[12] >> 4) * 4;
	if (pi->hl < pi->iphl + TCP_MIN || pi->hl >= len || (tcp[12] & 0x0f))
		return;
	flags = tcp[13];
	if ((flags & (uint8_t)~TCP_PSH) != TCP_ACK)
		return;
	if (csum_fold(csum_add(pseudo_sum(d, pi->key.v6, PROTO_TCP, l4len), tcp, l4len)) != 0xffff)
		return;
	pi->payload = len - pi->hl;
	pi->seq = get32(tcp + 4);
	pi->mergeable = true;
}

/* Can packet d (already classified as pi, mergeable) extend flow f? */
static bool can_append(const struct flow *f, const struct tund_offload_pkt *pkts,
		       const uint8_t *d, const struct pkt_info *pi)
{
	const uint8_t *first = pkts[f->idx[0]].data;
	const uint8_t *last = pkts[f->idx[f->count - 1]].data;
	const uint8_t *t0 = first + f->iphl, *t = d + pi->iphl;
	bool tcp = f->key.proto == PROTO_TCP;

	if (f->count == CO_SEGS || pi->hl != f->hl || (tcp && pi->seq != f->next_seq) ||
	    pi->payload > f->gso || f->total + pi->payload > TUND_OFFLOAD_MAX)
		return false;
	/* Only the last segment may be short or carry PSH. */
	if (pkts[f->idx[f->count - 1]].len - f->hl != f->gso ||
	    (tcp && (last[f->iphl + 13] & TCP_PSH)))
		return false;
	if (f->key.v6) {
		/* Version, traffic class, flow label; hop limit. */
		if (memcmp(first, d, 4) != 0 || first[7] != d[7])
			return false;
	} else {
		/* TOS; DF; TTL. */
		if (first[1] != d[1] || first[6] != d[6] || first[8] != d[8])
			return false;
	}
	if (!tcp)
		return true;
	/* ACK number, window, options. */
	return memcmp(t0 + 8, t + 8, 4) == 0 && memcmp(t0 + 14, t + 14, 2) == 0 &&
	       memcmp(t0 + TCP_MIN, t + TCP_MIN, f->hl - f->iphl - TCP_MIN) == 0;
}

static void write_alone(struct tund_offload_pkt *p, tund_offload_write_fn write, void *ctx)
{
	uint8_t *buf = p->data - TUND_VNET_HDR_LEN;

	memset(buf, 0, TUND_VNET_HDR_LEN);
	write(ctx, buf, TUND_VNET_HDR_LEN + p->len);
}

/* Writes flow f (one packet alone, or several merged in scratch) and closes it. */
static size_t flush(struct flow *f, struct tund_offload_pkt *pkts, uint8_t *scratch,
		    tund_offload_write_fn write, void *ctx)
{
	struct virtio_net_hdr vh;
	uint8_t *out = scratch + TUND_VNET_HDR_LEN, *l4 = out + f->iphl;
	size_t o = f->hl;
	bool tcp = f->key.proto == PROTO_TCP;
	size_t csum_off = tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	const uint8_t *last;

	f->open = false;
	if (f->count == 1) {
		write_alone(&pkts[f->idx[0]], write, ctx);
		return 1;
	}
	memcpy(out, pkts[f->idx[0]].data, f->hl);
	for (size_t i = 0; i < f->count; i++) {
		const struct tund_offload_pkt *p = &pkts[f->idx[i]];

		memcpy(out + o, p->data + f->hl, p->len - f->hl);
		o += p->len - f->hl;
	}
	last = pkts[f->idx[f->count - 1]].data;
	if (tcp)
		l4[13] |= last[f->iphl + 13] & TCP_PSH;
	else
		put16(l4 + 4, (uint16_t)(f->total - f->iphl));
	if (f->key.v6) {
		put16(out + 4, (uint16_t)(f->total - IP6_LEN));
	} else {
		put16(out + 2, (uint16_t)f->total);
		ip4_set_csum(out, f->iphl);
	}
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
	put_csum(l4 + csum_off,
		 csum_fold(pseudo_sum(out, f->key.v6, f->key.proto, f->total - f->iphl)));

	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = !tcp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
		      f->key.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	vh.hdr_len = htole16((uint16_t)f->hl);
	vh.gso_size = htole16((uint16_t)f->gso);
	vh.csum_start = htole16((uint16_t)f->iphl);
	vh.csum_offset = htole16((uint16_t)csum_off);
	memcpy(scratch, &vh, TUND_VNET_HDR_LEN);
	write(ctx, scratch, TUND_VNET_HDR_LEN + f->total);
	return 1;
}

/* Flushes every open flow, oldest first. */
static size_t flush_all(struct flow *flows, struct tund_offload_pkt *pkts, uint8_t *scratch,
			tund_offload_write_fn write, void *ctx)
{
	size_t writes = 0;

	for (;;) {
		struct flow *oldest = NULL;

		for (size_t i = 0; i < CO_FLOWS; i++)
			if (flows[i].open && (!oldest || flows[i].idx[0] < oldest->idx[0]))
				oldest = &flows[i];
		if (!oldest)
			return writes;
		writes += flush(oldest, pkts, scratch, write, ctx);
	}
}

size_t tund_offload_coalesce(struct tund_offload_pkt *pkts, size_t n, unsigned flags,
			     uint8_t *scratch, tund_offload_write_fn write, void *ctx)
{
	struct flow flows[CO_FLOWS];
	size_t writes = 0;

	for (size_t i = 0; i < CO_FLOWS; i++)
		flows[i].open = false;

	for (size_t i = 0; i < n; i++) {
		struct tund_offload_pkt *p = &pkts[i];
		struct flow *f = NULL, *slot = NULL;
		struct pkt_info pi;

		classify(p->data, p->len, &pi);
		if (pi.key.proto == PROTO_UDP && !(flags & TUND_OFFLOAD_COALESCE_UDP))
			pi.mergeable = false;
		if (pi.kind == PKT_OTHER) {
			write_alone(p, write, ctx);
			writes++;
			continue;
		}
		if (pi.kind == PKT_UNKNOWN) {
			writes += flush_all(flows, pkts, scratch, write, ctx);
			write_alone(p, write, ctx);
			writes++;
			continue;
		}
		for (size_t j = 0; j < CO_FLOWS; j++) {
			if (flows[j].open && memcmp(&flows[j].key, &pi.key, sizeof(pi.key)) == 0)
				f = &flows[j];
			else if (!flows[j].open && !slot)
				slot = &flows[j];
		}
		if (f && pi.mergeable && can_append(f, pkts, p->data, &pi)) {
			f->idx[f->count++] = i;
			f->total += pi.payload;
			f->next_seq += (uint32_t)pi.payload;
			continue;
		}
		if (f) { /* the run ends here: keep the flow's order */
			writes += flush(f, pkts, scratch, write, ctx);
			slot = f;
		}
		if (!pi.mergeable) {
			write_alone(p, write, ctx);
			writes++;
			continue;
		}
		if (!slot) { /* all slots busy: write out the oldest flow */
			slot = &flows[0];
			for (size_t j = 1; j < CO_FLOWS; j++)
				if (flows[j].idx[0] < slot->idx[0])
					slot = &flows[j];
			writes += flush(slot, pkts, scratch, write, ctx);
		}
		slot->open = true;
		slot->key = pi.key;
		slot->idx[0] = i;
		slot->count = 1;
		slot->total = p->len;
		slot->iphl = pi.iphl;
		slot->hl = pi.hl;
		slot->gso = pi.payload;
		slot->next_seq = pi.seq + (uint32_t)pi.payload;
	}
	return writes + flush_all(flows, pkts, scratch, write, ctx);
}
