#!/usr/bin/env bash
# Issue 18 in an open network (the default admission) with a broker: each
# member is admitted once, by a record the creator signs, not by its own
# announce.
#  - a creates the network: it is the network's admin; b joins and gets its
#    address from a's record, and a reaches b there;
#  - with a offline, c joins: c gets no address, and b keeps no peer for c
#    while c keeps announcing (b counts them not_admitted);
#  - a comes back: c is admitted and b and c ping each other;
#  - a key ground to hash onto b's address (holding the invite is enough to
#    be admitted here): admitted by a at another address, b keeps its own;
#  - a blocks c: on b too, and the block rotates the network key (a and b at
#    epoch 1, c left at epoch 0); b still reaches a, and no longer c.
set -u
. "$(dirname "$0")/lib.sh"
t_init openadm
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
PROBE=${ADVERSARY_PROBE:-$(dirname "$0")/../../build/adversary_probe}
[ -x "$PROBE" ] || fail "build/adversary_probe missing (make build/adversary_probe)"
LAB_CLIENTS=3 lab_up cone
for h in a b c; do tund_node "$h"; done
ctl a network create party --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1 \
	>"$T_DIR/invite"
grep -q '^tund1:' "$T_DIR/invite" || fail "no invite: $(cat "$T_DIR/invite")"
KA=$(pubkey a) KB=$(pubkey b) KC=$(pubkey c)
net() { ctl "$1" networks --json | jq -r ".[0].$2"; }
[ "$(net a admission)" = open ] || fail "a's network is $(net a admission), not open"
[ "$(net a admin)" = "$KA" ] || fail "a is not the open network's admin: $(net a admin)"
drop() { ctl "$1" networks --json | jq ".[0].signaling.dropped.$2"; }
allowed_v4() { # HOST KEY: the IPv4 address HOST lets KEY source
	ctl "$1" peers --json | jq -r --arg k "$2" \
		'.[] | select(.public_key == $k) | .allowed_ips[0] // empty' | cut -d/ -f1
}

# b joins and is admitted by a's record.
ctl b join - <"$T_DIR/invite" >/dev/null || fail "b: join"
B=$(overlay_addr b) || fail "b got no address within 30 s of joining"
[ "$(net b admin)" = "$KA" ] || fail "b does not know a as the admin"
wait_until 30 eval '[ "$(allowed_v4 a "$KB")" = "$B" ]' ||
	fail "a gives b $(allowed_v4 a "$KB"), b holds $B"
wait_until 60 pings a "$B" || fail "a cannot reach b at $B"
t_log "b admitted by a's record at $B"

# a goes offline; c joins and waits.
tund_stop a
ctl c join - <"$T_DIR/invite" >/dev/null || fail "c: join"
n0=$(drop b not_admitted)
# c announces again every 5 s while it waits: b hears it and keeps nothing.
wait_until 60 eval '[ "$(drop b not_admitted)" -ge $((n0 + 2)) ]' ||
	fail "b heard no announces from waiting c (not_admitted $(drop b not_admitted))"
[ -z "$(net_addr_now c)" ] || fail "c holds $(net_addr_now c) with the admin offline"
[ "$(state b "$KC")" = none ] || fail "c is $(state b "$KC") on b without a record"
t_log "with a offline, c waits: no address, nothing on b (not_admitted $(drop b not_admitted))"

# a comes back and admits c.
tund_node a
C=$(overlay_addr c) || fail "c got no address within 30 s of a's return"
[ "$C" != "$B" ] || fail "c got b's address"
wait_until 60 pings b "$C" || fail "b cannot reach c at $C"
wait_until 60 pings c "$B" || fail "c cannot reach b at $B"
[ "$(overlay_addr b)" = "$B" ] || fail "b's address moved to $(overlay_addr b)"
t_log "a back: c admitted at $C"

# A key ground onto b's address announces (anyone with the invite may):
# a admits it, but writes another address into its record.
"$PROBE" grind "$T_DIR/invite" "$KB" "$B" >"$T_DIR/ground" || fail "grind failed"
KG=$(sed -n 's/^KEY //p' "$T_DIR/ground")
while read -r topic hex; do
	broker_publish "$topic" "$hex" -r || fail "publish"
done < <(grep -v '^KEY ' "$T_DIR/ground")
wait_until 60 eval '[ "$(state c "$KG")" = member ]' || fail "the ground key is $(state c "$KG") on c"
G=$(allowed_v4 c "$KG")
[ -n "$G" ] && [ "$G" != "$B" ] || fail "c gave the ground key $G (b is $B)"
for h in a c; do
	[ "$(allowed_v4 "$h" "$KB")" = "$B" ] || fail "$h moved b off $B: $(allowed_v4 "$h" "$KB")"
done
[ "$(overlay_addr b)" = "$B" ] || fail "b's address moved to $(overlay_addr b)"
pings c "$B" || fail "c lost b"
t_log "a key ground onto b's $B was admitted at $G; b kept $B"

# a blocks c: every member, and a new network key.
ctl a peer block "$KC" >/dev/null || fail "a: block c"
wait_until 60 eval '[ "$(state b "$KC")" = blocked ]' || fail "c is $(state b "$KC") on b"
wait_until 60 eval '[ "$(net a epoch)" = 1 ] && [ "$(net b epoch)" = 1 ]' ||
	fail "epochs after the block: a $(net a epoch), b $(net b epoch)"
[ "$(net c epoch)" = 0 ] || fail "blocked c reached epoch $(net c epoch)"
A=$(overlay_addr a)
wait_until 60 pings b "$A" || fail "b cannot reach a after the rekey"
wait_until 60 eval '! pings b "$C"' || fail "b still reaches blocked c"
t_log "a blocked c: b blocks it too; a and b at epoch 1, c at 0"
echo "PASS open_admission"
