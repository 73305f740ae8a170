#!/usr/bin/env bash
# Issue 18 with no broker: members meet by LAN beacons only, and still each
# member is admitted once, by a record its creator signs; the records and
# the rekey travel over the LAN.
#  - a creates the network with no broker: it is the admin; b and c join
#    and get their addresses from a's records, and b and c reach each other
#    (each learnt the other from a's records, not from its beacon);
#  - with a offline, d joins: d gets no address, and b keeps no peer for d
#    while d beacons (b counts them not_admitted);
#  - a comes back: d is admitted and b reaches d;
#  - a blocks c: on b too, and the block rotates the network key over the
#    LAN (a and b at epoch 1, c left at 0); b still reaches a, and not c;
#  - limited invites over the LAN: in an approve network with no broker, b
#    joins with a single-use invite and is admitted without approval; c with
#    the same invite is refused "invite already used".
set -u
. "$(dirname "$0")/lib.sh"
t_init lanadm
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=4 LAB_NO_SERVICES=1 lab_up lan
for h in a b c d; do
	lab_exec "$h" ip route del default 2>/dev/null # nothing beyond the LAN
	tund_node "$h"
done
ctl a network create home | tail -n 1 >"$T_DIR/invite"
grep -q '^tund1:' "$T_DIR/invite" || fail "no invite: $(cat "$T_DIR/invite")"
KA=$(pubkey a) KB=$(pubkey b) KC=$(pubkey c) KD=$(pubkey d)
net() { ctl "$1" networks --json | jq -r ".[0].$2"; }
drop() { ctl "$1" networks --json | jq ".[0].signaling.dropped.$2"; }
[ "$(net a admin)" = "$KA" ] || fail "a is not the admin of its brokerless network: $(net a admin)"
[ "$(net a role)" = creator ] || fail "a's role is $(net a role)"

for h in b c; do ctl "$h" join - <"$T_DIR/invite" >/dev/null || fail "$h: join"; done
B=$(overlay_addr b) || fail "b got no address from a's record"
C=$(overlay_addr c) || fail "c got no address from a's record"
[ "$B" != "$C" ] || fail "b and c both at $B"
wait_until 60 pings b "$C" || fail "b cannot reach c at $C"
wait_until 60 pings c "$B" || fail "c cannot reach b at $B"
for h in b c; do [ "$(net "$h" admin)" = "$KA" ] || fail "$h does not know a as the admin"; done
t_log "b at $B and c at $C, admitted by a's records over the LAN"

# a goes offline; d joins and waits with no address.
tund_stop a
ctl d join - <"$T_DIR/invite" >/dev/null || fail "d: join"
n0=$(drop b not_admitted)
wait_until 60 eval '[ "$(drop b not_admitted)" -ge $((n0 + 2)) ]' ||
	fail "b heard no beacons from waiting d (not_admitted $(drop b not_admitted))"
[ -z "$(net_addr_now d)" ] || fail "d holds $(net_addr_now d) with the admin offline"
[ "$(state b "$KD")" = none ] || fail "d is $(state b "$KD") on b without a record"
t_log "with a offline, d waits: no address, nothing on b (not_admitted $(drop b not_admitted))"

tund_node a
D=$(overlay_addr d) || fail "d got no address after a came back"
wait_until 60 pings b "$D" || fail "b cannot reach d at $D"
for x in "$B" "$C"; do [ "$D" != "$x" ] || fail "d got a member's address $x"; done
[ "$(overlay_addr b)" = "$B" ] || fail "b's address moved to $(overlay_addr b)"
t_log "a back: d admitted at $D"

# a blocks c: the record and the new key cross the LAN.
ctl a peer block "$KC" >/dev/null || fail "a: block c"
wait_until 60 eval '[ "$(state b "$KC")" = blocked ]' || fail "c is $(state b "$KC") on b"
wait_until 60 eval '[ "$(net a epoch)" = 1 ] && [ "$(net b epoch)" = 1 ] && [ "$(net d epoch)" = 1 ]' ||
	fail "epochs after the block: a $(net a epoch), b $(net b epoch), d $(net d epoch)"
[ "$(net c epoch)" = 0 ] || fail "blocked c reached epoch $(net c epoch)"
A=$(overlay_addr a)
wait_until 60 pings b "$A" || fail "b cannot reach a after the rekey"
wait_until 60 pings b "$D" || fail "b cannot reach d after the rekey"
wait_until 60 eval '! pings b "$C"' || fail "b still reaches blocked c"
t_log "a blocked c: b blocks it too; a, b, d at epoch 1, c at 0"

# An approve network with no broker, and a single-use invite.
ctl a network create club --admission approve | tail -n 1 >/dev/null || fail "a: create club"
ctl a network invite club --uses 1 | tail -n 1 >"$T_DIR/once"
grep -q '^tund1:' "$T_DIR/once" || fail "no limited invite: $(cat "$T_DIR/once")"
club() { ctl "$1" networks --json | jq -r ".[] | select(.name == \"club\") | .$2 // empty"; }
ctl b join - <"$T_DIR/once" >/dev/null || fail "b: join club"
wait_until 60 eval '[ -n "$(club b address)" ]' || fail "b got no address in club (join_refused: $(club b join_refused))"
B2=$(club b address | cut -d/ -f1)
wait_until 60 pings a "$B2" || fail "a cannot reach b in club at $B2"
ctl c join - <"$T_DIR/once" >/dev/null || fail "c: join club"
wait_until 60 eval '[ "$(club c join_refused)" = "invite already used" ]' ||
	fail "c: join_refused is '$(club c join_refused)'"
[ -z "$(club c address)" ] || fail "c holds $(club c address) in club"
t_log "club: b admitted by a single-use invite over the LAN at $B2; c refused: invite already used"
echo "PASS lan_admission"
