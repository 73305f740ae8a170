# shellcheck shell=bash
# Two namespaces joined by a veth pair, each running tund, peered with each
# other by static endpoints. Source after lib.sh; call pair_up [PSK-FILE].
#   A: underlay 192.0.2.1/24 (fd00:192::1), overlay 10.77.0.1/16, fd77::1/64
#   B: underlay 192.0.2.2/24 (fd00:192::2), overlay 10.77.0.2/16, fd77::2/64

pair_ns() {
	t_ns NS_A a
	t_ns NS_B b
	ip link add "tta$$" netns "$NS_A" type veth peer name "ttb$$" netns "$NS_B" ||
		fail "cannot create veth"
	ip -n "$NS_A" link set "tta$$" name eth0
	ip -n "$NS_B" link set "ttb$$" name eth0
	ip -n "$NS_A" addr add 192.0.2.1/24 dev eth0
	ip -n "$NS_B" addr add 192.0.2.2/24 dev eth0
	ip -n "$NS_A" addr add fd00:192::1/64 dev eth0 nodad
	ip -n "$NS_B" addr add fd00:192::2/64 dev eth0 nodad
	ip -n "$NS_A" link set eth0 up
	ip -n "$NS_B" link set eth0 up
}

# node_conf NAME INDEX: writes $T_DIR/NAME.conf for overlay .INDEX
node_conf() {
	mkdir -p "$T_DIR/$1"
	cat >"$T_DIR/$1.conf" <<CFG
[interface]
name = tt0
address = 10.77.0.$2/16
address6 = fd77::$2/64
mtu = 1420
listen_port = 51820
[paths]
state_dir = $T_DIR/$1/state
control_socket = $T_DIR/$1/tund.sock
[daemon]
user = root
CFG
}

ctl_a() { "$TUNDCTL" --socket "$T_DIR/a/tund.sock" "$@"; }
ctl_b() { "$TUNDCTL" --socket "$T_DIR/b/tund.sock" "$@"; }

start_a() { start_tund "$NS_A" "$T_DIR/a.conf" "$T_DIR/a.log"; PID_A=$TUND_PID; wait_until 20 ctl_a status || fail "tund a did not start"; }
start_b() { start_tund "$NS_B" "$T_DIR/b.conf" "$T_DIR/b.log"; PID_B=$TUND_PID; wait_until 20 ctl_b status || fail "tund b did not start"; }

# pair_up [PSK-FILE]: both daemons running and peered.
pair_up() {
	local psk=()
	[ -n "${1:-}" ] && psk=(--psk-file "$1")
	pair_ns
	node_conf a 1
	node_conf b 2
	start_a
	start_b
	PUB_A=$(ctl_a status --json | jq -r .public_key)
	PUB_B=$(ctl_b status --json | jq -r .public_key)
	ctl_a peer add "$PUB_B" --name b --endpoint 192.0.2.2:51820 \
		--allowed-ips 10.77.0.2/32,fd77::2/128 "${psk[@]}" >/dev/null || fail "peer add on a"
	ctl_b peer add "$PUB_A" --name a --endpoint 192.0.2.1:51820 \
		--allowed-ips 10.77.0.1/32,fd77::1/128 "${psk[@]}" >/dev/null || fail "peer add on b"
}

# tcp_transfer FROM-NS TO-NS ADDR LISTEN-SPEC: $T_DIR/blob over TCP (socat),
# sha256 at both ends.
tcp_transfer() {
	local from=$1 to=$2 addr=$3 listen=$4 want got rx mb
	rm -f "$T_DIR/received"
	ip netns exec "$to" socat -u "$listen" "CREATE:$T_DIR/received" &
	rx=$!; t_track "$rx"
	wait_until 10 ip netns exec "$to" sh -c "ss -ltn | grep -q ':5001 '" || fail "listener"
	ip netns exec "$from" timeout 180 socat -u "OPEN:$T_DIR/blob" "$addr" ||
		fail "TCP transfer to $addr failed"
	wait_until 30 eval "! pid_running $rx" || fail "receiver did not finish"
	t_untrack "$rx"
	want=$(sha256sum <"$T_DIR/blob" | cut -d' ' -f1)
	got=$(sha256sum <"$T_DIR/received" | cut -d' ' -f1)
	mb=$(( $(stat -c %s "$T_DIR/blob") / 1000000 ))
	[ "$got" = "$want" ] || fail "$mb MB to $addr corrupted ($got != $want)"
}

# seq_stream N RATE: N numbered 1300-byte datagrams a -> b (10.77.0.2, port
# 5002) at RATE a second (tests/netns/seq_stream.py); sets got, lost,
# reordered and duplicated from b's count.
seq_stream() {
	local n=$1 rate=$2 seqrx
	ip netns exec "$NS_B" python3 -u "$TOP/tests/netns/seq_stream.py" recv 5002 "$n" 120 1300 \
		>"$T_DIR/seq.log" 2>&1 &
	seqrx=$!; t_track "$seqrx"
	wait_until 10 grep -q ready "$T_DIR/seq.log" || fail "the datagram receiver on b did not start"
	ip netns exec "$NS_A" python3 "$TOP/tests/netns/seq_stream.py" send 10.77.0.2 5002 "$n" \
		"$rate" 1300 || fail "the datagram sender on a failed"
	wait_until 130 eval "! pid_running $seqrx" || fail "the datagram receiver on b did not finish"
	t_untrack "$seqrx"
	read -r _ got _ lost _ reordered _ duplicated < <(grep '^received' "$T_DIR/seq.log") ||
		fail "no result from the datagram receiver: $(cat "$T_DIR/seq.log")"
}
