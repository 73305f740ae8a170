/* SPDX-License-Identifier: MIT */
/* On-link routes through our interface, in the main table (and IPv6
 * multicast routes in the local table). */
#ifndef TUND_NETLINK_ROUTE_H
#define TUND_NETLINK_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct tund_cidr;

/* Adds or removes a main-table, scope-link, proto-static unicast route to dst
 * (IPv4 or IPv6; host bits are ignored) out of ifindex. add returns -EEXIST
 * when the route is already there; del returns -ESRCH when it is not. */
int tund_route_add(int ifindex, const struct tund_cidr *dst);
int tund_route_del(int ifindex, const struct tund_cidr *dst);

/* The same as tund_route_add/del in routing table `table` (1..2^32-1). */
int tund_route_add_table(int ifindex, const struct tund_cidr *dst,
			 uint32_t table);
int tund_route_del_table(int ifindex, const struct tund_cidr *dst,
			 uint32_t table);

/* Adds or removes an IPv6 "multicast" route to dst out of ifindex in the
 * LOCAL table with the given metric (proto static). That table already holds
 * a kernel "multicast ff00::/8" route at metric 256 per IPv6 interface and is
 * looked up before main, so only a route here with a lower metric steers
 * unbound IPv6 multicast senders to ifindex. Same return values as above;
 * del matches on the metric, so the kernel's own route stays. */
int tund_route_add_mcast6(int ifindex, const struct tund_cidr *dst,
			  uint32_t metric);
int tund_route_del_mcast6(int ifindex, const struct tund_cidr *dst,
			  uint32_t metric);

/* The way the kernel routes a datagram from src to dst (addresses of family
 * AF_INET or AF_INET6, network order; rules and tables apply): its output
 * interface and gateway (all zero when dst is on-link). 0, or -errno: e.g.
 * -ENETUNREACH (no route), -EINVAL or -EADDRNOTAVAIL (src is not ours). */
struct tund_route_hop {
	int oif;
	unsigned char gateway[16];
};
int tund_route_get(int family, const void *src, const void *dst, struct tund_route_hop *out);

/* Builds an RTM_NEWROUTE or RTM_DELROUTE request into buf (aligned for struct
 * nlmsghdr); exposed for the unit tests. Returns 0, -EINVAL or -ENOSPC. */
int tund_route_encode(void *buf, size_t len, uint16_t type, int ifindex,
		      const struct tund_cidr *dst);
/* The same for tund_route_{add,del}_mcast6 (-EINVAL for IPv4). */
int tund_route_encode_mcast6(void *buf, size_t len, uint16_t type, int ifindex,
			     const struct tund_cidr *dst, uint32_t metric);

#endif
