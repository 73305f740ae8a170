#!/usr/bin/env bash
# A member is killed with SIGKILL (no goodbye, its TUN, control socket and
# firewall rules left as they were) and started again: with no manual step,
# traffic through the NATs resumes within 10 s of the restart. The survivor
# meanwhile still shows the dead path; the log says how long.
set -u
. "$(dirname "$0")/lib.sh"
t_init faultrestart
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b"
path0=$(peer_field a "$KB" path)

# shellcheck disable=SC2154 # PID_b is set by tund_node
kill -KILL "$PID_b"
wait "$PID_b" 2>/dev/null
t_untrack "$PID_b"
killed=$SECONDS
# What a believes about b right after the kill: stale until ICE consent or
# the WireGuard timers notice.
stale_path=$(peer_field a "$KB" path) stale_state=$(peer_field a "$KB" ice_state)

dead=$((SECONDS - killed))
start=$(date +%s.%N)
tund_node b
wait_until 30 pings a "$B" || fail "no traffic 30 s after b restarted (a: path $(peer_field a "$KB" path), error $(peer_field a "$KB" last_error))"
resumed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
awk -v t="$resumed" 'BEGIN { exit !(t <= 10) }' ||
	fail "traffic resumed only $resumed s after b restarted, want <= 10 s"
pings b "$A" || fail "b cannot ping a after its restart"
path1=$(peer_field a "$KB" path)
printf 'survived: SIGKILL of b; traffic resumed %.1f s after restart (path %s -> %s); a still showed b as %s/%s right after the kill (restarted after %d s)\n' \
	"$resumed" "$path0" "$path1" "${stale_path:-none}" "${stale_state:-none}" "$dead"
echo "PASS fault_restart"
