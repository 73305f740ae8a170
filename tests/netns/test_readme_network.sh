#!/usr/bin/env bash
# README walkthrough "Friends behind NATs: networks and invites", with the
# commands README.md gives: the `network create` block is read from README.md
# and run with only its example servers replaced by the lab's (broker,
# TURN user:pass@host); the commands README names in its text (join, peers,
# ping, networks, network invite, network leave) are checked to still be
# there and run as written. Two friends behind cone NATs: the joiner gets
# an IPv4 address and an IPv6 ULA in the network, both carry traffic (IPv6 is
# switched on in the two client namespaces; the lab switches it off), the
# path is direct, and after `network leave` the path and b's addresses are
# gone.
set -u
. "$(dirname "$0")/lib.sh"
t_init readmenet
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_readme.sh"
lab_up cone
for h in a b; do
	lab_exec "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 ||
		fail "cannot enable IPv6 on $h"
done
tund_node a
tund_node b

# The create command from README (continuation lines joined, comments off),
# split as the shell would, with the lab's servers put in.
block=$(readme_block "One friend creates a network")
cmdline=$(sed -e 's/#.*//' <<<"$block" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | tr -s ' \n' ' ')
mapfile -d '' -t words < <(python3 -c 'import shlex, sys
for w in shlex.split(sys.argv[1]): sys.stdout.write(w + "\0")' "$cmdline")
[ "${words[0]:-}" = tundctl ] && [ "${words[1]:-}" = network ] && [ "${words[2]:-}" = create ] ||
	fail "README's block is not a tundctl network create: $cmdline"
args=() n_sub=0
for w in "${words[@]:1}"; do
	v=${w//broker.example.org:1883/$LAB_SRV:1883}
	v=${v//user:pass@turn.example.org:3478/$LAB_TURN_USER:$LAB_TURN_PASS@$LAB_SRV:3478}
	[ "$v" != "$w" ] && n_sub=$((n_sub + 1))
	args+=("$v")
done
[ "$n_sub" -ge 3 ] || fail "README's example servers changed (replaced $n_sub of 3): $cmdline"
out=$(ctl a "${args[@]}") || fail "README's network create failed: $out"
invite=$(tail -n 1 <<<"$out")
[[ $invite == tund1:* ]] || fail "the invite is not on the last line: $out"
t_log "ran: ${words[*]}"

readme_has 'Each friend runs `tundctl join tund1:…`'
ctl b join "$invite" >/dev/null || fail "tundctl join failed"
KA=$(pubkey a) KB=$(pubkey b)
A=$(overlay_addr a) B=$(overlay_addr b)
A6=$(ctl a networks --json | jq -r '.[0].address6 // empty' | cut -d/ -f1)
B6=$(ctl b networks --json | jq -r '.[0].address6 // empty' | cut -d/ -f1)
[ -n "$A" ] && [ -n "$B" ] && [ "$A" != "$B" ] || fail "IPv4 addresses: a=$A b=$B"
[[ $A6 == fd* ]] && [[ $B6 == fd* ]] && [ "$A6" != "$B6" ] || fail "ULA addresses: a=$A6 b=$B6"
readme_has 'by default a random `10.X.0.0/16`'
P=$(ctl a networks --json | jq -r '.[0].prefix')
[[ $P =~ ^10\.[0-9]+\.0\.0/16$ ]] || fail "a's default prefix $P is not a 10.X.0.0/16"
[ "${A%.*.*}" = "${P%.*.*}" ] || fail "a's address $A is not in its network's prefix $P"
[ "$(ctl b networks --json | jq -r '.[0].prefix')" = "$P" ] || fail "b's prefix is not the invite's"
wait_until 60 pings a "$B" || fail "a cannot ping b ($B)"
lab_exec a ping -c 5 -i 0.2 -W 2 "$B" | grep -q ' 5 received' || fail "IPv4 pings lost"
wait_until 30 pings a "$B6" || fail "a cannot ping b's ULA $B6"
lab_exec b ping -c 5 -i 0.2 -W 2 "$A6" | grep -q ' 5 received' || fail "IPv6 pings b -> a lost"
# TCP over the ULA addresses too.
lab_exec b socat -u TCP6-LISTEN:5002,reuseaddr "CREATE:$T_DIR/v6.received" &
rx=$!; t_track "$rx"
wait_until 10 lab_exec b sh -c "ss -ltn | grep -q ':5002 '" || fail "no IPv6 listener on b"
head -c 2000000 /dev/urandom >"$T_DIR/v6.blob"
lab_exec a timeout 60 socat -u "OPEN:$T_DIR/v6.blob" "TCP6:[$B6]:5002" || fail "TCP over the ULAs failed"
wait_until 30 eval "! pid_running $rx" || fail "IPv6 receiver did not finish"
t_untrack "$rx"
cmp -s "$T_DIR/v6.blob" "$T_DIR/v6.received" || fail "2 MB over the ULAs arrived damaged"

# `tundctl peers`: the member, its path, candidate types and addresses.
readme_has '`tundctl peers` shows for'
p=$(ctl a peers) || fail "tundctl peers"
grep -q direct <<<"$p" && grep -q 'srflx→srflx\|host→host\|prflx' <<<"$p" ||
	fail "tundctl peers does not show the path and candidate types: $p"
# `tundctl ping KEY` names the path.
readme_has '`tundctl ping KEY` pings through the tunnel and names the path'
out=$(ctl a ping "$KB") || fail "tundctl ping failed: $out"
grep -q direct <<<"$out" || fail "tundctl ping does not name the path: $out"
# `tundctl networks` shows the broker connection (--json the signaling counters).
readme_has 'broker connection (`--json` also the signaling counters)'
out=$(ctl b networks) || fail "tundctl networks"
grep -q "mqtt://$LAB_SRV:1883 connected" <<<"$out" || fail "tundctl networks shows no connected broker: $out"
ctl b networks --json | jq -e '.[0].broker_connected == true and .[0].signaling.sent > 0 and
	.[0].signaling.received > 0' >/dev/null || fail "signaling counters: $(ctl b networks --json | jq -c '.[0].signaling')"
# `tundctl network invite NAME` prints the invite again.
readme_has '`tundctl network invite NAME` prints the invite'
again=$(ctl a network invite friends | tail -n 1)
[[ $again == tund1:* ]] || fail "network invite printed: $again"
# "Servers moved? Edit the config and reload": README's [network friends]
# section (its example servers replaced by the lab's second address, where
# coturn answers too; the broker stays where it is: test_reload moves it) is
# added to a's config; `tundctl reload` applies it and the path stays.
readme_has '`tundctl reload` (or `kill -HUP`) applies'
section=$(readme_block "Servers moved? Edit the config and reload")
grep -q '^\[network friends\]' <<<"$section" || fail "README's section is not [network friends]: $section"
new=${section//broker2.example.org:1883/$LAB_SRV:1883}
new=${new//stun.example.org:3478/$LAB_SRV2:3478}
new=${new//user:pass@turn2.example.org:3478/$LAB_TURN_USER:$LAB_TURN_PASS@$LAB_SRV2:3478}
[ "$(grep -c "$LAB_SRV2" <<<"$new")" -ge 2 ] || fail "README's example servers changed: $section"
printf '%s\n' "$new" >>"$T_DIR/a.conf"
out=$(ctl a reload --json) || fail "reload of README's section refused: $out"
jq -e '[.applied[] | select(test("network friends: STUN/TURN"))] | length == 1' <<<"$out" >/dev/null ||
	fail "reload did not apply the STUN/TURN servers: $out"
net=$(ctl a networks --json | jq -c '.[0] | {stun, turn}')
jq -e --arg s "$LAB_SRV2" '(.stun | map(test($s)) | all) and (.stun | length == 1) and
	(.turn | length == 2) and (.turn | map(test($s)) | all)' <<<"$net" >/dev/null ||
	fail "networks does not show README's servers in use: $net"
lab_exec a ping -c 5 -i 0.2 -W 2 "$B" | grep -q ' 5 received' || fail "pings lost after the reload"
t_log "README's [network friends] applied by reload: $net"

# `tundctl network leave NAME` leaves: b has no network, a's pings stop.
readme_has '`tundctl network leave NAME` leaves'
ctl b network leave friends >/dev/null || fail "network leave"
[ "$(ctl b networks --json | jq length)" = 0 ] || fail "b still in a network: $(ctl b networks --json)"
gone() { ! pings a "$B"; }
wait_until 30 gone || fail "a still reaches b after b left"
# b no longer holds the network's addresses: none stays on its TUN.
left=$(lab_exec b ip -o addr show dev tt0 | grep -F -e " $B/" -e " $B6/")
[ -z "$left" ] || fail "b's TUN keeps the left network's addresses: $left"
t_log "IPv4 $A<->$B and ULA $A6<->$B6 over $(peer_field a "$KB" candidates 2>/dev/null || echo 'the path'), left"
echo "PASS readme_network"
