// SPDX-License-Identifier: MIT
/* coturn's own ceiling, for make bench's relay rows (tests/bench/paths.sh):
 * two plain UDP programs talking through the lab's coturn in the shape ICE
 * chose for tund's relayed pair. Each end is either a TURN client with its
 * own allocation and a channel bound to the other end ("turn"), or a plain
 * UDP socket sending to the other end's relayed address ("plain", the
 * prflx/srflx side of a prflx -> relay pair). relay -> relay crosses coturn
 * twice (ChannelData in, relayed port to relayed port, ChannelData out);
 * prflx -> relay once. No tunnel, no crypto: what coturn forwards here.
 *
 *   turn_probe SERVER-IPV4:PORT USER PASS DIR SELF PEER send|echo|tun:IFNAME SECS
 *              turn|plain turn|plain:PEER-PUBLIC-IPV4
 *
 * The ends meet through files in DIR: a TURN end writes its relayed address
 * to DIR/SELF.relay and, once its channel or permission is in place,
 * DIR/SELF.bound. A plain end sends hellos to the other's relayed address;
 * a TURN end with a plain peer permits PEER-PUBLIC-IPV4, learns the peer's
 * port from the first Data indication, binds a channel to it and answers.
 * Then "send" measures the idle round trip (116-byte payloads, tund's
 * datagram for a 56-byte ping, 10 ms apart, median of 100) and streams
 * 1412-byte payloads (tund's datagram at overlay MTU 1380) for SECS seconds,
 * self-clocked (a window beyond the highest acknowledged, grown by one per
 * acknowledgement and halved at a loss, like TCP's congestion avoidance); "echo"
 * answers the pings, acknowledges and counts the stream. Output, one line each:
 *   send: rtt_ms=MEDIAN pings=N sent=DATAGRAMS
 *   echo: received=DATAGRAMS secs=S pps=P mbit=M (payload bits)
 * "tun:IFNAME" on both ends is the latency floor through the relay: once
 * met, each end execs floor_fwd (beside this program) on its socket, a
 * sealed one-thread TUN forwarder, and runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "overlay/stun.h"

enum {
	CHANNEL = 0x4000,
	PING_LEN = 116, /* payload bytes, without the ChannelData header */
	DATA_LEN = 1412,
	PINGS = 100,
	WARMUP = 20,
	BATCH = 64,
	WINDOW_MIN = 16,
	WINDOW_MAX = 1024,
	ACK_EVERY = 16,
	LOST_MS = 200,
	MSG_MAX = 2048,
};

enum {
	ATTR_CHANNEL_NUMBER = 0x000C,
	ATTR_USERNAME = 0x0006,
	ATTR_MESSAGE_INTEGRITY = 0x0008,
	ATTR_XOR_PEER_ADDRESS = 0x0012,
	ATTR_REALM = 0x0014,
	ATTR_NONCE = 0x0015,
	ATTR_REQUESTED_TRANSPORT = 0x0019,
	TURN_ALLOCATE = 0x0003,
	TURN_CREATE_PERMISSION = 0x0008,
	TURN_CHANNEL_BIND = 0x0009,
};

