#!/usr/bin/env bash
# No broker, no STUN, no route to anywhere: three members on one LAN find
# each other by LAN beacon and ping over the overlay; the path shows as lan.
# Beacons of another network change nothing.
set -u
. "$(dirname "$0")/lib.sh"
t_init lanbeacons
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_NO_SERVICES=1 lab_up lan
for h in a b c; do
	lab_exec "$h" ip route del default 2>/dev/null # nothing beyond the LAN
	tund_node "$h"
done
invite=$(ctl a network create home | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite"
ctl b join "$invite" >/dev/null || fail "b: join"
ctl c join "$invite" >/dev/null || fail "c: join"
A=$(overlay_addr a) B=$(overlay_addr b) C=$(overlay_addr c)
start=$SECONDS
for pair in "a $B" "a $C" "b $A" "b $C" "c $A" "c $B"; do
	set -- $pair
	wait_until 30 pings "$1" "$2" || fail "$1 cannot ping $2 over the LAN"
done
t_log "full mesh over LAN beacons in $((SECONDS - start)) s"
for h in a b c; do
	n=$(ctl $h peers --json | jq '[.[] | select(.path == "lan")] | length')
	[ "$n" = 2 ] || fail "$h shows $n lan paths, want 2: $(ctl $h peers --json | jq -c '[.[] | .path]')"
done
# A game on c is found from a by broadcast, to 255.255.255.255 and to the
# overlay's broadcast address, over the LAN with no route to anywhere.
GAME="python3 $TOP/tests/netns/game.py"
lab_bg c "$T_DIR/game-c.log" $GAME server 27015
wait_until 10 grep -q ready "$T_DIR/game-c.log" || fail "game server did not start"
BCAST=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1], strict=False).broadcast_address)" \
	"$(ctl a networks --json | jq -r '.[0].address')")
for dst in 255.255.255.255 "$BCAST"; do
	got=$(lab_exec a $GAME query "$dst" 27015)
	grep -qx "reply $C" <<<"$got" || fail "no reply from c ($C) to a query to $dst: $got"
done
t_log "game on c found by broadcast from a"

# A stranger with another network on the same LAN is counted, never added.

other=$(ctl c network create other --prefix 10.55.0.0/16 | tail -n 1)
drop_other() { [ "$(ctl a networks --json | jq '.[0].beacons.dropped.other_network')" -gt 0 ]; }
wait_until 20 drop_other || fail "a did not count c's other-network beacons"
[ "$(ctl a peers --json | jq length)" = 2 ] || fail "a's peer list changed"
t_log "a: beacons $(ctl a networks --json | jq -c '.[0].beacons')"
# Broadcast off for a network: unicast works, the game is not found.
ctl c network leave other >/dev/null || fail "c: leave other"
for h in a b c; do ctl $h network leave home >/dev/null || fail "$h: leave home"; done
quiet=$(ctl a network create quiet --prefix 10.44.0.0/16 --no-broadcast | tail -n 1)
ctl c join "$quiet" >/dev/null || fail "c: join quiet"
Cq=$(overlay_addr c)
wait_until 30 pings a "$Cq" || fail "a cannot ping c in the quiet network"
[ "$(ctl a networks --json | jq '.[0].broadcast')" = false ] || fail "networks does not show broadcast off"
# The positive control: the game server on c is alive and answers in the
# quiet network, so an empty reply below means the broadcast never reached it.
got=$(lab_exec a $GAME query "$Cq" 27015)
grep -qx "reply $Cq" <<<"$got" || fail "the game on c does not answer a unicast query in the quiet network: $got"
# The broadcast reaches a's tund (the node's broadcast rules stay: broadcast
# is off for this network, not for the node), which keeps it home.
nft_rules=$(lab_exec a nft list table ip tund_tt0 2>&1) ||
	fail "a has no broadcast rules, so the test would not reach tund: $nft_rules"
lab_bg a "$T_DIR/quiet-a.log" tcpdump -l -n -i tt0 "udp dst port 27015 and dst host 255.255.255.255"
wait_until 10 test -s "$T_DIR/quiet-a.log" || fail "tcpdump on a's tt0 did not start"
got=$(lab_exec a $GAME query 255.255.255.255 27015 2)
wait_until 10 grep -q '255.255.255.255.27015' "$T_DIR/quiet-a.log" ||
	fail "the broadcast query never reached a's TUN: $(cat "$T_DIR/quiet-a.log")"
[ -z "$got" ] || fail "a broadcast crossed a --no-broadcast network: $got"
t_log "--no-broadcast: unicast query answered, the broadcast reached a's tund and stayed home"
echo "PASS lan_beacons"
