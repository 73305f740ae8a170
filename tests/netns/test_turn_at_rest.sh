#!/usr/bin/env bash
# TURN only when needed (doc/paths.md, "TURN allocations" and "TURN only when
# needed"). A pair allocates on the TURN server only when a relay may be
# needed (either end's NAT mapping endpoint-dependent or unknown), and gives
# an allocation back once a path that does not use it has held for 20 s.
#   1. a and b behind symmetric NATs: relayed at once, and still relayed
#      after the hold, with the allocation the path uses kept (in coturn and
#      in tundctl status).
#   2. a and b behind cone NATs: direct; the offering side skipped TURN,
#      the answering side made one standby allocation, given back after
#      the hold. With [ice] turn_prediction = lean coturn sees none.
#   3. mixed (a cone, b symmetric): relayed.
#   4. cone, but the direct path dropped between the routers (the
#      prediction is wrong): relayed by the first session through the
#      standby allocation; with lean the session without TURN fails and the
#      next one, with TURN, is relayed.
#   5. Ten members with no NAT between them, the TURN server in the invite:
#      every path direct, coturn granted at most one (standby) allocation
#      per pair, none is held once the paths settle, every status says 0,
#      and the paths carry pings.
set -u
. "$(dirname "$0")/lib.sh"
t_init turnrest
export LAB_TURN_VERBOSE=1 # coturn logs each allocation (coturn_made)
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_scale.sh"

# coturn_held: allocations coturn holds now, counted as its relay sockets
# (one UDP socket per allocation, in its relay range 49152-65535).
coturn_held() {
	lab_exec srv ss -uanH | awk '{n = split($4, a, ":"); if (a[n] >= 49152) c++} END {print c + 0}'
}
# coturn_made: allocations coturn granted since it started (its log; the
# log is appended to by every lab of this test, so parts take differences).
coturn_made() { grep -c 'ALLOCATE processed, success' "$T_DIR/coturn.log" 2>/dev/null || true; }
allocations() { ctl "$1" status --json | jq -r '.allocations'; }
held_lines() { grep -c 'path held 20 s' "$T_DIR/tund-$1.log"; }
# fresh HOST...: a new node's state and log for the next part.
fresh() {
	local h
	for h in "$@"; do rm -rf "${T_DIR:?}/$h" "$T_DIR/tund-$h.log"; done
}
# pair_up TOPOLOGY [block] [CONFIG]: lab, a and b with a network (TURN in
# the invite); block: UDP between the routers dropped first
# (lab_block_direct); CONFIG: more of both nodes' tund.conf.
pair_up() {
	lab_up "$1"
	[ "${2:-}" = block ] && lab_block_direct
	fresh a b
	tund_node a "" "${3:-}"
	tund_node b "" "${3:-}"
	invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
	[[ $invite == tund1:* ]] || fail "$1: no invite: $invite"
	T0=$(date +%s.%N)
	ctl b join "$invite" >/dev/null || fail "$1: join failed"
	A=$(overlay_addr a) B=$(overlay_addr b) KA=$(pubkey a) KB=$(pubkey b)
}

# ---- 1. symmetric NATs: relayed at once, the relay stays ----
pair_up symmetric
wait_until 45 pings a "$B" || fail "symmetric: a cannot ping b within 45 s"
path_is a "$KB" relay || fail "symmetric: path on a is $(peer_field a "$KB" path), want relay"
for h in a b; do
	k=$KB; [ "$h" = b ] && k=$KA
	[ "$(ctl "$h" status --json | jq -r .mapping)" = endpoint-dependent ] ||
		fail "symmetric: status on $h says mapping $(ctl "$h" status --json | jq -r .mapping)"
	[[ $(peer_field "$h" "$k" turn_start) == "gathered (our mapping endpoint-dependent)" ]] ||
		fail "symmetric: turn_start on $h is '$(peer_field "$h" "$k" turn_start)'"
