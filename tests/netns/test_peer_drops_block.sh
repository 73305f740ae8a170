#!/usr/bin/env bash
# README claims about static peers, seen through tundctl as a user would:
# - `tundctl peers` shows packets dropped for a peer by reason: tampered
#   transport datagrams as auth_failed, packets from an overlay source the
#   peer's --allowed-ips do not cover as source_not_allowed;
# - `tundctl peer block KEY` shuts a static peer out (no traffic either way,
#   the peer shown as blocked, kept across a restart) and unblock lets it in.
set -u
. "$(dirname "$0")/lib.sh"
t_init peerdrops
. "$(dirname "$0")/lib_pair.sh"
pair_up

ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
# drops CTL KEY REASON: that peer's drop counter for REASON.
drops() { "$1" peers --json | jq -r --arg k "$2" --arg r "$3" '.[] | select(.public_key == $k) | .drops[$r] // 0'; }
wait_until 30 ping_ok "$NS_A" 10.77.0.2 || fail "no ping a -> b"

# --- auth_failed: a's transport datagrams captured, their counters moved on,
# sent to b again.
ip netns exec "$NS_B" tcpdump -i eth0 -U -w "$T_DIR/cap.pcap" -c 5 \
	'udp and src host 192.0.2.1 and dst port 51820 and udp[8] = 4' >/dev/null 2>&1 &
dump=$!; t_track "$dump"
ping_until_captured() { ping_ok "$NS_A" 10.77.0.2; ! pid_running "$dump"; }
wait_until 60 ping_until_captured || fail "capture did not see 5 transport packets"
t_untrack "$dump"
auth0=$(drops ctl_b "$PUB_A" auth_failed)
sent=$(ip netns exec "$NS_A" python3 "$TOP/tests/netns/udp_replay.py" --tamper "$T_DIR/cap.pcap" 192.0.2.2 51820)
[ "${sent:-0}" -ge 1 ] || fail "nothing sent"
counted() { [ "$(drops ctl_b "$PUB_A" auth_failed)" -ge $((auth0 + sent)) ]; }
wait_until 20 counted || fail "tampered datagrams not counted as auth_failed: $(ctl_b peers --json | jq -c '.[0].drops')"
line=$(ctl_b peers | grep -E "auth_failed [0-9]+") || fail "tundctl peers does not show auth_failed: $(ctl_b peers)"
t_log "$sent tampered datagrams: tundctl peers on b: $(grep -oE 'auth_failed [0-9]+' <<<"$line")"
ping_ok "$NS_A" 10.77.0.2 || fail "tunnel broken by tampered datagrams"

# --- source_not_allowed: b sends from an overlay address a did not allow.
ip -n "$NS_B" addr add 10.77.0.99/32 dev tt0 || fail "extra address on b"
src0=$(drops ctl_a "$PUB_B" source_not_allowed)
ip netns exec "$NS_B" ping -c 3 -i 0.2 -W 1 -I 10.77.0.99 10.77.0.1 >/dev/null 2>&1 &&
	fail "a answered a ping from a source outside b's allowed-ips"
counted_src() { [ "$(drops ctl_a "$PUB_B" source_not_allowed)" -ge $((src0 + 3)) ]; }
wait_until 20 counted_src || fail "spoofed sources not counted: $(ctl_a peers --json | jq -c '.[0].drops')"
line=$(ctl_a peers | grep -E "source_not_allowed [0-9]+") ||
	fail "tundctl peers does not show source_not_allowed: $(ctl_a peers)"
t_log "3 pings from 10.77.0.99: tundctl peers on a: $(grep -oE 'source_not_allowed [0-9]+' <<<"$line")"
ping_ok "$NS_B" 10.77.0.1 || fail "b's own address no longer reaches a"

# --- block a static peer.
ctl_a peer block b >/dev/null || fail "peer block b"
state() { "$1" peers --json | jq -r --arg k "$2" '.[] | select(.public_key == $k) | .state'; }
[ "$(state ctl_a "$PUB_B")" = blocked ] || fail "b not shown blocked: $(ctl_a peers --json)"
ctl_a peers | grep -q blocked || fail "tundctl peers (text) does not say blocked: $(ctl_a peers)"
# Neither direction gets through, also not after b starts a new handshake.
ip netns exec "$NS_A" ping -c 3 -i 0.3 -W 1 10.77.0.2 >/dev/null 2>&1 && fail "a still reaches blocked b"
ip netns exec "$NS_B" ping -c 5 -i 0.3 -W 1 10.77.0.1 >/dev/null 2>&1 && fail "blocked b still reaches a"
# Kept across a restart of a.
stop_pid "$PID_A" || fail "tund a did not stop"
start_a
[ "$(state ctl_a "$PUB_B")" = blocked ] || fail "block lost across a restart: $(ctl_a peers --json)"
ip netns exec "$NS_B" ping -c 5 -i 0.3 -W 1 10.77.0.1 >/dev/null 2>&1 && fail "blocked b reaches a after restart"
ctl_a peer unblock b >/dev/null || fail "peer unblock b"
[ "$(state ctl_a "$PUB_B")" != blocked ] || fail "b still blocked after unblock"
wait_until 30 ping_ok "$NS_B" 10.77.0.1 || fail "no ping b -> a after unblock"
ping_ok "$NS_A" 10.77.0.2 || fail "no ping a -> b after unblock"
echo "PASS peer_drops_block"
