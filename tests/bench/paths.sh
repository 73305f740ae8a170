#!/usr/bin/env bash
# tund's TCP throughput over the paths ICE finds, next to a static-endpoint
# path through the same NAT lab (tests/netns/natlab.sh):
#   static  two extra daemons on a and b, peered by their routers' public
#           addresses (cone NATs preserve ports; both sides send first)
#   direct  a network made by invite, ICE finds a direct path (cone NATs)
#   relay   the same, behind symmetric NATs: ICE settles on the TURN relay
# static and direct share one lab and are interleaved; relay has its own.
# Every daemon uses overlay MTU 1380 (the NAT-lab tests' value, which leaves
# room for TURN's framing), so the rows compare like with like.
# In the relay lab, interleaved with the relay rows: coturn's own ceiling
# (tests/bench/turn_probe.c, two plain UDP clients through the same coturn,
# relay -> relay like tund's pair), and tund's relay row as a share of it.
# Then the time to first ping after join (lib_join.sh) on a LAN, through the
# cone NATs and through the relay, each with fresh daemons; also mixed (a
# cone, b symmetric: relayed) and cone-blocked (cone NATs, UDP between the
# routers dropped: relayed).
# Environment: BENCH_REPS (3), BENCH_SECS (10), BENCH_JOIN_REPS (5),
# BENCH_PATHS_ONLY=relay (only the relay lab: tund's relay row and coturn's
# ceiling, no join times), BENCH_TUND_EXTRA (config lines appended to the
# network daemons' configs, e.g. "[ice]" and "fast_path = off" on two lines),
# BENCH_RELAY_SHAPE (the relayed pair's candidates on a, e.g. relay→relay:
# fresh daemons until ICE picks it).
# Namespaces tt-paths-*.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../netns/lib.sh"
t_init paths
. "$HERE/../netns/natlab.sh"
. "$HERE/../netns/lib_tund.sh"
. "$HERE/lib_measure.sh"
. "$HERE/lib_join.sh"
LAB_TAG=paths
REPS=${BENCH_REPS:-3}
SECS=${BENCH_SECS:-10}
JOIN_N=${BENCH_JOIN_REPS:-5}
ONLY=${BENCH_PATHS_ONLY:-}
[ -z "$ONLY" ] || [ "$ONLY" = relay ] || fail "BENCH_PATHS_ONLY: only 'relay' is known"
STATIC_PORT=51830
# TCP payload per packet at overlay MTU 1380 (IPv4, TCP with timestamps).
TCP_PAYLOAD=1328

[ "$(id -u)" = 0 ] || fail "needs root (namespaces, TUN devices)"
env -u CFLAGS make -s -C "$TOP" B=build/bench-opt build/bench-opt/tund build/bench-opt/tundctl \
	build/bench-opt/turn_probe build/bench-opt/floor_fwd || fail "build failed"
TUND=$TOP/build/bench-opt/tund TUNDCTL=$TOP/build/bench-opt/tundctl
TURN_PROBE=$TOP/build/bench-opt/turn_probe
declare -A MBIT=() RTT=()
CEIL_RTT="" CEIL_PPS="" CEIL_MBIT="" FLOOR_RTT=""

# static_node HOST INDEX: a second daemon on HOST (device tts, 10.66.0.INDEX/24,
# UDP $STATIC_PORT); its peer is added by static_peer. It forwards no
# broadcasts: the network daemons' LAN beacons would cross it and make them
# take this tunnel as their LAN path.
static_node() {
	local h=$1 n=s$1
	mkdir -p "$T_DIR/$n"
	cat >"$T_DIR/$n.conf" <<CFG
[interface]
name = tts
address = 10.66.0.$2/24
mtu = 1380
listen_port = $STATIC_PORT
broadcast = off
[paths]
state_dir = $T_DIR/$n/state
control_socket = $T_DIR/$n/tund.sock
CFG
	lab_bg "$h" "$T_DIR/tund-$n.log" "$TUND" --config "$T_DIR/$n.conf"
	wait_until 20 ctl "$n" status || fail "static tund on $h did not start"
}

