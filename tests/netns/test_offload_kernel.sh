#!/bin/bash
# SPDX-License-Identifier: MIT
# overlay/offload.c against the kernel, IPv4 and IPv6. build/offload_probe
# plays a TCP peer behind a TUN (tto0, IFF_VNET_HDR + TSO/USO offloads) in
# namespace tt-offa-PID, which routes over a veth to tt-offb-PID.
# - up: a 1 MB random file sent to a socat in tt-offb, each window of
#   segments coalesced into GSO writes. The veth has checksum offload off, so
#   the kernel segments the merges in software from their partial checksums
#   and tt-offb's TCP verifies every segment: the file must arrive intact
#   with no checksum errors, in far fewer writes than segments.
# - down: the same file from a socat in tt-offa itself (so its TCP sends TSO
#   super packets into the TUN): every read split, every segment's checksums
#   verified by the probe, the file intact, GSO reads seen.
# - uso: the file sent from a UDP socket in tt-offa with UDP_SEGMENT comes
#   out of the TUN as USO super packets that split into the file again.
set -u
. "$(dirname "$0")/lib.sh"
t_init offloadk

PROBE=${PROBE:-$TOP/build/offload_probe}
[ "$(id -u)" = 0 ] || fail "needs root"
if [ ! -x "$PROBE" ] || [ -z "${PROBE_PREBUILT:-}" ]; then
	make -s -C "$TOP" build/offload_probe >/dev/null || fail "cannot build offload_probe"
fi
for c in socat ethtool cmp; do command -v $c >/dev/null || fail "$c missing"; done

t_ns A offa
t_ns B offb
ip link add va netns "$A" type veth peer name vb netns "$B" || fail "cannot create veth"
ip -n "$A" addr add 10.8.0.1/24 dev va
ip -n "$A" addr add fd08::1/64 dev va nodad
ip -n "$B" addr add 10.8.0.2/24 dev vb
ip -n "$B" addr add fd08::2/64 dev vb nodad
ip -n "$A" link set va up
ip -n "$B" link set vb up
ip -n "$B" route add 10.9.0.0/24 via 10.8.0.1
ip -n "$B" route add fd09::/64 via fd08::1
ip netns exec "$A" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# Software checksums and segmentation on the way to B: its TCP checks them.
ip netns exec "$A" ethtool -K va tx off >/dev/null || fail "cannot turn off veth checksum offload"

head -c 1000000 /dev/urandom >"$T_DIR/in.bin"

csum_errors() { # NS: TCP segments received with a bad checksum
	ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InCsumErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
probe_ready() { grep -q '^ready' "$T_DIR/probe.log"; }
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

# run_probe MODE SRC DST PORT FILE ADDR: starts the probe, gives the TUN ADDR
# once it exists, lets it run; its output is left in probe.log.
run_probe() {
	local fifo=$T_DIR/go rc
	rm -f "$fifo" "$T_DIR/probe.log"
	mkfifo "$fifo"
	ip netns exec "$A" "$PROBE" "$1" tto0 "$2" "$3" "$4" "$5" <"$fifo" >"$T_DIR/probe.log" 2>&1 &
	PROBE_PID=$!
	t_track "$PROBE_PID"
	exec 3>"$fifo"
	wait_until 10 probe_ready || fail "probe not ready"
	ip -n "$A" addr add "$6" dev tto0 nodad 2>/dev/null || ip -n "$A" addr add "$6" dev tto0
	ip -n "$A" link set tto0 up
	[ -n "${ON_TUN_UP:-}" ] && $ON_TUN_UP
	echo go >&3
	exec 3>&-
	wait "$PROBE_PID"
	rc=$?
	t_untrack "$PROBE_PID"
	[ $rc = 0 ] || fail "probe $1 $3 failed ($rc); TCP checksum errors in B so far: $(csum_errors "$B")"
	cat "$T_DIR/probe.log" >&2
}

for fam in 4 6; do
	if [ $fam = 4 ]; then
		peer=10.9.0.2 tun_addr=10.9.0.1/24 tun_ip=10.9.0.1 far=10.8.0.2
	else
		peer=fd09::2 tun_addr=fd09::1/64 tun_ip=fd09::1 far=fd08::2
	fi

	# up: coalesced writes, verified by B's TCP.
	before=$(csum_errors "$B")
	rm -f "$T_DIR/out.bin"
	ip netns exec "$B" socat -u "TCP$fam-LISTEN:5000,reuseaddr" "OPEN:$T_DIR/out.bin,creat" \
		2>>"$T_DIR/socat.log" &
	t_track $!
	wait_until 10 listening "$B" 5000 || fail "socat in B not listening"
	ON_TUN_UP='' run_probe up "$peer" "$far" 5000 "$T_DIR/in.bin" "$tun_addr"
	wait_until 30 size_is "$T_DIR/out.bin" 1000000 || fail "IPv$fam up: $(stat -c %s "$T_DIR/out.bin") of 1000000 bytes arrived"
	cmp -s "$T_DIR/in.bin" "$T_DIR/out.bin" || fail "IPv$fam up: the file arrived changed"
	after=$(csum_errors "$B")
	[ "$after" = "$before" ] || fail "IPv$fam up: $((after - before)) TCP checksum errors in B"
	read -r segs writes <<<"$(sed -n 's/^up: .* \([0-9]*\) segments, \([0-9]*\) writes.*/\1 \2/p' "$T_DIR/probe.log")"
	[ -n "$segs" ] && [ "$writes" -gt 0 ] && [ $((writes * 5)) -le "$segs" ] ||
		fail "IPv$fam up: $writes writes for $segs segments: not coalesced"
	t_log "IPv$fam up: 1000000 bytes intact, $segs segments in $writes writes, no checksum errors"

	# down: TSO reads from A's own TCP, split and verified by the probe.
	rm -f "$T_DIR/down.bin"
	start_sender() {
		ip netns exec "$A" socat -u "OPEN:$T_DIR/in.bin" "TCP$fam-LISTEN:5001,bind=$tun_ip,reuseaddr" \
			2>>"$T_DIR/socat.log" &
		t_track $!
		wait_until 10 listening "$A" 5001 || fail "socat in A not listening"
	}
	ON_TUN_UP=start_sender run_probe down "$peer" "$tun_ip" 5001 "$T_DIR/down.bin" "$tun_addr"
	cmp -s "$T_DIR/in.bin" "$T_DIR/down.bin" || fail "IPv$fam down: the file arrived changed"
	gso=$(sed -n 's/^down: .* \([0-9]*\) gso reads.*/\1/p' "$T_DIR/probe.log")
	[ -n "$gso" ] && [ "$gso" -gt 0 ] || fail "IPv$fam down: no TSO super packet was read"
	t_log "IPv$fam down: 1000000 bytes intact, $gso TSO reads split"

	# uso: UDP GSO from A's own socket, split by the probe.
	ON_TUN_UP='' run_probe uso "$peer" "$tun_ip" 7777 "$T_DIR/in.bin" "$tun_addr"
	uso=$(sed -n 's/^uso: 1000000 bytes, \([0-9]*\) uso reads.*/\1/p' "$T_DIR/probe.log")
	[ -n "$uso" ] && [ "$uso" -gt 0 ] || fail "IPv$fam uso: no USO super packet was read"
	t_log "IPv$fam uso: 1000000 bytes intact from $uso USO reads"
done
echo "ok offload"
