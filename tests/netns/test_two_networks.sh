#!/usr/bin/env bash
# One node in several networks (issue 18): a creates n1 and n2 with no
# --prefix and gets a different random 10.X.0.0/16 for each; b joins n1, c
# joins n2; a pings b in n1 and c in n2 and they ping back. (A peer key is a
# member of one network at a time, so b cannot share both with a yet.) A
# create with a prefix overlapping a joined network, and a join of an invite
# whose prefix overlaps one, are refused with the message naming both, exit
# status non-zero, and nothing changes.
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
addr_in() { net_field "$1" "$2" address | cut -d/ -f1; }
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
echo "PASS two_networks"
