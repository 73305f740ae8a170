#!/usr/bin/env bash
# Hairpin and double NAT.
# - hairpin: a and b on two VLANs of one cone NAT router that hairpins and
#   forwards nothing else between them (so no LAN beacon and no host pair
#   reaches across): the path is direct through the router's public address
#   (the remote address is that address on both sides), no beacon was
#   accepted, pings and a TCP transfer pass. The same router without the
#   hairpin gives a relay.
# - double: a and b each behind a home NAT behind a carrier-grade NAT (both
#   cone, as RFC 6888 asks of a CGN): the path is direct, server-reflexive
#   at the CGNs' public addresses.
# - samelan: a and d on one LAN segment behind r1, [interface] beacons = off
#   on both: no beacon counters, the path is direct host→host on the LAN (no
#   hairpin needed), not "lan".
# Time to the first ping is logged per case.
set -u
. "$(dirname "$0")/lib.sh"
t_init nathairpin
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"

beacons_accepted() { ctl "$1" networks --json | jq '[.[].beacons.accepted // 0] | add'; }

# run_case hairpin|nohairpin|double|samelan
run_case() {
	local c=$1 topo=$1 want=direct t0 t1 ra rb ca cb b=b iface=""
	rm -rf "$T_DIR/a" "$T_DIR/b" "$T_DIR/d"
	LAB_HAIRPIN=1 LAB_LAN_PEER=0
	case $c in
	nohairpin) topo=hairpin LAB_HAIRPIN=0 want=relay ;;
	samelan) topo=cone LAB_LAN_PEER=1 b=d iface="beacons = off" ;;
	esac
	export LAB_HAIRPIN LAB_LAN_PEER
	lab_up "$topo"
	tund_node a "$iface"
	tund_node "$b" "$iface"
	invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" |
		tail -n 1)
	t0=$(date +%s.%N)
	ctl "$b" join "$invite" >/dev/null || fail "$c: join failed"
	A=$(overlay_addr a) B=$(overlay_addr "$b") KA=$(pubkey a) KB=$(pubkey "$b")
	t1=$(first_ping a "$B" 45 "$t0") || fail "$c: a cannot ping b within 45 s"
	pings "$b" "$A" || fail "$c: b cannot ping a"
	if [ "$want" = direct ]; then
		# A relay pair may answer first; the controlling side then keeps
		# looking for a direct one.
		wait_until 60 path_is a "$KB" direct ||
			fail "$c: path on a is $(peer_field a "$KB" path) ($(peer_field a "$KB" candidates)), want direct"
		wait_until 10 path_is "$b" "$KA" direct ||
			fail "$c: path on b is $(peer_field "$b" "$KA" path), want direct"
	else
		path_is a "$KB" relay || fail "$c: path on a is $(peer_field a "$KB" path), want relay"
		path_is "$b" "$KA" relay || fail "$c: path on b is $(peer_field "$b" "$KA" path), want relay"
	fi
	ra=$(peer_field a "$KB" remote_addr) rb=$(peer_field "$b" "$KA" remote_addr)
	ca=$(peer_field a "$KB" candidates) cb=$(peer_field "$b" "$KA" candidates)
	case $c in
	hairpin)
		# Both go out to and come in from r1's one public address.
		[[ $ra == "$(lab_wan b):"* ]] && [[ $rb == "$(lab_wan a):"* ]] ||
			fail "hairpin: remote addresses are $ra on a, $rb on b, want $(lab_wan a):PORT"
		;;
	double)
		[[ $ra == "$(lab_wan b):"* ]] && [[ $rb == "$(lab_wan a):"* ]] ||
			fail "double: remote addresses are $ra on a, $rb on b, want the CGNs' $(lab_wan b) and $(lab_wan a)"
		# Both sides' own addresses are two NATs down: what the peer
		# reaches is what the TURN server saw (srflx), or what the
		# peer's checks saw (prflx).
		[[ $ca == *→srflx || $ca == *→prflx ]] && [[ $cb == *→srflx || $cb == *→prflx ]] ||
			fail "double: pairs are $ca on a, $cb on b, want ...→srflx or ...→prflx"
		;;
	esac
	case $c in
	hairpin | nohairpin)
		# No beacon crossed the VLANs: the path is not "lan".
		[ "$(beacons_accepted a)" = 0 ] && [ "$(beacons_accepted b)" = 0 ] ||
			fail "$c: beacons were accepted: a $(beacons_accepted a), b $(beacons_accepted b)"
		;;
	samelan)
		# Beacons off: none sent, no counters; ICE pairs the LAN addresses.
		[ "$(ctl a networks --json | jq '[.[] | select(has("beacons"))] | length')" = 0 ] ||
			fail "samelan: beacons are on: $(ctl a networks --json | jq -c '.[].beacons')"
		grep -q "LAN beacons off" "$T_DIR/tund-a.log" || fail "samelan: a did not log that beacons are off"
		[ "$ca" = "host→host" ] && [[ $ra == "$(lab_addr d):"* ]] && [[ $rb == "$(lab_addr a):"* ]] ||
			fail "samelan: pairs are $ca to $ra on a, $cb to $rb on d, want host→host on the LAN"
		;;
	esac
	[ "$want" = direct ] && transfer a "$b" "$B" 5
	t_log "$c: first ping after $t1 s; path $(peer_field a "$KB" path) ($ca) to $ra on a, ($cb) to $rb on $b"
	lab_down
}
run_case hairpin
run_case nohairpin
run_case double
run_case samelan
echo "PASS nat_hairpin"
