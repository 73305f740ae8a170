#!/usr/bin/env bash
# TURN only while it is needed (doc/paths.md, "TURN allocations"). Every ICE
# session allocates on the TURN server (so a pair that cannot go direct is
# relayed as fast as ever) and gives the allocation back once a path that
# does not use it has held for 20 s.
#   1. a and b behind symmetric NATs: relayed, and still relayed after the
#      hold, with the allocation the path uses kept (in coturn and in
#      tundctl status).
#   2. Ten members with no NAT between them, the TURN server in the invite:
#      every path direct; after the hold coturn holds no allocation and every
#      member's tundctl status says 0, and the paths still carry pings.
set -u
. "$(dirname "$0")/lib.sh"
t_init turnrest
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_scale.sh"

# coturn_held: allocations coturn holds now, counted as its relay sockets
# (one UDP socket per allocation, in its relay range 49152-65535).
coturn_held() {
	lab_exec srv ss -uanH | awk '{n = split($4, a, ":"); if (a[n] >= 49152) c++} END {print c + 0}'
}
allocations() { ctl "$1" status --json | jq -r '.allocations'; }
held_lines() { grep -c 'path held 20 s' "$T_DIR/tund-$1.log"; }

# ---- 1. symmetric NATs: the relay stays ----
lab_up symmetric
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b) KA=$(pubkey a) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "symmetric: a cannot ping b within 45 s"
path_is a "$KB" relay || fail "symmetric: path on a is $(peer_field a "$KB" path), want relay"
t_log "symmetric: relay ($(peer_field a "$KB" candidates) on a), allocations a=$(allocations a) b=$(allocations b), coturn $(coturn_held)"
# Both sides decide when their hold is over (each logs it).
hold_over() { [ "$(held_lines a)" -ge 1 ] && [ "$(held_lines b)" -ge 1 ]; }
wait_until 60 hold_over || fail "symmetric: no hold decision logged within 60 s"
path_is a "$KB" relay && path_is b "$KA" relay ||
	fail "symmetric: after the hold the path is $(peer_field a "$KB" path) on a, $(peer_field b "$KA" path) on b"
pings a "$B" && pings b "$A" || fail "symmetric: the relay does not carry pings after the hold"
na=$(allocations a) nb=$(allocations b)
[ $((na + nb)) -ge 1 ] || fail "symmetric: status shows no allocation held (a=$na b=$nb) on a relayed path"
# coturn's count follows a released allocation by a round trip.
matches() { [ "$(coturn_held)" -eq $(($(allocations a) + $(allocations b))) ]; }
wait_until 10 matches || fail "symmetric: coturn holds $(coturn_held) allocations, status says a=$(allocations a) b=$(allocations b)"
held=$(coturn_held)
t_log "symmetric: after the hold a kept $na, b kept $nb (coturn: $held): $(grep -h 'path held' "$T_DIR"/tund-[ab].log | sed 's/.*peer [^:]*: //' | paste -sd';')"
lab_down

# ---- 2. ten members, all direct: nothing held at rest ----
N=10
scale_up "$N" routed
for i in $(seq 1 "$N"); do tund_node "n$i"; done
invite=$(ctl n1 network create ten --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
for i in $(seq 2 "$N"); do ctl "n$i" join "$invite" >/dev/null || fail "n$i: join failed"; done
# direct_all HOST: HOST has a direct path to all N-1 others.
direct_all() {
	[ "$(ctl "$1" peers --json | jq '[.[] | select(.state == "member" and .path == "direct")] | length')" = $((N - 1)) ]
}
# mesh: every member direct to all others; notes the most allocations coturn
# held meanwhile (PEAK).
PEAK=0
mesh() {
	local i held
	held=$(coturn_held)
	[ "$held" -gt "$PEAK" ] && PEAK=$held
	for i in $(seq 1 "$N"); do direct_all "n$i" || return 1; done
}
wait_until 180 mesh || fail "ten: not every member has a direct path to the nine others within 180 s ($(for i in $(seq 1 "$N"); do ctl "n$i" peers --json | jq -c '[.[] | .path]'; done | paste -sd' '))"
[ "$PEAK" -ge 1 ] || fail "ten: coturn held no allocation while the paths came up: the sessions did not use the TURN server"
t_log "ten: full mesh direct; coturn held up to $PEAK allocations meanwhile, $(coturn_held) now"
# A session that failed (consent lost on a loaded machine) was closed with
# its agent; an allocation it had under way then may outlive it on coturn
# until the server's lifetime runs out (libnice deletes those it holds).
# So coturn may keep at most one per failed session, and none otherwise.
failed_sessions() { cat "$T_DIR"/tund-n*.log | grep -c 'ICE failed'; }
nothing_held() {
	local i
	[ "$(coturn_held)" -le "$(failed_sessions)" ] || return 1
	for i in $(seq 1 "$N"); do [ "$(allocations "n$i")" = 0 ] || return 1; done
}
wait_until 120 nothing_held ||
	fail "ten: after the paths settled coturn holds $(coturn_held) allocations ($(failed_sessions) failed sessions); status: $(for i in $(seq 1 "$N"); do allocations "n$i"; done | paste -sd' ')"
[ "$(coturn_held)" = 0 ] ||
	t_log "ten: coturn still holds $(coturn_held) allocation(s) of the $(failed_sessions) session(s) that failed"
mesh || fail "ten: a path is no longer direct after the release"
for i in $(seq 2 "$N"); do
	pings n1 "$(overlay_addr "n$i")" || fail "ten: n1 cannot ping n$i after the release"
done
released=$(cat "$T_DIR"/tund-n*.log | grep -c 'released [0-9]* TURN allocation')
t_log "ten: coturn holds $(coturn_held) allocations, every status says 0 ($released sessions released theirs); n1 pings all nine"
echo "PASS turn_at_rest"
