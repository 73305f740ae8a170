// SPDX-License-Identifier: MIT
#include "ctl/format.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

void tund_format_duration(char *buf, size_t len, int64_t seconds)
{
	static const struct {
		int64_t size;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (seconds <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
		int64_t n = seconds / units[i].size;
		int w;

		seconds %= units[i].size;
		if (!n)
			continue;
		w = snprintf(buf + used, len - used, "%" PRId64 "%c", n, units[i].unit);
		if (w < 0 || (size_t)w >= len - used)
			return; /* truncated, still NUL-terminated */
		used += (size_t)w;
	}
}

void tund_format_age(char *buf, size_t len, int64_t ts, int64_t now)
{
	char d[64];

	if (ts <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	tund_format_duration(d, sizeof(d), ts < now ? now - ts : 0);
	snprintf(buf, len, "%s ago", d);
}

void tund_format_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t i = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && i + 1 < G_N_ELEMENTS(units)) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.2f %s", v, units[i]);
}

void tund_format_key_short(char *buf, size_t len, const char *key)
{
	/* Keys are ASCII base64; count characters anyway so that odd text is
	 * never cut inside a UTF-8 sequence. */
	char *clean = tund_format_sanitize(key);

	if (g_utf8_strlen(clean, -1) <= 8) {
		snprintf(buf, len, "%s", clean);
	} else {
		const char *end = g_utf8_offset_to_pointer(clean, 8);

		snprintf(buf, len, "%.*s\u2026", (int)(end - clean), clean);
	}
	g_free(clean);
}

char *tund_format_sanitize(const char *text)
{
	char *valid = g_utf8_make_valid(text ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid));

	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iscntrl(c))
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
	}
	g_free(valid);
	return g_string_free(out, FALSE);
}

struct tund_table {
	size_t ncols;
	GPtrArray *rows;  /* of char *[ncols], header first */
	GPtrArray *notes; /* parallel to rows: char * or NULL */
};

static void free_row(gpointer row)
{
	g_strfreev(row);
}

struct tund_table *tund_table_new(size_t ncols, const char *const *headers)
{
	struct tund_table *t = g_new0(struct tund_table, 1);

	t->ncols = ncols;
	t->rows = g_ptr_array_new_with_free_func(free_row);
	t->notes = g_ptr_array_new_with_free_func(g_free);
	tund_table_add(t, headers);
	return t;
}

void tund_table_add(struct tund_table *t, const char *const *cells)
{
	char **row = g_new0(char *, t->ncols + 1);

	for (size_t i = 0; i < t->ncols; i++)
		row[i] = tund_format_sanitize(cells[i] ? cells[i] : "-");
	g_ptr_array_add(t->rows, row);
	g_ptr_array_add(t->notes, NULL);
}

void tund_table_note(struct tund_table *t, const char *text)
{
	guint last = t->notes->len - 1;

	if (!text || last == 0)
		return;
	g_free(g_ptr_array_index(t->notes, last));
	g_ptr_array_index(t->notes, last) = tund_format_sanitize(text);
}

void tund_table_print(const struct tund_table *t, FILE *out)
{
	size_t *width = g_new0(size_t, t->ncols);

	for (guint r = 0; r < t->rows->len; r++) {
		char **row = g_ptr_array_index(t->rows, r);

		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = (size_t)g_utf8_strlen(row[c], -1);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = g_ptr_array_index(t->rows, r);

		for (size_t c = 0; c < t->ncols; c++) {
			fputs(row[c], out);
			if (c + 1 == t->ncols)
				break;
			/* Pad by characters, not bytes: "…" is three bytes wide. */
			for (size_t w = (size_t)g_utf8_strlen(row[c], -1); w < width[c] + 2; w++)
				fputc(' ', out);
		}
		fputc('\n', out);
		if (g_ptr_array_index(t->notes, r))
			fprintf(out, "    %s\n", (char *)g_ptr_array_index(t->notes, r));
	}
	g_free(width);
}

void tund_table_free(struct tund_table *t)
{
	if (!t)
		return;
	g_ptr_array_free(t->rows, TRUE);
	g_ptr_array_free(t->notes, TRUE);
	g_free(t);
}
