// SPDX-License-Identifier: MIT
/* An attacker on the LAN who holds the network key K (from an invite): it
 * sends the beacons of tests/netns/test_beacon_forged.sh to DST_IP:51821.
 *
 *   beacon_forge_probe forge INVITE_FILE VICTIM_KEY COUNT DST_IP
 *     COUNT beacons with a good network MAC, signed with the attacker's own
 *     key: the even ones claim a fresh random key, the odd ones VICTIM_KEY.
 *     Prints "claimed KEY" for every random key (base64), so the test can
 *     check that none of them became a member. All must be refused as
 *     forged (or rate limited).
 *   beacon_forge_probe old INVITE_FILE VICTIM_KEY COUNT DST_IP
 *     COUNT version 1 beacons (85 bytes, MAC only) claiming VICTIM_KEY:
 *     counted old_version.
 * Beacons go out one every 2 ms from one ephemeral port. INVITE_FILE holds
 * the invite text (secrets stay off command lines). */
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

#include "overlay/beacon.h"
#include "overlay/blake2s.h"
#include "overlay/keys.h"
#include "overlay/network.h"
#include "tests/netns/invite_file.h"

static uint64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static int die(const char *what)
{
	fprintf(stderr, "beacon_forge_probe: %s\n", what);
	return 2;
}

/* A version 1 beacon as a v1 node sent it: MAC under kdf1(K, "tund beacon v1"). */
static size_t old_beacon(uint8_t out[85], const uint8_t netkey[32], const uint8_t pub[32],
			 uint16_t port)
{
	static const char label[] = "tund beacon v1";
	uint64_t t = now_ms();
	uint8_t key[32];

	out[0] = 'T';
	out[1] = 'B';
	out[2] = 1;
	tund_network_id(netkey, out + 3);
	memcpy(out + 19, pub, 32);
	out[51] = (uint8_t)(port >> 8);
	out[52] = (uint8_t)port;
	for (int i = 7; i >= 0; i--, t >>= 8)
		out[53 + i] = (uint8_t)t;
	randombytes_buf(out + 61, 8);
	tund_blake2s_kdf1(key, netkey, (const uint8_t *)label, sizeof(label));
	tund_blake2s(out + 69, 16, out, 69, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	return 85;
}

/* Beacon i of the run into buf; its length, 0 on failure. */
static size_t make(bool old, int i, const uint8_t netkey[32], const uint8_t priv[32],
		   const uint8_t victim[32], uint8_t *buf)
{
	struct tund_beacon_msg b = { .listen_port = 51820, .time_ms = now_ms() };
	char text[TUND_KEY_B64_LEN + 1];

	if (old)
		return old_beacon(buf, netkey, victim, 51820);
	if (i % 2 == 0) {
		randombytes_buf(b.pubkey, 32);
		tund_key_encode(text, b.pubkey);
		printf("claimed %s\n", text);
	} else {
		memcpy(b.pubkey, victim, 32);
	}
	randombytes_buf(b.nonce, sizeof(b.nonce));
	return tund_beacon_encode(&b, netkey, priv, buf, TUND_BEACON_LEN);
}

static int send_all(bool old, const struct tund_network *net, const uint8_t victim[32],
		    int count, const char *dst_ip)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TUND_BEACON_PORT) };
	struct timespec gap = { .tv_nsec = 2000000 };
	uint8_t priv[32], buf[TUND_BEACON_LEN];
	int fd, sent = 0;

	if (inet_pton(AF_INET, dst_ip, &to.sin_addr) != 1)
		return die("bad DST_IP");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return die("socket");
	tund_key_generate(priv); /* the attacker's own key: all it can sign with */
	for (int i = 0; i < count; i++) {
		size_t len = make(old, i, net->key, priv, victim, buf);

		if (len && sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len)
			sent++;
		nanosleep(&gap, NULL);
	}
	sodium_memzero(priv, sizeof(priv));
	close(fd);
	fprintf(stderr, "beacon_forge_probe: sent %d of %d\n", sent, count);
	return sent == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct tund_network net;
	uint8_t victim[32];
	const char *why = NULL;
	int ret;

	if (sodium_init() < 0 || argc != 6 || (strcmp(argv[1], "forge") && strcmp(argv[1], "old")))
		return die("usage: forge|old INVITE_FILE VICTIM_KEY COUNT DST_IP");
	if (!read_invite_file(argv[2], &net, &why))
		return die(why ? why : "invite");
	if (!tund_key_decode(victim, argv[3]))
		ret = die("bad key");
	else
		ret = send_all(!strcmp(argv[1], "old"), &net, victim, atoi(argv[4]), argv[5]);
	tund_network_clear(&net);
	fflush(stdout);
	return ret;
}
