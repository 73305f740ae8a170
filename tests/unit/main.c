// SPDX-License-Identifier: MIT
/* Unit test runner: runs every UNIT_TEST, optionally filtered by a substring
 * given as argv[1]. A test passes when none of its CHECKs failed. */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/unit.h"

#define MAX_TESTS 1024

static struct {
	const char *name;
	unit_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int current_failures;

void unit_register(const char *name, unit_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "unit: too many tests\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void unit_check_failed(const char *file, int line, const char *expr)
{
	current_failures++;
	fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", file, line, expr);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < n_tests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		current_failures = 0;
		tests[i].fn();
		if (current_failures) {
			failed++;
			printf("FAIL %s\n", tests[i].name);
		} else {
			passed++;
			printf("ok   %s\n", tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
