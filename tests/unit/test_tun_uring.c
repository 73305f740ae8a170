// SPDX-License-Identifier: MIT
/* The io_uring reader of tund/dataplane/tun_uring.c, on a UDP socket on loopback in
 * place of the TUN device (both keep packet boundaries on read()): every
 * datagram once, in order, also when more are queued than there are
 * buffers; a wait times out; the stop descriptor ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/tun_io.h"
#include "tund/dataplane/tun_uring.h"

enum { BUF = 2048, MANY = 150 };

struct pair {
	int rx, tx, stop;
};

static int open_pair(struct pair *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	p->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	p->tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	p->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->rx < 0 || p->tx < 0 || p->stop < 0 || bind(p->rx, (struct sockaddr *)&a, len) ||
	    getsockname(p->rx, (struct sockaddr *)&a, &len) ||
	    connect(p->tx, (struct sockaddr *)&a, len))
		return -1;
	return 0;
}

static void close_pair(struct pair *p)
{
	close(p->rx);
	close(p->tx);
	close(p->stop);
}

struct seen {
	int n;
	bool in_order;
	size_t sizes_ok;
};

/* Datagram i is i + 1 bytes of (uint8_t)i, after a 2-byte sequence number. */
static void send_numbered(int fd, int i)
{
	uint8_t buf[2 + 256];
	size_t len = 2 + (size_t)(i % 256) + 1;

	buf[0] = (uint8_t)(i >> 8);
	buf[1] = (uint8_t)i;
	memset(buf + 2, i, len - 2);
	CHECK(send(fd, buf, len, 0) == (ssize_t)len);
}

static void on_read(void *ctx, const uint8_t *buf, size_t len)
{
	struct seen *s = ctx;
	int i = s->n++;
	bool ok = len == 2 + (size_t)(i % 256) + 1 && buf[0] == (uint8_t)(i >> 8) &&
		  buf[1] == (uint8_t)i;

	for (size_t k = 2; ok && k < len; k++)
		ok = buf[k] == (uint8_t)i;
	if (!ok)
		s->in_order = false;
}

/* Waits and reaps until want reads came, or a wait found nothing. */
static void collect(struct tund_tun_uring *u, struct seen *s, int want)
{
	while (s->n < want) {
		int r = tund_tun_uring_wait(u, 2000);

		CHECK(r >= 0);
		if (r <= 0)
			return;
		while ((r = tund_tun_uring_reap(u, 16, on_read, s)) > 0)
			;
		CHECK(r == 0);
	}
}

UNIT_TEST(tun_uring_reads_each_packet_once_in_order)
{
	struct pair p;
	struct tund_tun_uring *u = NULL;
	struct seen s = { .in_order = true };
	int ret;

	CHECK(open_pair(&p) == 0);
	ret = tund_tun_uring_open(&u, p.rx, p.stop, BUF);
	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "io_uring reader: %s\n", strerror(-ret));
		close_pair(&p);
		return;
	}
	for (int i = 0; i < 3; i++)
		send_numbered(p.tx, i);
	collect(u, &s, 3);
	CHECK(s.n == 3);
	CHECK(s.in_order);
	/* And again after the socket was empty: the read stayed armed. */
	send_numbered(p.tx, 3);
	collect(u, &s, 4);
	CHECK(s.n == 4);
	CHECK(s.in_order);
	tund_tun_uring_close(u);
	close_pair(&p);
}

UNIT_TEST(tun_uring_more_packets_than_buffers)
{
	struct pair p;
	struct tund_tun_uring *u = NULL;
	struct seen s = { .in_order = true };

	CHECK(open_pair(&p) == 0);
	CHECK(tund_tun_uring_open(&u, p.rx, p.stop, BUF) == 0);
	if (!u) {
		close_pair(&p);
		return;
	}
	/* All queued before the first wait: the kernel runs out of buffers
	 * part way, and the reader must arm the read again. */
	for (int i = 0; i < MANY; i++)
		send_numbered(p.tx, i);
	collect(u, &s, MANY);
	CHECK(s.n == MANY);
	CHECK(s.in_order);
	tund_tun_uring_close(u);
	close_pair(&p);
}

