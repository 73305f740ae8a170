#!/usr/bin/env bash
# Two networks on one node: a is in "one" (10.71/16, with b) and "two"
# (10.72/16, with c), each peer behind its own cone NAT. A broadcast from a
# to 255.255.255.255 reaches b once with a's address in one and c once with
# a's address in two (never the other network's); a broadcast to one's subnet
# broadcast reaches b only. Both answers come back; tundctl status counts
# the copies per network.
set -u
. "$(dirname "$0")/lib.sh"
t_init lan_nets
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
GAME="python3 $TOP/tests/netns/game.py"
LAB_CLIENTS=3 lab_up cone
for h in a b c; do tund_node "$h"; done
inv1=$(ctl a network create one --prefix 10.71.0.0/16 --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
inv2=$(ctl a network create two --prefix 10.72.0.0/16 --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$inv1" >/dev/null || fail "b: join one"
ctl c join "$inv2" >/dev/null || fail "c: join two"
addr_in() { ctl "$1" networks --json | jq -r --arg n "$2" '.[] | select(.name == $n) | .address' | cut -d/ -f1; }
A1=$(addr_in a one) A2=$(addr_in a two) B=$(addr_in b one) C=$(addr_in c two)
[ -n "$A1" ] && [ -n "$A2" ] && [ "$A1" != "$A2" ] || fail "a's addresses: one '$A1', two '$A2'"
wait_until 60 pings a "$B" || fail "a cannot ping b ($B)"
wait_until 60 pings a "$C" || fail "a cannot ping c ($C)"

for h in b c; do
	lab_bg "$h" "$T_DIR/game-$h.log" $GAME server 27300
	wait_until 10 grep -q ready "$T_DIR/game-$h.log" || fail "game server on $h did not start"
	lab_bg "$h" "$T_DIR/$h-tt0.log" tcpdump -l -n -i tt0 "udp dst port 27300"
	wait_until 60 grep -q listening "$T_DIR/$h-tt0.log" || fail "tcpdump did not start ($T_DIR/$h-tt0.log)"
done

got=$(lab_exec a $GAME query 255.255.255.255 27300)
grep -qx "reply $B" <<<"$got" || fail "no reply from b ($B) to 255.255.255.255: $got"
grep -qx "reply $C" <<<"$got" || fail "no reply from c ($C) to 255.255.255.255: $got"
grep -qx "query $A1" "$T_DIR/game-b.log" || fail "b saw $(grep query "$T_DIR/game-b.log"), want $A1 (one)"
grep -qx "query $A2" "$T_DIR/game-c.log" || fail "c saw $(grep query "$T_DIR/game-c.log"), want $A2 (two)"
t_log "255.255.255.255: b got it from $A1, c from $A2; both answered"

got=$(lab_exec a $GAME query 10.71.255.255 27300)
grep -qx "reply $B" <<<"$got" || fail "no reply from b to one's subnet broadcast: $got"
! grep -q "reply $C" <<<"$got" || fail "c answered one's subnet broadcast: $got"
t_log "10.71.255.255 (one): only b answered"

# Exactly: b saw two packets (both from A1), c one (from A2), nothing else.
sleep_quiet() { local n1 n2; n1=$(cat "$T_DIR"/[bc]-tt0.log | wc -l); sleep 1; n2=$(cat "$T_DIR"/[bc]-tt0.log | wc -l); [ "$n1" = "$n2" ]; }
wait_until 10 sleep_quiet || true
nb=$(grep -c "IP $A1\." "$T_DIR/b-tt0.log") nb_other=$(grep -c "IP " "$T_DIR/b-tt0.log")
nc=$(grep -c "IP $A2\." "$T_DIR/c-tt0.log") nc_other=$(grep -c "IP " "$T_DIR/c-tt0.log")
[ "$nb" = 2 ] && [ "$nb_other" = 2 ] || fail "b's tt0: $(cat "$T_DIR/b-tt0.log") (want 2 packets from $A1)"
[ "$nc" = 1 ] && [ "$nc_other" = 1 ] || fail "c's tt0: $(cat "$T_DIR/c-tt0.log") (want 1 packet from $A2)"
bsent() { ctl a status --json | jq -r --arg n "$1" '.broadcasts.networks[] | select(.network == $n) | .sent'; }
[ "$(bsent one)" -ge 2 ] && [ "$(bsent two)" -ge 1 ] || fail "a's status: one sent $(bsent one), two sent $(bsent two)"
t_log "b got 2 copies from $A1, c 1 from $A2; status: one $(bsent one), two $(bsent two) sent"
echo "PASS lan_nets"
