// SPDX-License-Identifier: MIT
/* The io_uring reader of tund/tun_uring.c, on a UDP socket on loopback in
 * place of the TUN device (both keep packet boundaries on read()): every
 * datagram once, in order, also when more are queued than there are
 * buffers; a wait times out; the stop descriptor ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/tun_uring.h"

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
