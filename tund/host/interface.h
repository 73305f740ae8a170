/* SPDX-License-Identifier: MIT */
/* The daemon's TUN interface ([interface] in the config). */
#ifndef TUND_INTERFACE_H
#define TUND_INTERFACE_H

#include <stdbool.h>

#include "tund/daemon/state.h"

/* Creates the TUN device, sets its offloads, MTU and addresses, and sets it
 * up; fills d->tun_fd, d->ifname, d->ifindex, d->tun_uso. Logs why on
 * failure, and then nothing is left. */
bool tund_interface_up(struct tund_daemon *d);
/* Closes and deletes it (if it is still ours); nothing when not up. */
void tund_interface_down(struct tund_daemon *d);

#endif
