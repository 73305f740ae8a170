// SPDX-License-Identifier: MIT
/* One mutex guards the pool: an item is a slice of up to 16 packets (tens
 * of microseconds of AEAD), so the lock is taken a few times per slice and
 * is never the bottleneck. Pending items wait in one FIFO; each queue is a
 * ring of slots from head (next to release) to tail (next to submit). */
#include "overlay/pool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum slot_state { SLOT_PENDING, SLOT_RUNNING, SLOT_DONE, SLOT_DROPPED };

struct slot {
	void *item;
	tund_pool_work_fn work;
	tund_pool_release_fn release;
	enum slot_state state;
	struct slot *next_pending;
	struct tund_pool_queue *q;
};

struct tund_pool_queue {
	struct tund_pool *pool;
	struct slot slots[TUND_POOL_DEPTH];
	uint64_t head, tail;
	bool releasing; /* a thread is running this queue's releases */
	struct tund_pool_queue *next;
};

struct tund_pool {
	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* workers: an item is pending, or stop */
	pthread_cond_t done_cv; /* producers: a release happened, or stop */
	struct slot *pend_head, *pend_tail;
	size_t n_pending, n_running;
	uint64_t items; /* submitted, ever */
	bool stopping, held, joined;
	struct tund_pool_queue *queues;
	unsigned n_workers;
	pthread_t workers[TUND_POOL_MAX_WORKERS];
};

/* Under lock: releases q's completed prefix, in order, one releaser at a
 * time; the callbacks run unlocked. */
static void release_ready(struct tund_pool_queue *q)
{
	struct tund_pool *pool = q->pool;

	if (q->releasing)
		return; /* that thread re-checks the head after each release */
	q->releasing = true;
	while (q->head != q->tail) {
		struct slot *s = &q->slots[q->head % TUND_POOL_DEPTH];

		if (s->state != SLOT_DONE && s->state != SLOT_DROPPED)
			break;
		pthread_mutex_unlock(&pool->lock);
		s->release(s->item, s->state == SLOT_DONE);
		pthread_mutex_lock(&pool->lock);
		q->head++;
		pthread_cond_broadcast(&pool->done_cv);
	}
	q->releasing = false;
}

/* Under lock: the first pending item (of q only, when q is set). */
static struct slot *take(struct tund_pool *pool, const struct tund_pool_queue *q)
{
	struct slot **pp = &pool->pend_head, *prev = NULL;

	if (pool->held || pool->stopping)
		return NULL;
	for (; *pp; prev = *pp, pp = &(*pp)->next_pending) {
		struct slot *s = *pp;

		if (q && s->q != q)
			continue;
		*pp = s->next_pending;
		if (pool->pend_tail == s)
			pool->pend_tail = prev;
		s->next_pending = NULL;
		s->state = SLOT_RUNNING;
		pool->n_pending--;
		pool->n_running++;
		return s;
	}
	return NULL;
}

/* Under lock, returns under lock: works s unlocked, then releases. */
static void run(struct tund_pool *pool, struct slot *s)
{
	pthread_mutex_unlock(&pool->lock);
	s->work(s->item);
	pthread_mutex_lock(&pool->lock);
	s->state = SLOT_DONE;
	pool->n_running--;
	release_ready(s->q);
	if (pool->stopping)
		pthread_cond_broadcast(&pool->done_cv); /* stop waits for the running */
}

