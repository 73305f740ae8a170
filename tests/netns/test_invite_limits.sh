#!/usr/bin/env bash
# Issue 18's limited invites: in a network with approve admission and a
# broker, the admin (the creator) issues invites that admit without
# `peer approve`, while they have uses left, have not expired and are not
# revoked.
#  - a creates club; `network invite club --uses 1`: b joins with it and is
#    a member on a and b without any approval, and pings a;
#  - c joins with the same invite: refused "invite already used" (c's
#    networks shows it), no member on a or b, no address;
#  - `network invite club --expires 1s`, once past: `tundctl join` of it on
#    d exits 1 with "invite expired at ...";
#  - a revokes an invite (`network invite-revoke`): e joining with it is
#    refused "invite revoked";
#  - invites.json is 0600 and holds no token; no log holds an invite.
# Invites go through files and stdin, never on a command line.
set -u
. "$(dirname "$0")/lib.sh"
t_init invlim
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=3 LAB_LAN_PEER=2 lab_up cone
for h in a b c d e; do tund_node "$h"; done
ctl a network create club --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" \
	--admission approve >/dev/null || fail "a: network create"
KA=$(pubkey a) KB=$(pubkey b) KC=$(pubkey c) KE=$(pubkey e)
A=$(overlay_addr a)

is() { [ "$(state "$1" "$2")" = "$3" ]; }
has_addr() { [ -n "$(net_addr_now "$1")" ]; }
own_addr() { wait_until 60 has_addr "$1" || fail "$1 got no address"; overlay_addr "$1"; }
refused() { [ "$(ctl "$1" networks --json | jq -r '.[0].join_refused // empty')" = "$2" ]; }
refusals() { ctl a networks --json | jq '.[0].signaling.dropped.join_refused'; }
# invite NAME ARGS...: a limited invite into $T_DIR/NAME, its id into $T_DIR/NAME.id
invite() {
	local f=$T_DIR/$1
	shift
	ctl a network invite club "$@" >"$f.out" || fail "a: network invite $*"
	tail -n 1 "$f.out" >"$f"
	grep -q '^tund1:' "$f" || fail "no invite: $(cat "$f.out")"
	sed -n 's/^limited invite \([0-9a-f]\{8\}\): .*/\1/p' "$f.out" >"$f.id"
	[ -s "$f.id" ] || fail "no invite id: $(cat "$f.out")"
}

# Single use: b gets in without approval.
invite once --uses 1
ctl b join - <"$T_DIR/once" >/dev/null || fail "b: join"
wait_until 60 is a "$KB" member || fail "b is $(state a "$KB") on a, not member (no approval given)"
B=$(own_addr b)
wait_until 60 is b "$KA" member || fail "a is $(state b "$KA") on b"
wait_until 60 pings b "$A" || fail "b cannot reach a"
wait_until 60 pings a "$B" || fail "a cannot reach b"
refused b "" || fail "b shows a refusal: $(ctl b networks --json | jq -c '.[0].join_refused')"
t_log "b joined with a single-use invite, admitted at $B without peer approve"

# The same invite again, on c: used up.
ctl c join - <"$T_DIR/once" >/dev/null || fail "c: join"
wait_until 60 refused c "invite already used" ||
	fail "c: join_refused is $(ctl c networks --json | jq -c '.[0].join_refused')"
is a "$KC" member && fail "c is a member on a"
is b "$KC" none || fail "c is $(state b "$KC") on b"
[ -z "$(net_addr_now c)" ] || fail "c holds an address"
[ "$(refusals)" -ge 1 ] || fail "a counted no refusal"
ctl a network invites club | grep -Eq "^$(cat "$T_DIR/once.id") .* 0 +used$" ||
	fail "network invites: $(ctl a network invites club)"
t_log "c with the used invite: refused \"invite already used\", no member anywhere"

# Expired: tundctl join refuses it at once.
invite short --expires 1s
exp=$(ctl a network invites club --json | jq --arg id "$(cat "$T_DIR/short.id")" \
	'.[] | select(.id == $id) | .expires')
[ -n "$exp" ] || fail "the short invite is not listed"
past() { [ "$(date +%s)" -gt "$exp" ]; }
wait_until 10 past || fail "the clock did not pass $exp"
rc=0
ctl d join - <"$T_DIR/short" >"$T_DIR/d.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "d: join of an expired invite: exit $rc: $(cat "$T_DIR/d.out")"
grep -q "invite expired at 20[0-9-]* [0-9:]* UTC" "$T_DIR/d.out" || fail "d: $(cat "$T_DIR/d.out")"
[ "$(ctl d networks --json | jq length)" = 0 ] || fail "d joined a network"
t_log "d: $(cat "$T_DIR/d.out")"

# Revoked.
invite later --uses 3 --expires 1h
ctl a network invite-revoke club "$(cat "$T_DIR/later.id")" >/dev/null || fail "a: revoke"
ctl e join - <"$T_DIR/later" >/dev/null || fail "e: join"
wait_until 60 refused e "invite revoked" ||
	fail "e: join_refused is $(ctl e networks --json | jq -c '.[0].join_refused')"
is a "$KE" member && fail "e is a member on a"
is b "$KE" none || fail "e is $(state b "$KE") on b"
ctl a network invites club | grep -Eq "^$(cat "$T_DIR/later.id") .* 3 +revoked$" ||
	fail "network invites: $(ctl a network invites club)"
t_log "e with a revoked invite: refused \"invite revoked\""

# Secrets: invites.json is 0600 and holds hashes only; no log holds an invite.
f=$T_DIR/a/state/invites.json
[ "$(stat -c %a "$f")" = 600 ] || fail "$f is $(stat -c %a "$f")"
for i in once short later; do
	body=$(cut -c7- "$T_DIR/$i")
	grep -qF "$body" "$f" "$T_DIR"/tund-*.log && fail "an invite is in $f or a log"
done
pings b "$A" || fail "b lost a"
echo "PASS invite_limits"
