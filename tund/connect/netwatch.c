// SPDX-License-Identifier: MIT
#include "tund/connect/netwatch.h"

#include <glib-unix.h>
#include <glib.h>

#include "tund/daemon/loop.h"

struct sub {
	tund_netwatch_fn fn; /* NULL: unsubscribed during a dispatch */
	void *ctx;
};

static struct {
	struct tund_nl_monitor *mon;
	guint watch;
	GArray *subs; /* struct sub */
	unsigned dispatching;
} w;

static void compact(void)
{
	for (guint i = w.subs->len; i-- > 0;)
		if (!g_array_index(w.subs, struct sub, i).fn)
			g_array_remove_index(w.subs, i);
}

static void close_if_unused(void)
{
	if (w.dispatching || !w.subs || w.subs->len)
		return;
	tund_loop_source_remove(w.watch);
	tund_nl_monitor_close(w.mon);
	g_array_unref(w.subs);
	w.watch = 0;
	w.mon = NULL;
	w.subs = NULL;
}

static void dispatch(void *ctx, const struct tund_nl_event *ev)
{
	(void)ctx;
	/* By index: a callback may subscribe (appended, sees the next event). */
	for (guint i = 0; i < w.subs->len; i++) {
		struct sub s = g_array_index(w.subs, struct sub, i);

		if (s.fn)
			s.fn(s.ctx, ev);
	}
}

static gboolean on_readable(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	(void)data;
	w.dispatching++;
	tund_nl_monitor_read(w.mon, dispatch, NULL);
	w.dispatching--;
	if (!w.dispatching) {
		compact();
		if (!w.subs->len) {
			w.watch = 0; /* removed by returning G_SOURCE_REMOVE */
			tund_nl_monitor_close(w.mon);
			g_array_unref(w.subs);
			w.mon = NULL;
			w.subs = NULL;
			return G_SOURCE_REMOVE;
		}
	}
	return G_SOURCE_CONTINUE;
}

int tund_netwatch_subscribe(tund_netwatch_fn fn, void *ctx)
{
	struct sub s = { fn, ctx };

	if (!w.mon) {
		int ret = tund_nl_monitor_open(TUND_NL_WATCH_ADDR | TUND_NL_WATCH_LINK, &w.mon);

		if (ret)
			return ret;
		w.subs = g_array_new(FALSE, FALSE, sizeof(struct sub));
		w.watch = tund_loop_fd_add(tund_nl_monitor_fd(w.mon), G_IO_IN, on_readable, NULL);
	}
	g_array_append_val(w.subs, s);
	return 0;
}

void tund_netwatch_unsubscribe(tund_netwatch_fn fn, void *ctx)
{
	if (!w.subs)
		return;
	for (guint i = 0; i < w.subs->len; i++) {
		struct sub *s = &g_array_index(w.subs, struct sub, i);

		if (s->fn == fn && s->ctx == ctx) {
			s->fn = NULL;
			break;
		}
	}
	if (!w.dispatching)
		compact();
	close_if_unused();
}
