#!/usr/bin/env bash
# Self-test of tests/netns/natlab.sh: the topologies behave as advertised
# (reachability, MQTT through the NATs, NAT mapping as srv sees it, UDP
# blocking), the fault switches work, and nothing is left behind.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/natlab.sh"
t_init natlab
# shellcheck disable=SC2034 # read by natlab.sh: namespaces tt-nlst-<pid>-<random>-<host>
LAB_TAG=nlst
SVC_PIDS=()

# services_tracked: remember this lab's service pids for the final check.
services_tracked() { SVC_PIDS+=("$LAB_MQTT_PID" "$LAB_TURN_PID"); }

# reach_srv HOST...: ping and STUN (UDP) to srv work from each host.
reach_srv() {
	local h
	for h in "$@"; do
		lab_exec "$h" ping -c1 -W2 "$LAB_SRV" >/dev/null || fail "$LAB_TOPO: $h cannot ping srv"
	done
}

# mqtt_through SUB PUB: SUB subscribes, PUB publishes, SUB receives; the
# broker saw both clients from their routers' public addresses.
mqtt_through() {
	local sub=$1 pub=$2 topic=natlab/$LAB_TOPO/$RANDOM msg=hello-$RANDOM
	local out=$T_DIR/sub-$LAB_TOPO.out
	: >"$out"
	lab_bg "$sub" "$out" mosquitto_sub -h "$LAB_SRV" -p 1883 -t "$topic" -C 1 -W 20
	# The subscription may not be in place yet: publish until it arrives.
	wait_until 15 eval "lab_exec $pub mosquitto_pub -h $LAB_SRV -t $topic -m $msg; grep -qx $msg $out" ||
		fail "$LAB_TOPO: $sub did not receive what $pub published ($(cat "$out"))"
	local w
	for h in "$sub" "$pub"; do
		w=$(lab_wan "$h")
		grep -q "New client connected from $w:" "$T_DIR/mosquitto.log" ||
			fail "$LAB_TOPO: broker did not see $h from its public address $w"
	done
}

# no_lan_path A B: A cannot reach B's LAN address.
no_lan_path() {
	! lab_exec "$1" ping -c1 -W1 "$(lab_addr "$2")" >/dev/null 2>&1 ||
		fail "$LAB_TOPO: $1 reaches $2's LAN address $(lab_addr "$2")"
}

# mapping HOST=same|different...: from each HOST, two UDP flows from one
# local port to srv:3478 and srv2:3478 must get the same (or different)
# public ports. The ports come from the STUN answers (srv's view) and,
# independently, from a capture on srv.
mapping() {
	local arg h want lport wan out p1 p2 c1 c2 cap=$T_DIR/cap-$LAB_TOPO.log
	: >"$cap"
	lab_bg srv "$cap" tcpdump -i eth0 -n -l -U -p "udp and dst port 3478"
	local tcpdump_pid=$LAB_PID
	wait_until 10 grep -q "listening on" "$cap" || fail "tcpdump did not start"
	for arg in "$@"; do
		h=${arg%=*} want=${arg#*=}
		lport=$((40000 + RANDOM % 1000))
		wan=$(lab_wan "$h")
		out=$(lab_stun "$h" --port "$lport" "$LAB_SRV:3478" "$LAB_SRV2:3478") ||
			fail "$LAB_TOPO: STUN from $h failed: $out"
		p1=$(awk -v s="$LAB_SRV:3478" '$1 == s { print $2 }' <<<"$out")
		p2=$(awk -v s="$LAB_SRV2:3478" '$1 == s { print $2 }' <<<"$out")
		[ "${p1%:*}" = "$wan" ] && [ "${p2%:*}" = "$wan" ] ||
			fail "$LAB_TOPO: $h mapped to $p1 / $p2, not to its router's $wan"
		# tcpdump: "hh:mm:ss.us IP 203.0.113.11.40000 > 198.51.100.10.3478: UDP, length 20"
		wait_until 5 eval "grep -q 'IP $wan.${p1##*:} > $LAB_SRV.3478:' $cap &&
			grep -q 'IP $wan.${p2##*:} > $LAB_SRV2.3478:' $cap" ||
			fail "$LAB_TOPO: srv did not capture $p1 -> srv and $p2 -> srv2: $(cat "$cap")"
		# One source port per destination (retransmits reuse it).
		c1=$(grep -o "IP $wan\.[0-9]* > $LAB_SRV\.3478:" "$cap" | sort -u | wc -l)
		c2=$(grep -o "IP $wan\.[0-9]* > $LAB_SRV2\.3478:" "$cap" | sort -u | wc -l)
		[ "$c1" = 1 ] && [ "$c2" = 1 ] ||
			fail "$LAB_TOPO: srv saw $c1 / $c2 source ports from $wan, want 1 each: $(cat "$cap")"
		case $want in
		same)
			[ "$p1" = "$p2" ] || fail "$LAB_TOPO: $h mapping depends on destination: $p1 vs $p2"
			[ "${p1##*:}" = "$lport" ] || fail "$LAB_TOPO: $h mapping $p1 does not preserve port $lport"
			;;
		different)
			[ "$p1" != "$p2" ] || fail "$LAB_TOPO: $h got the same mapping $p1 for two destinations"
			;;
		esac
		t_log "$LAB_TOPO: $h:$lport -> srv $p1, srv2 $p2 ($want)"
	done
	stop_pid "$tcpdump_pid" 5
}

