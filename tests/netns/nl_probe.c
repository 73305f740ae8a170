// SPDX-License-Identifier: MIT
/* Drives netlink/ for tests/netns/test_netlink.sh.
 *   nl_probe setup NAME MTU ADDR4/N ADDR6/N ROUTE4/N ROUTE6/N
 *     creates TUN NAME, configures it, lists its addresses ("addr A/N"),
 *     prints "ready", waits for a line (or EOF) on stdin, deletes the routes
 *     and the link, prints "done".
 *   nl_probe open NAME
 *     tries to create TUN NAME; prints "opened NAME" or "open NAME: EXXX (...)"
 *     and exits 0 or 2.
 *   nl_probe route SRC DST
 *     asks tund_route_get how a datagram from SRC to DST leaves; prints
 *     "oif N gw G" (G "-" when on-link) or "route: EXXX (...)" and exits 2.
 * Any failure prints "error: what: EXXX (text)" and exits 1. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netlink/addr.h"
#include "netlink/link.h"
#include "netlink/route.h"
#include "netlink/tun.h"
#include "overlay/cidr.h"

static void check(int ret, const char *what)
{
	if (ret >= 0)
		return;
	printf("error: %s: %s (%s)\n", what, strerrorname_np(-ret),
	       strerror(-ret));
	exit(1);
}

static struct tund_cidr parse(const char *text)
{
	struct tund_cidr c;

	if (!tund_cidr_parse(&c, text, false)) {
		printf("error: bad cidr %s\n", text);
		exit(1);
	}
	return c;
}

static int print_addr(const struct tund_addr_info *info, void *ctx)
{
	char buf[TUND_CIDR_STRLEN];

	(void)ctx;
	tund_cidr_format(&info->cidr, buf, sizeof(buf));
	printf("addr %s ifindex=%d flags=0x%x\n", buf, info->ifindex,
	       info->flags);
	return 0;
}

static int do_setup(char **argv)
{
	struct tund_cidr a4 = parse(argv[2]), a6 = parse(argv[3]);
	struct tund_cidr r4 = parse(argv[4]), r6 = parse(argv[5]);
	char name[IFNAMSIZ], line[64];
	int fd, ifindex;

	fd = tund_tun_open(argv[0], name, 0);
	check(fd, "tun_open");
	ifindex = tund_link_index(name);
	check(ifindex, "link_index");
	check(tund_link_set_mtu(ifindex, (unsigned)atoi(argv[1])), "set_mtu");
	check(tund_addr_add(ifindex, &a4), "addr_add v4");
	check(tund_addr_add(ifindex, &a6), "addr_add v6");
	check(tund_addr_add(ifindex, &a4) == -EEXIST ? 0 : -EPROTO,
	      "addr_add twice is not EEXIST");
	check(tund_link_set_up(ifindex), "set_up");
	check(tund_route_add(ifindex, &r4), "route_add v4");
	check(tund_route_add(ifindex, &r6), "route_add v6");
	check(tund_addr_list(ifindex, print_addr, NULL), "addr_list");
	printf("ready ifindex=%d name=%s\n", ifindex, name);
	fflush(stdout);

	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	check(tund_route_del(ifindex, &r4), "route_del v4");
	check(tund_route_del(ifindex, &r6), "route_del v6");
	check(tund_route_del(ifindex, &r4) == -ESRCH ? 0 : -EPROTO,
	      "route_del twice is not ESRCH");
	check(tund_link_delete(ifindex), "link_delete");
	check(tund_link_index(name) == -ENODEV ? 0 : -EPROTO,
	      "link still there after delete");
	close(fd);
	printf("done\n");
	return 0;
}

static int do_open(const char *name)
{
	char out[IFNAMSIZ];
	int fd = tund_tun_open(name, out, 0);

	if (fd < 0) {
		printf("open %s: %s (%s)\n", name, strerrorname_np(-fd),
		       strerror(-fd));
		return 2;
	}
	printf("opened %s\n", out);
	close(fd);
	return 0;
}

static int do_route(const char *src, const char *dst)
{
	unsigned char s[16], d[16], zero[16] = { 0 };
	int family = strchr(src, ':') ? AF_INET6 : AF_INET;
	struct tund_route_hop hop;
	char gw[INET6_ADDRSTRLEN];
	int ret;

	if (inet_pton(family, src, s) != 1 || inet_pton(family, dst, d) != 1) {
		printf("error: bad address\n");
		return 1;
	}
	ret = tund_route_get(family, s, d, &hop);
	if (ret < 0) {
		printf("route: %s (%s)\n", strerrorname_np(-ret), strerror(-ret));
		return 2;
	}
	if (!memcmp(hop.gateway, zero, sizeof(zero)))
		snprintf(gw, sizeof(gw), "-");
	else
		inet_ntop(family, hop.gateway, gw, sizeof(gw));
	printf("oif %d gw %s\n", hop.oif, gw);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 8 && !strcmp(argv[1], "setup"))
		return do_setup(argv + 2);
	if (argc == 3 && !strcmp(argv[1], "open"))
		return do_open(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "route"))
		return do_route(argv[2], argv[3]);
	fprintf(stderr, "usage: nl_probe setup NAME MTU A4 A6 R4 R6 | "
			"open NAME | route SRC DST\n");
	return 64;
}
