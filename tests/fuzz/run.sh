#!/usr/bin/env bash
# Runs each fuzz target for a fixed time on a copy of its seed corpus, with a
# per-input time limit (FUZZ_INPUT_TIMEOUT, default 10 s). A target passes
# when it exits 0 and ran inputs beyond its seeds (libFuzzer's "Done N runs"
# against its "#K INITED"); a target that ran nothing fails.
# Usage: run.sh SECONDS BINARY...   Prints "ok   fuzz_NAME: ..." or
# "FAIL fuzz_NAME: why". With TUND_RESULT_FILE set, also appends
# "ok|fail fuzz_NAME" there (tests/check.sh counts them).
set -u
secs=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
per_input=${FUZZ_INPUT_TIMEOUT:-10}
fail=0

result() { # STATUS NAME
	[ -n "${TUND_RESULT_FILE:-}" ] && printf '%s %s\n' "$1" "$2" >>"$TUND_RESULT_FILE"
	return 0
}

for bin in "$@"; do
	base=$(basename "$bin"); name=${base#fuzz_}
	if [ ! -x "$bin" ]; then
		echo "FAIL $base: $bin is not built"
		result fail "$base"; fail=1; continue
	fi
	work=$(mktemp -d /tmp/tund-fuzz.XXXXXX)
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -r "$top/tests/fuzz/corpus/$name/." "$work/"
	"$bin" -max_total_time="$secs" -timeout="$per_input" -rss_limit_mb=2048 \
		-artifact_prefix="$work/" "$work" >"$work.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work.log" | tail -n 1)
	inited=$(sed -n 's/^#\([0-9]*\)[[:space:]]*INITED.*/\1/p' "$work.log" | tail -n 1)
	why=
	if [ "$rc" != 0 ]; then
		why=$(grep -m1 -E '^SUMMARY: |^==[0-9]+== ?ERROR: |ALARM: |deadly signal' "$work.log")
		why="exit status $rc${why:+: $why}"
	elif [ -z "$runs" ] || [ -z "$inited" ]; then
		why="no \"Done N runs\" or \"INITED\" line from libFuzzer"
	elif [ "$runs" -le "$inited" ]; then
		why="ran no input beyond its $inited seed runs (Done $runs runs)"
	fi
	if [ -z "$why" ]; then
		echo "ok   $base: $runs runs, $((runs - inited)) beyond the seeds (${secs} s)"
		result ok "$base"
		rm -rf "$work" "$work.log"
	else
		echo "FAIL $base: $why; log and inputs kept in $work.log, $work/"
		tail -n 30 "$work.log" | sed 's/^/  | /'
		result fail "$base"
		fail=1
	fi
done
exit $fail
