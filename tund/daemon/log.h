/* SPDX-License-Identifier: MIT */
/* One line per event on stderr, systemd style: journald adds the time. */
#ifndef TUND_LOG_H
#define TUND_LOG_H

#include <stddef.h>

enum tund_log_level { TUND_LOG_ERROR, TUND_LOG_WARN, TUND_LOG_INFO, TUND_LOG_DEBUG };

void tund_log_set_level(enum tund_log_level level);
void tund_log(enum tund_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) tund_log(TUND_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) tund_log(TUND_LOG_WARN, __VA_ARGS__)
#define log_info(...) tund_log(TUND_LOG_INFO, __VA_ARGS__)
#define log_debug(...) tund_log(TUND_LOG_DEBUG, __VA_ARGS__)

/* Large enough for the longest message (the TUN permission text). */
#define TUND_WHY_LEN 512

/* Fills a caller's message buffer (doc/HACKING.md, "Errors, one convention");
 * why may be NULL when why_len is 0. */
void tund_why(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
