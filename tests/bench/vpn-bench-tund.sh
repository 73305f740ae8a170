#!/usr/bin/env bash
# tund as a `cmd:` plug-in of an independent VPN benchmark harness
# (vpn-bench.sh): `vpn-bench.sh run cmd:tests/bench/vpn-bench-tund.sh`.
# Called as "$0 up" once the harness has made two namespaces joined by an
# underlay, and "$0 down" before it removes them. The harness sets:
#   VB_NS_A VB_NS_B          the namespaces
#   VB_UNDER_A VB_UNDER_B    underlay IPv4 addresses
#   VB_OVER_A VB_OVER_B VB_OVER_PLEN  overlay addresses and prefix length
#   VB_MTU                   overlay MTU
#   VB_WORK                  an empty scratch directory
#   VB_PIDFILE               where the daemons' pids go (measured, then killed)
# Two tund daemons in the foreground, peered by static endpoints. The binaries
# are build/tund and build/tundctl of this tree (TUND, TUNDCTL override).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TUND=${TUND:-$TOP/build/tund}
TUNDCTL=${TUNDCTL:-$TOP/build/tundctl}
PORT=51820

ctl() { "$TUNDCTL" --socket "$VB_WORK/$1/tund.sock" "${@:2}"; }

# start NAME NS OVERLAY: writes the config, starts tund, waits for its socket.
start() {
	local n=$1 ns=$2 over=$3 i
	mkdir -p -m 700 "$VB_WORK/$n"
	cat >"$VB_WORK/$n.conf" <<CFG
[interface]
name = vbtund-$n
address = $over/$VB_OVER_PLEN
mtu = $VB_MTU
listen_port = $PORT
[paths]
state_dir = $VB_WORK/$n/state
control_socket = $VB_WORK/$n/tund.sock
CFG
	ip netns exec "$ns" "$TUND" --config "$VB_WORK/$n.conf" >"$VB_WORK/tund-$n.log" 2>&1 </dev/null &
	echo $! >>"$VB_PIDFILE"
	for i in $(seq 1 200); do
		ctl "$n" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "tund $n did not start; its log:" >&2
	cat "$VB_WORK/tund-$n.log" >&2
	return 1
}

case ${1:-} in
up)
	[ -x "$TUND" ] && [ -x "$TUNDCTL" ] || { echo "$TUND or $TUNDCTL missing: run make" >&2; exit 1; }
	start a "$VB_NS_A" "$VB_OVER_A"
	start b "$VB_NS_B" "$VB_OVER_B"
	pub_a=$(ctl a status --json | jq -r .public_key)
	pub_b=$(ctl b status --json | jq -r .public_key)
	ctl a peer add "$pub_b" --name b --endpoint "$VB_UNDER_B:$PORT" --allowed-ips "$VB_OVER_B/32" >/dev/null
	ctl b peer add "$pub_a" --name a --endpoint "$VB_UNDER_A:$PORT" --allowed-ips "$VB_OVER_A/32" >/dev/null
	;;
down)
	# The harness stops the pids in VB_PIDFILE; the TUN devices go with the
	# namespaces, the state with VB_WORK.
	;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
