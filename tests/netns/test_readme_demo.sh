#!/usr/bin/env bash
# README's quick start: `make demo` "four friends behind NAT routers and on
# a LAN (network namespaces) join a network, connect directly, over the LAN
# and through a relay, ping, and find a game server by broadcast". Runs what
# the Makefile's demo target runs (after deps and the build) and checks its
# output shows each of those, and that it leaves no namespace behind.
set -u
. "$(dirname "$0")/lib.sh"
t_init readmedemo
. "$(dirname "$0")/lib_readme.sh"
readme_has 'make demo            # four friends behind NAT routers and on a LAN (network namespaces) join'
recipe=$(awk '/^demo:/ { getline; print; exit }' "$TOP/Makefile" | sed 's/^\t//')
[ "$recipe" = tests/demo.sh ] || fail "make demo runs '$recipe', not tests/demo.sh"
# $! is the demo shell itself: its namespaces carry that pid in their names.
(cd "$TOP" && exec bash tests/demo.sh) >"$T_DIR/demo.out" 2>&1 &
demo=$!
t_track "$demo"
wait "$demo"; rc=$?
t_untrack "$demo"
out=$(sed 's/\x1b\[[0-9;]*m//g' "$T_DIR/demo.out")
[ "$rc" -eq 0 ] || fail "make demo's script exited $rc: $(tail -n 30 <<<"$out")"
# a's peers: b direct, c relayed, d over the LAN.
a_peers=$(awk '/^\[a\]\$ tundctl peers/ { on = 1; next } /^\[/ { on = 0 } /^==/ { on = 0 } on' <<<"$out")
grep -qw direct <<<"$a_peers" || fail "demo: no direct path in a's peers: $a_peers"
grep -qw relay <<<"$a_peers" || fail "demo: no relay path in a's peers: $a_peers"
grep -qw lan <<<"$a_peers" || fail "demo: no LAN path in a's peers: $a_peers"
# tundctl ping twice and the plain ping: every one 3 of 3.
[ "$(grep -c '3 received' <<<"$out")" -ge 3 ] ||
	fail "demo: fewer than 3 ping series with all 3 replies: $(grep -i received <<<"$out")"
# game.py query prints "reply IP" for each server that answered; c's address
# is the one the demo pinged second.
c_addr=$(sed -n 's/^== a pings b (.*) and c (\(.*\)) through the tunnel$/\1/p' <<<"$out")
[ -n "$c_addr" ] || fail "demo: cannot find c's address in the output"
game=$(sed -n '/^== A LAN game/,$p' <<<"$out")
grep -qx "reply $c_addr" <<<"$game" || fail "demo: the game server on c ($c_addr) was not found by broadcast: $game"
grep -q "tt-lab-$demo-" "$T_DIR/demo.out" || fail "demo output does not name its namespaces tt-lab-$demo-*"
left=$(ip netns list | awk '{ print $1 }' | grep -E "^tt-[a-z0-9]+-$demo(-|$)" || true)
[ -z "$left" ] || fail "demo left namespaces behind: $left"
t_log "demo: a's peers show direct, relay and lan; pings 3/3; game server on c ($c_addr) found by broadcast"
echo "PASS readme_demo"
