#!/usr/bin/env bash
# When no direct path exists, the relay carries traffic: both friends behind
# symmetric NATs (TURN over UDP), and routers that drop all UDP so only TURN
# over TCP gets through.
set -u
. "$(dirname "$0")/lib.sh"
t_init natrelay
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"

run_case() { # TOPOLOGY TRANSPORT
	rm -rf "$T_DIR/a" "$T_DIR/b" # fresh nodes per case
	lab_up "$1"
	local turn=$LAB_TURN_UDP
	[ "$2" = tcp ] && turn=$LAB_TURN_TCP
	tund_node a
	tund_node b
	invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$turn" | tail -n 1)
	ctl b join "$invite" >/dev/null || fail "$1: join failed"
	A=$(overlay_addr a) B=$(overlay_addr b) KB=$(pubkey b) KA=$(pubkey a)
	wait_until 45 pings a "$B" || fail "$1: a cannot ping b within 45 s"
	pings b "$A" || fail "$1: b cannot ping a"
	path_is a "$KB" relay || fail "$1: path on a is $(peer_field a "$KB" path), want relay"
	path_is b "$KA" relay || fail "$1: path on b is $(peer_field b "$KA" path), want relay"
	rt=$(peer_field a "$KB" relay_transport)
	[ "$rt" = "$2" ] || [ "$(peer_field b "$KA" relay_transport)" = "$2" ] ||
		fail "$1: relay transport is '$rt', want $2"
	# TURN-TCP frames ChannelData in the TCP stream: that pair stays on
	# libnice (a side whose local candidate is a TURN-TCP allocation).
	if [ "$2" = tcp ]; then
		# (peer_field's // would print nothing for false.)
		fp=$(ctl a peers --json | jq -r --arg k "$KB" '.[] | select(.public_key == $k) | .fast_path')
		[ "$fp" = false ] || fail "$1: a's TURN-TCP pair reports fast_path $fp, want false"
	fi
	transfer a b "$B" 5
	t_log "$1: relay over TURN-$2 ($(peer_field a "$KB" candidates)), 5 MB intact"
	lab_down
}
run_case symmetric udp
run_case blocked-tcp tcp
echo "PASS nat_relay"
