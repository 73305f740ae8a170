# shellcheck shell=bash
# tund nodes on NAT-lab hosts. Source after lib.sh and natlab.sh.

# tund_node HOST [INTERFACE-LINES] [MORE-SECTIONS]: starts tund on a lab
# host; its control socket and state live in $T_DIR/HOST.
# [daemon] user = root: $T_DIR is root's 0700, so tund must not drop to a
# "tund" user that may exist on the machine (test_privdrop covers dropping).
tund_node() {
	local h=$1 iface=${2:-} extra=${3:-}
	mkdir -p "$T_DIR/$h"
	cat >"$T_DIR/$h.conf" <<CFG
[interface]
name = tt0
mtu = 1380
listen_port = 51820
$iface
[paths]
state_dir = $T_DIR/$h/state
control_socket = $T_DIR/$h/tund.sock
$extra
[daemon]
user = root
CFG
	# TUND_NODE_VERBOSE=1: debug lines too (a test that counts them).
	ip netns exec "$(lab_ns "$h")" "$TUND" ${TUND_NODE_VERBOSE:+--verbose} \
		--config "$T_DIR/$h.conf" >>"$T_DIR/tund-$h.log" 2>&1 &
	t_track $!
	printf -v "PID_$h" '%s' $!
	wait_until 20 ctl "$h" status || fail "tund on $h did not start"
}

# tund_stop HOST: SIGTERM and wait.
tund_stop() {
	local var="PID_$1"
	stop_pid "${!var}" || fail "tund on $1 did not stop"
}

ctl() { local h=$1; shift; "$TUNDCTL" --socket "$T_DIR/$h/tund.sock" "$@"; }
# cpu_ms HOST: CPU time tund on HOST has used (user + system), in ms;
# rss_kb HOST: its resident memory. For bounds on what a flood costs.
cpu_ms() {
	local var="PID_$1"
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/${!var}/stat"
}
rss_kb() { local var="PID_$1"; awk '/^VmRSS:/ { print $2 }' "/proc/${!var}/status"; }
pubkey() { ctl "$1" status --json | jq -r .public_key; }
# overlay_addr HOST [NETWORK-INDEX]: our IPv4 overlay address, no prefix.
# Waits up to 30 s: a joiner gets its address with its admit record, which
# the creator signs when it hears the joiner's announce.
net_addr_now() { ctl "$1" networks --json | jq -r ".[${2:-0}].${3:-address} // empty" | cut -d/ -f1; }
overlay_addr() {
	local a deadline=$((SECONDS + 30))
	while :; do
		a=$(net_addr_now "$1" "${2:-0}")
		[ -n "$a" ] && { echo "$a"; return 0; }
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}
# peer_field HOST PEER-KEY FIELD
peer_field() {
	ctl "$1" peers --json | jq -r --arg k "$2" --arg f "$3" \
		'.[] | select(.public_key == $k) | .[$f] // empty'
}
# state HOST KEY: the key's state on HOST (one line per network it is in), or "none".
state() {
	local s
	s=$(ctl "$1" peers --json | jq -r --arg k "$2" '.[] | select(.public_key == $k) | .state')
	echo "${s:-none}"
}
path_is() { [ "$(peer_field "$1" "$2" path)" = "$3" ]; }
pings() { lab_exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
# tun_reader HOST: which receiving thread reads HOST's TUN now while traffic
# is light (tund/dataplane/tun_handoff.h): udp, fast_path, or null.
tun_reader() { ctl "$1" status --json | jq -r .tun_io.one_thread_now; }
# light_on_fast_path HOST-A ADDR-A HOST-B ADDR-B: a ping each way, and both
# hosts' ICE fast path threads read their TUN (a ping costs one wake-up).
light_on_fast_path() {
	pings "$1" "$4" && pings "$3" "$2" && [ "$(tun_reader "$1")" = fast_path ] &&
		[ "$(tun_reader "$3")" = fast_path ]
}

# first_ping HOST ADDR DEADLINE T0: pings ADDR from HOST every 50 ms until
# the first reply (status 1 if none within DEADLINE seconds); prints the
# seconds from T0 (a date +%s.%N) to that reply.
first_ping() {
	lab_exec "$1" ping -n -q -c 1 -i 0.05 -w "$3" "$2" >/dev/null 2>&1 || return 1
	echo "$(date +%s.%N) - $4" | bc
}

# transfer FROM TO-HOST TO-ADDR MB: TCP through the tunnel, checksums compared.
transfer() {
	local from=$1 to=$2 addr=$3 mb=$4 want got rx
	head -c "$((mb * 1000000))" /dev/urandom >"$T_DIR/blob"
	want=$(sha256sum <"$T_DIR/blob" | cut -d' ' -f1)
	rm -f "$T_DIR/received"
	lab_exec "$to" socat -u TCP-LISTEN:5001,reuseaddr "CREATE:$T_DIR/received" &
	rx=$!
	t_track "$rx"
	wait_until 10 lab_exec "$to" sh -c "ss -ltn | grep -q ':5001 '" || fail "no listener on $to"
	lab_exec "$from" timeout 180 socat -u "OPEN:$T_DIR/blob" "TCP:$addr:5001" ||
		fail "TCP transfer $from -> $to failed"
	wait_until 30 eval "! pid_running $rx" || fail "receiver on $to did not finish"
	t_untrack "$rx"
	got=$(sha256sum <"$T_DIR/received" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$mb MB transfer corrupted"
}

# broker_publish TOPIC HEX [-r]: one raw message onto the lab's broker, as an
# attacker holding the broker (or the network key) would send it.
broker_publish() {
	python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$2" \
		>"$T_DIR/msg"
	lab_exec srv mosquitto_pub -h "$LAB_SRV" -t "$1" -f "$T_DIR/msg" ${3:-}
}
