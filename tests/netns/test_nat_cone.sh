#!/usr/bin/env bash
# Two friends, each behind a port-restricted cone NAT, one network created by
# a and joined by b through an invite: the path is direct (not relay), ping
# works and a 20 MB TCP transfer arrives intact, over tund's fast path; with
# pings only after it, the fast path's thread reads the TUN too (light
# traffic on one thread).
set -u
. "$(dirname "$0")/lib.sh"
t_init natcone
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b)
[ -n "$A" ] && [ -n "$B" ] && [ "$A" != "$B" ] || fail "addresses: a=$A b=$B"
KA=$(pubkey a) KB=$(pubkey b)
wait_until 30 pings a "$B" || fail "a cannot ping b ($B) within 30 s"
pings b "$A" || fail "b cannot ping a"
path_is a "$KB" direct || fail "path on a is $(peer_field a "$KB" path), want direct"
path_is b "$KA" direct || fail "path on b is $(peer_field b "$KA" path), want direct"
t_log "path $(peer_field a "$KB" candidates) $(peer_field a "$KB" local_addr) -> $(peer_field a "$KB" remote_addr)"
out=$(ctl a ping "$KB" -c 2) || fail "tundctl ping failed: $out"
grep -q direct <<<"$out" || fail "tundctl ping does not show the path: $out"
grep -q '^2 sent, 2 received' <<<"$out" || fail "tundctl ping lost packets on the direct path: $out"
rtt=$(peer_field a "$KB" rtt_ms)
[ -n "$rtt" ] || fail "peers shows no RTT"
transfer a b "$B" 20
t_log "20 MB intact over the direct path (handshake RTT $rtt ms)"
# The direct pair's data went through tund's own sockets, not libnice: b
# received the 20 MB (over 14,000 datagrams at MTU 1380), a the ACKs (few:
# the receiver coalesces segments, so it acknowledges large ones).
fast_ok() { # HOST MIN-DATAGRAMS
	local fp
	fp=$(ctl "$1" status --json | jq -c .fast_paths)
	jq -e --argjson min "$2" '.paths >= 1 and .received >= $min and .foreign == 0' \
		<<<"$fp" >/dev/null || fail "$1: the transfer did not use the fast path: $fp"
}
fast_ok b 14000
fast_ok a 50
t_log "fast path on both sides: $(ctl b status --json | jq -c .fast_paths)"
# Light traffic after the transfer: the fast path's thread reads the TUN too.
wait_until 30 light_on_fast_path a "$A" b "$B" ||
	fail "pings after the transfer: TUN readers a $(tun_reader a), b $(tun_reader b); want fast_path"

# netcheck from behind the cone NAT.
nc=$(ctl a netcheck --json) || fail "netcheck failed"
jq -e '.nat.mapping == "endpoint-independent" and .broker.reachable == true and
	(.turn | length) == 1 and .turn[0].reachable == true' <<<"$nc" >/dev/null ||
	fail "netcheck: $nc"
t_log "netcheck: $(jq -c '{mapping: .nat.mapping, public: .nat.public}' <<<"$nc")"

# Blocking shuts b out; unblocking lets it back in.
ctl a peer block "$KB" >/dev/null || fail "block failed"
[ "$(peer_field a "$KB" state)" = blocked ] || fail "b is not shown as blocked"
! pings a "$B" || fail "a still reaches b after blocking it"
ctl a peer unblock "$KB" >/dev/null || fail "unblock failed"
wait_until 45 pings a "$B" || fail "no traffic after unblocking"
t_log "block and unblock"
echo "PASS nat_cone"
