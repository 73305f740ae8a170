#!/bin/bash
# SPDX-License-Identifier: MIT
# tund/ice over TURN: namespaces a and b whose direct UDP is blocked (nft on
# the router), both reaching a coturn in the router namespace srv. Signaling
# is two files (build/ice_probe). Case 1: TURN over UDP, the selected pair must
# be relayed. Case 2: all UDP leaving a and b is dropped, TURN over TCP must
# carry a relay<->relay pair. Datagrams must pass both ways in both cases.
# a also has a "TUN" (tt-tun0, 10.99.0.1) that must never be gathered.
#
#   a 10.1.0.2 --- 10.1.0.1 [srv: router + coturn on 10.1.0.1:3478] 10.2.0.1 --- 10.2.0.2 b
set -u
. "$(dirname "$0")/lib.sh"
t_init ice-relay

PROBE=${PROBE:-$TOP/build/ice_probe}
if [ "${PROBE}" = "$TOP/build/ice_probe" ]; then
	make -s -C "$TOP" build/ice_probe >/dev/null || fail "could not build ice_probe"
fi
command -v turnserver >/dev/null || fail "coturn (turnserver) is not installed"
command -v nft >/dev/null || fail "nft is not installed"

# Namespaces tt-ice-PID-{a,b,srv}, removed by t_cleanup.
mk_ns() {
	local ns="tt-ice-$$-$2"
	ip netns add "$ns" || fail "cannot create namespace $ns"
	T_NS+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	printf -v "$1" '%s' "$ns"
}
mk_ns A a
mk_ns B b
mk_ns S srv

ip -n "$A" link add eth0 type veth peer name ea netns "$S" || fail "veth a"
ip -n "$B" link add eth0 type veth peer name eb netns "$S" || fail "veth b"
ip -n "$S" addr add 10.1.0.1/24 dev ea
ip -n "$S" addr add 10.2.0.1/24 dev eb
ip -n "$S" link set ea up
ip -n "$S" link set eb up
ip netns exec "$S" sysctl -qw net.ipv4.ip_forward=1
ip -n "$A" addr add 10.1.0.2/24 dev eth0
ip -n "$A" link set eth0 up
ip -n "$A" route add default via 10.1.0.1
ip -n "$B" addr add 10.2.0.2/24 dev eth0
ip -n "$B" link set eth0 up
ip -n "$B" route add default via 10.2.0.1
# Stand-in for tund's TUN in a: up, running (a veth pair inside a: no dummy
# module here, and a TUN without a reader has no carrier), with an address.
ip -n "$A" link add tt-tun0 type veth peer name tt-tunp || fail "veth tt-tun0"
ip -n "$A" addr add 10.99.0.1/24 dev tt-tun0
ip -n "$A" link set tt-tunp up
ip -n "$A" link set tt-tun0 up

# Direct traffic between a and b: no UDP through the router.
ip netns exec "$S" nft -f - <<EOF || fail "nft srv"
table inet tt_ice {
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta l4proto udp drop
	}
}
EOF
link_up() { ip -n "$1" -o link show "$2" | grep -q 'state UP'; }
wait_until 5 link_up "$A" eth0 || fail "a: eth0 not up"
wait_until 5 link_up "$B" eth0 || fail "b: eth0 not up"
ip netns exec "$A" ping -c1 -W2 10.2.0.2 >/dev/null || fail "no route a -> b"

ip netns exec "$S" turnserver -n --listening-ip 10.1.0.1 --relay-ip 10.1.0.1 \
	--listening-port 3478 --min-port 49152 --max-port 65535 \
	--user tund:tundpass --realm tund.lab --lt-cred-mech --no-cli --no-tls --no-dtls \
	--userdb "$T_DIR/turndb" --pidfile "$T_DIR/turn.pid" --log-file stdout \
	>"$T_DIR/coturn.log" 2>&1 &
