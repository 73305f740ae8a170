// SPDX-License-Identifier: MIT
/* Helper for tests/netns/test_offload.sh: overlay/offload.c against a real
 * kernel. It plays a TCP peer behind a TUN opened with IFF_VNET_HDR and the
 * TSO/USO offloads, the way tund's data plane does:
 *   offload_probe up   TUN SRC DST PORT FILE   sends FILE to DST:PORT, the
 *       segments of each window coalesced into GSO writes
 *   offload_probe down TUN SRC DST PORT FILE   receives from DST:PORT into
 *       FILE, every read split, every segment's checksums verified
 *   offload_probe uso  TUN SRC DST PORT FILE   sends FILE from a local UDP
 *       socket with UDP_SEGMENT to SRC:PORT (behind the TUN), reads the USO
 *       super packets and splits them; the datagrams must be FILE again
 * It prints "ready" once the TUN exists and waits for a line on stdin (the
 * test adds addresses meanwhile); at the end one line of counters. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "overlay/offload.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

#define VH TUND_VNET_HDR_LEN
#define MSS 1357 /* odd on purpose */
#define BATCH 40
#define SYN 0x02
#define FIN 0x01
#define PSH 0x08
#define ACK 0x10

static int tun;
static bool v6;
static uint8_t src[16], dst[16];
static uint16_t sport = 40000, dport;
static uint32_t snd_nxt = 1000, rcv_nxt;
static uint16_t ip_id;
static uint32_t peer_wnd = 65535;

static void die(const char *what)
{
	fprintf(stderr, "offload_probe: %s\n", what);
	exit(1);
}

static uint32_t sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static size_t iphl_of(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? 40 : (size_t)(ip[0] & 15) * 4;
}

static uint32_t pseudo(const uint8_t *ip, size_t l4len)
{
	uint8_t ph[40] = { 0 };

	if (ip[0] >> 4 == 6) {
		memcpy(ph, ip + 8, 32);
		ph[34] = (uint8_t)(l4len >> 8);
		ph[35] = (uint8_t)l4len;
		ph[39] = ip[6];
		return sum(ph, 40, 0);
	}
	memcpy(ph, ip + 12, 8);
	ph[9] = ip[9];
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	return sum(ph, 12, 0);
}

/* Both checksums of a packet verify, its lengths match. */
static bool packet_ok(const uint8_t *ip, size_t len)
{
	size_t hl = iphl_of(ip);

	if (len < hl + 20)
		return false;
	if (ip[0] >> 4 == 6 ? (size_t)(ip[4] << 8 | ip[5]) != len - 40
			    : (size_t)(ip[2] << 8 | ip[3]) != len || fold(sum(ip, hl, 0)) != 0xffff)
		return false;
	return fold(sum(ip + hl, len - hl, pseudo(ip, len - hl))) == 0xffff;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One TCP segment from us to the peer, checksums complete. */
static size_t build(uint8_t *b, uint32_t seq, uint8_t flags, const uint8_t *data, size_t n)
{
	size_t hl = v6 ? 40 : 20, thl = flags & SYN ? 24 : 20, len = hl + thl + n;
	uint8_t *t = b + hl;
	uint16_t c;

	memset(b, 0, hl + thl);
	if (v6) {
		b[0] = 0x60;
		b[4] = (uint8_t)((len - 40) >> 8);
		b[5] = (uint8_t)(len - 40);
		b[6] = 6;
		b[7] = 64;
		memcpy(b + 8, src, 16);
		memcpy(b + 24, dst, 16);
	} else {
		b[0] = 0x45;
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
		b[4] = (uint8_t)(ip_id >> 8);
		b[5] = (uint8_t)ip_id++;
		b[6] = 0x40;
		b[8] = 64;
		b[9] = 6;
		memcpy(b + 12, src, 4);
		memcpy(b + 16, dst, 4);
		c = (uint16_t)~fold(sum(b, 20, 0));
		b[10] = (uint8_t)(c >> 8);
		b[11] = (uint8_t)c;
	}
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	put32(t + 4, seq);
	put32(t + 8, flags & ACK ? rcv_nxt : 0);
	t[12] = (uint8_t)(thl / 4 << 4);
	t[13] = flags;
	t[14] = t[15] = 0xff;
	if (flags & SYN) { /* MSS option: the peer's TSO uses it as gso_size */
		t[20] = 2;
		t[21] = 4;
		t[22] = MSS >> 8;
		t[23] = MSS & 0xff;
	}
	memcpy(t + thl, data, n);
	c = (uint16_t)~fold(sum(t, thl + n, pseudo(b, thl + n)));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	return len;
}

static void send_plain(uint32_t seq, uint8_t flags)
{
	uint8_t buf[VH + 100] = { 0 };
	size_t len = build(buf + VH, seq, flags, NULL, 0);

	if (write(tun, buf, VH + len) != (ssize_t)(VH + len))
		die("TUN write failed");
}

/* Next TCP packet from the peer to us (vnet header first), or 0 on timeout. */
static size_t read_peer(uint8_t *buf, size_t cap, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = tun, .events = POLLIN };
		const uint8_t *ip = buf + VH;
		ssize_t n;
		size_t hl;

		if (poll(&p, 1, timeout_ms) != 1)
			return 0;
		n = read(tun, buf, cap);
		if (n < (ssize_t)(VH + 40))
			continue;
		hl = iphl_of(ip);
		if ((ip[0] >> 4 == 6) != v6 || (v6 ? ip[6] : ip[9]) != 6 || (size_t)n < VH + hl + 20)
			continue;
		if (memcmp(ip + (v6 ? 8 : 12), dst, v6 ? 16 : 4) != 0 ||
		    (ip[hl] << 8 | ip[hl + 1]) != dport || (ip[hl + 2] << 8 | ip[hl + 3]) != sport)
			continue;
		return (size_t)n;
	}
}

