#!/usr/bin/env bash
# Config reload. a and b (cone NATs) share a network through broker 1; a ping
# series runs through their direct path while both reload a config that moves
# the network to broker 2 (another mosquitto on the server) and to other
# STUN/TURN addresses: a with `tundctl reload`, b with SIGHUP. The ping has no
# loss window and the selected pair does not change; `tundctl networks` and
# netcheck show the new servers; settings that need a restart are reported.
# Then broker 1 stops and a newcomer c, invited after the reload, finds a and
# b through broker 2; with direct UDP cut, a and b reconnect through the new
# TURN. A config that no longer parses is refused with its
# file:line, tundctl exits 1, and tund keeps running with the config it had.
set -u
. "$(dirname "$0")/lib.sh"
t_init reload
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=3 lab_up cone

# Broker 2: a second mosquitto on srv, port 1884.
cat >"$T_DIR/mosquitto2.conf" <<EOF2
listener 1884 $LAB_SRV
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
EOF2
lab_bg srv "$T_DIR/mosquitto2.log" mosquitto -c "$T_DIR/mosquitto2.conf"
wait_until 10 _lab_listening tcp "$LAB_SRV" 1884 || fail "broker 2 did not listen"
BROKER2=mqtt://$LAB_SRV:1884
TURN2="turn://tund:tundpass@$LAB_SRV2:3478?transport=tcp"

tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b)
KA=$(pubkey a) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b ($B) within 45 s"
wait_until 30 path_is a "$KB" direct || fail "path a->b is $(peer_field a "$KB" path)"
pair_before="$(peer_field a "$KB" local_addr) -> $(peer_field a "$KB" remote_addr)"
t_log "a-b direct: $pair_before"

# Nothing changed: reload says so and needs no restart.
out=$(ctl a reload --json) || fail "reload of an unchanged config failed"
jq -e '(.applied | length) == 0 and (.needs_restart | length) == 0' <<<"$out" >/dev/null ||
	fail "unchanged config: $out"

# The new servers, and one start-only setting that must be reported.
printf '[ice]\nstun = %s\n' "$LAB_STUN" >>"$T_DIR/a.conf" # peers outside networks
for h in a b; do
	sed -i 's/^mtu = 1380$/mtu = 1300/' "$T_DIR/$h.conf"
	cat >>"$T_DIR/$h.conf" <<EOF2
[network friends]
broker = $BROKER2
stun = $LAB_STUN2
turn = $TURN2
EOF2
done

# 20 pings a second for 15 s through the direct path, reloads in the middle.
lab_exec a ping -i 0.05 -c 300 -W 1 "$B" >"$T_DIR/ping.out" 2>&1 &
ping_pid=$!
t_track $ping_pid
wait_until 10 grep -q 'icmp_seq=40 ' "$T_DIR/ping.out" || fail "ping did not get going"
out=$(ctl a reload) || fail "tundctl reload failed: $out"
kill -HUP "$PID_b"
t_log "reload on a: $(tr '\n' ' ' <<<"$out")"
grep -q "broker $LAB_MQTT_URL -> $BROKER2" <<<"$out" || fail "reload does not report the broker"
grep -q "STUN/TURN servers (1 STUN, 1 TURN)" <<<"$out" || fail "reload does not report STUN/TURN"
grep -q '\[ice\] stun/turn' <<<"$out" || fail "reload does not report [ice] stun"
grep -A3 "needs a restart" <<<"$out" | grep -q '\[interface\] mtu' ||
	fail "reload does not say that mtu needs a restart"
