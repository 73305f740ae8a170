// SPDX-License-Identifier: MIT
/* LAN beacon I/O (see tund/beacon.h). */
#include "tund/connect/beacon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "overlay/beacon.h"
#include "overlay/network.h"
#include "overlay/ratelimit.h"
#include "tund/connect/netwatch.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

enum {
	INTERVAL_MS = 5000,
	JITTER_MS = 1000,     /* +-20 % */
	LINK_DELAY_MS = 200,  /* let addresses settle after a link event */
	LINK_MIN_GAP_MS = 1000,
	MAX_IFACES = 32,
	SENDERS = 256,        /* replay state for this many recent senders */
	SOURCES = 64,         /* rate limit buckets for this many addresses (LRU) */
	SRC_RATE = 10, SRC_BURST = 30,
	ALL_RATE = 200, ALL_BURST = 400,
};


struct source {
	uint8_t addr[16];
	int family;
	uint64_t used_ms;
	bool used;
	struct tund_ratelimit rl;
};

struct tund_beacon {
	uint8_t netkey[32], priv[32], pub[32];
	uint16_t listen_port;
	char name[64]; /* the network's, for log lines */
	int64_t old_version_logged_us; /* v1 nodes: logged once an hour */
	char exclude[IFNAMSIZ];
	tund_beacon_peer_fn cb;
	tund_beacon_signal_fn signal_cb;
	void *ctx;
	uint8_t netid[TUND_NET_ID_LEN]; /* a sealed signal's network id, to pick ours */
	uint8_t old_keys[TUND_BEACON_OLD_KEYS][32], old_ids[TUND_BEACON_OLD_KEYS][TUND_NET_ID_LEN];
	unsigned n_old;
	tund_beacon_old_fn old_cb;

	int rx4, rx6, tx6; /* rx6/tx6 are -1 without IPv6 */
	bool subscribed; /* to tund/connect/netwatch.c */
	guint rx4_watch, rx6_watch, timer, link_timer;
	uint64_t last_link_send_ms;
	/* A callback from on_rx may stop us (a rekey heard on the LAN starts
	 * a beacon under the new key): on_rx frees b once it is back. */
	unsigned rx_depth;
	bool stopped;

	struct tund_beacon_stats stats;
	struct tund_ratelimit all;
	struct tund_beacon_sender senders[SENDERS];
	struct source sources[SOURCES];
};

struct iface {
	char name[IFNAMSIZ];
	unsigned index;
	unsigned flags;
	bool v4, v6;
};

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_real_time() / 1000);
}

/* Up, non-loopback interfaces but the excluded one, with whether each has an
 * IPv4 address and an IPv6 link-local address. */
static size_t list_ifaces(const struct tund_beacon *b, struct iface *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		struct iface *f = NULL;

		if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, b->exclude) == 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (strcmp(out[k].name, i->ifa_name) == 0)
				f = &out[k];
		if (!f) {
			unsigned idx = if_nametoindex(i->ifa_name);

			if (!idx || n == max)
				continue;
			f = &out[n++];
			memset(f, 0, sizeof(*f));
			g_strlcpy(f->name, i->ifa_name, sizeof(f->name));
			f->index = idx;
			f->flags = i->ifa_flags;
		}
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			f->v4 = true;
		if (i->ifa_addr->sa_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
			f->v6 = true;
	}
	freeifaddrs(ifa);
	return n;
}