# punch A B PORT SECONDS: both sides punch at once from PORT to the other's
# router WAN address:PORT (cone NATs preserve ports). Status 0 if both heard.
punch() {
	local a=$1 b=$2 port=$3 secs=$4 pa pb ra rb
	lab_punch "$a" --port "$port" --timeout "$secs" "$(lab_wan "$b"):$port" >/dev/null &
	pa=$!
	lab_punch "$b" --port "$port" --timeout "$secs" "$(lab_wan "$a"):$port" >/dev/null &
	pb=$!
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	[ $ra -eq 0 ] && [ $rb -eq 0 ]
}

# punch_lan A B PORT SECONDS: the same between LAN addresses.
punch_lan() {
	local a=$1 b=$2 port=$3 secs=$4 pa pb ra rb
	lab_punch "$a" --port "$port" --timeout "$secs" "$(lab_addr "$b"):$port" >/dev/null &
	pa=$!
	lab_punch "$b" --port "$port" --timeout "$secs" "$(lab_addr "$a"):$port" >/dev/null &
	pb=$!
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	[ $ra -eq 0 ] && [ $rb -eq 0 ]
}

start=$SECONDS

# ---- cone, three clients: reachability, MQTT, mapping, all fault switches ----
LAB_CLIENTS=3 lab_up cone
services_tracked
case $LAB_PREFIX in tt-nlst-$$-*) ;; *) fail "namespace prefix $LAB_PREFIX" ;; esac
reach_srv a b c
mqtt_through b a
no_lan_path a b
no_lan_path b a
no_lan_path a c
mapping a=same c=same
punch a b 7000 5 || fail "cone: a and b cannot punch through to each other"

lab_block_direct
! punch a b 7000 1 || fail "cone: established a<->b flow still passes after lab_block_direct"
! punch b c 7001 1 || fail "cone: new b<->c flow passes after lab_block_direct"
lab_stun a --timeout 2 "$LAB_STUN" >/dev/null || fail "cone: srv unreachable over UDP while direct is blocked"
lab_unblock_direct
punch b c 7001 5 || fail "cone: b<->c flow tried during the block does not pass after unblock"
punch a b 7002 5 || fail "cone: new a<->b flow does not pass after unblock"

lab_broker_stop
! lab_exec a mosquitto_pub -h "$LAB_SRV" -t x -m y 2>/dev/null || fail "cone: publish works with the broker stopped"
lab_stun a --timeout 2 "$LAB_STUN" >/dev/null || fail "cone: coturn went down with the broker"
lab_broker_start
SVC_PIDS+=("$LAB_MQTT_PID")
wait_until 10 lab_exec a mosquitto_pub -h "$LAB_SRV" -t x -m y || fail "cone: broker did not come back"

lab_cut_srv
! lab_exec a ping -c1 -W1 "$LAB_SRV" >/dev/null || fail "cone: srv answers ping while cut"
! lab_stun a --timeout 1 "$LAB_STUN" >/dev/null || fail "cone: STUN answers while srv is cut"
punch a b 7003 5 || fail "cone: a<->b direct UDP broken while only srv is cut"
lab_heal_srv
reach_srv a b
lab_down

# ---- symmetric ---------------------------------------------------------------
lab_up symmetric
services_tracked
reach_srv a b
mqtt_through b a
no_lan_path a b
no_lan_path b a
mapping a=different b=different
lab_down

# ---- mixed: per-side behaviour -----------------------------------------------
lab_up mixed
services_tracked
[ "$(lab_nat r1)/$(lab_nat r2)" = cone/symmetric ] || fail "mixed: routers are $(lab_nat r1)/$(lab_nat r2)"
mapping a=same b=different
lab_down

