// SPDX-License-Identifier: MIT
#include "tund/daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static enum tund_log_level max_level = TUND_LOG_INFO;

void tund_log_set_level(enum tund_log_level level)
{
	max_level = level;
}

void tund_log(enum tund_log_level level, const char *fmt, ...)
{
	/* Under systemd (JOURNAL_STREAM set) sd-daemon priority prefixes let
	 * journald file each line at its level; a terminal gets plain words. */
	static const char *const journal[] = { "<3>", "<4>", "<6>", "<7>" };
	static const char *const plain[] = { "error: ", "warning: ", "", "debug: " };
	const char *const *prefix = getenv("JOURNAL_STREAM") ? journal : plain;
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from threads never interleave. */
	fprintf(stderr, "%s%s\n", prefix[level], line);
}

void tund_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}
