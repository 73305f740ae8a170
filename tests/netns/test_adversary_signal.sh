#!/usr/bin/env bash
# Issue 18's attacks on signaling by someone who holds the network key (an
# invite) and the broker, against real daemons (tests/netns/adversary_probe.c
# builds the messages):
#  - 65 announces claiming to be member b, timed 119 s ahead, published
#    retained on b's announce topic (in signaling v1 they filled b's replay
#    window, so every later offer of b was "replayed"): refused as forged,
#    and a node that joins afterwards still connects to b;
#  - offers claiming to be b sealed to a's inbox: refused as forged;
#  - b's own announce replayed 65 times: refused as replays, and b's
#    unicast signaling (a separate window) still works;
#  - a capture of every broker message (a subscriber on '#') holds no
#    member's public key, raw, hex or base64.
# The members keep pinging each other, and no peer appears for any of it.
set -u
. "$(dirname "$0")/lib.sh"
t_init adversary
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
PROBE=${ADVERSARY_PROBE:-$(dirname "$0")/../../build/adversary_probe}
[ -x "$PROBE" ] || fail "build/adversary_probe missing (make build/adversary_probe)"
LAB_CLIENTS=3 lab_up cone
lab_bg srv "$T_DIR/capture" mosquitto_sub -h "$LAB_SRV" -t '#' -v -F '%t %x'
CAPTURE_PID=$LAB_PID
tund_node a
tund_node b
ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1 \
	>"$T_DIR/invite"
ctl b join - <"$T_DIR/invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b)
wait_until 45 pings a "$B" || fail "a cannot ping b"
KA=$(pubkey a) KB=$(pubkey b)

publish() { broker_publish "$@" || fail "publish failed"; }
drop() { # HOST FIELD
	ctl "$1" networks --json | jq ".[] | select(.name == \"friends\") | .signaling.dropped.$2"
}
forged0=$(drop a forged) replayed0=$(drop a replayed)

# 1. Impersonation from the future, retained (the last one stays on the broker).
"$PROBE" impersonate "$T_DIR/invite" "$KB" 119000 65 >"$T_DIR/forged" || fail "probe failed"
[ "$(wc -l <"$T_DIR/forged")" = 65 ] || fail "probe made $(wc -l <"$T_DIR/forged") messages"
while read -r topic hex; do publish "$topic" "$hex" -r; done <"$T_DIR/forged"
# 2. Offers claiming b's key, sealed by the attacker to a.
"$PROBE" unicast "$T_DIR/invite" "$KB" "$KA" 10 >"$T_DIR/uni" || fail "probe failed"
while read -r topic hex; do publish "$topic" "$hex"; done <"$T_DIR/uni"
forged_counted() { [ "$(drop a forged)" -ge $((forged0 + 75)) ]; }
wait_until 20 forged_counted || fail "a counted $(($(drop a forged) - forged0)) of 75 forged"
t_log "a refused 75 forged messages claiming b's key (65 announces, 10 offers)"

# 3. b's real announce (from the capture) replayed 65 times, live.
b_topic=$("$PROBE" topic "$T_DIR/invite" "$KB")
real=$(grep "^$b_topic " "$T_DIR/capture" | head -n 1 | cut -d' ' -f2)
[ -n "$real" ] || fail "b's announce not in the capture"
for _ in $(seq 65); do publish "$b_topic" "$real"; done
replays_counted() { [ "$(drop a replayed)" -ge $((replayed0 + 65)) ]; }
wait_until 20 replays_counted || fail "a counted $(($(drop a replayed) - replayed0)) replays"

# Nothing changed for the members; b's unicast signaling still works: a new
# node c joins, and both old members reach it through fresh offers.
[ "$(ctl a peers --json | jq length)" = 1 ] || fail "a's peer list changed: $(ctl a peers --json)"
pings a "$B" || fail "a lost b"
tund_node c
ctl c join - <"$T_DIR/invite" >/dev/null || fail "c's join failed"
C=$(overlay_addr c)
wait_until 60 pings b "$C" || fail "b cannot reach c after the attack"
wait_until 60 pings a "$C" || fail "a cannot reach c"
[ "$(overlay_addr a)" = "$A" ] && [ "$(overlay_addr b)" = "$B" ] || fail "addresses moved"
[ "$(ctl c peers --json | jq length)" = 2 ] || fail "c has peers: $(ctl c peers --json)"
[ "$(drop c forged)" -ge 1 ] || fail "c did not see the retained forgery"
t_log "after the attack: c joined and reached a and b; c refused $(drop c forged) retained forgery"

# 4. The broker's view: no member key anywhere in topics or payloads.
stop_pid "$CAPTURE_PID"
n=$(wc -l <"$T_DIR/capture")
[ "$n" -ge 20 ] || fail "capture too small ($n messages)"
python3 - "$T_DIR/capture" "$KA" "$KB" "$(pubkey c)" <<'PY' || fail "a member key is visible to the broker"
import base64, sys
data = open(sys.argv[1], 'rb').read()
blob = data + b'\n' + b''.join(bytes.fromhex(l.split(b' ', 1)[1].strip().decode())
                               for l in data.splitlines() if b' ' in l and l.split(b' ', 1)[1].strip())
for k in sys.argv[2:]:
    raw = base64.b64decode(k)
    forms = [raw, raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw),
             base64.urlsafe_b64encode(raw).rstrip(b'=')]
    for f in forms:
        if f in blob or f[:16] in blob:
            print('found', k, f[:20]); sys.exit(1)
PY
t_log "a capture of $n broker messages holds none of the 3 member keys"
echo "PASS adversary_signal"
