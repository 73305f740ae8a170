#!/usr/bin/env bash
# Relay to direct: the NATs start with direct UDP between them blocked, so the
# path is relayed; a TCP stream runs through the tunnel; direct UDP is then
# unblocked and within 60 s the path is direct while the stream still runs;
# data keeps arriving over the direct path, the stream never stalls for more
# than 5 s, and it completes intact. Once direct, bulk raises the packet threads
# to real-time priority again (not raised while relayed).
set -u
. "$(dirname "$0")/lib.sh"
t_init natupgrade
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
lab_block_direct
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "no ping over the relay"
path_is a "$KB" relay || fail "path is $(peer_field a "$KB" path) while direct UDP is blocked"

# A slow stream through the tunnel (160 kB/s) from before the unblocking until
# the path has been direct for a while; the sender stops when told and says
# how much it sent, so the receiver's copy is checked against exactly that.
head -c 24000000 /dev/urandom >"$T_DIR/blob" # 150 s of stream: longer than any wait below
lab_exec b socat -u TCP-LISTEN:5001,reuseaddr "CREATE:$T_DIR/received" &
rx=$!; t_track "$rx"
wait_until 10 lab_exec b sh -c "ss -ltn | grep -q ':5001 '" || fail "no listener"
python3 -c 'import os, sys, time
f, stop, sent = open(sys.argv[1], "rb"), sys.argv[2], 0
while not os.path.exists(stop) and (chunk := f.read(16384)):
    sys.stdout.buffer.write(chunk); sys.stdout.buffer.flush(); sent += len(chunk); time.sleep(0.1)
open(stop + ".sent", "w").write(str(sent))' "$T_DIR/blob" "$T_DIR/stop" |
	lab_exec a socat -u - "TCP:$B:5001" &
tx=$!; t_track "$tx"
received() { stat -c %s "$T_DIR/received" 2>/dev/null || echo 0; }
# Progress every 0.2 s, for the longest stall of the stream (a sample, not a wait).
(while [ ! -e "$T_DIR/stop" ]; do echo "$(date +%s%N) $(received)"; sleep 0.2; done) >"$T_DIR/progress" &
t_track $!
wait_until 20 eval '[ "$(received)" -ge 500000 ]' || fail "the stream did not get going over the relay"

lab_unblock_direct
start=$SECONDS
wait_until 60 path_is a "$KB" direct || fail "path still $(peer_field a "$KB" path) 60 s after unblocking"
t_log "direct $((SECONDS - start)) s after unblocking"
# The stream spans the switch: still running, and data keeps arriving over
# the direct path (2 s of it).
at_direct=$(received)
pid_running "$tx" || fail "the stream had ended when the path turned direct"
wait_until 30 eval '[ "$(received)" -ge $((at_direct + 320000)) ]' ||
	fail "the stream stalled after the path turned direct: $(received) bytes, $at_direct when it turned"
touch "$T_DIR/stop"
wait_until 30 eval "! pid_running $tx" || fail "sender did not finish"
wait "$tx" || fail "the TCP stream broke during the switch"
t_untrack "$tx"
wait_until 30 eval "! pid_running $rx" || fail "receiver did not finish"
t_untrack "$rx"
sent=$(cat "$T_DIR/stop.sent")
[ "$(received)" = "$sent" ] || fail "$sent bytes sent, $(received) received"
want=$(head -c "$sent" "$T_DIR/blob" | sha256sum | cut -d' ' -f1)
got=$(sha256sum <"$T_DIR/received" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the stream arrived corrupted"
# The longest time the receiver got nothing: TCP hides a path switch's loss
# as a stall; a few retransmission timeouts fit in 5 s, a broken switch not.
stall=$(awk 'NR > 1 && $2 == prev_size { if (($1 - since) / 1e9 > max) max = ($1 - since) / 1e9; next }
	{ since = $1; prev_size = $2 } END { printf "%.1f", max }' "$T_DIR/progress")
awk -v s="$stall" 'BEGIN { exit !(s <= 5) }' || fail "the stream stalled for $stall s across the switch"
t_log "stream intact across relay -> direct: $sent bytes, $((sent - at_direct)) after the switch, longest stall $stall s"
# On the relay the packet threads stayed at normal priority (doc/paths.md);
# direct, bulk raises them again ([daemon] realtime, on by default): the old
# relayed session let go of its hold.
rt_raised() { ctl a status --json | jq -r .realtime.raised; }
raised0=$(rt_raised)
bulk_raises() { transfer a b "$B" 2; [ "$(rt_raised)" -gt "$raised0" ]; }
wait_until 60 bulk_raises || fail "a's packet threads not raised by bulk on the direct path: $(ctl a status --json | jq -c .realtime)"
t_log "direct: bulk raises the packet threads again ($(ctl a status --json | jq -c .realtime))"
echo "PASS nat_upgrade"