struct probe {
	int fd;
	size_t hdr; /* 4: ChannelData through our allocation; 0: plain UDP */
	const char *user, *pass;
	char realm[TUND_STUN_TEXT_MAX], nonce[TUND_STUN_TEXT_MAX];
	unsigned char key[16]; /* MD5(user:realm:pass), RFC 5389 15.4 */
	struct sockaddr_in relayed, peer;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* put_attr: appends a padded attribute at *off. */
static void put_attr(uint8_t *buf, size_t *off, uint16_t type, const void *v, size_t len)
{
	put16(buf + *off, type);
	put16(buf + *off + 2, (uint16_t)len);
	memcpy(buf + *off + 4, v, len);
	memset(buf + *off + 4 + len, 0, (4 - len % 4) % 4);
	*off += 4 + ((len + 3) & ~(size_t)3);
}

/* start_msg: a STUN header with a fresh transaction id; returns 20. */
static size_t start_msg(uint8_t *buf, uint16_t type, uint8_t txid[TUND_STUN_TXID_LEN])
{
	uint32_t magic = htonl(TUND_STUN_MAGIC);

	if (getrandom(txid, TUND_STUN_TXID_LEN, 0) != TUND_STUN_TXID_LEN)
		memset(txid, 0x5a, TUND_STUN_TXID_LEN);
	put16(buf, type);
	put16(buf + 2, 0);
	memcpy(buf + 4, &magic, 4);
	memcpy(buf + 8, txid, TUND_STUN_TXID_LEN);
	return TUND_STUN_HEADER_LEN;
}

/* finish_msg: USERNAME, REALM, NONCE and MESSAGE-INTEGRITY once a realm is
 * known; sets the length field. Returns the message length. */
static size_t finish_msg(struct probe *p, uint8_t *buf, size_t off)
{
	unsigned int maclen = 0;
	uint8_t mac[EVP_MAX_MD_SIZE];

	if (p->realm[0]) {
		put_attr(buf, &off, ATTR_USERNAME, p->user, strlen(p->user));
		put_attr(buf, &off, ATTR_REALM, p->realm, strlen(p->realm));
		put_attr(buf, &off, ATTR_NONCE, p->nonce, strlen(p->nonce));
		/* The length covers MESSAGE-INTEGRITY itself (RFC 5389 15.4). */
		put16(buf + 2, (uint16_t)(off - TUND_STUN_HEADER_LEN + 24));
		HMAC(EVP_sha1(), p->key, sizeof(p->key), buf, off, mac, &maclen);
		put_attr(buf, &off, ATTR_MESSAGE_INTEGRITY, mac, maclen);
	}
	put16(buf + 2, (uint16_t)(off - TUND_STUN_HEADER_LEN));
	return off;
}

static void derive_key(struct probe *p)
{
	char text[512];
	unsigned int n = 0;
	int len = snprintf(text, sizeof(text), "%s:%s:%s", p->user, p->realm, p->pass);

	EVP_Digest(text, (size_t)len, p->key, &n, EVP_md5(), NULL);
}

/* transact: sends the request until a response with its transaction id
 * comes (5 tries, 300 ms apart); 0 and *m, or -1. */
static int transact(struct probe *p, const uint8_t *req, size_t len,
		    const uint8_t txid[TUND_STUN_TXID_LEN], struct tund_stun_msg *m)
{
	uint8_t buf[MSG_MAX];

	for (int tries = 0; tries < 5; tries++) {
		double until = now_s() + 0.3;

		if (send(p->fd, req, len, 0) < 0)
			return -1;
		while (now_s() < until) {
			struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
			ssize_t n;

			if (poll(&pfd, 1, (int)((until - now_s()) * 1000) + 1) <= 0)
				continue;
			n = recv(p->fd, buf, sizeof(buf), 0);
			if (n > 0 && tund_stun_decode(m, buf, (size_t)n) &&
			    tund_stun_is_response_to(m, txid))
				return 0;
		}
	}
	return -1;
}

/* request: builds and sends a request of TYPE with the attributes in
 * body/blen, answering 401 and 438 once each with fresh credentials. */
static int request(struct probe *p, uint16_t type, const uint8_t *body, size_t blen,
		   struct tund_stun_msg *m)
{
	uint8_t buf[MSG_MAX], txid[TUND_STUN_TXID_LEN];

