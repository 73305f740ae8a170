#!/usr/bin/env bash
# Only the path that used a lost address is renegotiated (issue 20, test 3).
# a has two uplinks: 10.1.0.10 behind r1 and 10.4.0.10 behind r4. r1 lets
# no UDP reach c's router and r4 none reach b's, so a's path to b runs from
# 10.1.0.10 and its path to c from 10.4.0.10 (one router per address: libnice
# keeps one server-reflexive candidate per public IP). Then r1 lets UDP to c
# through too, and under a ping every 0.1 s to both, 10.4.0.10 goes away: the
# ping to b loses nothing and keeps its path; c's ping is silent for at most
# 10 s (test_fault_roam's bound) and comes back on a new path from 10.1.0.10.
set -u
. "$(dirname "$0")/lib.sh"
t_init natmbb
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=3 lab_up cone
lab_uplink2 a
WB=$(lab_wan b) WC=$(lab_wan c)
# One table per router, ahead of the router's own forward chain: dropped UDP
# never makes a conntrack entry, so the peer's checks back are dropped too.
steer() {	# steer ROUTER WAN: no UDP from ROUTER's LAN to WAN
	lab_exec "$1" nft -f - <<EOF || fail "steering rule on $1"
table ip tt_mbb {
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname "lan" ip daddr $2 meta l4proto udp drop
	}
}
EOF
}
steer r1 "$WC"
steer r4 "$WB"

tund_node a
tund_node b
tund_node c
# STUN only: a relay would give both paths a way around the steering.
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --stun "$LAB_STUN" | tail -n 1)
# A precondition, not what this test is about: nodes' connects to the
# broker here used to time out for 50-90 s (in 2 of 5 runs under load).
# The lab's cause, now mended in natlab.sh's _lab_bridge: r4's port could
# change the internet bridge's MAC under the routers' ARP caches.
broker_up() { [ "$(ctl "$1" networks --json | jq '.[0].broker_connected')" = true ]; }
t0=$SECONDS
wait_until 180 broker_up a || fail "a did not connect to the broker within 180 s"
t_log "a connected to the broker $((SECONDS - t0)) s after the create"
ctl b join "$invite" >/dev/null || fail "b: join failed"
ctl c join "$invite" >/dev/null || fail "c: join failed"
t0=$SECONDS
wait_until 120 broker_up b || fail "b did not connect to the broker within 120 s"
wait_until 120 broker_up c || fail "c did not connect to the broker within 120 s"
t_log "b and c connected to the broker $((SECONDS - t0)) s after their joins"
B=$(overlay_addr b) KB=$(pubkey b) C=$(overlay_addr c) KC=$(pubkey c)
wait_until 60 pings a "$B" || fail "a cannot ping b"
wait_until 60 pings a "$C" || fail "a cannot ping c"
path_is a "$KB" direct || fail "a-b path is $(peer_field a "$KB" path), want direct"
path_is a "$KC" direct || fail "a-c path is $(peer_field a "$KC" path), want direct"
# Which of a's addresses each path runs from: its log names the base.
grep -q "peer $KB: path direct .*, from 10\.1\.0\.10)" "$T_DIR/tund-a.log" ||
	fail "a's path to b does not run from 10.1.0.10"
grep -q "peer $KC: path direct .*, from 10\.4\.0\.10)" "$T_DIR/tund-a.log" ||
	fail "a's path to c does not run from 10.4.0.10"
kb_before=$(peer_field a "$KB" local_addr) kc_before=$(peer_field a "$KC" local_addr)

# c is now reachable from 10.1.0.10 as well: the way back once 10.4.0.10 goes.
lab_exec r1 nft delete table ip tt_mbb || fail "unsteering r1"

N=400 # 40 s at 0.1 s: b's kept path lives past ICE consent's 30 s
lab_bg a "$T_DIR/ping-b.log" ping -n -D -i 0.1 -W 2 -c $N "$B"
pb=$LAB_PID
lab_bg a "$T_DIR/ping-c.log" ping -n -D -i 0.1 -W 2 -c $N "$C"
pc=$LAB_PID
replies() { grep -c 'bytes from' "$1" 2>/dev/null; }
wait_until 20 eval '[ "$(replies "$T_DIR/ping-b.log")" -ge 30 ] && [ "$(replies "$T_DIR/ping-c.log")" -ge 30 ]' ||
	fail "the pings did not start"
lab_exec a ip addr del 10.4.0.10/24 dev eth1 || fail "removing a's second address"
wait_until 60 eval "! pid_running $pb && ! pid_running $pc" || fail "the pings did not end"
t_untrack "$pb"
t_untrack "$pc"

sent() { sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1"; }
# silence FILE: the longest time between two replies (ping -D stamps each).
silence() {
	awk '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0; if (p && t - p > m) m = t - p; p = t }
		END { printf "%.1f", m }' "$1"
}
got_b=$(replies "$T_DIR/ping-b.log") got_c=$(replies "$T_DIR/ping-c.log")
[ "$(sent "$T_DIR/ping-b.log")" = $N ] && [ "$got_b" = $N ] ||
	fail "the ping to b (its path never used 10.4.0.10) lost $((N - got_b)) of $N across the change (silent $(silence "$T_DIR/ping-b.log") s)"
gap_c=$(silence "$T_DIR/ping-c.log")
[ "$got_c" -gt 30 ] && awk -v t="$gap_c" 'BEGIN { exit !(t <= 10) }' ||
	fail "c's ping was silent $gap_c s ($got_c of $N answered), want <= 10 s (path $(peer_field a "$KC" path), error $(peer_field a "$KC" last_error))"
# The last pings were answered: c is back, not just briefly.
tail -n 12 "$T_DIR/ping-c.log" | grep -q 'bytes from' || fail "no reply from c at the end"
kb_after=$(peer_field a "$KB" local_addr) kc_after=$(peer_field a "$KC" local_addr)
[ "$kb_after" = "$kb_before" ] || fail "a's path to b moved ($kb_before -> $kb_after)"
[ -n "$kc_after" ] && [ "$kc_after" != "$kc_before" ] || fail "a's path to c did not move ($kc_after)"
printf 'a lost 10.4.0.10: b answered %s/%s (longest silence %s s, path %s kept); c answered %s/%s, silent %s s at most, path %s -> %s\n' \
	"$got_b" "$N" "$(silence "$T_DIR/ping-b.log")" "$kb_before" "$got_c" "$N" "$gap_c" "$kc_before" "$kc_after"
echo "PASS nat_mbb"
