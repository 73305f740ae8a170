# shellcheck shell=bash
# Measurements for the benchmarks, each run from one namespace towards an
# address. Values go to stdout, one number (or NA), so callers can collect
# them; failures print NA instead of stopping the run.

HZ=$(getconf CLK_TCK)

# median: numbers on stdin (NA and blanks ignored) -> their median, or NA.
median() {
	grep -E '^-?[0-9.]+$' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "NA"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m
		}'
}

# cpu_ticks PID...: utime+stime of these processes (all their threads).
cpu_ticks() {
	local t=0 pid s f
	for pid in "$@"; do
		s=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		# Fields after "(comm) ": state is index 0, utime 11, stime 12.
		read -ra f <<<"${s##*) }"
		t=$((t + f[11] + f[12]))
	done
	echo "$t"
}

# rtt_median FILE: the median RTT in ms from ping output, or NA.
rtt_median() { sed -n 's/.*time=\([0-9.]*\).*/\1/p' "$1" | median; }

# ping_idle NS ADDR COUNT: median RTT of COUNT pings 10 ms apart, after a
# short warm-up so that ARP and handshakes are not in the numbers.
ping_idle() {
	local out=$T_DIR/ping.out
	ip netns exec "$1" ping -n -q -c 20 -i 0.01 -W 1 "$2" >/dev/null 2>&1
	ip netns exec "$1" ping -n -c "$3" -i 0.01 -W 1 "$2" >"$out" 2>&1
	rtt_median "$out"
}

# ping_one_cpu NS ADDR COUNT PID...: ping_idle with ping and every thread of
# the given daemons on CPU 0, their affinity given back after. On a VM a
# wake-up on the other vCPU costs ~0.1 ms; this shows what a VPN adds when
# its hand-offs stay on one CPU (the kernel's own path, the veth, always
# does).
ping_one_cpu() {
	local ns=$1 addr=$2 count=$3 p out=$T_DIR/ping1.out all
	shift 3
	all=0-$(($(nproc) - 1))
	for p in "$@"; do taskset -a -c -p 0 "$p" >/dev/null; done
	ip netns exec "$ns" taskset -c 0 ping -n -q -c 20 -i 0.01 -W 1 "$addr" >/dev/null 2>&1
	ip netns exec "$ns" taskset -c 0 ping -n -c "$count" -i 0.01 -W 1 "$addr" >"$out" 2>&1
	for p in "$@"; do taskset -a -c -p "$all" "$p" >/dev/null; done
	rtt_median "$out"
}

# ping_busy_cpus NS ADDR COUNT: ping_idle while one busy loop per CPU runs at
# nice 19, so that no CPU is idle. On a VM, waking a thread on an idle vCPU is
# slow; this shows what a VPN adds when no wake-up has to start one.
ping_busy_cpus() {
	local i loops=() p rtt
	for i in $(seq "$(nproc)"); do
		nice -n 19 sh -c 'while :; do :; done' &
		loops+=("$!")
		t_track "$!"
	done
	rtt=$(ping_idle "$@")
	for p in "${loops[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		t_untrack "$p"
	done
	echo "$rtt"
}

# tcp_run NS ADDR STREAMS SECS JSON: an iperf3 TCP test; JSON keeps the report.
tcp_run() {
	timeout $(($4 + 30)) ip netns exec "$1" iperf3 -c "$2" -P "$3" -t "$4" -J >"$5" 2>/dev/null
}

# tcp_mbit JSON / tcp_bytes JSON: received rate in Mbit/s, bytes received.
tcp_mbit() { jq -er '.end.sum_received.bits_per_second / 1e6 | . * 10 | round / 10' "$1" 2>/dev/null || echo NA; }
tcp_bytes() { jq -er '.end.sum_received.bytes' "$1" 2>/dev/null || echo NA; }

# udp64_pps NS ADDR SECS: 64-byte UDP datagrams at full speed (-b 0);
# prints the delivered rate, (packets - lost) / seconds at the receiver.
udp64_pps() {
	local json=$T_DIR/udp.json
	timeout $(($3 + 30)) ip netns exec "$1" iperf3 -c "$2" -u -l 64 -b 0 -t "$3" -J >"$json" 2>/dev/null
	jq -er '.end.sum_received | (.packets - .lost_packets) / .seconds | round' "$json" 2>/dev/null || echo NA
}

# per_gb TICKS BYTES: CPU seconds per 10^9 bytes moved.
per_gb() {
	awk -v t="$1" -v b="$2" -v hz="$HZ" \
		'BEGIN { if (b == "NA" || b <= 0) print "NA"; else printf "%.2f\n", t / hz / (b / 1e9) }'
}
