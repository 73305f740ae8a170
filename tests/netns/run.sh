#!/usr/bin/env bash
# Runs every integration test (tests/{ctl,netns,pkg}/test_*.sh) as root, each
# with a time limit (TEST_TIMEOUT, default 600 s), and ends with
# "N passed, N failed, N skipped".
# Usage: run.sh [PATTERN]  -- only tests whose name contains PATTERN.
# A test passes on exit 0 with nothing skipped and nothing left behind. It is
# skipped when it exits 77 or called t_skip (tests/netns/lib.sh), each reason
# printed; a skip fails the run unless TUND_ALLOW_SKIP accepts its tag (see
# doc/HACKING.md). Left behind, and a failure naming the test: a namespace
# named after the test's PID (tt-TAG-PID...), a process started by the test,
# a directory made by t_init. With TUND_RESULT_FILE set, appends
# "ok|fail|skip NAME" and "why NAME TAG REASON" lines there (tests/check.sh).
set -u -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/expect.sh"
pattern=${1:-}
limit=${TEST_TIMEOUT:-600}
passed=0 failed=0 skipped=0 refused=
failures=() skip_lines=()

result() { [ -n "${TUND_RESULT_FILE:-}" ] && printf '%s\n' "$*" >>"$TUND_RESULT_FILE"; return 0; }

if [ "$(id -u)" != 0 ]; then
	echo "FAIL integration: the tests need root (network namespaces, TUN)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
work=$(mktemp -d /tmp/tund-run.XXXXXX)
tpid=
trap 'rm -rf "$work"' EXIT
# The test runs in the background (see below): stopping run.sh stops it
# (timeout passes the signal on to the test, whose trap cleans up).
trap '[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null && wait "$tpid"; exit 130' INT TERM

# marked_pids MARK: processes whose environment carries TUND_TEST_RUN=MARK.
marked_pids() {
	local p
	for p in /proc/[0-9]*; do
		grep -qzx "TUND_TEST_RUN=$1" "$p/environ" 2>/dev/null && echo "${p#/proc/}"
	done
}

# leftovers PID MARK DIRS: what the test left behind, one item a line; removes
# it (it is the test's own: named after its PID, marked, or recorded).
leftovers() {
	local pid=$1 mark=$2 dirs=$3 ns p d deadline=$((SECONDS + 10))
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E -- "^tt-.*-$pid(-|\$)"); do
		echo "namespace $ns"
		ip netns del "$ns" 2>/dev/null
	done
	# A process may need a moment to finish its exit after the test's trap.
	while [ -n "$(marked_pids "$mark")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	for p in $(marked_pids "$mark"); do
		echo "process $p ($(cat "/proc/$p/comm" 2>/dev/null))"
		kill -KILL "$p" 2>/dev/null
	done
	while read -r d; do
		[ -n "$d" ] && [ -e "$d" ] || continue
		echo "directory $d"
		rm -rf "$d"
	done <"$dirs"
}

for t in "$top"/tests/ctl/test_*.sh "$top"/tests/netns/test_*.sh "$top"/tests/pkg/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	case $name in *"$pattern"*) ;; *) continue ;; esac
	start=$SECONDS
	: >"$work/skips"; : >"$work/dirs"; : >"$work/log"; rm -f "$work/pid"
	mark="$name-$$-$RANDOM"
	# bash -c writes its PID and execs the test: the test's $$ is that PID.
	# Output to a file, shown as it grows: a pipe would hang on a process the
	# test left holding it.
	TUND_TEST_RUN=$mark TUND_SKIP_FILE=$work/skips TUND_TEST_DIRS=$work/dirs \
		timeout --signal=TERM --kill-after=30 "$limit" \
		bash -c 'echo $$ >"$1"; exec bash "$2"' _ "$work/pid" "$t" >"$work/log" 2>&1 </dev/null &
	tpid=$!
	tail -s 0.2 -n +1 -f --pid="$tpid" "$work/log" &
	tailpid=$!
	wait "$tpid"
	rc=$?
	wait "$tailpid"
	secs=$((SECONDS - start))
	left=$(leftovers "$(cat "$work/pid" 2>/dev/null || echo none)" "$mark" "$work/dirs" | paste -sd, - | sed 's/,/, /g')
	# A test that exits 77 without t_skip: its last "SKIP" line is the reason.
	if [ "$rc" = 77 ] && [ ! -s "$work/skips" ]; then
		why=$(grep -E '^SKIP' "$work/log" | tail -n 1 | sed 's/^SKIP:* *//')
		printf 'exit77\t%s\n' "${why:-exit status 77, no reason printed}" >"$work/skips"
	fi
	why=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="timed out after $limit s (TEST_TIMEOUT)"
	elif [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		why="exit status $rc"
	fi
	[ -n "$left" ] && why="${why:+$why; }left behind: $left"
	if [ -n "$why" ]; then
		failed=$((failed + 1)); failures+=("$name")
		echo "FAIL $name ($secs s): $why"
		result fail "$name"
	elif [ -s "$work/skips" ]; then
		skipped=$((skipped + 1))
		result skip "$name"
	else
		passed=$((passed + 1))
		echo "ok   $name ($secs s)"
		result ok "$name"
	fi
	[ -n "$why" ] && [ -s "$work/skips" ] && echo "  ($name also skipped checks:)"
	while IFS=$'\t' read -r tag reason; do
		line="$name [$tag]: $reason"
		skip_allowed "$tag" || refused=$(skip_tags_add "$refused" "$tag")
		skip_lines+=("$line")
		echo "SKIP $line ($secs s)"
		result why "$name" "$tag" "$reason"
	done <"$work/skips"
done
if [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "FAIL integration: no test matches '$pattern'"
	failed=1
fi
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
if [ ${#skip_lines[@]} -gt 0 ]; then
	echo "skipped checks:"
	printf '  %s\n' "${skip_lines[@]}"
	skip_verdict integration "$refused"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -z "$refused" ]
