/* SPDX-License-Identifier: MIT */
/* The crypto worker pool: items (slices of a batch to seal or open) are
 * worked on by any of the pool's threads in parallel, and released in the
 * order they were submitted to their queue. A queue belongs to one producer
 * thread (the TUN thread's sends, the UDP thread's receives); its order is
 * that thread's order of packets, so each peer's packets keep theirs, as
 * WireGuard's per-peer queues do. Counters are assigned before submit (in
 * order, under the device lock) and a release is where the receiver's replay
 * window is applied, after the open (overlay/send.c, overlay/receive.c).
 *
 * The producer works too: tund_pool_drain takes its own queue's pending
 * items while it waits, so a batch is worked by the producer and the
 * workers together. Release callbacks of one queue never run concurrently
 * and run in submission order, on whichever thread completed the prefix. */
#ifndef TUND_OVERLAY_POOL_H
#define TUND_OVERLAY_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Items a queue may hold unreleased; submit waits beyond. */
#define TUND_POOL_DEPTH 16
/* Most worker threads. */
#define TUND_POOL_MAX_WORKERS 64

struct tund_pool;
struct tund_pool_queue;

/* Works on item (seal, open): any thread, in parallel with other items. */
typedef void (*tund_pool_work_fn)(void *item);
/* item's turn, in submission order; worked is false when the pool stopped
 * before it was worked (drop it). */
typedef void (*tund_pool_release_fn)(void *item, bool worked);

/* workers threads (1..TUND_POOL_MAX_WORKERS). 0 or -errno. */
int tund_pool_new(unsigned workers, struct tund_pool **out);
unsigned tund_pool_workers(const struct tund_pool *pool);
/* Stops: items not yet worked are released with worked false, in order,
 * items being worked finish first; drains return, submits fail. */
void tund_pool_stop(struct tund_pool *pool);
/* Stops if not stopped, joins the workers, frees. No producer may be inside
 * a call on it, and its queues must be freed first. NULL: nothing. */
void tund_pool_free(struct tund_pool *pool);

int tund_pool_queue_new(struct tund_pool *pool, struct tund_pool_queue **out);
void tund_pool_queue_free(struct tund_pool_queue *q);

/* Puts item at q's tail (waits while TUND_POOL_DEPTH are unreleased). 0, or
 * -ESHUTDOWN when the pool stopped (the item was not taken). */
int tund_pool_submit(struct tund_pool_queue *q, void *item, tund_pool_work_fn work,
		     tund_pool_release_fn release);
/* Returns when every item submitted to q is released (or the pool stopped
 * and they were released as dropped), working q's pending items meanwhile. */
void tund_pool_drain(struct tund_pool_queue *q);

/* Items submitted since the pool started (slices of batches). */
uint64_t tund_pool_items(struct tund_pool *pool);
/* Tests: while held, no thread starts an item (drain waits instead). */
void tund_pool_hold(struct tund_pool *pool, bool hold);
/* Items submitted and not yet started. */
size_t tund_pool_pending(struct tund_pool *pool);

/* "auto" for workers: 0 (off) below TUND_POOL_AUTO_MIN_CPUS online CPUs,
 * else one fewer than the CPUs, at most 8 (the packet threads are busy too). */
#define TUND_POOL_AUTO_MIN_CPUS 4
unsigned tund_pool_auto_workers(long cpus);
/* Parses "auto", "off" or a count 0..TUND_POOL_MAX_WORKERS; *workers gets
 * the count, -1 for auto. False for anything else. */
bool tund_pool_workers_parse(const char *s, int *workers);

#endif
