#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tund/connect/netcheck.c through build/netcheck_probe: a client behind a NAT router,
# a server with coturn on two IPs (RFC 5780 OTHER-ADDRESS) and mosquitto.
#   cone NAT (masquerade)                  -> mapping endpoint-independent
#   symmetric (masquerade random,fully-random) -> endpoint-dependent
#   broker, STUN, TURN over UDP and TCP reachable; mosquitto stopped -> broker
#   unreachable with an error; coturn stopped -> STUN and TURN unreachable;
#   each within its timeout.
set -u
. "$(dirname "$0")/lib.sh"
t_init netcheck

PROBE=${PROBE:-$TOP/build/netcheck_probe}
[ "$(id -u)" = 0 ] || fail "needs root"
for c in turnserver mosquitto nft jq; do
	command -v $c >/dev/null || fail "$c missing (apt-get install coturn mosquitto nftables jq)"
done
if [ ! -x "$PROBE" ]; then
	make -s -C "$TOP" build/netcheck_probe >/dev/null || fail "cannot build $PROBE"
fi

SRV1=203.0.113.10 SRV2=203.0.113.11 WAN=203.0.113.1
TIMEOUT_MS=3000

t_ns CLI cli
t_ns RTR rtr
t_ns SRV srv
ip -n "$CLI" link add eth0 type veth peer name lan0 netns "$RTR"
ip -n "$RTR" link add wan0 type veth peer name eth0 netns "$SRV"
ip -n "$CLI" addr add 10.1.0.10/24 dev eth0
ip -n "$CLI" link set eth0 up
ip -n "$CLI" route add default via 10.1.0.1
ip -n "$RTR" addr add 10.1.0.1/24 dev lan0
ip -n "$RTR" addr add $WAN/24 dev wan0
ip -n "$RTR" link set lan0 up
ip -n "$RTR" link set wan0 up
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1
ip -n "$SRV" addr add $SRV1/24 dev eth0
ip -n "$SRV" addr add $SRV2/24 dev eth0
ip -n "$SRV" link set eth0 up

nat() { # "" for cone, "random,fully-random" for symmetric
	ip netns exec "$RTR" nft -f - <<NFT || fail "nft"
flush ruleset
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade $1
	}
}
NFT
	ip netns exec "$RTR" conntrack -F >/dev/null 2>&1 || true
}

start_coturn() {
	ip netns exec "$SRV" turnserver -n --listening-ip $SRV1 --listening-ip $SRV2 \
		--relay-ip $SRV1 --alt-listening-port 3479 --lt-cred-mech --user tund:tundpass \
		--realm tund.lab --no-cli --no-tls --no-dtls --userdb "$T_DIR/turndb" \
		--pidfile "$T_DIR/turn.pid" --log-file stdout >>"$T_DIR/coturn.log" 2>&1 &
	TURN_PID=$!
	t_track "$TURN_PID"
	wait_until 10 sh -c "ip netns exec $SRV ss -lun | grep -q '$SRV2:3479'" ||
		fail "coturn did not start"
	wait_until 10 sh -c "ip netns exec $SRV ss -ltn | grep -q '$SRV1:3478'" ||
		fail "coturn TCP listener missing"
}

cat >"$T_DIR/mosquitto.conf" <<CONF
listener 1883 $SRV1
allow_anonymous true
user root
log_dest stderr
persistence false
CONF
ip netns exec "$SRV" mosquitto -c "$T_DIR/mosquitto.conf" >>"$T_DIR/mosquitto.log" 2>&1 &
MQ_PID=$!
t_track "$MQ_PID"
wait_until 10 sh -c "ip netns exec $SRV ss -ltn | grep -q '$SRV1:1883'" || fail "mosquitto did not start"
start_coturn

# check NAME: runs the probe in the client namespace; leaves $T_DIR/NAME.json, elapsed.
check() {
	ip netns exec "$CLI" "$PROBE" --stun $SRV1:3478 --turn $SRV1:3478 --turn $SRV1:3478/tcp \
		--broker mqtt://$SRV1:1883 --timeout $TIMEOUT_MS >"$T_DIR/$1.json" 2>"$T_DIR/$1.err" ||
		fail "$1: probe failed: $(cat "$T_DIR/$1.err")"
	elapsed=$(sed -n 's/^elapsed_ms //p' "$T_DIR/$1.err")
	jq -e . "$T_DIR/$1.json" >/dev/null || fail "$1: output is not JSON: $(cat "$T_DIR/$1.json")"
	t_log "$1 (${elapsed} ms): $(cat "$T_DIR/$1.json")"
}
expect() { # NAME JQ-EXPRESSION
	jq -e "$2" "$T_DIR/$1.json" >/dev/null || fail "$1: expected $2 in $(cat "$T_DIR/$1.json")"
}

nat ""
check cone
expect cone '.nat.mapping == "endpoint-independent"'
expect cone '(.nat.public | length) == 1 and (.nat.public[0] | startswith("'$WAN':"))'
expect cone '.stun.reachable == true and .stun.server == "'$SRV1':3478" and .stun.error == null'
expect cone '.broker.reachable == true and .broker.error == null'
expect cone '(.turn | length) == 2 and all(.turn[]; .reachable == true)'
expect cone '.turn[1].url == "turn://'$SRV1':3478?transport=tcp"'
[ "$elapsed" -lt $((2 * TIMEOUT_MS)) ] || fail "cone: took $elapsed ms"

nat "random,fully-random"
check symmetric
expect symmetric '.nat.mapping == "endpoint-dependent"'
expect symmetric '(.nat.public | length) == 2'
expect symmetric '.broker.reachable == true and all(.turn[]; .reachable == true)'

stop_pid "$MQ_PID" || fail "mosquitto did not stop"
check nobroker
expect nobroker '.broker.reachable == false and (.broker.error | type) == "string" and (.broker.error | length) > 0'
expect nobroker '.stun.reachable == true'
[ "$elapsed" -le $((2 * TIMEOUT_MS + 500)) ] || fail "nobroker: took $elapsed ms"

# coturn exits non-zero on SIGTERM: only insist that it is gone.
stop_pid "$TURN_PID" 5
! pid_running "$TURN_PID" || fail "coturn did not stop"
check noturn
expect noturn '.stun.reachable == false and (.stun.error | length) > 0'
expect noturn '.nat.mapping == "unknown" and (.nat.public | length) == 0'
expect noturn 'all(.turn[]; .reachable == false and (.error | length) > 0)'
[ "$elapsed" -le $((TIMEOUT_MS + 500)) ] || fail "noturn: took $elapsed ms (timeout $TIMEOUT_MS)"

# A silently dropping server (like an outage): everything times out on time.
ip netns exec "$RTR" nft add table ip filter
ip netns exec "$RTR" nft add chain ip filter forward '{ type filter hook forward priority 0; policy drop; }'
check blackhole
expect blackhole '.stun.reachable == false and .broker.reachable == false and all(.turn[]; .reachable == false)'
[ "$elapsed" -le $((TIMEOUT_MS + 500)) ] || fail "blackhole: took $elapsed ms (timeout $TIMEOUT_MS)"

echo "ok   netcheck"
exit 0
