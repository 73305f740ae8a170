// SPDX-License-Identifier: MIT
/* The least a userspace tunnel can do, for `make bench`'s latency floor:
 * one thread polls a TUN device and a UDP socket and moves each packet
 * across with one read and one send, optionally sealed with
 * ChaCha20-Poly1305 (--seal). No handshake, no peers, a fixed key: it is a
 * yardstick, not a VPN. Its idle ping shows what two daemons in their own
 * processes cost on this machine before any VPN logic runs.
 *
 *   floor_fwd IFNAME LOCAL-PORT PEER-IPV4 PEER-PORT [--seal]
 *   floor_fwd IFNAME --fd N [--channel] [--seal]
 *
 * The second form is the floor through a TURN relay (tests/bench/paths.sh):
 * turn_probe.c sets up the allocation and channel (or the plain end's
 * connected socket) and execs this with that socket as fd N; --channel adds
 * and strips the ChannelData header of turn_probe's channel. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

enum { BUF = 65536, NONCE_OFF = 4, CTR_LEN = 8, CHANNEL = 0x4000, CHANNEL_HDR = 4 };

struct fwd {
	int tun, udp;
	struct sockaddr_in peer; /* port 0: udp is connected */
	bool seal;
	size_t hdr; /* CHANNEL_HDR with --channel, else 0 */
	uint64_t sent;
	unsigned char key[crypto_aead_chacha20poly1305_IETF_KEYBYTES];
	unsigned char plain[BUF], wire[CHANNEL_HDR + BUF + CTR_LEN + crypto_aead_chacha20poly1305_IETF_ABYTES];
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
	unsigned char *body = f->wire + f->hdr;
	unsigned long long clen;
	ssize_t n;

	while ((n = read(f->tun, f->plain, sizeof(f->plain))) > 0) {
		size_t len = (size_t)n;

		if (f->seal) {
			f->sent++;
			memcpy(body, &f->sent, CTR_LEN);
			nonce_of(nonce, body);
			crypto_aead_chacha20poly1305_ietf_encrypt(body + CTR_LEN, &clen, f->plain, len,
								  NULL, 0, NULL, nonce, f->key);
			len = CTR_LEN + (size_t)clen;
		} else {
			memcpy(body, f->plain, len);
		}
		if (f->hdr) {
			if (len > 0xffff) /* ChannelData's length field */
				continue;
			f->wire[0] = CHANNEL >> 8;
			f->wire[1] = CHANNEL & 0xff;
			f->wire[2] = (unsigned char)(len >> 8);
			f->wire[3] = (unsigned char)len;
		}
		if (f->peer.sin_port)
			sendto(f->udp, f->wire, f->hdr + len, 0, (const struct sockaddr *)&f->peer,
			       sizeof(f->peer));
		else
			send(f->udp, f->wire, f->hdr + len, 0);
	}
}

/* unwrap: the datagram's body without the ChannelData header, or NULL for
 * anything else from the server (STUN, another channel). */
static const unsigned char *unwrap(const struct fwd *f, size_t *len)
{
	size_t body;

	if (!f->hdr)
		return f->wire;
	if (*len < CHANNEL_HDR || f->wire[0] != CHANNEL >> 8 || f->wire[1] != (CHANNEL & 0xff))
		return NULL;
	body = (size_t)f->wire[2] << 8 | f->wire[3];
	if (body > *len - CHANNEL_HDR)
		return NULL;
	*len = body;
	return f->wire + CHANNEL_HDR;
}

static void udp_to_tun(struct fwd *f)
{
	unsigned char nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	unsigned long long plen;
	ssize_t n;

	while ((n = recv(f->udp, f->wire, sizeof(f->wire), 0)) > 0) {
		size_t len = (size_t)n;
		const unsigned char *body = unwrap(f, &len);

		if (!body)
			continue;
		if (!f->seal) {
			if (write(f->tun, body, len) < 0 && errno != EAGAIN)
				perror("floor_fwd: tun write");
			continue;
		}
		if (len < CTR_LEN + crypto_aead_chacha20poly1305_IETF_ABYTES)
			continue;
		nonce_of(nonce, body);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(f->plain, &plen, NULL, body + CTR_LEN,
							      len - CTR_LEN, NULL, 0, nonce,
							      f->key) != 0)
			continue;
		if (write(f->tun, f->plain, (size_t)plen) < 0 && errno != EAGAIN)
			perror("floor_fwd: tun write");
	}
}

/* parse_args: fills f and *port for the first form, *fd for the second;
 * 0, or -1 after a usage line. */
static int parse_args(struct fwd *f, int argc, char **argv, unsigned *port, int *fd)
{
	int opt;

	if (argc >= 4 && strcmp(argv[2], "--fd") == 0) {
		char *end;
		long v = strtol(argv[3], &end, 10);

		if (*end || v < 3 || v > INT_MAX) /* not stdin, stdout or stderr */
			goto usage;
		*fd = (int)v;
		opt = 4;
	} else if (argc >= 5) {
		*port = (unsigned)atoi(argv[2]);
		f->peer.sin_family = AF_INET;
		f->peer.sin_port = htons((uint16_t)atoi(argv[4]));
		if (inet_pton(AF_INET, argv[3], &f->peer.sin_addr) != 1 || !f->peer.sin_port)
			goto usage;
		opt = 5;
	} else {
		goto usage;
	}
	for (; opt < argc; opt++) {
		if (strcmp(argv[opt], "--seal") == 0)
			f->seal = true;
		else if (strcmp(argv[opt], "--channel") == 0 && *fd >= 0)
			f->hdr = CHANNEL_HDR;
		else
			goto usage;
	}
	return 0;
usage:
	fprintf(stderr, "usage: floor_fwd IFNAME LOCAL-PORT PEER-IPV4 PEER-PORT [--seal]\n"
			"       floor_fwd IFNAME --fd N [--channel] [--seal]\n");
	return -1;
}

int main(int argc, char **argv)
{
	static struct fwd f;
	unsigned port = 0;
	int fd = -1;

	if (parse_args(&f, argc, argv, &port, &fd) != 0)
		return 2;
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
	if (fd >= 0) {
		f.udp = fd;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
			perror("floor_fwd: the inherited socket");
			return 1;
		}
	} else {
		f.udp = open_udp(port);
	}
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
