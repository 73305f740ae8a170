#!/usr/bin/env bash
# Issue 18's attack 5, and the network-wide half of attack 6: in a network
# with approve admission, membership is the admin's signed records, the same
# on every member, not each node's guess.
#  - b joins and a (the creator, the admin) approves it: members everywhere;
#  - c joins: pending on a; b keeps no peer, address or path for it and
#    counts its announces as not_admitted; c reaches nobody;
#  - e joins and is never approved;
#  - a approves c: the approval reaches b, and b and c ping each other;
#  - d joins later, on a's LAN where e's beacons are: d learns a, b and c
#    from the retained records and never e;
#  - e (holding the network key) publishes admit records for itself, one
#    signed as itself and one claiming the admin's key: refused as
#    bad_record on every member, e stays out;
#  - b, not the admin, cannot approve;
#  - a key ground to hash onto b's address, even approved, gets another
#    address (the admin writes it in the record); b keeps its own;
#  - a blocks c: b and d block it too, and c's tunnels to them stop; the
#    block rotates the network key: a, b and d move to epoch 1 while b keeps
#    pinging d (the tunnel does not drop), c and pending e stay at epoch 0;
#    d restarted handshakes with b under the new pre-shared key;
#  - c returns with a fresh key and the old invite: a never hears of it;
#  - a makes b a second admin (d cannot; b cannot block a);
#  - e, with the invite a prints now, is heard again; b approves it, and
#    every member takes b's record;
#  - b blocks the ground key: every member blocks it and moves to epoch 2;
#  - a rekeys without a block (d, no admin, cannot): everyone at epoch 3, and
#    a node with the invite printed before is heard by nobody;
#  - d is offline through a rekey and its retained rekey message is cleared
#    on the broker: back online, it gets the new key from a, which listens
#    on the old epochs' topics.
set -u
. "$(dirname "$0")/lib.sh"
t_init adminrec
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
PROBE=${ADVERSARY_PROBE:-$(dirname "$0")/../../build/adversary_probe}
[ -x "$PROBE" ] || fail "build/adversary_probe missing (make build/adversary_probe)"
LAB_CLIENTS=3 LAB_LAN_PEER=2 lab_up cone
for h in a b c d e; do tund_node "$h"; done
ctl a network create club --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" \
	--admission approve | tail -n 1 >"$T_DIR/invite"
grep -q '^tund1:' "$T_DIR/invite" || fail "no invite: $(cat "$T_DIR/invite")"
KA=$(pubkey a) KB=$(pubkey b) KC=$(pubkey c) KD=$(pubkey d) KE=$(pubkey e)
[ "$(ctl a networks --json | jq -r '.[0].admin')" = "$KA" ] || fail "a is not the admin"

is() { [ "$(state "$1" "$2")" = "$3" ]; }
drop() { ctl "$1" networks --json | jq '.[0].signaling.dropped.'"$2"; }
addr_of() { # HOST KEY: the allowed IPs HOST gives KEY
	ctl "$1" peers --json | jq -r --arg k "$2" '.[] | select(.public_key == $k) | .allowed_ips | join(",")'
}
has_addr() { [ -n "$(net_addr_now "$1")" ]; }
# own_addr HOST: its address, once its admit record has given it one.
own_addr() { wait_until 60 has_addr "$1" || fail "$1 got no address"; overlay_addr "$1"; }
publish() { # FILE of "TOPIC HEX" lines, published retained
	while read -r topic hex; do broker_publish "$topic" "$hex" -r || fail "publish"; done <"$1"
}

# b joins; a approves it.
ctl b join - <"$T_DIR/invite" >/dev/null || fail "b: join"
wait_until 60 is a "$KB" pending || fail "b is $(state a "$KB") on a, not pending"
ctl a peer approve "$KB" >/dev/null || fail "a: approve b"
B=$(own_addr b)
wait_until 60 pings a "$B" || fail "a cannot reach b after approving it"
is b "$KA" member || fail "the admin is $(state b "$KA") on b"

