// SPDX-License-Identifier: MIT
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/daemon/loop.h"

/* The tree these tests were built from (the Makefile gives TUND_TOP;
 * without it, the current directory is taken as the top). */
#ifndef TUND_TOP
#define TUND_TOP "."
#endif

static gboolean count_fire(gpointer data)
{
	(*(int *)data)++;
	return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context until *fired, at most 2 s. */
static bool run_until_fired(const int *fired)
{
	gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

	while (!*fired && g_get_monotonic_time() < end)
		if (!unit_iterate(false))
			g_usleep(1000);
	return *fired != 0;
}

UNIT_TEST(loop_timeout_fires_on_the_pushed_context_only)
{
	GMainContext *global = g_main_context_default();
	int fired = 0;
	guint id;

	/* The runner pushed this test's own context. */
	CHECK(tund_loop_context() == g_main_context_get_thread_default());
	CHECK(tund_loop_context() != global);
	id = tund_loop_timeout_add(1, count_fire, &fired);
	CHECK(id != 0);
	CHECK(g_main_context_find_source_by_id(tund_loop_context(), id) != NULL);
	CHECK(g_main_context_find_source_by_id(global, id) == NULL);
	g_usleep(5000);
	/* Due, yet the global default does not run it. */
	for (int i = 0; i < 10; i++)
		g_main_context_iteration(global, FALSE);
	CHECK(fired == 0);
	CHECK(run_until_fired(&fired));
	CHECK(fired == 1);
}

UNIT_TEST(loop_source_remove_takes_it_off_the_pushed_context)
{
	int fired = 0;
	guint id = tund_loop_timeout_add(1, count_fire, &fired);
	guint idle = tund_loop_idle_add(count_fire, &fired);

	CHECK(tund_loop_source_remove(id));
	CHECK(tund_loop_source_remove(idle));
	CHECK(g_main_context_find_source_by_id(tund_loop_context(), id) == NULL);
	CHECK(g_main_context_find_source_by_id(tund_loop_context(), idle) == NULL);
	g_usleep(5000);
	for (int i = 0; i < 10; i++)
		unit_iterate(false);
	CHECK(fired == 0);
}

static gboolean on_readable(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	(*(int *)data)++;
	return G_SOURCE_REMOVE;
}

UNIT_TEST(loop_fd_watch_fires_on_the_pushed_context)
{
	int fired = 0, p[2];

	CHECK(pipe(p) == 0);
	CHECK(tund_loop_fd_add(p[0], G_IO_IN, on_readable, &fired) != 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(run_until_fired(&fired));
	close(p[0]);
	close(p[1]);
}

UNIT_TEST(loop_without_a_pushed_context_uses_the_global_default)
{
	int fired = 0;
	guint id;

	/* NULL pushes the global default: the daemon's own case. */
	g_main_context_push_thread_default(NULL);
	CHECK(tund_loop_context() == g_main_context_default());
	id = tund_loop_idle_add(count_fire, &fired);
	CHECK(g_main_context_find_source_by_id(g_main_context_default(), id) != NULL);
	CHECK(tund_loop_source_remove(id));
	CHECK(g_main_context_find_source_by_id(g_main_context_default(), id) == NULL);
	g_main_context_pop_thread_default(NULL);
	CHECK(tund_loop_context() != g_main_context_default());
	CHECK(fired == 0);
}

/* Names every line of path that calls a source helper of GLib's own, which
 * would attach to (or search) the global default instead of the loop
 * context; returns how many. */
static unsigned scan_file(const char *path, const char *shown, GRegex *re)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	unsigned bad = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		fprintf(stderr, "  cannot read %s\n", path);
		return 1;
	}
	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		if (!g_regex_match(re, lines[i], 0, NULL))
			continue;
		fprintf(stderr, "  %s:%u: use tund/daemon/loop.h: %s\n", shown, i + 1,
			g_strstrip(lines[i]));
		bad++;
	}
	return bad;
}

/* Walks dir (rel: its path from the top) for *.c; counts files in *files. */
static unsigned scan_dir(const char *dir, const char *rel, GRegex *re, unsigned *files)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	unsigned bad = 0;

	if (!d) {
		fprintf(stderr, "  cannot open %s\n", dir);
		return 1;
	}
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_autofree char *shown = g_build_filename(rel, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			bad += scan_dir(path, shown, re, files);
		} else if (g_str_has_suffix(name, ".c") && strcmp(shown, "tund/daemon/loop.c")) {
			(*files)++;
			bad += scan_file(path, shown, re);
		}
	}
	g_dir_close(d);
	return bad;
}

UNIT_TEST(loop_tund_uses_only_loop_helpers)
{
	/* Called, or passed as a function (g_clear_handle_id). */
	GRegex *re = g_regex_new("\\bg_(timeout_add(_seconds)?|idle_add|unix_fd_add|"
				 "unix_signal_add)(_full|_once)?\\s*[(),]|"
				 "\\bg_source_remove(_by_\\w+)?\\s*[(),]",
				 0, 0, NULL);
	unsigned files = 0, bad;

	CHECK(re != NULL);
	if (!re)
		return;
	bad = scan_dir(TUND_TOP "/tund", "tund", re, &files);
	CHECK(bad == 0);
	/* A wrong top would find nothing and pass. */
	CHECK(files > 20);
	g_regex_unref(re);
}
