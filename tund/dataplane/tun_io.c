// SPDX-License-Identifier: MIT
#include "tund/dataplane/tun_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tund/daemon/log.h"
#include "tund/dataplane/tun_uring.h"

enum {
	PACKET_MAX = 65536,
	PLAIN_SLOTS = TUND_WG_BATCH_MAX,
	/* A 64 KiB super packet of 48-byte segments (Linux's smallest MSS)
	 * still fits, so no MSS a peer advertises can stall a flow. */
	VNET_SLOTS = 1400,
	READS_MAX = 64, /* reads per batch: bounds the latency of the first */
	/* Packets per batch before it goes out: a ping queued behind a bulk
	 * flow waits for at most this much encryption (~0.2 ms). */
	BATCH_TARGET = 2 * TUND_WG_BATCH_MAX,
};

int tund_tun_rx_init(struct tund_tun_rx *rx, int fd, bool vnet, unsigned mtu)
{
	size_t seg = mtu < 1500 ? 1500 : mtu;

	memset(rx, 0, sizeof(*rx));
	rx->fd = fd;
	rx->vnet = vnet;
	rx->reads_max = READS_MAX;
	rx->n_slots = vnet ? VNET_SLOTS : PLAIN_SLOTS;
	/* Without offloads a packet is read straight into its slot, and the
	 * interface's MTU may be raised under us: room for the largest. */
	rx->stride = TUND_WG_HEADROOM + TUND_WG_TAILROOM + (vnet ? seg : PACKET_MAX);
	rx->stride = (rx->stride + 63) & ~(size_t)63;
	rx->slots = malloc(rx->n_slots * rx->stride);
	rx->pkts = calloc(rx->n_slots, sizeof(*rx->pkts));
	rx->segs = calloc(rx->n_slots, sizeof(*rx->segs));
	rx->seg_len = calloc(rx->n_slots, sizeof(*rx->seg_len));
	if (vnet)
		rx->super = malloc(TUND_VNET_HDR_LEN + TUND_OFFLOAD_MAX);
	if (!rx->slots || !rx->pkts || !rx->segs || !rx->seg_len || (vnet && !rx->super)) {
		tund_tun_rx_free(rx);
		return -ENOMEM;
	}
	/* Where split segments go: the payload area of each slot. */
	for (size_t i = 0; i < rx->n_slots; i++)
		rx->segs[i] = rx->slots + i * rx->stride + TUND_WG_HEADROOM;
	return 0;
}

void tund_tun_rx_free(struct tund_tun_rx *rx)
{
	free(rx->slots);
	free(rx->pkts);
	free(rx->segs);
	free(rx->seg_len);
	free(rx->super);
	tund_tun_uring_close(rx->uring);
	memset(rx, 0, sizeof(*rx));
}

/* Splits the super packet read into src (len bytes with the header) into
 * slots from *n on; hands the batch over first when they run out. */
static void split(struct tund_tun_rx *rx, const uint8_t *src, size_t len, size_t *n,
		  tund_tun_batch_fn fn, void *ctx, size_t *total)
{
	struct virtio_net_hdr hdr;
	size_t cap = rx->stride - TUND_WG_HEADROOM - TUND_WG_TAILROOM;
	int segs;

	if (len < TUND_VNET_HDR_LEN) {
		rx->dropped++;
		return;
	}
	memcpy(&hdr, src, sizeof(hdr));
	for (int attempt = 0; attempt < 2; attempt++) {
		segs = tund_offload_split(&hdr, src + TUND_VNET_HDR_LEN,
					  len - TUND_VNET_HDR_LEN, rx->segs + *n, cap,
					  rx->n_slots - *n, rx->seg_len);
		if (segs != -ENOSPC || !*n)
			break;
		fn(ctx, rx->pkts, *n); /* make room, then try with every slot */
		*total += *n;
		*n = 0;
	}
	if (segs < 0) {
		if (!rx->dropped++)
			log_warn("tun: dropped a packet the kernel handed over that cannot be "
				 "split (%s); counting further ones silently", strerror(-segs));
		return;
	}
	for (int s = 0; s < segs; s++) {
		rx->pkts[*n] = (struct tund_wg_packet){ .buf = rx->slots + *n * rx->stride,
							.cap = rx->stride,
							.len = rx->seg_len[s] };
		(*n)++;
	}
}

int tund_tun_rx_use_uring(struct tund_tun_rx *rx, int stop_fd)
{
	if (!rx->vnet)
		return -EOPNOTSUPP; /* plain reads are for old kernels anyway */
	return tund_tun_uring_open(&rx->uring, rx->fd, stop_fd,
				   TUND_VNET_HDR_LEN + TUND_OFFLOAD_MAX);
}

void tund_tun_rx_drop_uring(struct tund_tun_rx *rx)
{
	tund_tun_uring_close(rx->uring);
	rx->uring = NULL;
	rx->ring_on = false;
}

bool tund_tun_rx_ring_waits(const struct tund_tun_rx *rx)
{
	return rx->uring && rx->ring_on;
}

int tund_tun_rx_wait(struct tund_tun_rx *rx, int timeout_ms)
{
	return rx->uring ? tund_tun_uring_wait(rx->uring, timeout_ms) : -EOPNOTSUPP;
}

struct reap_state {
	struct tund_tun_rx *rx;
	size_t n, total;
	tund_tun_batch_fn fn;
	void *ctx;
};

static void split_completed(void *arg, const uint8_t *buf, size_t len)
{
	struct reap_state *st = arg;

	st->rx->read_bytes += len;
	split(st->rx, buf, len, &st->n, st->fn, st->ctx, &st->total);
}