static void join_groups(struct tund_beacon *b)
{
	struct iface ifs[MAX_IFACES];
	size_t n = list_ifaces(b, ifs, MAX_IFACES);

	for (size_t i = 0; i < n; i++) {
		if (ifs[i].flags & IFF_MULTICAST) {
			struct ip_mreqn m4 = { .imr_ifindex = (int)ifs[i].index };

			inet_pton(AF_INET, TUND_BEACON_GROUP4, &m4.imr_multiaddr);
			if (setsockopt(b->rx4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m4, sizeof(m4)) < 0 &&
			    errno != EADDRINUSE)
				log_debug("beacon: join %s on %s: %s", TUND_BEACON_GROUP4,
					  ifs[i].name, g_strerror(errno));
		}
		if (b->rx6 >= 0 && (ifs[i].flags & IFF_MULTICAST)) {
			struct ipv6_mreq m6 = { .ipv6mr_interface = ifs[i].index };

			inet_pton(AF_INET6, TUND_BEACON_GROUP6, &m6.ipv6mr_multiaddr);
			if (setsockopt(b->rx6, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m6, sizeof(m6)) <
				    0 &&
			    errno != EADDRINUSE)
				log_debug("beacon: join %s on %s: %s", TUND_BEACON_GROUP6,
					  ifs[i].name, g_strerror(errno));
		}
	}
}

static void count_send(struct tund_beacon *b, int fd, const uint8_t *msg,
		       const struct sockaddr *to, socklen_t tolen, const char *ifname)
{
	if (sendto(fd, msg, TUND_BEACON_LEN, 0, to, tolen) == TUND_BEACON_LEN)
		b->stats.sent++;
	else
		log_debug("beacon: send on %s: %s", ifname, g_strerror(errno));
}

/* One datagram with a fresh nonce. */
static void make_beacon(struct tund_beacon *b, uint8_t msg[TUND_BEACON_LEN])
{
	struct tund_beacon_msg bc = { .listen_port = b->listen_port, .time_ms = now_ms() };

	memcpy(bc.pubkey, b->pub, 32);
	randombytes_buf(bc.nonce, sizeof(bc.nonce));
	tund_beacon_encode(&bc, b->netkey, b->priv, msg, TUND_BEACON_LEN);
}

/* A socket bound to f: 255.255.255.255 then needs no route. -1 on failure. */
static int open_tx4(const struct iface *f)
{
	struct ip_mreqn mif = { .imr_ifindex = (int)f->index };
	int one = 1, zero = 0, fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, f->name, (socklen_t)strlen(f->name)) <
		    0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)) < 0) {
		log_debug("beacon: socket for %s: %s", f->name, g_strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void send_v4(struct tund_beacon *b, const struct iface *f)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TUND_BEACON_PORT) };
	uint8_t msg[TUND_BEACON_LEN];
	int fd = open_tx4(f);

	if (fd < 0)
		return;
	if (f->flags & IFF_MULTICAST) {
		inet_pton(AF_INET, TUND_BEACON_GROUP4, &to.sin_addr);
		make_beacon(b, msg);
		count_send(b, fd, msg, (struct sockaddr *)&to, sizeof(to), f->name);
	}
	if (f->flags & IFF_BROADCAST) {
		to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		make_beacon(b, msg);
		count_send(b, fd, msg, (struct sockaddr *)&to, sizeof(to), f->name);
	}
	close(fd);
}

static void send_v6(struct tund_beacon *b, const struct iface *f)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(TUND_BEACON_PORT),
				   .sin6_scope_id = f->index };
	uint8_t msg[TUND_BEACON_LEN];
	int idx = (int)f->index;

	if (b->tx6 < 0 || !(f->flags & IFF_MULTICAST))
		return;
	if (setsockopt(b->tx6, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0)
		return;
	inet_pton(AF_INET6, TUND_BEACON_GROUP6, &to.sin6_addr);
	make_beacon(b, msg);
	count_send(b, b->tx6, msg, (struct sockaddr *)&to, sizeof(to), f->name);
}

static void send_all(struct tund_beacon *b)
{
	struct iface ifs[MAX_IFACES];
	size_t n = list_ifaces(b, ifs, MAX_IFACES);

	for (size_t i = 0; i < n; i++) {
		if (ifs[i].v4)
			send_v4(b, &ifs[i]);
		if (ifs[i].v6)
			send_v6(b, &ifs[i]);
	}
}

/* One copy per interface: IPv4 broadcast (or the group where the link has
 * no broadcast), IPv6 only on links without IPv4. */
