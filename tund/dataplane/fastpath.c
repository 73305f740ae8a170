// SPDX-License-Identifier: MIT
#include "tund/dataplane/fastpath.h"

#include <errno.h>
#include <glib.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "overlay/channeldata.h"
#include "tund/daemon/log.h"
#include "tund/dataplane/pace.h"
#include "tund/dataplane/priority.h"
#include "tund/dataplane/udp_io.h"

enum { BATCHES_PER_WAKE = 8 };

struct fast_socket {
	int fd;
	struct tund_udp_tx tx;
	struct sockaddr_storage remote; /* relayed: the TURN server */
	socklen_t remote_len;
	bool relayed;
	/* A TURN server whose ChannelData (WireGuard inside) arrives here:
	 * relayed, the remote; a direct pair's, our own allocation on the
	 * same local base, which the peer may send through (ICE may select a
	 * different pair on each side). turn_len 0: none. */
	struct sockaddr_storage turn;
	socklen_t turn_len;
	atomic_uint channel; /* relayed: learnt channel, 0 until then */
	uint64_t gen;	     /* which add() made it */
};

struct tund_fastpath {
	tund_fastpath_deliver_fn deliver;
	void *ctx;
	int epoll_fd, stop_fd;
	pthread_t thread;
	pthread_rwlock_t lock; /* the table; the receive thread reads under it */
	GHashTable *paths;     /* uint32 id -> struct fast_socket * */
	uint64_t next_gen;     /* under the write lock */
	atomic_uint_fast64_t received, foreign, malformed;
	/* The receive thread's: recvmmsg with UDP GRO, pointed at one socket
	 * at a time. */
	struct tund_udp_rx rx;
	struct tund_udp_received *got;
	struct tund_fastpath_datagram *dg;
	size_t max;
	struct tund_prio_group *prio_group; /* NULL: normal priority */
	struct tund_prio prio;		    /* the receive thread's */
	struct tund_pace pace;		    /* its pacing (tund/pace.h) */
	struct tund_fastpath_hooks hooks;   /* after: NULL when none */
	int watched_fd;			    /* tund_fastpath_watch's; -1: none */
};

/* epoll data of the descriptors that are not paths (ids start at 1). */
enum { STOP_ID = 0, WAKE_ID = UINT32_MAX, WATCHED_ID = UINT32_MAX - 1 };

/* Reuseport group index 0 is libnice's socket (it founded the group when ours
 * joined), 1 is ours. A WireGuard message starts with a type of 1-4 and three
 * zero bytes; STUN starts with 0b00 and a message type whose second byte is
 * never zero for the messages ICE sends. A datagram shorter than 4 bytes
 * fails the load and goes to index 0. */
static struct sock_filter steer_code[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x04000000, 4, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x01000000, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02000000, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x03000000, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 1),
};

/* The same for a relayed pair's local base: ChannelData (first two bits
 * 01) whose payload, at offset 4, starts with a WireGuard type word goes to
 * index 1; plain WireGuard, STUN and ChannelData carrying STUN stay with
 * libnice. A datagram shorter than 8 bytes fails a load: index 0. */
static struct sock_filter steer_relay_code[] = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xC0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x04000000, 4, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x01000000, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02000000, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x03000000, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 1),
};

/* A direct pair's local base under a TURN allocation of ours: plain
 * WireGuard as steer_code, and ChannelData carrying it as steer_relay_code. */
static struct sock_filter steer_both_code[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x04000000, 12, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x01000000, 11, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02000000, 10, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x03000000, 9, 0),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xC0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x04000000, 4, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x01000000, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02000000, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x03000000, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 1),
};

