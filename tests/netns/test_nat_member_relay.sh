#!/usr/bin/env bash
# Member relay (issue 20, test 5): a and b behind symmetric NATs and no TURN
# server, so no path between them; c behind a full-cone NAT has direct paths
# to both. With relaying off on c (the default) a and b get no path and
# `tundctl peers` says why; with it on, they ping each other through c, a TCP
# transfer is intact, and c's capture of its underlay never shows the
# plaintext marker that b's tunnel interface does; off again, and they are
# told so; on again, and when a's NAT becomes a full cone, ICE's direct pair
# takes over from the relay.
set -u
. "$(dirname "$0")/lib.sh"
t_init mrelay
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_pair.sh"
command -v tcpdump >/dev/null || fail "tcpdump missing (make deps)"

MARKER=TUND-MEMBER-RELAY-PLAINTEXT-5e1f
LAB_CLIENTS=3
LAB_R3_MODE=fullcone
lab_up symmetric
[ "$(lab_nat r1)/$(lab_nat r2)/$(lab_nat r3)" = symmetric/symmetric/fullcone ] ||
	fail "lab routers are $(lab_nat r1)/$(lab_nat r2)/$(lab_nat r3)"
tund_node a
tund_node b
tund_node c
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --stun "$LAB_STUN" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "b: join failed"
ctl c join "$invite" >/dev/null || fail "c: join failed"
B=$(overlay_addr b) C=$(overlay_addr c)
KA=$(pubkey a) KB=$(pubkey b) KC=$(pubkey c)

wait_until 60 path_is a "$KC" direct || fail "a-c: path is '$(peer_field a "$KC" path)', want direct"
wait_until 60 path_is b "$KC" direct || fail "b-c: path is '$(peer_field b "$KC" path)', want direct"
pings a "$C" || fail "a cannot ping c"

# ---- relaying off (the default): no path, and why ----
says_no_member_relay() { # HOST PEER-KEY
	local why
	why=$(peer_field "$1" "$2" no_path)
	[[ $why == "direct failed ("*"), no TURN server, no member relay"* ]]
}
wait_until 90 says_no_member_relay a "$KB" ||
	fail "a: no_path for b is '$(peer_field a "$KB" no_path)' (path '$(peer_field a "$KB" path)')"
ctl a peers | grep -q "no path: direct failed (.*), no TURN server, no member relay" ||
	fail "tundctl peers on a does not say why b has no path: $(ctl a peers)"
wait_until 30 says_no_member_relay b "$KA" || fail "b: no_path for a is '$(peer_field b "$KA" no_path)'"
! pings a "$B" || fail "a pings b with relaying off on c"
t_log "relaying off: $(ctl a peers | grep 'no path')"

# ---- relaying on ----
out=$(ctl c network relay friends on --rate 20000) || fail "relay on: $out"
[ "$out" = "network friends: relaying on (at most 20000 datagrams/s)" ] || fail "relay on said: $out"
[ "$(jq -r '.networks[0].relay.on' "$T_DIR/c/state/networks.json")" = true ] ||
	fail "networks.json on c does not keep relaying on"
[ "$(ctl c networks --json | jq -r '.[0].relay.enabled')" = true ] || fail "networks on c: relay not enabled"
wait_until 60 pings a "$B" || fail "a cannot ping b through c within 60 s"
pings b "$(overlay_addr a)" || fail "b cannot ping a"
via=$(peer_field a "$KC" name)
[ -n "$via" ] || via="${KC:0:8}…"
[ "$(peer_field a "$KB" path)/$(peer_field a "$KB" relay_via)" = "relay/$via" ] ||
	fail "a: path to b is '$(peer_field a "$KB" path)' via '$(peer_field a "$KB" relay_via)', want relay via $via"
wait_until 10 eval '[ "$(peer_field b "$KA" relay_via)" = "$via" ]' ||
	fail "b: relay_via for a is '$(peer_field b "$KA" relay_via)', want $via"
ctl a peers | grep -q "relay via $via" || fail "tundctl peers on a: no 'relay via $via': $(ctl a peers)"
path_is a "$KC" direct || fail "a-c path is no longer direct"

