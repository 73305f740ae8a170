/* SPDX-License-Identifier: MIT */
/* The packet path: threads that move packets between the TUN device and the
 * underlay UDP socket through the WireGuard device, off the GLib loop. */
#ifndef TUND_DATAPLANE_H
#define TUND_DATAPLANE_H

#include <stdint.h>

#include "overlay/device.h"

struct tund_dataplane;
struct tund_peer;

/* Opens the UDP socket and starts the threads. 0 or -errno. */
int tund_dataplane_start(int tun_fd, uint16_t listen_port, unsigned mtu,
			 const uint8_t private_key[32], struct tund_dataplane **out);
/* Stops the threads and closes the socket (not the TUN fd). */
void tund_dataplane_stop(struct tund_dataplane *dp);
uint16_t tund_dataplane_port(struct tund_dataplane *dp);
struct tund_wg *tund_dataplane_wg(struct tund_dataplane *dp);

/* Adds or refreshes a configured peer in the WireGuard device: key, psk,
 * allowed IPs and, when it has one, its endpoint (resolved now). 0 or -errno;
 * an endpoint that does not resolve is logged and the peer added anyway. */
int tund_dataplane_peer_apply(struct tund_dataplane *dp, struct tund_peer *p);
void tund_dataplane_peer_forget(struct tund_dataplane *dp, struct tund_peer *p);

/* Current time for the device. */
void tund_dataplane_now(struct tund_wg_clock *now);

#endif
