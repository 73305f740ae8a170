/* SPDX-License-Identifier: MIT */
/* Minimal unit-test harness: UNIT_TEST(name) { CHECK(...); } registers itself;
 * the runner prints one line per test ("ok", "FAIL" or "SKIP") and ends with
 * "N passed, N failed, N skipped". Every test name must also be listed in
 * tests/list (doc/HACKING.md). */
#ifndef TUND_TESTS_UNIT_H
#define TUND_TESTS_UNIT_H

#include <stdbool.h>
#include <stdio.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_check_failed(const char *file, int line, const char *expr);
void unit_skip(const char *tag, const char *reason);

/* Each test runs on a private GMainContext that the runner pushes as the
 * thread default (tund/daemon/loop.h attaches the daemon's sources there)
 * and drains and frees afterwards. One iteration of that context, as
 * g_main_context_iteration: true when something was dispatched. */
bool unit_iterate(bool may_block);

#define UNIT_TEST(name)                                                        \
	static void unit_##name(void);                                         \
	__attribute__((constructor)) static void unit_reg_##name(void)        \
	{                                                                      \
		unit_register(#name, unit_##name);                             \
	}                                                                      \
	static void unit_##name(void)

#define CHECK(expr)                                                            \
	do {                                                                   \
		if (!(expr))                                                   \
			unit_check_failed(__FILE__, __LINE__, #expr);          \
	} while (0)

/* UNIT_SKIP("tag", "why"): this machine cannot run the rest of the test.
 * Returns from the test, which counts as skipped with its reason; make check
 * fails on a skip unless TUND_ALLOW_SKIP names the tag. Only in the test's
 * own body (it returns). */
#define UNIT_SKIP(tag, reason)                                                 \
	do {                                                                   \
		unit_skip(tag, reason);                                        \
		return;                                                        \
	} while (0)

#endif
