#!/usr/bin/env bash
# Scale benchmark: N members of one network on one machine (a namespace and a
# tund each, one mosquitto and one coturn). n1 creates the network (open
# admission), the others join by invite at once. Measures the time from the
# joins until every daemon shows N-1 connected members, the signaling each
# member sent and received, what the broker carried, RSS and CPU per daemon,
# and which path each pair took; then the same counters over a quiet period
# ("at rest"). Not part of make check.
#
# Environment:
#   SCALE_N=50          members
#   SCALE_TOPO=routed   routed: each member on its own subnet, beacons do not
#                       cross, the broker introduces everyone; lan: one
#                       bridge, LAN beacons find members too
#   SCALE_TURN=1        put a TURN server in the invite (as a user would)
#   SCALE_DEADLINE=900  seconds to wait for the full mesh
#   SCALE_REST=60       seconds of quiet measured after the mesh
#   SCALE_BROKER_RESTART=1  then restart the broker and count what the
#                       members' reconnection costs (over SCALE_REST seconds)
#   SCALE_OUT=DIR       keep the logs and raw numbers there
set -u
. "$(dirname "$0")/../netns/lib.sh"
t_init scale
export LAB_TURN_VERBOSE=1 # coturn logs each allocation it grants (granted)
. "$(dirname "$0")/../netns/natlab.sh"
. "$(dirname "$0")/../netns/lib_tund.sh"
. "$(dirname "$0")/../netns/lib_scale.sh"
N=${SCALE_N:-50}
TOPO=${SCALE_TOPO:-routed}
TURN=${SCALE_TURN:-1}
DEADLINE=${SCALE_DEADLINE:-900}
REST=${SCALE_REST:-60}
OUT=${SCALE_OUT:-}
HZ=$(getconf CLK_TCK)
[ "$N" -ge 2 ] || fail "SCALE_N must be at least 2"

