#!/usr/bin/env bash
# One node in several networks (issue 18): a creates n1 and n2 with no
# --prefix and gets a different random 10.X.0.0/16 for each; b joins n1, c
# joins n2; a pings b in n1 and c in n2 and they ping back. A
# create with a prefix overlapping a joined network, and a join of an invite
# whose prefix overlaps one, are refused with the message naming both, exit
# status non-zero, and nothing changes. Then b joins n2 too: peers are keyed
# by (network, key), so a holds b in both, reaches it at both addresses over
# one session, and a block of b in n2 leaves n1 working (a block naming no
# network is refused, since b is in several). While b waits for approval in
# a third network, n0, the first by name, the pair keeps its session.
set -u
. "$(dirname "$0")/lib.sh"
t_init twonets
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=3 lab_up cone
tund_node a
tund_node b
tund_node c
net_field() { # HOST NETWORK FIELD
	ctl "$1" networks --json | jq -r ".[] | select(.name == \"$2\") | .$3 // empty"
}
addr_now() { net_field "$1" "$2" address | cut -d/ -f1; }
has_addr_in() { [ -n "$(addr_now "$1" "$2")" ]; }
addr_in() { # HOST NETWORK: its address there, once the creator's admit record gave it
	wait_until 30 has_addr_in "$1" "$2" || fail "$1 got no address in $2"
	addr_now "$1" "$2"
}
create() { # NAME: the invite
	ctl a network create "$1" --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1
}
create n1 >"$T_DIR/inv1" || fail "create n1"
create n2 >"$T_DIR/inv2" || fail "create n2"
P1=$(net_field a n1 prefix) P2=$(net_field a n2 prefix)
t_log "a picked $P1 for n1 and $P2 for n2"
[[ $P1 =~ ^10\.[0-9]+\.0\.0/16$ ]] && [[ $P2 =~ ^10\.[0-9]+\.0\.0/16$ ]] ||
	fail "prefixes not 10.X.0.0/16: $P1 $P2"
[ "$P1" != "$P2" ] || fail "both networks on $P1"
ctl b join - <"$T_DIR/inv1" >/dev/null || fail "b's join of n1"
ctl c join - <"$T_DIR/inv2" >/dev/null || fail "c's join of n2"
A1=$(addr_in a n1) A2=$(addr_in a n2) B1=$(addr_in b n1) C2=$(addr_in c n2)
t_log "n1: a $A1, b $B1; n2: a $A2, c $C2"
[ "${A1%.*.*}" = "${P1%.*.*}" ] && [ "${A2%.*.*}" = "${P2%.*.*}" ] || fail "addresses off prefix"
wait_until 60 pings a "$B1" || fail "a cannot ping b in n1 ($B1)"
wait_until 60 pings b "$A1" || fail "b cannot ping a in n1 ($A1)"
wait_until 60 pings a "$C2" || fail "a cannot ping c in n2 ($C2)"
wait_until 60 pings c "$A2" || fail "c cannot ping a in n2 ($A2)"
t_log "pings in both networks"

# Refused: a create overlapping n1 on a, and b joining a network (made by c,
# which is not in n1) on n1's prefix.
n1_net=${P1%.0.0/16}
sub="$n1_net.128.0/17"
out=$(ctl a network create n3 --prefix "$sub" 2>&1) && fail "create on $sub succeeded"
want="prefix $sub of network \"n3\" overlaps network \"n1\" ($P1)"
[[ $out == *"$want"* ]] || fail "create refused with: $out (want: $want)"
ctl c network create x --prefix "$P1" | tail -n 1 >"$T_DIR/invx" || fail "c's create of x"
out=$(ctl b join - <"$T_DIR/invx" 2>&1) && fail "b joined x on $P1"
want="prefix $P1 of network \"x\" overlaps network \"n1\" ($P1)"
[[ $out == *"$want"* ]] || fail "join refused with: $out (want: $want)"
t_log "refused: $want"
[ "$(ctl a networks --json | jq length)" = 2 ] || fail "a's networks changed"
[ "$(ctl b networks --json | jq length)" = 1 ] || fail "b's networks changed"
wait_until 30 pings a "$B1" || fail "a lost b after the refusals"
wait_until 30 pings a "$C2" || fail "a lost c after the refusals"

