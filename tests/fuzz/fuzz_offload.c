// SPDX-License-Identifier: MIT
/* TUN offloads with arbitrary virtio headers and packets. Input:
 *   [0]      mode bits: 1 fix IP lengths and checksums before splitting,
 *            2 fix the coalesce chunks too, 4 reverse pairs of segments,
 *            8 give each chunk the headers of the one before, seq following
 *   [1..11)  struct virtio_net_hdr
 *   [11]     max_segs (mod 65)    [12..14) seg_cap (mod len + 64, plus 1)
 *   [14..)   the packet read from TUN
 * Split must stay inside its buffers, produce only packets whose checksums
 * verify (by a byte-wise reference here) and lose no payload. Its segments,
 * and the packet bytes cut into length-prefixed chunks, are then coalesced:
 * every write must fit 64 KiB, carry a sane GSO header that split accepts
 * again, and together hold exactly the packets given. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VH TUND_VNET_HDR_LEN
#define MAX_SEGS 64
#define MAX_PKTS 64
#define GUARD 0xa5

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

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

/* IP header length and protocol of a plausible IPv4/IPv6 packet, else 0. */
static size_t ip_hl(const uint8_t *ip, size_t len, uint8_t *proto)
{
	if (len >= 40 && ip[0] >> 4 == 6) {
		*proto = ip[6];
		return 40;
	}
	if (len >= 20 && ip[0] >> 4 == 4 && (ip[0] & 15) >= 5 && (size_t)(ip[0] & 15) * 4 <= len) {
		*proto = ip[9];
		return (size_t)(ip[0] & 15) * 4;
	}
	return 0;
}

static uint32_t ref_pseudo(const uint8_t *ip, size_t l4len, uint8_t proto)
{
	uint8_t ph[40] = { 0 };

	if (ip[0] >> 4 == 6) {
		memcpy(ph, ip + 8, 32);
		wr16(ph + 34, (uint32_t)l4len);
		ph[39] = proto;
		return ref_sum(ph, 40, 0);
	}
	memcpy(ph, ip + 12, 8);
	ph[9] = proto;
	wr16(ph + 10, (uint32_t)l4len);
	return ref_sum(ph, 12, 0);
}

static size_t l4_csum_off(uint8_t proto)
{
	return proto == 6 ? 16 : proto == 17 ? 6 : 0;
}

/* Gives a packet consistent lengths and checksums (partial: as the kernel
 * leaves them for offload), so the fuzzer gets past the validation. */
static void fix_up(uint8_t *ip, size_t len, bool partial)
{
	uint8_t proto;
	size_t hl = ip_hl(ip, len, &proto), off = l4_csum_off(proto);

	if (!hl || len > 65535 + (hl == 40 ? 40 : 0))
		return;
	if (hl == 40) {
		wr16(ip + 4, (uint32_t)(len - 40));
	} else {
		wr16(ip + 2, (uint32_t)len);
		wr16(ip + 10, 0);
		wr16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, hl, 0)));
	}
	if (!off || len < hl + off + 2)
		return;
	wr16(ip + hl + off, 0);
	if (partial)
		wr16(ip + hl + off, ref_fold(ref_pseudo(ip, len - hl, proto)));
	else
		wr16(ip + hl + off, (uint16_t)~ref_fold(ref_sum(ip + hl, len - hl,
							     ref_pseudo(ip, len - hl, proto))));
}

/* A packet out of split: lengths and checksums verify. Returns its L4
 * payload offset (TCP/UDP header end). */
static size_t check_segment(const uint8_t *s, size_t len, uint8_t want_proto)
{
	uint8_t proto;
	size_t hl = ip_hl(s, len, &proto), l4hl;

	if (!hl || proto != want_proto)
		abort();
	if (hl == 40 ? rd16(s + 4) != len - 40
		     : rd16(s + 2) != len || ref_fold(ref_sum(s, hl, 0)) != 0xffff)
		abort();
	if (ref_fold(ref_sum(s + hl, len - hl, ref_pseudo(s, len - hl, proto))) != 0xffff)
		abort();
	l4hl = proto == 6 ? (size_t)(s[hl + 12] >> 4) * 4 : 8;
	if (proto == 17 && rd16(s + hl + 4) != len - hl)
		abort();
	if (hl + l4hl >= len) /* every GSO segment carries payload */
		abort();
	return hl + l4hl;
}

struct rec {
	struct tund_offload_pkt *pkts;
	size_t n, writes, pkts_seen, bytes;
	uint8_t *stream; /* L4 payloads, in write order */
	size_t stream_len;
};

static uint8_t seg_arena[MAX_SEGS * (65535 + 64)];

