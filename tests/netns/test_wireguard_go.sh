#!/usr/bin/env bash
# Interop: tund <-> a stock wireguard-go (Debian package) configured with
# `wg set`: handshake and ping both ways, without and with a pre-shared key.
set -u
. "$(dirname "$0")/lib.sh"
t_init wggo
. "$(dirname "$0")/lib_pair.sh"
command -v wireguard-go >/dev/null || fail "wireguard-go is not installed (make deps)"
pair_ns
node_conf a 1
start_a
PUB_A=$(ctl_a status --json | jq -r .public_key)

WG=ttwg$$ # wireguard-go puts its socket at /var/run/wireguard/$WG.sock
umask 077
wg genkey >"$T_DIR/wg.key"
PUB_WG=$(wg pubkey <"$T_DIR/wg.key")
ip netns exec "$NS_B" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go -f "$WG" \
	>"$T_DIR/wireguard-go.log" 2>&1 &
t_track $!
cleanup_wg() { rm -f "/var/run/wireguard/$WG.sock"; t_cleanup; }
trap cleanup_wg EXIT
wait_until 20 test -S "/var/run/wireguard/$WG.sock" || fail "wireguard-go did not start"
ip -n "$NS_B" addr add 10.77.0.2/16 dev "$WG"
ip -n "$NS_B" addr add fd77::2/64 dev "$WG" nodad
ip -n "$NS_B" link set "$WG" mtu 1420 up

ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

# round PSK-OR-EMPTY LABEL: configure both sides, then ping both ways, v4 and v6.
round() {
	local psk=() wgpsk=()
	if [ -n "$1" ]; then
		psk=(--psk-file "$1")
		wgpsk=(preshared-key "$1")
	fi
	ip netns exec "$NS_B" wg set "$WG" private-key "$T_DIR/wg.key" listen-port 51820 \
		peer "$PUB_A" endpoint 192.0.2.1:51820 allowed-ips 10.77.0.1/32,fd77::1/128 \
		"${wgpsk[@]}" || fail "wg set"
	ctl_a peer add "$PUB_WG" --name wg --endpoint 192.0.2.2:51820 \
		--allowed-ips 10.77.0.2/32,fd77::2/128 "${psk[@]}" >/dev/null || fail "peer add"
	wait_until 20 ping_ok "$NS_A" 10.77.0.2 || fail "$2: tund -> wireguard-go ping failed"
	ping_ok "$NS_B" 10.77.0.1 || fail "$2: wireguard-go -> tund ping failed"
	wait_until 10 ping_ok "$NS_A" fd77::2 || fail "$2: IPv6 tund -> wireguard-go failed"
	ping_ok "$NS_B" fd77::1 || fail "$2: IPv6 wireguard-go -> tund failed"
	hs=$(ip netns exec "$NS_B" wg show "$WG" latest-handshakes | awk '{print $2}')
	[ "${hs:-0}" -gt 0 ] || fail "$2: wireguard-go shows no handshake"
	[ "$(ctl_a peers --json | jq '.[0].latest_handshake > 0')" = true ] ||
		fail "$2: tund shows no handshake"
	t_log "$2: handshake and ping both ways"
}
round "" "no psk"

# With a pre-shared key: fresh sessions on both sides.
wg genpsk >"$T_DIR/psk"
ip netns exec "$NS_B" wg set "$WG" peer "$PUB_A" remove
ctl_a peer remove wg >/dev/null
round "$T_DIR/psk" "with psk"

# A wrong psk must not work: wireguard-go answers tund's initiation (the psk
# is not in it), tund cannot open the response and counts it as rejected.
wg genpsk >"$T_DIR/other.psk"
ip netns exec "$NS_B" wg set "$WG" peer "$PUB_A" remove || fail "wg set: remove the psk peer"
ctl_a peer remove wg >/dev/null || fail "peer remove wg"
ip netns exec "$NS_B" wg set "$WG" peer "$PUB_A" endpoint 192.0.2.1:51820 \
	allowed-ips 10.77.0.1/32 preshared-key "$T_DIR/other.psk" || fail "wg set with the other psk"
rejected0=$(ctl_a status --json | jq .drops.handshake_rejected)
ctl_a peer add "$PUB_WG" --name wg --endpoint 192.0.2.2:51820 --allowed-ips 10.77.0.2/32 \
	--psk-file "$T_DIR/psk" >/dev/null || fail "peer add with the psk"
out=$(ip netns exec "$NS_A" ping -n -c 3 -W 1 10.77.0.2 2>&1)
grep -q ' 0 received' <<<"$out" || fail "mismatched psk passed traffic: $(tail -n 2 <<<"$out")"
peer_rejected() { ctl_a peers --json | jq '.[] | select(.name == "wg") | .drops.handshake_rejected'; }
wait_until 20 eval '[ "$(peer_rejected)" -ge 1 ]' ||
	fail "tund did not count a rejected handshake from wireguard-go: $(ctl_a peers --json | jq -c '.[] | select(.name == "wg")')"
[ "$(ctl_a status --json | jq .drops.handshake_rejected)" -gt "$rejected0" ] ||
	fail "status does not count the rejected handshake: $(ctl_a status --json | jq -c .drops)"
[ "$(ctl_a peers --json | jq '.[] | select(.name == "wg") | .latest_handshake // 0')" = 0 ] ||
	fail "tund shows a handshake with the wrong psk"
ctl_a peers | grep -q "handshake_rejected $(peer_rejected)" ||
	fail "tundctl peers does not show the rejected handshakes: $(ctl_a peers)"
t_log "wrong psk: no ping, $(peer_rejected) responses rejected and counted"
echo "PASS wireguard_go"