# b joins n2 as well: a member of both of a's networks.
KB=$(pubkey b)
ctl b join - <"$T_DIR/inv2" >/dev/null || fail "b's join of n2"
B2=$(addr_in b n2)
[ "${B2%.*.*}" = "${P2%.*.*}" ] || fail "b's n2 address $B2 off $P2"
entries() { # HOST KEY: the networks HOST holds KEY in, sorted
	ctl "$1" peers --json | jq -r --arg k "$2" '[.[] | select(.public_key == $k) | "\(.network)=\(.state)"] | sort | join(" ")'
}
wait_until 60 eval '[ "$(entries a "$KB")" = "n1=member n2=member" ]' ||
	fail "a holds b as: $(entries a "$KB")"
wait_until 60 pings a "$B2" || fail "a cannot ping b in n2 ($B2); a holds b as: $(ctl a peers --json | jq -c --arg k "$KB" '[.[] | select(.public_key == $k) | {network, allowed_ips}]')"
wait_until 60 pings b "$A2" || fail "b cannot ping a in n2 ($A2)"
wait_until 60 pings c "$B2" || fail "c cannot ping b in n2 ($B2)"
pings a "$B1" || fail "a lost b in n1 once b joined n2"
[ "$(ctl a peers --json | jq --arg k "$KB" '[.[] | select(.public_key == $k and .path != null)] | length')" = 2 ] ||
	fail "a's peers show no path for one of b's entries: $(ctl a peers --json | jq -c --arg k "$KB" '.[] | select(.public_key == $k) | {network, path}')"
t_log "b in n1 ($B1) and n2 ($B2): one peer entry per network on a, both reachable"

# a creates n0 (first by name) with approval, and b joins it: pending on a,
# while b counts a (the admin) a member there. Both ends must still pick
# the same entry to carry the pair's one session (n0's, the first by name),
# or they use different pre-shared keys and b is cut off in n1 and n2 too.
ctl a network create n0 --admission approve --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" |
	tail -n 1 >"$T_DIR/inv0" || fail "create n0"
ctl b join - <"$T_DIR/inv0" >/dev/null || fail "b's join of n0"
wait_until 60 eval '[ "$(entries a "$KB")" = "n0=pending n1=member n2=member" ]' ||
	fail "a holds b as: $(entries a "$KB")"
wait_until 60 pings a "$B1" || fail "a lost b in n1 while b waits for approval in n0"
wait_until 60 pings b "$A2" || fail "b lost a in n2 while it waits for approval in n0"
[ -z "$(addr_now b n0)" ] || fail "b has an address in n0 before approval"
t_log "b pending in n0: n1 and n2 still work"
ctl a peer approve --network n0 "$KB" >/dev/null || fail "a: approve b in n0"
B0=$(addr_in b n0) A0=$(addr_in a n0)
wait_until 60 pings a "$B0" || fail "a cannot ping b in n0 ($B0) once approved"
pings a "$B2" || fail "a lost b in n2 once b was approved in n0"
t_log "b approved in n0 ($B0)"

# A block must say which network; in n2 only, it leaves n1 alone.
out=$(ctl a peer block "$KB" 2>&1) && fail "a block of b naming no network succeeded: $out"
[[ $out == *"member of networks n0, n1, n2: name one with --network"* ]] || fail "block refused with: $out"
ctl a peer block --network n2 "$KB" >/dev/null || fail "a: block b in n2"
[ "$(entries a "$KB")" = "n0=member n1=member n2=blocked" ] || fail "after the block a holds b as: $(entries a "$KB")"
wait_until 60 eval '! pings a "$B2"' || fail "a still reaches b's n2 address after the block"
wait_until 30 pings a "$B1" || fail "a lost b in n1 after blocking it in n2"
wait_until 30 pings a "$C2" || fail "a lost c in n2 after blocking b there"
t_log "b blocked in n2 only: n1 still works"
echo "PASS two_networks"
