#!/usr/bin/env bash
# Light traffic on one thread ([daemon] light_on_one_thread, on by default;
# tund/dataplane/tun_handoff.h), between two static peers:
# - with pings only, the UDP thread reads the TUN at both ends (status and
#   tundctl say so), and 100 pings wake b's TUN thread almost never; with the
#   switch off they wake it once a ping;
# - a 20 MB TCP transfer arrives intact, and takes the TUN back to the TUN
#   thread (the pings after it see the UDP thread take it up again);
# - numbered UDP datagrams, in a burst (hand-offs both ways) and paced
#   (light: the UDP thread carries both directions), arrive in order and none
#   twice; the paced stream whole.
set -u
. "$(dirname "$0")/lib.sh"
t_init one_thread
. "$(dirname "$0")/lib_pair.sh"

reader() { ctl_"$1" status --json | jq -r .tun_io.one_thread_now; }
handoffs() { ctl_"$1" status --json | jq -r .tun_io.handoffs; }
# tun_wakeups PID: voluntary context switches of the daemon's TUN thread.
tun_wakeups() {
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm")" = tund-tun ] && awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status"
	done
}
# wakeups_per_100_pings: b's TUN thread's wake-ups over 100 idle pings a -> b.
wakeups_per_100_pings() {
	local w0
	w0=$(tun_wakeups "$PID_B")
	ip netns exec "$NS_A" ping -n -q -c 100 -i 0.01 -W 1 10.77.0.2 >"$T_DIR/ping.out" 2>&1 ||
		fail "pings a -> b lost: $(tail -n 2 "$T_DIR/ping.out")"
	echo $(($(tun_wakeups "$PID_B") - w0))
}
ping_ok() { ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1; }
both_udp() { ping_ok && [ "$(reader a)" = udp ] && [ "$(reader b)" = udp ]; }

pair_up
wait_until 20 both_udp || fail "with pings only, the TUN readers are a: $(reader a), b: $(reader b); want udp"
ctl_b status | grep -q "^ *one thread: now, the UDP thread's (light traffic)" ||
	fail "tundctl status does not say the UDP thread reads the TUN: $(ctl_b status | grep -i thread)"
on=$(wakeups_per_100_pings)
[ "$on" -le 10 ] || fail "100 idle pings woke b's TUN thread $on times with light traffic on one thread"

# The switch off: b's TUN thread wakes for every reply.
stop_pid "$PID_B" || fail "b did not stop"
sed -i 's/^\[daemon\]$/[daemon]\nlight_on_one_thread = off/' "$T_DIR/b.conf"
start_b
wait_until 20 ping_ok || fail "no ping a -> b after b restarted"
[ "$(reader b)" = null ] && [ "$(handoffs b)" = 0 ] ||
	fail "b with light_on_one_thread = off: reader $(reader b), handoffs $(handoffs b)"
ctl_b status | grep -q "^ *one thread: off" || fail "tundctl status does not say it is off"
off=$(wakeups_per_100_pings)
[ "$off" -ge 90 ] || fail "with the switch off 100 pings woke b's TUN thread only $off times"
t_log "b's TUN thread woke $on times in 100 idle pings with light traffic on one thread, $off without"
stop_pid "$PID_B" || fail "b did not stop"
sed -i '/^light_on_one_thread = off$/d' "$T_DIR/b.conf"
start_b
wait_until 20 both_udp || fail "after b restarted, the TUN readers are a: $(reader a), b: $(reader b)"

# Bulk: the TUN goes to the TUN thread, and back to the UDP thread after.
h0=$(handoffs a)
head -c 20000000 /dev/urandom >"$T_DIR/blob"
tcp_transfer "$NS_A" "$NS_B" TCP:10.77.0.2:5001 TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr
wait_until 20 both_udp || fail "after the transfer, the TUN readers are a: $(reader a), b: $(reader b)"
[ "$(handoffs a)" -gt "$h0" ] ||
	fail "a's UDP thread never gave the TUN to the TUN thread for 20 MB (handoffs $h0 -> $(handoffs a))"
t_log "20 MB intact; a's UDP thread took the TUN up again (handoffs $h0 -> $(handoffs a))"

# stream N RATE: N numbered 1300-byte datagrams a -> b at RATE a second; sets
# got, lost, reordered, duplicated and fails on reordered or duplicated ones.
stream() {
	local n=$1 rate=$2 h
	h=$(handoffs a)
	seq_stream "$n" "$rate"
	wait_until 20 both_udp || fail "after the stream, the TUN readers are a: $(reader a), b: $(reader b)"
	t_log "$n datagrams at $rate/s: received $got lost $lost reordered $reordered" \
		"duplicated $duplicated; a's handoffs $h -> $(handoffs a)"
	[ "$reordered" = 0 ] || fail "$reordered of $n datagrams arrived out of order"
	[ "$duplicated" = 0 ] || fail "$duplicated datagrams arrived twice"
}
# As fast as the sender can: loss is the veth's and the sockets' (logged),
# order is tund's.
stream 20000 1000000
# Paced well below what one thread carries: every datagram arrives.
stream 3000 1000
[ "$lost" = 0 ] || fail "$lost of 3000 paced datagrams lost"
echo "PASS one_thread"
