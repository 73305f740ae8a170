#!/usr/bin/env bash
# Issue 18's attacks on LAN beacons by someone on the LAN who holds the
# network key K (an invite), against real daemons (tests/netns/
# beacon_forge_probe.c builds the beacons):
#  - 1,000 beacons to each member with a good network MAC, signed with the
#    attacker's own key, claiming random keys and the other member's key:
#    refused as forged (or rate limited), no peer for any random key;
#  - version 1 beacons: counted old_version;
#  - a member's real beacon, captured, resent from the attacker's IP:port:
#    refused as a replay.
# Throughout, each member's endpoint as the other sees it stays on the
# other's real address (a beacon never moves an endpoint; only an
# authenticated WireGuard packet does), no WireGuard packet goes to the
# attacker, and the members keep pinging each other over the LAN.
set -u
. "$(dirname "$0")/lib.sh"
t_init beaconforged
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
PROBE=${BEACON_FORGE_PROBE:-$TOP/build/beacon_forge_probe}
REPLAY=$TOP/tests/netns/beacon_replay.py
[ -x "$PROBE" ] || fail "build/beacon_forge_probe missing (make build/beacon_forge_probe)"
LAB_NO_SERVICES=1 lab_up lan
for h in a b c; do lab_exec "$h" ip route del default 2>/dev/null; done # LAN only
IP_A=$(lab_addr a) IP_B=$(lab_addr b) IP_C=$(lab_addr c)
tund_node a
tund_node b
ctl a network create home | tail -n 1 >"$T_DIR/invite"
grep -q '^tund1:' "$T_DIR/invite" || fail "no invite"
ctl b join - <"$T_DIR/invite" >/dev/null || fail "b: join"
A=$(overlay_addr a) B=$(overlay_addr b)
KA=$(pubkey a) KB=$(pubkey b)
wait_until 30 pings a "$B" || fail "a cannot ping b over the LAN"
wait_until 30 pings b "$A" || fail "b cannot ping a over the LAN"
wait_until 30 path_is a "$KB" lan || fail "a's path to b is not lan: $(peer_field a "$KB" path)"
wait_until 30 path_is b "$KA" lan || fail "b's path to a is not lan: $(peer_field b "$KA" path)"
EP_B=$(peer_field a "$KB" endpoint) EP_A=$(peer_field b "$KA" endpoint)
[[ $EP_B == *"$IP_B"* ]] || fail "a sees b at '$EP_B', not at $IP_B"
[[ $EP_A == *"$IP_A"* ]] || fail "b sees a at '$EP_A', not at $IP_A"
t_log "a sees b at $EP_B, b sees a at $EP_A"

dropped() { # HOST FIELD
	ctl "$1" networks --json | jq ".[] | select(.name == \"home\") | .beacons.dropped.$2"
}
# Neither member's endpoint moved, and both still talk over the LAN.
endpoints_stay() { # WHEN
	local now_b now_a
	now_b=$(peer_field a "$KB" endpoint) now_a=$(peer_field b "$KA" endpoint)
	[ "$now_b" = "$EP_B" ] || fail "$1: a sees b at '$now_b', was $EP_B"
	[ "$now_a" = "$EP_A" ] || fail "$1: b sees a at '$now_a', was $EP_A"
	[ "$(ctl a peers --json | jq length)" = 1 ] || fail "$1: a's peers: $(ctl a peers --json)"
	[ "$(ctl b peers --json | jq length)" = 1 ] || fail "$1: b's peers: $(ctl b peers --json)"
}
# Any WireGuard packet the members send to the attacker (a probe, say).
lab_bg c "$T_DIR/to-c.log" tcpdump -l -n -i eth0 "udp and dst host $IP_C and not dst port 51821"
wait_until 10 grep -q listening "$T_DIR/to-c.log" || fail "tcpdump on c did not start"

# 1. Forged beacons, MAC good, signature the attacker's: half claim random
# keys, half the other member's key.
declare -A before
for h in a b; do
	for f in forged rate_limited old_version replayed; do before[$h.$f]=$(dropped $h $f); done
done
cpu0_a=$(cpu_ms a) cpu0_b=$(cpu_ms b) rss0_a=$(rss_kb a) rss0_b=$(rss_kb b)
lab_exec c "$PROBE" forge "$T_DIR/invite" "$KB" 1000 "$IP_A" >"$T_DIR/claimed-a" ||
	fail "probe against a failed"
lab_exec c "$PROBE" forge "$T_DIR/invite" "$KA" 1000 "$IP_B" >"$T_DIR/claimed-b" ||
	fail "probe against b failed"
[ "$(grep -c '^claimed ' "$T_DIR/claimed-a")" = 500 ] || fail "probe claimed too few keys"
refused() { # HOST: every forged beacon counted, as forged or rate limited
	local f r
	f=$(($(dropped "$1" forged) - ${before[$1.forged]}))
	r=$(($(dropped "$1" rate_limited) - ${before[$1.rate_limited]}))
	[ "$f" -ge 30 ] && [ $((f + r)) -ge 1000 ]
}
for h in a b; do
	wait_until 20 refused $h ||
		fail "$h counted $(($(dropped $h forged) - ${before[$h.forged]})) forged, $(($(dropped $h rate_limited) - ${before[$h.rate_limited]})) rate limited of 1000"