/* Write callback: every write checked on the spot. */
static void on_write(void *ctx, const uint8_t *buf, size_t len)
{
	static const uint8_t zero[VH];
	static uint8_t resplit[3 * 65536];
	struct rec *r = ctx;
	struct virtio_net_hdr h;
	const uint8_t *ip = buf + VH;
	size_t iplen = len - VH;

	r->writes++;
	if (len < VH || len > VH + TUND_OFFLOAD_MAX)
		abort();
	if (memcmp(buf, zero, VH) == 0) {
		/* Alone and in place: it must be one of the packets, untouched. */
		bool found = false;

		for (size_t i = 0; i < r->n && !found; i++)
			found = buf == r->pkts[i].data - VH && iplen == r->pkts[i].len;
		if (!found)
			abort();
		r->pkts_seen++;
		r->bytes += iplen;
		if (r->stream) {
			uint8_t proto;
			size_t hl = ip_hl(ip, iplen, &proto);
			size_t l4 = hl + (proto == 6 ? (size_t)(ip[hl + 12] >> 4) * 4 : 8);

			memcpy(r->stream + r->stream_len, ip + l4, iplen - l4);
			r->stream_len += iplen - l4;
		}
		return;
	}
	/* Merged: a GSO header that split takes back into as many segments. */
	memcpy(&h, buf, VH);
	{
		size_t hl = le16toh(h.hdr_len), gso = le16toh(h.gso_size), iphl = le16toh(h.csum_start);
		uint8_t proto;
		size_t nseg;
		uint8_t *segs[MAX_SEGS];
		size_t seg_len[MAX_SEGS];

		bool udp = h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4;
		uint8_t want = udp ? 17 : 6;
		size_t csum_off = udp ? 6 : 16;

		if (h.flags != VIRTIO_NET_HDR_F_NEEDS_CSUM || le16toh(h.csum_offset) != csum_off ||
		    (!udp && h.gso_type != VIRTIO_NET_HDR_GSO_TCPV4 &&
		     h.gso_type != VIRTIO_NET_HDR_GSO_TCPV6))
			abort();
		if (ip_hl(ip, iplen, &proto) != iphl || proto != want || gso == 0 || hl >= iplen ||
		    iplen - hl <= gso)
			abort();
		if (udp && (hl != iphl + 8 || rd16(ip + iphl + 4) != iplen - iphl))
			abort();
		/* The L4 checksum field holds the pseudo-header sum. */
		if (rd16(ip + iphl + csum_off) != ref_fold(ref_pseudo(ip, iplen - iphl, want)))
			abort();
		nseg = (iplen - hl + gso - 1) / gso;
		if (nseg > MAX_SEGS || nseg * (hl + gso) > sizeof(resplit))
			abort();
		for (size_t i = 0; i < nseg; i++)
			segs[i] = resplit + i * (hl + gso);
		if (tund_offload_split(&h, ip, iplen, segs, hl + gso, MAX_SEGS, seg_len) != (int)nseg)
			abort();
		for (size_t i = 0; i < nseg; i++)
			check_segment(segs[i], seg_len[i], want);
		r->pkts_seen += nseg;
		r->bytes += iplen + (nseg - 1) * hl;
		if (r->stream) {
			memcpy(r->stream + r->stream_len, ip + hl, iplen - hl);
			r->stream_len += iplen - hl;
		}
	}
}

/* Coalesces pkts[0..n) (each in its own exactly-sized buffer) and checks
 * that the writes hold exactly those packets. Returns the payload bytes
 * collected into stream (when not NULL). */
static size_t coalesce_check(struct tund_offload_pkt *pkts, size_t n, uint8_t *stream)
{
	static uint8_t scratch[VH + TUND_OFFLOAD_MAX];
	struct rec r = { .pkts = pkts, .n = n, .stream = stream };
	size_t in_bytes = 0, writes;

	for (size_t i = 0; i < n; i++)
		in_bytes += pkts[i].len;
	writes = tund_offload_coalesce(pkts, n, TUND_OFFLOAD_COALESCE_UDP, scratch, on_write, &r);
	if (writes != r.writes || writes > n || r.pkts_seen != n || r.bytes != in_bytes)
		abort();
	return r.stream_len;
}

/* Makes q the next TCP segment after p in p's flow (same headers, the
 * sequence number following p's payload), keeping q's own length. */
static void follow(const struct tund_offload_pkt *p, struct tund_offload_pkt *q)
{
	uint8_t proto;
	size_t hl = ip_hl(p->data, p->len, &proto), thl;
	uint32_t seq;

	if (!hl || proto != 6 || p->len < hl + 20)
		return;
	thl = (size_t)(p->data[hl + 12] >> 4) * 4;
	if (thl < 20 || hl + thl > p->len || hl + thl > q->len)
		return;
	memcpy(q->data, p->data, hl + thl);
	seq = (uint32_t)rd16(p->data + hl + 4) << 16 | rd16(p->data + hl + 6);
	seq += (uint32_t)(p->len - hl - thl);
	wr16(q->data + hl + 4, seq >> 16);
	wr16(q->data + hl + 6, seq);
}