# c's underlay and b's tunnel, captured while the marker crosses.
lab_bg c "$T_DIR/tcpdump-c.log" tcpdump -U -n -i eth0 -w "$T_DIR/c.pcap" udp
CAP_C=$LAB_PID
lab_bg b "$T_DIR/tcpdump-b.log" tcpdump -U -n -i tt0 -w "$T_DIR/b.pcap"
CAP_B=$LAB_PID
wait_until 10 grep -q "listening on eth0" "$T_DIR/tcpdump-c.log" || fail "tcpdump on c did not start"
wait_until 10 grep -q "listening on tt0" "$T_DIR/tcpdump-b.log" || fail "tcpdump on b did not start"
python3 - "$T_DIR/blob" "$MARKER" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for _ in range(2000):  # ~2.1 MB: random bytes with the marker in each KB
        f.write(os.urandom(1000) + sys.argv[2].encode() + b"\n")
PY
before=$(ctl c status --json | jq -r .relay.forwarded)
tcp_transfer "$(lab_ns a)" "$(lab_ns b)" "TCP:$B:5001" "TCP-LISTEN:5001,reuseaddr"
after=$(ctl c status --json | jq -r .relay.forwarded)
[ "$((after - before))" -ge 1000 ] || fail "c forwarded $((after - before)) datagrams for the transfer"
shown=$(ctl c status | sed -n 's/^ *member relay: \([0-9]*\) forwarded for members.*/\1/p')
[ -n "$shown" ] && [ "$shown" -ge "$after" ] ||
	fail "tundctl status on c does not count what it forwarded: $(ctl c status | grep 'member relay')"
stop_pid "$CAP_C"
stop_pid "$CAP_B"
grep -c "$MARKER" "$T_DIR/b.pcap" >/dev/null || fail "b's tunnel capture lacks the marker: the check below proves nothing"
[ "$(stat -c %s "$T_DIR/c.pcap")" -gt 2000000 ] || fail "c's capture is too small to hold the transfer"
! grep -q "$MARKER" "$T_DIR/c.pcap" || fail "c's underlay capture shows the plaintext marker"
t_log "relaying on: ping and a 2 MB transfer through c ($((after - before)) datagrams forwarded), no plaintext at c"

# ---- relaying off again: refused, no path, and why ----
ctl c network relay friends off >/dev/null || fail "relay off failed"
lab_exec a ping -c 3 -i 0.3 -W 1 "$B" >/dev/null 2>&1
wait_until 30 says_no_member_relay a "$KB" ||
	fail "a after relay off: no_path '$(peer_field a "$KB" no_path)', path '$(peer_field a "$KB" path)'"
! pings a "$B" || fail "a still pings b with relaying off"
t_log "relaying off again: $(ctl a peers | grep 'no path')"

# ---- upgrade: relayed again, then r1 becomes a full cone (port-preserving
# mapping, endpoint-independent filtering): ICE, still retrying, finds a
# direct a-b pair, and it takes over from the member relay ----
ctl c network relay friends on >/dev/null || fail "relay on (again) failed"
wait_until 60 eval '[ "$(peer_field a "$KB" relay_via)" = "$via" ] && pings a "$B"' ||
	fail "a is not relayed via c again: path '$(peer_field a "$KB" path)', no_path '$(peer_field a "$KB" no_path)'"
ip netns exec "$(lab_ns r1)" nft flush chain ip tt_nat postrouting || fail "r1: flush NAT"
ip netns exec "$(lab_ns r1)" nft add rule ip tt_nat postrouting oifname wan masquerade ||
	fail "r1: cone masquerade"
_lab_fullcone r1 "$(lab_addr r1)"
wait_until 120 path_is a "$KB" direct ||
	fail "a-b did not go direct after r1 became a full cone: path '$(peer_field a "$KB" path)' via '$(peer_field a "$KB" relay_via)'"
[ -z "$(peer_field a "$KB" relay_via)" ] || fail "a-b direct but still names relay $(peer_field a "$KB" relay_via)"
before=$(ctl c status --json | jq -r .relay.forwarded)
lab_exec a ping -c 20 -i 0.1 -W 1 "$B" >/dev/null 2>&1 || fail "a cannot ping b on the direct path"
after=$(ctl c status --json | jq -r .relay.forwarded)
[ "$((after - before))" -le 2 ] || fail "c still forwarded $((after - before)) datagrams after a-b went direct"
t_log "upgrade: a-b direct ($(peer_field a "$KB" candidates)) once r1 became a full cone; c forwards nothing more"
echo "PASS nat_member_relay"
