#!/usr/bin/env bash
# A member's underlay address changes under it (a new DHCP lease on another
# subnet behind the same router): its old ICE sockets are dead, so it must
# notice by itself, gather again and reconnect. Traffic resumes within 10 s
# through a new path.
set -u
. "$(dirname "$0")/lib.sh"
t_init faultroam
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b"
path_is a "$KB" direct || fail "path is $(peer_field a "$KB" path), want direct"
before="$(peer_field a "$KB" candidates) $(peer_field a "$KB" local_addr)"

# a moves from 10.1.0.10/24 to 10.1.1.10/24 (r1 serves both subnets).
lab_exec r1 ip addr add 10.1.1.1/24 dev lan || fail "second subnet on r1"
start=$(date +%s.%N)
lab_exec a ip addr del 10.1.0.10/24 dev eth0 || fail "removing a's address"
lab_exec a ip addr add 10.1.1.10/24 dev eth0 || fail "adding a's new address"
lab_exec a ip route add default via 10.1.1.1 || fail "a's new default route"
wait_until 30 pings a "$B" ||
	fail "no traffic 30 s after a's address changed (path $(peer_field a "$KB" path), error $(peer_field a "$KB" last_error))"
resumed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
awk -v t="$resumed" 'BEGIN { exit !(t <= 10) }' ||
	fail "traffic resumed only $resumed s after the address change, want <= 10 s"
wait_until 10 eval '[ -n "$(peer_field a "$KB" path)" ]' || fail "a shows no path to b"
after="$(peer_field a "$KB" candidates) $(peer_field a "$KB" local_addr)"
[ "$after" != "$before" ] || fail "the path did not change: $after"
printf 'survived: a moved from 10.1.0.10 to 10.1.1.10; traffic resumed %.1f s later through a new path (%s -> %s)\n' \
	"$resumed" "$before" "$after"
echo "PASS fault_roam"
