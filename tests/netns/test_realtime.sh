#!/usr/bin/env bash
# Packet threads at real-time priority under bulk traffic ([daemon] realtime,
# tund/dataplane/priority.h). Two static peers: idle, every thread is SCHED_OTHER;
# during a TCP stream both daemons' packet threads (tund-tun, tund-udp) are
# SCHED_FIFO 1 and status says so; after the stream they go back to
# SCHED_OTHER and status counts the change as idle. A flood of small
# datagrams does not raise the sender. With `realtime = off` nothing is
# ever raised.
set -u
. "$(dirname "$0")/lib.sh"
t_init realtime
. "$(dirname "$0")/lib_pair.sh"
command -v socat >/dev/null || fail "socat missing (make deps)"

# policy PID NAME: the scheduling policy of PID's thread NAME (0 other, 1 fifo).
policy() {
	local task
	for task in /proc/"$1"/task/*; do
		[ "$(cat "$task/comm")" = "$2" ] || continue
		awk '{ sub(/.*\) /, ""); print $39 }' "$task/stat"
		return
	done
	echo none
}
# packet_policies PID: "tun udp" policies.
packet_policies() { echo "$(policy "$1" tund-tun) $(policy "$1" tund-udp)"; }
rt_field() { "$TUNDCTL" --socket "$T_DIR/$1/tund.sock" status --json | jq -r ".realtime.$2"; }

pair_up
wait_until 60 ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 || fail "tunnel did not come up"
for p in "$PID_A" "$PID_B"; do
	[ "$(packet_policies "$p")" = "0 0" ] || fail "idle: packet threads of $p are $(packet_policies "$p")"
done
[ "$(rt_field a enabled)" = true ] && [ "$(rt_field a active)" = false ] ||
	fail "idle: status realtime $(ctl_a status --json | jq -c .realtime)"

# bulk_start / bulk_stop: a TCP stream from a to b through the tunnel.
bulk_start() {
	ip netns exec "$NS_B" socat -u TCP-LISTEN:5001,reuseaddr OPEN:/dev/null &
	SINK=$!; t_track "$SINK"
	wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q ':5001 '" || fail "listener"
	ip netns exec "$NS_A" socat -u OPEN:/dev/zero TCP:10.77.0.2:5001 &
	SOURCE=$!; t_track "$SOURCE"
}
bulk_stop() {
	kill "$SOURCE" "$SINK" 2>/dev/null
	wait "$SOURCE" "$SINK" 2>/dev/null
	t_untrack "$SOURCE"; t_untrack "$SINK"
}
fifo_now() { [ "$(packet_policies "$PID_A")" = "1 1" ] && [ "$(packet_policies "$PID_B")" = "1 1" ]; }

bulk_start
wait_until 60 fifo_now || fail "under a TCP stream the packet threads are a: $(packet_policies "$PID_A"), b: $(packet_policies "$PID_B") (want SCHED_FIFO)"
[ "$(rt_field a active)" = true ] && [ "$(rt_field b active)" = true ] ||
	fail "under a TCP stream status says a $(ctl_a status --json | jq -c .realtime), b $(ctl_b status --json | jq -c .realtime)"
rt_prios=$(awk '{ sub(/.*\) /, ""); print $38 }' /proc/"$PID_A"/task/*/stat | sort -u | tr '\n' ' ')
t_log "under the stream: a $(ctl_a status --json | jq -c .realtime); rt_priority of a's threads: $rt_prios"
ctl_a status | grep -q "priority: *real-time now" || fail "tundctl status does not show the priority: $(ctl_a status)"
bulk_stop

idle_again() { [ "$(packet_policies "$PID_A")" = "0 0" ] && [ "$(packet_policies "$PID_B")" = "0 0" ]; }
wait_until 30 idle_again || fail "after the stream the packet threads are a: $(packet_policies "$PID_A"), b: $(packet_policies "$PID_B")"
[ "$(rt_field a active)" = false ] && [ "$(rt_field a lowered_idle)" -ge 1 ] ||
	fail "after the stream: $(ctl_a status --json | jq -c .realtime)"
t_log "after the stream: a $(ctl_a status --json | jq -c .realtime)"

# Small datagrams as fast as one sender can: the sender's threads stay normal.
raised=$(rt_field a raised)
ip netns exec "$NS_A" python3 - <<'PY' || fail "small-datagram flood"
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 3
n = 0
while time.monotonic() < end:
    s.sendto(b"x" * 64, ("10.77.0.2", 9))
    n += 1
print(n, "datagrams sent")
PY
[ "$(rt_field a raised)" = "$raised" ] ||
	fail "a flood of 64-byte datagrams raised the sender: $(ctl_a status --json | jq -c .realtime)"

# realtime = off: a restarted with it; a stream leaves everything normal.
stop_pid "$PID_A" || fail "tund a did not stop"
echo "realtime = off" >>"$T_DIR/a.conf"
start_a
wait_until 60 ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 || fail "tunnel did not come back"
[ "$(rt_field a enabled)" = false ] || fail "realtime = off: $(ctl_a status --json | jq -c .realtime)"
bulk_start
wait_until 60 eval '[ "$(packet_policies "$PID_B")" = "1 1" ]' || fail "b not raised by the stream"
[ "$(packet_policies "$PID_A")" = "0 0" ] || fail "realtime = off: a's threads are $(packet_policies "$PID_A")"
bulk_stop
[ "$(rt_field a raised)" = 0 ] || fail "realtime = off: $(ctl_a status --json | jq -c .realtime)"
ctl_a status | grep -q "priority: *off" || fail "tundctl status with realtime = off: $(ctl_a status)"
echo "PASS realtime"
