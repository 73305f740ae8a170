#!/usr/bin/env bash
# Runs every integration test (tests/{ctl,netns,pkg}/test_*.sh) as root, each
# with a time limit (TEST_TIMEOUT, default 600 s), TEST_JOBS at a time
# (default 2), and ends with "N passed, N failed, N skipped".
# Usage: run.sh [PATTERN]  -- only tests whose name contains PATTERN.
# A test whose tests/list line ends in "alone" (it changes the host: users,
# packages, /dev/net/tun; or it floods, times or loads the CPUs) runs with no
# other test beside it. A test's output is printed as one block when it ends
# (as it grows when it runs alone or TEST_JOBS=1), then its verdict line.
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
jobs=${TEST_JOBS:-2}
case $jobs in '' | *[!0-9]* | 0) echo "FAIL integration: TEST_JOBS=$jobs is not a count"; exit 1 ;; esac
passed=0 failed=0 skipped=0 refused=
failures=() skip_lines=()
declare -A running=() # job PID -> test name

result() { [ -n "${TUND_RESULT_FILE:-}" ] && printf '%s\n' "$*" >>"$TUND_RESULT_FILE"; return 0; }

if [ "$(id -u)" != 0 ]; then
	echo "FAIL integration: the tests need root (network namespaces, TUN)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
work=$(mktemp -d /tmp/tund-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Tests run in the background (see below): stopping run.sh stops them
# (timeout passes the signal on to the test, whose trap cleans up).
stop_all() {
	local f p
	for f in "$work"/*/tpid; do
		[ -f "$f" ] && [ ! -e "${f%/tpid}/rc" ] && p=$(cat "$f") && kill -TERM "$p" 2>/dev/null
	done
	wait
	exit 130
}
trap stop_all INT TERM

# marked_pids MARK: processes whose environment carries TUND_TEST_RUN=MARK.
marked_pids() {
	local p
	for p in /proc/[0-9]*; do
		grep -qzx "TUND_TEST_RUN=$1" "$p/environ" 2>/dev/null && echo "${p#/proc/}"
	done
}

# leftovers PID MARK DIRS: what the test left behind, one item a line; removes
# it (it is the test's own: named after its PID, marked, or recorded). The
# PID is the first all-digit part of the name (tt-TAG-PID[-...], TAG has a
# letter in each part), so another test's random suffix never matches it.
leftovers() {
	local pid=$1 mark=$2 dirs=$3 ns p d deadline=$((SECONDS + 10))
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E -- "^tt-([a-z0-9]*[a-z][a-z0-9]*-)+$pid(-|\$)"); do
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

# run_test NAME SCRIPT DIR LIVE: runs one test (in a background job), its
# output in DIR/log (shown as it grows when LIVE is 1), then writes DIR/secs,
# DIR/left and last DIR/rc.
run_test() {
	local name=$1 t=$2 d=$3 live=$4 start=$SECONDS mark tpid tailpid rc
	: >"$d/skips"; : >"$d/dirs"; : >"$d/log"
	mark="$name-$$-$RANDOM"
	# bash -c writes its PID and execs the test: the test's $$ is that PID.
	# Output to a file: a pipe would hang on a process the test left holding it.
	TUND_TEST_RUN=$mark TUND_SKIP_FILE=$d/skips TUND_TEST_DIRS=$d/dirs \
		timeout --signal=TERM --kill-after=30 "$limit" \
		bash -c 'echo $$ >"$1"; exec bash "$2"' _ "$d/pid" "$t" >"$d/log" 2>&1 </dev/null &
	tpid=$!
	echo "$tpid" >"$d/tpid"
	if [ "$live" = 1 ]; then
		tail -s 0.2 -n +1 -f --pid="$tpid" "$d/log" &
		tailpid=$!
	fi
	wait "$tpid"
	rc=$?
	[ "$live" = 1 ] && wait "$tailpid"
	echo $((SECONDS - start)) >"$d/secs"
	leftovers "$(cat "$d/pid" 2>/dev/null || echo none)" "$mark" "$d/dirs" |
		paste -sd, - | sed 's/,/, /g' >"$d/left"
	echo "$rc" >"$d/rc"
}

# report NAME: the verdict of a test that ended (its block first, unless it
# was shown live), counted and recorded.
report() {
	local name=$1 d=$work/$1 rc secs left why tag reason line
	rc=$(cat "$d/rc" 2>/dev/null || echo 1) secs=$(cat "$d/secs" 2>/dev/null || echo '?')
	left=$(cat "$d/left" 2>/dev/null)
	[ -e "$d/live" ] || cat "$d/log"
	# A test that exits 77 without t_skip: its last "SKIP" line is the reason.
	if [ "$rc" = 77 ] && [ ! -s "$d/skips" ]; then
		why=$(grep -E '^SKIP' "$d/log" | tail -n 1 | sed 's/^SKIP:* *//')
		printf 'exit77\t%s\n' "${why:-exit status 77, no reason printed}" >"$d/skips"
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
		# The test's own first FAIL line says what went wrong; the summary
		# repeats it, for a log that shows only its head and tail.
		reason=$(grep -m 1 -E '^FAIL[ :]' "$d/log" | sed -E 's/^FAIL( [^:]*)?: //' | cut -c 1-240)
		echo "FAIL $name ($secs s): $why${reason:+ ($reason)}"
		result fail "$name" "$why${reason:+ ($reason)}"
	elif [ -s "$d/skips" ]; then
		skipped=$((skipped + 1))
		result skip "$name"
	else
		passed=$((passed + 1))
		echo "ok   $name ($secs s)"
		result ok "$name"
	fi
	[ -n "$why" ] && [ -s "$d/skips" ] && echo "  ($name also skipped checks:)"
	while IFS=$'\t' read -r tag reason; do
		line="$name [$tag]: $reason"
		skip_allowed "$tag" || refused=$(skip_tags_add "$refused" "$tag")
		skip_lines+=("$line")
		echo "SKIP $line ($secs s)"
		result why "$name" "$tag" "$reason"
	done <"$d/skips"
}

# reap: waits for one running test to end and reports it.
reap() {
	local done_pid
	wait -n -p done_pid "${!running[@]}"
	[ -n "${done_pid:-}" ] || return 0
	report "${running[$done_pid]}"
	unset "running[$done_pid]"
}

# launch NAME SCRIPT LIVE
launch() {
	mkdir -p "$work/$1"
	[ "$3" = 1 ] && : >"$work/$1/live"
	run_test "$1" "$2" "$work/$1" "$3" &
	running[$!]=$1
}

tests=()
for t in "$top"/tests/ctl/test_*.sh "$top"/tests/netns/test_*.sh "$top"/tests/pkg/test_*.sh; do
	[ -f "$t" ] || continue
	case $(basename "$t" .sh) in *"$pattern"*) tests+=("$t") ;; esac
done
alone=" $(awk '$1 == "integration" && $3 == "alone" { printf "%s ", $2 }' "$EXPECT_LIST")"
[ ${#tests[@]} -le 1 ] && jobs=1
# The tests that run alone first, then the others TEST_JOBS at a time.
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	[ "$jobs" = 1 ] || [[ $alone == *" $name "* ]] || continue
	launch "$name" "$t" 1
	reap
done
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	[ "$jobs" = 1 ] || [[ $alone == *" $name "* ]] && continue
	while [ ${#running[@]} -ge "$jobs" ]; do reap; done
	launch "$name" "$t" 0
done
while [ ${#running[@]} -gt 0 ]; do reap; done
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