	for (int round = 0; round < 3; round++) {
		size_t off = start_msg(buf, type, txid);

		memcpy(buf + off, body, blen);
		off = finish_msg(p, buf, off + blen);
		if (transact(p, buf, off, txid, m) != 0) {
			fprintf(stderr, "turn_probe: no answer to request 0x%04x\n", type);
			return -1;
		}
		if (!m->has_error)
			return 0;
		if ((m->error_code != 401 && m->error_code != 438) || !m->has_nonce)
			break;
		if (m->has_realm)
			snprintf(p->realm, sizeof(p->realm), "%s", m->realm);
		snprintf(p->nonce, sizeof(p->nonce), "%s", m->nonce);
		derive_key(p);
	}
	fprintf(stderr, "turn_probe: request 0x%04x: error %u %s\n", type, m->error_code,
		m->reason);
	return -1;
}

static int allocate(struct probe *p)
{
	uint8_t body[8];
	size_t off = 0;
	const uint8_t udp[4] = { 17, 0, 0, 0 };
	struct tund_stun_msg m;

	put_attr(body, &off, ATTR_REQUESTED_TRANSPORT, udp, sizeof(udp));
	if (request(p, TURN_ALLOCATE, body, off, &m) != 0)
		return -1;
	if (!m.has_relayed || m.relayed.ss_family != AF_INET) {
		fprintf(stderr, "turn_probe: no IPv4 relayed address in the Allocate answer\n");
		return -1;
	}
	memcpy(&p->relayed, &m.relayed, sizeof(p->relayed));
	return 0;
}

static void xor_peer(uint8_t addr[8], const struct sockaddr_in *peer)
{
	uint32_t magic = htonl(TUND_STUN_MAGIC), ip = peer->sin_addr.s_addr ^ magic;

	addr[0] = 0;
	addr[1] = 0x01;
	put16(addr + 2, (uint16_t)(ntohs(peer->sin_port) ^ (TUND_STUN_MAGIC >> 16)));
	memcpy(addr + 4, &ip, 4);
}

static int channel_bind(struct probe *p)
{
	uint8_t body[32], num[4] = { CHANNEL >> 8, CHANNEL & 0xff, 0, 0 }, addr[8];
	size_t off = 0;
	struct tund_stun_msg m;

	xor_peer(addr, &p->peer);
	put_attr(body, &off, ATTR_CHANNEL_NUMBER, num, sizeof(num));
	put_attr(body, &off, ATTR_XOR_PEER_ADDRESS, addr, sizeof(addr));
	return request(p, TURN_CHANNEL_BIND, body, off, &m);
}

/* create_permission: for every port of ip (TURN permissions are per IP). */
static int create_permission(struct probe *p, struct in_addr ip)
{
	uint8_t body[16], addr[8];
	size_t off = 0;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr = ip };
	struct tund_stun_msg m;

	xor_peer(addr, &any);
	put_attr(body, &off, ATTR_XOR_PEER_ADDRESS, addr, sizeof(addr));
	return request(p, TURN_CREATE_PERMISSION, body, off, &m);
}

/* Files in DIR are how the two ends meet: written whole, then renamed. */
static int put_file(const char *dir, const char *name, const char *ext, const char *text)
{
	char path[512], tmp[520];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/* wait_file: up to 30 s for DIR/NAME.EXT; its first line into out. */
static int wait_file(const char *dir, const char *name, const char *ext, char *out, size_t n)
{
	char path[512];
	double until = now_s() + 30;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	while (now_s() < until) {
		FILE *f = fopen(path, "r");

		if (f) {
			bool ok = fgets(out, (int)n, f) != NULL;

			fclose(f);
			if (ok)
				return 0;
		}
		usleep(10000);
	}
	fprintf(stderr, "turn_probe: %s did not appear in 30 s\n", path);
	return -1;
}

/* publish_relay: allocate, write DIR/SELF.relay. */
static int publish_relay(struct probe *p, const char *dir, const char *self)
{
	char text[64], ip[INET_ADDRSTRLEN];

	if (allocate(p) != 0)
		return -1;
	inet_ntop(AF_INET, &p->relayed.sin_addr, ip, sizeof(ip));
	snprintf(text, sizeof(text), "%s %u\n", ip, ntohs(p->relayed.sin_port));
	return put_file(dir, self, "relay", text);
}

/* read_relay: the peer's relayed address from DIR/PEER.relay into p->peer. */
static int read_relay(struct probe *p, const char *dir, const char *peer)
{
	char text[64], ip[INET_ADDRSTRLEN];
	unsigned port;

	if (wait_file(dir, peer, "relay", text, sizeof(text)) != 0)
		return -1;
	if (sscanf(text, "%15s %u", ip, &port) != 2 ||
	    inet_pton(AF_INET, ip, &p->peer.sin_addr) != 1 || port == 0 || port > 65535) {
		fprintf(stderr, "turn_probe: bad relayed address from the peer: %s", text);
		return -1;
	}
	p->peer.sin_family = AF_INET;
	p->peer.sin_port = htons((uint16_t)port);
	return 0;
}

/* A datagram: the ChannelData header when we are a TURN client, then KIND
 * and a sequence number; returns its length. */
static size_t build(const struct probe *p, uint8_t *buf, size_t payload, char kind, uint32_t seq)
{
	memset(buf, 0, p->hdr + payload);
	if (p->hdr) {
		put16(buf, CHANNEL);
		put16(buf + 2, (uint16_t)payload);
	}
	buf[p->hdr] = (uint8_t)kind;
	memcpy(buf + p->hdr + 1, &seq, sizeof(seq));
	return p->hdr + payload;
}

/* kind_of: the KIND byte of a datagram from the peer, or 0 for anything else
 * (STUN answers, noise). */
static uint8_t kind_of(const struct probe *p, const uint8_t *b, size_t len)
{
	if (len < p->hdr + 9)
		return 0;
	if (p->hdr && (b[0] != CHANNEL >> 8 || b[1] != (CHANNEL & 0xff)))
		return 0;
	return b[p->hdr];
}

/* learn_plain_peer: the first Data indication from the permitted peer gives
 * its port; bind the channel to it and say hello back. */
static int learn_plain_peer(struct probe *p, struct in_addr ip)
{
	uint8_t in[MSG_MAX];
	double until = now_s() + 30;
	struct tund_stun_msg m;

	while (now_s() < until) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(p->fd, in, sizeof(in), 0);
		if (n <= 0 || !tund_stun_decode(&m, in, (size_t)n) ||
		    m.type != TUND_STUN_DATA_INDICATION || !m.has_peer ||
		    m.peer.ss_family != AF_INET ||
		    ((struct sockaddr_in *)&m.peer)->sin_addr.s_addr != ip.s_addr)
			continue;
		memcpy(&p->peer, &m.peer, sizeof(p->peer));
		if (channel_bind(p) != 0)
			return -1;
		for (int i = 0; i < 3; i++) {
			uint8_t h[MSG_MAX];

			send(p->fd, h, build(p, h, PING_LEN, 'H', 0), 0);
		}
		return 0;
	}
	fprintf(stderr, "turn_probe: no datagram from the plain peer in 30 s\n");
	return -1;
}

