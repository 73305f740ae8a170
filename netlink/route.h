/* SPDX-License-Identifier: MIT */
/* On-link routes through our interface, in the main table. */
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

/* Builds an RTM_NEWROUTE or RTM_DELROUTE request into buf (aligned for struct
 * nlmsghdr); exposed for the unit tests. Returns 0, -EINVAL or -ENOSPC. */
int tund_route_encode(void *buf, size_t len, uint16_t type, int ifindex,
		      const struct tund_cidr *dst);

#endif
