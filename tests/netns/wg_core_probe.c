// SPDX-License-Identifier: MIT
/* Interop probe for the protocol core against wireguard-go, driven by
 * tests/netns/test_wg_core_interop.sh inside a network namespace. It speaks
 * UDP on 127.0.0.1:40000 to wireguard-go on 127.0.0.1:51820 using only
 * overlay/{noise,cookie,keypair,messages}, and proves the handshake and the
 * transport by pinging wireguard-go's tunnel address 10.99.0.1 as 10.99.0.2.
 * Usage: wg_core_probe init|resp|cookie OUR_PRIV_B64 THEIR_PUB_B64 PSK_B64|-
 *   init:   we initiate the handshake;
 *   resp:   wireguard-go initiates (the script pings us), we respond;
 *   cookie: as resp, but we claim to be under load: first answer with a
 *           cookie reply, then require the retried initiation's mac2.
 * Exit 0 when an ICMP echo reply came back through the tunnel. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "overlay/cookie.h"
#include "overlay/keypair.h"
#include "overlay/noise.h"

static uint64_t mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t icmp_packet(uint8_t *p, const char *src, const char *dst, uint8_t type, uint16_t id,
			  uint16_t seqn)
{
	size_t n = 20 + 8 + 32;
	memset(p, 0, n);
	p[0] = 0x45;
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	p[8] = 64;
	p[9] = 1;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	uint16_t c = csum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	uint8_t *ic = p + 20;
	ic[0] = type;
	ic[4] = (uint8_t)(id >> 8);
	ic[5] = (uint8_t)id;
	ic[6] = (uint8_t)(seqn >> 8);
	ic[7] = (uint8_t)seqn;
	for (int i = 0; i < 32; i++)
		ic[8 + i] = (uint8_t)i;
	c = csum(ic, 40);
	ic[2] = (uint8_t)(c >> 8);
	ic[3] = (uint8_t)c;
	return n;
}

static struct tund_noise_handshake *g_hs;
static struct tund_noise_handshake *lookup(void *ctx, const uint8_t pk[32])
{
	(void)ctx;
	return memcmp(pk, g_hs->remote_static, 32) == 0 ? g_hs : NULL;
}

int main(int argc, char **argv)
{
	// argv: mode(init|resp|cookie) our_priv_b64 their_pub_b64 psk_b64|- 
	if (argc < 5) return 2;
	if (sodium_init() < 0) return 2;
	uint8_t priv[32], pub[32], psk[32];
	size_t bl;
	sodium_base642bin(priv, 32, argv[2], strlen(argv[2]), NULL, &bl, NULL, sodium_base64_VARIANT_ORIGINAL);
	sodium_base642bin(pub, 32, argv[3], strlen(argv[3]), NULL, &bl, NULL, sodium_base64_VARIANT_ORIGINAL);
	int has_psk = strcmp(argv[4], "-") != 0;
	if (has_psk)
		sodium_base642bin(psk, 32, argv[4], strlen(argv[4]), NULL, &bl, NULL, sodium_base64_VARIANT_ORIGINAL);

	struct tund_noise_static_identity id;
	struct tund_noise_handshake hs;
	struct tund_cookie_checker checker;
	struct tund_cookie_maker maker;
	struct tund_keypair kp;
	if (!tund_noise_static_identity_init(&id, priv)) return 3;
	tund_noise_handshake_init(&hs, &id, pub, has_psk ? psk : NULL);
	g_hs = &hs;
	tund_cookie_checker_init(&checker, id.static_public);
	tund_cookie_maker_init(&maker, pub);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(40000) };
	inet_pton(AF_INET, "127.0.0.1", &me.sin_addr);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me))) { perror("bind"); return 4; }
	struct timeval tv = { .tv_sec = 12 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in wg = { .sin_family = AF_INET, .sin_port = htons(51820) };
	inet_pton(AF_INET, "127.0.0.1", &wg.sin_addr);
	uint8_t buf[2048], src[6];
	ssize_t n;
	struct sockaddr_in from;
	socklen_t fl;

	if (!strcmp(argv[1], "init")) {
		struct tund_message_handshake_initiation init;
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		if (!tund_noise_handshake_create_initiation(&init, &hs, tund_noise_random_index(), &wall)) return 5;
		tund_cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), mono());
		sendto(fd, &init, sizeof(init), 0, (struct sockaddr *)&wg, sizeof(wg));
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) { perror("recv response"); return 6; }
		if (tund_message_classify(buf, (size_t)n) != TUND_MESSAGE_HANDSHAKE_RESPONSE) { printf("not a response: type %d len %zd\n", buf[0], n); return 7; }
		if (tund_cookie_validate_packet(&checker, buf, (size_t)n, NULL, 0, false, mono()) != TUND_COOKIE_VALID_MAC1) { puts("bad mac1 on response"); return 8; }
		if (!tund_noise_handshake_consume_response((void *)buf, &hs)) { puts("consume_response failed"); return 9; }
		if (!tund_noise_handshake_begin_session(&hs, &kp, mono())) return 10;
		puts("initiator: handshake ok");
	} else {
		// Wait for wireguard-go's initiation (triggered by a ping in the netns).
		int want_cookie = !strcmp(argv[1], "cookie");
		for (;;) {
			fl = sizeof(from);
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n < 0) { perror("recv initiation"); return 11; }
			if (tund_message_classify(buf, (size_t)n) != TUND_MESSAGE_HANDSHAKE_INITIATION) continue;
			memcpy(src, &from.sin_addr, 4);
			memcpy(src + 4, &from.sin_port, 2);
			enum tund_cookie_verdict v = tund_cookie_validate_packet(&checker, buf, (size_t)n, src, 6, want_cookie, mono());
			printf("initiation verdict %d\n", v);
			if (v == TUND_COOKIE_INVALID_MAC1) return 12;
			if (v == TUND_COOKIE_NEED_COOKIE) {
				struct tund_message_handshake_cookie reply;
				tund_cookie_create_reply(&checker, &reply, buf, (size_t)n, src, 6, mono());
				sendto(fd, &reply, sizeof(reply), 0, (struct sockaddr *)&from, fl);
				puts("sent cookie reply");
				continue;
			}
			if (want_cookie && v != TUND_COOKIE_VALID_MAC2) return 13;
			if (want_cookie) puts("responder: initiation carried a valid mac2");
			break;
		}
		if (tund_noise_handshake_consume_initiation((void *)buf, &id, lookup, NULL, mono()) != &hs) { puts("consume_initiation failed"); return 14; }
		struct tund_message_handshake_response resp;
		if (!tund_noise_handshake_create_response(&resp, &hs, tund_noise_random_index())) return 15;
		tund_cookie_add_macs(&maker, (uint8_t *)&resp, sizeof(resp), mono());
		sendto(fd, &resp, sizeof(resp), 0, (struct sockaddr *)&from, fl);
		if (!tund_noise_handshake_begin_session(&hs, &kp, mono())) return 16;
		puts("responder: handshake ok");
		// The first data packet from wireguard-go should be the ICMP echo request.
		for (;;) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0) { perror("recv data"); return 17; }
			size_t pl; uint64_t ctr;
			if (tund_message_classify(buf, (size_t)n) != TUND_MESSAGE_DATA) continue;
			if (tund_keypair_decrypt(&kp, buf, (size_t)n, mono(), &pl, &ctr) != TUND_KEYPAIR_OK) { puts("decrypt failed"); return 18; }
			if (pl == 0) { puts("got keepalive"); continue; }
			uint8_t *ip = buf + 16;
			printf("responder: decrypted %zu bytes, ctr %llu, proto %d icmp type %d\n", pl, (unsigned long long)ctr, ip[9], ip[20]);
			if (ip[9] == 1 && ip[20] == 8) break;
		}
	}
	// Ping wireguard-go's address through the tunnel and wait for the reply.
	size_t plen = icmp_packet(buf + 16, "10.99.0.2", "10.99.0.1", 8, 0x1234, 1);
	size_t ml;
	if (!tund_keypair_encrypt(&kp, buf, sizeof(buf), plen, 1420, mono(), &ml)) return 20;
	sendto(fd, buf, ml, 0, (struct sockaddr *)&wg, sizeof(wg));
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) { perror("recv echo reply"); return 21; }
		size_t pl; uint64_t ctr;
		if (tund_message_classify(buf, (size_t)n) != TUND_MESSAGE_DATA) continue;
		if (tund_keypair_decrypt(&kp, buf, (size_t)n, mono(), &pl, &ctr) != TUND_KEYPAIR_OK) { puts("decrypt failed"); return 22; }
		if (pl == 0) continue;
		uint8_t *ip = buf + 16;
		if (ip[9] == 1 && ip[20] == 0 && ip[24] == 0x12 && ip[25] == 0x34) { printf("%s: echo reply through wireguard-go ok (ctr %llu)\n", argv[1], (unsigned long long)ctr); return 0; }
	}
}
