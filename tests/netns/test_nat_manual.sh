#!/usr/bin/env bash
# Manual signaling: two friends behind cone NATs and no broker connect by
# pasting blobs to each other (offer, answer, accept).
set -u
. "$(dirname "$0")/lib.sh"
t_init natmanual
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
LAB_CLIENTS=3 lab_up cone
lab_broker_stop
tund_node a "address = 10.99.0.1/24" "[ice]
turn = $LAB_TURN_UDP"
tund_node b "address = 10.99.0.2/24" "[ice]
turn = $LAB_TURN_UDP"
KA=$(pubkey a) KB=$(pubkey b)
ctl a peer add "$KB" --name b --allowed-ips 10.99.0.2/32 >/dev/null || fail "peer add on a"
ctl b peer add "$KA" --name a --allowed-ips 10.99.0.1/32 >/dev/null || fail "peer add on b"
offer=$(ctl a peer offer b | tail -n 1)
[[ $offer == tund-sig2:* ]] || fail "no offer blob: $offer"
answer=$(ctl b peer answer "$offer" | tail -n 1)
[[ $answer == tund-sig2:* ]] || fail "no answer blob: $answer"
ctl a peer accept "$answer" >/dev/null || fail "accept failed"
wait_until 30 pings a 10.99.0.2 || fail "no ping after the blob exchange"
pings b 10.99.0.1 || fail "b cannot ping a"
path_is a "$KB" direct || fail "path is $(peer_field a "$KB" path), want direct"
# A blob is for one node only: a third party cannot use it, even one that
# knows its author as a peer (so only the sealing to b stops it).
tund_node c "address = 10.99.0.3/24"
ctl c peer add "$KA" --name a --allowed-ips 10.99.0.1/32 >/dev/null || fail "peer add on c"
if out=$(ctl c peer answer "$offer" 2>&1); then fail "c answered an offer made for b: $out"; fi
grep -q "blob: not for this node" <<<"$out" || fail "c's refusal does not say why: $out"
t_log "c, a third node, refused: $out"
t_log "blob sizes: offer ${#offer}, answer ${#answer} characters"
echo "PASS nat_manual"
