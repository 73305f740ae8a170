#!/usr/bin/env bash
# A bad underlay: a's router drops 1% of the packets in each direction at
# random (nftables numgen) and holds another 2% back for 5-30 ms so later
# packets overtake them (reordering). A 20 MB TCP transfer through the tunnel
# completes intact.
# Reordering: this kernel has no sch_netem, so an nftables `fwd to` rule
# diverts the packets into a veth whose far end is a small delay line
# (delayline.py) that hands them back to the router late.
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

start=$SECONDS
transfer a b "$B" 20
secs=$((SECONDS - start))
stop_pid "$delayline" 10 || fail "delay line did not stop"
held=$(sed -n 's/^held //p' "$T_DIR/delayline.log")
counters=$(lab_exec r1 nft -j list table netdev tt_impair |
	jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets]')
dropped=$(jq '.[0] + .[2]' <<<"$counters") delayed=$(jq '.[1] + .[3]' <<<"$counters")
[ $((${held:-0} * 10)) -ge $((delayed * 9)) ] || fail "$delayed packets diverted, only ${held:-0} reached the delay line"
[ "${held:-0}" -ge 50 ] || fail "only ${held:-0} packets went through the delay line: no real reordering"
late=$(lab_exec r1 nft -j list chain inet tt_fw forward |
	jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | .[0]')
# The late packets must really go on (a few may belong to a flow that ended
# while they were held).
[ $((late * 10)) -ge $((held * 9)) ] || fail "of $held delayed packets only $late were forwarded"
[ "$dropped" -ge 50 ] || fail "only $dropped packets dropped: no real loss"
printf 'survived: 20 MB TCP transfer intact in %d s with %d underlay packets dropped and %d delayed 5-30 ms and forwarded late (reordered); path %s -> %s\n' \
	"$secs" "$dropped" "$late" "$path0" "$(peer_field a "$KB" path)"
echo "PASS fault_lossy"