# static_peer HOST PEER-HOST PEER-INDEX: HOST's static daemon knows the peer
# at the peer's router's public address.
static_peer() {
	ctl "s$1" peer add "$(pubkey "s$2")" --endpoint "$(lab_wan "$2"):$STATIC_PORT" \
		--allowed-ips "10.66.0.$3/32" >/dev/null || fail "static peer add on $1"
}

# network_pair: a creates a network with the lab's broker and TURN, b joins.
network_pair() {
	local invite
	tund_node a "" "${BENCH_TUND_EXTRA:-}"
	tund_node b "" "${BENCH_TUND_EXTRA:-}"
	invite=$(ctl a network create bench --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
	[[ $invite == tund1:* ]] || fail "no invite: $invite"
	ctl b join "$invite" >/dev/null || fail "join failed"
	ICE_B=$(overlay_addr b)
	KB=$(pubkey b)
}

# measure NAME ADDR: one TCP stream a -> b and the idle RTT, for NAME.
measure() {
	local json=$T_DIR/tcp.json mbit rtt
	rtt=$(ping_idle "$(lab_ns a)" "$2" 100)
	RTT[$1]+="$rtt "
	tcp_run "$(lab_ns a)" "$2" 1 "$SECS" "$json"
	mbit=$(tcp_mbit "$json")
	MBIT[$1]+="$mbit "
	t_log "$1: $mbit Mbit/s, idle ping $rtt ms"
}

# ceiling_shape: from tund's relayed pair (a's candidate -> b's), the shape
# of coturn's ceiling: each end a TURN client (its candidate is a relay)
# or plain UDP to the other's relayed address (a prflx/srflx candidate).
ceiling_shape() {
	local c
	c=$(peer_field a "$KB" candidates)
	CEIL_A=plain CEIL_B=plain
	[[ $c == relay→* ]] && CEIL_A=turn
	[[ $c == *→relay ]] && CEIL_B=turn
	[ "$CEIL_A$CEIL_B" != plainplain ] || fail "the relayed pair $c uses no relay"
	CEIL_SHAPE=$c
}

# peer_args: turn_probe's last argument for a (pa) and b (pb): "turn", or
# "plain:" and the other's public address when the other end is plain.
peer_args() {
	pa=turn pb=turn
	[ "$CEIL_A" = turn ] || pb=plain:$(lab_wan a)
	[ "$CEIL_B" = turn ] || pa=plain:$(lab_wan b)
}

# ceiling REP: coturn's own ceiling, one round of turn_probe (a sends, b
# echoes) in tund's pair's shape: idle round trip, datagrams and payload
# Mbit/s delivered.
ceiling() {
	local d=$T_DIR/probe$1 out echo_pid res pa pb
	mkdir -p "$d"
	peer_args
	lab_bg b "$d/echo.out" "$TURN_PROBE" "$LAB_SRV:3478" "$LAB_TURN_USER" "$LAB_TURN_PASS" \
		"$d" b a echo "$SECS" "$CEIL_B" "$pb"
	echo_pid=$LAB_PID
	out=$(lab_exec a "$TURN_PROBE" "$LAB_SRV:3478" "$LAB_TURN_USER" "$LAB_TURN_PASS" \
		"$d" a b send "$SECS" "$CEIL_A" "$pa" 2>&1)
	wait "$echo_pid"
	t_untrack "$echo_pid"
	res=$(cat "$d/echo.out")
	t_log "coturn ceiling ($CEIL_A→$CEIL_B): $out; $res"
	CEIL_RTT+="$(sed -n 's/.*rtt_ms=\([0-9.]*\).*/\1/p' <<<"$out") "
	CEIL_PPS+="$(sed -n 's/.*pps=\([0-9.]*\).*/\1/p' <<<"$res") "
	CEIL_MBIT+="$(sed -n 's/.*mbit=\([0-9.]*\).*/\1/p' <<<"$res") "
}

# relay_floor REP: the latency floor through the relay: floor_fwd (a sealed
# one-thread TUN forwarder, make bench's floor-seal) on a and b, on
# turn_probe's sockets in the ceiling's shape; a's idle ping to b's TUN
# through it. 169.254.67.x: link-local, which ICE's host candidates leave
# out, so the pair's upgrade probes cannot find a path through the floor.
# What any TUN VPN adds over coturn's ceiling before its own logic runs: a
# second wake-up per end and the kernel's TUN path.
relay_floor() {
	local d=$T_DIR/floor$1 pa pb pid_a pid_b rtt h
	mkdir -p "$d"
	peer_args
	lab_bg b "$d/b.out" "$TURN_PROBE" "$LAB_SRV:3478" "$LAB_TURN_USER" "$LAB_TURN_PASS" \
		"$d" b a tun:ttf 0 "$CEIL_B" "$pb"
	pid_b=$LAB_PID
	lab_bg a "$d/a.out" "$TURN_PROBE" "$LAB_SRV:3478" "$LAB_TURN_USER" "$LAB_TURN_PASS" \
		"$d" a b tun:ttf 0 "$CEIL_A" "$pa"
	pid_a=$LAB_PID
	for h in a b; do
		wait_until 30 lab_exec "$h" ip link show ttf || fail "relay floor: no TUN on $h: $(cat "$d/$h.out")"
	done
	# No multicast: tund's LAN beacons would cross the floor and make the
	# pair take it as their LAN path.
	lab_exec a ip addr add 169.254.67.1/24 dev ttf && lab_exec a ip link set ttf multicast off up &&
		lab_exec b ip addr add 169.254.67.2/24 dev ttf && lab_exec b ip link set ttf multicast off up ||
		fail "relay floor: addresses on ttf"
	wait_until 30 pings a 169.254.67.2 || fail "relay floor: no ping through it: $(cat "$d/a.out" "$d/b.out")"
	rtt=$(ping_idle "$(lab_ns a)" 169.254.67.2 100)
	for h in "$pid_a" "$pid_b"; do
		kill "$h" && wait "$h" 2>/dev/null
		t_untrack "$h"
	done
	t_log "relay floor ($CEIL_A→$CEIL_B): idle ping $rtt ms"
	FLOOR_RTT+="$rtt "
}

iperf_server() {
	lab_bg b "$T_DIR/iperf3.log" iperf3 -s
	wait_until 10 lab_exec b sh -c "ss -ltn | grep -q ':5201 '" || fail "iperf3 server"
}

# --- cone NATs: static endpoints and the ICE direct path --------------------
FAST=""
if [ -z "$ONLY" ]; then
lab_up cone
network_pair
static_node a 1
static_node b 2
static_peer a b 2
static_peer b a 1
# Neither router lets the first packet in: both sides send until one
# handshake crosses the holes the other side's packets opened.
lab_bg b "$T_DIR/ping-b.log" ping -c 60 -i 0.5 10.66.0.1
wait_until 60 pings a 10.66.0.2 || fail "static path through the cone NATs did not come up"
wait_until 60 pings a "$ICE_B" || fail "ICE path did not come up"
wait_until 30 path_is a "$KB" direct || fail "ICE path is $(peer_field a "$KB" path), want direct"
t_log "ICE: $(peer_field a "$KB" candidates) $(peer_field a "$KB" local_addr) -> $(peer_field a "$KB" remote_addr)"
iperf_server
for rep in $(seq 1 "$REPS"); do
	measure static 10.66.0.2
	measure direct "$ICE_B"
done
path_is a "$KB" direct || fail "the ICE path moved to $(peer_field a "$KB" path) during the test"
# Builds with a fast path for direct pairs say whether it carried the data.
FAST=$(ctl b status --json | jq -c '.fast_paths // empty')
if [ -n "$FAST" ]; then t_log "b's fast path after the direct tests: $FAST"; fi
tund_stop a
tund_stop b
rm -rf "$T_DIR/a" "$T_DIR/b"
join_reps cone "$JOIN_N"
lab_down
rm -rf "$T_DIR/a" "$T_DIR/b"
fi

# --- symmetric NATs: the TURN relay -------------------------------------------
lab_up symmetric
# BENCH_RELAY_SHAPE (e.g. relay→relay): new daemons until ICE picks that pair
# (a's view), so that A/B runs compare like with like; up to 6 tries.
SHAPE=${BENCH_RELAY_SHAPE:-}
for try in 1 2 3 4 5 6; do
	network_pair
	wait_until 60 pings a "$ICE_B" || fail "relayed path did not come up"
	wait_until 30 path_is a "$KB" relay || fail "path is $(peer_field a "$KB" path), want relay"
	got=$(peer_field a "$KB" candidates)
	[ -z "$SHAPE" ] || [ "$got" = "$SHAPE" ] && break
	t_log "relay: pair $got, want $SHAPE: new daemons (try $try)"
	tund_stop a
	tund_stop b
	rm -rf "$T_DIR/a" "$T_DIR/b"
done
[ -z "$SHAPE" ] || [ "$got" = "$SHAPE" ] || fail "ICE picked $got, not $SHAPE, 6 times"
t_log "relay: $(peer_field a "$KB" candidates), TURN over $(peer_field a "$KB" relay_transport)"
iperf_server
# The TURN server's CPU over each tund relay row: on this machine it shares
# the CPUs with both daemons (doc/paths.md, "Normal priority while relayed").
# ICE may move a relay→relay pair to one that crosses coturn once (its
# checks keep running): each round's ceiling and floor take the shape of
# the pair at the end of that round's tund row.
SHAPES=""
for rep in $(seq 1 "$REPS"); do
	before=$(peer_field a "$KB" candidates)
	t0=$(cpu_ticks "$LAB_TURN_PID")
	measure relay "$ICE_B"
	t_log "coturn CPU over that row: $(awk -v t=$(($(cpu_ticks "$LAB_TURN_PID") - t0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }') s"
	ceiling_shape
	[ "$before" = "$CEIL_SHAPE" ] || t_log "relay: ICE moved the pair from $before to $CEIL_SHAPE during that row"
	[[ " $SHAPES " == *" $CEIL_SHAPE "* ]] || SHAPES="${SHAPES:+$SHAPES }$CEIL_SHAPE"
	ceiling "$rep"
	relay_floor "$rep"
	path_is a "$KB" relay || fail "the relayed path moved to $(peer_field a "$KB" path) during the floor round"
done
path_is a "$KB" relay || fail "the relayed path moved to $(peer_field a "$KB" path) during the test"
CEIL_SHAPE=${SHAPES// / and }
# The TURN server's UDP drops (a full receive buffer) over the relay rows.
udp_counters() {
	lab_exec "$1" awk '/^Udp:/ { if (h) { for (i = 2; i <= NF; i++) if (n[i] ~ /Datagrams|Errors/ && $i) printf "%s=%s ", n[i], $i } else { h = 1; for (i = 2; i <= NF; i++) n[i] = $i } }' /proc/net/snmp
}
for h in srv a b; do t_log "$h UDP: $(udp_counters "$h")"; done
t_log "b's drops: $(ctl b status --json | jq -c '.drops | with_entries(select(.value > 0))')"
RELAY_FAST=$(ctl b status --json | jq -c '.fast_paths // empty')
if [ -n "$RELAY_FAST" ]; then t_log "b's fast path after the relay tests: $RELAY_FAST"; fi
RELAY_A_FAST=$(ctl a status --json | jq -c '.fast_paths // empty')
if [ -n "$RELAY_A_FAST" ]; then t_log "a's fast path after the relay tests: $RELAY_A_FAST"; fi
tund_stop a
tund_stop b
rm -rf "$T_DIR/a" "$T_DIR/b"
[ -n "$ONLY" ] || join_reps relay "$JOIN_N"
lab_down

# --- one LAN: time to first ping only ----------------------------------------
if [ -z "$ONLY" ]; then
lab_up lan
join_reps LAN "$JOIN_N"
lab_down
fi

if [ -z "$ONLY" ]; then
# --- a cone, b symmetric: relayed (only b needs TURN; doc/paths.md "TURN only
# when needed"); and cone NATs with UDP between the routers dropped: the
# direct path a prediction expects fails, the relay comes after it ----------
lab_up mixed
join_reps mixed "$JOIN_N"
lab_down
lab_up cone
lab_block_direct
join_reps cone-blocked "$JOIN_N"
lab_down

printf '\n| tund path (NAT lab, overlay MTU 1380) | TCP 1 stream Mbit/s | vs static | idle ping ms |\n|---|---:|---:|---:|\n'
st=$(tr ' ' '\n' <<<"${MBIT[static]}" | median)
for p in static direct relay; do
	m=$(tr ' ' '\n' <<<"${MBIT[$p]}" | median)
	printf '| %s | %s | %s | %s |\n' "$p" "$m" \
		"$(awk -v a="$m" -v b="$st" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "–"; else printf "%.2f×", a / b }')" \
		"$(tr ' ' '\n' <<<"${RTT[$p]}" | median | awk '$1 == "NA" { print; next } { printf "%.3f\n", $1 }')"
done
echo "Medians of $REPS repetitions (static and direct interleaved), iperf3 -t $SECS; static = two daemons peered by public address:port through the same cone NATs."
if [ -n "$FAST" ]; then echo "ICE fast path on the receiving side after the direct runs: $FAST"; fi
fi

# Coturn's ceiling and tund's relayed pair, measured in turns on one lab.
cm=$(tr ' ' '\n' <<<"$CEIL_MBIT" | median)
cp=$(tr ' ' '\n' <<<"$CEIL_PPS" | median)
cr=$(tr ' ' '\n' <<<"$CEIL_RTT" | median)
rm_=$(tr ' ' '\n' <<<"${MBIT[relay]}" | median)
rr=$(tr ' ' '\n' <<<"${RTT[relay]}" | median)
printf '\n| relayed pair vs coturn (symmetric NATs, one coturn) | Mbit/s | packets/s | idle ping ms |\n|---|---:|---:|---:|\n'
printf '| coturn ceiling: plain UDP, %s like tund'"'"'s pair, 1412 B | %s | %s | %s |\n' "$CEIL_SHAPE" "$cm" "$cp" \
	"$(awk -v r="$cr" 'BEGIN { if (r == "NA") print r; else printf "%.3f", r }')"
printf '| tund relayed pair, TCP 1 stream | %s | %s | %s |\n' "$rm_" \
	"$(awk -v m="$rm_" -v p="$TCP_PAYLOAD" 'BEGIN { if (m == "NA") print m; else printf "%.0f", m * 1e6 / 8 / p }')" \
	"$(awk -v r="$rr" 'BEGIN { if (r == "NA") print r; else printf "%.3f", r }')"
printf '| tund / ceiling | – | %s | %s |\n' \
	"$(awk -v m="$rm_" -v p="$TCP_PAYLOAD" -v c="$cp" 'BEGIN { if (m == "NA" || c == "NA" || c == 0) print "–"; else printf "%.2f×", m * 1e6 / 8 / p / c }')" \
	"$(awk -v r="$rr" -v c="$cr" 'BEGIN { if (r == "NA" || c == "NA") print "–"; else printf "%+.3f ms", r - c }')"
fr=$(tr ' ' '\n' <<<"$FLOOR_RTT" | median)
printf '| floor-seal through coturn: a sealed one-thread TUN forwarder, %s | – | – | %s |\n' "$CEIL_SHAPE" \
	"$(awk -v r="$fr" 'BEGIN { if (r == "NA") print r; else printf "%.3f", r }')"
printf '| tund / floor | – | – | %s |\n' \
	"$(awk -v r="$rr" -v c="$fr" 'BEGIN { if (r == "NA" || c == "NA") print "–"; else printf "%+.3f ms", r - c }')"
echo "Medians of $REPS repetitions, each tund relay row followed by one ceiling round and one floor round in the shape of tund's pair at the end of that row. Ceiling: tests/bench/turn_probe.c on a and b through the lab's coturn in the shape of tund's pair (a relay end: a TURN client with its own allocation and a channel bound to the other end; a prflx/srflx end: plain UDP to the other's relayed address), 1412-byte datagrams (tund's at overlay MTU 1380) for $SECS s self-clocked (a window grown by one per acknowledgement, halved at a loss), Mbit/s of datagram payload delivered; idle ping: 116-byte datagrams (tund's for a 56-byte ping) 10 ms apart, median of 100. tund's packets/s: its TCP Mbit/s over $TCP_PAYLOAD payload bytes a packet. Floor: tests/bench/floor_fwd.c --seal on turn_probe's sockets, ping's idle RTT (56 bytes, 10 ms apart, median of 100) between its TUN devices. Goal (issue 21): tund ≥ 0.80× the ceiling's packets/s, idle ping ≤ ceiling + 0.05 ms."
[ -n "$ONLY" ] || join_table LAN cone relay mixed cone-blocked
