// SPDX-License-Identifier: MIT
#include "tund/dataplane/udp_io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "tund/daemon/log.h"

enum {
	GSO_MAX_BYTES = 65000,	 /* what one UDP_SEGMENT message may carry */
	/* Messages per recvmmsg: coalesced, 16 may hold 1 MiB, about 1 ms of
	 * decryption before the first write to TUN; enough to amortise. */
	RX_MSGS = 16,
	RX_BUF = 65536,		 /* a coalesced buffer, or one large datagram */
	RX_SEGS_PER_MSG = 64,	 /* the kernel coalesces at most this many */
	SEND_WAIT_MS = 5,	 /* how long a full socket buffer may hold us */
	CMSG_TX = CMSG_SPACE(sizeof(uint16_t)),
	CMSG_RX = CMSG_SPACE(sizeof(int)),
};

void tund_udp_tx_init(struct tund_udp_tx *tx, int fd, bool gso)
{
	tx->fd = fd;
	atomic_init(&tx->gso, gso);
}

static bool same_addr(const struct tund_udp_datagram *a, const struct tund_udp_datagram *b)
{
	return a->addr_len == b->addr_len && !memcmp(a->addr, b->addr, a->addr_len);
}

/* Groups d[0..n) into messages: with gso, a run to one address of equal
 * lengths (the last may be shorter; equal prefixes) becomes one message, a
 * datagram's prefix and bytes two iovecs of it. first[m] is the index of
 * message m's first datagram. Returns the message count. */
static size_t build(const struct tund_udp_datagram *d, size_t n, bool gso, struct mmsghdr *msgs,
		    struct iovec *iov, uint8_t (*cmsg)[CMSG_TX], size_t *first)
{
	size_t m = 0, v = 0;

	for (size_t i = 0; i < n; m++) {
		struct msghdr *h = &msgs[m].msg_hdr;
		size_t j = i + 1, bytes = d[i].prefix_len + d[i].len, v0 = v;

		if (gso)
			while (j < n && j - i < TUND_UDP_GSO_MAX_SEGS && same_addr(&d[i], &d[j]) &&
			       d[j].prefix_len == d[i].prefix_len && d[j].len <= d[i].len &&
			       d[j - 1].len == d[i].len &&
			       bytes + d[j].prefix_len + d[j].len <= GSO_MAX_BYTES) {
				bytes += d[j].prefix_len + d[j].len;
				j++;
			}
		memset(h, 0, sizeof(*h));
		h->msg_name = (void *)d[i].addr;
		h->msg_namelen = d[i].addr_len;
		h->msg_iov = &iov[v];
		for (size_t k = i; k < j; k++) {
			if (d[k].prefix_len)
				iov[v++] = (struct iovec){ .iov_base = (void *)d[k].prefix,
							   .iov_len = d[k].prefix_len };
			iov[v++] = (struct iovec){ .iov_base = (void *)d[k].buf, .iov_len = d[k].len };
		}
		h->msg_iovlen = v - v0;
		if (j - i > 1) {
			struct cmsghdr *c = (struct cmsghdr *)cmsg[m];
			uint16_t seg = (uint16_t)(d[i].prefix_len + d[i].len);

			memset(cmsg[m], 0, CMSG_TX);
			h->msg_control = cmsg[m];
			h->msg_controllen = CMSG_TX;
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		first[m] = i;
		i = j;
	}
	return m;
}

static bool wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, SEND_WAIT_MS) > 0;
}

