/* SPDX-License-Identifier: MIT */
/* The daemon's joined networks (d->networks, each a tund/connect/membership.c
 * run): kept in state_dir/networks.json (each stored as its invite), started
 * and stopped together. */
#ifndef TUND_NETWORKS_H
#define TUND_NETWORKS_H

#include <stdbool.h>

struct tund_daemon;

/* networks.json at start: validates every entry before keeping any, and
 * refuses a corrupt file (logs why). The networks start later, with
 * tund_networks_start_pending, once the data plane runs. */
bool tund_networks_load(struct tund_daemon *d);
void tund_networks_start_pending(struct tund_daemon *d);
/* Writes networks.json atomically. 0 or -errno. */
int tund_networks_save(struct tund_daemon *d);
/* At exit: stops every network (our retained announces stay). */
void tund_networks_stop_all(struct tund_daemon *d);

#endif