/* hello_until_answered: a plain end says hello every 10 ms until the TURN
 * end answers (up to 30 s). */
static int hello_until_answered(struct probe *p)
{
	uint8_t buf[MSG_MAX];
	double until = now_s() + 30;

	while (now_s() < until) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

		send(p->fd, buf, build(p, buf, PING_LEN, 'H', 0), 0);
		while (poll(&pfd, 1, 10) > 0) {
			ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

			if (n > 0 && kind_of(p, buf, (size_t)n) == 'H')
				return 0;
		}
	}
	fprintf(stderr, "turn_probe: the TURN end did not answer our hellos in 30 s\n");
	return -1;
}

/* meet: both ends ready to exchange datagrams. peer_ip is the plain peer's
 * public address (s_addr 0 when the peer is a TURN client too). */
static int meet(struct probe *p, const char *dir, const char *self, const char *peer,
		bool self_turn, struct in_addr peer_ip)
{
	char text[8];

	if (!self_turn) {
		/* Our datagrams go straight to the peer's relayed address. */
		if (read_relay(p, dir, peer) != 0 || wait_file(dir, peer, "bound", text, 8) != 0 ||
		    connect(p->fd, (struct sockaddr *)&p->peer, sizeof(p->peer)) != 0)
			return -1;
		return hello_until_answered(p);
	}
	if (publish_relay(p, dir, self) != 0)
		return -1;
	if (peer_ip.s_addr) {
		if (create_permission(p, peer_ip) != 0 || put_file(dir, self, "bound", "1\n") != 0)
			return -1;
		return learn_plain_peer(p, peer_ip);
	}
	if (read_relay(p, dir, peer) != 0 || channel_bind(p) != 0 ||
	    put_file(dir, self, "bound", "1\n") != 0)
		return -1;
	return wait_file(dir, peer, "bound", text, sizeof(text));
}

