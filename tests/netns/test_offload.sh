#!/usr/bin/env bash
# TUN offloads: tund's interface offers TCP segmentation to the kernel, so it
# reads 64 KiB super packets and splits them, and writes received segments
# coalesced. Shown end to end: 50 MB over TCP, IPv4 and IPv6, arrive with the
# same sha256 (the receiving kernel verifies every checksum) at MTU 1420 and
# at an odd MTU (1371); UDP sent with segmentation offload and UDP in large
# (fragmented) datagrams arrive intact; with `offload = off` TSO is off and
# the tunnel still works. The TUN is read through io_uring where the kernel
# allows it (Linux 6.7+), else with read(); with `io_uring = off` by read()
# and the transfers are as intact.
set -u
. "$(dirname "$0")/lib.sh"
t_init offload
. "$(dirname "$0")/lib_pair.sh"
command -v ethtool >/dev/null || fail "ethtool missing (make deps)"

tso_of() { ip netns exec "$1" ethtool -k tt0 | sed -n 's/^tcp-segmentation-offload: \([a-z]*\).*/\1/p'; }
ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

# udp_transfer FROM-NS TO-NS ADDR SIZE COUNT [GSO]: every datagram arrives,
# once and intact. The sender is paced (one send every 4 ms) and the veths
# between the namespaces do not drop, so any loss is the tunnel's: a split
# or merge that loses one segment in twenty must fail here.
udp_transfer() {
	local from=$1 to=$2 addr=$3 size=$4 count=$5 gso=${6:-0} rx out
	out="$T_DIR/udp.out"
	ip netns exec "$to" python3 "$TOP/tests/netns/udp_check.py" recv "$addr" 5002 "$size" 120 \
		"$count" >"$out" 2>&1 &
	rx=$!; t_track "$rx"
	wait_until 30 grep -q ready "$out" || fail "UDP receiver on $addr: $(cat "$out")"
	ip netns exec "$from" python3 "$TOP/tests/netns/udp_check.py" send "$addr" 5002 "$size" \
		"$count" "$gso" || fail "UDP sender"
	wait_until 150 eval "! pid_running $rx" || fail "UDP receiver did not finish"
	t_untrack "$rx"
	read -r _ intact _ bad _ missing < <(grep intact "$out")
	[ "${bad:-1}" = 0 ] || fail "$bad corrupted or duplicated UDP datagrams of $size bytes to $addr"
	[ "${intact:-0}" = "$count" ] && [ "${missing:-1}" = 0 ] ||
		fail "only ${intact:-0} of $count UDP datagrams of $size bytes arrived at $addr (gso $gso): $(tr '\n' ' ' <"$out")"
	t_log "UDP to $addr: all $count datagrams of $size bytes intact (gso $gso)"
}

# run_at MTU [OFFLOAD [IO_URING]]: both nodes restarted with that MTU (they
# keep their keys and peers in the state directory).
run_at() {
	local mtu=$1 offload=${2:-on} uring=${3:-on}
	stop_pid "$PID_A" || fail "tund a did not stop"
	stop_pid "$PID_B" || fail "tund b did not stop"
	for n in a b; do
		sed -i "s/^mtu = .*/mtu = $mtu/; /^offload = /d; /^io_uring = /d" "$T_DIR/$n.conf"
		sed -i "s/^\[interface\]$/[interface]\noffload = $offload\nio_uring = $uring/" \
			"$T_DIR/$n.conf"
	done
	start_a; start_b
	wait_until 20 ping_ok "$NS_A" 10.77.0.2 || fail "no IPv4 ping at MTU $mtu"
	wait_until 20 ping_ok "$NS_A" fd77::2 || fail "no IPv6 ping at MTU $mtu"
}

pair_ns
node_conf a 1
node_conf b 2
start_a; start_b
PUB_A=$(ctl_a status --json | jq -r .public_key)
PUB_B=$(ctl_b status --json | jq -r .public_key)
ctl_a peer add "$PUB_B" --endpoint 192.0.2.2:51820 \
	--allowed-ips 10.77.0.2/32,fd77::2/128 >/dev/null || fail "peer add on a"
ctl_b peer add "$PUB_A" --endpoint 192.0.2.1:51820 \
	--allowed-ips 10.77.0.1/32,fd77::1/128 >/dev/null || fail "peer add on b"
head -c 50000000 /dev/urandom >"$T_DIR/blob"

