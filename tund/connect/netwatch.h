/* SPDX-License-Identifier: MIT */
/* The machine's address and link events for the whole daemon: one rtnetlink
 * socket (netlink/monitor.c) on the default GMainContext, fanned out to its
 * subscribers (the address watcher and the LAN beacons of every joined
 * network). It opens with the first subscriber and closes with the last. */
#ifndef TUND_NETWATCH_H
#define TUND_NETWATCH_H

#include "netlink/monitor.h"

typedef void (*tund_netwatch_fn)(void *ctx, const struct tund_nl_event *ev);

/* 0 or -errno (the socket could not be opened). */
int tund_netwatch_subscribe(tund_netwatch_fn fn, void *ctx);
/* Safe from inside a callback. */
void tund_netwatch_unsubscribe(tund_netwatch_fn fn, void *ctx);

#endif
