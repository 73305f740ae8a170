#!/usr/bin/env bash
# Relay to direct: the NATs start with direct UDP between them blocked, so the
# path is relayed; a TCP stream runs through the tunnel; direct UDP is then
# unblocked and within 60 s the path is direct, and the stream that ran all
# along completes intact.
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

# A slow stream through the tunnel for the whole switch (about 40 s).
head -c 6000000 /dev/urandom >"$T_DIR/blob"
want=$(sha256sum <"$T_DIR/blob" | cut -d' ' -f1)
lab_exec b socat -u TCP-LISTEN:5001,reuseaddr "CREATE:$T_DIR/received" &
rx=$!; t_track "$rx"
wait_until 10 lab_exec b sh -c "ss -ltn | grep -q ':5001 '" || fail "no listener"
python3 -c 'import sys, time
f = open(sys.argv[1], "rb")
while chunk := f.read(16384):
    sys.stdout.buffer.write(chunk); sys.stdout.buffer.flush(); time.sleep(0.1)' "$T_DIR/blob" |
	lab_exec a socat -u - "TCP:$B:5001" &
tx=$!; t_track "$tx"

lab_unblock_direct
start=$SECONDS
wait_until 60 path_is a "$KB" direct || fail "path still $(peer_field a "$KB" path) 60 s after unblocking"
t_log "direct $((SECONDS - start)) s after unblocking"
wait_until 120 eval "! pid_running $tx" || fail "sender did not finish"
wait "$tx" || fail "the TCP stream broke during the switch"
t_untrack "$tx"
wait_until 30 eval "! pid_running $rx" || fail "receiver did not finish"
t_untrack "$rx"
got=$(sha256sum <"$T_DIR/received" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the stream arrived corrupted"
t_log "stream intact across relay -> direct"
echo "PASS nat_upgrade"
