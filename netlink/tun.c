// SPDX-License-Identifier: MIT
#include "netlink/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
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

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
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