# ---- blocked-tcp: UDP gets no answer, TCP to 3478 and MQTT work ----------------
lab_up blocked-tcp
services_tracked
reach_srv a b
! lab_stun a --timeout 1 "$LAB_STUN" >/dev/null || fail "blocked-tcp: UDP STUN from a got an answer"
out=$(lab_stun a --tcp "$LAB_STUN") || fail "blocked-tcp: STUN over TCP 3478 failed: $out"
[ "$(awk '{ print $2 }' <<<"$out")" != "${out%% *}" ] && [[ $(awk '{ print $2 }' <<<"$out") == "$(lab_wan a)":* ]] ||
	fail "blocked-tcp: TCP mapping $out is not from r1"
mqtt_through b a
lab_down

# ---- lan: a, b, c share a LAN; block_direct cuts UDP between them ------------
lab_up lan
services_tracked
reach_srv a b c
lab_exec a ping -c1 -W1 "$(lab_addr b)" >/dev/null || fail "lan: a cannot ping b"
punch_lan a b 7000 5 || fail "lan: a and b cannot exchange UDP"
lab_block_direct
! punch_lan a c 7001 1 || fail "lan: a<->c UDP passes after lab_block_direct"
lab_stun a --timeout 2 "$LAB_STUN" >/dev/null || fail "lan: srv unreachable while direct is blocked"
lab_unblock_direct
punch_lan a c 7001 5 || fail "lan: a<->c UDP does not pass after unblock"
lab_down

# ---- hairpin: two VLANs of r1; only r1's hairpin joins them -------------------
# a and b first map their ports on r1 (STUN to srv), then each sends to the
# other's public mapping, r1's own address.
hairpin_punch() {
	lab_stun a --port 7000 "$LAB_STUN" >/dev/null && lab_stun b --port 7001 "$LAB_STUN" >/dev/null ||
		fail "hairpin: STUN from a or b failed"
	local pa pb ra rb w
	w=$(lab_wan a)
	lab_punch a --port 7000 --timeout "$1" "$w:7001" >/dev/null &
	pa=$!
	lab_punch b --port 7001 --timeout "$1" "$w:7000" >/dev/null &
	pb=$!
	wait "$pa"; ra=$?
	wait "$pb"; rb=$?
	[ $ra -eq 0 ] && [ $rb -eq 0 ]
}
lab_up hairpin
services_tracked
reach_srv a b
[ "$(lab_wan a)" = "$(lab_wan b)" ] || fail "hairpin: a and b have different public addresses"
no_lan_path a b
no_lan_path b a
# One capture per host: a and b share r1's public address.
mapping a=same
mapping b=same
hairpin_punch 5 || fail "hairpin: a and b cannot reach each other through r1's public address"
lab_down
LAB_HAIRPIN=0 lab_up hairpin
services_tracked
! hairpin_punch 2 || fail "hairpin: LAB_HAIRPIN=0, yet a and b reach each other"
lab_down

# ---- double: home NAT behind a carrier-grade NAT, both cone ---------------------
lab_up double
services_tracked
reach_srv a b
[ "$(lab_wan a)" = 203.0.113.11 ] && [ "$(lab_addr r1)" = 100.64.1.2 ] ||
	fail "double: a is seen as $(lab_wan a), r1's WAN is $(lab_addr r1)"
mqtt_through b a
no_lan_path a b
mapping a=same b=same
punch a b 7000 5 || fail "double: a and b cannot punch through both NAT layers"
lab_down

# ---- dual-stack: global IPv6 without NAT, stateful router firewalls -------------
LAB_IPV6=1 lab_up cone
services_tracked
lab_exec a ping -6 -c1 -W2 2001:db8:ff::1 >/dev/null || fail "ipv6: a cannot ping the core over IPv6"
! lab_exec a ping -6 -c1 -W1 "$(lab_addr6 b)" >/dev/null 2>&1 ||
	fail "ipv6: r2 lets an unsolicited ping to b in"
lab_punch a --port 7000 --timeout 5 "[$(lab_addr6 b)]:7000" >/dev/null &
pa=$!
lab_punch b --port 7000 --timeout 5 "[$(lab_addr6 a)]:7000" >/dev/null ||
	fail "ipv6: b did not hear a over IPv6"
wait "$pa" || fail "ipv6: a did not hear b over IPv6"
mapping a=same
lab_down

# ---- nothing left behind -------------------------------------------------------
left=$(ip netns list | awk '{ print $1 }' | grep "^tt-nlst-$$-")
[ -z "$left" ] || fail "namespaces left: $left"
for pid in "${SVC_PIDS[@]}"; do
	pid_running "$pid" && fail "service pid $pid ($(cat "/proc/$pid/comm")) still running"
done
t_log "all checks passed in $((SECONDS - start)) s"
exit 0