static void send_signal_on(struct tund_beacon *b, const struct iface *f, const uint8_t *msg,
			   size_t len)
{
	struct sockaddr_in to4 = { .sin_family = AF_INET, .sin_port = htons(TUND_BEACON_PORT) };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_port = htons(TUND_BEACON_PORT),
				    .sin6_scope_id = f->index };
	int idx = (int)f->index, fd;

	if (f->v4 && (f->flags & (IFF_BROADCAST | IFF_MULTICAST)) && (fd = open_tx4(f)) >= 0) {
		if (f->flags & IFF_BROADCAST)
			to4.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		else
			inet_pton(AF_INET, TUND_BEACON_GROUP4, &to4.sin_addr);
		if (sendto(fd, msg, len, 0, (struct sockaddr *)&to4, sizeof(to4)) < 0)
			log_debug("beacon: signal on %s: %s", f->name, g_strerror(errno));
		close(fd);
		return;
	}
	if (!f->v6 || b->tx6 < 0 || !(f->flags & IFF_MULTICAST) ||
	    setsockopt(b->tx6, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0)
		return;
	inet_pton(AF_INET6, TUND_BEACON_GROUP6, &to6.sin6_addr);
	if (sendto(b->tx6, msg, len, 0, (struct sockaddr *)&to6, sizeof(to6)) < 0)
		log_debug("beacon: signal on %s: %s", f->name, g_strerror(errno));
}

int tund_beacon_send_signal(struct tund_beacon *b, const uint8_t *msg, size_t len)
{
	struct iface ifs[MAX_IFACES];
	size_t n;

	if (len > TUND_BEACON_SIGNAL_MAX)
		return -EMSGSIZE;
	n = list_ifaces(b, ifs, MAX_IFACES);
	for (size_t i = 0; i < n; i++)
		send_signal_on(b, &ifs[i], msg, len);
	return 0;
}

void tund_beacon_on_signal(struct tund_beacon *b, tund_beacon_signal_fn fn)
{
	b->signal_cb = fn;
}

static gboolean on_timer(gpointer data);

static void arm_timer(struct tund_beacon *b)
{
	guint delay = INTERVAL_MS - JITTER_MS + randombytes_uniform(2 * JITTER_MS + 1);

	b->timer = tund_loop_timeout_add(delay, on_timer, b);
}

static gboolean on_timer(gpointer data)
{
	struct tund_beacon *b = data;

	send_all(b);
	arm_timer(b);
	return G_SOURCE_REMOVE;
}

static gboolean on_link_timer(gpointer data)
{
	struct tund_beacon *b = data;

	b->link_timer = 0;
	b->last_link_send_ms = now_ms();
	join_groups(b);
	send_all(b);
	return G_SOURCE_REMOVE;
}

/* A link came up or an address appeared: beacon soon, at most once a second. */
static void link_changed(struct tund_beacon *b)
{
	uint64_t now = now_ms(), delay = LINK_DELAY_MS;

	if (b->link_timer)
		return;
	if (now < b->last_link_send_ms + LINK_MIN_GAP_MS &&
	    b->last_link_send_ms + LINK_MIN_GAP_MS - now > delay)
		delay = b->last_link_send_ms + LINK_MIN_GAP_MS - now;
	b->link_timer = tund_loop_timeout_add((guint)delay, on_link_timer, b);
}

static void on_nl_event(void *ctx, const struct tund_nl_event *ev)
{
	struct tund_beacon *b = ctx;

	/* An address came, a link came up, or events were missed (assume
	 * something changed). */
	if (ev->kind == TUND_NL_ADDR_NEW || ev->kind == TUND_NL_LOST ||
	    (ev->kind == TUND_NL_LINK_NEW && (ev->flags & IFF_UP)))
		link_changed(b);
}


