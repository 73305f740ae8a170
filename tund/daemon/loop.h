/* SPDX-License-Identifier: MIT */
/* The daemon's event loop context, and the only way tund/ attaches GLib
 * sources to it. Every timer, idle, fd watch and signal watch goes through
 * these helpers onto tund_loop_context(): the calling thread's default
 * context (g_main_context_push_thread_default), or the global default when
 * none is pushed. So the daemon runs on the global default as before, while
 * each unit test pushes a private context, iterates only that one, and ends
 * with none of its sources left behind for the next test. Sources are
 * removed with tund_loop_source_remove, which looks the id up in that same
 * context (g_source_remove only searches the global default).
 * tests/unit/test_loop.c fails when a tund/ file other than loop.c calls
 * g_timeout_add, g_idle_add, g_unix_fd_add, g_unix_signal_add or
 * g_source_remove itself. */
#ifndef TUND_LOOP_H
#define TUND_LOOP_H

#include <glib-unix.h>
#include <glib.h>
#include <stdbool.h>

/* Borrowed, not referenced: valid while the thread keeps it pushed (the
 * global default: always). */
GMainContext *tund_loop_context(void);

/* Each returns the source id (never 0), attached to tund_loop_context(). */
guint tund_loop_timeout_add(guint ms, GSourceFunc fn, gpointer data);
guint tund_loop_timeout_add_seconds(guint secs, GSourceFunc fn, gpointer data);
guint tund_loop_idle_add(GSourceFunc fn, gpointer data);
/* Callable from any thread: fn runs once on ctx, the context a worker thread
 * hands its result back to (tund/connect/portmap.c). */
void tund_loop_idle_add_to(GMainContext *ctx, GSourceFunc fn, gpointer data);
guint tund_loop_fd_add(int fd, GIOCondition cond, GUnixFDSourceFunc fn, gpointer data);
guint tund_loop_signal_add(int signum, GSourceFunc fn, gpointer data);

/* Destroys source id of tund_loop_context(); false (and a critical, as
 * g_source_remove) when there is none. */
bool tund_loop_source_remove(guint id);

#endif
