# shellcheck shell=bash
# Helpers for namespace tests. Source it, then call t_init NAME.
# Everything a test makes is recorded and removed by t_cleanup, which runs on
# every exit path (trap). Namespaces get the prefix "tt-" plus a short tag.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TUND=$TOP/build/tund
TUNDCTL=$TOP/build/tundctl
T_PIDS=()
T_NS=()
T_NAME=
T_DIR=

t_log() { printf '  %s: %s\n' "$T_NAME" "$*" >&2; }

fail() {
	printf 'FAIL %s: %s\n' "$T_NAME" "$*" >&2
	for f in "$T_DIR"/*.log; do
		[ -f "$f" ] || continue
		printf -- '--- %s (last 20 lines)\n' "$(basename "$f")" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

t_cleanup() {
	local pid ns
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		for _ in $(seq 1 50); do pid_running "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$T_DIR" ] && rm -rf "$T_DIR"
}

# t_init NAME: a scratch directory and the cleanup trap.
t_init() {
	T_NAME=$1
	T_DIR=$(mktemp -d "/tmp/tt-$1.XXXXXX")
	# tests/netns/run.sh checks it is gone once the test has ended.
	[ -n "${TUND_TEST_DIRS:-}" ] && echo "$T_DIR" >>"$TUND_TEST_DIRS"
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM
}

# t_ns VAR TAG: creates namespace tt-TAG-PID with loopback up and stores its
# name in VAR (not via $(...): the cleanup list must live in this shell).
t_ns() {
	local ns="tt-$2-$$"
	ip netns add "$ns" || fail "cannot create namespace $ns"
	T_NS+=("$ns")
	ip -n "$ns" link set lo up
	printf -v "$1" '%s' "$ns"
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

# ping_all NS COUNT ADDR [PING-OPTION...]: COUNT echo requests from NS, every
# one answered. ping itself exits 0 on a single reply, so "no loss" needs the
# count; on loss this logs ping's summary and returns 1.
ping_all() {
	local ns=$1 count=$2 addr=$3 out got
	shift 3
	out=$(ip netns exec "$ns" ping -n -c "$count" "$@" "$addr" 2>&1)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	[ "${got:-0}" = "$count" ] && return 0
	t_log "ping $addr from $ns: ${got:-0} of $count answered: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	return 1
}


# t_skip TAG REASON: a check this machine cannot make is left out; the test
# goes on. Prints the reason; tests/netns/run.sh counts the test as skipped,
# which fails make check unless TUND_ALLOW_SKIP accepts TAG (doc/HACKING.md).
# TAG is one short word naming what is missing (rtprio, uring, uso).
t_skip() {
	printf 'SKIP %s [%s]: %s\n' "$T_NAME" "$1" "$2" >&2
	[ -n "${TUND_SKIP_FILE:-}" ] && printf '%s\t%s\n' "$1" "$2" >>"$TUND_SKIP_FILE"
	return 0
}

# t_skip_test TAG REASON: the whole test cannot run here (exit 77).
t_skip_test() { t_skip "$@"; exit 77; }

# t_track PID: kill it at cleanup.
t_track() { T_PIDS+=("$1"); }

# t_untrack PID: it was stopped on purpose.
t_untrack() {
	local keep=() p
	for p in "${T_PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	T_PIDS=("${keep[@]}")
}

# start_tund NS CONF LOG: runs tund in NS; sets TUND_PID.
start_tund() {
	ip netns exec "$1" "$TUND" --config "$2" >>"$3" 2>&1 &
	TUND_PID=$!
	t_track "$TUND_PID"
}

# pid_running PID: true while PID runs (a zombie counts as exited).
pid_running() {
	[ -r "/proc/$1/stat" ] || return 1
	[ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# stop_pid PID [SECONDS]: SIGTERM and wait for the exit; returns its status.
# On failure it says why on stderr: the exit status, or, for a process still
# running, where each of its threads waits (so "did not stop" names a cause).
stop_pid() {
	local pid=$1 secs=${2:-20} rc
	kill -TERM "$pid" 2>/dev/null || { echo "stop_pid: $pid was already gone" >&2; return 1; }
	if ! wait_until "$secs" eval "! pid_running $pid"; then
		echo "stop_pid: $pid still runs ${secs} s after SIGTERM; its threads:" >&2
		threads_of "$pid" >&2
		return 1
	fi
	wait "$pid" 2>/dev/null; rc=$?
	t_untrack "$pid"
	[ "$rc" = 0 ] || echo "stop_pid: $pid exited with status $rc$( [ "$rc" -gt 128 ] &&
		echo " (signal $(kill -l $((rc - 128)) 2>/dev/null))")" >&2
	return $rc
}

# threads_of PID: a line per thread (name, state, kernel wait channel) and
# the kernel stack of each, for a process that hangs.
threads_of() {
	local t
	for t in /proc/"$1"/task/*; do
		[ -r "$t/stat" ] || continue
		printf '  %s %s state=%s wchan=%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" \
			"$(sed 's/.*) \(.\).*/\1/' "$t/stat" 2>/dev/null)" "$(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/      /' "$t/stack" 2>/dev/null | head -n 8
	done
	# Where in our code: gdb is in packaging/install-deps.sh for this.
	command -v gdb >/dev/null &&
		timeout 30 gdb -p "$1" -batch -nx -ex 'thread apply all bt 12' 2>/dev/null |
		grep -E '^(Thread|#)' | sed 's/^/    /' | head -n 120
}

# kernel_has_uring: whether this kernel gives tund its io_uring TUN reader
# (the multishot read is Linux 6.7; the sysctl may refuse io_uring to all).
kernel_has_uring() {
	local v major minor
	v=$(uname -r); major=${v%%.*}; minor=${v#*.}; minor=${minor%%[!0-9]*}
	[ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 7 ]; } || return 1
	[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]
}