reader_of() { ctl_"$1" status --json | jq -r .tun_io.reader; }
if kernel_has_uring; then WANT_READER=io_uring; else WANT_READER=read; fi

for mtu in 1420 1371; do
	run_at "$mtu"
	for ns in "$NS_A" "$NS_B"; do
		[ "$(tso_of "$ns")" = on ] || fail "TSO is not on for tt0 at MTU $mtu: $(tso_of "$ns")"
	done
	for n in a b; do
		[ "$(reader_of $n)" = "$WANT_READER" ] ||
			fail "$n reads its TUN with $(reader_of $n), expected $WANT_READER ($(uname -r))"
	done
	ctl_a status | grep -q "^ *tun I/O: .*reads through ${WANT_READER/read/read()}" ||
		fail "tundctl status does not show the TUN reader: $(ctl_a status)"
	tcp_transfer "$NS_A" "$NS_B" TCP:10.77.0.2:5001 TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr
	tcp_transfer "$NS_B" "$NS_A" "TCP6:[fd77::1]:5001" \
		"TCP6-LISTEN:5001,bind=[fd77::1],reuseaddr"
	t_log "MTU $mtu: 50 MB a -> b over IPv4 and b -> a over IPv6 intact, TSO on"
done

# UDP: segmentation-offloaded sends (one super packet of 20 datagrams where
# the kernel offers USO to the TUN) and datagrams larger than the MTU. On
# the receiving side tund writes the datagrams of a batch merged (USO), the
# kernel hands each to the socket as it was sent: fewer TUN writes (the
# interface's rx_packets) than datagrams, every one intact.
tun_rx() { ip netns exec "$1" cat /sys/class/net/tt0/statistics/rx_packets; }
rx0=$(tun_rx "$NS_B")
udp_transfer "$NS_A" "$NS_B" 10.77.0.2 1200 4000 20
writes_b=$(($(tun_rx "$NS_B") - rx0))
rx0=$(tun_rx "$NS_A")
udp_transfer "$NS_B" "$NS_A" fd77::1 1000 4000 20
writes_a=$(($(tun_rx "$NS_A") - rx0))
# The TUN takes USO (features 0x67) from Linux 6.2: there it must be on.
kv=$(uname -r); kmaj=${kv%%.*}; kmin=${kv#*.}; kmin=${kmin%%[!0-9]*}
if grep -q "TUN offloads on (features 0x6" "$T_DIR/b.log"; then
	[ "$writes_b" -lt 4000 ] && [ "$writes_a" -lt 4000 ] ||
		fail "4000 UDP datagrams took $writes_b TUN writes on b, $writes_a on a: not merged"
	t_log "UDP received merged: 4000 datagrams in $writes_b TUN writes on b (IPv4), $writes_a on a (IPv6)"
elif [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -ge 2 ]; }; then
	fail "kernel $kv takes USO on a TUN, yet tund did not turn it on: $(grep 'TUN offloads' "$T_DIR/b.log")"
else
	t_skip uso "kernel $kv gives a TUN no USO (6.2+): merged UDP writes are not checked"
fi
udp_transfer "$NS_A" "$NS_B" 10.77.0.2 8000 1000
t_log "TUN read through $WANT_READER on both nodes"

# io_uring = off: offloads stay, the reader is read(), transfers intact.
run_at 1420 on off
[ "$(reader_of a)" = read ] && [ "$(reader_of b)" = read ] ||
	fail "io_uring = off, yet the readers are $(reader_of a) and $(reader_of b)"
[ "$(tso_of "$NS_A")" = on ] || fail "io_uring = off turned TSO $(tso_of "$NS_A")"
head -c 20000000 /dev/urandom >"$T_DIR/blob"
tcp_transfer "$NS_A" "$NS_B" TCP:10.77.0.2:5001 TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr
udp_transfer "$NS_B" "$NS_A" 10.77.0.1 1200 2000 20
t_log "io_uring = off: read(), 20 MB over TCP and 2000 UDP datagrams intact"

# The escape hatch: offload = off gives a TUN without TSO that still works.
run_at 1420 off
[ "$(tso_of "$NS_A")" = off ] || fail "offload = off left TSO $(tso_of "$NS_A")"
head -c 10000000 /dev/urandom >"$T_DIR/blob"
tcp_transfer "$NS_A" "$NS_B" TCP:10.77.0.2:5001 TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr
t_log "offload = off: TSO off, 10 MB intact"
echo "PASS offload"
