#!/usr/bin/env bash
# The broker goes away mid-session and existing paths keep carrying traffic;
# after it returns a new member joins and the three form a full mesh. Then,
# with `approve` admission, a newcomer stays pending until approved.
set -u
. "$(dirname "$0")/lib.sh"
t_init natbroker
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=3 lab_up cone
tund_node a
tund_node b
tund_node c
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "b: join failed"
A=$(overlay_addr a) B=$(overlay_addr b)
wait_until 45 pings a "$B" || fail "a cannot ping b"

lab_broker_stop
wait_until 40 sh -c "[ \"\$($TUNDCTL --socket $T_DIR/a/tund.sock networks --json | jq .[0].broker_connected)\" = false ]" ||
	fail "a did not notice the broker going away"
# Traffic every second for 20 s, none lost for more than a moment.
lost=0
for _ in $(seq 1 20); do pings a "$B" || lost=$((lost + 1)); sleep 1; done
[ "$lost" -le 1 ] || fail "$lost of 20 pings lost while the broker was down"
t_log "broker down: $((20 - lost))/20 pings over the existing path"

lab_broker_start
ctl c join "$invite" >/dev/null || fail "c: join failed"
C=$(overlay_addr c)
wait_until 60 pings c "$A" || fail "c cannot ping a after the broker returned"
wait_until 30 pings c "$B" || fail "c cannot ping b"
wait_until 30 pings a "$C" || fail "a cannot ping c"
wait_until 30 pings b "$C" || fail "b cannot ping c"
for h in a b c; do
	n=$(ctl $h peers --json | jq '[.[] | select(.state == "member" and .path != null)] | length')
	[ "$n" = 2 ] || fail "$h has $n connected members, want 2"
done
t_log "full mesh of three"

# Approval: a and b leave, a creates a network that needs approval. (A key
# is a member of one network at a time on a node.)
ctl b network leave friends >/dev/null || fail "b: leave"
ctl a network leave friends >/dev/null || fail "a: leave"
[ "$(ctl a peers --json | jq length)" = 0 ] || fail "a kept members of a network it left"
invite2=$(ctl a network create club --prefix 10.58.0.0/16 --broker "$LAB_MQTT_URL" \
	--turn "$LAB_TURN_UDP" --admission approve | tail -n 1)
ctl b join "$invite2" >/dev/null || fail "b: join club"
KB=$(pubkey b)
wait_until 60 sh -c "[ \"\$($TUNDCTL --socket $T_DIR/a/tund.sock peers --json | jq -r --arg k $KB '.[] | select(.public_key == \$k) | .state')\" = pending ]" ||
	fail "b is not pending on a"
held=$(ctl a peers --json | jq -r --arg k "$KB" '.[] | select(.public_key == $k) | .allowed_ips | length')
[ "$held" = 0 ] || fail "pending b holds $held address(es) on a: $(ctl a peers --json)"
Aclub=$(overlay_addr a)
[ -n "$Aclub" ] || fail "a has no address in club"
sleep_check=0
for _ in $(seq 1 5); do pings b "$Aclub" && sleep_check=1; sleep 1; done
[ $sleep_check = 0 ] || fail "a pending member reached a"
ctl a peer approve "$KB" >/dev/null || fail "approve failed"
wait_until 45 pings b "$Aclub" || { ctl a peers --json | jq -c ".[] | {allowed_ips,latest_handshake,rx_bytes,tx_bytes,drops,endpoint}"; ctl b peers --json | jq -c ".[] | {allowed_ips,latest_handshake,rx_bytes,tx_bytes,drops}"; ctl b networks --json | jq -c ".[] | {name,address}"; ctl a networks --json | jq -c ".[] | {name,address}"; lab_exec b ip -4 addr; lab_exec b ip route; fail "b cannot reach a after approval"; }
t_log "pending until approved"
echo "PASS nat_broker"
