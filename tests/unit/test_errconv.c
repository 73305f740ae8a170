// SPDX-License-Identifier: MIT
/* doc/HACKING.md, "Errors, one convention": a call that can fail returns 0 or
 * -errno and writes its message into the caller's buffer (char *why, size_t
 * why_len). This guard fails on any GLib-style `char **err` (a g_free'd
 * string) that comes back into the sources, naming file:line. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/unit.h"

/* The tree these tests were built from (the Makefile gives TUND_TOP). */
#ifndef TUND_TOP
#define TUND_TOP "."
#endif

#define ERR_PATTERN "\\bchar\\s*\\*\\s*\\*\\s*err(or)?\\b"

/* Reports each line of path that matches re; returns how many did. */
static unsigned scan_file(GRegex *re, const char *path, const char *shown)
{
	g_autofree char *text = NULL;
	unsigned hits = 0, line = 1;
	const char *p;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		g_autofree char *one = nl ? g_strndup(p, (gsize)(nl - p)) : g_strdup(p);

		if (g_regex_match(re, one, 0, NULL)) {
			fprintf(stderr, "  %s:%u: char **err: %s\n", shown, line, g_strstrip(one));
			hits++;
		}
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
	return hits;
}

/* Every .c and .h under dir (relative to TUND_TOP), recursively. */
static unsigned scan_dir(GRegex *re, const char *dir, unsigned *files)
{
	g_autofree char *full = g_build_filename(TUND_TOP, dir, NULL);
	g_autoptr(GDir) d = g_dir_open(full, 0, NULL);
	const char *name;
	unsigned hits = 0;

	if (!d)
		return 0;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *rel = g_build_filename(dir, name, NULL);
		g_autofree char *path = g_build_filename(TUND_TOP, rel, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			hits += scan_dir(re, rel, files);
		} else if (g_str_has_suffix(name, ".c") || g_str_has_suffix(name, ".h")) {
			(*files)++;
			hits += scan_file(re, path, rel);
		}
	}
	return hits;
}

UNIT_TEST(errconv_no_char_star_star_err)
{
	static const char *const dirs[] = { "tund", "ctl", "overlay", "netlink" };
	g_autoptr(GRegex) re = g_regex_new(ERR_PATTERN, G_REGEX_OPTIMIZE, 0, NULL);
	unsigned hits = 0, files = 0;

	CHECK(re != NULL);
	if (!re)
		return;
	/* The pattern itself, so the guard cannot pass by matching nothing. */
	CHECK(g_regex_match(re, "bool f(char **err);", 0, NULL));
	CHECK(g_regex_match(re, "int g(char ** error)", 0, NULL));
	CHECK(!g_regex_match(re, "int h(char *why, size_t why_len)", 0, NULL));
	CHECK(!g_regex_match(re, "bool p(const char *s, const char **why)", 0, NULL));
	for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++)
		hits += scan_dir(re, dirs[i], &files);
	/* The sources were found where the build said they are. */
	CHECK(files > 100);
	CHECK(hits == 0);
}
