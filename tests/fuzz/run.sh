#!/bin/sh
# Runs every fuzz target for a fixed time on a copy of its seed corpus.
# Usage: run.sh SECONDS BINARY...   Prints "fuzz NAME: ok" or fails.
set -u
secs=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
fail=0
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	work=$(mktemp -d /tmp/tund-fuzz.XXXXXX)
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -r "$top/tests/fuzz/corpus/$name/." "$work/"
	if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -artifact_prefix="$work/" \
		"$work" >"$work.log" 2>&1; then
		echo "fuzz $name: ok ($(grep -o 'Done [0-9]* runs' "$work.log" | tail -1))"
		rm -rf "$work" "$work.log"
	else
		echo "fuzz $name: FAILED; log and crash input kept in $work.log, $work" >&2
		tail -n 30 "$work.log" >&2
		fail=1
	fi
done
exit $fail
