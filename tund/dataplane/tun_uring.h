/* SPDX-License-Identifier: MIT */
/* Reading the TUN device through io_uring: one multishot read stays armed,
 * so the kernel reads every queued packet into a ring of provided buffers
 * while the thread is inside one io_uring_enter, instead of one read()
 * system call per packet. System calls are most of the cost of a small
 * packet (on this project's VMs each one traps to the hypervisor). Needs
 * Linux 6.7 (IORING_OP_READ_MULTISHOT); where it is missing or refused
 * (io_uring_disabled, a seccomp filter), the caller keeps read(). */
#ifndef TUND_TUN_URING_H
#define TUND_TUN_URING_H

#include <stddef.h>
#include <stdint.h>

struct tund_tun_uring;

typedef void (*tund_tun_uring_fn)(void *ctx, const uint8_t *buf, size_t len);

/* Arms reads of tun_fd into buffers of buf_size bytes, and a wake-up when
 * stop_fd becomes readable. 0 or -errno (the reader cannot be used). */
int tund_tun_uring_open(struct tund_tun_uring **out, int tun_fd, int stop_fd, size_t buf_size);
void tund_tun_uring_close(struct tund_tun_uring *u);

/* Hands up to max completed reads to fn (each buffer is reused after fn
 * returns). Returns how many, -ESHUTDOWN once stop_fd was readable, or
 * -errno of a failed read (the read is armed again). */
int tund_tun_uring_reap(struct tund_tun_uring *u, size_t max, tund_tun_uring_fn fn, void *ctx);

/* Runs the reads the kernel has ready and waits up to timeout_ms (< 0:
 * without a bound) until one has completed. 1: something to reap, 0: timed
 * out, -errno. */
int tund_tun_uring_wait(struct tund_tun_uring *u, int timeout_ms);

#endif
