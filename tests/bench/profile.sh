#!/usr/bin/env bash
# Where tund's time per packet goes: both daemons of a static pair (as in
# bench.sh) are profiled while one iperf3 TCP stream runs through them, and the
# top symbols are printed. perf record -g when perf can sample here (with the
# cpu-clock software event if the CPU's counters are not exposed, as in many
# VMs), else callgrind (much slower: the rate and CPU figures mean nothing then,
# and it counts user-space instructions only, not the kernel work under system
# calls). tund is built with frame pointers for the call graphs.
# Environment: BENCH_SECS (10), PROFILE_TOOL (perf|callgrind, default: auto),
# BENCH_OUT (build/bench: perf.data / callgrind output are kept there).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../netns/lib.sh"
t_init profile
. "$HERE/../netns/lib_pair.sh"
. "$HERE/lib_measure.sh"
SECS=${BENCH_SECS:-10}
OUT=${BENCH_OUT:-$TOP/build/bench}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"

[ "$(id -u)" = 0 ] || fail "needs root (namespaces, TUN devices)"
"$HERE/deps.sh" || fail "cannot install the tools"
make -s -C "$TOP" B=build/bench-prof CFLAGS="-O2 -g -fno-omit-frame-pointer" \
	build/bench-prof/tund build/bench-prof/tundctl || fail "build failed"
TUND=$TOP/build/bench-prof/tund TUNDCTL=$TOP/build/bench-prof/tundctl

# perf_event: the hardware cycle counter if there is one, else cpu-clock.
perf_event() {
	if perf stat -e cycles true 2>&1 | grep -q 'not supported'; then
		echo cpu-clock
	else
		echo cycles
	fi
}
TOOL=${PROFILE_TOOL:-}
if [ -z "$TOOL" ]; then
	TOOL=callgrind
	perf record -q -e "$(perf_event)" -o /dev/null true >/dev/null 2>&1 && TOOL=perf
fi
t_log "profiling with $TOOL"

if [ "$TOOL" = callgrind ]; then
	# Both daemons run under callgrind from the start.
	start_tund() {
		ip netns exec "$1" valgrind --tool=callgrind --trace-children=no \
			--callgrind-out-file="$OUT/callgrind-$STAMP-$(basename "$2" .conf).out" \
			"$TUND" --config "$2" >>"$3" 2>&1 &
		TUND_PID=$!
		t_track "$TUND_PID"
	}
fi
pair_up
wait_until 60 ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 || fail "tunnel did not come up"
ip netns exec "$NS_B" iperf3 -s >"$T_DIR/iperf3.log" 2>&1 &
t_track $!
wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q ':5201 '" || fail "iperf3 server"

t0=$(cpu_ticks "$PID_A" "$PID_B")
if [ "$TOOL" = perf ]; then
	DATA=$OUT/perf-$STAMP.data
	perf record -q -e "$(perf_event)" -F 999 -g -p "$PID_A,$PID_B" -o "$DATA" -- sleep "$((SECS + 1))" \
		>"$T_DIR/perf.log" 2>&1 &
	prof=$!
	t_track "$prof"
	sleep 0.5
fi
tcp_run "$NS_A" 10.77.0.2 1 "$SECS" "$T_DIR/tcp.json"
t1=$(cpu_ticks "$PID_A" "$PID_B")
mbit=$(tcp_mbit "$T_DIR/tcp.json") bytes=$(tcp_bytes "$T_DIR/tcp.json")
[ "$mbit" != NA ] || fail "iperf3 through the tunnel failed"

# A full-size TCP segment carries MTU - 52 bytes (IPv4, TCP with timestamps).
echo "tund pair, 1 TCP stream for $SECS s: $mbit Mbit/s; daemons used $(awk -v t=$((t1 - t0)) -v hz="$HZ" \
	'BEGIN { printf "%.2f", t / hz }') CPU-s, $(per_gb $((t1 - t0)) "$bytes") CPU-s per GB, about" \
	"$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v b="$bytes" \
	'BEGIN { printf "%.1f", t / hz / (b / 1368) / 2 * 1e6 }') µs of CPU per 1420-byte packet per end"

if [ "$TOOL" = perf ]; then
	wait "$prof" || fail "perf record failed: $(cat "$T_DIR/perf.log")"
	t_untrack "$prof"
	echo
	echo "== where the samples are, by object (both daemons, all threads) =="
	perf report -i "$DATA" --stdio --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -n 12
	echo
	echo "== top symbols, self time =="
	perf report -i "$DATA" --stdio --no-children --sort dso,sym -g none 2>/dev/null |
		grep -E '^ +[0-9]' | head -n "${PROFILE_TOP:-30}"
	echo
	echo "== tund's functions and the library calls it makes, including callees (kernel work under a system call counts for it) =="
	perf report -i "$DATA" --stdio --children --sort dso,sym -g none 2>/dev/null |
		grep -E '^ +[0-9]' | grep -E ' (tund|libc[^ ]*|libsodium[^ ]*) ' | grep -v -e start_thread -e '\] 0x' | head -n 25
	echo
	if [ "$(perf_event)" = cpu-clock ]; then
		echo "(cpu-clock samples taken while interrupts are off land where they are switched on again:"
		echo " *irq_enable* and *irqrestore* above stand for that kernel work, mostly wake-ups and the"
		echo " softirq that delivers each packet; perf report -i DATA -S SYMBOL -g caller shows the callers)"
		echo
	fi
	echo "perf data: $DATA (perf report -i $DATA)"
else
	stop_pid "$PID_A" 60; stop_pid "$PID_B" 60
	for f in "$OUT"/callgrind-"$STAMP"-*.out; do
		echo
		echo "== $(basename "$f"): top functions by instructions (self) =="
		callgrind_annotate --inclusive=no "$f" 2>/dev/null | sed -n '/^Ir/,$p' | head -n "${PROFILE_TOP:-30}"
	done
fi