/* tund_tun_read_batch through io_uring: the reads already done. */
static int reap_batch(struct tund_tun_rx *rx, size_t target, tund_tun_batch_fn fn, void *ctx)
{
	struct reap_state st = { .rx = rx, .fn = fn, .ctx = ctx };
	int ret = 0;

	for (size_t reads = 0; reads < rx->reads_max && st.n < target;) {
		int r = tund_tun_uring_reap(rx->uring, 1, split_completed, &st);

		if (r <= 0) {
			ret = r;
			break;
		}
		reads += (size_t)r;
	}
	if (st.n)
		fn(ctx, rx->pkts, st.n);
	st.total += st.n;
	return ret && !st.total ? ret : (int)st.total;
}

/* Whether reads go through the ring: n packets were just read, 0 the input
 * was found empty (tund_tun_rx_use_uring says why). */
static void note_batch(struct tund_tun_rx *rx, size_t n)
{
	if (n) {
		rx->since_dry += n;
		if (rx->uring && rx->since_dry >= TUND_TUN_RING_AFTER)
			rx->ring_on = true;
		return;
	}
	if (rx->since_dry < TUND_TUN_RING_AFTER)
		rx->ring_on = false;
	rx->since_dry = 0;
}

int tund_tun_read_batch(struct tund_tun_rx *rx, tund_tun_batch_fn fn, void *ctx)
{
	size_t n = 0, total = 0;
	int ret = 0;
	size_t target = rx->n_slots < BATCH_TARGET ? rx->n_slots : BATCH_TARGET;

	rx->read_bytes = 0;
	rx->drained = false;
	if (tund_tun_rx_ring_waits(rx)) {
		int r = reap_batch(rx, target, fn, ctx);

		if (r >= 0)
			note_batch(rx, (size_t)r);
		return r;
	}
	for (size_t reads = 0; reads < rx->reads_max && n < target; reads++) {
		ssize_t r;

		if (rx->vnet) {
			r = read(rx->fd, rx->super, TUND_VNET_HDR_LEN + TUND_OFFLOAD_MAX);
			if (r >= 0) {
				rx->read_bytes += (size_t)r;
				split(rx, rx->super, (size_t)r, &n, fn, ctx, &total);
				continue;
			}
		} else {
			uint8_t *slot = rx->slots + n * rx->stride;

			r = read(rx->fd, slot + TUND_WG_HEADROOM, PACKET_MAX);
			if (r >= 0) {
				rx->read_bytes += (size_t)r;
				rx->pkts[n++] = (struct tund_wg_packet){ .buf = slot,
									 .cap = rx->stride,
									 .len = (size_t)r };
				continue;
			}
		}
		if (errno == EAGAIN)
			rx->drained = true;
		else if (errno != EINTR)
			ret = -errno;
		break;
	}
	if (n)
		fn(ctx, rx->pkts, n);
	total += n;
	if (!ret || total)
		note_batch(rx, total);
	return ret && !total ? ret : (int)total;
}

int tund_tun_tx_init(struct tund_tun_tx *tx, int fd, bool vnet, size_t cap)
{
	memset(tx, 0, sizeof(*tx));
	tx->fd = fd;
	tx->vnet = vnet;
	tx->cap = cap;
	if (!vnet)
		return 0;
	tx->scratch = malloc(TUND_VNET_HDR_LEN + TUND_OFFLOAD_MAX);
	tx->pkts = calloc(cap, sizeof(*tx->pkts));
	if (!tx->scratch || !tx->pkts) {
		tund_tun_tx_free(tx);
		return -ENOMEM;
	}
	return 0;
}

void tund_tun_tx_free(struct tund_tun_tx *tx)
{
	free(tx->scratch);
	free(tx->pkts);
	memset(tx, 0, sizeof(*tx));
}

static void write_tun(void *ctx, const uint8_t *buf, size_t len)
{
	const struct tund_tun_tx *tx = ctx;

	/* A full TUN queue drops the packet, as a full link would. */
	if (write(tx->fd, buf, len) < 0 && errno != EAGAIN)
		log_debug("tun write: %s", strerror(errno));
}

void tund_tun_write_one(int fd, bool vnet, uint8_t *buf, size_t off, size_t len)
{
	struct tund_tun_tx tx = { .fd = fd };

	if (vnet && off < TUND_VNET_HDR_LEN)
		return; /* no room for the header: never so for a transport message */
	if (vnet) {
		/* A zero header: an ordinary packet, checksums already complete. */
		memset(buf + off - TUND_VNET_HDR_LEN, 0, TUND_VNET_HDR_LEN);
		off -= TUND_VNET_HDR_LEN;
		len += TUND_VNET_HDR_LEN;
	}
	write_tun(&tx, buf + off, len);
}

void tund_tun_write_batch(struct tund_tun_tx *tx, struct tund_wg_packet *pkts, size_t n)
{
	size_t m = 0;

	if (!tx->vnet) {
		for (size_t i = 0; i < n; i++)
			if (pkts[i].res == TUND_WG_TO_TUN)
				write_tun(tx, pkts[i].buf + pkts[i].inner_off, pkts[i].inner_len);
		return;
	}
	for (size_t i = 0; i < n && m < tx->cap; i++)
		if (pkts[i].res == TUND_WG_TO_TUN)
			tx->pkts[m++] = (struct tund_offload_pkt){ pkts[i].buf + pkts[i].inner_off,
								   pkts[i].inner_len };
	if (m)
		tund_offload_coalesce(tx->pkts, m, tx->uso ? TUND_OFFLOAD_COALESCE_UDP : 0,
				      tx->scratch, write_tun, tx);
}