static struct source *source_for(struct tund_beacon *b, int family, const void *addr,
				 size_t len, uint64_t now)
{
	struct source *s, *victim = &b->sources[0];

	for (size_t i = 0; i < SOURCES; i++) {
		s = &b->sources[i];
		if (s->used && s->family == family && memcmp(s->addr, addr, len) == 0)
			goto found;
		if (!s->used || (victim->used && s->used_ms < victim->used_ms))
			victim = s;
	}
	s = victim;
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->family = family;
	memcpy(s->addr, addr, len);
	tund_ratelimit_init(&s->rl, SRC_RATE, SRC_BURST, now);
found:
	s->used_ms = now;
	return s;
}

static bool excluded_ifindex(const struct tund_beacon *b, int ifindex)
{
	char name[IF_NAMESIZE];

	if (ifindex <= 0 || !b->exclude[0])
		return false;
	return if_indextoname((unsigned)ifindex, name) && strcmp(name, b->exclude) == 0;
}

static void count_old_version(struct tund_beacon *b)
{
	int64_t now = g_get_monotonic_time();

	b->stats.dropped_old_version++;
	if (b->old_version_logged_us &&
	    now - b->old_version_logged_us < (int64_t)3600 * G_USEC_PER_SEC)
		return;
	b->old_version_logged_us = now;
	log_warn("network %s: a node sends LAN beacons v1; upgrade it (v2 nodes ignore v1)",
		 b->name);
}

/* Decodes; false (counted) unless the MAC and the sender's signature hold. */
static bool decode(struct tund_beacon *b, const uint8_t *msg, size_t len,
		   struct tund_beacon_msg *bc)
{
	switch (tund_beacon_decode(msg, len, b->netkey, bc)) {
	case TUND_BEACON_OK:
		return true;
	case TUND_BEACON_MALFORMED:
		b->stats.dropped_malformed++;
		return false;
	case TUND_BEACON_OTHER_NETWORK:
		b->stats.dropped_other_network++;
		return false;
	case TUND_BEACON_FORGED:
		b->stats.dropped_forged++;
		return false;
	case TUND_BEACON_OLD_VERSION:
		count_old_version(b);
		return false;
	}
	return false;
}

void tund_beacon_set_old_keys(struct tund_beacon *b, const uint8_t (*keys)[32], unsigned n,
			      tund_beacon_old_fn fn)
{
	sodium_memzero(b->old_keys, sizeof(b->old_keys));
	b->n_old = n < TUND_BEACON_OLD_KEYS ? n : TUND_BEACON_OLD_KEYS;
	b->old_cb = fn;
	for (unsigned i = 0; i < b->n_old; i++) {
		memcpy(b->old_keys[i], keys[i], 32);
		tund_network_id(keys[i], b->old_ids[i]);
	}
}

/* The old epoch whose network id a beacon carries (after "TB", version),
 * or -1: a cheap compare before any crypto. */
static int old_epoch_of(const struct tund_beacon *b, const uint8_t *msg, size_t len)
{
	if (len != TUND_BEACON_LEN || msg[0] != 'T' || msg[1] != 'B')
		return -1;
	for (unsigned i = 0; i < b->n_old; i++)
		if (!memcmp(msg + 3, b->old_ids[i], TUND_NET_ID_LEN))
			return (int)i;
	return -1;
}

/* The replay check, once the sender is proven; counted when it fails. */
static bool fresh(struct tund_beacon *b, const struct tund_beacon_msg *bc, uint64_t now)
{
	struct tund_beacon_replay *r = tund_beacon_sender_replay(b->senders, SENDERS, bc->pubkey, now);

	if (!r) { /* every slot is a recent sender's: a flood of keys */
		b->stats.dropped_ratelimited++;
		return false;
	}
	switch (tund_beacon_replay_check(r, bc, now)) {
	case TUND_BEACON_REPLAY_OK:
		return true;
	case TUND_BEACON_REPLAY_STALE:
		b->stats.dropped_stale++;
		return false;
	case TUND_BEACON_REPLAY_REPLAY:
		b->stats.dropped_replay++;
		return false;
	}
	return false;
}

/* A beacon under an old epoch's key: proven and fresh, it goes to old_cb
 * alone (the sender is a member that missed a rekey, or a blocked one). */
