// SPDX-License-Identifier: MIT
#include "tund/daemon/loop.h"

GMainContext *tund_loop_context(void)
{
	GMainContext *ctx = g_main_context_get_thread_default();

	return ctx ? ctx : g_main_context_default();
}

/* Takes src: the context holds the only reference once it is attached. */
static guint attach(GSource *src, GSourceFunc fn, gpointer data)
{
	guint id;

	g_source_set_callback(src, fn, data, NULL);
	id = g_source_attach(src, tund_loop_context());
	g_source_unref(src);
	return id;
}

guint tund_loop_timeout_add(guint ms, GSourceFunc fn, gpointer data)
{
	return attach(g_timeout_source_new(ms), fn, data);
}

guint tund_loop_timeout_add_seconds(guint secs, GSourceFunc fn, gpointer data)
{
	return attach(g_timeout_source_new_seconds(secs), fn, data);
}

guint tund_loop_idle_add(GSourceFunc fn, gpointer data)
{
	return attach(g_idle_source_new(), fn, data);
}

void tund_loop_idle_add_to(GMainContext *ctx, GSourceFunc fn, gpointer data)
{
	GSource *src = g_idle_source_new();

	g_source_set_callback(src, fn, data, NULL);
	g_source_attach(src, ctx);
	g_source_unref(src);
}

guint tund_loop_fd_add(int fd, GIOCondition cond, GUnixFDSourceFunc fn, gpointer data)
{
	return attach(g_unix_fd_source_new(fd, cond), G_SOURCE_FUNC(fn), data);
}

guint tund_loop_signal_add(int signum, GSourceFunc fn, gpointer data)
{
	return attach(g_unix_signal_source_new(signum), fn, data);
}

bool tund_loop_source_remove(guint id)
{
	GSource *src = g_main_context_find_source_by_id(tund_loop_context(), id);

	if (!src) {
		g_critical("tund_loop_source_remove: no source with id %u", id);
		return false;
	}
	g_source_destroy(src);
	return true;
}
