#!/usr/bin/env bash
# Runs every integration test (tests/{ctl,netns,pkg}/test_*.sh) as
# root, each with a time limit, and ends with "N passed, N failed".
# Usage: run.sh [PATTERN]  -- only tests whose name contains PATTERN.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
pattern=${1:-}
limit=${TEST_TIMEOUT:-600}
passed=0 failed=0 failures=

if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (network namespaces, TUN)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for t in "$top"/tests/ctl/test_*.sh "$top"/tests/netns/test_*.sh "$top"/tests/pkg/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case $name in *"$pattern"*) ;; *) continue ;; esac
	start=$SECONDS
	if timeout --signal=TERM --kill-after=30 "$limit" bash "$t"; then
		passed=$((passed + 1))
		echo "ok   $name ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		echo "FAIL $name ($((SECONDS - start)) s)"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
