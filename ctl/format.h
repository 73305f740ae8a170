/* SPDX-License-Identifier: MIT */
/* Text for people: durations, handshake ages, byte counts, shortened keys and
 * aligned tables. Pure: no clock, no sockets; the table prints to a FILE *. */
#ifndef TUND_CTL_FORMAT_H
#define TUND_CTL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "0s", "45s", "3m12s", "1h5s", "2d3h4m" (zero units left out). Negative
 * values print as "0s". */
void tund_format_duration(char *buf, size_t len, int64_t seconds);
/* "12s ago" for a unix timestamp seen at `now`, "never" when ts <= 0. A time
 * in the future (clock skew) counts as "0s ago". */
void tund_format_age(char *buf, size_t len, int64_t ts, int64_t now);
/* "0 B", "1023 B", "1.50 KiB", "12.34 MiB" ... up to EiB, like `wg show`. */
void tund_format_bytes(char *buf, size_t len, uint64_t bytes);
/* The first 8 characters of a key followed by "…"; shorter text unchanged. */
void tund_format_key_short(char *buf, size_t len, const char *key);
/* A copy (g_free) that is valid UTF-8 with control characters replaced by
 * '?', so that daemon-supplied text cannot move the cursor or add lines. */
char *tund_format_sanitize(const char *text);

/* A table of UTF-8 cells, columns padded to their widest cell, two spaces
 * apart, no padding after the last column. Cells are sanitised on entry. */
struct tund_table;
struct tund_table *tund_table_new(size_t ncols, const char *const *headers);
void tund_table_add(struct tund_table *t, const char *const *cells);
/* An extra line under the row added last, indented and outside the columns
 * (e.g. a peer's last error); a second call replaces it. */
void tund_table_note(struct tund_table *t, const char *text);
void tund_table_print(const struct tund_table *t, FILE *out);
void tund_table_free(struct tund_table *t);

#endif
