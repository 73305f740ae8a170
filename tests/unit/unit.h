/* SPDX-License-Identifier: MIT */
/* Minimal unit-test harness: UNIT_TEST(name) { CHECK(...); } registers itself;
 * the runner prints one line per failure and ends with "N passed, N failed". */
#ifndef TUND_TESTS_UNIT_H
#define TUND_TESTS_UNIT_H

#include <stdbool.h>
#include <stdio.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_check_failed(const char *file, int line, const char *expr);

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

#endif