static void handle_old(struct tund_beacon *b, unsigned idx, const uint8_t *msg, size_t len,
		       uint64_t now)
{
	struct tund_beacon_msg bc;

	if (tund_beacon_decode(msg, len, b->old_keys[idx], &bc) != TUND_BEACON_OK) {
		b->stats.dropped_forged++;
		return;
	}
	if (!fresh(b, &bc, now))
		return;
	b->stats.old_epoch++;
	if (b->old_cb)
		b->old_cb(b->ctx, idx, bc.pubkey);
}

static void handle(struct tund_beacon *b, const uint8_t *msg, size_t len,
		   struct sockaddr_storage *src, socklen_t srclen, int ifindex)
{
	uint64_t now = now_ms();
	struct tund_beacon_msg bc;
	struct source *s;

	/* Our own (looped back broadcast): not counted. */
	if (len == TUND_BEACON_LEN &&
	    memcmp(msg + TUND_BEACON_PUBKEY_OFFSET, b->pub, 32) == 0)
		return;
	if (excluded_ifindex(b, ifindex))
		return;
	b->stats.received++;
	if (src->ss_family == AF_INET)
		s = source_for(b, AF_INET, &((struct sockaddr_in *)src)->sin_addr, 4, now);
	else
		s = source_for(b, AF_INET6, &((struct sockaddr_in6 *)src)->sin6_addr, 16, now);
	if (!tund_ratelimit_allow(&b->all, now) || !tund_ratelimit_allow(&s->rl, now)) {
		b->stats.dropped_ratelimited++;
		return;
	}
	/* A sealed signal (overlay/signal.h: "TS", version, kind, network id):
	 * ours goes to the network's membership, which proves its sender. */
	if (len >= 20 && msg[0] == 'T' && msg[1] == 'S') {
		if (memcmp(msg + 4, b->netid, sizeof(b->netid))) {
			b->stats.dropped_other_network++;
			return;
		}
		if (b->signal_cb)
			b->signal_cb(b->ctx, msg, len);
		return;
	}
	int old = old_epoch_of(b, msg, len);

	if (old >= 0) {
		handle_old(b, (unsigned)old, msg, len, now);
		return;
	}
	/* The sender is proven here; only then is its replay state touched. */
	if (!decode(b, msg, len, &bc) || !fresh(b, &bc, now))
		return;
	b->stats.accepted++;
	if (src->ss_family == AF_INET)
		((struct sockaddr_in *)src)->sin_port = htons(bc.listen_port);
	else
		((struct sockaddr_in6 *)src)->sin6_port = htons(bc.listen_port);
	if (b->cb)
		b->cb(b->ctx, bc.pubkey, (struct sockaddr *)src, srclen, bc.listen_port);
}

static gboolean on_rx(int fd, GIOCondition cond, gpointer data)
{
	struct tund_beacon *b = data;

	(void)cond;
	for (int budget = 0; budget < 64; budget++) {
		uint8_t buf[TUND_BEACON_SIGNAL_MAX];
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct sockaddr_storage src;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &src, .msg_namelen = sizeof(src), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *c;
		int ifindex = 0;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				ifindex = pi.ipi_ifindex;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				ifindex = (int)pi.ipi6_ifindex;
			}
		}
		if (src.ss_family == AF_INET6 && ifindex > 0 &&
		    ((struct sockaddr_in6 *)&src)->sin6_scope_id == 0 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&src)->sin6_addr))
			((struct sockaddr_in6 *)&src)->sin6_scope_id = (uint32_t)ifindex;
		if (src.ss_family != AF_INET && src.ss_family != AF_INET6)
			continue;
		/* A datagram longer than buf is truncated: still malformed. */
		b->rx_depth++;
		handle(b, buf, (size_t)n, &src, mh.msg_namelen, ifindex);
		b->rx_depth--;
		if (b->stopped) { /* its sockets are closed and its watches gone */
			if (b->rx_depth == 0)
				g_free(b);
			return G_SOURCE_REMOVE;
		}
	}
	return G_SOURCE_CONTINUE;
}