# c and e join; both wait for a.
ctl c join - <"$T_DIR/invite" >/dev/null || fail "c: join"
ctl e join - <"$T_DIR/invite" >/dev/null || fail "e: join"
wait_until 60 is a "$KC" pending || fail "c is $(state a "$KC") on a, not pending"
wait_until 60 is a "$KE" pending || fail "e is $(state a "$KE") on a, not pending"
[ -z "$(addr_of a "$KC")" ] || fail "pending c holds $(addr_of a "$KC") on a"
nb=$(drop b not_admitted)
[ "$nb" -ge 1 ] || fail "b counted no not_admitted announce (c and e announced)"
is b "$KC" none || fail "c is $(state b "$KC") on b before the admin decided"
is b "$KE" none || fail "e is $(state b "$KE") on b"
[ -z "$(net_addr_now c)$(net_addr_now e)" ] || fail "pending c or e holds an address"
t_log "c and e pending on a only; b dropped $nb announces as not_admitted"

# The admin's approval of c reaches b.
ctl a peer approve "$KC" >/dev/null || fail "a: approve c"
C=$(own_addr c)
wait_until 60 is b "$KC" member || fail "c is $(state b "$KC") on b after a approved it"
wait_until 60 pings b "$C" || fail "b cannot reach c after a approved it"
wait_until 60 pings c "$B" || fail "c cannot reach b"
t_log "a's approval of c reached b: b and c ping each other"

# A member that is not the admin cannot approve.
out=$(ctl b peer approve "$KE" 2>&1) && fail "b approved e: $out"
case $out in *"no such peer"*) ;; *) fail "b approving e: $out" ;; esac

# d joins later, on a's LAN, where e's beacons are.
ctl d join - <"$T_DIR/invite" >/dev/null || fail "d: join"
wait_until 60 is d "$KB" member || fail "b is $(state d "$KB") on d (records not retained?)"
wait_until 60 is d "$KC" member || fail "c is $(state d "$KC") on d"
is d "$KA" member || fail "a is $(state d "$KA") on d"
wait_until 60 is a "$KD" pending || fail "d is $(state a "$KD") on a"
ctl a peer approve "$KD" >/dev/null || fail "a: approve d"
D=$(own_addr d)
wait_until 60 pings b "$D" || fail "b cannot reach d"
wait_until 60 pings d "$C" || fail "d cannot reach c"
is d "$KE" none || fail "e is $(state d "$KE") on d"
t_log "d, joined later, learnt a, b and c from the records and nothing of e"

# e forges its own admission.
"$PROBE" selfadmit "$T_DIR/invite" "$KE" >"$T_DIR/forged" || fail "probe failed"
bad0=$(drop b bad_record)
publish "$T_DIR/forged"
refused() { [ "$(drop b bad_record)" -ge $((bad0 + 2)) ]; }
wait_until 30 refused || fail "b refused $(($(drop b bad_record) - bad0)) of 2 forged records"
for h in b c d; do is "$h" "$KE" none || fail "e is $(state "$h" "$KE") on $h after its forgery"; done
[ -z "$(net_addr_now e)" ] || fail "e holds an address"
t_log "e's self-signed and admin-claiming admit records refused as bad_record"

# A key ground to hash onto b's address, approved by the admin: it gets
# another address, and b keeps its own on every member.
"$PROBE" grind "$T_DIR/invite" "$KB" "$B" >"$T_DIR/ground" || fail "grind failed"
KG=$(sed -n 's/^KEY //p' "$T_DIR/ground")
grep -v '^KEY ' "$T_DIR/ground" >"$T_DIR/ground.msg"
publish "$T_DIR/ground.msg"
wait_until 60 is a "$KG" pending || fail "the ground key is $(state a "$KG") on a"
ctl a peer approve "$KG" >/dev/null || fail "a: approve the ground key"
wait_until 60 is b "$KG" member || fail "the ground key is $(state b "$KG") on b"
wait_until 60 is d "$KG" member || fail "the ground key is $(state d "$KG") on d"
for h in a d; do
	case ",$(addr_of "$h" "$KG")," in *",$B/32,"*) fail "$h gave b's address to the ground key" ;; esac
	case ",$(addr_of "$h" "$KB")," in *",$B/32,"*) ;; *) fail "$h moved b off $B: $(addr_of "$h" "$KB")" ;; esac
done
[ "$(overlay_addr b)" = "$B" ] || fail "b's address moved to $(overlay_addr b)"
pings d "$B" || fail "d lost b"
t_log "a key ground onto b's $B was admitted at $(addr_of d "$KG" | cut -d, -f1); b kept $B"

