/* SPDX-License-Identifier: MIT */
/* TUN offloads. With IFF_VNET_HDR and TUNSETOFFLOAD (TSO4/TSO6/USO), one read
 * from the TUN device can be a 64 KiB TCP or UDP "super packet" behind a
 * struct virtio_net_hdr; tund splits it into ordinary IP packets before
 * encrypting each. On receive, runs of decrypted TCP segments of one flow are
 * merged back into one super packet so that one TUN write carries many.
 * Pure functions: no I/O, no allocation; every input is untrusted. */
#ifndef TUND_OFFLOAD_H
#define TUND_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>

/* USO (Linux 6.2) is missing from older uapi headers. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* Bytes of struct virtio_net_hdr in front of every TUN read and write. */
#define TUND_VNET_HDR_LEN ((size_t)sizeof(struct virtio_net_hdr))
/* Largest IP packet the kernel hands us or accepts in one go. */
#define TUND_OFFLOAD_MAX 65535u

/* Splits one packet read from TUN (hdr, then pkt of len bytes) into ordinary
 * IPv4/IPv6 packets with complete checksums:
 * - no GSO: one packet; VIRTIO_NET_HDR_F_NEEDS_CSUM is completed;
 * - TCPV4/TCPV6: segments of at most gso_size payload bytes; IPv4 total
 *   length, id (+1 per segment) and header checksum, TCP sequence numbers,
 *   FIN/PSH only on the last segment, CWR only on the first, TCP checksums;
 * - UDP_L4: datagrams of gso_size payload bytes, UDP length and checksum.
 * Segment i is written at segs[i] (room for seg_cap bytes) and its length
 * stored in seg_len[i]. Returns the number of segments, -EINVAL for a
 * malformed header or packet (nothing usable written), -ENOSPC when it
 * would take more than max_segs segments or a segment exceeds seg_cap. */
int tund_offload_split(const struct virtio_net_hdr *hdr, const uint8_t *pkt, size_t len,
		       uint8_t *const segs[], size_t seg_cap, size_t max_segs,
		       size_t seg_len[]);

/* One decrypted IP packet, in a buffer that has TUND_VNET_HDR_LEN writable
 * bytes in front of data (the transport header it was decrypted behind). */
struct tund_offload_pkt {
	uint8_t *data;
	size_t len;
};

/* Called once per TUN write: buf is a virtio_net_hdr then the packet. */
typedef void (*tund_offload_write_fn)(void *ctx, const uint8_t *buf, size_t len);

/* What tund_offload_coalesce may merge besides TCP: UDP datagrams, when the
 * TUN accepts USO (TUN_F_USO4/6, Linux 6.2). */
#define TUND_OFFLOAD_COALESCE_UDP 1u

/* Writes pkts[0..n) in as few writes as it can, keeping their order within
 * each flow: consecutive (in the array, not necessarily adjacent) TCP
 * segments of one flow with contiguous sequence numbers, equal ACK, window,
 * flags (ACK, PSH only on the last), options, TTL/hop limit and TOS, no IP
 * options/extension headers or fragments, equal payload sizes except a
 * shorter last one, a TCP checksum that verifies, and at most
 * TUND_OFFLOAD_MAX bytes together, become one GSO packet (NEEDS_CSUM, the
 * kernel re-segments or delivers it). With TUND_OFFLOAD_COALESCE_UDP in
 * flags, so do UDP datagrams of one flow with equal TTL/hop limit and TOS,
 * equal payload sizes except a shorter last one and a checksum (not zero)
 * that verifies (GSO_UDP_L4: each reaches its socket as the datagram it
 * was). Everything else is written alone with a zero header, so the
 * receiving kernel checks its checksums as usual.
 * At most 8 flows are held at once and 64 segments merged into one write
 * (bounded work, no allocation); past that a run is written out early.
 * scratch holds TUND_VNET_HDR_LEN + TUND_OFFLOAD_MAX bytes. Packets' data
 * may be modified. Returns the number of writes. */
size_t tund_offload_coalesce(struct tund_offload_pkt *pkts, size_t n, unsigned flags,
			     uint8_t *scratch, tund_offload_write_fn write, void *ctx);

#endif