static int open_beside(int nice_fd, bool relayed, bool turn)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct sock_fprog prog = { .len = G_N_ELEMENTS(steer_code), .filter = steer_code };
	int one = 1, fd, ret;

	if (getsockname(nice_fd, (struct sockaddr *)&local, &len) < 0)
		return -errno;
	if (local.ss_family != AF_INET && local.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (relayed)
		prog = (struct sock_fprog){ .len = G_N_ELEMENTS(steer_relay_code),
					    .filter = steer_relay_code };
	else if (turn)
		prog = (struct sock_fprog){ .len = G_N_ELEMENTS(steer_both_code),
					    .filter = steer_both_code };
	/* Only the socket joining is checked at bind time, but both must
	 * carry the flag. */
	if (setsockopt(nice_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -errno;
	fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (local.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&local, len) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		goto fail;
	/* Receive coalescing: one buffer per run of the peer's datagrams.
	 * Where the kernel lacks it, buffers hold one datagram each. */
	(void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

static void close_socket(struct tund_fastpath *fp, struct fast_socket *s)
{
	epoll_ctl(fp->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	g_free(s);
}

static bool same_address(const struct tund_endpoint *a, const struct sockaddr_storage *b,
			 socklen_t blen)
{
	if (a->sa.sa_family != b->ss_family)
		return false;
	if (b->ss_family == AF_INET) {
		const struct sockaddr_in *y = (const void *)b;

		return a->len >= sizeof(a->in4) && blen >= sizeof(*y) &&
		       a->in4.sin_port == y->sin_port &&
		       a->in4.sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *y = (const void *)b;

	return a->len >= sizeof(a->in6) && blen >= sizeof(*y) && a->in6.sin6_port == y->sin6_port &&
	       !memcmp(&a->in6.sin6_addr, &y->sin6_addr, sizeof(y->sin6_addr));
}

/* A relayed datagram from the server: its ChannelData payload in place of
 * it, false if it is none. */
static bool strip_channel(struct tund_fastpath_datagram *d)
{
	size_t n;

	if (!tund_channeldata_parse(d->buf, d->len, &d->channel, &n))
		return false;
	d->buf += TUND_CHANNELDATA_HEADER_LEN;
	d->len = n;
	return true;
}

/* After delivery: the channel of the last ChannelData that authenticated
 * becomes the one we send on (WireGuard's roaming rule: only an
 * authenticated datagram moves where we send). */
static void learn_channel(struct tund_fastpath *fp, uint32_t id, uint64_t gen,
			  const struct tund_fastpath_datagram *d, size_t n)
{
	struct fast_socket *s;
	unsigned ch = 0, old = 0;

	for (size_t i = n; i-- > 0 && !ch;)
		if (d[i].authentic)
			ch = d[i].channel;
	if (!ch)
		return;
	pthread_rwlock_rdlock(&fp->lock);
	s = g_hash_table_lookup(fp->paths, GUINT_TO_POINTER(id));
	/* Not a socket that replaced the one it came on (a new pair). */
	if (s && (!s->relayed || s->gen != gen))
		s = NULL;
	if (s)
		old = atomic_exchange(&s->channel, ch);
	pthread_rwlock_unlock(&fp->lock);
	if (s && old != ch)
		log_info("fast path %u: relayed, on TURN channel 0x%04x", id, ch);
}

/* Where a fast socket takes datagrams from (a copy made under the lock). */
struct sources {
	struct sockaddr_storage remote, turn;
	socklen_t remote_len, turn_len;
	bool relayed;
};

/* The received datagrams from the pair's remote address (plain) or the TURN
 * server (their ChannelData payloads) into fp->dg; returns how many. */
static size_t keep_from_remote(struct tund_fastpath *fp, int n, const struct sources *src)
{
	size_t kept = 0;

	for (int i = 0; i < n; i++) {
		struct tund_fastpath_datagram *d = &fp->dg[kept];
		bool from_turn = src->turn_len && same_address(fp->got[i].from, &src->turn,
								src->turn_len);

		if (!from_turn && (src->relayed || !same_address(fp->got[i].from, &src->remote,
								  src->remote_len))) {
			atomic_fetch_add(&fp->foreign, 1);
			continue;
		}
		*d = (struct tund_fastpath_datagram){ fp->got[i].buf, fp->got[i].len, 0, false };
		if (from_turn && !strip_channel(d)) {
			atomic_fetch_add(&fp->malformed, 1);
			continue;
		}
		kept++;
	}
	return kept;
}

/* One batch from path id's socket; 0 when it is empty or gone, else how
 * many bytes it held (and *packets how many datagrams were handed on). */
static size_t receive_batch(struct tund_fastpath *fp, uint32_t id, size_t *packets)
{
	struct fast_socket *s;
	struct sources src;
	uint64_t gen = 0;
	int n = -1;

	/* Under the read lock, so that remove() cannot close the descriptor
	 * in between; the datagrams are handled after it is dropped. */
	pthread_rwlock_rdlock(&fp->lock);
	s = g_hash_table_lookup(fp->paths, GUINT_TO_POINTER(id));
	if (s) {
		src = (struct sources){ s->remote, s->turn, s->remote_len, s->turn_len, s->relayed };
		gen = s->gen;
		fp->rx.fd = s->fd;
		n = tund_udp_receive(&fp->rx, fp->got);
	}
	pthread_rwlock_unlock(&fp->lock);
	if (n <= 0)
		return 0;
	size_t kept = keep_from_remote(fp, n, &src), bytes = 0;

	for (size_t i = 0; i < kept; i++)
		bytes += fp->dg[i].len;
	atomic_fetch_add(&fp->received, kept);
	*packets += kept;
	for (size_t o = 0; o < kept; o += TUND_FASTPATH_BATCH) {
		size_t k = kept - o < TUND_FASTPATH_BATCH ? kept - o : TUND_FASTPATH_BATCH;

		fp->deliver(fp->ctx, id, fp->dg + o, k);
		if (src.relayed)
			learn_channel(fp, id, gen, fp->dg + o, k);
	}
	return bytes ? bytes : 1; /* all foreign: not empty either */
}

static void *receive_loop(void *arg)
{
	struct tund_fastpath *fp = arg;
	struct epoll_event ev[16];
	int timeout = -1;

	tund_prio_join(&fp->prio, fp->prio_group);
	for (;;) {
		int n = epoll_wait(fp->epoll_fd, ev, G_N_ELEMENTS(ev), timeout);
		uint64_t start = tund_pace_now();
		size_t got = 0, packets = 0;
		bool more = false; /* a socket may still hold datagrams */

		if (n == 0) { /* idle for the priority's timeout */
			tund_prio_idle(&fp->prio);
			timeout = tund_prio_empty(&fp->prio);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("fast path: epoll_wait: %s", g_strerror(errno));
			return NULL;
		}
		bool woken = false;

		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == STOP_ID) {
				tund_prio_leave(&fp->prio);
				return NULL;
			}
			if (ev[i].data.u32 == WAKE_ID || ev[i].data.u32 == WATCHED_ID) {
				woken |= ev[i].data.u32 == WAKE_ID;
				continue;
			}
			/* Level-triggered: a socket left non-empty wakes us again,
			 * so one path cannot starve the others. */
			unsigned b;

			for (b = 0; b < BATCHES_PER_WAKE; b++) {
				size_t k = receive_batch(fp, ev[i].data.u32, &packets);

				if (!k)
					break;
				got += k;
				/* A short batch emptied the socket: epoll says
				 * when more comes, not a recvmmsg of EAGAIN. */
				if (fp->rx.drained)
					break;
			}
			more |= b == BATCHES_PER_WAKE;
		}
		tund_prio_batch(&fp->prio, got);
		tund_pace_after(&fp->pace, start, packets, got);
		if (fp->hooks.after)
			fp->hooks.after(fp, fp->ctx, packets, woken);
		if (!more)
			timeout = tund_prio_empty(&fp->prio);
	}
}

int tund_fastpath_watch(struct tund_fastpath *fp, int fd, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = WATCHED_ID };

	if (on == (fp->watched_fd >= 0))
		return 0;
	if (epoll_ctl(fp->epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, on ? fd : fp->watched_fd,
		      &ev) != 0)
		return -errno;
	fp->watched_fd = on ? fd : -1;
	return 0;
}

struct tund_fastpath *tund_fastpath_new(tund_fastpath_deliver_fn deliver, void *ctx,
				       struct tund_prio_group *prio, struct tund_pace_group *pace,
				       const struct tund_fastpath_hooks *hooks)
{
	struct tund_fastpath *fp = calloc(1, sizeof(*fp));
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
	int err;

	if (!fp)
		return NULL;
	fp->prio_group = prio;
	tund_pace_init(&fp->pace, pace);
	fp->deliver = deliver;
	fp->ctx = ctx;
	fp->watched_fd = -1;
	if (hooks)
		fp->hooks = *hooks;
	fp->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	fp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_rwlock_init(&fp->lock, NULL);
	fp->paths = g_hash_table_new(NULL, NULL);
	/* GRO on: every socket of ours asks for it (open_beside), and a
	 * buffer without the control message is one datagram anyway. */
	if (tund_udp_rx_init(&fp->rx, -1, false) == 0) {
		fp->rx.gro = true;
		fp->max = fp->rx.n_msgs * TUND_UDP_GSO_MAX_SEGS;
		fp->got = calloc(fp->max, sizeof(*fp->got));
		fp->dg = calloc(fp->max, sizeof(*fp->dg));
	}
	if (fp->epoll_fd < 0 || fp->stop_fd < 0 || !fp->got || !fp->dg ||
	    epoll_ctl(fp->epoll_fd, EPOLL_CTL_ADD, fp->stop_fd, &ev) < 0)
		goto fail;
	ev.data.u32 = WAKE_ID;
	if (fp->hooks.after && fp->hooks.wake_fd >= 0 &&
	    epoll_ctl(fp->epoll_fd, EPOLL_CTL_ADD, fp->hooks.wake_fd, &ev) < 0)
		goto fail;
	if ((err = pthread_create(&fp->thread, NULL, receive_loop, fp))) {
		errno = err;
		goto fail;
	}
	pthread_setname_np(fp->thread, "tund-fastpath");
	return fp;
fail:
	err = errno;
	if (fp->epoll_fd >= 0)
		close(fp->epoll_fd);
	if (fp->stop_fd >= 0)
		close(fp->stop_fd);
	g_hash_table_unref(fp->paths);
	free(fp->got);
	free(fp->dg);
	tund_udp_rx_free(&fp->rx);
	free(fp);
	errno = err;
	return NULL;
}

void tund_fastpath_free(struct tund_fastpath *fp)
{
	GHashTableIter it;
	gpointer value;

	if (!fp)
		return;
	eventfd_write(fp->stop_fd, 1);
	pthread_join(fp->thread, NULL);
	g_hash_table_iter_init(&it, fp->paths);
	while (g_hash_table_iter_next(&it, NULL, &value))
		close_socket(fp, value);
	g_hash_table_unref(fp->paths);
	pthread_rwlock_destroy(&fp->lock);
	close(fp->epoll_fd);
	close(fp->stop_fd);
	free(fp->got);
	free(fp->dg);
	tund_udp_rx_free(&fp->rx);
	free(fp);
}

int tund_fastpath_add(struct tund_fastpath *fp, uint32_t id, int nice_fd,
		      const struct sockaddr *remote, socklen_t remote_len, bool relayed,
		      const struct sockaddr *turn, socklen_t turn_len)
{
	struct fast_socket *s;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = id };
	int fd, ret;

	if (relayed) { /* the remote is the TURN server */
		turn = remote;
		turn_len = remote_len;
	}
	if (!turn)
		turn_len = 0;
	if (id == 0 || remote_len > sizeof(s->remote) || turn_len > sizeof(s->turn) ||
	    (remote->sa_family != AF_INET && remote->sa_family != AF_INET6))
		return -EINVAL;
	/* The old socket leaves the group first, so ours becomes index 1. */
	tund_fastpath_remove(fp, id);
	fd = open_beside(nice_fd, relayed, turn_len > 0);
	if (fd < 0)
		return fd;
	s = g_new0(struct fast_socket, 1);
	s->fd = fd;
	tund_udp_tx_init(&s->tx, fd, !relayed);
	memcpy(&s->remote, remote, remote_len);
	s->remote_len = remote_len;
	s->relayed = relayed;
	if (turn_len)
		memcpy(&s->turn, turn, turn_len);
	s->turn_len = turn_len;
	atomic_init(&s->channel, 0);
	if (epoll_ctl(fp->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		close(fd);
		g_free(s);
		return ret;
	}
	pthread_rwlock_wrlock(&fp->lock);
	s->gen = ++fp->next_gen;
	g_hash_table_insert(fp->paths, GUINT_TO_POINTER(id), s);
	pthread_rwlock_unlock(&fp->lock);
	return 0;
}

void tund_fastpath_remove(struct tund_fastpath *fp, uint32_t id)
{
	struct fast_socket *s;

	pthread_rwlock_wrlock(&fp->lock);
	s = g_hash_table_lookup(fp->paths, GUINT_TO_POINTER(id));
	if (s) {
		g_hash_table_remove(fp->paths, GUINT_TO_POINTER(id));
		close_socket(fp, s);
	}
	pthread_rwlock_unlock(&fp->lock);
}

/* Path id's socket if it can send now (a relayed one once its channel is
 * learnt: *channel), under the read lock the caller then drops. */
static struct fast_socket *sender(struct tund_fastpath *fp, uint32_t id, uint16_t *channel)
{
	struct fast_socket *s;

	pthread_rwlock_rdlock(&fp->lock);
	s = g_hash_table_lookup(fp->paths, GUINT_TO_POINTER(id));
	*channel = s ? (uint16_t)atomic_load_explicit(&s->channel, memory_order_relaxed) : 0;
	if (s && s->relayed && !*channel)
		s = NULL;
	return s;
}

bool tund_fastpath_send(struct tund_fastpath *fp, uint32_t id, const uint8_t *buf, size_t len)
{
	uint16_t channel;
	struct fast_socket *s = sender(fp, id, &channel);
	uint8_t hdr[TUND_CHANNELDATA_HEADER_LEN];
	struct iovec iov[2];
	struct msghdr m = { .msg_iov = iov };

	if (s && (!s->relayed || tund_channeldata_header(channel, len, hdr))) {
		m.msg_name = &s->remote;
		m.msg_namelen = s->remote_len;
		if (s->relayed)
			iov[m.msg_iovlen++] = (struct iovec){ hdr, sizeof(hdr) };
		iov[m.msg_iovlen++] = (struct iovec){ (void *)buf, len };
		if (sendmsg(s->fd, &m, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS)
			log_debug("fast path %u: send: %s", id, g_strerror(errno));
	}
	pthread_rwlock_unlock(&fp->lock);
	return s != NULL;
}

bool tund_fastpath_send_batch(struct tund_fastpath *fp, uint32_t id, struct tund_udp_datagram *d,
			      size_t n)
{
	uint16_t channel;
	struct fast_socket *s = sender(fp, id, &channel);

	if (s) {
		size_t kept = 0;

		for (size_t i = 0; i < n; i++) {
			d[kept] = d[i];
			d[kept].addr = (const struct sockaddr *)&s->remote;
			d[kept].addr_len = s->remote_len;
			d[kept].prefix_len = 0;
			/* Each datagram its own header, so GSO segments stay
			 * whole ChannelData messages. */
			if (s->relayed) {
				if (!tund_channeldata_header(channel, d[i].len, d[kept].prefix))
					continue;
				d[kept].prefix_len = TUND_CHANNELDATA_HEADER_LEN;
			}
			kept++;
		}
		tund_udp_send_batch(&s->tx, d, kept);
	}
	pthread_rwlock_unlock(&fp->lock);
	return s != NULL;
}

bool tund_fastpath_state(struct tund_fastpath *fp, uint32_t id, bool *relayed)
{
	struct fast_socket *s;

	pthread_rwlock_rdlock(&fp->lock);
	s = g_hash_table_lookup(fp->paths, GUINT_TO_POINTER(id));
	*relayed = s && s->relayed;
	bool sending = s && (!s->relayed || atomic_load(&s->channel));
	pthread_rwlock_unlock(&fp->lock);
	return sending;
}

void tund_fastpath_get_stats(struct tund_fastpath *fp, struct tund_fastpath_stats *out)
{
	GHashTableIter it;
	gpointer value;

	out->relayed = 0;
	pthread_rwlock_rdlock(&fp->lock);
	out->paths = g_hash_table_size(fp->paths);
	g_hash_table_iter_init(&it, fp->paths);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct fast_socket *s = value;

		out->relayed += s->relayed && atomic_load(&s->channel);
	}
	pthread_rwlock_unlock(&fp->lock);
	out->received = atomic_load(&fp->received);
	out->foreign = atomic_load(&fp->foreign);
	out->malformed = atomic_load(&fp->malformed);
}
