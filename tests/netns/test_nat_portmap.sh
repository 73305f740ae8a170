#!/usr/bin/env bash
# Port mapping: a behind a symmetric NAT whose router runs miniupnpd, b behind
# another symmetric NAT. With the mapping a's host candidate is reachable at
# the router's public address, so the path is direct ("mapped" on a's side);
# tundctl netcheck names the protocol and the mapped address, and the
# router's mapping is gone after a's tund exits. Three routers: PCP and
# NAT-PMP on, UPnP off (tund speaks PCP, its own client); the same with r1
# dropping PCP version 2 requests (a router that ignores PCP: NAT-PMP);
# UPnP-IGD only (PCP/NAT-PMP off: UPnP). In each, r1 then reboots (miniupnpd
# restarted with its state gone): the mapping comes back and the path is
# direct again; with PCP r1 then reboots with another WAN address and b's
# pair moves to a's new public address. The same lab without miniupnpd, and
# with [ice] portmap = off, gives a relay.
set -u
. "$(dirname "$0")/lib.sh"
t_init natportmap
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
# miniupnpd maps nothing while its WAN address is in a reserved range
# (documentation and carrier-grade ranges included): a public-looking range,
# which exists only inside the lab's namespaces.
export LAB_WAN_NET=11.22.33

# upnp_start UPNP PCP_PMP [LINE] (yes|no each): miniupnpd on r1 for r1's LAN
# (miniupnpd 2.3's enable_natpmp switches PCP and NAT-PMP together; LINE one
# more line of its configuration), with
# its own nft table; r1's forward policy must let the mapped (DNATed) flows
# through.
upnp_start() {
	lab_exec r1 nft -f - <<EOF || fail "nft tables for miniupnpd"
table inet tt_upnp {
	chain forward {
		type filter hook forward priority filter; policy accept;
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority srcnat - 1; policy accept;
		jump postrouting_miniupnpd
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
EOF
	lab_exec r1 nft insert rule inet tt_fw forward ct status dnat accept ||
		fail "r1 forward rule for mapped flows"
	cat >"$T_DIR/miniupnpd.conf" <<EOF
ext_ifname=wan
listening_ip=lan
http_port=0
enable_natpmp=$2
enable_upnp=$1
secure_mode=yes
system_uptime=no
lease_file=$T_DIR/upnp.leases
upnp_table_name=tt_upnp
upnp_nat_table_name=tt_upnp
uuid=6c1f3a0e-2b7d-4c44-9a51-$(printf '%012x' $$)
allow 1024-65535 10.1.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
${3:-}
EOF
	UPNP_PORT=5351
	[ "$2" = no ] && UPNP_PORT=1900
	upnp_run "$T_DIR/miniupnpd.log"
}

# upnp_run LOG: miniupnpd with the configuration upnp_start wrote; its pid
# in UPNP_PID.
upnp_run() {
	lab_bg r1 "$1" miniupnpd -d -f "$T_DIR/miniupnpd.conf" -P "$T_DIR/miniupnpd.pid"
	UPNP_PID=$LAB_PID UPNP_STARTED=$SECONDS
	wait_until 10 lab_exec r1 sh -c "ss -lunH 'sport = :$UPNP_PORT' | grep -q ." ||
		fail "miniupnpd did not listen on UDP $UPNP_PORT ($(tail -n 5 "$1"))"
}

# router_restart [NEW_WAN]: r1 reboots: miniupnpd stops, everything it
# knew is gone (its nft rules, its leases; with
# NEW_WAN r1's WAN address is NEW_WAN now) and it starts again, its PCP and
# NAT-PMP epoch from 0 (system_uptime=no). Its log is miniupnpd2.log.
router_restart() {
	local c ns gw
	# The epoch check allows 2 s of slack (RFC 6887 8.5): a router that
	# restarts within its first seconds cannot be told from one that did
	# not (its epoch was 1 s, now it is 0). Real ones have run for longer.
	while [ $((SECONDS - UPNP_STARTED)) -lt 10 ]; do sleep 0.2; done
	kill "$UPNP_PID"
	wait_until 10 eval '! kill -0 "$UPNP_PID" 2>/dev/null' || fail "miniupnpd did not stop"
	for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
		lab_exec r1 nft flush chain inet tt_upnp "$c" || fail "flush $c on r1"
	done
	rm -f "$T_DIR/upnp.leases" "$T_DIR/miniupnpd2.log"
	if [ -n "${1:-}" ]; then
		gw=$(lab_exec r1 ip -4 route show default | awk '{print $3; exit}')
		# The old one first: deleting a primary address takes its
		# secondaries (and the default route) with it.
		lab_exec r1 ip addr del "$(lab_addr r1)/24" dev wan || fail "r1: del old WAN address"
		lab_exec r1 ip addr add "$1/24" dev wan || fail "r1: add $1"
		lab_exec r1 ip route replace default via "$gw" dev wan ||
			fail "r1: default route via $gw"
	fi
	upnp_run "$T_DIR/miniupnpd2.log"
}

# r1 drops PCP version 2 requests to its port 5351 (first payload byte 2)
# and lets NAT-PMP's version 0 through: a router that ignores PCP.
pcp_drop() {
	lab_exec r1 nft -f - <<EOF || fail "nft table dropping PCP"
table inet tt_nopcp {
	chain input {
		type filter hook input priority filter - 10; policy accept;
		udp dport 5351 @th,64,8 2 counter drop
	}
}
EOF
}

# router_maps PORT: r1 forwards its public PORT (a DNAT rule of miniupnpd's).
router_maps() {
	lab_exec r1 nft list chain inet tt_upnp prerouting_miniupnpd | grep -q "dport $1 .*dnat"
}
router_maps_any() {
	lab_exec r1 nft list chain inet tt_upnp prerouting_miniupnpd | grep -q dnat
}

# pcp_renewed PORT: miniupnpd granted a's PCP MAP for 120 s (netcheck's
# lifetime); tund asks again after 60 s with the same nonce, miniupnpd takes
# it (tund logs no PCP error) and the same forward stays.
pcp_renewed() {
	local life pat="PCP MAP: .* UDP $1->10\.1\.0\.10:"
	grep -q "$pat" "$T_DIR/miniupnpd.log" ||
		fail "pcp: miniupnpd logged no PCP MAP of port $1: $(tail -n 5 "$T_DIR/miniupnpd.log")"
	life=$(ctl a netcheck --json | jq -r ".portmap.mappings[] | select(.external | endswith(\":$1\")) | .lifetime")
	[ "$life" = 120 ] || fail "pcp: mapping lifetime is $life, want 120 (max_lifetime)"
	wait_until 150 eval '[ "$(grep -c "$pat" "$T_DIR/miniupnpd.log")" -ge 2 ]' ||
		fail "pcp: no renewal of port $1 reached miniupnpd: $(grep "PCP" "$T_DIR/miniupnpd.log" | tail -n 5)"
	t_log "pcp: renewed: $(grep "$pat" "$T_DIR/miniupnpd.log" | tail -n 1)"
	if grep -q 'port mapping: PCP' "$T_DIR/tund-a.log"; then
		fail "pcp: renewal failed: $(grep 'port mapping: PCP' "$T_DIR/tund-a.log")"
	fi
	router_maps "$1" || fail "pcp: r1 lost the forward of port $1 after the renewal"
	pings a "$B" || fail "pcp: a cannot ping b after the renewal"
}

# restarted MODE PORT: r1 restarts with its state lost; tund notices (PCP,
# NAT-PMP: the epoch in the router's announcement or next answer; UPnP: the
# next renewal, at most a minute away, finds the control URL gone and looks
# for the router again), r1 forwards the public port again, netcheck shows
# the mapping, the path is direct and pings go through.
restarted() {
	local mode=$1 port=$2 nc pat="the router restarted or lost its mappings" seen
	# tund-a.log goes on from the cases before: count this case's lines.
	seen=$(grep -c "$pat" "$T_DIR/tund-a.log")
	router_restart
	if [ "$mode" != upnp ]; then
		wait_until 150 eval '[ "$(grep -c "$pat" "$T_DIR/tund-a.log")" -gt "$seen" ]' ||
			fail "$mode: tund did not notice r1's restart: $(grep 'port mapping' "$T_DIR/tund-a.log" | tail -n 5)"
		t_log "$mode: $(grep -o "$pat.*" "$T_DIR/tund-a.log" | tail -n 1)"
	fi
	wait_until 150 router_maps "$port" ||
		fail "$mode: r1 does not forward port $port again after its restart: $(grep 'port mapping' "$T_DIR/tund-a.log" | tail -n 5)"
	nc=$(ctl a netcheck) || fail "$mode: netcheck failed: $nc"
	grep -q "^mapped address: .*$LAB_WAN_NET\.11:$port -> 10\.1\.0\.10:" <<<"$nc" ||
		fail "$mode: netcheck after the restart: $nc"
	wait_until 60 path_is a "$KB" direct ||
		fail "$mode: path on a is $(peer_field a "$KB" path) after r1's restart"
	wait_until 10 pings a "$B" || fail "$mode: a cannot ping b after r1's restart"
	t_log "$mode: after r1's restart: $(grep -o "$pat\|AddPortMapping\|PCP MAP\|NAT-PMP port mapping" "$T_DIR/miniupnpd2.log" "$T_DIR/tund-a.log" | sort | uniq -c | tr '\n' ';')"
}

# wan_moved: r1 restarts with another WAN address; the router's PCP
# answers name it, tund's mapped candidate moves, b's pair is direct to a's
# new public address and pings go through.
wan_moved() {
	local new=$LAB_WAN_NET.111
	router_restart "$new"
	wait_until 150 eval 'ctl a netcheck | grep -q "^mapped address: .*$new:[0-9]* -> 10\.1\.0\.10"' ||
		fail "pcp: netcheck does not show $new after r1's WAN moved: $(ctl a netcheck)"
	wait_until 120 eval '[[ "$(peer_field b "$KA" remote_addr)" == "$new:"* ]]' ||
		fail "pcp: b's pair goes to $(peer_field b "$KA" remote_addr) ($(peer_field b "$KA" candidates)), want $new:..."
	wait_until 30 path_is b "$KA" direct || fail "pcp: b's path is $(peer_field b "$KA" path)"
	[[ $(peer_field b "$KA" candidates) == *→mapped ]] ||
		fail "pcp: b's pair is $(peer_field b "$KA" candidates) after the move, want ...→mapped"
	wait_until 10 pings a "$B" || fail "pcp: a cannot ping b after r1's WAN moved"
	t_log "pcp: r1's WAN moved to $new: b -> $(peer_field b "$KA" remote_addr) ($(peer_field b "$KA" candidates))"
}

# run_case pcp|natpmp|upnp|none|off: the lab, a and b in one network, the path.
run_case() {
	local mode=$1 extra="" want=relay nc cands mapped port
	rm -rf "$T_DIR/a" "$T_DIR/b"
	lab_up symmetric
	case $mode in
	upnp) upnp_start yes no ;;
	off) upnp_start yes yes ;;
	pcp) upnp_start no yes $'min_lifetime=60\nmax_lifetime=120' ;; # renewed after 60 s
	natpmp) upnp_start no yes && pcp_drop ;;
	esac
	[ "$mode" = off ] && extra=$'[ice]\nportmap = off'
	tund_node a "" "$extra"
	tund_node b
	invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" |
		tail -n 1)
	ctl b join "$invite" >/dev/null || fail "$mode: join failed"
	A=$(overlay_addr a) B=$(overlay_addr b) KA=$(pubkey a) KB=$(pubkey b)
	wait_until 45 pings a "$B" || fail "$mode: a cannot ping b within 45 s"
	pings b "$A" || fail "$mode: b cannot ping a"
	case $mode in pcp | upnp | natpmp) want=direct ;; esac
	# A relay pair may answer first; the controlling side then keeps
	# looking for a direct one (make-before-break).
	if [ "$want" = direct ]; then
		wait_until 90 path_is a "$KB" direct ||
			fail "$mode: path on a is $(peer_field a "$KB" path) ($(peer_field a "$KB" candidates)), want direct"
		wait_until 10 path_is b "$KA" direct ||
			fail "$mode: path on b is $(peer_field b "$KA" path), want direct"
	else
		path_is a "$KB" relay || fail "$mode: path on a is $(peer_field a "$KB" path), want relay"
		path_is b "$KA" relay || fail "$mode: path on b is $(peer_field b "$KA" path), want relay"
	fi
	cands=$(peer_field a "$KB" candidates)
	t_log "$mode: path $(peer_field a "$KB" path) ($cands) on a, ($(peer_field b "$KA" candidates)) on b"
	# Discovery runs beside ICE (a worker thread): wait for its answer.
	discovered() { ctl a netcheck --json | jq -e '.portmap.discovering == false' >/dev/null; }
	wait_until 30 discovered || fail "$mode: port-mapping discovery did not finish within 30 s"
	nc=$(ctl a netcheck) || fail "$mode: netcheck failed: $nc"
	case $mode in
	pcp | upnp | natpmp)
		[[ $cands == mapped→* ]] || fail "$mode: a's pair is $cands, want mapped→..."
		[[ $(peer_field b "$KA" candidates) == *→mapped ]] ||
			fail "$mode: b's pair is $(peer_field b "$KA" candidates), want ...→mapped"
		# tund asks PCP first, then NAT-PMP, then UPnP-IGD.
		grep -q "^port mapping: $mode on 10.1.0.1, external address $LAB_WAN_NET.11$" <<<"$nc" ||
			fail "$mode: netcheck does not name $mode and the external address: $nc"
		mapped=$(grep '^mapped address: ' <<<"$nc" | grep -o "$LAB_WAN_NET\.11:[0-9]* -> 10\.1\.0\.10:[0-9]*" | head -n 1)
		[ -n "$mapped" ] || fail "$mode: netcheck shows no mapped address: $nc"
		port=${mapped%% *}
		port=${port##*:}
		router_maps "$port" || fail "$mode: r1 has no mapping of port $port"
		t_log "$mode: netcheck: $(grep -E '^(port mapping|mapped address):' <<<"$nc" | tr '\n' ';')"
		if [ "$mode" = natpmp ]; then
			lab_exec r1 nft list table inet tt_nopcp | grep -q 'counter packets [1-9]' ||
				fail "natpmp: no PCP request reached r1 before NAT-PMP"
		fi
		[ "$mode" = pcp ] && pcp_renewed "$port"
		restarted "$mode" "$port"
		[ "$mode" = pcp ] && wan_moved
		transfer a b "$B" 5
		tund_stop a
		wait_until 10 eval '! router_maps_any' ||
			fail "$mode: mappings stayed on r1 after tund exited: $(lab_exec r1 nft list chain inet tt_upnp prerouting_miniupnpd)"
		if [ -s "$T_DIR/upnp.leases" ]; then
			fail "$mode: miniupnpd still has leases: $(cat "$T_DIR/upnp.leases")"
		fi
		;;
	none)
		grep -q "^port mapping: none (" <<<"$nc" || fail "none: netcheck: $nc"
		grep -q "^mapped address: -$" <<<"$nc" || fail "none: netcheck: $nc"
		;;
	off)
		grep -qF 'port mapping: none (off ([ice] portmap = off))' <<<"$nc" ||
			fail "off: netcheck: $nc"
		if router_maps_any; then fail "off: r1 has a mapping"; fi
		;;
	esac
	lab_down
}
# PORTMAP_CASES="natpmp upnp" runs only those (while working on one); the
# test passes only with all of them.
for c in ${PORTMAP_CASES:-pcp natpmp upnp none off}; do
	run_case "$c"
done
[ -z "${PORTMAP_CASES:-}" ] || fail "only the cases $PORTMAP_CASES ran (they passed)"
echo "PASS nat_portmap"
