#!/usr/bin/env bash
# IPv6 underlay: a and b behind symmetric IPv4 NATs (alone they get a TURN
# relay), both with global IPv6 behind their routers' stateful IPv6
# firewalls. ICE gathers the IPv6 host candidates and, host pairs ranking
# above reflexive and relayed ones, the path is direct over IPv6: tundctl
# peers says "direct (host→host)" with an IPv6 remote address on both sides,
# pings and a TCP transfer pass. The same lab without IPv6 gives a relay.
# Time to the first ping is logged per case.
set -u
. "$(dirname "$0")/lib.sh"
t_init natipv6
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"

# run_case 6|4: the symmetric lab dual-stack (6) or IPv4 only (4).
run_case() {
	local v=$1 t0 t1 cands_a cands_b ra rb fp0 fp1
	rm -rf "$T_DIR/a" "$T_DIR/b"
	LAB_IPV6=0
	[ "$v" = 6 ] && LAB_IPV6=1
	export LAB_IPV6
	lab_up symmetric
	if [ "$v" = 6 ]; then
		# The routers' IPv6 firewalls let no unsolicited flow in: only
		# ICE's checks from both sides open the way.
		if lab_exec a ping -6 -c 1 -W 1 "$(lab_addr6 b)" >/dev/null 2>&1; then
			fail "b's router lets an unsolicited IPv6 ping in"
		fi
	fi
	tund_node a
	tund_node b
	invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" |
		tail -n 1)
	t0=$(date +%s.%N)
	ctl b join "$invite" >/dev/null || fail "IPv$v: join failed"
	A=$(overlay_addr a) B=$(overlay_addr b) KA=$(pubkey a) KB=$(pubkey b)
	t1=$(first_ping a "$B" 45 "$t0") || fail "IPv$v: a cannot ping b within 45 s"
	pings b "$A" || fail "IPv$v: b cannot ping a"
	if [ "$v" = 6 ]; then
		# A relay pair may answer first; the controlling side then keeps
		# looking for a direct one.
		wait_until 60 path_is a "$KB" direct ||
			fail "IPv6: path on a is $(peer_field a "$KB" path) ($(peer_field a "$KB" candidates)), want direct"
		wait_until 10 path_is b "$KA" direct ||
			fail "IPv6: path on b is $(peer_field b "$KA" path), want direct"
		cands_a=$(peer_field a "$KB" candidates) cands_b=$(peer_field b "$KA" candidates)
		ra=$(peer_field a "$KB" remote_addr) rb=$(peer_field b "$KA" remote_addr)
		[ "$cands_a" = "host→host" ] && [ "$cands_b" = "host→host" ] ||
			fail "IPv6: pairs are $cands_a on a, $cands_b on b, want host→host"
		[[ $ra == "[$(lab_addr6 b)]:"* ]] || fail "IPv6: a's remote address is $ra, want b's IPv6"
		[[ $rb == "[$(lab_addr6 a)]:"* ]] || fail "IPv6: b's remote address is $rb, want a's IPv6"
		# netcheck names the address that made it possible.
		ctl a netcheck | grep -qxF "IPv6: $(lab_addr6 a)" ||
			fail "IPv6: netcheck on a does not show a's IPv6 address: $(ctl a netcheck)"
		# What a user reads: the path and the peer's IPv6 address.
		ctl a peers | grep -F "[$(lab_addr6 b)]:" | grep -qF "direct (host→host)" ||
			fail "IPv6: tundctl peers on a does not show the IPv6 direct path: $(ctl a peers)"
		pings a "$B" || fail "IPv6: a cannot ping b over the IPv6 path"
		fp0=$(ctl b status --json | jq '.fast_paths.received')
		transfer a b "$B" 5
		# b received the 5 MB on its fast path (its own IPv6 socket
		# beside libnice's): most of the ~3,700 datagrams it takes.
		fp1=$(ctl b status --json | jq '.fast_paths.received')
		[ "$(ctl b status --json | jq '.fast_paths.paths')" = 1 ] && [ $((fp1 - fp0)) -ge 3000 ] ||
			fail "IPv6: b's fast path: $(ctl b status --json | jq -c .fast_paths), $fp0 received before the transfer"
		t_log "IPv6: b's fast path received $((fp1 - fp0)) datagrams during the transfer"
		# The bytes crossed the IPv6 path, not the relay.
		[ "$(peer_field a "$KB" remote_addr)" = "$ra" ] ||
			fail "IPv6: the path moved during the transfer: $(peer_field a "$KB" remote_addr)"
	else
		path_is a "$KB" relay || fail "IPv4: path on a is $(peer_field a "$KB" path), want relay"
		path_is b "$KA" relay || fail "IPv4: path on b is $(peer_field b "$KA" path), want relay"
		cands_a=$(peer_field a "$KB" candidates) ra=$(peer_field a "$KB" remote_addr)
		ctl a netcheck | grep -qxF "IPv6: none (no global address)" ||
			fail "IPv4: netcheck on a does not say it has no IPv6: $(ctl a netcheck)"
	fi
	t_log "IPv$v: first ping after $t1 s; path $(peer_field a "$KB" path) ($cands_a) to $ra"
	lab_down
}
run_case 6
run_case 4
echo "PASS nat_ipv6"
