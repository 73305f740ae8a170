// SPDX-License-Identifier: MIT
/* Abuse traffic for the fault tests, sent only to an address the test gives
 * (inside its namespaces):
 *   flood_probe random IP PORT COUNT
 *       COUNT datagrams of random bytes and random length (1..1400), sent in
 *       batches with sendmmsg; prints how many were sent and how long it took.
 *   flood_probe handshake IP PORT PUBKEY SECONDS RATE
 *       WireGuard handshake initiations for PUBKEY (with a valid MAC1, as an
 *       attacker who knows the public key can make) from random spoofed
 *       sources in 198.18.0.0/15 with random ports, RATE per second for
 *       SECONDS, through a raw socket; prints how many were sent. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "overlay/cookie.h"
#include "overlay/keys.h"
#include "overlay/messages.h"

enum { BATCH = 256, MAX_LEN = 1400 };

static uint64_t rng_state;

/* xorshift64*: fast, and the bytes only need to look random to a parser. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_dst(const char *ip, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) {
		fprintf(stderr, "flood_probe: bad IPv4 address %s\n", ip);
		return -1;
	}
	return 0;
}

static int flood_random(const struct sockaddr_in *dst, long count)
{
	static uint8_t bufs[BATCH][MAX_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	long sent = 0;
	double t0 = now_s();
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		perror("flood_probe: socket");
		return 1;
	}
	while (sent < count) {
		int n = count - sent < BATCH ? (int)(count - sent) : BATCH;

		for (int i = 0; i < n; i++) {
			size_t len = 1 + rnd() % MAX_LEN;

			for (size_t j = 0; j < len; j += 8) {
				uint64_t r = rnd();

				memcpy(&bufs[i][j], &r, len - j < 8 ? len - j : 8);
			}
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = len };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		int r = sendmmsg(fd, msgs, (unsigned)n, 0);

		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == ECONNREFUSED)
				continue;
			perror("flood_probe: sendmmsg");
			return 1;
		}
		sent += r;
	}
	printf("%ld %.2f\n", sent, now_s() - t0);
	close(fd);
	return 0;
}

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int flood_handshake(const struct sockaddr_in *dst, const char *pubkey, double seconds,
			   double rate)
{
	struct {
		struct iphdr ip;
		struct udphdr udp;
		struct tund_message_handshake_initiation init;
	} __attribute__((packed)) pkt;
	struct tund_cookie_maker maker;
	uint8_t pub[TUND_KEY_LEN];
	long sent = 0;
	double t0 = now_s();
	int one = 1;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);

	if (!tund_key_decode(pub, pubkey)) {
		fprintf(stderr, "flood_probe: bad public key\n");
		return 1;
	}
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("flood_probe: raw socket");
		return 1;
	}
	tund_cookie_maker_init(&maker, pub);
	while (now_s() - t0 < seconds) {
		/* Pace: send what the rate allows so far. */
		long due = (long)((now_s() - t0) * rate);

		if (sent >= due) {
			usleep(1000);
			continue;
		}
		memset(&pkt, 0, sizeof(pkt));
		tund_le32_put(pkt.init.type, TUND_MESSAGE_HANDSHAKE_INITIATION);
		for (size_t j = 4; j < offsetof(struct tund_message_handshake_initiation, macs); j++)
			((uint8_t *)&pkt.init)[j] = (uint8_t)rnd();
		/* No cookie yet, so MAC2 stays zero: exactly what load shedding is for. */
		tund_cookie_add_macs(&maker, (uint8_t *)&pkt.init, sizeof(pkt.init), 0);
		memset(pkt.init.macs.mac2, 0, sizeof(pkt.init.macs.mac2));
		pkt.ip.version = 4;
		pkt.ip.ihl = 5;
		pkt.ip.ttl = 64;
		pkt.ip.protocol = IPPROTO_UDP;
		pkt.ip.tot_len = htons(sizeof(pkt));
		pkt.ip.saddr = htonl(0xc6120000u | (uint32_t)(rnd() % 0x20000u)); /* 198.18/15 */
		pkt.ip.daddr = dst->sin_addr.s_addr;
		pkt.ip.check = csum(&pkt.ip, sizeof(pkt.ip));
		pkt.udp.source = htons((uint16_t)(1024 + rnd() % 64000));
		pkt.udp.dest = dst->sin_port;
		pkt.udp.len = htons(sizeof(pkt.udp) + sizeof(pkt.init));
		pkt.udp.check = 0; /* optional over IPv4 */
		if (sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0 &&
		    errno != ENOBUFS) {
			perror("flood_probe: sendto");
			return 1;
		}
		sent++;
	}
	tund_cookie_maker_destroy(&maker);
	printf("%ld %.2f\n", sent, now_s() - t0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst;

	rng_state = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	if (argc == 5 && strcmp(argv[1], "random") == 0) {
		if (parse_dst(argv[2], argv[3], &dst) < 0)
			return 2;
		return flood_random(&dst, atol(argv[4]));
	}
	if (argc == 7 && strcmp(argv[1], "handshake") == 0) {
		if (parse_dst(argv[2], argv[3], &dst) < 0)
			return 2;
		return flood_handshake(&dst, argv[4], atof(argv[5]), atof(argv[6]));
	}
	fprintf(stderr, "usage: flood_probe random IP PORT COUNT\n"
			"       flood_probe handshake IP PORT PUBKEY SECONDS RATE\n");
	return 2;
}
