// SPDX-License-Identifier: MIT
#include "tund/dataplane/tun_uring.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux 6.7; Debian 12's headers predate it. */
#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49
#endif

enum {
	SQ_ENTRIES = 4,
	CQ_ENTRIES = 256, /* more than buffers: a full queue would end the read */
	N_BUFS = 64,	  /* a power of two, as the buffer ring wants */
	BUF_GROUP = 0,
	TAG_READ = 1,
	TAG_STOP = 2,
};

struct tund_tun_uring {
	int ring_fd, tun_fd, stop_fd;
	void *sq_map, *cq_map;
	size_t sq_map_len, cq_map_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	unsigned *sq_tail, *sq_array, sq_mask;
	unsigned *cq_head, *cq_tail, cq_mask;
	struct io_uring_cqe *cqes;
	struct io_uring_buf_ring *bufring; /* N_BUFS entries, shared with the kernel */
	size_t bufring_len;
	uint8_t *bufs;
	size_t buf_size;
	unsigned to_submit;
	bool read_armed, stopped, bufs_registered;
};

static int uring_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int uring_enter(int fd, unsigned submit, unsigned wait, unsigned flags, void *arg,
		       size_t argsz)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, arg, argsz);
}

static int uring_register(int fd, unsigned op, void *arg, unsigned n)
{
	return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

static bool opcode_supported(int ring_fd, unsigned op)
{
	size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *probe = calloc(1, len);
	bool ok;

	if (!probe)
		return false;
	ok = uring_register(ring_fd, IORING_REGISTER_PROBE, probe, 256) == 0 &&
	     probe->last_op >= op && (probe->ops[op].flags & IO_URING_OP_SUPPORTED);
	free(probe);
	return ok;
}

static void queue_sqe(struct tund_tun_uring *u, const struct io_uring_sqe *sqe)
{
	unsigned tail = *u->sq_tail, idx = tail & u->sq_mask;

	u->sqes[idx] = *sqe;
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	u->to_submit++;
}

static struct io_uring_sqe sqe_of(uint8_t opcode, int fd, uint64_t tag)
{
	return (struct io_uring_sqe){ .opcode = opcode, .fd = fd, .user_data = tag };
}

static void arm_read(struct tund_tun_uring *u)
{
	struct io_uring_sqe sqe = sqe_of(IORING_OP_READ_MULTISHOT, u->tun_fd, TAG_READ);

	sqe.flags = IOSQE_BUFFER_SELECT;
	sqe.buf_group = BUF_GROUP;
	queue_sqe(u, &sqe);
	u->read_armed = true;
}

static void arm_stop(struct tund_tun_uring *u)
{
	struct io_uring_sqe sqe = sqe_of(IORING_OP_POLL_ADD, u->stop_fd, TAG_STOP);

	sqe.poll32_events = POLLIN;
	queue_sqe(u, &sqe);
}

/* Hands buffer bid back to the kernel. */
static void recycle(struct tund_tun_uring *u, unsigned bid)
{
	unsigned short tail = u->bufring->tail;
	struct io_uring_buf *b = &u->bufring->bufs[tail & (N_BUFS - 1)];

	b->addr = (uint64_t)(uintptr_t)(u->bufs + (size_t)bid * u->buf_size);
	b->len = (uint32_t)u->buf_size;
	b->bid = (uint16_t)bid;
	__atomic_store_n(&u->bufring->tail, (unsigned short)(tail + 1), __ATOMIC_RELEASE);
}

static int map_rings(struct tund_tun_uring *u, const struct io_uring_params *p)
{
	u->sq_map_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	u->cq_map_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
	if (p->features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_map_len > u->sq_map_len)
			u->sq_map_len = u->cq_map_len;
		u->cq_map_len = 0;
	}
	u->sq_map = mmap(NULL, u->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 u->ring_fd, IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED)
		return -errno;
	u->cq_map = u->sq_map;
	if (u->cq_map_len) {
		u->cq_map = mmap(NULL, u->cq_map_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, u->ring_fd, IORING_OFF_CQ_RING);
		if (u->cq_map == MAP_FAILED)
			return -errno;
	}
	u->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       u->ring_fd, IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		return -errno;
	u->sq_tail = (unsigned *)((uint8_t *)u->sq_map + p->sq_off.tail);
	u->sq_mask = *(unsigned *)((uint8_t *)u->sq_map + p->sq_off.ring_mask);
	u->sq_array = (unsigned *)((uint8_t *)u->sq_map + p->sq_off.array);
	u->cq_head = (unsigned *)((uint8_t *)u->cq_map + p->cq_off.head);
	u->cq_tail = (unsigned *)((uint8_t *)u->cq_map + p->cq_off.tail);
	u->cq_mask = *(unsigned *)((uint8_t *)u->cq_map + p->cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)((uint8_t *)u->cq_map + p->cq_off.cqes);
	return 0;
}