/* ping_once: one round trip, seconds, or -1 after 1 s without the answer. */
static double ping_once(struct probe *p, uint32_t seq)
{
	uint8_t out[MSG_MAX], in[MSG_MAX];
	size_t len = build(p, out, PING_LEN, 'P', seq);
	double t0 = now_s();

	if (send(p->fd, out, len, 0) < 0)
		return -1;
	while (now_s() - t0 < 1.0) {
		ssize_t n = recv(p->fd, in, sizeof(in), 0);

		if (n == (ssize_t)len && kind_of(p, in, len) == 'P' &&
		    memcmp(in + p->hdr + 1, &seq, 4) == 0)
			return now_s() - t0;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* pings: WARMUP, then PINGS round trips 10 ms apart; the median in ms. */
static double pings(struct probe *p, int *answered)
{
	double rtt[PINGS];
	int n = 0;
	struct timeval tv = { .tv_sec = 1 };

	setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (uint32_t i = 0; i < WARMUP + PINGS; i++) {
		double r = ping_once(p, i);

		if (i >= WARMUP && r >= 0)
			rtt[n++] = r * 1e3;
		usleep(10000);
	}
	*answered = n;
	if (n == 0)
		return -1;
	qsort(rtt, (size_t)n, sizeof(rtt[0]), cmp_double);
	return n % 2 ? rtt[n / 2] : (rtt[n / 2 - 1] + rtt[n / 2]) / 2;
}

/* What the echo side has acknowledged: the highest datagram number it saw
 * and how many it received; the window (datagrams beyond top) grows by one
 * a clean acknowledgement and halves when one reports a new loss, like
 * TCP's congestion avoidance. */
struct flow {
	uint64_t top, got, lost;
	double window;
};

static void drain_acks(struct probe *p, struct flow *f, int wait_ms)
{
	uint8_t in[MSG_MAX];
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	if (wait_ms > 0 && poll(&pfd, 1, wait_ms) <= 0)
		return;
	for (;;) {
		ssize_t n = recv(p->fd, in, sizeof(in), MSG_DONTWAIT);
		uint32_t top;
		uint64_t got;

		if (n < 0)
			return;
		if (n != (ssize_t)(p->hdr + PING_LEN) || kind_of(p, in, (size_t)n) != 'A')
			continue;
		memcpy(&top, in + p->hdr + 1, sizeof(top));
		memcpy(&got, in + p->hdr + 5, sizeof(got));
		if (top <= f->top)
			continue; /* reordered or repeated */
		f->top = top;
		f->got = got;
		if (top - got > f->lost) {
			f->lost = top - got;
			f->window = f->window / 2 < WINDOW_MIN ? WINDOW_MIN : f->window / 2;
		} else if (f->window < WINDOW_MAX) {
			f->window += 1;
		}
	}
}

/* stream: DATA_LEN payloads for secs, numbered, at most the window beyond
 * the highest number the echo side acknowledged (it acknowledges every
 * ACK_EVERY): self-clocked like a TCP stream, so the sender neither starves
 * coturn of CPU with datagrams it would drop nor waits on one lost. After
 * LOST_MS without any acknowledgement everything in flight counts as lost. */
static uint64_t stream(struct probe *p, double secs)
{
	static uint8_t bufs[BATCH][MSG_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct flow f = { .window = WINDOW_MIN };
	uint64_t sent = 0, base = 0;
	double until = now_s() + secs;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = bufs[i],
					 .iov_len = build(p, bufs[i], DATA_LEN, 'D', 0) };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (now_s() < until) {
		uint64_t flight = sent - (f.top > base ? f.top : base), top = f.top;
		unsigned want;
		int n;

		if (flight >= (uint64_t)f.window) {
			drain_acks(p, &f, LOST_MS);
			if (f.top == top)
				base = sent; /* nothing came back: lost */
			continue;
		}
		want = (uint64_t)f.window - flight < BATCH ? (unsigned)((uint64_t)f.window - flight) : BATCH;
		for (unsigned i = 0; i < want; i++) {
			uint32_t seq = (uint32_t)(sent + i + 1);

			memcpy(bufs[i] + p->hdr + 1, &seq, sizeof(seq));
		}
		n = sendmmsg(p->fd, msgs, want, 0);
		if (n > 0)
			sent += (uint64_t)n;
		else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			break;
		drain_acks(p, &f, 0);
	}
	for (uint32_t i = 0; i < 20; i++) {
		uint8_t end[MSG_MAX];

		send(p->fd, end, build(p, end, PING_LEN, 'E', i), 0);
		usleep(10000);
	}
	return sent;
}

static void ack(struct probe *p, uint32_t top, uint64_t got)
{
	uint8_t a[MSG_MAX];
	size_t len = build(p, a, PING_LEN, 'A', top);

	memcpy(a + p->hdr + 5, &got, sizeof(got));
	send(p->fd, a, len, 0);
}

struct tally {
	uint64_t got;
	uint32_t top; /* the highest datagram number seen */
	double first, last;
};

/* on_datagram: 1 at the end mark, else 0. */
static int on_datagram(struct probe *p, struct tally *t, uint8_t *b, size_t len)
{
	switch (kind_of(p, b, len)) {
	case 'P':
	case 'H':
		send(p->fd, b, len, 0);
		return 0;
	case 'D': {
		uint32_t seq;

		if (len != p->hdr + DATA_LEN)
			return 0;
		memcpy(&seq, b + p->hdr + 1, sizeof(seq));
		if (seq > t->top)
			t->top = seq;
		t->last = now_s();
		if (t->got++ == 0)
			t->first = t->last;
		if (t->got % ACK_EVERY == 0)
			ack(p, t->top, t->got);
		return 0;
	}
	case 'E':
		return 1;
	default:
		return 0;
	}
}

/* echo: answers pings, counts data until an end mark (or 60 s of silence). */
static int echo(struct probe *p)
{
	static uint8_t bufs[BATCH][MSG_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct timeval tv = { .tv_sec = 60 };
	struct tally t = { 0 };

	setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = MSG_MAX };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(p->fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			fprintf(stderr, "turn_probe: echo: nothing for 60 s or error: %s\n",
				strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			double secs;

			if (!on_datagram(p, &t, bufs[i], msgs[i].msg_len))
				continue;
			secs = t.last - t.first;
			printf("received=%llu secs=%.3f pps=%.0f mbit=%.1f\n",
			       (unsigned long long)t.got, secs, secs > 0 ? t.got / secs : 0,
			       secs > 0 ? t.got * DATA_LEN * 8 / secs / 1e6 : 0);
			return 0;
		}
	}
}

/* open_socket: UDP with large buffers, connected to the server (a TURN
 * end; a plain end connects to the peer's relayed address later). */
static int open_socket(const char *server, bool turn)
{
	char host[64];
	unsigned port;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, size = 8 << 20;

	if (sscanf(server, "%63[0-9.]:%u", host, &port) != 2 || port == 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "turn_probe: server must be IPV4:PORT, not %s\n", server);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (turn && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)) {
		fprintf(stderr, "turn_probe: socket to %s: %s\n", server, strerror(errno));
		return -1;
	}
	/* The FORCE variants need CAP_NET_ADMIN (make bench runs as root). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

/* exec_floor: floor_fwd IFNAME on our socket (it does not return). */
static int exec_floor(struct probe *p, const char *ifname)
{
	char self[PATH_MAX], fwd[PATH_MAX + 16], fd[16], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(fwd, sizeof(fwd), "%s/floor_fwd", self);
	snprintf(fd, sizeof(fd), "%d", p->fd);
	if (fcntl(p->fd, F_SETFD, 0) != 0)
		return -1;
	if (p->hdr)
		execl(fwd, fwd, ifname, "--fd", fd, "--channel", "--seal", (char *)NULL);
	else
		execl(fwd, fwd, ifname, "--fd", fd, "--seal", (char *)NULL);
	fprintf(stderr, "turn_probe: %s: %s\n", fwd, strerror(errno));
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: turn_probe SERVER-IPV4:PORT USER PASS DIR SELF PEER send|echo|tun:IFNAME "
			"SECS turn|plain turn|plain:PEER-PUBLIC-IPV4\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct probe p = { .fd = -1 };
	struct in_addr peer_ip = { 0 };
	bool turn, sender, tun;
	double rtt;
	int answered;

	if (argc != 11)
		return usage();
	sender = strcmp(argv[7], "send") == 0;
	tun = strncmp(argv[7], "tun:", 4) == 0 && argv[7][4];
	turn = strcmp(argv[9], "turn") == 0;
	if ((!sender && !tun && strcmp(argv[7], "echo")) || (!turn && strcmp(argv[9], "plain")) ||
	    (strcmp(argv[10], "turn") &&
	     (strncmp(argv[10], "plain:", 6) || inet_pton(AF_INET, argv[10] + 6, &peer_ip) != 1)) ||
	    (!turn && peer_ip.s_addr))
		return usage(); /* two plain ends would need no TURN at all */
	p.user = argv[2];
	p.pass = argv[3];
	p.hdr = turn ? 4 : 0;
	p.fd = open_socket(argv[1], turn);
	if (p.fd < 0 || meet(&p, argv[4], argv[5], argv[6], turn, peer_ip) != 0)
		return 1;
	if (tun)
		return exec_floor(&p, argv[7] + 4) == 0 ? 0 : 1;
	if (!sender)
		return echo(&p) == 0 ? 0 : 1;
	rtt = pings(&p, &answered);
	if (rtt < 0) {
		fprintf(stderr, "turn_probe: no ping answered through the relay\n");
		return 1;
	}
	printf("rtt_ms=%.3f pings=%d", rtt, answered);
	fflush(stdout);
	printf(" sent=%llu\n", (unsigned long long)stream(&p, atof(argv[8])));
	return 0;
}
