// SPDX-License-Identifier: MIT
/* Batched UDP on loopback: a batch of datagrams (runs of equal sizes sent
 * segmented, a shorter last one, another address in between) arrives as the
 * same datagrams, in order, with GRO on the receiver or without. */
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/udp_io.h"

static int bound_socket(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t len = sizeof(*addr);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) != 0)
		return -1;
	return fd;
}

/* Receives until want datagrams came or nothing more arrives. */
static int receive_all(struct tund_udp_rx *rx, struct tund_udp_received *got, uint8_t copy[][1500],
		       size_t *lens, int want)
{
	int total = 0;

	while (total < want) {
		struct pollfd p = { .fd = rx->fd, .events = POLLIN };
		int n;

		if (poll(&p, 1, 2000) <= 0)
			break;
		n = tund_udp_receive(rx, got);
		if (n < 0)
			break;
		for (int i = 0; i < n && total < want; i++, total++) {
			lens[total] = got[i].len;
			memcpy(copy[total], got[i].buf, got[i].len < 1500 ? got[i].len : 1500);
		}
	}
	return total;
}

static void run(bool gso, bool gro)
{
	enum { N = 40 };
	struct sockaddr_in to, other, from;
	int tx_fd = bound_socket(&from), rx_fd = bound_socket(&to), other_fd = bound_socket(&other);
	struct tund_udp_tx tx;
	struct tund_udp_rx rx;
	static uint8_t data[N][1500], copy[N][1500];
	static struct tund_udp_received got[2048];
	struct tund_udp_datagram d[N + 1];
	size_t lens[N], want_len[N];
	int k = 0;

	CHECK(tx_fd >= 0 && rx_fd >= 0 && other_fd >= 0);
	tund_udp_tx_init(&tx, tx_fd, gso);
	CHECK(tund_udp_rx_init(&rx, rx_fd, gro) == 0);
	CHECK(rx.gro == gro); /* Linux >= 5.0 */
	/* 20 of 1200 bytes, one of 700 (ends the run), one elsewhere, then
	 * 19 of 300. */
	for (int i = 0; i < N; i++) {
		want_len[i] = i < 20 ? 1200 : i == 20 ? 700 : 300;
		memset(data[i], i + 1, want_len[i]);
		data[i][0] = (uint8_t)i;
	}
	for (int i = 0; i < N; i++) {
		if (i == 21)
			d[k++] = (struct tund_udp_datagram){ .addr = (struct sockaddr *)&other,
							     .addr_len = sizeof(other),
							     .buf = data[0], .len = 100 };
		d[k++] = (struct tund_udp_datagram){ .addr = (struct sockaddr *)&to,
						     .addr_len = sizeof(to), .buf = data[i],
						     .len = want_len[i] };
	}
	CHECK(tund_udp_send_batch(&tx, d, (size_t)k) == (size_t)k);
	CHECK(receive_all(&rx, got, copy, lens, N) == N);
	for (int i = 0; i < N; i++) {
		CHECK(lens[i] == want_len[i]);
		CHECK(copy[i][0] == i && copy[i][lens[i] - 1] == i + 1);
	}
	CHECK(recv(other_fd, copy[0], sizeof(copy[0]), 0) == 100);
	tund_udp_rx_free(&rx);
	close(tx_fd);
	close(rx_fd);
	close(other_fd);
}

UNIT_TEST(udp_io_batch_with_gso_and_gro)
{
	run(true, true);
}

UNIT_TEST(udp_io_batch_plain)
{
	run(false, false);
}

UNIT_TEST(udp_io_gso_sender_plain_receiver)
{
	run(true, false);
}

/* drained: set when a receive found the socket empty (fewer messages than
 * it asked for), so the loop polls instead of asking again; clear after a
 * full batch, since more may be queued. */
UNIT_TEST(udp_io_drained_after_short_batch_only)
{
	struct sockaddr_in to, from;
	int tx_fd = bound_socket(&from), rx_fd = bound_socket(&to);
	struct tund_udp_rx rx;
	static struct tund_udp_received got[2048];
	uint8_t byte = 7;
	size_t full;

	CHECK(tx_fd >= 0 && rx_fd >= 0);
	CHECK(tund_udp_rx_init(&rx, rx_fd, false) == 0);
	full = rx.n_msgs;
	CHECK(tund_udp_receive(&rx, got) == 0 && rx.drained);
	for (size_t i = 0; i < full + 1; i++)
		CHECK(sendto(tx_fd, &byte, 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
	CHECK(tund_udp_receive(&rx, got) == (int)full);
	CHECK(!rx.drained);
	CHECK(tund_udp_receive(&rx, got) == 1);
	CHECK(rx.drained);
	tund_udp_rx_free(&rx);
	close(tx_fd);
	close(rx_fd);
}