static bool untouched(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != GUARD)
			return false;
	return true;
}

static struct tund_offload_pkt *copy_pkt(struct tund_offload_pkt *p, const uint8_t *src, size_t len)
{
	uint8_t *b = malloc(VH + len + 1); /* +1: malloc(0)-proof */

	if (!b)
		abort();
	memcpy(b + VH, src, len);
	p->data = b + VH;
	p->len = len;
	return p;
}

static void free_pkts(struct tund_offload_pkt *pkts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pkts[i].data - VH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[65535 + 64], stream[2 * 65535];
	struct tund_offload_pkt pkts[MAX_PKTS];
	struct virtio_net_hdr h;
	uint8_t *segs[MAX_SEGS];
	size_t seg_len[MAX_SEGS];
	size_t len, max_segs, seg_cap, payload_in = 0, l4 = 0;
	uint8_t mode, proto = 0;
	int r;

	if (size < 14 || size - 14 > sizeof(pkt) - 64)
		return 0;
	mode = data[0];
	memcpy(&h, data + 1, VH);
	max_segs = data[11] % (MAX_SEGS + 1);
	len = size - 14;
	seg_cap = (size_t)(data[12] | data[13] << 8) % (len + 64) + 1;
	memcpy(pkt, data + 14, len);
	if (mode & 1)
		fix_up(pkt, len, true);

	memset(seg_arena, GUARD, max_segs * seg_cap);
	for (size_t i = 0; i < MAX_SEGS; i++)
		segs[i] = seg_arena + i * seg_cap;
	r = tund_offload_split(&h, pkt, len, segs, seg_cap, max_segs, seg_len);
	if (r < 0) {
		if (r != -EINVAL && r != -ENOSPC)
			abort();
		/* Nothing usable written: the buffers are untouched. */
		if (!untouched(seg_arena, max_segs * seg_cap))
			abort();
		r = 0;
	} else if (r == 0 || (size_t)r > max_segs) {
		abort();
	}
	for (int i = 0; i < r; i++) {
		if (seg_len[i] == 0 || seg_len[i] > seg_cap ||
		    !untouched(segs[i] + seg_len[i], seg_cap - seg_len[i]))
			abort();
	}
	if (!untouched(seg_arena + (size_t)r * seg_cap, (max_segs - (size_t)r) * seg_cap))
		abort();

	/* GSO: every segment verifies and the payloads add up to the original. */
	if (r > 0 && (h.gso_type & 0x7f) != VIRTIO_NET_HDR_GSO_NONE) {
		size_t hl = ip_hl(pkt, len, &proto), gso = le16toh(h.gso_size);

		l4 = hl + (proto == 6 ? (size_t)(pkt[hl + 12] >> 4) * 4 : 8);
		for (int i = 0; i < r; i++) {
			size_t off = check_segment(segs[i], seg_len[i], proto);

			if (off != l4 || memcmp(segs[i] + off, pkt + l4 + i * gso, seg_len[i] - off) != 0 ||
			    (i + 1 < r && seg_len[i] - off != gso))
				abort();
			payload_in += seg_len[i] - off;
		}
		if (payload_in != len - l4)
			abort();
	} else if (r > 0 && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		/* Completed: with the partial sum that was there it adds up to -0. */
		size_t start = le16toh(h.csum_start), off = le16toh(h.csum_offset);

		if (!(off & 1) && ref_fold(ref_sum(segs[0] + start, seg_len[0] - start,
						   rd16(pkt + start + off))) != 0xffff)
			abort();
	}

	/* The segments coalesced: in one flow, so the payload comes out in order. */
	if (r > 0) {
		size_t n = 0;

		for (int i = 0; i < r; i++) {
			size_t j = (mode & 4) ? (size_t)(i ^ 1) : (size_t)i;

			if (j >= (size_t)r)
				j = (size_t)i;
			copy_pkt(&pkts[n++], segs[j], seg_len[j]);
		}
		if ((h.gso_type & 0x7f) && !(mode & 4)) {
			if (coalesce_check(pkts, n, stream) != payload_in ||
			    memcmp(stream, pkt + l4, payload_in) != 0)
				abort();
		} else {
			coalesce_check(pkts, n, NULL);
		}
		free_pkts(pkts, n);
	}

	/* The packet bytes as length-prefixed chunks: arbitrary packets. */
	{
		size_t n = 0, off = 0;

		while (n < MAX_PKTS && off + 2 <= len) {
			size_t l = rd16(pkt + off) % 2048;

			off += 2;
			if (l > len - off)
				l = len - off;
			copy_pkt(&pkts[n], pkt + off, l);
			if ((mode & 8) && n > 0)
				follow(&pkts[n - 1], &pkts[n]);
			if (mode & 2)
				fix_up(pkts[n].data, l, false);
			n++;
			off += l;
		}
		coalesce_check(pkts, n, NULL);
		free_pkts(pkts, n);
	}
	return 0;
}