UNIT_TEST(tun_uring_wait_times_out_and_stops)
{
	struct pair p;
	struct tund_tun_uring *u = NULL;
	struct seen s = { .in_order = true };
	int r;

	CHECK(open_pair(&p) == 0);
	CHECK(tund_tun_uring_open(&u, p.rx, p.stop, BUF) == 0);
	if (!u) {
		close_pair(&p);
		return;
	}
	CHECK(tund_tun_uring_wait(u, 30) == 0);
	CHECK(tund_tun_uring_reap(u, 16, on_read, &s) == 0);
	CHECK(eventfd_write(p.stop, 1) == 0);
	r = tund_tun_uring_wait(u, 2000);
	CHECK(r == 1);
	CHECK(tund_tun_uring_reap(u, 16, on_read, &s) == -ESHUTDOWN);
	CHECK(tund_tun_uring_wait(u, 2000) == -ESHUTDOWN);
	CHECK(s.n == 0);
	tund_tun_uring_close(u);
	close_pair(&p);
}

/* tund_tun_rx with the ring (tund/dataplane/tun_io.h): read() after a quiet spell, the
 * ring under load, read() again once the load is over, every packet once
 * and in order across the switches. Each datagram is a virtio_net_hdr of
 * zeros and a 2-byte sequence number, as the TUN would hand over. */
static void send_vnet(int fd, int i)
{
	uint8_t buf[TUND_VNET_HDR_LEN + 2] = { 0 };

	buf[TUND_VNET_HDR_LEN] = (uint8_t)(i >> 8);
	buf[TUND_VNET_HDR_LEN + 1] = (uint8_t)i;
	CHECK(send(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
}

static void on_batch(void *ctx, struct tund_wg_packet *pkts, size_t n)
{
	struct seen *s = ctx;

	for (size_t k = 0; k < n; k++) {
		const uint8_t *b = pkts[k].buf + TUND_WG_HEADROOM;
		int i = s->n++;

		if (pkts[k].len != 2 || b[0] != (uint8_t)(i >> 8) || b[1] != (uint8_t)i)
			s->in_order = false;
	}
}

/* Reads (waiting as the dataplane does) until s has want packets. */
static void drain(struct tund_tun_rx *rx, struct seen *s, int want)
{
	for (int rounds = 0; s->n < want && rounds < 100; rounds++) {
		if (tund_tun_read_batch(rx, on_batch, s) > 0)
			continue;
		if (tund_tun_rx_ring_waits(rx)) {
			CHECK(tund_tun_rx_wait(rx, 2000) >= 0);
		} else {
			struct pollfd pf = { .fd = rx->fd, .events = POLLIN };

			CHECK(poll(&pf, 1, 2000) == 1);
		}
	}
	CHECK(s->n == want);
}

UNIT_TEST(tun_rx_ring_under_load_only)
{
	struct pair p;
	struct tund_tun_rx rx;
	struct seen s = { .in_order = true };
	int next = 0;

	CHECK(open_pair(&p) == 0);
	CHECK(tund_tun_rx_init(&rx, p.rx, true, 1420) == 0);
	if (tund_tun_rx_use_uring(&rx, p.stop) != 0) {
		CHECK(!"no io_uring here");
		tund_tun_rx_free(&rx);
		close_pair(&p);
		return;
	}
	/* A packet after a quiet spell: read(). */
	send_vnet(p.tx, next++);
	drain(&rx, &s, next);
	CHECK(!rx.ring_on);
	/* A batch of 20: the ring from now on. */
	for (int i = 0; i < 20; i++)
		send_vnet(p.tx, next++);
	drain(&rx, &s, next);
	CHECK(rx.ring_on && tund_tun_rx_ring_waits(&rx));
	for (int i = 0; i < 30; i++)
		send_vnet(p.tx, next++);
	drain(&rx, &s, next);
	CHECK(rx.ring_on);
	/* Two packets, then nothing: the load is over, back to read(). */
	send_vnet(p.tx, next++);
	send_vnet(p.tx, next++);
	drain(&rx, &s, next);
	CHECK(tund_tun_read_batch(&rx, on_batch, &s) == 0);
	CHECK(!rx.ring_on && !tund_tun_rx_ring_waits(&rx));
	send_vnet(p.tx, next++);
	drain(&rx, &s, next);
	CHECK(!rx.ring_on);
	CHECK(s.in_order && s.n == next);
	tund_tun_rx_free(&rx);
	close_pair(&p);
}
