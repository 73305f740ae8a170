#!/usr/bin/env bash
# A path that dies is replaced: two friends connected directly through cone
# NATs lose direct UDP between them; the dead path is noticed (ICE consent),
# ICE restarts, and traffic flows again through the TURN relay.
set -u
. "$(dirname "$0")/lib.sh"
t_init natfailover
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "no first connection"
path_is a "$KB" direct || fail "path is $(peer_field a "$KB" path), want direct"

lab_block_direct
start=$SECONDS
wait_until 90 path_is a "$KB" relay || fail "no relay path within 90 s of losing the direct one (path $(peer_field a "$KB" path), error $(peer_field a "$KB" last_error))"
wait_until 30 pings a "$B" || fail "no traffic over the new relay path"
t_log "back on a relay path $((SECONDS - start)) s after direct UDP was cut"
echo "PASS nat_failover"
