#!/usr/bin/env bash
# make bench: tund next to the plain veth and the packaged userspace VPNs
# (wireguard-go, nebula, tinc, openvpn), all in one run on this machine.
# Two namespaces over a veth (MTU 1500), overlay MTU 1420, every VPN up at
# once; repetitions are interleaved (rep 1 of every path, then rep 2, ...) so
# that drift on a shared machine hits every row alike. Prints medians and
# ratios against wireguard-go and nebula, then tund's RSS with 250 peers and
# the transport cipher's two backends per packet size (aead_bench.c) and the
# seal/open pipeline with 0, 1 and 2 crypto workers (pool_bench.c).
# tund runs with its default crypto_workers (auto); TUND_CRYPTO_WORKERS=N in
# the environment sets it for the run (the header says which).
#
# Environment:
#   BENCH_REPS=3        repetitions
#   BENCH_SECS=10       seconds per TCP test (UDP tests take half)
#   BENCH_ALL=1         include tinc and openvpn (0: veth tund wireguard-go nebula)
#   BENCH_FLOOR=1       include the latency floor (floor_fwd.c: idle pings only)
#   BENCH_PATHS=1       also run paths.sh (ICE direct and TURN relay)
#   BENCH_PEERS=250     static peers for the memory figure
#   BENCH_OUT=build/bench  where the raw results (TSV) are kept
# Namespaces are tt-bench-*; everything is removed on exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../netns/lib.sh"
t_init bench
. "$HERE/../netns/lib_pair.sh"
. "$HERE/lib_measure.sh"
. "$HERE/lib_vpns.sh"
. "$HERE/lib_report.sh"
trap 'vpn_cleanup; t_cleanup' EXIT

REPS=${BENCH_REPS:-3}
SECS=${BENCH_SECS:-10}
UDP_SECS=$(((SECS + 1) / 2))
PEERS=${BENCH_PEERS:-250}
PATHS="veth tund wireguard-go nebula"
[ "${BENCH_ALL:-1}" = 1 ] && PATHS="$PATHS tinc openvpn"
[ "${BENCH_FLOOR:-1}" = 1 ] && PATHS="$PATHS floor floor-seal"
OUT=${BENCH_OUT:-$TOP/build/bench}
mkdir -p "$OUT"
RESULTS=$OUT/bench-$(date -u +%Y%m%dT%H%M%SZ).tsv

[ "$(id -u)" = 0 ] || fail "needs root (namespaces, TUN devices)"
"$HERE/deps.sh" || fail "cannot install the tools to compare with"
# A tund of its own with the Makefile's default (optimised) flags, whatever
# `make` was last run with in build/.
env -u CFLAGS make -s -C "$TOP" B=build/bench-opt build/bench-opt/tund build/bench-opt/tundctl \
	build/bench-opt/floor_fwd build/bench-opt/aead_bench build/bench-opt/pool_bench ||
	fail "build failed"
TUND=$TOP/build/bench-opt/tund TUNDCTL=$TOP/build/bench-opt/tundctl
FLOOR_FWD=$TOP/build/bench-opt/floor_fwd

emit() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

