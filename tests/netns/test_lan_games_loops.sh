#!/usr/bin/env bash
# Three members on one LAN (a, d, e behind r1) and one behind another cone
# NAT (b): a sends 5 broadcasts to 255.255.255.255. Each other member's TUN
# gets each exactly once (from a's overlay address), d and e also get each
# once on the LAN (from a's LAN address: the game's own LAN broadcast), a's
# TUN never gets its own back, and no copy is made again by a receiver (no
# loop): the counts stay put afterwards. A query is answered once per
# address: b over the overlay, d and e once on the LAN and once over it.
set -u
. "$(dirname "$0")/lib.sh"
t_init lan_loops
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
GAME="python3 $TOP/tests/netns/game.py"
LAB_LAN_PEER=2 lab_up cone
for h in a b d e; do tund_node "$h"; done
invite=$(ctl a network create loops --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
for h in b d e; do ctl "$h" join "$invite" >/dev/null || fail "$h: join"; done
A=$(overlay_addr a) B=$(overlay_addr b) D=$(overlay_addr d) E=$(overlay_addr e)
for pair in "a $B" "a $D" "a $E" "d $E" "b $D" "b $E"; do
	set -- $pair
	wait_until 60 pings "$1" "$2" || fail "$1 cannot ping $2"
done

for h in b d e; do
	lab_bg "$h" "$T_DIR/game-$h.log" $GAME server 27400
	wait_until 10 grep -q ready "$T_DIR/game-$h.log" || fail "game server on $h did not start"
done
for h in a b d e; do
	lab_bg "$h" "$T_DIR/$h-tt0.log" tcpdump -l -n -Q in -i tt0 "udp dst port 27401"
	wait_until 60 grep -q listening "$T_DIR/$h-tt0.log" || fail "tcpdump did not start ($T_DIR/$h-tt0.log)"
done
for h in d e; do
	lab_bg "$h" "$T_DIR/$h-eth0.log" tcpdump -l -n -Q in -i eth0 "udp dst port 27401"
	wait_until 60 grep -q listening "$T_DIR/$h-eth0.log" || fail "tcpdump did not start ($T_DIR/$h-eth0.log)"
done
lab_exec a python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for i in range(5):
    s.sendto(b"bcast %d" % i, ("255.255.255.255", 27401))
    time.sleep(0.05)'
count() { grep -c "IP $2\." "$T_DIR/$1.log"; }
total() { grep -c "IP " "$T_DIR/$1.log"; }
all_counts() { for f in a-tt0 b-tt0 d-tt0 e-tt0 d-eth0 e-eth0; do printf '%s=%s ' $f "$(total $f)"; done; }
wait_until 20 sh -c "[ \$(grep -c 'IP ' '$T_DIR/b-tt0.log') -ge 5 ]" || true
quiet() { local c1; c1=$(all_counts); sleep 2; [ "$c1" = "$(all_counts)" ]; }
wait_until 20 quiet || fail "broadcast counts keep growing (a loop?): $(all_counts)"
for h in b d e; do
	[ "$(count $h-tt0 "$A")" = 5 ] && [ "$(total $h-tt0)" = 5 ] ||
		fail "$h's tt0 got $(total $h-tt0) packets, $(count $h-tt0 "$A") from $A; want 5 from $A: $(all_counts)"
done
for h in d e; do
	[ "$(count $h-eth0 "$(lab_addr a)")" = 5 ] && [ "$(total $h-eth0)" = 5 ] ||
		fail "$h's eth0 got $(total $h-eth0), want 5 from $(lab_addr a): $(all_counts)"
done
[ "$(total a-tt0)" = 0 ] || fail "a's tt0 got its own broadcasts back: $(cat "$T_DIR/a-tt0.log")"
t_log "5 broadcasts: each once per TUN and once per LAN, none back to a, no growth: $(all_counts)"

got=$(lab_exec a $GAME query 255.255.255.255 27400)
for want in "$B" "$D" "$E" "$(lab_addr d)" "$(lab_addr e)"; do
	[ "$(grep -cx "reply $want" <<<"$got")" = 1 ] || fail "replies: '$got', want one from $want"
done
[ "$(wc -l <<<"$got")" = 5 ] || fail "replies: '$got', want 5"
t_log "query: 5 replies, one per address"
echo "PASS lan_loops"
