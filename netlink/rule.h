/* SPDX-License-Identifier: MIT */
/* Policy-routing rules ("ip rule") over rtnetlink. */
#ifndef TUND_NETLINK_RULE_H
#define TUND_NETLINK_RULE_H

#include <stddef.h>
#include <stdint.h>

struct tund_cidr;

/* Adds or removes the rule "to DST lookup TABLE pref PRIORITY" (IPv4 or IPv6
 * by dst->family; host bits are ignored). add returns -EEXIST when the same
 * rule is already there; del returns -ENOENT when it is not. */
int tund_rule_add(const struct tund_cidr *dst, uint32_t table,
		  uint32_t priority);
int tund_rule_del(const struct tund_cidr *dst, uint32_t table,
		  uint32_t priority);

/* Builds an RTM_NEWRULE or RTM_DELRULE request into buf (aligned for struct
 * nlmsghdr); exposed for the unit tests. Returns 0, -EINVAL or -ENOSPC. */
int tund_rule_encode(void *buf, size_t len, uint16_t type,
		     const struct tund_cidr *dst, uint32_t table,
		     uint32_t priority);

#endif
