/* SPDX-License-Identifier: MIT */
/* Interface (link) settings over rtnetlink. All return 0 or -errno. */
#ifndef TUND_NETLINK_LINK_H
#define TUND_NETLINK_LINK_H

int tund_link_set_mtu(int ifindex, unsigned int mtu);
/* Sets IFF_UP, leaving the other flags as they are. */
int tund_link_set_up(int ifindex);
/* RTM_DELLINK; for our TUN this also ends the device for whoever holds it. */
int tund_link_delete(int ifindex);
/* Returns the interface index (> 0) of name, or -ENODEV when there is none. */
int tund_link_index(const char *name);

#endif
