// SPDX-License-Identifier: MIT
/* Drives tund/host/bcast_rules.c for tests/netns/test_bcast_rules.sh.
 *   bcast_probe run NAME ADDR4/N
 *     creates TUN NAME with ADDR4/N, sets it up, installs the broadcast rules
 *     (twice: the second must succeed too), prints "ready", then prints one
 *     line per packet read from the TUN:
 *       pkt dst=D src=S proto=P [sport=X dport=Y] csum=C fanout=0|1
 *           rewritten=S' csum=C'
 *     (rewritten: the source after tund_bcast_rewrite_source, "-" when it
 *     refused; C, C': IPv4 and UDP checksums recomputed from scratch before
 *     and after the rewrite: ok, bad, or none for a UDP checksum of 0). A line or EOF on stdin, or SIGTERM, removes the rules and
 *     exits 0 after "done".
 *   bcast_probe remove NAME
 *     calls tund_bcast_rules_remove(NAME) and prints "removed".
 * Failures print "error: ..." and exit 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netlink/addr.h"
#include "netlink/link.h"
#include "netlink/tun.h"
#include "overlay/bcast.h"
#include "overlay/cidr.h"
#include "tund/host/bcast_rules.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void check(int ret, const char *what)
{
	if (ret >= 0)
		return;
	printf("error: %s: %s\n", what, strerror(-ret));
	exit(1);
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Checks an IPv4/UDP packet's checksums from scratch: "ok", "bad", or
 * "none" when the UDP checksum is 0. */
static const char *verify(const uint8_t *pkt, size_t n)
{
	size_t ihl = (size_t)(pkt[0] & 15) * 4;
	size_t tot = (size_t)(pkt[2] << 8 | pkt[3]);
	uint8_t ph[12];

	if (tot > n || sum16(0, pkt, ihl) != 0xffff)
		return "bad";
	if (pkt[9] != 17 || tot < ihl + 8)
		return "ok";
	if (!(pkt[ihl + 6] | pkt[ihl + 7]))
		return "none";
	memcpy(ph, pkt + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	ph[10] = (uint8_t)((tot - ihl) >> 8);
	ph[11] = (uint8_t)(tot - ihl);
	return sum16(sum16(0, ph, 12), pkt + ihl, tot - ihl) == 0xffff ?
	       "ok" : "bad";
}

static void print_pkt(uint8_t *pkt, size_t n, const struct tund_cidr *o4)
{
	char dst[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN], re[INET_ADDRSTRLEN];
	bool fan = tund_bcast_is_fanout(pkt, n, o4);
	size_t ihl;

	if (n >= 40 && pkt[0] >> 4 == 6) {
		inet_ntop(AF_INET6, pkt + 24, dst, sizeof(dst));
		inet_ntop(AF_INET6, pkt + 8, src, sizeof(src));
		printf("pkt dst=%s src=%s proto=%u fanout=%d\n", dst, src,
		       pkt[6], fan);
		return;
	}
	if (n < 20 || pkt[0] >> 4 != 4) {
		printf("pkt other len=%zu\n", n);
		return;
	}
	inet_ntop(AF_INET, pkt + 16, dst, sizeof(dst));
	inet_ntop(AF_INET, pkt + 12, src, sizeof(src));
	printf("pkt dst=%s src=%s proto=%u", dst, src, pkt[9]);
	ihl = (size_t)(pkt[0] & 15) * 4;
	if (pkt[9] == 17 && n >= ihl + 8)
		printf(" sport=%u dport=%u", pkt[ihl] << 8 | pkt[ihl + 1],
		       pkt[ihl + 2] << 8 | pkt[ihl + 3]);
	printf(" csum=%s", verify(pkt, n));
	if (tund_bcast_rewrite_source(pkt, n, o4->addr))
		inet_ntop(AF_INET, pkt + 12, re, sizeof(re));
	else
		strcpy(re, "-");
	printf(" fanout=%d rewritten=%s csum=%s\n", fan, re, verify(pkt, n));
}

static int do_run(const char *name, const char *addr)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct tund_cidr a4;
	struct pollfd pfd[2];
	char ifname[IFNAMSIZ], why[512];
	uint8_t pkt[65536];
	int fd, ifindex;
	ssize_t n;

	if (!tund_cidr_parse(&a4, addr, false)) {
		printf("error: bad address %s\n", addr);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = tund_tun_open(name, ifname, 0);
	check(fd, "tun_open");
	ifindex = tund_link_index(ifname);
	check(ifindex, "link_index");
	check(tund_addr_add(ifindex, &a4), "addr_add");
	check(tund_link_set_up(ifindex), "set_up");
	for (int i = 0; i < 2; i++) {
		int ret = tund_bcast_rules_install(ifname, why, sizeof(why));

		if (ret < 0) {
			printf("error: install #%d: %s (%s)\n", i + 1, why[0] ? why : "?",
			       strerror(-ret));
			return 1;
		}
	}
	printf("ready ifindex=%d name=%s rt_table=%u\n", ifindex, ifname,
	       tund_bcast_rules_rt_table(ifname));

	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	while (!stop) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN) {
			n = read(fd, pkt, sizeof(pkt));
			if (n > 0)
				print_pkt(pkt, (size_t)n, &a4);
		}
	}
	tund_bcast_rules_remove(ifname);
	close(fd);
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "run"))
		return do_run(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "remove")) {
		tund_bcast_rules_remove(argv[2]);
		printf("removed\n");
		return 0;
	}
	fprintf(stderr, "usage: bcast_probe run NAME ADDR4/N | remove NAME\n");
	return 2;
}
