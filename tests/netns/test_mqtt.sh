#!/bin/bash
# SPDX-License-Identifier: MIT
# Integration test for tund/mqtt: a mosquitto broker on 127.0.0.1 inside a
# fresh namespace and build/mqtt_probe clients (a GLib main loop each).
# Checks delivery, retained delivery to a late subscriber, the will, then a
# broker restart (both clients notice, stay responsive, reconnect by
# themselves with their subscriptions) and a blackholed broker (nft drop: the
# keepalive notices, connects time out, the main loop never stalls).
# Run as root from anywhere; exit 0 on pass.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
t_init mqtt
cd "$TOP" || exit 1

PROBE=${PROBE:-$TOP/build/mqtt_probe}
[ "$(id -u)" = 0 ] || fail "needs root"
command -v mosquitto >/dev/null || fail "mosquitto is not installed"
command -v nft >/dev/null || fail "nft is not installed"
if [ "$PROBE" = "$TOP/build/mqtt_probe" ]; then
	make -s build/mqtt_probe >/dev/null || fail "could not build build/mqtt_probe"
fi
[ -x "$PROBE" ] || fail "$PROBE is not executable"

t_ns NS mq
URL=mqtt://127.0.0.1:1883
MAX_LAG_MS=500

# mosquitto 2 drops to user mosquitto after reading its config: keep the
# directory traversable, log to stderr (redirected by us, as root).
chmod 755 "$T_DIR"
cat >"$T_DIR/mosquitto.conf" <<EOF
listener 1883 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
EOF
chmod 644 "$T_DIR/mosquitto.conf"

BROKER=
broker_listening() { ip netns exec "$NS" ss -Hltn 'sport = :1883' | grep -q 1883; }
start_broker() {
	ip netns exec "$NS" mosquitto -c "$T_DIR/mosquitto.conf" >>"$T_DIR/mosquitto.log" 2>&1 &
	BROKER=$!
	t_track "$BROKER"
	wait_until 10 broker_listening || fail "mosquitto does not listen"
}
stop_broker() {
	stop_pid "$BROKER" 10 || fail "mosquitto did not stop"
	BROKER=
}

