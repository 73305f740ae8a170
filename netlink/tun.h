/* SPDX-License-Identifier: MIT */
/* Creating the TUN device that carries overlay packets. */
#ifndef TUND_NETLINK_TUN_H
#define TUND_NETLINK_TUN_H

#include <net/if.h>
#include <stdbool.h>

/* The clone device every TUN is created through. */
#define TUND_TUN_DEVICE "/dev/net/tun"

/* Extra flags a caller may pass to tund_tun_open. */
#define TUND_TUN_FLAGS_ALLOWED (IFF_VNET_HDR | IFF_MULTI_QUEUE)

/* Creates a new layer-3 TUN device (IFF_TUN | IFF_NO_PI, plus any of
 * TUND_TUN_FLAGS_ALLOWED in flags) called name, or a kernel-chosen "tunN" when
 * name is NULL or empty, and returns its fd (O_CLOEXEC) or -errno. The actual
 * name goes to out_name when it is not NULL. A name that any interface already
 * has, tun or not, ours or another process's, is refused with -EBUSY; an
 * invalid one with -EINVAL; -EACCES when TUND_TUN_DEVICE's mode shuts this
 * process out. The device goes away when the fd is closed. */
int tund_tun_open(const char *name, char out_name[IFNAMSIZ], unsigned flags);

/* For a TUN opened with IFF_VNET_HDR: sets the header to a struct
 * virtio_net_hdr and offers the kernel checksum, TCP (and where it has it,
 * UDP) segmentation offload, so that reads may be 64 KiB super packets and
 * writes may be coalesced. *features gets the TUN_F_* bits in force.
 * 0 or -errno (then reads and writes still carry the header, unused). */
int tund_tun_enable_offload(int fd, unsigned *features);
/* Whether features include UDP segmentation offload (TUN_F_USO4/6, Linux
 * 6.2): then the TUN also accepts UDP super packets written to it. */
bool tund_tun_has_uso(unsigned features);

#endif