t_track $!
turn_up() { ip netns exec "$S" ss -ltnu | grep -q '10.1.0.1:3478'; }
wait_until 10 turn_up || fail "coturn did not start"

# run_case NAME TRANSPORT TURN-ARG...: both probes, then checks.
run_case() {
	local name=$1 want=$2 pa pb la lb ra rb t
	shift 2
	local turn=()
	for t in "$@"; do turn+=(--turn "$t"); done
	: >"$T_DIR/$name-a.sig"
	: >"$T_DIR/$name-b.sig"
	la="$T_DIR/$name-a.log"
	lb="$T_DIR/$name-b.log"
	ip netns exec "$A" "$PROBE" --controlling --exclude tt-tun0 "${turn[@]}" \
		--out "$T_DIR/$name-a.sig" --in "$T_DIR/$name-b.sig" --timeout 25 >"$la" 2>&1 &
	pa=$!
	t_track "$pa"
	ip netns exec "$B" "$PROBE" "${turn[@]}" \
		--out "$T_DIR/$name-b.sig" --in "$T_DIR/$name-a.sig" --timeout 25 >"$lb" 2>&1 &
	pb=$!
	t_track "$pb"
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	t_untrack "$pa"
	t_untrack "$pb"
	[ "$ra" = 0 ] || fail "$name: probe a failed ($ra)"
	[ "$rb" = 0 ] || fail "$name: probe b failed ($rb)"
	for side in a b; do
		local log="$T_DIR/$name-$side.log" pair
		pair=$(grep '^pair ' "$log" | tail -n 1)
		[ -n "$pair" ] || fail "$name/$side: no pair"
		case $pair in *" relayed") ;; *) fail "$name/$side: not relayed: $pair" ;; esac
		t_log "$name/$side: $pair, $(grep '^connected' "$log")"
		grep -q '^closed cleanly' "$log" || fail "$name/$side: close did not finish"
	done
	# The local side of a relay pair tells the TURN transport.
	for side in a b; do
		local pair
		pair=$(grep '^pair ' "$T_DIR/$name-$side.log" | tail -n 1)
		case $pair in
		"pair relay "*) [ "$(echo "$pair" | awk '{print $6}')" = "$want" ] ||
			fail "$name/$side: transport is not $want: $pair" ;;
		esac
	done
	grep -q '10\.99\.0\.1' "$la" && fail "$name: a gathered on its TUN (10.99.0.1)"
	grep -q '^local a=candidate:.* 10\.1\.0\.2 .*typ host' "$la" ||
		fail "$name: a has no host candidate on eth0"
	grep -q '^local a=candidate:.* 127\.' "$la" && fail "$name: a gathered on loopback"
	return 0
}

t_log "case 1: TURN over UDP, direct UDP blocked"
run_case turn-udp udp udp:10.1.0.1:3478:tund:tundpass
grep -q '^pair relay .* udp relayed\|^pair [a-z]* .* relay .* udp relayed' \
	"$T_DIR/turn-udp-a.log" "$T_DIR/turn-udp-b.log" || fail "turn-udp: no relay on either side"

t_log "case 2: all UDP from a and b dropped, TURN over TCP"
for ns in "$A" "$B"; do
	ip netns exec "$ns" nft -f - <<EOF || fail "nft $ns"
table inet tt_ice {
	chain output {
		type filter hook output priority 0; policy accept;
		oifname "lo" accept
		meta l4proto udp drop
	}
}
EOF
done
# UDP TURN first (it times out), TCP second: the transport is told apart.
run_case turn-tcp tcp udp:10.1.0.1:3478:tund:tundpass tcp:10.1.0.1:3478:tund:tundpass
for side in a b; do
	grep -q '^pair relay .* relay .* tcp relayed' "$T_DIR/turn-tcp-$side.log" ||
		fail "turn-tcp/$side: not a relay<->relay pair over TCP"
done
echo "ok test_ice_relay"
