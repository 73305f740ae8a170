/* SPDX-License-Identifier: MIT */
/* The one rtnetlink request/reply loop that link, addr and route share. */
#ifndef TUND_NETLINK_NL_H
#define TUND_NETLINK_NL_H

#include <stddef.h>

struct nlmsghdr;

/* Room for any request this module builds; replies get a bigger buffer. */
#define TUND_NL_REQSIZE 1024

/* Same shape as libmnl's mnl_cb_t: returns MNL_CB_OK to go on, MNL_CB_STOP to
 * end early, or MNL_CB_ERROR with errno set. */
typedef int (*tund_nl_cb)(const struct nlmsghdr *nlh, void *data);

/* Sends the request in nlh on a fresh NETLINK_ROUTE socket, after adding
 * NLM_F_ACK and a process-unique sequence number, then reads until the ACK (or
 * NLMSG_DONE for a dump). Each data message of the reply goes to cb (may be
 * NULL). Returns 0, or -errno from the kernel's ACK, the dump's end, cb, or the
 * socket; -EAGAIN when a dump was interrupted by a concurrent change. */
int tund_nl_talk(struct nlmsghdr *nlh, tund_nl_cb cb, void *data);

#endif
