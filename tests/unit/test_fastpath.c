// SPDX-License-Identifier: MIT
/* tund/fastpath: a bound UDP socket stands in for libnice's, a third socket
 * for the peer, all on 127.0.0.1. WireGuard-shaped datagrams must reach the
 * fast path, STUN-shaped ones the original socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/fastpath.h"
#include "tund/dataplane/udp_io.h"

struct seen {
	pthread_mutex_t lock;
	unsigned n;
	uint32_t id;
	uint8_t first[4];
};

static void deliver(void *ctx, uint32_t id, struct tund_fastpath_datagram *d, size_t n)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->lock);
	s->n += (unsigned)n;
	s->id = id;
	if (n && d[n - 1].len >= 4)
		memcpy(s->first, d[n - 1].buf, 4);
	pthread_mutex_unlock(&s->lock);
}

static unsigned seen_count(struct seen *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int bound_socket(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*addr);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) < 0)
		return -1;
	return fd;
}

/* Waits up to 5 s for a datagram on fd; its length or -1. */
static ssize_t receive_within(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return -1;
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

static bool wait_count(struct seen *s, unsigned want)
{
	for (int i = 0; i < 500; i++) {
		if (seen_count(s) >= want)
			return true;
		usleep(10000);
	}
	return false;
}

UNIT_TEST(fastpath_steers_wireguard_to_own_socket_and_stun_to_libnice)
{
	struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_in nice_addr, peer_addr, other_addr;
	int nice_fd = bound_socket(&nice_addr);
	int peer_fd = bound_socket(&peer_addr);
	int other_fd = bound_socket(&other_addr);
	struct tund_fastpath *fp = tund_fastpath_new(deliver, &seen, NULL, NULL, NULL);
	struct tund_fastpath_stats st;
	uint8_t wg[32] = { 4, 0, 0, 0 }, init[148] = { 1, 0, 0, 0 };
	uint8_t stun_req[20] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t stun_resp[20] = { 0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t buf[256];

	CHECK(nice_fd >= 0 && peer_fd >= 0 && other_fd >= 0 && fp);
	if (!fp)
		return;
	CHECK(tund_fastpath_add(fp, 7, nice_fd, (struct sockaddr *)&peer_addr,
				sizeof(peer_addr), false, NULL, 0) == 0);

	/* Data and handshakes from the peer reach the fast path... */
	CHECK(sendto(peer_fd, wg, sizeof(wg), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(wg));
	CHECK(sendto(peer_fd, init, sizeof(init), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(init));
	CHECK(wait_count(&seen, 2));
	CHECK(seen.id == 7);
	/* ...STUN requests and responses stay with libnice. */
	CHECK(sendto(peer_fd, stun_req, sizeof(stun_req), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(stun_req));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == sizeof(stun_req) && buf[1] == 0x01);
	CHECK(sendto(peer_fd, stun_resp, sizeof(stun_resp), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(stun_resp));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == sizeof(stun_resp) && buf[0] == 0x01);
	/* A 3-byte datagram cannot be WireGuard: libnice's. */
	CHECK(sendto(peer_fd, wg, 3, 0, (struct sockaddr *)&nice_addr, sizeof(nice_addr)) == 3);
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == 3);

	/* WireGuard from anyone but the pair's remote is dropped and counted. */
	CHECK(sendto(other_fd, wg, sizeof(wg), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(wg));
	for (int i = 0; i < 500; i++) {
		tund_fastpath_get_stats(fp, &st);
		if (st.foreign)
			break;
		usleep(10000);
	}
	CHECK(st.foreign == 1 && st.received == 2 && st.paths == 1);

	/* Sending leaves from libnice's address and port (what the NAT maps). */
	CHECK(tund_fastpath_send(fp, 7, wg, sizeof(wg)));
	struct sockaddr_in from;
	socklen_t from_len = sizeof(from);
	struct pollfd p = { .fd = peer_fd, .events = POLLIN };
	CHECK(poll(&p, 1, 5000) == 1);
	CHECK(recvfrom(peer_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
		       &from_len) == sizeof(wg));
	CHECK(from.sin_port == nice_addr.sin_port);
	CHECK(!tund_fastpath_send(fp, 8, wg, sizeof(wg)));
	/* A batch (sendmmsg, GSO where the kernel has it) arrives whole. */
	struct tund_udp_datagram batch[3] = { { .buf = wg, .len = sizeof(wg) },
					      { .buf = wg, .len = sizeof(wg) },
					      { .buf = wg, .len = 7 } };
	CHECK(tund_fastpath_send_batch(fp, 7, batch, 3));
	for (int i = 0; i < 3; i++) {
		from_len = sizeof(from);
		CHECK(poll(&p, 1, 5000) == 1);
		CHECK(recvfrom(peer_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			       &from_len) == (i < 2 ? (ssize_t)sizeof(wg) : 7));
		CHECK(from.sin_port == nice_addr.sin_port);
	}
	CHECK(!tund_fastpath_send_batch(fp, 8, batch, 3));

	/* Removed: everything goes back to libnice's socket. */
	tund_fastpath_remove(fp, 7);
	CHECK(!tund_fastpath_send(fp, 7, wg, sizeof(wg)));
	CHECK(sendto(peer_fd, wg, sizeof(wg), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(wg));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == sizeof(wg));

	/* Added again (a new selected pair): steering works again. */
	CHECK(tund_fastpath_add(fp, 9, nice_fd, (struct sockaddr *)&peer_addr,
				sizeof(peer_addr), false, NULL, 0) == 0);
	CHECK(sendto(peer_fd, wg, sizeof(wg), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(wg));
	CHECK(wait_count(&seen, 3));
	CHECK(seen.id == 9);

	tund_fastpath_free(fp);
	close(nice_fd);
	close(peer_fd);
	close(other_fd);
}

UNIT_TEST(fastpath_rejects_bad_arguments)
{
	struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct tund_fastpath *fp = tund_fastpath_new(deliver, &seen, NULL, NULL, NULL);
	struct sockaddr_in peer = { .sin_family = AF_INET };
	struct sockaddr_un_like {
		sa_family_t family;
		char path[20];
	} unix_addr = { .family = AF_UNIX };
	int unbound = socket(AF_UNIX, SOCK_DGRAM, 0);

	CHECK(fp);
	if (!fp)
		return;
	CHECK(tund_fastpath_add(fp, 0, -1, (struct sockaddr *)&peer, sizeof(peer), false, NULL, 0) == -EINVAL);
	CHECK(tund_fastpath_add(fp, 1, -1, (struct sockaddr *)&unix_addr, sizeof(unix_addr), false, NULL, 0) ==
	      -EINVAL);
	CHECK(tund_fastpath_add(fp, 1, -1, (struct sockaddr *)&peer, sizeof(peer), false, NULL, 0) == -EBADF);
	CHECK(tund_fastpath_add(fp, 1, unbound, (struct sockaddr *)&peer, sizeof(peer), false, NULL, 0) ==
	      -EAFNOSUPPORT);
	tund_fastpath_free(fp);
	close(unbound);
}

/* Stands in for the data plane on a relayed path: a payload whose fifth
 * byte is 0xAA "authenticates". */
static void deliver_auth(void *ctx, uint32_t id, struct tund_fastpath_datagram *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i].authentic = d[i].len > 4 && d[i].buf[4] == 0xAA;
	deliver(ctx, id, d, n);
}

/* server sends ChannelData(channel, payload[0..len)) to to. */
static bool send_channel(int server_fd, const struct sockaddr_in *to, uint16_t channel,
			 const uint8_t *payload, size_t len)
{
	uint8_t msg[512] = { (uint8_t)(channel >> 8), (uint8_t)channel, (uint8_t)(len >> 8),
			     (uint8_t)len };

	memcpy(msg + 4, payload, len);
	return sendto(server_fd, msg, 4 + len, 0, (const struct sockaddr *)to, sizeof(*to)) ==
	       (ssize_t)(4 + len);
}

static bool wait_stats(struct tund_fastpath *fp, struct tund_fastpath_stats *st, uint64_t foreign,
		       uint64_t malformed)
{
	for (int i = 0; i < 500; i++) {
		tund_fastpath_get_stats(fp, st);
		if (st->foreign >= foreign && st->malformed >= malformed)
			return true;
		usleep(10000);
	}
	return false;
}

/* The TURN server (server_fd) gets datagram i of a batch: ChannelData on
 * channel with want bytes of payload. */
static bool server_gets(int server_fd, uint16_t channel, size_t want)
{
	uint8_t buf[512];
	ssize_t r = receive_within(server_fd, buf, sizeof(buf));

	return r == (ssize_t)(4 + want) && buf[0] == channel >> 8 && buf[1] == (channel & 0xff) &&
	       (size_t)(buf[2] << 8 | buf[3]) == want && buf[4] == 4;
}

UNIT_TEST(fastpath_relayed_steers_channeldata_and_learns_the_channel)
{
	struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_in nice_addr, server_addr, other_addr;
	int nice_fd = bound_socket(&nice_addr);
	int server_fd = bound_socket(&server_addr);
	int other_fd = bound_socket(&other_addr);
	struct tund_fastpath *fp = tund_fastpath_new(deliver_auth, &seen, NULL, NULL, NULL);
	struct tund_fastpath_stats st;
	uint8_t wg[32] = { 4, 0, 0, 0 }, wg_auth[32] = { 4, 0, 0, 0, 0xAA };
	uint8_t stun[20] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t buf[256], bad[8] = { 0x40, 0x01, 0x01, 0x00, 4, 0, 0, 0 };
	bool relayed = false;

	CHECK(nice_fd >= 0 && server_fd >= 0 && other_fd >= 0 && fp);
	if (!fp)
		return;
	CHECK(tund_fastpath_add(fp, 5, nice_fd, (struct sockaddr *)&server_addr,
				sizeof(server_addr), true, NULL, 0) == 0);
	/* Not learnt yet: sends stay with libnice. */
	CHECK(!tund_fastpath_send(fp, 5, wg, sizeof(wg)));
	CHECK(!tund_fastpath_state(fp, 5, &relayed) && relayed);

	/* ChannelData carrying WireGuard reaches us, its header stripped... */
	CHECK(send_channel(server_fd, &nice_addr, 0x4001, wg, sizeof(wg)));
	CHECK(wait_count(&seen, 1));
	CHECK(seen.id == 5 && seen.first[0] == 4 && seen.first[1] == 0);
	/* ...but it did not authenticate: still no channel. */
	CHECK(!tund_fastpath_send(fp, 5, wg, sizeof(wg)));
	/* ChannelData carrying STUN (consent through the relay), plain STUN
	 * (TURN responses) and plain WireGuard stay with libnice. */
	CHECK(send_channel(server_fd, &nice_addr, 0x4001, stun, sizeof(stun)));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == 4 + sizeof(stun) && buf[0] == 0x40);
	CHECK(sendto(server_fd, stun, sizeof(stun), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(stun));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == sizeof(stun) && buf[0] == 0);
	CHECK(sendto(server_fd, wg, sizeof(wg), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(wg));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == sizeof(wg) && buf[0] == 4);
	/* A length field beyond the datagram: dropped as malformed; from
	 * anyone but the server: foreign, even authentic-looking. */
	CHECK(sendto(server_fd, bad, sizeof(bad), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(bad));
	CHECK(send_channel(other_fd, &nice_addr, 0x4003, wg_auth, sizeof(wg_auth)));
	CHECK(wait_stats(fp, &st, 1, 1));
	CHECK(st.foreign == 1 && st.malformed == 1 && st.received == 1 && st.relayed == 0);
	CHECK(!tund_fastpath_send(fp, 5, wg, sizeof(wg)));

	/* Authentic ChannelData from the server: its channel is learnt. */
	CHECK(send_channel(server_fd, &nice_addr, 0x4002, wg_auth, sizeof(wg_auth)));
	CHECK(wait_count(&seen, 2));
	for (int i = 0; i < 500 && !tund_fastpath_state(fp, 5, &relayed); i++)
		usleep(10000);
	CHECK(tund_fastpath_state(fp, 5, &relayed) && relayed);
	tund_fastpath_get_stats(fp, &st);
	CHECK(st.relayed == 1 && st.paths == 1);
	/* Sends now go to the server, each with its own header on 0x4002. */
	CHECK(tund_fastpath_send(fp, 5, wg, sizeof(wg)));
	CHECK(server_gets(server_fd, 0x4002, sizeof(wg)));
	struct tund_udp_datagram batch[3] = { { .buf = wg, .len = sizeof(wg) },
					      { .buf = wg, .len = sizeof(wg) },
					      { .buf = wg, .len = 7 } };
	CHECK(tund_fastpath_send_batch(fp, 5, batch, 3));
	CHECK(server_gets(server_fd, 0x4002, sizeof(wg)));
	CHECK(server_gets(server_fd, 0x4002, sizeof(wg)));
	CHECK(server_gets(server_fd, 0x4002, 7));

	/* A new selected pair starts over: unlearnt, back on libnice. */
	CHECK(tund_fastpath_add(fp, 5, nice_fd, (struct sockaddr *)&server_addr,
				sizeof(server_addr), true, NULL, 0) == 0);
	CHECK(!tund_fastpath_send(fp, 5, wg, sizeof(wg)));
	tund_fastpath_free(fp);
	close(nice_fd);
	close(server_fd);
	close(other_fd);
}

/* A direct pair whose local base also carries our own TURN allocation: the
 * peer may come through it (its selected pair is not ours), so ChannelData
 * carrying WireGuard from that server is taken, stripped, too. */
UNIT_TEST(fastpath_direct_takes_channeldata_from_own_turn_server)
{
	struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_in nice_addr, peer_addr, server_addr;
	int nice_fd = bound_socket(&nice_addr);
	int peer_fd = bound_socket(&peer_addr);
	int server_fd = bound_socket(&server_addr);
	struct tund_fastpath *fp = tund_fastpath_new(deliver_auth, &seen, NULL, NULL, NULL);
	struct tund_fastpath_stats st;
	uint8_t wg[32] = { 4, 0, 0, 0 }, stun[20] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t buf[256];
	bool relayed = true;

	CHECK(nice_fd >= 0 && peer_fd >= 0 && server_fd >= 0 && fp);
	if (!fp)
		return;
	CHECK(tund_fastpath_add(fp, 3, nice_fd, (struct sockaddr *)&peer_addr, sizeof(peer_addr),
				false, (struct sockaddr *)&server_addr, sizeof(server_addr)) == 0);
	CHECK(tund_fastpath_state(fp, 3, &relayed) && !relayed);
	CHECK(send_channel(server_fd, &nice_addr, 0x4000, wg, sizeof(wg)));
	CHECK(wait_count(&seen, 1));
	CHECK(seen.id == 3 && seen.first[0] == 4);
	CHECK(sendto(peer_fd, wg, sizeof(wg), 0, (struct sockaddr *)&nice_addr,
		     sizeof(nice_addr)) == sizeof(wg));
	CHECK(wait_count(&seen, 2));
	/* STUN inside ChannelData stays with libnice; ChannelData from
	 * anyone but the server is foreign. */
	CHECK(send_channel(server_fd, &nice_addr, 0x4000, stun, sizeof(stun)));
	CHECK(receive_within(nice_fd, buf, sizeof(buf)) == 4 + sizeof(stun));
	struct sockaddr_in other_addr;
	int other_fd = bound_socket(&other_addr);

	CHECK(send_channel(other_fd, &nice_addr, 0x4000, wg, sizeof(wg)));
	CHECK(wait_stats(fp, &st, 1, 0));
	CHECK(st.received == 2 && st.relayed == 0);
	/* It still sends plain to the peer. */
	CHECK(tund_fastpath_send(fp, 3, wg, sizeof(wg)));
	CHECK(receive_within(peer_fd, buf, sizeof(buf)) == sizeof(wg) && buf[0] == 4);
	tund_fastpath_free(fp);
	close(nice_fd);
	close(peer_fd);
	close(server_fd);
	close(other_fd);
}