static uint8_t rbuf[VH + 70000];

static void handshake(void)
{
	size_t n;
	const uint8_t *t;

	send_plain(snd_nxt, SYN);
	n = read_peer(rbuf, sizeof(rbuf), 10000);
	t = rbuf + VH + iphl_of(rbuf + VH);
	if (!n || t[13] != (SYN | ACK) || get32(t + 8) != snd_nxt + 1)
		die("no SYN-ACK");
	snd_nxt++;
	rcv_nxt = get32(t + 4) + 1;
	peer_wnd = (uint32_t)(t[14] << 8 | t[15]); /* no window scaling offered */
	send_plain(snd_nxt, ACK);
}

static size_t writes;

static void tun_write(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	writes++;
	if (write(tun, buf, len) != (ssize_t)len)
		die("TUN write of a coalesced packet failed");
}

/* Sends data in windows of up to BATCH segments, each window one coalesce
 * call; go-back-N on a missing ACK (a dropped merge shows up as retries). */
static int upload(const uint8_t *data, size_t size)
{
	static uint8_t pool[BATCH][VH + 1500];
	static uint8_t scratch[VH + TUND_OFFLOAD_MAX];
	struct tund_offload_pkt pkts[BATCH];
	uint32_t base = snd_nxt, acked = snd_nxt, wnd = peer_wnd;
	size_t segments = 0, retries = 0;

	while (acked - base < size) {
		size_t n = 0, off = acked - base;

		snd_nxt = acked;
		while (n < BATCH && off < size && snd_nxt + MSS - acked <= wnd) {
			size_t len = size - off < MSS ? size - off : MSS;
			uint8_t flags = ACK | (off + len == size ? PSH : 0);

			pkts[n].data = pool[n] + VH;
			pkts[n].len = build(pkts[n].data, snd_nxt, flags, data + off, len);
			snd_nxt += (uint32_t)len;
			off += len;
			n++;
		}
		if (n == 0) { /* window closed: probe it with one byte */
			size_t len = 1;

			pkts[0].data = pool[0] + VH;
			pkts[0].len = build(pkts[0].data, snd_nxt, ACK, data + off, len);
			snd_nxt += 1;
			n = 1;
		}
		tund_offload_coalesce(pkts, n, 0, scratch, tun_write, NULL);
		segments += n;
		for (;;) {
			size_t r = read_peer(rbuf, sizeof(rbuf), 2000);
			const uint8_t *t = rbuf + VH + iphl_of(rbuf + VH);

			if (!r) {
				if (++retries > 20)
					die("the peer stopped acknowledging");
				break;
			}
			if (!(t[13] & ACK))
				continue;
			if ((int32_t)(get32(t + 8) - acked) > 0)
				acked = get32(t + 8);
			wnd = (uint32_t)(t[14] << 8 | t[15]);
			if (acked == snd_nxt)
				break;
		}
	}
	snd_nxt = acked;
	send_plain(snd_nxt, FIN | ACK);
	printf("up: %zu bytes, %zu segments, %zu writes, %zu retries\n", size, segments, writes,
	       retries);
	return 0;
}

/* Receives until FIN: every TUN read split, every segment verified. */
static int download(FILE *out)
{
	static uint8_t segbuf[64][2048];
	uint8_t *segs[64];
	size_t seg_len[64], reads = 0, gso_reads = 0, segments = 0, bytes = 0;
	bool fin = false;

	for (int i = 0; i < 64; i++)
		segs[i] = segbuf[i];
	while (!fin) {
		struct virtio_net_hdr h;
		size_t n = read_peer(rbuf, sizeof(rbuf), 10000);
		int r;

		if (!n)
			die("download stalled");
		memcpy(&h, rbuf, VH);
		r = tund_offload_split(&h, rbuf + VH, n - VH, segs, sizeof(segbuf[0]), 64, seg_len);
		if (r < 0)
			die("split refused a packet from the kernel");
		reads++;
		gso_reads += h.gso_type != VIRTIO_NET_HDR_GSO_NONE;
		for (int i = 0; i < r; i++) {
			const uint8_t *ip = segs[i], *t = ip + iphl_of(ip);
			size_t off = iphl_of(ip) + (size_t)(t[12] >> 4) * 4, len = seg_len[i] - off;

			if (!packet_ok(ip, seg_len[i]))
				die("a split segment has a bad checksum");
			segments++;
			if (get32(t + 4) != rcv_nxt)
				continue; /* a retransmission */
			if (fwrite(ip + off, 1, len, out) != len)
				die("cannot write the output file");
			rcv_nxt += (uint32_t)len;
			bytes += len;
			if (t[13] & FIN) {
				rcv_nxt++;
				fin = true;
			}
		}
		send_plain(snd_nxt, ACK);
	}
	printf("down: %zu bytes, %zu reads, %zu gso reads, %zu segments\n", bytes, reads, gso_reads,
	       segments);
	return 0;
}

