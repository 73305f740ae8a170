// SPDX-License-Identifier: MIT
/* The least a userspace tunnel can do, for `make bench`'s latency floor:
 * one thread polls a TUN device and a UDP socket and moves each packet
 * across with one read and one send, optionally sealed with
 * ChaCha20-Poly1305 (--seal). No handshake, no peers, a fixed key: it is a
 * yardstick, not a VPN. Its idle ping shows what two daemons in their own
 * processes cost on this machine before any VPN logic runs.
 *
 *   floor_fwd IFNAME LOCAL-PORT PEER-IPV4 PEER-PORT [--seal] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF = 65536, NONCE_OFF = 4, CTR_LEN = 8 };

struct fwd {
	int tun, udp;
	struct sockaddr_in peer;
	bool seal;
	uint64_t sent;
	unsigned char key[crypto_aead_chacha20poly1305_IETF_KEYBYTES];
	unsigned char plain[BUF], wire[BUF + CTR_LEN + crypto_aead_chacha20poly1305_IETF_ABYTES];
};

static int open_tun(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_udp(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The nonce is the 64-bit counter sent in front of the ciphertext. */
static void nonce_of(unsigned char nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES],
		     const unsigned char ctr[CTR_LEN])
{
	memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
	memcpy(nonce + NONCE_OFF, ctr, CTR_LEN);
}

static void tun_to_udp(struct fwd *f)
{
	unsigned char nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	unsigned long long clen;
	ssize_t n;

	while ((n = read(f->tun, f->plain, sizeof(f->plain))) > 0) {
		const void *out = f->plain;
		size_t len = (size_t)n;

		if (f->seal) {
			f->sent++;
			memcpy(f->wire, &f->sent, CTR_LEN);
			nonce_of(nonce, f->wire);
			crypto_aead_chacha20poly1305_ietf_encrypt(f->wire + CTR_LEN, &clen, f->plain, len,
								  NULL, 0, NULL, nonce, f->key);
			out = f->wire;
			len = CTR_LEN + (size_t)clen;
		}
		sendto(f->udp, out, len, 0, (const struct sockaddr *)&f->peer, sizeof(f->peer));
	}
}

static void udp_to_tun(struct fwd *f)
{
	unsigned char nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	unsigned long long plen;
	ssize_t n;

	while ((n = recv(f->udp, f->wire, sizeof(f->wire), 0)) > 0) {
		if (!f->seal) {
			if (write(f->tun, f->wire, (size_t)n) < 0 && errno != EAGAIN)
				perror("floor_fwd: tun write");
			continue;
		}
		if ((size_t)n < CTR_LEN + crypto_aead_chacha20poly1305_IETF_ABYTES)
			continue;
		nonce_of(nonce, f->wire);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(f->plain, &plen, NULL, f->wire + CTR_LEN,
							      (size_t)n - CTR_LEN, NULL, 0, nonce,
							      f->key) != 0)
			continue;
		if (write(f->tun, f->plain, (size_t)plen) < 0 && errno != EAGAIN)
			perror("floor_fwd: tun write");
	}
}

int main(int argc, char **argv)
{
	static struct fwd f;

	if (argc < 5 || argc > 6 || (argc == 6 && strcmp(argv[5], "--seal") != 0)) {
		fprintf(stderr, "usage: floor_fwd IFNAME LOCAL-PORT PEER-IPV4 PEER-PORT [--seal]\n");
		return 2;
	}
	f.seal = argc == 6;
	f.peer.sin_family = AF_INET;
	f.peer.sin_port = htons((uint16_t)atoi(argv[4]));
	if (inet_pton(AF_INET, argv[3], &f.peer.sin_addr) != 1) {
		fprintf(stderr, "floor_fwd: bad peer address %s\n", argv[3]);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "floor_fwd: libsodium failed to start\n");
		return 1;
	}
	memset(f.key, 0x5a, sizeof(f.key));
	f.tun = open_tun(argv[1]);
	if (f.tun < 0) {
		perror("floor_fwd: TUN device");
		return 1;
	}
	f.udp = open_udp((unsigned)atoi(argv[2]));
	if (f.udp < 0) {
		perror("floor_fwd: UDP socket");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = f.tun, .events = POLLIN }, { .fd = f.udp, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			perror("floor_fwd: poll");
			return 1;
		}
		tun_to_udp(&f);
		udp_to_tun(&f);
	}
}
