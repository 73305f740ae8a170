#!/usr/bin/env bash
# A bad underlay: a's router drops 1% of the packets in each direction at
# random (nftables numgen) and holds another 2% back for 5-30 ms so later
# packets overtake them (reordering). Numbered datagrams a -> b through the
# tunnel arrive with that loss and reordering and nothing worse (tund adds
# no loss, no duplicates, and takes late packets within its replay window),
# and a 20 MB TCP transfer through the tunnel completes intact.
# Reordering: not every kernel has sch_netem (ours does not), so an
# nftables `fwd to` rule diverts the packets into a veth whose far end is a
# small delay line (delayline.py) that hands them back to the router late;
# should it fall behind, the test says so as the harness's failure.
set -u
. "$(dirname "$0")/lib.sh"
t_init faultlossy
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
lab_up cone
tund_node a
tund_node b
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "join failed"
B=$(overlay_addr b) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b"
path0=$(peer_field a "$KB" path)
# tund sends with UDP GSO; a real NIC puts single datagrams on the wire, so
# a's and b's links segment here too: loss and delay then hit datagrams,
# not 64 KiB bursts of them.
for h in a b; do
	for ifc in $(lab_exec $h ls /sys/class/net); do
		case $ifc in lo | tt0) continue ;; esac
		lab_exec $h ethtool -K "$ifc" tx-udp-segmentation off >/dev/null 2>&1 ||
			fail "$h: cannot turn UDP segmentation offload off on $ifc"
	done
done

# The delay line on r1: dly0 (router side) <-> dly1 (delay line side).
lab_exec r1 ip link add dly0 type veth peer name dly1 || fail "veth for the delay line"
# tund sends with UDP GSO: a diverted packet can be a 64 KiB super-packet.
# Without segmentation offload on dly0 the kernel cuts it into datagrams
# before the delay line sees it.
lab_exec r1 ethtool -K dly0 tx-udp-segmentation off tso off >/dev/null 2>&1 ||
	fail "cannot turn segmentation offload off on dly0"
lab_exec r1 ip link set dly0 up
lab_exec r1 ip link set dly1 up
mac0=$(lab_exec r1 cat /sys/class/net/dly0/address)
lab_bg r1 "$T_DIR/delayline.log" python3 -u "$TOP/tests/netns/delayline.py" dly1 "$mac0" 5 30
delayline=$LAB_PID
wait_until 10 grep -q ready "$T_DIR/delayline.log" || fail "delay line did not start"
# Packets from a (on its bridge port) and from the internet (on wan): 1% lost,
# 2% delayed. Late packets come back on dly0 and are forwarded as usual.
lab_exec r1 nft -f - <<EOF || fail "nft impairment rules"
table netdev tt_impair {
	chain from_a {
		type filter hook ingress device "p-a" priority -500; policy accept;
		meta protocol ip numgen random mod 100 < 1 counter drop
		meta protocol ip numgen random mod 100 < 2 counter fwd to "dly0"
	}
	chain from_inet {
		type filter hook ingress device "wan" priority -500; policy accept;
		meta protocol ip numgen random mod 100 < 1 counter drop
		meta protocol ip numgen random mod 100 < 2 counter fwd to "dly0"
	}
}
EOF
# New flows may start with a late packet: the router forwards from dly0 too.
lab_exec r1 nft insert rule inet tt_fw forward iifname dly0 counter accept || fail "nft forward rule"
# impair_counts: packets dropped and diverted so far, from a and from the
# internet: "DROP_A FWD_A DROP_INET FWD_INET".
impair_counts() {
	lab_exec r1 nft -j list table netdev tt_impair |
		jq -r '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | @sh'
}

