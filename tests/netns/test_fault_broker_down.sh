#!/usr/bin/env bash
# The broker is down for two minutes: the path a and b already have carries
# a ping every 0.2 s throughout (loss and the longest gap are measured), and
# both reconnect to the broker once it is back.
set -u
. "$(dirname "$0")/lib.sh"
t_init faultbroker
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
DOWN_S=${FAULT_BROKER_DOWN_S:-120}
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b"
broker_is() { [ "$(ctl "$1" networks --json | jq .[0].broker_connected)" = "$2" ]; }
wait_until 30 broker_is a true || fail "a not connected to the broker"

# Pings for the whole outage plus a few seconds either side.
count=$(((DOWN_S + 6) * 5))
lab_exec a ping -n -O -i 0.2 -W 1 -c "$count" "$B" >"$T_DIR/ping.out" 2>&1 &
pinger=$!; t_track "$pinger"
wait_until 10 grep -q 'icmp_seq=5 ' "$T_DIR/ping.out" || fail "ping did not start"
lab_broker_stop
wait_until 40 broker_is a false || fail "a did not notice the broker going away"
down_at=$SECONDS
# The fault itself lasts DOWN_S: this wait is the scenario, not a poll.
while [ $((SECONDS - down_at)) -lt "$DOWN_S" ]; do
	pid_running "$pinger" || fail "ping ended early"
	sleep 1
done
broker_is a false || fail "a claims a broker connection while the broker is down"
lab_broker_start
wait_until 60 eval "! pid_running $pinger" || fail "ping did not finish"
t_untrack "$pinger"
wait_until 60 broker_is a true || fail "a did not reconnect to the broker"
wait_until 30 broker_is b true || fail "b did not reconnect to the broker"

# Loss and the longest run of consecutive lost pings.
read -r got gap < <(awk -v n="$count" '/bytes from/ { for (i = 1; i <= NF; i++) if ($i ~ /^icmp_seq=/) { s = substr($i, 10); ok[s] = 1 } }
	END { g = 0; run = 0; c = 0
	      for (s = 1; s <= n; s++) if (s in ok) { c++; run = 0 } else if (++run > g) g = run
	      print c, g }' "$T_DIR/ping.out")
lost=$((count - got))
[ $((lost * 100)) -le "$count" ] || fail "$lost of $count pings lost while the broker was down (longest gap $gap)"
[ "$gap" -le 5 ] || fail "traffic stopped for $gap pings in a row ($((gap / 5)) s) while the broker was down"
path_is a "$KB" direct || fail "path is $(peer_field a "$KB" path) after the outage"
printf 'survived: broker down %d s; the direct path carried %d of %d pings at 0.2 s (longest gap %d pings); both reconnected to the broker\n' \
	"$DOWN_S" "$got" "$count" "$gap"
echo "PASS fault_broker_down"
