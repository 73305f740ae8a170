# shellcheck shell=bash
# Time to first ping after join, in a NAT lab (tests/netns/natlab.sh) that is
# up. Source after lib.sh, natlab.sh, lib_tund.sh and lib_measure.sh (median);
# TUND and TUNDCTL name the binaries.
#
# The clock starts when `tundctl join` starts on b (a fresh daemon, a fresh
# state directory) and stops at the first echo reply b receives from a's
# overlay address. b pings every 5 ms (ping -D timestamps each reply) from
# the moment join returns; join's own time is included and also reported.

JOIN_NAME=bench

# first_ping_after_join: fresh daemons on a and b; a creates a network with
# the lab's broker and TURN, b joins. Sets JOIN_MS (join command), FIRST_MS
# (join start to first reply), JOIN_PATH (b's path to a just after), and
# leaves both daemons running (their state in $T_DIR/a and $T_DIR/b).
first_ping_after_join() {
	local invite addr_a key_a t0 t1 out first deadline
	tund_node a
	tund_node b
	invite=$(ctl a network create "$JOIN_NAME" --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" |
		tail -n 1)
	[[ $invite == tund1:* ]] || fail "no invite: $invite"
	addr_a=$(overlay_addr a)
	[ -n "$addr_a" ] || fail "a has no overlay address"
	key_a=$(pubkey a)
	t0=$(date +%s.%N)
	ctl b join "$invite" >/dev/null || fail "join failed"
	t1=$(date +%s.%N)
	deadline=$((SECONDS + 60))
	first=
	# ping exits at the first reply (-c 1) or after -w; it also exits at
	# once while b has no route yet, hence the loop.
	while [ -z "$first" ] && [ $SECONDS -lt $deadline ]; do
		out=$(lab_exec b ping -n -D -c 1 -w 30 -i 0.005 "$addr_a" 2>&1)
		first=$(sed -n 's/^\[\([0-9.]*\)\] .* bytes from .*/\1/p' <<<"$out" | head -n 1)
		[ -n "$first" ] || sleep 0.005
		[ -n "${JOIN_DEBUG:-}" ] && t_log "ping at $(date +%s.%N): $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
	done
	[ -n "${JOIN_DEBUG:-}" ] && t_log "join t0 $t0 t1 $t1"
	[ -n "$first" ] || fail "no reply from a ($addr_a) within 60 s of the join"
	JOIN_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	FIRST_MS=$(awk -v a="$t0" -v b="$first" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	JOIN_PATH=$(peer_field b "$key_a" path)
}

# join_reps LABEL N: N rounds of first_ping_after_join, each with fresh
# daemons; appends to JOIN_FIRST[LABEL], JOIN_CMD[LABEL], JOIN_PATHS[LABEL].
# The daemons are stopped and their state removed after each round.
declare -gA JOIN_FIRST=() JOIN_CMD=() JOIN_PATHS=()
join_reps() {
	local label=$1 n=$2 i
	for i in $(seq 1 "$n"); do
		first_ping_after_join
		t_log "$label join $i: first reply ${FIRST_MS} ms after join started (join took ${JOIN_MS} ms), path ${JOIN_PATH:-?}"
		JOIN_FIRST[$label]+="$FIRST_MS "
		JOIN_CMD[$label]+="$JOIN_MS "
		JOIN_PATHS[$label]+="${JOIN_PATH:-no-ICE-path} "
		tund_stop a
		tund_stop b
		rm -rf "$T_DIR/a" "$T_DIR/b"
	done
}

# join_table LABEL...: the markdown table of the rounds so far.
join_table() {
	local l
	printf '\n| time to first ping after join (NAT lab) | median ms | runs ms | join command median ms | path at first reply |\n|---|---:|---:|---:|---|\n'
	for l in "$@"; do
		[ -n "${JOIN_FIRST[$l]:-}" ] || continue
		printf '| %s | %s | %s | %s | %s |\n' "$l" \
			"$(tr ' ' '\n' <<<"${JOIN_FIRST[$l]}" | median)" "${JOIN_FIRST[$l]% }" \
			"$(tr ' ' '\n' <<<"${JOIN_CMD[$l]}" | median)" \
			"$(tr ' ' '\n' <<<"${JOIN_PATHS[$l]}" | grep . | sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1 }')"
	done
	echo "From the start of \`tundctl join\` on b (fresh daemons) to the first echo reply b receives from a's overlay address; b pings every 5 ms from when join returns."
}