done
t_log "a: $(($(dropped a forged) - ${before[a.forged]})) forged, $(($(dropped a rate_limited) - ${before[a.rate_limited]})) rate limited; b: $(($(dropped b forged) - ${before[b.forged]})) forged, $(($(dropped b rate_limited) - ${before[b.rate_limited]})) rate limited"
endpoints_stay "after 2,000 forged beacons"
# What they cost: rate limits before any crypto, one MAC and at most one
# signature check each; 5 s of CPU would be 5 ms a beacon.
for h in a b; do
	c0="cpu0_$h" r0="rss0_$h"
	cpu=$(($(cpu_ms $h) - ${!c0})) rss=$(($(rss_kb $h) - ${!r0}))
	t_log "$h spent $cpu ms of CPU on 1,000 forged beacons; RSS grew $rss kB"
	[ "$cpu" -lt 5000 ] || fail "$h spent $cpu ms of CPU on 1,000 forged beacons"
	[ "$rss" -lt 20480 ] || fail "$h's RSS grew by $rss kB"
done
cut -d' ' -f2 "$T_DIR/claimed-a" "$T_DIR/claimed-b" >"$T_DIR/claimed"
for h in a b; do
	! ctl $h peers --json | grep -qFf "$T_DIR/claimed" || fail "$h lists a claimed key as a peer"
	! grep -rqFf "$T_DIR/claimed" "$T_DIR/$h/state" || fail "$h's state holds a claimed key"
done
t_log "none of the 1,000 random keys is a peer or in a state file"

# 2. Version 1 beacons (a node not upgraded) claiming the other member.
lab_exec c "$PROBE" old "$T_DIR/invite" "$KB" 5 "$IP_A" >/dev/null || fail "old probe failed"
old_counted() { [ "$(dropped a old_version)" -gt "${before[a.old_version]}" ]; }
wait_until 20 old_counted || fail "a did not count version 1 beacons as old_version"
grep -q "sends LAN beacons v1; upgrade it" "$T_DIR/tund-a.log" || fail "a did not log the v1 node"
t_log "a counted $(dropped a old_version) version 1 beacons as old_version"

# 3. b's real beacon, captured on the LAN, resent to a from c's IP:port.
lab_bg c "$T_DIR/b-tcpdump.log" tcpdump -i eth0 -U -n -w "$T_DIR/b.pcap" \
	"udp dst port 51821 and src host $IP_B"
TCPDUMP=$LAB_PID
has_capture() { [ "$(stat -c %s "$T_DIR/b.pcap" 2>/dev/null || echo 0)" -gt 200 ]; }
wait_until 15 has_capture || fail "captured no beacon of b"
stop_pid "$TCPDUMP" 5
replay0=$(dropped a replayed) rl0=$(dropped a rate_limited)
for _ in $(seq 20); do
	sent=$(lab_exec c python3 "$REPLAY" "$T_DIR/b.pcap" "$IP_A" 51821)
	[ "$sent" = 181 ] || fail "replay sent '$sent' bytes"
done
replays_refused() {
	local r l
	r=$(($(dropped a replayed) - replay0)) l=$(($(dropped a rate_limited) - rl0))
	[ "$r" -ge 1 ] && [ $((r + l)) -ge 20 ]
}
wait_until 20 replays_refused ||
	fail "a counted $(($(dropped a replayed) - replay0)) of 20 replays ($(($(dropped a rate_limited) - rl0)) rate limited)"
t_log "a refused b's replayed beacon: $(($(dropped a replayed) - replay0)) replayed, $(($(dropped a rate_limited) - rl0)) rate limited"
endpoints_stay "after the replays"

# The members still talk over the LAN, and nothing of theirs went to c.
wait_until 30 pings a "$B" || fail "a lost b"
wait_until 30 pings b "$A" || fail "b lost a"
path_is a "$KB" lan || fail "a's path to b: $(peer_field a "$KB" path)"
endpoints_stay "at the end"
if grep -q "\.51820 > $IP_C\." "$T_DIR/to-c.log"; then
	fail "a member's tund sent to the attacker: $(grep "$IP_C" "$T_DIR/to-c.log" | head -n 3)"
fi
# The positive control: the capture on c does see what is sent to it.
lab_exec a python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (sys.argv[1], 9))' "$IP_C"
wait_until 10 grep -q "> $IP_C\.9:" "$T_DIR/to-c.log" ||
	fail "the capture on c missed a datagram sent to it: $(cat "$T_DIR/to-c.log")"
t_log "beacons a=$(ctl a networks --json | jq -c '.[0].beacons.dropped')"
echo "PASS beacon_forged"