size_t tund_udp_send_batch(struct tund_udp_tx *tx, const struct tund_udp_datagram *d, size_t n)
{
	struct mmsghdr msgs[TUND_UDP_SEND_MAX];
	struct iovec iov[2 * TUND_UDP_SEND_MAX];
	uint8_t cmsg[TUND_UDP_SEND_MAX][CMSG_TX] __attribute__((aligned(8)));
	size_t first[TUND_UDP_SEND_MAX + 1];
	size_t m, off = 0, sent = 0;
	bool waited = false;

	if (n > TUND_UDP_SEND_MAX)
		n = TUND_UDP_SEND_MAX;
	m = build(d, n, atomic_load_explicit(&tx->gso, memory_order_relaxed), msgs, iov, cmsg,
		  first);
	first[m] = n;
	while (off < m) {
		int r = sendmmsg(tx->fd, msgs + off, (unsigned)(m - off), MSG_DONTWAIT);

		if (r > 0) {
			for (int k = 0; k < r; k++)
				sent += first[off + (size_t)k + 1] - first[off + (size_t)k];
			off += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == ENOBUFS) && !waited && wait_writable(tx->fd)) {
			waited = true; /* once per batch: a stuck socket must not stall us */
			continue;
		}
		if (errno == EAGAIN || errno == ENOBUFS)
			break; /* dropped, as a full link would */
		if ((errno == EIO || errno == EINVAL) && msgs[off].msg_hdr.msg_controllen) {
			/* The path cannot segment (e.g. a device without checksum
			 * offload): say so once and send the rest one by one. */
			if (atomic_exchange(&tx->gso, false))
				log_warn("udp: segmentation offload refused (%s); sending datagrams "
					 "singly", strerror(errno));
			return sent + tund_udp_send_batch(tx, d + first[off], n - first[off]);
		}
		log_debug("udp send: %s", strerror(errno));
		off++; /* this message only (e.g. an unreachable address) */
	}
	return sent;
}

int tund_udp_rx_init(struct tund_udp_rx *rx, int fd, bool gro)
{
	int one = 1;

	memset(rx, 0, sizeof(*rx));
	rx->fd = fd;
	rx->n_msgs = RX_MSGS;
	rx->buf_size = RX_BUF;
	rx->bufs = malloc(rx->n_msgs * rx->buf_size);
	rx->msgs = calloc(rx->n_msgs, sizeof(*rx->msgs));
	rx->iov = calloc(rx->n_msgs, sizeof(*rx->iov));
	rx->from = calloc(rx->n_msgs, sizeof(*rx->from));
	rx->cmsg = aligned_alloc(8, rx->n_msgs * CMSG_RX);
	if (!rx->bufs || !rx->msgs || !rx->iov || !rx->from || !rx->cmsg) {
		tund_udp_rx_free(rx);
		return -ENOMEM;
	}
	rx->gro = gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	return 0;
}

void tund_udp_rx_free(struct tund_udp_rx *rx)
{
	free(rx->bufs);
	free(rx->msgs);
	free(rx->iov);
	free(rx->from);
	free(rx->cmsg);
	memset(rx, 0, sizeof(*rx));
}

size_t tund_udp_rx_max(const struct tund_udp_rx *rx)
{
	return rx->n_msgs * (rx->gro ? RX_SEGS_PER_MSG : 1);
}

/* The coalesced segment size of a received message, or 0. */
static size_t gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		int size;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&size, CMSG_DATA(c), sizeof(size));
		return size > 0 ? (size_t)size : 0;
	}
	return 0;
}

int tund_udp_receive(struct tund_udp_rx *rx, struct tund_udp_received *out)
{
	size_t count = 0;
	int r;

	for (size_t i = 0; i < rx->n_msgs; i++) {
		struct msghdr *h = &rx->msgs[i].msg_hdr;

		rx->iov[i] = (struct iovec){ .iov_base = rx->bufs + i * rx->buf_size,
					     .iov_len = rx->buf_size };
		memset(h, 0, sizeof(*h));
		h->msg_name = &rx->from[i].sa;
		h->msg_namelen = sizeof(rx->from[i].in6);
		h->msg_iov = &rx->iov[i];
		h->msg_iovlen = 1;
		if (rx->gro) {
			h->msg_control = rx->cmsg + i * CMSG_RX;
			h->msg_controllen = CMSG_RX;
		}
	}
	r = recvmmsg(rx->fd, rx->msgs, (unsigned)rx->n_msgs, MSG_DONTWAIT, NULL);
	rx->drained = r < 0 || (size_t)r < rx->n_msgs;
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < r; i++) {
		struct msghdr *h = &rx->msgs[i].msg_hdr;
		uint8_t *buf = rx->iov[i].iov_base;
		size_t len = rx->msgs[i].msg_len, seg = rx->gro ? gro_size(h) : 0;

		if (h->msg_flags & MSG_TRUNC)
			continue; /* larger than any message of ours */
		rx->from[i].len = h->msg_namelen;
		if (!seg || seg >= len) {
			out[count++] = (struct tund_udp_received){ buf, len, &rx->from[i] };
			continue;
		}
		for (size_t o = 0; o < len && count < tund_udp_rx_max(rx); o += seg)
			out[count++] = (struct tund_udp_received){
				buf + o, len - o < seg ? len - o : seg, &rx->from[i]
			};
	}
	return (int)count;
}
