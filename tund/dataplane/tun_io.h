/* SPDX-License-Identifier: MIT */
/* Batched I/O on the TUN device. With offloads (IFF_VNET_HDR), a read may be
 * a 64 KiB TCP/UDP super packet behind a virtio_net_hdr: it is split into
 * ordinary packets here, so that everything after (broadcast fan-out,
 * routing, encryption) sees each packet; and decrypted packets are written
 * back coalesced, several TCP segments of a flow in one write. Without
 * offloads, one read is one packet and one write is one packet. */
#ifndef TUND_TUN_IO_H
#define TUND_TUN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/device.h"
#include "overlay/offload.h"

typedef void (*tund_tun_batch_fn)(void *ctx, struct tund_wg_packet *pkts, size_t n);

struct tund_tun_uring;

struct tund_tun_rx {
	int fd;
	bool vnet;
	size_t n_slots, stride, reads_max;
	uint8_t *slots;	 /* n_slots packets, each with room for the transport header */
	uint8_t *super;	 /* vnet: one read before it is split */
	struct tund_wg_packet *pkts;
	uint8_t **segs;
	size_t *seg_len;
	uint64_t dropped; /* malformed or unsplittable super packets */
	size_t read_bytes; /* what the last tund_tun_read_batch read */
	bool drained;	   /* and it ended finding the input empty (read() only) */
	struct tund_tun_uring *uring; /* NULL: read() */
	bool ring_on;	   /* under load: reads come through uring now */
	size_t since_dry;  /* packets since the input was last found empty */
};

/* With io_uring, this many packets in a row move reads to the ring. */
#define TUND_TUN_RING_AFTER 8

/* mtu: the interface's, bounds a split segment. 0 or -ENOMEM. */
int tund_tun_rx_init(struct tund_tun_rx *rx, int fd, bool vnet, unsigned mtu);
void tund_tun_rx_free(struct tund_tun_rx *rx);
/* Reads what the TUN has queued (non-blocking), up to a batch, and hands
 * the packets to fn (more than once when a batch fills up). Returns how many
 * packets were handed over (0: nothing queued) or -errno on a read error
 * other than EAGAIN/EINTR. */
int tund_tun_read_batch(struct tund_tun_rx *rx, tund_tun_batch_fn fn, void *ctx);
/* From now on the kernel reads ahead through io_uring (tund/tun_uring.h)
 * under load, offloads only; a wait through the ring then ends when stop_fd
 * is readable. Call it from the reading thread. 0, or -errno and reads stay
 * read() calls.
 * Under load means: TUND_TUN_RING_AFTER packets or more read without
 * finding the input empty move reads to the ring, and they stay there until
 * the input is found empty after fewer. Packets after a quiet spell are
 * read with read(), into one buffer that stays warm: through the ring a
 * lone packet took longer (sender's TUN thread from wake-up to send, 90th
 * percentile 189-243 us against 53-92 us), most likely because it lands in
 * the next of 64 buffers of 64 KiB, cold after the quiet spell. One thread
 * does both, so the order holds: the ring reads only inside that thread's
 * own waits on it. */
int tund_tun_rx_use_uring(struct tund_tun_rx *rx, int stop_fd);
/* Back to read() calls. */
void tund_tun_rx_drop_uring(struct tund_tun_rx *rx);
/* Whether the next wait is on the ring (tund_tun_rx_wait), not a poll of
 * the descriptor. */
bool tund_tun_rx_ring_waits(const struct tund_tun_rx *rx);
/* io_uring only: waits up to timeout_ms (< 0: no bound) for a read. 1 one
 * is ready, 0 timed out, -ESHUTDOWN stop_fd is readable, or -errno. */
int tund_tun_rx_wait(struct tund_tun_rx *rx, int timeout_ms);

struct tund_tun_tx {
	int fd;
	bool vnet;
	uint8_t *scratch; /* vnet: coalescing buffer */
	struct tund_offload_pkt *pkts;
	size_t cap;
	bool uso; /* the TUN takes UDP super packets: merge datagrams too */
};

/* cap: most packets per tund_tun_write_batch call. 0 or -ENOMEM. */
int tund_tun_tx_init(struct tund_tun_tx *tx, int fd, bool vnet, size_t cap);
void tund_tun_tx_free(struct tund_tun_tx *tx);
/* Writes the TUND_WG_TO_TUN packets of pkts[0..n) (n <= cap) in order,
 * coalesced where it can. */
void tund_tun_write_batch(struct tund_tun_tx *tx, struct tund_wg_packet *pkts, size_t n);
/* One decrypted packet at buf + off (off >= TUND_VNET_HDR_LEN: the header is
 * written in front of it when vnet), len bytes. */
void tund_tun_write_one(int fd, bool vnet, uint8_t *buf, size_t off, size_t len);

#endif