static int open_rx4(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(TUND_BEACON_PORT),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR: each joined network has its own receiver on the beacon
	 * port, and every one gets a copy of each multicast/broadcast datagram. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int open_rx6(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(TUND_BEACON_PORT),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int open_tx6(void)
{
	int one = 1, zero = 0, fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int tund_beacon_start(const uint8_t netkey[32], const uint8_t my_priv[32], const uint8_t my_pub[32],
		      uint16_t my_listen_port, const char *exclude_ifname, const char *name,
		      tund_beacon_peer_fn cb, void *ctx, struct tund_beacon **out, char *why,
		      size_t why_len)
{
	struct tund_beacon *b = g_new0(struct tund_beacon, 1);
	int fd, ret;

	b->rx4 = b->rx6 = b->tx6 = -1;
	memcpy(b->netkey, netkey, 32);
	memcpy(b->priv, my_priv, 32);
	memcpy(b->pub, my_pub, 32);
	g_strlcpy(b->name, name ? name : "?", sizeof(b->name));
	b->listen_port = my_listen_port;
	if (exclude_ifname)
		g_strlcpy(b->exclude, exclude_ifname, sizeof(b->exclude));
	b->cb = cb;
	b->ctx = ctx;
	tund_network_id(netkey, b->netid);
	tund_ratelimit_init(&b->all, ALL_RATE, ALL_BURST, now_ms());
	*out = NULL;
	if (my_listen_port == 0) {
		tund_why(why, why_len, "beacon: listen port 0");
		ret = -EINVAL;
		goto fail;
	}

	fd = open_rx4();
	if (fd < 0) {
		tund_why(why, why_len, "beacon: udp/%d: %s", TUND_BEACON_PORT, g_strerror(-fd));
		ret = fd;
		goto fail;
	}
	b->rx4 = fd;
	/* IPv6 may be disabled: then beacons are IPv4 only. */
	fd = open_rx6();
	if (fd >= 0) {
		b->rx6 = fd;
		fd = open_tx6();
		if (fd >= 0)
			b->tx6 = fd;
	} else {
		log_debug("beacon: no IPv6: %s", g_strerror(-fd));
	}

	ret = tund_netwatch_subscribe(on_nl_event, b);
	if (ret) {
		tund_why(why, why_len, "beacon: rtnetlink: %s", g_strerror(-ret));
		goto fail;
	}
	b->subscribed = true;

	b->rx4_watch = tund_loop_fd_add(b->rx4, G_IO_IN, on_rx, b);
	if (b->rx6 >= 0)
		b->rx6_watch = tund_loop_fd_add(b->rx6, G_IO_IN, on_rx, b);
	join_groups(b);
	send_all(b);
	arm_timer(b);
	*out = b;
	return 0;
fail:
	tund_beacon_stop(b);
	return ret;
}

void tund_beacon_get_stats(struct tund_beacon *b, struct tund_beacon_stats *out)
{
	*out = b->stats;
}

void tund_beacon_stop(struct tund_beacon *b)
{
	/* Stopped already, from a callback still under way: its descriptors
	 * may now be another beacon's. */
	if (!b || b->stopped)
		return;
	if (b->rx4_watch)
		tund_loop_source_remove(b->rx4_watch);
	if (b->rx6_watch)
		tund_loop_source_remove(b->rx6_watch);
	if (b->timer)
		tund_loop_source_remove(b->timer);
	if (b->link_timer)
		tund_loop_source_remove(b->link_timer);
	if (b->rx4 >= 0)
		close(b->rx4);
	if (b->rx6 >= 0)
		close(b->rx6);
	if (b->tx6 >= 0)
		close(b->tx6);
	if (b->subscribed)
		tund_netwatch_unsubscribe(on_nl_event, b);
	sodium_memzero(b->netkey, sizeof(b->netkey));
	sodium_memzero(b->priv, sizeof(b->priv));
	sodium_memzero(b->old_keys, sizeof(b->old_keys));
	b->stopped = true;
	if (b->rx_depth == 0)
		g_free(b);
}
