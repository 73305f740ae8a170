#!/usr/bin/env bash
# make bench: TCP throughput (iperf3, 1 stream) and idle ping RTT through the
# plain veth, tund and wireguard-go, measured in one run on this machine, with
# ratios. Namespaces tt-bench-*; everything is removed on exit.
# Usage: bench.sh [SECONDS] [REPS]
set -u
. "$(dirname "$0")/../netns/lib.sh"
t_init bench
. "$(dirname "$0")/../netns/lib_pair.sh"
SECS=${1:-10}
REPS=${2:-3}
for tool in iperf3 wireguard-go wg jq; do
	command -v $tool >/dev/null || fail "$tool missing (make deps)"
done
pair_ns

iperf_mbit() { # NS_CLIENT SERVER_ADDR
	ip netns exec "$1" iperf3 -c "$2" -t "$SECS" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e6 | floor'
}
ping_median() { # NS ADDR
	ip netns exec "$1" ping -c 100 -i 0.01 -q "$2" 2>/dev/null >/dev/null
	ip netns exec "$1" ping -c 200 -i 0.01 "$2" 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\).*/\1/p' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ip netns exec "$NS_B" iperf3 -s >"$T_DIR/iperf3.log" 2>&1 &
t_track $!
wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q ':5201 '" || fail "iperf3 server"

# tund between a and b
pair_up_nodes() {
	node_conf a 1; node_conf b 2
	start_a; start_b
	PUB_A=$(ctl_a status --json | jq -r .public_key)
	PUB_B=$(ctl_b status --json | jq -r .public_key)
	ctl_a peer add "$PUB_B" --endpoint 192.0.2.2:51820 --allowed-ips 10.77.0.2/32 >/dev/null
	ctl_b peer add "$PUB_A" --endpoint 192.0.2.1:51820 --allowed-ips 10.77.0.1/32 >/dev/null
	wait_until 20 ip netns exec "$NS_A" ping -c1 -W1 10.77.0.2 || fail "tund tunnel"
}
pair_up_nodes

# wireguard-go between a and b on port 51830, overlay 10.88.0.0/16
WGA=ttbwa$$ WGB=ttbwb$$
umask 077
for n in a b; do wg genkey >"$T_DIR/wg$n.key"; done
for n in a b; do
	ns=$NS_A; dev=$WGA; [ $n = b ] && ns=$NS_B && dev=$WGB
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go -f "$dev" \
		>"$T_DIR/wg$n.log" 2>&1 &
	t_track $!
	wait_until 20 test -S "/var/run/wireguard/$dev.sock" || fail "wireguard-go $n"
done
trap 'rm -f /var/run/wireguard/$WGA.sock /var/run/wireguard/$WGB.sock; t_cleanup' EXIT
ip netns exec "$NS_A" wg set "$WGA" private-key "$T_DIR/wga.key" listen-port 51830 peer \
	"$(wg pubkey <"$T_DIR/wgb.key")" endpoint 192.0.2.2:51830 allowed-ips 10.88.0.2/32
ip netns exec "$NS_B" wg set "$WGB" private-key "$T_DIR/wgb.key" listen-port 51830 peer \
	"$(wg pubkey <"$T_DIR/wga.key")" endpoint 192.0.2.1:51830 allowed-ips 10.88.0.1/32
ip -n "$NS_A" addr add 10.88.0.1/16 dev "$WGA"; ip -n "$NS_A" link set "$WGA" mtu 1420 up
ip -n "$NS_B" addr add 10.88.0.2/16 dev "$WGB"; ip -n "$NS_B" link set "$WGB" mtu 1420 up
wait_until 20 ip netns exec "$NS_A" ping -c1 -W1 10.88.0.2 || fail "wireguard-go tunnel"

declare -A tcp rtt
for target in veth:192.0.2.2 tund:10.77.0.2 wireguard-go:10.88.0.2; do
	tcp[${target%%:*}]=""; rtt[${target%%:*}]=""
done
# Interleaved repetitions, so drift on a shared machine hits every row alike.
for rep in $(seq 1 "$REPS"); do
	for target in veth:192.0.2.2 tund:10.77.0.2 wireguard-go:10.88.0.2; do
		name=${target%%:*} addr=${target#*:}
		tcp[$name]+="$(iperf_mbit "$NS_A" "$addr") "
		rtt[$name]+="$(ping_median "$NS_A" "$addr") "
		echo "rep $rep $name done" >&2
	done
done
printf '\n%-14s %14s %12s %16s\n' "path" "TCP Mbit/s" "vs wg-go" "ping median ms"
wgt=$(tr ' ' '\n' <<<"${tcp[wireguard-go]}" | grep . | median)
for name in veth tund wireguard-go; do
	t=$(tr ' ' '\n' <<<"${tcp[$name]}" | grep . | median)
	r=$(tr ' ' '\n' <<<"${rtt[$name]}" | grep . | median)
	printf '%-14s %14s %11sx %16s\n' "$name" "$t" "$(awk -v a="$t" -v b="$wgt" 'BEGIN{printf "%.2f", a/b}')" "$r"
done
echo "(medians of $REPS interleaved runs; iperf3 -t $SECS, 1 stream, MTU 1420; $(nproc) CPUs)"
