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
	atomic_init(&h->to_udp, 0);
	atomic_init(&h->to_tun, 0);
	h->wake_tun = h->wake_udp = -1;
	if (!enabled)
		return 0;
	h->wake_tun = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->wake_udp = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_tun < 0 || h->wake_udp < 0) {
		int err = -errno;

		tund_tun_handoff_destroy(h);
		return err;
	}
	return 0;
}

void tund_tun_handoff_destroy(struct tund_tun_handoff *h)
{
	if (h->wake_tun >= 0)
		close(h->wake_tun);
	if (h->wake_udp >= 0)
		close(h->wake_udp);
	h->wake_tun = h->wake_udp = -1;
	h->enabled = false;
}

bool tund_tun_handoff_heavy(size_t n, size_t bytes)
{
	(void)bytes; /* a TUN super packet counts as the packets it splits into */
	return n >= TUND_HANDOFF_HEAVY_PACKETS;
}

bool tund_tun_handoff_quiet(uint64_t last_heavy_ns, uint64_t now_ns)
{
	return now_ns - last_heavy_ns >= (uint64_t)TUND_HANDOFF_QUIET_MS * 1000000;
}

void tund_tun_handoff_batch(struct tund_tun_handoff *h, size_t n, size_t bytes, uint64_t now_ns)
{
	if (h->enabled && tund_tun_handoff_heavy(n, bytes))
		atomic_store_explicit(&h->last_heavy_ns, now_ns, memory_order_relaxed);
}

bool tund_tun_handoff_mine(struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	if (!h->enabled)
		return who == TUND_TUN_READER_TUN_THREAD;
	return atomic_load(&h->reader) == (int)who;
}

void tund_tun_handoff_give(struct tund_tun_handoff *h, enum tund_tun_reader to)
{
	if (!h->enabled)
		return;
	/* seq_cst: the giver's last use of the reader's buffers happens before
	 * the taker's first. */
	atomic_store(&h->reader, (int)to);
	if (to == TUND_TUN_READER_UDP_THREAD)
		atomic_fetch_add_explicit(&h->to_udp, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&h->to_tun, 1, memory_order_relaxed);
	eventfd_write(to == TUND_TUN_READER_UDP_THREAD ? h->wake_udp : h->wake_tun, 1);
}

int tund_tun_handoff_fd(const struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	return who == TUND_TUN_READER_UDP_THREAD ? h->wake_udp : h->wake_tun;
}

void tund_tun_handoff_woken(const struct tund_tun_handoff *h, enum tund_tun_reader who)
{
	eventfd_t v;
	int fd = tund_tun_handoff_fd(h, who);

	if (fd >= 0)
		(void)eventfd_read(fd, &v);
}
