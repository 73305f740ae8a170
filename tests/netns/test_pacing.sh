#!/usr/bin/env bash
# Pacing under a flood of small packets (tund/dataplane/pace.h). Two static peers:
# idle pings and a TCP transfer (checked end to end) never make a packet
# thread pause; a flood of 64-byte UDP datagrams does, status counts the
# pauses and tundctl shows them; pings after the flood are not paced again.
set -u
. "$(dirname "$0")/lib.sh"
t_init pacing
. "$(dirname "$0")/lib_pair.sh"
command -v socat >/dev/null || fail "socat missing (make deps)"
command -v iperf3 >/dev/null || fail "iperf3 missing (make deps)"

pauses() { "$TUNDCTL" --socket "$T_DIR/$1/tund.sock" status --json | jq -r '.pacing.pauses'; }
# pings N: N pings 10 ms apart from a to b; fails on more than 10% loss. Some
# loss is tolerated on purpose: this test checks the pacing counters, not
# delivery (test_tunnel counts every ping).
pings() {
	local out=$T_DIR/ping.out
	ip netns exec "$NS_A" ping -n -q -c "$1" -i 0.01 -W 1 10.77.0.2 >"$out" 2>&1
	awk '/packet loss/ { sub(/%/, "", $6); exit !($6 <= 10) }' "$out" ||
		fail "pings through the tunnel: $(tail -n 2 "$out")"
}

pair_up
wait_until 60 ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 || fail "tunnel did not come up"

pings 300
[ "$(pauses a)" = 0 ] && [ "$(pauses b)" = 0 ] ||
	fail "idle pings were paced: a $(pauses a), b $(pauses b)"

# 40 MB of random bytes over TCP, with a checksum at both ends: a stream
# (and its flood of small ACKs) is never paced.
head -c 40000000 /dev/urandom >"$T_DIR/data"
want=$(sha256sum <"$T_DIR/data" | cut -d' ' -f1)
ip netns exec "$NS_B" socat -u TCP-LISTEN:5001,reuseaddr SYSTEM:"sha256sum >$T_DIR/got" &
sink=$!; t_track "$sink"
wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q ':5001 '" || fail "listener"
ip netns exec "$NS_A" socat -u "OPEN:$T_DIR/data" TCP:10.77.0.2:5001 || fail "TCP transfer"
wait "$sink"; t_untrack "$sink"
[ "$(cut -d' ' -f1 "$T_DIR/got")" = "$want" ] || fail "the TCP transfer arrived changed"
[ "$(pauses a)" = 0 ] && [ "$(pauses b)" = 0 ] ||
	fail "a TCP stream was paced: a $(pauses a), b $(pauses b)"

# 64-byte datagrams as fast as iperf3 sends them, for 4 seconds.
ip netns exec "$NS_B" iperf3 -s -1 >/dev/null 2>&1 &
server=$!; t_track "$server"
wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q ':5201 '" || fail "iperf3 server"
ip netns exec "$NS_A" iperf3 -c 10.77.0.2 -u -l 64 -b 0 -t 4 -J >"$T_DIR/flood.json" 2>&1 ||
	fail "iperf3 flood: $(tail -n 5 "$T_DIR/flood.json")"
wait "$server"; t_untrack "$server"
delivered=$(jq -r '.end.sum_received | .packets - .lost_packets' "$T_DIR/flood.json")
[ "$delivered" -gt 0 ] 2>/dev/null || fail "nothing of the flood arrived: $(jq -c .end.sum_received "$T_DIR/flood.json")"
after_flood=$(pauses a)
[ "$after_flood" -gt 0 ] 2>/dev/null ||
	fail "the flood's sender never paused (a $(pauses a), b $(pauses b))"
t_log "flood: $delivered datagrams delivered; pauses a $after_flood, b $(pauses b)"
"$TUNDCTL" --socket "$T_DIR/a/tund.sock" status | grep -q "pacing: *paused $after_flood times" ||
	fail "tundctl status does not show the pauses: $("$TUNDCTL" --socket "$T_DIR/a/tund.sock" status)"

# Once the flood is over, pings go at once again.
before_b=$(pauses b)
pings 200
[ "$(pauses a)" = "$after_flood" ] && [ "$(pauses b)" = "$before_b" ] ||
	fail "pings after the flood were paced: a $after_flood -> $(pauses a), b $before_b -> $(pauses b)"
echo "PASS pacing"