wait_until 10 grep -q 'reload: applied .*broker' "$T_DIR/tund-b.log" || fail "SIGHUP did not reload b"
grep -q 'need a restart.*\[interface\] mtu' "$T_DIR/tund-b.log" || fail "b does not log the restart-only change"
wait_until 40 eval "! pid_running $ping_pid" || fail "ping did not finish"
t_untrack $ping_pid
# The longest run of lost replies (by sequence number).
gap=$(grep -o 'icmp_seq=[0-9]*' "$T_DIR/ping.out" | cut -d= -f2 | sort -n | uniq |
	awk 'BEGIN { prev = 0; max = 0 } { if ($1 - prev - 1 > max) max = $1 - prev - 1; prev = $1 }
	     END { if (300 - prev > max) max = 300 - prev; print max }')
got=$(grep -o 'icmp_seq=[0-9]*' "$T_DIR/ping.out" | sort -u | wc -l)
summary=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_DIR/ping.out")
t_log "ping across the reloads: $got/300 replies (ping: ${summary:-?} received), longest loss run $gap"
[ "${summary:-0}" = "$got" ] || fail "ping counted ${summary:-no} replies, its output shows $got"
# No loss: every ping answered. A reload that keeps the working pair and its
# sockets has no reason to lose one, and the veths between the namespaces do
# not drop.
[ "$got" = 300 ] || fail "$((300 - got)) of 300 pings lost across the reloads (longest run $gap)"
pair_after="$(peer_field a "$KB" local_addr) -> $(peer_field a "$KB" remote_addr)"
[ "$pair_after" = "$pair_before" ] || fail "the working pair changed: $pair_before / $pair_after"
path_is a "$KB" direct || fail "path is $(peer_field a "$KB" path) after the reload"

# The new servers are in use and shown.
for h in a b; do
	wait_until 30 eval "[ \"\$(ctl $h networks --json | jq -r '.[0].broker_connected')\" = true ]" ||
		fail "$h is not connected to broker 2"
	net=$(ctl "$h" networks --json | jq -c '.[0]')
	jq -e --arg b "$BROKER2" --arg s "$LAB_STUN2" --arg t "turn://tund:***@$LAB_SRV2:3478?transport=tcp" \
		'.broker == $b and .stun == [$s] and .turn == [$t]' <<<"$net" >/dev/null ||
		fail "$h: networks after the reload: $net"
done
t_log "networks on a and b: $(jq -c '{broker, stun, turn}' <<<"$net")"
ctl a networks | grep -q "$BROKER2" || fail "tundctl networks does not show broker 2"
nc=$(ctl a netcheck --json) || fail "netcheck failed"
jq -e --arg b "$LAB_SRV:1884" --arg t "$LAB_SRV2" \
	'(.broker.url | contains($b)) and .broker.reachable == true and
	 (.turn | length) == 1 and (.turn[0].url | contains($t)) and .turn[0].reachable == true' \
	<<<"$nc" >/dev/null || fail "netcheck after the reload: $nc"
t_log "netcheck: broker $(jq -r .broker.url <<<"$nc"), turn $(jq -r '.turn[0].url' <<<"$nc") reachable"
[ "$(ctl a status --json | jq -r .mtu)" = 1380 ] || fail "mtu changed without a restart"

# Broker 1 goes away; a newcomer with an invite made after the reload finds
# both members through broker 2.
lab_broker_stop
invite2=$(ctl a network invite friends | tail -n 1)
[[ $invite2 == tund1:* ]] || fail "no invite after the reload: $invite2"
[ "$invite2" != "$invite" ] || fail "the invite still names the old servers"
tund_node c
ctl c join "$invite2" >/dev/null || fail "c cannot join"
[ "$(ctl c networks --json | jq -r '.[0].broker')" = "$BROKER2" ] || fail "c's invite has another broker"
C=$(overlay_addr c)
wait_until 60 pings c "$A" || fail "c cannot reach a through broker 2 within 60 s"
wait_until 60 pings c "$B" || fail "c cannot reach b through broker 2 within 60 s"
grep -q "connected to $LAB_SRV:1884" "$T_DIR/tund-c.log" || fail "c did not use broker 2"
t_log "newcomer c ($C) reached a and b with broker 1 stopped"

# New sessions use the new TURN server: with direct UDP between the NATs cut,
# a-b must come back as a relay over TCP, which only the reloaded TURN offers
# (the invite's TURN was UDP).
lab_block_direct
# The relay is one side's allocation (doc/paths.md, "TURN only when needed":
# an endpoint-independent offering side may leave it to the other), so the
# TCP shows on the side whose relay candidate the pair uses.
over_tcp() {
	[ "$(peer_field a "$KB" relay_transport)" = tcp ] || [ "$(peer_field b "$KA" relay_transport)" = tcp ]
}
wait_until 120 eval "over_tcp && pings a $B" ||
	fail "a-b did not come back over the new TURN-TCP relay (a: $(peer_field a "$KB" candidates) $(peer_field a "$KB" relay_transport); b: $(peer_field b "$KA" candidates) $(peer_field b "$KA" relay_transport))"
t_log "direct cut: a-b back through the new TURN (a: $(peer_field a "$KB" candidates) $(peer_field a "$KB" relay_transport); b: $(peer_field b "$KA" candidates) $(peer_field b "$KA" relay_transport))"
lab_unblock_direct

# A broken config is refused; the running one stays.
echo "this is not a key" >>"$T_DIR/a.conf"
line=$(wc -l <"$T_DIR/a.conf")
if err=$(ctl a reload 2>&1); then fail "a broken config was accepted: $err"; fi
grep -q "a.conf:$line:" <<<"$err" || fail "the error does not name file and line: $err"
t_log "broken config: $err"
ctl a status >/dev/null || fail "tund stopped after a refused reload"
[ "$(ctl a networks --json | jq -r '.[0].broker')" = "$BROKER2" ] || fail "config changed after a refused reload"
wait_until 30 pings a "$B" || fail "no traffic after a refused reload"
sed -i '$d' "$T_DIR/a.conf"
echo "[interface]" >>"$T_DIR/a.conf"
echo "mtu = 12" >>"$T_DIR/a.conf"
if err=$(ctl a reload 2>&1); then fail "mtu 12 was accepted"; fi
grep -q "a.conf:$((line + 1)): \[interface\] mtu" <<<"$err" || fail "bad value error: $err"
kill -HUP "$PID_a"
wait_until 10 eval "[ \$(grep -c 'reload refused' '$T_DIR/tund-a.log') -ge 3 ]" ||
	fail "SIGHUP with a broken config is not refused in the log"
ctl a status >/dev/null || fail "tund stopped after SIGHUP with a broken config"
t_log "SIGHUP with a broken config: refused, still running"
echo "PASS reload"
