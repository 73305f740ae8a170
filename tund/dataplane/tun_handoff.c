// SPDX-License-Identifier: MIT
#include "tund/dataplane/tun_handoff.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

int tund_tun_handoff_init(struct tund_tun_handoff *h, bool enabled)
{
	h->enabled = enabled;
	atomic_init(&h->reader, TUND_TUN_READER_TUN_THREAD);
	atomic_init(&h->last_heavy_ns, 0);
	atomic_init(&h->last_rx, TUND_TUN_READER_UDP_THREAD);
	atomic_init(&h->rx_streak, 0);
	atomic_init(&h->to_light, 0);
	atomic_init(&h->to_tun, 0);
	for (int i = 0; i < TUND_TUN_READERS; i++) {
		h->wake[i] = -1;
		atomic_init(&h->cannot[i], false);
	}
	if (!enabled)
		return 0;
	for (int i = 0; i < TUND_TUN_READERS; i++) {
		h->wake[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (h->wake[i] < 0) {
			int err = -errno;

			tund_tun_handoff_destroy(h);
			return err;
		}
	}
	return 0;
}

void tund_tun_handoff_destroy(struct tund_tun_handoff *h)
{
	for (int i = 0; i < TUND_TUN_READERS; i++) {
		if (h->wake[i] >= 0)
			close(h->wake[i]);
		h->wake[i] = -1;
	}
	h->enabled = false;
}

bool tund_tun_handoff_heavy(size_t n)
{
	/* A TUN super packet counts as the packets it splits into. */
	return n >= TUND_HANDOFF_HEAVY_PACKETS;
}

bool tund_tun_handoff_quiet(uint64_t last_heavy_ns, uint64_t now_ns)
{
	/* Signed: another thread may have stamped a heavy batch after the
	 * caller read its clock. */
	return (int64_t)(now_ns - last_heavy_ns) >= (int64_t)TUND_HANDOFF_QUIET_MS * 1000000;
}

void tund_tun_handoff_batch(struct tund_tun_handoff *h, size_t n, uint64_t now_ns)
{
	if (h->enabled && tund_tun_handoff_heavy(n))
		atomic_store_explicit(&h->last_heavy_ns, now_ns, memory_order_relaxed);
}

void tund_tun_handoff_received(struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	/* Two receiving threads may race here; a streak off by one only
	 * moves the TUN a batch sooner or later. */
	if (atomic_load_explicit(&h->last_rx, memory_order_relaxed) == (int)who) {
		if (atomic_load_explicit(&h->rx_streak, memory_order_relaxed) < 1000)
			atomic_fetch_add_explicit(&h->rx_streak, 1, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&h->last_rx, (int)who, memory_order_relaxed);
	atomic_store_explicit(&h->rx_streak, 1, memory_order_relaxed);
}

enum tund_tun_reader tund_tun_handoff_light_reader(struct tund_tun_handoff *h)
{
	enum tund_tun_reader r =
		(enum tund_tun_reader)atomic_load_explicit(&h->last_rx, memory_order_relaxed);

	if (!atomic_load(&h->cannot[r]))
		return r;
	r = r == TUND_TUN_READER_UDP_THREAD ? TUND_TUN_READER_FAST_THREAD :
					      TUND_TUN_READER_UDP_THREAD;
	/* Neither can: the TUN thread keeps it. */
	return atomic_load(&h->cannot[r]) ? TUND_TUN_READER_TUN_THREAD : r;
}

void tund_tun_handoff_retire(struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	if (!h->enabled || who == TUND_TUN_READER_TUN_THREAD)
		return;
	atomic_store(&h->cannot[who], true);
	if (tund_tun_handoff_mine(h, who))
		tund_tun_handoff_give(h, TUND_TUN_READER_TUN_THREAD);
}

bool tund_tun_handoff_should_move(struct tund_tun_handoff *h, enum tund_tun_reader who,
				  enum tund_tun_reader *to)
{
	enum tund_tun_reader last = tund_tun_handoff_light_reader(h);

	if (last == who || atomic_load(&h->cannot[last]) ||
	    atomic_load_explicit(&h->rx_streak, memory_order_relaxed) < TUND_HANDOFF_MOVE_AFTER)
		return false;
	*to = last;
	return true;
}

bool tund_tun_handoff_mine(struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	return tund_tun_handoff_reader(h) == who;
}

enum tund_tun_reader tund_tun_handoff_reader(struct tund_tun_handoff *h)
{
	if (!h->enabled)
		return TUND_TUN_READER_TUN_THREAD;
	return (enum tund_tun_reader)atomic_load(&h->reader);
}

void tund_tun_handoff_give(struct tund_tun_handoff *h, enum tund_tun_reader to)
{
	if (!h->enabled)
		return;
	/* seq_cst: the giver's last use of the reader's buffers happens before
	 * the taker's first. */
	atomic_store(&h->reader, (int)to);
	if (to == TUND_TUN_READER_TUN_THREAD)
		atomic_fetch_add_explicit(&h->to_tun, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&h->to_light, 1, memory_order_relaxed);
	eventfd_write(h->wake[to], 1);
}

int tund_tun_handoff_fd(const struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	return h->wake[who];
}

void tund_tun_handoff_woken(const struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	eventfd_t v;

	if (h->wake[who] >= 0)
		(void)eventfd_read(h->wake[who], &v);
}
