#!/usr/bin/env bash
# How long two friends take to connect: both daemons (already members of
# one network) start at once; time until the first ping reply through the
# tunnel, per NAT topology, median of N runs. Also the signaling one node
# sends to connect to one peer, and the time to first ping after the join
# that made them members (lib_join.sh, as in paths.sh).
# Usage: connect.sh [RUNS] [TOPOLOGY...]
set -u
. "$(dirname "$0")/../netns/lib.sh"
t_init connect
. "$(dirname "$0")/../netns/natlab.sh"
. "$(dirname "$0")/../netns/lib_tund.sh"
. "$(dirname "$0")/lib_measure.sh"
. "$(dirname "$0")/lib_join.sh"
RUNS=${1:-5}; shift || true
TOPOS=${*:-cone symmetric}
JOIN_NAME=friends
now_ms() { date +%s%3N; }

for topo in $TOPOS; do
	times=() msgs=() bytes=() joins=()
	for run in $(seq 1 "$RUNS"); do
		rm -rf "$T_DIR/a" "$T_DIR/b"
		lab_up "$topo"
		first_ping_after_join
		joins+=("$FIRST_MS")
		B=$(overlay_addr b)
		tund_stop a; tund_stop b
		# Both start now; the retained announces let them find each other.
		t0=$(now_ms)
		tund_node a
		tund_node b
		until lab_exec a ping -c 1 -W 1 -i 0.05 "$B" >/dev/null 2>&1; do
			[ $(($(now_ms) - t0)) -lt 60000 ] || fail "$topo: no reply within 60 s"
		done
		times+=($(($(now_ms) - t0)))
		sleep 3 # let trickle finish before counting messages
		msgs+=("$(ctl a networks --json | jq '.[0].signaling.sent')")
		bytes+=("$(ctl a networks --json | jq '.[0].signaling.sent_bytes')")
		path=$(ctl a peers --json | jq -r '.[0].path')
		echo "$topo run $run: ${times[-1]} ms to first reply, path $path, a sent ${msgs[-1]} messages / ${bytes[-1]} bytes" >&2
		lab_down
	done
	printf '%s: median %s ms to first ping reply (runs: %s); a sent median %s signaling messages, %s bytes\n' \
		"$topo" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}" \
		"$(printf '%s\n' "${msgs[@]}" | median)" "$(printf '%s\n' "${bytes[@]}" | median)"
	printf '%s: median %s ms from the start of tundctl join to the first ping reply (runs: %s)\n' \
		"$topo" "$(printf '%s\n' "${joins[@]}" | median)" "${joins[*]}"
done
