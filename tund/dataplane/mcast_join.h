/* SPDX-License-Identifier: MIT */
/* Multicast from peers reaches programs whichever interface they joined on.
 * The kernel drops a multicast packet arriving on an interface that has not
 * joined its group, and a game that joined on its LAN interface (the default
 * one, say) has not joined on the TUN. So before a multicast packet from a
 * peer is written to the TUN, the daemon joins its group on the TUN (once);
 * the program's socket, bound to the port, then gets it. UDP only. */
#ifndef TUND_DATAPLANE_MCAST_JOIN_H
#define TUND_DATAPLANE_MCAST_JOIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/device.h"

/* IPv4: the kernel's default igmp_max_memberships per socket. */
#define TUND_MCAST_JOIN_MAX4 20
#define TUND_MCAST_JOIN_MAX6 64

struct tund_mcast_join {
	pthread_mutex_t lock;
	int fd4, fd6, ifindex; /* -1, -1, 0 until the first group */
	int tun_fd;
	uint8_t g4[TUND_MCAST_JOIN_MAX4][4];
	uint8_t g6[TUND_MCAST_JOIN_MAX6][16];
	size_t n4, n6;
	bool full_logged;
};

void tund_mcast_join_init(struct tund_mcast_join *j, int tun_fd);
void tund_mcast_join_destroy(struct tund_mcast_join *j);
/* pkt: an IP packet about to be written to the TUN. */
void tund_mcast_join_one(struct tund_mcast_join *j, const uint8_t *pkt, size_t len);
/* The TO_TUN packets of a received batch. */
void tund_mcast_join_batch(struct tund_mcast_join *j, const struct tund_wg_packet *pkts,
			   size_t n);

#endif