# The admin blocks c: every member blocks it, and the rest move on to a new
# network key that c never sees, while b keeps pinging d.
epoch() { ctl "$1" networks --json | jq '.[0].epoch'; }
at_epoch() { [ "$(epoch "$1")" = "$2" ]; }
for h in a b d; do at_epoch "$h" 0 || fail "$h is at epoch $(epoch "$h") before any block"; done
lab_exec b ping -n -i 0.2 -c 100 -W 1 "$D" >"$T_DIR/rekey-ping" 2>&1 &
pinger=$!
t_track "$pinger"
wait_until 10 grep -q "bytes from" "$T_DIR/rekey-ping" || fail "b does not ping d before the block"
ctl a peer block "$KC" >/dev/null || fail "a: block c"
wait_until 60 is b "$KC" blocked || fail "c is $(state b "$KC") on b after a blocked it"
wait_until 60 is d "$KC" blocked || fail "c is $(state d "$KC") on d after a blocked it"
for h in a b d; do
	wait_until 60 at_epoch "$h" 1 || fail "$h is at epoch $(epoch "$h") after the block"
done
at_epoch c 0 || fail "blocked c moved to epoch $(epoch c)"
at_epoch e 0 || fail "pending e moved to epoch $(epoch e)"
wait "$pinger"
t_untrack "$pinger"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_DIR/rekey-ping")
[ "${got:-0}" -ge 98 ] || fail "b -> d through the block and rekey: ${got:-0} of 100 pings"
gone() { ! pings b "$C"; }
wait_until 30 gone || fail "b still reaches c after the block"
pings b "$D" || fail "b lost d"
pings d "$B" || fail "d lost b"
[ "$(overlay_addr b)" = "$B" ] && [ "$(overlay_addr d)" = "$D" ] || fail "addresses moved"
grep -q "new network key (epoch 1)" "$T_DIR/tund-b.log" || fail "b did not log the new key"
t_log "a's block of c reached b and d and moved a, b, d to epoch 1; b kept $got of 100 pings to d"

# d restarts: its handshake with b must use the new pre-shared key, from the
# saved network, and it keeps its address.
tund_stop d
tund_node d
wait_until 30 at_epoch d 1 || fail "restarted d is at epoch $(epoch d)"
wait_until 60 pings d "$B" || fail "restarted d (epoch $(epoch d)) cannot reach b"
pings b "$D" || fail "b cannot reach restarted d"
[ "$(overlay_addr d)" = "$D" ] || fail "d came back with $(overlay_addr d), not $D"
t_log "restarted d handshook with b under the new key"

# c comes back with a fresh key and the old invite: the old key's topics are
# read by nobody, so no member hears of it.
tund_stop c
rm -rf "$T_DIR/c/state"
tund_node c
ctl c join - <"$T_DIR/invite" >/dev/null || fail "c: join again"
KC2=$(pubkey c)
[ "$KC2" != "$KC" ] || fail "c kept its key"
c_announced() { [ "$(ctl c networks --json | jq '.[0].signaling.sent_by_type.announce')" -ge 1 ]; }
wait_until 60 c_announced || fail "c with a fresh key never announced"
heard() { ! is a "$KC2" none; }
wait_until 15 heard && fail "c's new key with the old invite is $(state a "$KC2") on a"
for h in b d; do is "$h" "$KC2" none || fail "c's new key is $(state "$h" "$KC2") on $h"; done
[ -z "$(net_addr_now c)" ] || fail "c with a fresh key holds an address"
t_log "c with a fresh key and the old invite: no member heard of it"

# A second admin: a (the creator) makes b one. d, a plain member, can make
# nobody admin, and b cannot block the creator.
out=$(ctl d peer approve --admin "$KB" 2>&1) && fail "d made b an admin: $out"
ctl a peer approve --admin "$KB" >/dev/null || fail "a: make b an admin"
# b is an admin once a's record reaches it (before, a block by b would be
# b's own per-node block).
role() { ctl "$1" networks --json | jq -r '.[0].role'; }
wait_until 60 eval '[ "$(role b)" = admin ]' || fail "b's role is $(role b) after a made it admin"
[ "$(role a)" = creator ] && [ "$(role d)" = member ] || fail "roles: a $(role a), d $(role d)"
out=$(ctl b peer block "$KA" 2>&1) && fail "b blocked the creator: $out"
case $out in *"only the creator"*) ;; *) fail "b blocking a: $out" ;; esac
is b "$KA" member || fail "a is $(state b "$KA") on b after b tried to block it"

