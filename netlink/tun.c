// SPDX-License-Identifier: MIT
#include "netlink/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tund_tun_open(const char *name, char out_name[IFNAMSIZ], unsigned flags)
{
	struct ifreq ifr;
	int fd, ret;

	if (flags & ~(unsigned)TUND_TUN_FLAGS_ALLOWED)
		return -EINVAL;
	if (!name)
		name = "";
	if (strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	/* A clear answer for the common case; IFF_TUN_EXCL below closes the
	 * race with a device created in between. */
	if (*name && if_nametoindex(name) != 0)
		return -EBUSY;

	fd = open(TUND_TUN_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	/* Without IFF_TUN_EXCL the kernel would attach us to an existing
	 * (e.g. persistent) tun of that name instead of failing. */
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL | flags);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (out_name) {
		memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
		out_name[IFNAMSIZ - 1] = '\0';
	}
	return fd;
out:
	close(fd);
	return ret;
}

/* Newer headers name these; the values are the kernel's ABI. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

bool tund_tun_has_uso(unsigned features)
{
	return (features & (TUN_F_USO4 | TUN_F_USO6)) == (TUN_F_USO4 | TUN_F_USO6);
}

int tund_tun_enable_offload(int fd, unsigned *features)
{
	int hdr_len = (int)sizeof(struct virtio_net_hdr);
	unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return -errno;
	/* UDP segmentation came with Linux 6.2: try it, then without. */
	if (ioctl(fd, TUNSETOFFLOAD, base | TUN_F_USO4 | TUN_F_USO6) == 0) {
		*features = base | TUN_F_USO4 | TUN_F_USO6;
		return 0;
	}
	if (ioctl(fd, TUNSETOFFLOAD, base) < 0)
		return -errno;
	*features = base;
	return 0;
}