# measure PATH REP: every figure for one path, appended to $RESULTS.
measure() {
	local p=$1 rep=$2 addr=${TARGET[$1]} t0 t1 lping n
	if ! vpn_alive "$p"; then
		t_log "$p: a daemon has exited; no figures for rep $rep"
		return
	fi
	emit "$p" ping_idle "$(ping_idle "$NS_A" "$addr" 200)" "$rep"
	# shellcheck disable=SC2086 # DAEMONS holds a list of pids
	emit "$p" ping_1cpu "$(ping_one_cpu "$NS_A" "$addr" 200 ${DAEMONS[$p]})" "$rep"
	emit "$p" ping_busy "$(ping_busy_cpus "$NS_A" "$addr" 200)" "$rep"
	case $p in floor*) return ;; esac # a yardstick for latency, not a VPN

	# One TCP stream, with the daemons' CPU time and pings alongside.
	n=$(((SECS - 2) * 20)); [ "$n" -ge 10 ] || n=10
	(sleep 1; ip netns exec "$NS_A" ping -n -c "$n" -i 0.05 -W 1 "$addr" >"$T_DIR/lping.out" 2>&1) &
	lping=$!
	t0=$(cpu_ticks ${DAEMONS[$p]})
	tcp_run "$NS_A" "$addr" 1 "$SECS" "$T_DIR/tcp1.json"
	t1=$(cpu_ticks ${DAEMONS[$p]})
	wait "$lping"
	emit "$p" tcp1 "$(tcp_mbit "$T_DIR/tcp1.json")" "$rep"
	emit "$p" ping_load "$(rtt_median "$T_DIR/lping.out")" "$rep"
	[ -n "${DAEMONS[$p]}" ] &&
		emit "$p" cpu_per_gb "$(per_gb $((t1 - t0)) "$(tcp_bytes "$T_DIR/tcp1.json")")" "$rep"

	tcp_run "$NS_A" "$addr" 4 "$SECS" "$T_DIR/tcp4.json"
	emit "$p" tcp4 "$(tcp_mbit "$T_DIR/tcp4.json")" "$rep"
	emit "$p" udp64_pps "$(udp64_pps "$NS_A" "$addr" "$UDP_SECS")" "$rep"
}

# tund_rss_with_peers N: VmRSS (KiB) of tund a after adding N static peers
# with fresh keys (no endpoints: configured, not yet contacted).
tund_rss_with_peers() {
	local i key before
	before=$(awk '/^VmRSS/ {print $2}' "/proc/$PID_A/status")
	for i in $(seq 1 "$1"); do
		key=$("$TUNDCTL" genkey | "$TUNDCTL" pubkey) || fail "tundctl genkey"
		ctl_a peer add "$key" --name "p$i" \
			--allowed-ips "10.77.$((100 + i / 200)).$((i % 200 + 1))/32" >/dev/null ||
			fail "peer add $i"
	done
	[ "$(ctl_a peers --json | jq length)" -eq $(($1 + 1)) ] || fail "tund a does not list $1 peers"
	emit tund rss_before_kib "$before" 0
	emit tund rss_peers_kib "$(awk '/^VmRSS/ {print $2}' "/proc/$PID_A/status")" 0
}

t_log "results: $RESULTS; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
machine_header >"$RESULTS.head"
echo "tund crypto workers: TUND_CRYPTO_WORKERS=${TUND_CRYPTO_WORKERS:-unset (auto)}" >>"$RESULTS.head"
pair_ns
ip -n "$NS_A" link set eth0 mtu 1500
ip -n "$NS_B" link set eth0 mtu 1500
up=""
for p in $PATHS; do
	if vpn_up "$p"; then
		up="$up $p"
	elif [ "$p" = tund ] || [ "$p" = veth ] || [ "${p%-seal}" = floor ]; then
		fail "$p: ${TARGET[$p]} does not answer"
	else
		# A competitor that does not come up here is left out, loudly.
		t_log "WARNING: $p did not come up (${TARGET[$p]} does not answer); left out"
		for f in "$T_DIR/$p"-*.log; do [ -f "$f" ] && tail -n 5 "$f" >&2; done
	fi
done
PATHS=${up# }
ip netns exec "$NS_B" iperf3 -s >"$T_DIR/iperf3.log" 2>&1 &
t_track $!
wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q ':5201 '" || fail "iperf3 server"

for rep in $(seq 1 "$REPS"); do
	for p in $PATHS; do
		t_log "rep $rep/$REPS: $p"
		measure "$p" "$rep"
	done
done
tund_rss_with_peers "$PEERS"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS.head"

cat "$RESULTS.head"
report_table "$RESULTS" "$PATHS" "$REPS" "$SECS" "$PEERS"
report_aead "$TOP/build/bench-opt/aead_bench" || fail "aead_bench failed"
report_pool "$TOP/build/bench-opt/pool_bench" || fail "pool_bench failed"
if [ "${BENCH_PATHS:-0}" = 1 ]; then
	vpn_cleanup; t_cleanup; trap - EXIT
	BENCH_SECS=$SECS "$HERE/paths.sh" || fail "paths.sh failed"
fi