# The invite a prints now carries the new key: e joins with it, b (the
# second admin) approves it, and every member takes b's record.
ctl a network invite club | tail -n 1 >"$T_DIR/invite1"
cmp -s "$T_DIR/invite" "$T_DIR/invite1" && fail "the invite did not change with the key"
ctl e network leave club >/dev/null || fail "e: leave"
ctl e join - <"$T_DIR/invite1" >/dev/null || fail "e: join with the new invite"
at_epoch e 1 || fail "e joined at epoch $(epoch e)"
wait_until 60 is b "$KE" pending || fail "e is $(state b "$KE") on admin b, not pending"
ctl b peer approve "$KE" >/dev/null || fail "b: approve e"
E=$(own_addr e)
wait_until 60 is d "$KE" member || fail "e is $(state d "$KE") on d after b approved it"
wait_until 60 pings e "$B" || fail "e, joined with the new invite and approved by b, cannot reach b"
wait_until 60 pings d "$E" || fail "d cannot reach e"
t_log "e joined with the new invite; b, made admin by a, approved it; d reaches e"

# b blocks the ground key: every member blocks it and moves to epoch 2.
ctl b peer block "$KG" >/dev/null || fail "b: block the ground key"
for h in a d e; do
	wait_until 60 is "$h" "$KG" blocked || fail "the ground key is $(state "$h" "$KG") on $h"
done
for h in a b d e; do
	wait_until 60 at_epoch "$h" 2 || fail "$h is at epoch $(epoch "$h") after b's block"
done
wait_until 30 pings d "$E" || fail "d lost e after b's block"
pings a "$B" || fail "a lost b after b's block"
t_log "b's block of the ground key reached a, d and e, and all four moved to epoch 2"

# A rekey without a block (say an invite leaked): only the creator may; every
# member moves to epoch 3, and the invite printed before it stops working.
ctl a network invite club | tail -n 1 >"$T_DIR/invite2"
out=$(ctl d network rekey club 2>&1) && fail "d (no admin) rotated the key: $out"
case $out in *"only the creator"*) ;; *) fail "d's rekey: $out" ;; esac
ctl a network rekey club >/dev/null || fail "a: rekey"
for h in a b d e; do
	wait_until 60 at_epoch "$h" 3 || fail "$h is at epoch $(epoch "$h") after a's rekey"
done
wait_until 30 pings e "$D" || fail "e lost d after the rekey"
tund_stop c
rm -rf "$T_DIR/c/state"
tund_node c
ctl c join - <"$T_DIR/invite2" >/dev/null || fail "c: join with the epoch-2 invite"
KC3=$(pubkey c)
wait_until 60 c_announced || fail "c never announced"
heard3() { ! is a "$KC3" none; }
wait_until 15 heard3 && fail "a key with the epoch-2 invite is $(state a "$KC3") on a after the rekey"
t_log "a's rekey moved everyone to epoch 3; a node with the invite from before is heard by nobody"

# d is offline through the next rekey, and someone on the broker (a blocked
# member knows the old topics; any broker user can do it) clears every
# retained rekey message. Back online, d announces on its old epoch's
# topics, where the creator listens, and gets the current key from it.
tund_stop d
ctl a network rekey club >/dev/null || fail "a: rekey with d offline"
for h in a b e; do
	wait_until 60 at_epoch "$h" 4 || fail "$h is at epoch $(epoch "$h") after the second rekey"
done
retained_rekeys() {
	lab_exec srv mosquitto_sub -h "$LAB_SRV" -t 'tund/+/r/+' --retained-only -W 2 \
		-F '%t' 2>/dev/null | wc -l
}
wait_until 30 eval '[ "$(retained_rekeys)" -ge 1 ]' || fail "no retained rekey message to clear"
lab_exec srv mosquitto_sub -h "$LAB_SRV" -t 'tund/+/r/+' --retained-only --remove-retained \
	-W 2 >/dev/null 2>&1
wait_until 30 eval '[ "$(retained_rekeys)" = 0 ]' || fail "the retained rekey messages stay"
answers0=$(ctl a networks --json | jq '.[0].signaling.old_epoch_answers')
tund_node d
wait_until 60 at_epoch d 4 || fail "d, offline through the rekey, is at epoch $(epoch d)"
answered() { [ "$(ctl a networks --json | jq '.[0].signaling.old_epoch_answers')" -gt "$answers0" ]; }
answered || fail "d reached epoch 4 but a never answered on the old topics"
wait_until 60 pings d "$B" || fail "d at epoch 4 cannot reach b"
[ "$(overlay_addr d)" = "$D" ] || fail "d came back with $(overlay_addr d), not $D"
t_log "d, offline through a rekey whose retained copies were cleared, got the key from a on its old topics"
echo "PASS admin_records"