done
[ "$(coturn_made)" -ge 1 ] || fail "symmetric: coturn's log shows no allocation for a relayed pair"
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

# ---- 2. cone NATs: direct; one standby allocation, given back ----
made=$(coturn_made)
pair_up cone
wait_until 45 pings a "$B" || fail "cone: a cannot ping b within 45 s"
path_is a "$KB" direct || fail "cone: path on a is $(peer_field a "$KB" path), want direct"
skips=$(peer_field a "$KB" turn_start; peer_field b "$KA" turn_start)
grep -qx 'standby (both endpoint-independent)' <<<"$skips" ||
	fail "cone: the answering side did not keep a standby allocation: $skips"
grep -qx 'skipped (our mapping endpoint-independent; the answering side decides for its own)' <<<"$skips" ||
	fail "cone: the offering side did not skip TURN: $skips"
[ "$(($(coturn_made) - made))" = 1 ] || fail "cone: coturn granted $(($(coturn_made) - made)) allocation(s), want the one standby"
none_held() { [ "$(allocations a)" = 0 ] && [ "$(allocations b)" = 0 ] && [ "$(coturn_held)" = 0 ]; }
wait_until 60 none_held ||
	fail "cone: after the hold status says a=$(allocations a) b=$(allocations b), coturn holds $(coturn_held)"
path_is a "$KB" direct || fail "cone: path on a is $(peer_field a "$KB" path) after the hold"
t_log "cone: direct ($(peer_field a "$KB" candidates) on a), TURN: $(paste -sd';' <<<"$skips"); coturn granted 1, $(grep -h 'released [0-9]* TURN' "$T_DIR"/tund-[ab].log | sed 's/.*peer [^:]*: //')"
lab_down

# ---- 2b. cone NATs, turn_prediction = lean: no allocation ever ----
made=$(coturn_made)
pair_up cone "" $'[ice]\nturn_prediction = lean'
wait_until 45 pings a "$B" || fail "lean cone: a cannot ping b within 45 s"
path_is a "$KB" direct || fail "lean cone: path on a is $(peer_field a "$KB" path), want direct"
skips=$(peer_field a "$KB" turn_start; peer_field b "$KA" turn_start)
grep -qx 'skipped (both endpoint-independent)' <<<"$skips" ||
	fail "lean cone: the answering side did not skip TURN: $skips"
[ "$(grep -c '^skipped' <<<"$skips")" = 2 ] || fail "lean cone: a side gathered TURN: $skips"
[ "$(coturn_made)" = "$made" ] || fail "lean cone: coturn granted $(($(coturn_made) - made)) allocation(s)"
[ "$(allocations a)" = 0 ] && [ "$(allocations b)" = 0 ] ||
	fail "lean cone: status says a=$(allocations a) b=$(allocations b) allocations"
t_log "lean cone: direct ($(peer_field a "$KB" candidates) on a), TURN: $(paste -sd';' <<<"$skips"); coturn granted none"
lab_down

# ---- 3. mixed (a cone, b symmetric): relayed ----
made=$(coturn_made)
pair_up mixed
wait_until 45 pings a "$B" || fail "mixed: a cannot ping b within 45 s"
path_is a "$KB" relay || fail "mixed: path on a is $(peer_field a "$KB" path), want relay"
[ "$(coturn_made)" -gt "$made" ] || fail "mixed: relayed, but coturn's log shows no allocation"
t_log "mixed: relay ($(peer_field a "$KB" candidates) on a), TURN on a: $(peer_field a "$KB" turn_start); b: $(peer_field b "$KA" turn_start)"
lab_down

