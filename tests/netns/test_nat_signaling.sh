#!/usr/bin/env bash
# Signaling that must change nothing: a replayed message, a forged one (a
# flipped byte), one sealed for another network, and garbage are dropped and
# counted, and the members stay connected.
set -u
. "$(dirname "$0")/lib.sh"
t_init natsig
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
other=$(ctl a network create other --prefix 10.56.0.0/16 --broker "$LAB_MQTT_URL" | tail -n 1)
B=$(overlay_addr b)
wait_until 45 pings a "$B" || fail "a cannot ping b"

# Every retained message on the broker: announces of both networks.
lab_exec srv mosquitto_sub -h "$LAB_SRV" -t 'tund/#' -F '%t %x' -W 3 >"$T_DIR/retained" 2>/dev/null
[ "$(wc -l <"$T_DIR/retained")" -ge 3 ] || fail "expected 3 retained announces, got: $(cat "$T_DIR/retained")"
friends_id=$(ctl a networks --json | jq -r '.[] | select(.name == "friends") | .id')
other_id=$(ctl a networks --json | jq -r '.[] | select(.name == "other") | .id')
friends_topic=$(grep "^tund/$friends_id/" "$T_DIR/retained" | head -n 1 | cut -d' ' -f1)
a_other_hex=$(grep "^tund/$other_id/" "$T_DIR/retained" | head -n 1 | cut -d' ' -f2)
a_friends=$(grep "^tund/$friends_id/" "$T_DIR/retained" | cut -d' ' -f2)
[ -n "$friends_topic" ] && [ -n "$a_other_hex" ] || fail "announces not found"

publish() { broker_publish "$1" "$2" || fail "publish failed"; }
drops() { # HOST: the friends network's signaling drop counters
	ctl "$1" networks --json | jq -c '.[] | select(.name == "friends") | .signaling.dropped'
}
sum_drop() { # FIELD: over a and b
	echo $(($(drops a | jq ".$1") + $(drops b | jq ".$1")))
}
before_replay=$(sum_drop replayed) before_other=$(sum_drop other_network)
before_forged=$(sum_drop forged) before_bad=$(sum_drop malformed)

# 1. Replays: every friends announce published again, live.
for hex in $a_friends; do publish "$friends_topic" "$hex"; done
# 2. Another network's announce under this network's topic.
publish "$friends_topic" "$a_other_hex"
# 3. A forged one: the last byte (in the AEAD tag) flipped.
hex=$(head -n 1 <<<"$a_friends")
last=${hex: -2}
publish "$friends_topic" "${hex:0:${#hex}-2}$(printf '%02x' $((0x$last ^ 1)))"
# 4. Garbage.
publish "$friends_topic" "$(head -c 200 /dev/urandom | od -An -tx1 | tr -d ' \n')"

counted() {
	[ "$(sum_drop replayed)" -gt "$before_replay" ] &&
		[ "$(sum_drop other_network)" -gt "$before_other" ] &&
		[ "$(sum_drop forged)" -gt "$before_forged" ] &&
		[ "$(sum_drop malformed)" -gt "$before_bad" ]
}
wait_until 15 counted || fail "not all counted: a $(drops a), b $(drops b)"
# Nothing changed: same members, still connected.
[ "$(ctl a peers --json | jq length)" = 1 ] || fail "a's member list changed"
[ "$(ctl b peers --json | jq length)" = 1 ] || fail "b's member list changed"
pings a "$B" || fail "the tunnel broke"
t_log "dropped and counted: a $(drops a)"
echo "PASS nat_signaling"
