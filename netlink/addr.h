/* SPDX-License-Identifier: MIT */
/* Interface addresses over rtnetlink. */
#ifndef TUND_NETLINK_ADDR_H
#define TUND_NETLINK_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/cidr.h"

struct nlmsghdr;

struct tund_addr_info {
	int ifindex;
	struct tund_cidr cidr;  /* the local address and its prefix */
	uint8_t scope;          /* RT_SCOPE_* */
	uint32_t flags;         /* IFA_F_*, e.g. TENTATIVE, DEPRECATED, TEMPORARY */
};

/* Returns 0 to see the next address, > 0 to stop listing with success, or
 * -errno to stop and make tund_addr_list return it. */
typedef int (*tund_addr_cb)(const struct tund_addr_info *info, void *ctx);

/* Adds addr (host bits = the address, prefix = the on-link subnet) to the
 * interface. IPv4 gets IFA_LOCAL, IFA_ADDRESS and the subnet broadcast (none
 * for /31 and /32); IPv6 gets IFA_F_NODAD so it is usable at once. Returns 0,
 * -EEXIST when it is already there, or another -errno. */
int tund_addr_add(int ifindex, const struct tund_cidr *addr);

/* Removes addr from the interface (a network left, an address no longer
 * ours). Returns 0, -EADDRNOTAVAIL when it is not there, or another -errno. */
int tund_addr_del(int ifindex, const struct tund_cidr *addr);

/* Calls cb for each IPv4 and IPv6 address of ifindex, or of every interface
 * when ifindex is 0, from one RTM_GETADDR dump. Returns 0 or -errno (-EAGAIN:
 * addresses changed during the dump, try again). */
int tund_addr_list(int ifindex, tund_addr_cb cb, void *ctx);

/* Message codec, exposed for the unit tests. encode builds an RTM_NEWADDR or
 * RTM_DELADDR request into buf (aligned for struct nlmsghdr) and returns 0,
 * -EINVAL for bad arguments, or -ENOSPC when len is too small. decode reads an
 * RTM_NEWADDR message, validating every attribute it uses. */
int tund_addr_encode(void *buf, size_t len, uint16_t type, int ifindex,
		     const struct tund_cidr *addr);
bool tund_addr_decode(const struct nlmsghdr *nlh, struct tund_addr_info *out);

#endif
