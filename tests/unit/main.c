// SPDX-License-Identifier: MIT
/* Unit test runner: runs every UNIT_TEST, optionally filtered by a substring
 * given as argv[1]; `--list` prints the registered names (tests/check.sh
 * compares them with tests/list). A test passes when none of its CHECKs
 * failed; each has TUND_UNIT_TIMEOUT seconds (default 60) before the runner
 * stops with a line naming it. A leak check after each test fails the test
 * that leaked (TUND_UNIT_NO_LEAK_CHECK=1 leaves it to the report at exit).
 * Each test runs on its own GMainContext, pushed as the thread default:
 * sources one test leaves behind never fire in the next. */
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

#include "tests/unit/unit.h"

#define MAX_TESTS 1024

static struct {
	const char *name;
	unit_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int current_failures;
static const char *skip_tag, *skip_reason;
static const char *volatile current_name;
static unsigned timeout_s = 60;

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

void unit_skip(const char *tag, const char *reason)
{
	skip_tag = tag;
	skip_reason = reason;
}

bool unit_iterate(bool may_block)
{
	/* NULL (no test running) is the global default, as for GLib. */
	return g_main_context_iteration(g_main_context_get_thread_default(), may_block);
}

enum {
	/* Bounds the drain: an idle that re-adds itself would never end it. */
	DRAIN_MAX = 10000,
};

/* Runs test i on a fresh context. What is ready when it returns (idle
 * closes, the last replies) still runs, on that context, before it is
 * freed with whatever sources remain, so the leak check sees its end. */
static void run_on_private_context(int i)
{
	GMainContext *ctx = g_main_context_new();

	g_main_context_push_thread_default(ctx);
	tests[i].fn();
	for (int n = 0; n < DRAIN_MAX && g_main_context_iteration(ctx, FALSE); n++)
		;
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
}

/* Async-signal-safe: names the test that ran out of time, then exits. */
static void put(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void on_alarm(int sig)
{
	char secs[16];
	int i = sizeof(secs) - 1;
	unsigned v = timeout_s;

	(void)sig;
	secs[i] = '\0';
	do {
		secs[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put("FAIL ");
	put(current_name ? current_name : "?");
	put(": timed out after ");
	put(secs + i);
	put(" s (TUND_UNIT_TIMEOUT)\n");
	_exit(124);
}

#if defined(__SANITIZE_ADDRESS__)
/* A sanitizer report ends the process: say which test it came from. */
static void on_sanitizer_death(void)
{
	if (current_name) {
		put("FAIL ");
		put(current_name);
		put(": sanitizer report above\n");
	}
}
#endif

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
#if defined(__SANITIZE_ADDRESS__)
	bool leaked = false;
#endif
	const char *env = getenv("TUND_UNIT_TIMEOUT");

	/* Line-buffered: result lines stay in order with stderr's reports. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (int i = 0; i < n_tests; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (env && atoi(env) > 0)
		timeout_s = (unsigned)atoi(env);
	signal(SIGALRM, on_alarm);
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_set_death_callback(on_sanitizer_death);
#endif
	for (int i = 0; i < n_tests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		current_failures = 0;
		skip_tag = skip_reason = NULL;
		current_name = tests[i].name;
		alarm(timeout_s);
		run_on_private_context(i);
		alarm(0);
#if defined(__SANITIZE_ADDRESS__)
		/* Leaks are found after the test that made them: that test fails.
		 * Only the first is named (a leak is reported again on every later
		 * check); the report at exit still lists them all. */
		if (!leaked && getenv("TUND_UNIT_NO_LEAK_CHECK") == NULL &&
		    __lsan_do_recoverable_leak_check()) {
			leaked = true;
			current_failures++;
			fprintf(stderr, "  LeakSanitizer: the test leaked (report above)\n");
		}
#endif
		if (current_failures) {
			failed++;
			printf("FAIL %s\n", tests[i].name);
		} else if (skip_tag) {
			skipped++;
			printf("SKIP %s [%s]: %s\n", tests[i].name, skip_tag, skip_reason);
		} else {
			passed++;
			printf("ok   %s\n", tests[i].name);
		}
		current_name = NULL;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
