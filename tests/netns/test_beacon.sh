#!/usr/bin/env bash
# LAN beacons with no route at all (like lab "lan-offline"): nodes a, b, c on a
# bridge in 10.9.0.0/24 without a gateway find each other within 15 s; d, with
# another network key, is found by nobody and its beacons count as
# other_network; a captured beacon sent again counts as a replay and finds
# nothing new; a cut one counts as malformed.
set -u
. "$(dirname "$0")/lib.sh"
PROBE=$TOP/build/beacon_probe
REPLAY=$TOP/tests/netns/beacon_replay.py
[ -x "$PROBE" ] || { echo "build $PROBE first (make build/beacon_probe)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

t_init beacon
t_ns SW bcn-sw
t_ns A bcn-a
t_ns B bcn-b
t_ns C bcn-c
t_ns D bcn-d

# The switch: no STP delay, multicast flooded, bridged frames not filtered
# (br_netfilter may be loaded on the host; lab.md pitfalls 1 and 3).
for k in iptables ip6tables arptables; do
	ip netns exec "$SW" sysctl -qw "net.bridge.bridge-nf-call-$k=0" 2>/dev/null
done
ip -n "$SW" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 ||
	fail "bridge"
ip -n "$SW" link set br0 up
i=10
for n in a b c d; do
	ns_var=${n^^}
	ns=${!ns_var}
	ip -n "$ns" link add eth0 type veth peer name "v$n" netns "$SW" || fail "veth $n"
	ip -n "$SW" link set "v$n" master br0 up
	ip -n "$ns" addr add "10.9.0.$i/24" dev eth0
	ip -n "$ns" link set eth0 up
	i=$((i + 1))
done
ip -n "$A" route show default | grep -q . && fail "a has a default route"

key() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
key >"$T_DIR/net.key"
key >"$T_DIR/other.key"

start_probe() { # NAME NS KEYFILE PORT
	ip netns exec "$2" "$PROBE" "$3" "$4" "$T_DIR/$1.stats" >"$T_DIR/$1.out" \
		2>"$T_DIR/$1.log" &
	t_track $!
}
start_probe a "$A" "$T_DIR/net.key" 51820
start_probe b "$B" "$T_DIR/net.key" 51830
start_probe c "$C" "$T_DIR/net.key" 51840
start_probe d "$D" "$T_DIR/other.key" 51850

self() { wait_until 5 grep -q '^self ' "$T_DIR/$1.out" || fail "$1 did not start"
	sed -n 's/^self //p' "$T_DIR/$1.out"; }
SELF_A=$(self a); SELF_B=$(self b); SELF_C=$(self c); SELF_D=$(self d)
st() { sed -n "s/^$2=//p" "$T_DIR/$1.stats" 2>/dev/null; }
found() { grep -q "^peer $2 $3 $4\$" "$T_DIR/$1.out"; }
peers() { grep -c '^peer ' "$T_DIR/$1.out"; }
all_found() {
	found a "$SELF_B" 10.9.0.11 51830 && found a "$SELF_C" 10.9.0.12 51840 &&
	found b "$SELF_A" 10.9.0.10 51820 && found b "$SELF_C" 10.9.0.12 51840 &&
	found c "$SELF_A" 10.9.0.10 51820 && found c "$SELF_B" 10.9.0.11 51830
}

start=$SECONDS
wait_until 15 all_found || {
	for n in a b c; do t_log "$n: $(tr '\n' ' ' <"$T_DIR/$n.out")"; done
	fail "nodes did not discover each other within 15 s"
}
t_log "a, b, c discovered each other in $((SECONDS - start)) s"

# d's beacons reach everyone but are from another network.
other_seen() { [ "$(st a other_network)" -ge 1 ] && [ "$(st b other_network)" -ge 1 ] &&
	[ "$(st c other_network)" -ge 1 ] && [ "$(st d other_network)" -ge 3 ]; }
wait_until 15 other_seen || fail "other-network beacons not counted: a=$(st a other_network) b=$(st b other_network) c=$(st c other_network) d=$(st d other_network)"
for n in a b c; do
	grep -q "$SELF_D" "$T_DIR/$n.out" && fail "$n discovered d (other network)"
	[ "$(peers $n)" = 2 ] || fail "$n has $(peers $n) peers, want 2"
done
[ "$(peers d)" = 0 ] || fail "d discovered $(peers d) peers of another network"
t_log "d (other key) not discovered; other_network a=$(st a other_network) b=$(st b other_network) c=$(st c other_network)"

# Capture one of b's beacons on a and send it again to c, which already had it.
ip netns exec "$A" tcpdump -i eth0 -U -n -w "$T_DIR/b.pcap" 'udp dst port 51821 and src host 10.9.0.11' \
	>"$T_DIR/tcpdump.log" 2>&1 &
TCPDUMP=$!
t_track $TCPDUMP
has_capture() { [ "$(stat -c %s "$T_DIR/b.pcap" 2>/dev/null || echo 0)" -gt 100 ]; }
wait_until 15 has_capture || fail "captured no beacon of b"
stop_pid $TCPDUMP 5
# c got the same frame from the bridge; whichever copy it sees second is the
# replay, and b is known already, so nothing new may appear either way.
replay0=$(st c replay) mal0=$(st c malformed) acc_peers=$(peers c)
sent=$(ip netns exec "$A" python3 "$REPLAY" "$T_DIR/b.pcap" 10.9.0.12 51821)
[ "$sent" = 181 ] || fail "replay sender sent '$sent'"
wait_until 5 eval '[ "$(st c replay)" -gt "$replay0" ]' ||
	fail "replayed beacon not counted as replay (replay=$(st c replay), was $replay0)"
[ "$(peers c)" = "$acc_peers" ] || fail "replay discovered something new"
t_log "replayed beacon dropped as replay on c ($replay0 -> $(st c replay))"

sent=$(ip netns exec "$A" python3 "$REPLAY" "$T_DIR/b.pcap" 10.9.0.12 51821 40)
[ "$sent" = 40 ] || fail "truncated sender sent '$sent'"
wait_until 5 eval '[ "$(st c malformed)" -gt "$mal0" ]' ||
	fail "truncated beacon not counted as malformed"
t_log "truncated beacon dropped as malformed on c"
[ "$(st c forged)" = 0 ] || fail "c counted forged beacons: $(st c forged)"
for n in a b c d; do t_log "$n: $(tr '\n' ' ' <"$T_DIR/$n.stats")"; done
echo "PASS test_beacon"
