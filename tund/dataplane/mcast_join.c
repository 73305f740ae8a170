// SPDX-License-Identifier: MIT
#include "tund/dataplane/mcast_join.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tund/daemon/log.h"

void tund_mcast_join_init(struct tund_mcast_join *j, int tun_fd)
{
	memset(j, 0, sizeof(*j));
	pthread_mutex_init(&j->lock, NULL);
	j->fd4 = j->fd6 = -1;
	j->tun_fd = tun_fd;
}

void tund_mcast_join_destroy(struct tund_mcast_join *j)
{
	if (j->fd4 >= 0)
		close(j->fd4);
	if (j->fd6 >= 0)
		close(j->fd6);
	j->fd4 = j->fd6 = -1;
	pthread_mutex_destroy(&j->lock);
}

/* The TUN's index, from its fd (the device may be renamed; the fd stays). */
static int tun_ifindex(struct tund_mcast_join *j)
{
	struct ifreq ifr;

	if (j->ifindex > 0)
		return j->ifindex;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(j->tun_fd, TUNGETIFF, &ifr) != 0)
		return -errno;
	j->ifindex = (int)if_nametoindex(ifr.ifr_name);
	return j->ifindex > 0 ? j->ifindex : -ENODEV;
}

/* Joins group (4 or 16 bytes) once; a failed join is remembered too, so
 * a flood to a group that cannot be joined costs no system call each. */
static void join(struct tund_mcast_join *j, const uint8_t *group, bool v6)
{
	uint8_t (*g4)[4] = j->g4;
	uint8_t (*g6)[16] = j->g6;
	size_t n = v6 ? j->n6 : j->n4, max = v6 ? TUND_MCAST_JOIN_MAX6 : TUND_MCAST_JOIN_MAX4;
	int idx, ret;

	for (size_t i = 0; i < n; i++)
		if (!memcmp(v6 ? g6[i] : g4[i], group, v6 ? 16 : 4))
			return;
	if (n == max) {
		if (!j->full_logged)
			log_warn("multicast: %zu groups joined on the TUN already; programs that joined "
				 "further groups on another interface miss them from peers", max);
		j->full_logged = true;
		return;
	}
	memcpy(v6 ? g6[n] : g4[n], group, v6 ? 16 : 4);
	if (v6)
		j->n6++;
	else
		j->n4++;
	idx = tun_ifindex(j);
	if (idx < 0) {
		log_warn("multicast: cannot find the TUN's index: %s", strerror(-idx));
		return;
	}
	if (v6) {
		struct ipv6_mreq m = { .ipv6mr_interface = (unsigned)idx };

		if (j->fd6 < 0)
			j->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		memcpy(&m.ipv6mr_multiaddr, group, 16);
		ret = j->fd6 < 0 ? -1 : setsockopt(j->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m));
	} else {
		struct ip_mreqn m = { .imr_ifindex = idx };

		if (j->fd4 < 0)
			j->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		memcpy(&m.imr_multiaddr, group, 4);
		ret = j->fd4 < 0 ? -1 : setsockopt(j->fd4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
	}
	if (ret != 0 && errno != EADDRINUSE)
		log_warn("multicast: cannot join a group on the TUN: %s", strerror(errno));
}

void tund_mcast_join_one(struct tund_mcast_join *j, const uint8_t *pkt, size_t len)
{
	/* UDP only: IGMP and MLD reports (the peers' own joins) need no join. */
	bool v4 = len >= 20 && pkt[0] >> 4 == 4 && (pkt[16] & 0xf0) == 0xe0 && pkt[9] == 17;
	bool v6 = len >= 40 && pkt[0] >> 4 == 6 && pkt[24] == 0xff && pkt[6] == 17;

	if (!v4 && !v6)
		return;
	/* All-hosts / all-nodes: every interface is in them. */
	if (v4 && pkt[16] == 224 && !pkt[17] && !pkt[18] && pkt[19] == 1)
		return;
	if (v6 && pkt[25] == 0x02 && !memcmp(pkt + 26, "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13) &&
	    pkt[39] == 1)
		return;
	pthread_mutex_lock(&j->lock);
	join(j, v4 ? pkt + 16 : pkt + 24, v6);
	pthread_mutex_unlock(&j->lock);
}

void tund_mcast_join_batch(struct tund_mcast_join *j, const struct tund_wg_packet *pkts,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pkts[i].res == TUND_WG_TO_TUN)
			tund_mcast_join_one(j, pkts[i].buf + pkts[i].inner_off, pkts[i].inner_len);
}
