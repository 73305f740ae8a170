#!/usr/bin/env bash
# README's [ice] settings for a peer outside any network, on running daemons,
# two friends behind cone NATs connected by blobs (no broker):
# - `[ice] stun` is in use: the pair is srflx→srflx, a direct path (hosts
#   behind two NATs have no other way to reach each other);
# - `[ice] port_range = 50000-50100` on A: every UDP socket A's tund holds
#   besides listen_port, and the pair's local address, use ports in it;
# - `[ice] fast_path = off` on A: `tundctl status` says it is off and counts
#   no fast path, B (default on) uses one, and pings and a 5 MB TCP transfer
#   cross the path intact.
set -u
. "$(dirname "$0")/lib.sh"
t_init icestatic
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_readme.sh"
readme_has '`[ice] port_range = 50000-50100` limits the local ports ICE uses'
readme_has '`[ice] stun = HOST:PORT`'
lab_up cone
lab_broker_stop
tund_node a "address = 10.77.0.1/16" "[ice]
stun = $LAB_STUN
port_range = 50000-50100
fast_path = off"
tund_node b "address = 10.77.0.2/16" "[ice]
stun = $LAB_STUN"
KA=$(pubkey a) KB=$(pubkey b)
ctl a peer add "$KB" --name b --allowed-ips 10.77.0.2/32 >/dev/null || fail "peer add on a"
ctl b peer add "$KA" --name a --allowed-ips 10.77.0.1/32 >/dev/null || fail "peer add on b"
offer=$(ctl a peer offer b | tail -n 1)
answer=$(ctl b peer answer "$offer" | tail -n 1)
ctl a peer accept "$answer" >/dev/null || fail "accept failed"
wait_until 60 pings a 10.77.0.2 || fail "no ping after the blob exchange"
lab_exec a ping -c 5 -i 0.2 -W 2 10.77.0.2 | grep -q ' 5 received' || fail "pings lost a -> b"
lab_exec b ping -c 5 -i 0.2 -W 2 10.77.0.1 | grep -q ' 5 received' || fail "pings lost b -> a"

# [ice] stun: a direct server-reflexive pair.
path_is a "$KB" direct || fail "path is $(peer_field a "$KB" path), want direct"
cands=$(peer_field a "$KB" candidates)
[ "$cands" = "srflx→srflx" ] || fail "candidates $cands, want srflx→srflx from [ice] stun"

# [ice] port_range on A.
in_range() { [ "$1" -ge 50000 ] && [ "$1" -le 50100 ]; }
local_addr=$(peer_field a "$KB" local_addr)
in_range "${local_addr##*:}" || fail "pair's local address $local_addr is outside 50000-50100"
ports=$(lab_exec a ss -uanpH | grep "pid=$PID_a," | awk '{ n = split($4, p, ":"); print p[n] }' | sort -un)
[ -n "$ports" ] || fail "ss shows no UDP socket of tund on a"
n_ice=0
for p in $ports; do
	[ "$p" = 51820 ] && continue
	in_range "$p" || fail "tund on a holds UDP port $p, outside port_range 50000-50100 (ports: $(echo $ports))"
	n_ice=$((n_ice + 1))
done
[ "$n_ice" -ge 1 ] || fail "no ICE socket on a besides listen_port (ports: $(echo $ports))"

# [ice] fast_path = off on A, on (the default) on B.
fa=$(ctl a status --json | jq -c .fast_paths)
fb=$(ctl b status --json | jq -c .fast_paths)
jq -e '.enabled == false and .paths == 0 and .received == 0' <<<"$fa" >/dev/null ||
	fail "a's status does not show the fast path off and unused: $fa"
jq -e '.enabled == true and .paths >= 1' <<<"$fb" >/dev/null || fail "b has no fast path: $fb"
line=$(ctl a status | grep 'fast path') || fail "tundctl status on a has no fast path line"
grep -q 'off' <<<"$line" || fail "tundctl status on a does not say the fast path is off: $line"
transfer a b 10.77.0.2 5
jq -e '.received == 0' <<<"$(ctl a status --json | jq -c .fast_paths)" >/dev/null ||
	fail "a received on a fast path with fast_path = off"
t_log "$cands, a's ICE ports: $(echo $ports), a: $line"
echo "PASS ice_static"
