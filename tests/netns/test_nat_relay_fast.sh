#!/usr/bin/env bash
# A pair relayed by TURN over UDP (both friends behind symmetric NATs) goes on
# tund's fast path: both sides report the pair on it (a side whose local
# candidate is its TURN allocation once its channel is learnt from
# authenticated ChannelData; a side sending to the other's allocation is a
# direct pair to it), a 5 MB TCP transfer each way arrives
# intact, and the fast path's own counters carried it. Then coturn restarts
# (every allocation and channel lost): the pair pings again through new
# allocations and is back on the relayed fast path, on its new channel, with
# a new transfer intact. The packet threads stay at normal priority throughout.
# With pings only, the fast path's thread reads the TUN at both ends (light
# traffic on one thread).
set -u
. "$(dirname "$0")/lib.sh"
t_init natrelayfast
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"

fast_json() { ctl "$1" status --json | jq -c .fast_paths; }
# local_relay HOST KEY: HOST's side of the pair is its own TURN allocation
# (the other side may send to that allocation's address directly).
local_relay() { case $(peer_field "$1" "$2" candidates) in relay→*) ;; *) return 1 ;; esac; }
fast_side() { # HOST KEY: HOST's side of the relayed pair is on the fast path
	path_is "$1" "$2" relay && [ "$(peer_field "$1" "$2" fast_path)" = true ] || return 1
	local_relay "$1" "$2" || return 0
	[ "$(peer_field "$1" "$2" relay_transport)" = udp ] &&
		jq -e '.relayed >= 1' <<<"$(fast_json "$1")" >/dev/null
}
received() { fast_json "$1" | jq .received; }
# carried HOST BEFORE MIN: HOST's fast path delivered at least MIN datagrams since BEFORE.
carried() { [ $(($(received "$1") - $2)) -ge "$3" ]; }

lab_up symmetric
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b) KA=$(pubkey a) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b within 45 s"
path_is a "$KB" relay || fail "path on a is $(peer_field a "$KB" path), want relay"
# The channel is learnt from the peer's first authenticated data: pings.
learnt() {
	pings a "$B"
	pings b "$A"
	fast_side a "$KB" && fast_side b "$KA" && { local_relay a "$KB" || local_relay b "$KA"; }
}
wait_until 30 learnt ||
	fail "relayed pair not on the fast path: a $(peer_field a "$KB" candidates) $(fast_json a) fast_path=$(peer_field a "$KB" fast_path), b $(peer_field b "$KA" candidates) $(fast_json b) fast_path=$(peer_field b "$KA" fast_path)"
ch_a=$(cat "$T_DIR/tund-a.log" "$T_DIR/tund-b.log" | grep -o 'relayed, on TURN channel 0x[0-9a-f]*' | tail -n 1)
[ -n "$ch_a" ] || fail "no log names the learnt channel"

ra=$(received a) rb=$(received b)
transfer a b "$B" 5
transfer b a "$A" 5
# 5 MB is over 3,000 datagrams of at most 1,380 bytes each way: most of
# them must have come through the fast path, not libnice.
carried b "$rb" 3000 || fail "b's fast path carried $(($(received b) - rb)) datagrams of a 5 MB transfer"
carried a "$ra" 3000 || fail "a's fast path carried $(($(received a) - ra)) datagrams of a 5 MB transfer"
t_log "relayed fast path: $(peer_field a "$KB" candidates), ${ch_a}; 5 MB each way intact; a $(fast_json a)"
# A path through TURN keeps the packet threads at normal priority under bulk
# ([daemon] realtime is on by default; doc/paths.md): the relay, not tund, is
# the bottleneck, and here it shares the CPUs.
normal_priority() {
	local h rt
	for h in a b; do
		rt=$(ctl "$h" status --json | jq -c .realtime)
		jq -e '.enabled == true and .raised == 0 and .active == false' <<<"$rt" >/dev/null ||
			fail "$h raised its packet threads on a relayed path: $rt"
	done
}
normal_priority
# Light traffic after the transfers: the fast path's thread reads the TUN too.
wait_until 30 light_on_fast_path a "$A" b "$B" ||
	fail "pings after the transfers: TUN readers a $(tun_reader a), b $(tun_reader b); want fast_path"

# The fault: coturn restarts, every allocation and channel is gone.
relay0=$(peer_field a "$KB" local_addr)/$(peer_field a "$KB" remote_addr)
lab_turn_stop
lab_turn_start
restarted=$(date +%s.%N)
wait_until 120 pings a "$B" ||
	fail "no path 120 s after the TURN restart (a: $(peer_field a "$KB" path), error $(peer_field a "$KB" last_error))"
back=$(awk -v a="$restarted" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
wait_until 60 learnt ||
	fail "after the TURN restart the pair is not back on the relayed fast path: a $(fast_json a) path=$(peer_field a "$KB" path) fast_path=$(peer_field a "$KB" fast_path), b $(fast_json b)"
relay1=$(peer_field a "$KB" local_addr)/$(peer_field a "$KB" remote_addr)
[ "$relay1" != "$relay0" ] || fail "a's pair is still $relay0, through the coturn that stopped"
ra=$(received a) rb=$(received b)
transfer a b "$B" 5
carried b "$rb" 3000 || fail "after the restart b's fast path carried $(($(received b) - rb)) datagrams of a 5 MB transfer"
t_log "after the TURN restart: pings again ${back} s later; relayed fast path on the new allocation ($relay0 -> $relay1); 5 MB intact"
normal_priority
echo "PASS nat_relay_fast"
