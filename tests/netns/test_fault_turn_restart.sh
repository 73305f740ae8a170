#!/usr/bin/env bash
# The TURN server restarts (every allocation lost) while the relayed path
# between two friends behind symmetric NATs carries a slow TCP stream: the
# path comes back through new allocations and the stream, which outlives the
# restart, completes intact.
set -u
. "$(dirname "$0")/lib.sh"
t_init faultturn
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up symmetric
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b"
path_is a "$KB" relay || fail "path is $(peer_field a "$KB" path), want relay"
relay0=$(peer_field a "$KB" local_addr)/$(peer_field a "$KB" remote_addr)

# A stream of 3 MB at about 160 kB/s: it runs for 20 s without faults.
head -c 3000000 /dev/urandom >"$T_DIR/blob"
want=$(sha256sum <"$T_DIR/blob" | cut -d' ' -f1)
lab_bg b "$T_DIR/socat-rx.log" socat -u TCP-LISTEN:5001,reuseaddr "CREATE:$T_DIR/received"
rx=$LAB_PID
wait_until 10 lab_exec b sh -c "ss -ltn | grep -q ':5001 '" || fail "no listener on b"
python3 -c 'import sys, time
f = open(sys.argv[1], "rb")
while chunk := f.read(16384):
    sys.stdout.buffer.write(chunk); sys.stdout.buffer.flush(); time.sleep(0.1)' "$T_DIR/blob" |
	lab_exec a socat -u - "TCP:$B:5001" &
tx=$!; t_track "$tx"
flowing() { [ "$(stat -c %s "$T_DIR/received" 2>/dev/null || echo 0)" -ge 300000 ]; }
wait_until 30 flowing || fail "the stream did not start"

lab_turn_stop
lab_turn_start
restarted=$(date +%s.%N)
at_restart=$(stat -c %s "$T_DIR/received")
pid_running "$tx" || fail "the stream ended before the TURN restart: the test proves nothing"
wait_until 90 pings a "$B" || fail "no path 90 s after the TURN restart (a: $(peer_field a "$KB" path), error $(peer_field a "$KB" last_error))"
back=$(awk -v a="$restarted" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
path_is a "$KB" relay || fail "path is $(peer_field a "$KB" path) after the restart, want relay"
relay1=$(peer_field a "$KB" local_addr)/$(peer_field a "$KB" remote_addr)

wait_until 180 eval "! pid_running $tx" || fail "the stream did not finish"
wait "$tx" || fail "the TCP stream broke during the TURN restart"
t_untrack "$tx"
wait_until 30 eval "! pid_running $rx" || fail "receiver did not finish"
t_untrack "$rx"
got=$(sha256sum <"$T_DIR/received" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the stream arrived corrupted"
printf 'survived: TURN restart with %d of 3000000 bytes of a stream delivered; relayed path back %.1f s later (%s -> %s); the stream completed intact (sha256 %s)\n' \
	"$at_restart" "$back" "$relay0" "$relay1" "${got:0:16}"
echo "PASS fault_turn_restart"
