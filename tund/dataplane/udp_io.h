/* SPDX-License-Identifier: MIT */
/* Batched I/O on the underlay UDP socket: many datagrams per system call
 * (sendmmsg/recvmmsg), and where the kernel has them, UDP segmentation
 * offload on send (one message carries a run of equal-size datagrams to one
 * address, UDP_SEGMENT) and receive coalescing (UDP_GRO: one buffer holds
 * several datagrams of one sender, split here). */
#ifndef TUND_UDP_IO_H
#define TUND_UDP_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tund/dataplane/udp.h"

/* One datagram to send: prefix[0..prefix_len) (a TURN ChannelData header,
 * tund/dataplane/fastpath.c; 0: none), then buf[0..len). */
struct tund_udp_datagram {
	const struct sockaddr *addr;
	socklen_t addr_len;
	const uint8_t *buf;
	size_t len;
	uint8_t prefix[4];
	uint8_t prefix_len;
};

enum {
	TUND_UDP_SEND_MAX = 128, /* datagrams per tund_udp_send_batch call */
	TUND_UDP_GSO_MAX_SEGS = 64,
};

struct tund_udp_tx {
	int fd;
	atomic_bool gso; /* cleared when the kernel refuses UDP_SEGMENT */
};

/* Sets the sender up; gso: try UDP_SEGMENT (probed with the socket). */
void tund_udp_tx_init(struct tund_udp_tx *tx, int fd, bool gso);
/* Sends d[0..n) (n <= TUND_UDP_SEND_MAX) in order. A full socket buffer
 * waits briefly, then drops the rest as a full link would. Returns how many
 * datagrams the kernel took. */
size_t tund_udp_send_batch(struct tund_udp_tx *tx, const struct tund_udp_datagram *d, size_t n);

/* One received datagram: its bytes (inside the receiver's buffers, valid
 * until the next receive) and sender. */
struct tund_udp_received {
	uint8_t *buf;
	size_t len;
	const struct tund_endpoint *from;
};

struct tund_udp_rx {
	int fd;
	bool gro;
	size_t n_msgs, buf_size;
	uint8_t *bufs;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct tund_endpoint *from;
	uint8_t *cmsg; /* n_msgs control buffers */
	/* The last tund_udp_receive found the socket empty (it returned fewer
	 * messages than it asked for): poll before asking again. */
	bool drained;
};

/* Allocates the receive buffers and turns on UDP_GRO when asked and the
 * kernel has it. 0 or -ENOMEM. */
int tund_udp_rx_init(struct tund_udp_rx *rx, int fd, bool gro);
void tund_udp_rx_free(struct tund_udp_rx *rx);
/* Most datagrams one tund_udp_receive call can return. */
size_t tund_udp_rx_max(const struct tund_udp_rx *rx);
/* Receives what is queued (non-blocking) into out (room for
 * tund_udp_rx_max); coalesced buffers come back split. Returns the count,
 * 0 when nothing was queued, -errno on another error. */
int tund_udp_receive(struct tund_udp_rx *rx, struct tund_udp_received *out);

#endif
