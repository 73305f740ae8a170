#!/usr/bin/env bash
# The discovery styles of issue 19 beyond 255.255.255.255, across two cone
# NATs (a behind r1, b behind r2; they share no LAN, only the overlay):
#  - per-interface subnet broadcast: a program that sends only on
#    IFF_BROADCAST interfaces (getifaddrs), to each one's broadcast address
#    (10.1.0.255 on a's LAN; tt0 is point-to-point, so never there) finds a
#    server on b; b receives it as 255.255.255.255 from a's overlay address.
#  - counters: tundctl status shows the broadcasts a sent and b received in
#    the network (and peers --json per peer);
#  - multicast both ways (request to a group on one port, the answer to the
#    same group on another), with c added behind r3, the programs joining on
#    0.0.0.0, on the overlay address or on the LAN (default) interface.
set -u
. "$(dirname "$0")/lib.sh"
t_init lan_styles
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
GAME="python3 $TOP/tests/netns/game.py"
LAB_CLIENTS=3 lab_up cone
for h in a b c; do tund_node "$h"; done
invite=$(ctl a network create styles --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "b: join"
ctl c join "$invite" >/dev/null || fail "c: join"
A=$(overlay_addr a) B=$(overlay_addr b) C=$(overlay_addr c)
for pair in "a $B" "a $C" "b $C"; do
	set -- $pair
	wait_until 60 pings "$1" "$2" || fail "$1 cannot ping $2"
done

# --- per-interface subnet broadcast
lab_bg b "$T_DIR/game-b.log" $GAME server 27020
wait_until 10 grep -q ready "$T_DIR/game-b.log" || fail "game server on b did not start"
lab_bg b "$T_DIR/b-tt0.log" tcpdump -l -n -i tt0 "udp dst port 27020"
wait_until 60 grep -q listening "$T_DIR/b-tt0.log" || fail "tcpdump did not start ($T_DIR/b-tt0.log)"
# bcast HOST sent|received: the network's counter in tundctl status.
bcast() { ctl "$1" status --json | jq -r --arg n styles ".broadcasts.networks[] | select(.network == \$n) | .$2 // 0" | head -n 1; }
a_sent0=$(bcast a sent) b_recv0=$(bcast b received)
LANBC=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1], strict=False).broadcast_address)" "$(lab_addr a)/24")
got=$(lab_exec a python3 "$TOP/tests/netns/ifbrowse.py" 27020)
grep -qx "send eth0 $LANBC" <<<"$got" || fail "ifbrowse did not send on eth0 to $LANBC: $got"
! grep -q "^send tt0" <<<"$got" || fail "tt0 looks IFF_BROADCAST: $got"
grep -qx "reply $B" <<<"$got" || fail "no reply from b ($B) to a subnet broadcast on a's LAN: $got"
grep -qx "query $A" "$T_DIR/game-b.log" || fail "b saw the query from $(grep query "$T_DIR/game-b.log"), want $A"
wait_until 5 grep -q "$A\.[0-9]* > 255.255.255.255.27020" "$T_DIR/b-tt0.log" ||
	fail "b's tt0 did not see $A -> 255.255.255.255: $(cat "$T_DIR/b-tt0.log")"
t_log "subnet broadcast $LANBC on a's LAN found b's server ($got)"
# --- counters
a_sent=$(bcast a sent) b_recv=$(bcast b received)
[ "${a_sent:-0}" -gt "${a_sent0:-0}" ] || fail "a's status: broadcasts sent in styles $a_sent0 -> $a_sent"
[ "${b_recv:-0}" -gt "${b_recv0:-0}" ] || fail "b's status: broadcasts received in styles $b_recv0 -> $b_recv"
# (Read after the JSON: a's count may have grown since, never shrunk.)
shown=$(ctl a status | sed -n 's/^ *broadcasts in styles: \([0-9]*\) copies sent to members.*/\1/p')
[ -n "$shown" ] && [ "$shown" -ge "$a_sent" ] ||
	fail "tundctl status on a does not show the counters ($a_sent sent): $(ctl a status)"
KB=$(pubkey b)
[ "$(peer_field a "$KB" broadcasts_sent)" -ge 1 ] ||
	fail "a's peers --json: no broadcasts_sent for b"
t_log "counters: a sent $a_sent copies in styles, b received $b_recv"
# --- multicast both ways: request to G:REQ, answer to G:ANS, whichever
# interface the programs name when they join (one group per case, so that
# no other socket's join on a host helps): 0.0.0.0, the overlay address, the
# default interface's LAN address.
MC="python3 $TOP/tests/netns/mcast.py"
lab_bg b "$T_DIR/mc-b-any.log" $MC server 239.255.77.1 27100 27101 any b-any
lab_bg c "$T_DIR/mc-c-ovl.log" $MC server 239.255.77.2 27110 27111 "$C" c-overlay
lab_bg b "$T_DIR/mc-b-lan.log" $MC server 239.255.77.3 27120 27121 "$(lab_addr b)" b-lan
for f in mc-b-any mc-c-ovl mc-b-lan; do
	wait_until 10 grep -q ready "$T_DIR/$f.log" || fail "$f did not start"
done
for q in "239.255.77.1 27100 27101 any b-any $B" "239.255.77.2 27110 27111 $A c-overlay $C" \
	"239.255.77.3 27120 27121 $(lab_addr a) b-lan $B"; do
	set -- $q
	got=$(lab_exec a $MC query "$1" "$2" "$3" "$4")
	grep -qx "answer $6 $5" <<<"$got" || fail "multicast to $1:$2 (a joins on $4): '$got', want 'answer $6 $5'"
	t_log "multicast $1:$2 -> $1:$3, a joined on $4: $got"
done
echo "PASS lan_styles"