# ---- 4. cone, the direct path dropped: the prediction is wrong ----
# The standby allocation relays the first session: no session fails.
pair_up cone block
secs=$(first_ping b "$A" 90 "$T0") || fail "blocked direct: b cannot ping a within 90 s"
path_is a "$KB" relay || fail "blocked direct: path on a is $(peer_field a "$KB" path), want relay"
if grep -q 'the path without TURN failed\|ICE failed' "$T_DIR"/tund-[ab].log; then
	fail "blocked direct: a session failed before the relay: $(grep -h 'without TURN failed\|ICE failed' "$T_DIR"/tund-[ab].log | head -n 2)"
fi
t_log "blocked direct: relay ($(peer_field a "$KB" candidates) on a) by the first session, first ping ${secs} s after the join; TURN on a: $(peer_field a "$KB" turn_start); b: $(peer_field b "$KA" turn_start)"
lab_down
# lean: the first session, without TURN, fails; the next one is relayed.
pair_up cone block $'[ice]\nturn_prediction = lean'
secs=$(first_ping b "$A" 90 "$T0") || fail "lean blocked direct: b cannot ping a within 90 s"
path_is a "$KB" relay || fail "lean blocked direct: path on a is $(peer_field a "$KB" path), want relay"
grep -q 'the path without TURN failed' "$T_DIR"/tund-[ab].log ||
	fail "lean blocked direct: relayed, but no log line says the session without TURN failed"
t_log "lean blocked direct: relay ($(peer_field a "$KB" candidates) on a), first ping ${secs} s after the join, after: $(grep -h 'without TURN failed' "$T_DIR"/tund-[ab].log | head -n 1 | sed 's/.*peer [^:]*: //')"
lab_down

# ---- 5. ten members, all direct: none held once settled ----
N=10
scale_up "$N" routed
made=$(coturn_made)
# Verbose: each session's TURN decision is a debug line, counted below.
for i in $(seq 1 "$N"); do TUND_NODE_VERBOSE=1 tund_node "n$i"; done
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
# Only answering sides allocate, one standby each: no offering side
# gathers unless a session without TURN failed (the safety net), and coturn
# granted no more than the sessions that chose to allocate. (A pair may see
# more than one session while the mesh forms: a path not yet connected is
# started again when its node's broker connection comes up.)
fallbacks=$(cat "$T_DIR"/tund-n*.log | grep -c 'the path without TURN failed')
standby=$(cat "$T_DIR"/tund-n*.log | grep -c ': TURN standby (both none)')
gathered=$(cat "$T_DIR"/tund-n*.log | grep -c ': TURN gathered')
offers=$(cat "$T_DIR"/tund-n*.log | grep -c ': TURN skipped (our mapping none; the answering side')
granted=$(($(coturn_made) - made))
[ "$offers" -ge $((N * (N - 1) / 2)) ] || fail "ten: only $offers sessions' offering sides skipped TURN for $((N * (N - 1) / 2)) pairs"
[ "$gathered" -le $((2 * fallbacks)) ] ||
	fail "ten: $gathered sessions gathered TURN outside the standby ($fallbacks sessions without TURN failed)"
[ "$granted" -le $((standby + gathered)) ] ||
	fail "ten: coturn granted $granted allocation(s) (up to $PEAK held at once) for $standby standby and $gathered gathering sessions"
t_log "ten: full mesh direct; $((N * (N - 1) / 2)) pairs, $offers offers without TURN, $standby answers with a standby; coturn granted $granted allocation(s) ($fallbacks sessions without TURN failed; held: up to $PEAK, $(coturn_held) now)"
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
mesh || fail "ten: a path is no longer direct"
for i in $(seq 2 "$N"); do
	# A path is direct before its WireGuard handshake is done.
	wait_until 20 pings n1 "$(overlay_addr "n$i")" || fail "ten: n1 cannot ping n$i within 20 s"
done
released=$(cat "$T_DIR"/tund-n*.log | grep -c 'released [0-9]* TURN allocation')
t_log "ten: coturn holds $(coturn_held) allocations, every status says 0 ($released sessions released theirs); n1 pings all nine"
echo "PASS turn_at_rest"