# What the receiver sees: numbered datagrams a -> b through the tunnel,
# 1000 a second for 4 s. Of a's packets the router drops 1% and holds back
# 2% while later ones pass, so b must see loss and reordering; tund must add
# neither loss of its own (a late packet is still within its replay window)
# nor duplicates.
N=4000
lab_bg b "$T_DIR/seq.log" python3 -u "$TOP/tests/netns/seq_stream.py" recv 5002 "$N" 60
seqrx=$LAB_PID
wait_until 10 grep -q ready "$T_DIR/seq.log" || fail "the datagram receiver on b did not start"
read -r d0 _ <<<"$(impair_counts)"
replayed0=$(ctl b peers --json | jq --arg k "$(pubkey a)" '.[] | select(.public_key == $k) | .drops.replayed')
lab_exec a python3 "$TOP/tests/netns/seq_stream.py" send "$B" 5002 "$N" 1000 || fail "the datagram sender on a failed"
wait_until 70 eval "! pid_running $seqrx" || fail "the datagram receiver on b did not finish"
t_untrack "$seqrx"
read -r d1 _ <<<"$(impair_counts)"
replayed=$(ctl b peers --json | jq --arg k "$(pubkey a)" '.[] | select(.public_key == $k) | .drops.replayed')
read -r _ got _ lost _ reordered _ duplicated < <(grep '^received' "$T_DIR/seq.log") ||
	fail "no result from the datagram receiver: $(cat "$T_DIR/seq.log")"
[ $((got + lost)) = "$N" ] || fail "datagram receiver: $(cat "$T_DIR/seq.log")"
[ "$reordered" -ge 5 ] || fail "b saw $reordered of $N datagrams reordered: the delay line did not reorder (expected about 2%)"
[ "$lost" -ge 5 ] || fail "b saw $lost of $N datagrams lost: the link did not drop (expected about 1%)"
# Everything b lost was dropped by the router (tund lost none of its own;
# other traffic also crossed the drop rule, so the rule counted at least as many).
[ "$lost" -le $((d1 - d0)) ] || fail "b lost $lost datagrams, the router dropped only $((d1 - d0)) packets from a: tund lost some"
[ "$duplicated" = 0 ] || fail "b got $duplicated duplicated datagrams"
[ "${replayed:-x}" = "${replayed0:-x}" ] && [ -n "$replayed" ] && [ "$replayed" != null ] ||
	fail "b's tund dropped late packets as replays: $replayed0 -> $replayed"
t_log "datagrams a -> b: $got of $N received, $lost lost (router dropped $((d1 - d0))), $reordered reordered, none duplicated; b's tund counted no replays"

start=$SECONDS
transfer a b "$B" 20
secs=$((SECONDS - start))
stop_pid "$delayline" 10 || fail "delay line did not stop"
read -r _ held _ dl_drops < <(grep '^held' "$T_DIR/delayline.log") ||
	fail "no count from the delay line: $(tail -n 3 "$T_DIR/delayline.log")"
read -r dropped_a fwd_a dropped_inet fwd_inet <<<"$(impair_counts)"
dropped=$((dropped_a + dropped_inet)) delayed=$((fwd_a + fwd_inet))
# The delay line is part of the harness: if it could not take what the
# router diverted to it, say so instead of blaming the link or tund.
[ "$dl_drops" = 0 ] ||
	fail "harness: the delay line (a Python process) could not keep up: the kernel dropped $dl_drops of the frames diverted to it (a 64 MiB buffer); this machine is too slow or too busy for it"
[ $((held * 10)) -ge $((delayed * 9)) ] ||
	fail "harness: $delayed packets diverted to the delay line, only $held reached it, none dropped at its socket: lost on the veth (see /proc/net/softnet_stat)"
late=$(lab_exec r1 nft -j list chain inet tt_fw forward |
	jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | .[0]')
# The late packets really go on (a few may belong to a flow that ended
# while they were held).
[ $((late * 10)) -ge $((held * 9)) ] || fail "harness: of $held delayed packets only $late were forwarded"
printf 'survived: 20 MB TCP transfer intact in %d s with %d underlay packets dropped and %d delayed 5-30 ms and forwarded late (reordered); path %s -> %s\n' \
	"$secs" "$dropped" "$late" "$path0" "$(peer_field a "$KB" path)"
echo "PASS fault_lossy"