now_ms() { date +%s%3N; }
# stats: min/median/max of numbers on stdin.
stats() { sort -n | awk '{a[NR]=$1} END {if (NR) printf "%s/%s/%s", a[1], a[int((NR+1)/2)], a[NR]}'; }
sum() { awk '{s+=$1} END {print s+0}'; }
# relays: TURN allocations coturn holds (its relay sockets, ports 49152+).
relays() { lab_exec srv ss -uanH | awk '{n = split($4, a, ":"); if (a[n] >= 49152) c++} END {print c + 0}'; }
# granted: allocations coturn granted since it started (its -v log).
granted() { grep -c 'ALLOCATE processed, success' "$T_DIR/coturn.log" 2>/dev/null || true; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pid_of() { local v="PID_$1"; printf '%s' "${!v}"; }
all_hosts() { seq -f 'n%g' 1 "$N"; }
# connected HOST: members with a working path.
connected() {
	ctl "$1" peers --json 2>/dev/null |
		jq '[.[] | select(.state == "member" and .path != null)] | length' 2>/dev/null || echo 0
}
sig() { ctl "$1" networks --json | jq -r ".[0].signaling.$2"; }
# mosquitto publishes a $SYS counter only when it changes: one subscriber
# listens throughout, and a snapshot is the newest value of each.
sys_listen() {
	lab_bg srv "$T_DIR/sys.txt" stdbuf -oL mosquitto_sub -h "$LAB_SRV" -v -t '$SYS/broker/#'
	wait_until 10 grep -q '^\$SYS/broker/publish/messages/received ' "$T_DIR/sys.txt" ||
		fail "no \$SYS counters from mosquitto"
}
# broker: "name<TAB>value" lines, the newest value of each counter.
broker() {
	sleep 1.5 # the broker publishes them every second (sys_interval 1)
	sed -n 's|^\$SYS/broker/\(.*\) \([0-9.]*\)$|\1\t\2|p' "$T_DIR/sys.txt"
	printf 'listener\t%s\n' "$(wc -l <"$T_DIR/sys.txt")"
}
# bdelta FROM TO: what the broker carried for the members in between (the
# $SYS messages to our listener taken out).
bdelta() {
	local d=$(($(bget "$2" listener) - $(bget "$1" listener)))
	printf 'PUBLISH received %s, PUBLISH sent %s, all MQTT packets received %s sent %s, bytes received %s sent %s' \
		$(($(bget "$2" publish/messages/received) - $(bget "$1" publish/messages/received))) \
		$(($(bget "$2" publish/messages/sent) - $(bget "$1" publish/messages/sent) - d)) \
		$(($(bget "$2" messages/received) - $(bget "$1" messages/received))) \
		$(($(bget "$2" messages/sent) - $(bget "$1" messages/sent) - d)) \
		$(($(bget "$2" bytes/received) - $(bget "$1" bytes/received))) \
		$(($(bget "$2" bytes/sent) - $(bget "$1" bytes/sent)))
}
# bget SNAPSHOT NAME
bget() { awk -F'\t' -v k="$2" '$1 == k {v = $2} END {print v + 0}' <<<"$1"; }
save_logs() {
	[ -n "$OUT" ] || return 0
	mkdir -p "$OUT" && cp "$T_DIR"/*.log "$T_DIR"/*.txt "$OUT"/ 2>/dev/null
	return 0
}

LAB_MQTT_CONF_EXTRA="sys_interval 1" scale_up "$N" "$TOPO"
trap 'save_logs; lab_down; t_cleanup' EXIT
sys_listen
echo "machine: $(nproc) cpu, $(awk '/MemTotal/ {print int($2/1024)" MB"}' /proc/meminfo)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg); N=$N topology=$TOPO turn=$TURN" >&2

for h in $(all_hosts); do tund_node "$h"; done
rss0=$(for h in $(all_hosts); do rss_kb "$(pid_of "$h")"; done | stats)
t_log "$N daemons up, RSS before joining (KB min/median/max) $rss0"

args=(--broker "$LAB_MQTT_URL")
[ "$TURN" = 1 ] && args+=(--turn "$LAB_TURN_UDP")
invite=$(ctl n1 network create scale "${args[@]}" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
wait_until 30 sh -c "[ \"\$($TUNDCTL --socket $T_DIR/n1/tund.sock networks --json | jq .[0].broker_connected)\" = true ]" ||
	fail "n1 did not reach the broker"
b0=$(broker)
declare -A cpu0=() done_ms=()
for h in $(all_hosts); do cpu0[$h]=$(cpu_ticks "$(pid_of "$h")"); done
mq0=$(cpu_ticks "$LAB_MQTT_PID") turn0=$(cpu_ticks "$LAB_TURN_PID")

t0=$(now_ms)
jp=()
for h in $(all_hosts | tail -n +2); do
	ctl "$h" join "$invite" >"$T_DIR/join-$h.txt" 2>&1 &
	jp+=($!)
done
for p in "${jp[@]}"; do wait "$p" || fail "a join failed: $(cat "$T_DIR"/join-*.txt)"; done
tj=$(($(now_ms) - t0))
t_log "$((N - 1)) joins issued in $tj ms; waiting for the full mesh"

left=$N last_report=$SECONDS
while [ "$left" -gt 0 ]; do
	left=0
	for h in $(all_hosts); do
		[ -n "${done_ms[$h]:-}" ] && continue
		if [ "$(connected "$h")" = $((N - 1)) ]; then
			done_ms[$h]=$(($(now_ms) - t0))
		else
			left=$((left + 1))
		fi
	done
	if [ $((SECONDS - last_report)) -ge 30 ]; then
		last_report=$SECONDS
		t_log "$(($(now_ms) - t0)) ms: $left members not yet connected to all; links up: $(for h in $(all_hosts); do connected "$h"; done | sum)/$((N * (N - 1)))"
	fi
	[ "$left" -eq 0 ] && break
	[ $(($(now_ms) - t0)) -lt $((DEADLINE * 1000)) ] || break
	sleep 1
done
# The last member to see everyone (the sweep itself takes a while).
tm=$(printf '%s\n' "${done_ms[@]}" | sort -n | tail -n 1)
[ "$left" -eq 0 ] || tm=$(($(now_ms) - t0))
links=$(for h in $(all_hosts); do connected "$h"; done | sum)
b1=$(broker)
relays1=$(relays) granted1=$(granted)
declare -A cpu1=() sent1=() recv1=()
for h in $(all_hosts); do
	cpu1[$h]=$(cpu_ticks "$(pid_of "$h")")
	sent1[$h]=$(sig "$h" sent) recv1[$h]=$(sig "$h" received)
	ctl "$h" networks --json >"$T_DIR/networks-$h.txt"
	ctl "$h" peers --json >"$T_DIR/peers-$h.txt"
done
mq1=$(cpu_ticks "$LAB_MQTT_PID") turn1=$(cpu_ticks "$LAB_TURN_PID")
[ "$left" -eq 0 ] && result="full mesh" || result="NO full mesh ($left members short)"

echo "== join: $result after $tm ms ($links of $((N * (N - 1))) directed links up)"
echo "   per member, ms until it saw all $((N - 1)) others (min/median/max): $(printf '%s\n' "${done_ms[@]}" | stats)"
echo "   paths (directed links): $(cat "$T_DIR"/peers-*.txt | jq -r '.[] | select(.state == "member") | (.path // "none") + (if .candidates then " " + .candidates else "" end)' | sort | uniq -c | awk '{$1=$1; print}' | paste -sd, | sed 's/,/, /g')"
echo "   signaling sent per member (min/median/max): $(for h in $(all_hosts); do echo "${sent1[$h]}"; done | stats) messages; bytes $(for h in $(all_hosts); do sig "$h" sent_bytes; done | stats)"
echo "   signaling received per member: $(for h in $(all_hosts); do echo "${recv1[$h]}"; done | stats); total sent by all $(for h in $(all_hosts); do echo "${sent1[$h]}"; done | sum)"
echo "   sent by kind, all members together: $(cat "$T_DIR"/networks-n*.txt | jq -s -r '[.[][0].signaling.sent_by_type // {} | to_entries[]] | group_by(.key) | map("\(.[0].key) \(map(.value) | add)") | join(", ")')"
echo "   ICE sessions selected per member (log 'path' lines): $(for h in $(all_hosts); do grep -c ': path ' "$T_DIR/tund-$h.log"; done | stats); ICE failures/timeouts in all logs: $(cat "$T_DIR"/tund-n*.log | grep -c 'ICE failed\|no ICE connection')"
echo "   broker during join: $(bdelta "$b0" "$b1")"
echo "   broker retained messages $(bget "$b1" 'retained messages/count'), clients $(($(bget "$b1" 'clients/connected') - 1)) (and our \$SYS listener)"
echo "   TURN allocations held by coturn at the mesh: $relays1; granted during the join (coturn's log): $granted1"
echo "   CPU seconds per daemon during join (min/median/max): $(for h in $(all_hosts); do echo "scale=2; (${cpu1[$h]} - ${cpu0[$h]}) / $HZ" | bc; done | stats); mosquitto $(echo "scale=2; ($mq1 - $mq0) / $HZ" | bc) s, coturn $(echo "scale=2; ($turn1 - $turn0) / $HZ" | bc) s"
echo "   RSS per daemon KB (min/median/max): before join $rss0, at mesh $(for h in $(all_hosts); do rss_kb "$(pid_of "$h")"; done | stats); mosquitto $(rss_kb "$LAB_MQTT_PID") KB, coturn $(rss_kb "$LAB_TURN_PID") KB"

t_log "measuring $REST s at rest"
sleep "$REST" # a rate over a fixed window, not a wait for a condition
b2=$(broker)
mq2=$(cpu_ticks "$LAB_MQTT_PID") turn2=$(cpu_ticks "$LAB_TURN_PID")
links2=$(for h in $(all_hosts); do connected "$h"; done | sum)
echo "== rest ($REST s after the mesh): $links2 of $((N * (N - 1))) directed links up"
echo "   signaling sent per member in the window (min/median/max): $(for h in $(all_hosts); do echo $(($(sig "$h" sent) - ${sent1[$h]})); done | stats); received $(for h in $(all_hosts); do echo $(($(sig "$h" received) - ${recv1[$h]})); done | stats)"
echo "   broker at rest: $(bdelta "$b1" "$b2") (bytes include the \$SYS listener)"
echo "   CPU seconds per daemon at rest (min/median/max): $(for h in $(all_hosts); do echo "scale=2; ($(cpu_ticks "$(pid_of "$h")") - ${cpu1[$h]}) / $HZ" | bc; done | stats); mosquitto $(echo "scale=2; ($mq2 - $mq1) / $HZ" | bc) s, coturn $(echo "scale=2; ($turn2 - $turn1) / $HZ" | bc) s"
echo "   TURN allocations held by coturn: $(relays); granted since the start: $(granted)"
echo "   RSS per daemon KB (min/median/max): $(for h in $(all_hosts); do rss_kb "$(pid_of "$h")"; done | stats)"

# by_kind FILE-PREFIX: signaling sent by kind, all members together.
by_kind() {
	cat "$T_DIR/$1"-n*.txt | jq -s -r '[.[][0].signaling.sent_by_type // {} | to_entries[]] |
		group_by(.key) | map({key: .[0].key, value: (map(.value) | add)}) | from_entries'
}
broker_up_everywhere() {
	local h
	for h in $(all_hosts); do
		[ "$(ctl "$h" networks --json | jq .[0].broker_connected)" = true ] || return 1
	done
}
if [ "${SCALE_BROKER_RESTART:-0}" = 1 ]; then
	for h in $(all_hosts); do ctl "$h" networks --json >"$T_DIR/before-$h.txt"; done
	paths0=$(cat "$T_DIR"/tund-n*.log | grep -c ': path ')
	lab_broker_stop
	lab_broker_start
	wait_until 120 broker_up_everywhere || fail "members did not all reconnect to the broker"
	t_log "broker restarted, all members reconnected; counting for $REST s"
	sleep "$REST" # a count over a fixed window, not a wait for a condition
	for h in $(all_hosts); do ctl "$h" networks --json >"$T_DIR/after-$h.txt"; done
	echo "== broker restart: $(for h in $(all_hosts); do connected "$h"; done | sum) of $((N * (N - 1))) directed links up $REST s after all reconnected"
	echo "   sent by kind, all members, restart to end of window: $(jq -n -r --argjson a "$(by_kind after)" --argjson b "$(by_kind before)" '$a | to_entries | map("\(.key) \(.value - ($b[.key] // 0))") | join(", ")')"
	echo "   new ICE pairs selected (log 'path' lines): $(($(cat "$T_DIR"/tund-n*.log | grep -c ': path ') - paths0))"
fi

# The data path: n1 pings every other member through the tunnel.
ok=0
for i in $(seq 2 "$N"); do
	a=$(overlay_addr "n$i")
	[ -n "$a" ] && lab_exec n1 ping -c 1 -W 3 "$a" >/dev/null 2>&1 && ok=$((ok + 1))
done
echo "== ping n1 -> each member through the tunnel: $ok of $((N - 1)) answered"
[ "$left" -eq 0 ] || exit 1