/* USO: the kernel hands the TUN one UDP_L4 super packet per send; split
 * gives back datagrams of gso_size, which must hold FILE in order. */
static int uso(const uint8_t *data, size_t size)
{
	static uint8_t segbuf[64][2048];
	uint8_t *segs[64];
	size_t seg_len[64], got = 0, reads = 0, datagrams = 0, off = 0;
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0), gso = 1201;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(dport) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(dport) };

	memcpy(&a6.sin6_addr, src, 16);
	memcpy(&a4.sin_addr, src, 4);
	if (s < 0 || setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &gso, sizeof(gso)) < 0)
		die("no UDP_SEGMENT");
	for (int i = 0; i < 64; i++)
		segs[i] = segbuf[i];
	while (off < size) {
		size_t n = size - off < 40 * (size_t)gso ? size - off : 40 * (size_t)gso;

		if (sendto(s, data + off, n, 0, v6 ? (void *)&a6 : (void *)&a4,
			   v6 ? sizeof(a6) : sizeof(a4)) != (ssize_t)n)
			die("UDP_SEGMENT send failed");
		off += n;
		for (size_t have = 0; have < n;) {
			struct pollfd p = { .fd = tun, .events = POLLIN };
			struct virtio_net_hdr h;
			ssize_t r;
			int k;

			if (poll(&p, 1, 10000) != 1)
				die("no USO packet came out of the TUN");
			r = read(tun, rbuf, sizeof(rbuf));
			if (r < (ssize_t)(VH + 48) || (rbuf[VH] >> 4 == 6) != v6 ||
			    (v6 ? rbuf[VH + 6] : rbuf[VH + 9]) != 17)
				continue;
			memcpy(&h, rbuf, VH);
			k = tund_offload_split(&h, rbuf + VH, (size_t)r - VH, segs, sizeof(segbuf[0]), 64,
					       seg_len);
			if (k < 0)
				die("split refused a USO packet from the kernel");
			reads += h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4;
			for (int i = 0; i < k; i++) {
				size_t l4 = iphl_of(segs[i]), len = seg_len[i] - l4 - 8;

				if (!packet_ok(segs[i], seg_len[i]))
					die("a split datagram has a bad checksum");
				if ((size_t)(segs[i][l4 + 4] << 8 | segs[i][l4 + 5]) != seg_len[i] - l4)
					die("a split datagram has a wrong UDP length");
				if (got + len > size || memcmp(segs[i] + l4 + 8, data + got, len))
					die("a split datagram holds the wrong bytes");
				got += len;
				have += len;
				datagrams++;
			}
		}
	}
	printf("uso: %zu bytes, %zu uso reads, %zu datagrams\n", got, reads, datagrams);
	return 0;
}

int main(int argc, char **argv)
{
	struct ifreq ifr;
	unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6;
	char line[16];
	FILE *f;

	if (argc != 7 || (strcmp(argv[1], "up") && strcmp(argv[1], "down") && strcmp(argv[1], "uso")))
		die("usage: offload_probe up|down|uso TUN SRC DST PORT FILE");
	v6 = strchr(argv[3], ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, argv[3], src) != 1 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, argv[4], dst) != 1)
		die("bad address");
	dport = (uint16_t)atoi(argv[5]);

	tun = open("/dev/net/tun", O_RDWR);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[2]);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	if (tun < 0 || ioctl(tun, TUNSETIFF, &ifr) < 0)
		die("cannot open the TUN");
	if (ioctl(tun, TUNSETOFFLOAD, off) < 0 &&
	    ioctl(tun, TUNSETOFFLOAD, off & ~(unsigned int)(TUN_F_USO4 | TUN_F_USO6)) < 0)
		die("TUNSETOFFLOAD failed");
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		die("no go from the test");

	if (strcmp(argv[1], "down")) {
		static uint8_t data[4 << 20];
		size_t size;

		f = fopen(argv[6], "rb");
		if (!f)
			die("cannot open the input file");
		size = fread(data, 1, sizeof(data), f);
		fclose(f);
		if (!strcmp(argv[1], "uso"))
			return uso(data, size);
		handshake();
		return upload(data, size);
	}
	handshake();
	f = fopen(argv[6], "wb");
	if (!f)
		die("cannot create the output file");
	download(f);
	return fclose(f) ? 1 : 0;
}