static int register_buffers(struct tund_tun_uring *u)
{
	struct io_uring_buf_reg reg = { 0 };

	u->bufring_len = N_BUFS * sizeof(struct io_uring_buf);
	u->bufring = mmap(NULL, u->bufring_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->bufring == MAP_FAILED) {
		u->bufring = NULL;
		return -errno;
	}
	u->bufs = malloc((size_t)N_BUFS * u->buf_size);
	if (!u->bufs)
		return -ENOMEM;
	reg.ring_addr = (uint64_t)(uintptr_t)u->bufring;
	reg.ring_entries = N_BUFS;
	reg.bgid = BUF_GROUP;
	if (uring_register(u->ring_fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
		return -errno;
	u->bufs_registered = true;
	for (unsigned i = 0; i < N_BUFS; i++)
		recycle(u, i);
	return 0;
}

int tund_tun_uring_open(struct tund_tun_uring **out, int tun_fd, int stop_fd, size_t buf_size)
{
	struct io_uring_params p = { 0 };
	struct tund_tun_uring *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	u->tun_fd = tun_fd;
	u->stop_fd = stop_fd;
	u->buf_size = buf_size;
	u->sq_map = u->cq_map = MAP_FAILED;
	u->sqes = MAP_FAILED;
	/* Reads run only when this thread enters the kernel for them: a
	 * batch at a time, never as an interruption of the encryption. */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = CQ_ENTRIES;
	u->ring_fd = uring_setup(SQ_ENTRIES, &p);
	if (u->ring_fd < 0) {
		ret = -errno;
		free(u);
		return ret;
	}
	if (!opcode_supported(u->ring_fd, IORING_OP_READ_MULTISHOT)) {
		ret = -EOPNOTSUPP;
		goto fail;
	}
	if ((ret = map_rings(u, &p)) || (ret = register_buffers(u)))
		goto fail;
	arm_stop(u);
	arm_read(u);
	*out = u;
	return 0;
fail:
	tund_tun_uring_close(u);
	return ret;
}

void tund_tun_uring_close(struct tund_tun_uring *u)
{
	if (!u)
		return;
	/* No buffers for the kernel from here on, so that a read the ring's
	 * teardown might still run cannot write into freed memory; closing
	 * the ring then cancels the read. */
	if (u->bufs_registered) {
		struct io_uring_buf_reg reg = { .bgid = BUF_GROUP };

		(void)uring_register(u->ring_fd, IORING_UNREGISTER_PBUF_RING, &reg, 1);
	}
	close(u->ring_fd);
	if (u->sqes != MAP_FAILED)
		munmap(u->sqes, u->sqes_len);
	if (u->cq_map != MAP_FAILED && u->cq_map != u->sq_map)
		munmap(u->cq_map, u->cq_map_len);
	if (u->sq_map != MAP_FAILED)
		munmap(u->sq_map, u->sq_map_len);
	if (u->bufring)
		munmap(u->bufring, u->bufring_len);
	free(u->bufs);
	free(u);
}

int tund_tun_uring_reap(struct tund_tun_uring *u, size_t max, tund_tun_uring_fn fn, void *ctx)
{
	unsigned head = *u->cq_head, tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
	int n = 0, err = 0;

	while (head != tail && (size_t)n < max) {
		const struct io_uring_cqe *cqe = &u->cqes[head & u->cq_mask];

		if (cqe->user_data == TAG_STOP) {
			u->stopped = true;
		} else if (cqe->user_data == TAG_READ) {
			if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
				unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

				if (bid < N_BUFS) {
					fn(ctx, u->bufs + (size_t)bid * u->buf_size,
					   (size_t)cqe->res);
					recycle(u, bid);
					n++;
				}
			} else if (cqe->res < 0 && cqe->res != -ENOBUFS) {
				err = cqe->res;
			}
			/* ENOBUFS (every buffer was full) or an error end the
			 * multishot read: the next wait arms it again. */
			if (!(cqe->flags & IORING_CQE_F_MORE))
				u->read_armed = false;
		}
		head++;
	}
	__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
	if (u->stopped)
		return -ESHUTDOWN;
	return n ? n : err;
}

int tund_tun_uring_wait(struct tund_tun_uring *u, int timeout_ms)
{
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
					.tv_nsec = (long long)(timeout_ms % 1000) * 1000000 };
	struct io_uring_getevents_arg arg = { .ts = timeout_ms >= 0 ? (uint64_t)(uintptr_t)&ts : 0 };
	int r;

	if (u->stopped)
		return -ESHUTDOWN;
	if (!u->read_armed)
		arm_read(u);
	r = uring_enter(u->ring_fd, u->to_submit, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			&arg, sizeof(arg));
	if (r >= 0)
		u->to_submit -= (unsigned)r < u->to_submit ? (unsigned)r : u->to_submit;
	else if (errno != ETIME && errno != EINTR && errno != EBUSY)
		return -errno;
	return *u->cq_head != __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
}
