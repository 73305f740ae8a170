// SPDX-License-Identifier: MIT
#include "tund/host/bcast_rules.h"

#include <errno.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/link.h"
#include "netlink/route.h"
#include "netlink/rule.h"
#include "overlay/cidr.h"

#define TABLE_PREFIX "tund_"
/* Below the kernel's 256 for its per-interface ff00::/8 local routes. */
#define MCAST6_METRIC 128

static const struct tund_cidr mcast4 = {
	.family = AF_INET, .addr = { 224 }, .prefix = 4,
};
static const struct tund_cidr mcast6 = {
	.family = AF_INET6, .addr = { 0xff }, .prefix = 8,
};
static const struct tund_cidr lbcast = {
	.family = AF_INET, .addr = { 255, 255, 255, 255 }, .prefix = 32,
};
/* After "lookup main" (32766): consulted only when main has no route to
 * 255.255.255.255, i.e. no default route. */
#define LBCAST_RULE_PRIO 32767

/* The name goes into an nftables script: only characters that can neither
 * quote nor start a new statement. */
static bool valid_ifname(const char *ifname)
{
	size_t i, n;

	if (!ifname)
		return false;
	n = strlen(ifname);
	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (i = 0; i < n; i++) {
		char c = ifname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

bool tund_bcast_rules_table(const char *ifname, char *buf, size_t len)
{
	int n;

	if (!valid_ifname(ifname) || !buf)
		return false;
	n = snprintf(buf, len, TABLE_PREFIX "%s", ifname);
	return n > 0 && (size_t)n < len;
}

uint32_t tund_bcast_rules_rt_table(const char *ifname)
{
	uint32_t h = 2166136261u; /* FNV-1a, folded to 16 bits */

	for (; ifname && *ifname; ifname++)
		h = (h ^ (uint8_t)*ifname) * 16777619u;
	return 0x74750000u | ((h >> 16 ^ h) & 0xffff);
}

/* why = "what: strerror(e)". */
static void set_err(char *why, size_t why_len, const char *what, int e)
{
	if (why_len)
		snprintf(why, why_len, "%s: %s", what, strerror(e));
}

/* Runs one nftables script as one transaction. On failure returns -errno
 * (-EIO when libnftables gives none) and its error text in why. */
static int nft_run(const char *script, char *why, size_t why_len)
{
	struct nft_ctx *nft;
	const char *text;
	int ret = 0;

	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		set_err(why, why_len, "nftables", ENOMEM);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	errno = 0;
	if (nft_run_cmd_from_buffer(nft, script) != 0) {
		ret = errno > 0 ? -errno : -EIO;
		text = nft_ctx_get_error_buffer(nft);
		if (why_len)
			snprintf(why, why_len, "%s",
				 text && *text ? text : "nftables refused the ruleset");
	}
	nft_ctx_free(nft);
	return ret;
}

/* "table X" before "delete table X" makes the delete succeed whether or not
 * the table existed, all inside one transaction. */
static const char nft_install_fmt[] =
	"table ip %1$s\n"
	"delete table ip %1$s\n"
	"table ip %1$s {\n"
	"\tchain output {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\tip daddr 255.255.255.255 oifname != \"%2$s\" "
	"dup to 255.255.255.255 device \"%2$s\"\n"
	/* A subnet broadcast of another interface (192.168.1.255 on the LAN):
	 * what games that browse only IFF_BROADCAST interfaces send. */
	"\t\tip daddr != 255.255.255.255 oifname != \"%2$s\" "
	"fib daddr type broadcast dup to 255.255.255.255 device \"%2$s\"\n"
	"\t}\n"
	/* That copy still says 192.168.1.255, which no peer takes as its own
	 * broadcast: make it a limited broadcast on its way into the TUN (the
	 * clone passes postrouting; nft fixes the IP and UDP checksums). The
	 * TUN's own subnet broadcast (type broadcast on the TUN) stays. */
	"\tchain postrouting {\n"
	"\t\ttype filter hook postrouting priority filter; policy accept;\n"
	"\t\toifname \"%2$s\" ip daddr != 255.255.255.255 "
	"fib daddr . oif type != broadcast fib daddr type broadcast "
	"ip daddr set 255.255.255.255\n"
	"\t}\n"
	"}\n";
static const char nft_remove_fmt[] =
	"table ip %1$s\n"
	"delete table ip %1$s\n";

static int route_add(int ifindex, const struct tund_cidr *dst,
		     const char *what, char *why, size_t why_len)
{
	int ret = dst->family == AF_INET6 ?
		  tund_route_add_mcast6(ifindex, dst, MCAST6_METRIC) :
		  tund_route_add(ifindex, dst);

	if (ret == -EEXIST)
		return 0;
	if (ret < 0)
		set_err(why, why_len, what, -ret);
	return ret;
}

/* The IPv4 routes die with the TUN's last IPv4 address (the kernel flushes a
 * device's routes then), so they are put back each time we add one. */
static int ipv4_routes(int ifindex, const char *ifname, char *why, size_t why_len)
{
	int ret = route_add(ifindex, &mcast4, "route 224.0.0.0/4", why, why_len);

	if (ret < 0)
		return ret;
	/* No default route: limited broadcasts go to the TUN instead of
	 * failing with ENETUNREACH (doc/broadcast.md). */
	ret = tund_route_add_table(ifindex, &lbcast, tund_bcast_rules_rt_table(ifname));
	if (ret < 0 && ret != -EEXIST) {
		set_err(why, why_len, "route 255.255.255.255/32", -ret);
		return ret;
	}
	return 0;
}

int tund_bcast_rules_routes(const char *ifname, char *why, size_t why_len)
{
	int ifindex = tund_link_index(ifname);

	if (why_len)
		why[0] = '\0';
	if (ifindex < 0) {
		set_err(why, why_len, ifname, -ifindex);
		return ifindex;
	}
	return ipv4_routes(ifindex, ifname, why, why_len);
}

int tund_bcast_rules_install(const char *ifname, char *why, size_t why_len)
{
	char table[sizeof(TABLE_PREFIX) + IFNAMSIZ], *script = NULL;
	uint32_t rt_table;
	int ifindex, ret;

	if (why_len)
		why[0] = '\0';
	if (!tund_bcast_rules_table(ifname, table, sizeof(table))) {
		set_err(why, why_len, "interface name", EINVAL);
		return -EINVAL;
	}
	ifindex = tund_link_index(ifname);
	if (ifindex < 0) {
		set_err(why, why_len, ifname, -ifindex);
		return ifindex;
	}
	ret = ipv4_routes(ifindex, ifname, why, why_len);
	if (ret < 0)
		goto out;
	/* With IPv6 disabled on the host there is no IPv6 multicast to carry:
	 * IPv4 broadcast and multicast still work. */
	ret = route_add(ifindex, &mcast6, "route ff00::/8", why, why_len);
	if (ret == -EACCES || ret == -EAFNOSUPPORT) {
		if (why_len)
			why[0] = '\0';
		ret = 0;
	}
	if (ret < 0)
		goto out;
	rt_table = tund_bcast_rules_rt_table(ifname);
	ret = tund_rule_add(&lbcast, rt_table, LBCAST_RULE_PRIO);
	if (ret < 0 && ret != -EEXIST) {
		set_err(why, why_len, "rule to 255.255.255.255", -ret);
		goto out;
	}
	if (asprintf(&script, nft_install_fmt, table, ifname) < 0) {
		script = NULL;
		ret = -ENOMEM;
		set_err(why, why_len, "nftables script", ENOMEM);
		goto out;
	}
	ret = nft_run(script, why, why_len);
out:
	free(script);
	if (ret < 0)
		tund_bcast_rules_remove(ifname);
	return ret;
}

void tund_bcast_rules_remove(const char *ifname)
{
	char table[sizeof(TABLE_PREFIX) + IFNAMSIZ], *script;
	int ifindex;

	if (!tund_bcast_rules_table(ifname, table, sizeof(table)))
		return;
	if (asprintf(&script, nft_remove_fmt, table) >= 0) {
		(void)nft_run(script, NULL, 0);
		free(script);
	}
	/* The rule outlives the device; routes die with it, so when it is
	 * still there, take ours. */
	(void)tund_rule_del(&lbcast, tund_bcast_rules_rt_table(ifname),
			    LBCAST_RULE_PRIO);
	ifindex = tund_link_index(ifname);
	if (ifindex > 0) {
		(void)tund_route_del_table(ifindex, &lbcast,
					   tund_bcast_rules_rt_table(ifname));
		(void)tund_route_del(ifindex, &mcast4);
		(void)tund_route_del_mcast6(ifindex, &mcast6, MCAST6_METRIC);
	}
}
