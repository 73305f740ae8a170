// SPDX-License-Identifier: MIT
#include "tund/dataplane/priority.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tund/daemon/log.h"

enum { RT_PRIORITY = 1 };

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void tund_prio_group_init(struct tund_prio_group *g, bool enabled)
{
	memset(g, 0, sizeof(*g));
	g->enabled = enabled;
	pthread_mutex_init(&g->lock, NULL);
}

void tund_prio_group_destroy(struct tund_prio_group *g)
{
	pthread_mutex_destroy(&g->lock);
}

void tund_prio_group_status(struct tund_prio_group *g, struct tund_prio_status *out)
{
	pthread_mutex_lock(&g->lock);
	*out = (struct tund_prio_status){ .enabled = g->enabled && !g->refused,
					  .active = g->rt,
					  .raised = g->raised,
					  .lowered_idle = g->lowered_idle,
					  .lowered_backlog = g->lowered_backlog };
	pthread_mutex_unlock(&g->lock);
}

/* Sets every thread of g to policy; false when the kernel refused. */
static bool set_all(struct tund_prio_group *g, bool rt)
{
	struct sched_param sp = { .sched_priority = rt ? RT_PRIORITY : 0 };

	for (size_t i = 0; i < g->n_tids; i++) {
		if (sched_setscheduler(g->tids[i], rt ? SCHED_FIFO : SCHED_OTHER, &sp) == 0)
			continue;
		if (errno == ESRCH)
			continue; /* exiting */
		if (!rt)
			continue; /* lowering is always allowed; nothing to do */
		int err = errno;

		log_warn("packet threads stay at normal priority: real-time priority %d refused "
			 "(%s); allow it with LimitRTPRIO=1 or set [daemon] realtime = off",
			 RT_PRIORITY, strerror(err));
		g->refused = true;
		sp.sched_priority = 0;
		for (size_t j = 0; j < i; j++)
			sched_setscheduler(g->tids[j], SCHED_OTHER, &sp);
		return false;
	}
	return true;
}

static void carry_out(struct tund_prio_group *g, enum tund_prio_change c)
{
	if (c == TUND_PRIO_KEEP || !set_all(g, c == TUND_PRIO_RAISE))
		return;
	tund_prio_record(g, c);
}

void tund_prio_join(struct tund_prio *p, struct tund_prio_group *g)
{
	memset(p, 0, sizeof(*p));
	if (!g || !g->enabled)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->n_tids < TUND_PRIO_MAX_THREADS) {
		g->tids[g->n_tids++] = gettid();
		p->g = g;
		if (g->rt) {
			struct sched_param sp = { .sched_priority = RT_PRIORITY };

			sched_setscheduler(0, SCHED_FIFO, &sp);
		}
	}
	pthread_mutex_unlock(&g->lock);
}

void tund_prio_leave(struct tund_prio *p)
{
	struct tund_prio_group *g = p->g;
	pid_t me = gettid();

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n_tids; i++) {
		if (g->tids[i] == me) {
			g->tids[i] = g->tids[--g->n_tids];
			break;
		}
	}
	if (p->backlog_owner)
		g->backlogged = false;
	pthread_mutex_unlock(&g->lock);
	p->g = NULL;
}

enum tund_prio_change tund_prio_on_batch(struct tund_prio *p, size_t bytes, uint64_t now)
{
	struct tund_prio_group *g = p->g;

	if (!g || g->refused || !bytes)
		return TUND_PRIO_KEEP;
	if (!p->busy_since_ns)
		p->busy_since_ns = now;
	if (now - p->busy_since_ns > (uint64_t)TUND_PRIO_BACKLOG_MS * 1000000u) {
		if (p->backlog_owner)
			return TUND_PRIO_KEEP;
		p->backlog_owner = true;
		g->backlogged = true;
		return g->rt ? TUND_PRIO_LOWER : TUND_PRIO_KEEP;
	}
	if (bytes < TUND_PRIO_LOAD_BYTES || g->held)
		return TUND_PRIO_KEEP;
	g->last_bulk_ns = now;
	return !g->rt && !g->backlogged ? TUND_PRIO_RAISE : TUND_PRIO_KEEP;
}

int tund_prio_on_empty(struct tund_prio *p)
{
	struct tund_prio_group *g = p->g;

	p->busy_since_ns = 0;
	if (!g)
		return -1;
	if (p->backlog_owner) {
		p->backlog_owner = false;
		g->backlogged = false;
	}
	return g->rt ? TUND_PRIO_IDLE_MS : -1;
}

enum tund_prio_change tund_prio_on_idle(struct tund_prio *p, uint64_t now)
{
	struct tund_prio_group *g = p->g;

	if (!g || !g->rt)
		return TUND_PRIO_KEEP;
	return now - g->last_bulk_ns >= (uint64_t)TUND_PRIO_IDLE_MS * 1000000u ? TUND_PRIO_LOWER :
										   TUND_PRIO_KEEP;
}

enum tund_prio_change tund_prio_on_hold(struct tund_prio_group *g, bool hold)
{
	if (hold)
		g->held++;
	else if (g->held)
		g->held--;
	return g->held && g->rt ? TUND_PRIO_LOWER : TUND_PRIO_KEEP;
}

void tund_prio_hold(struct tund_prio_group *g, bool hold)
{
	if (!g->enabled)
		return;
	pthread_mutex_lock(&g->lock);
	carry_out(g, tund_prio_on_hold(g, hold));
	pthread_mutex_unlock(&g->lock);
}

void tund_prio_record(struct tund_prio_group *g, enum tund_prio_change c)
{
	if (c == TUND_PRIO_RAISE) {
		g->rt = true;
		g->raised++;
	} else if (c == TUND_PRIO_LOWER) {
		g->rt = false;
		if (g->backlogged)
			g->lowered_backlog++;
		else
			g->lowered_idle++;
	}
}

void tund_prio_batch(struct tund_prio *p, size_t bytes)
{
	if (!p->g || !bytes)
		return;
	pthread_mutex_lock(&p->g->lock);
	carry_out(p->g, tund_prio_on_batch(p, bytes, now_ns()));
	pthread_mutex_unlock(&p->g->lock);
}

int tund_prio_empty(struct tund_prio *p)
{
	int timeout;

	if (!p->g)
		return -1;
	pthread_mutex_lock(&p->g->lock);
	timeout = tund_prio_on_empty(p);
	pthread_mutex_unlock(&p->g->lock);
	return timeout;
}

void tund_prio_idle(struct tund_prio *p)
{
	if (!p->g)
		return;
	pthread_mutex_lock(&p->g->lock);
	carry_out(p->g, tund_prio_on_idle(p, now_ns()));
	pthread_mutex_unlock(&p->g->lock);
}

int tund_prio_allow(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_RTPRIO, &r) != 0)
		return -errno;
	if (r.rlim_cur >= RT_PRIORITY)
		return 0;
	if (r.rlim_max < RT_PRIORITY)
		r.rlim_max = RT_PRIORITY;
	r.rlim_cur = RT_PRIORITY;
	return setrlimit(RLIMIT_RTPRIO, &r) == 0 ? 0 : -errno;
}