# start_probe NAME ARGS...: probe NAME reads commands from fd named
# FD_NAME, prints to $T_DIR/NAME.out, logs to $T_DIR/NAME.log.
declare -A PPID_OF FD_OF
start_probe() {
	local name=$1 fd; shift
	mkfifo "$T_DIR/$name.in"
	ip netns exec "$NS" "$PROBE" "$URL" "$name" "$@" <"$T_DIR/$name.in" \
		>"$T_DIR/$name.out" 2>"$T_DIR/$name.log" &
	PPID_OF[$name]=$!
	t_track $!
	exec {fd}>"$T_DIR/$name.in"
	FD_OF[$name]=$fd
}
cmd() { printf '%s\n' "$2" >&"${FD_OF[$1]}"; }
# count NAME REGEX: lines of NAME.out matching REGEX.
count() { grep -cE -- "$2" "$T_DIR/$1.out"; }
# seen NAME REGEX [N]: at least N (default 1) matching lines.
seen() { [ "$(count "$1" "$2")" -ge "${3:-1}" ]; }
expect() { # SECONDS NAME REGEX [N] -- or fail
	wait_until "$1" seen "$2" "$3" "${4:-1}" || fail "$2: no '$3' (x${4:-1}) within $1 s"
}
# stats NAME FIELD: value of FIELD in a fresh "stats" line.
stats() {
	local before
	before=$(count "$1" '^stats ')
	cmd "$1" stats
	wait_until 5 seen "$1" '^stats ' $((before + 1)) || fail "$1: no stats"
	grep '^stats ' "$T_DIR/$1.out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
check_lag() { # NAME WHAT: the probe's main loop never stalled
	local lag
	lag=$(stats "$1" maxlag_ms)
	[ "$lag" -le $MAX_LAG_MS ] || fail "$1: main loop stalled ${lag} ms $2"
	t_log "$1: worst main-loop lag ${lag} ms $2"
}
# heartbeats_flow NAME: a new "hb" line within 3 s.
heartbeats_flow() {
	local n
	n=$(count "$1" '^hb ')
	wait_until 3 seen "$1" '^hb ' $((n + 1)) || fail "$1: heartbeats stopped"
}
# cpu_ticks NAME: user+system clock ticks the probe has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${PPID_OF[$1]}/stat"; }
nfds() { find "/proc/${PPID_OF[$1]}/fd" -mindepth 1 | wc -l; }
# idle_cpu NAME SINCE WHAT: no busy polling (< 1 s of CPU in the phase).
idle_cpu() {
	local used=$(($(cpu_ticks "$1") - $2))
	[ "$used" -lt 100 ] || fail "$1: used $used CPU ticks $3 (busy loop?)"
}
all_alive() {
	local p
	for p in a b c; do
		[ -n "${PPID_OF[$p]:-}" ] || continue
		pid_running "${PPID_OF[$p]}" || fail "probe $p died"
	done
}

start_broker
start_probe a --sub 't/#'
start_probe b --sub 't/#'
expect 10 a '^connected$'
expect 10 b '^connected$'
t_log "both probes connected"
fds_b=$(nfds b)

# 1. A message published by one arrives at the other.
cmd a "pub t/x hello1"
expect 5 b '^msg t/x hello1$'
expect 5 a '^msg t/x hello1$'

# 2. Retained: published before B subscribes, received with the flag.
cmd a "ret r/a announce1"
expect 5 a '^ok ret$'
cmd b "sub r/#"
expect 5 b '^msg r/a announce1 retained$'
t_log "delivery and retained delivery ok"

# 3. The will: C dies without DISCONNECT, the broker publishes its will.
start_probe c --will w/c gone
expect 10 c '^connected$'
kill -KILL "${PPID_OF[c]}"
wait "${PPID_OF[c]}" 2>/dev/null
t_untrack "${PPID_OF[c]}"
PPID_OF[c]=
cmd b "sub w/#"
expect 10 b '^msg w/c gone'
t_log "will delivered"

# 4. Broker stops: both notice, stay responsive, queue retained, drop the rest.
cmd a lagreset
cmd b lagreset
cpu_a=$(cpu_ticks a)
stop_broker
expect 30 a '^disconnected '
expect 30 b '^disconnected '
cmd a "pub t/x lost-while-down"
expect 5 a '^err pub: '
cmd a "ret r/a announce2"
expect 5 a '^ok ret$'
[ "$(stats a dropped_out)" -ge 1 ] || fail "a: dropped publish not counted"
# Let the backoff grow over a few failed attempts (1 + 2 + 4 s).
wait_until 20 eval "[ \$(grep -c 'failed: ' '$T_DIR/a.log') -ge 3 ]" ||
	fail "a: no repeated connect attempts"
heartbeats_flow a
heartbeats_flow b
all_alive
check_lag a "while the broker was down"
check_lag b "while the broker was down"
idle_cpu a "$cpu_a" "while the broker was down"

# 5. Broker back: both reconnect on their own, subscriptions restored, the
# retained publish made while down is delivered.
start_broker
expect 40 a '^connected$' 2
expect 40 b '^connected$' 2
t_log "both probes reconnected"
expect 10 b '^msg r/a announce2'
cmd b "pub t/x hello2"
expect 5 a '^msg t/x hello2$'
cmd a "pub t/x hello3"
expect 5 b '^msg t/x hello3$'
[ "$(stats a connects)" -eq 2 ] || fail "a: connects != 2"

# 6. Blackhole: the broker's port silently drops everything. Keepalive (15 s,
# then 15 s for the PINGRESP) notices; new connects time out after 5 s.
cmd a lagreset
cmd b lagreset
ndis_a=$(count a '^disconnected ')
ndis_b=$(count b '^disconnected ')
cpu_a=$(cpu_ticks a)
ip netns exec "$NS" nft -f - <<'EOF' || fail "nft rules"
table inet tt_mq {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 1883 drop
		tcp sport 1883 drop
	}
}
EOF
cmd a "pub t/x into-the-void"
expect 45 a '^disconnected ' $((ndis_a + 1))
expect 45 b '^disconnected ' $((ndis_b + 1))
t_log "blackhole noticed: $(grep 'disconnected from' "$T_DIR/a.log" | tail -n 1)"
wait_until 20 grep -q 'connect timed out' "$T_DIR/a.log" || fail "a: connect did not time out"
heartbeats_flow a
heartbeats_flow b
all_alive
check_lag a "with the broker blackholed"
check_lag b "with the broker blackholed"
idle_cpu a "$cpu_a" "with the broker blackholed"

# 7. Unblock: back by themselves (backoff here is at most ~8 s + 5 s timeout).
ip netns exec "$NS" nft delete table inet tt_mq || fail "nft delete"
expect 45 a '^connected$' 3
expect 45 b '^connected$' 3
cmd a "pub t/x hello4"
expect 5 b '^msg t/x hello4$'
t_log "reconnected after the blackhole"
[ "$(nfds b)" -eq "$fds_b" ] || fail "b: $fds_b fds at start, $(nfds b) after reconnects"

# 8. Clean exit sends DISCONNECT.
cmd a quit
expect 5 a '^bye$'
wait "${PPID_OF[a]}" || fail "a: exit status $?"
t_untrack "${PPID_OF[a]}"
PPID_OF[a]=
grep -q 'disconnected from 127.0.0.1:1883 (closing)' "$T_DIR/a.log" || fail "a: no clean disconnect"
all_alive
echo "ok test_mqtt"