static void *worker(void *arg)
{
	struct tund_pool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	while (!pool->stopping) {
		struct slot *s = take(pool, NULL);

		if (s)
			run(pool, s);
		else
			pthread_cond_wait(&pool->work_cv, &pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int tund_pool_new(unsigned workers, struct tund_pool **out)
{
	struct tund_pool *pool;
	int ret = 0;

	if (workers < 1 || workers > TUND_POOL_MAX_WORKERS)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work_cv, NULL);
	pthread_cond_init(&pool->done_cv, NULL);
	for (; pool->n_workers < workers; pool->n_workers++) {
		ret = -pthread_create(&pool->workers[pool->n_workers], NULL, worker, pool);
		if (ret)
			break;
		pthread_setname_np(pool->workers[pool->n_workers], "tund-crypto");
	}
	if (ret) {
		tund_pool_free(pool);
		return ret;
	}
	*out = pool;
	return 0;
}

unsigned tund_pool_workers(const struct tund_pool *pool)
{
	return pool->n_workers;
}

void tund_pool_stop(struct tund_pool *pool)
{
	struct slot *s;

	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	while ((s = pool->pend_head)) {
		pool->pend_head = s->next_pending;
		s->next_pending = NULL;
		s->state = SLOT_DROPPED;
	}
	pool->pend_tail = NULL;
	pool->n_pending = 0;
	pthread_cond_broadcast(&pool->work_cv);
	while (pool->n_running)
		pthread_cond_wait(&pool->done_cv, &pool->lock);
	for (struct tund_pool_queue *q = pool->queues; q; q = q->next)
		release_ready(q);
	pthread_cond_broadcast(&pool->done_cv);
	pthread_mutex_unlock(&pool->lock);
}

void tund_pool_free(struct tund_pool *pool)
{
	if (!pool)
		return;
	tund_pool_stop(pool);
	for (unsigned i = 0; i < pool->n_workers; i++)
		pthread_join(pool->workers[i], NULL);
	pthread_cond_destroy(&pool->work_cv);
	pthread_cond_destroy(&pool->done_cv);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

int tund_pool_queue_new(struct tund_pool *pool, struct tund_pool_queue **out)
{
	struct tund_pool_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->pool = pool;
	pthread_mutex_lock(&pool->lock);
	q->next = pool->queues;
	pool->queues = q;
	pthread_mutex_unlock(&pool->lock);
	*out = q;
	return 0;
}

void tund_pool_queue_free(struct tund_pool_queue *q)
{
	struct tund_pool *pool;

	if (!q)
		return;
	pool = q->pool;
	tund_pool_drain(q);
	pthread_mutex_lock(&pool->lock);
	for (struct tund_pool_queue **pp = &pool->queues; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	pthread_mutex_unlock(&pool->lock);
	free(q);
}

int tund_pool_submit(struct tund_pool_queue *q, void *item, tund_pool_work_fn work,
		     tund_pool_release_fn release)
{
	struct tund_pool *pool = q->pool;
	struct slot *s;

	pthread_mutex_lock(&pool->lock);
	while (!pool->stopping && q->tail - q->head == TUND_POOL_DEPTH)
		pthread_cond_wait(&pool->done_cv, &pool->lock);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->lock);
		return -ESHUTDOWN;
	}
	s = &q->slots[q->tail % TUND_POOL_DEPTH];
	*s = (struct slot){ .item = item, .work = work, .release = release,
			    .state = SLOT_PENDING, .q = q };
	q->tail++;
	if (pool->pend_tail)
		pool->pend_tail->next_pending = s;
	else
		pool->pend_head = s;
	pool->pend_tail = s;
	pool->n_pending++;
	pool->items++;
	pthread_cond_signal(&pool->work_cv);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void tund_pool_drain(struct tund_pool_queue *q)
{
	struct tund_pool *pool = q->pool;

	pthread_mutex_lock(&pool->lock);
	while (q->head != q->tail) {
		struct slot *s = take(pool, q);

		if (s)
			run(pool, s);
		else
			pthread_cond_wait(&pool->done_cv, &pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
}

void tund_pool_hold(struct tund_pool *pool, bool hold)
{
	pthread_mutex_lock(&pool->lock);
	pool->held = hold;
	pthread_cond_broadcast(&pool->work_cv);
	pthread_cond_broadcast(&pool->done_cv);
	pthread_mutex_unlock(&pool->lock);
}

uint64_t tund_pool_items(struct tund_pool *pool)
{
	uint64_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->items;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

size_t tund_pool_pending(struct tund_pool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->n_pending;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

unsigned tund_pool_auto_workers(long cpus)
{
	if (cpus < TUND_POOL_AUTO_MIN_CPUS)
		return 0;
	return cpus - 1 > 8 ? 8 : (unsigned)(cpus - 1);
}

bool tund_pool_workers_parse(const char *s, int *workers)
{
	char *end;
	long v;

	if (!strcmp(s, "auto")) {
		*workers = -1;
		return true;
	}
	if (!strcmp(s, "off")) {
		*workers = 0;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > TUND_POOL_MAX_WORKERS)
		return false;
	*workers = (int)v;
	return true;
}
