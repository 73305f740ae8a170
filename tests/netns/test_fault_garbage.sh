#!/usr/bin/env bash
# Garbage in: 10,000 malformed control requests and 1,000,000 random
# datagrams at the listen port. Each request gets an error, the daemon then
# answers a valid request and still carries traffic, every datagram that
# reached its socket is dropped and counted, and its memory stays bounded.
set -u
. "$(dirname "$0")/lib.sh"
t_init faultgarbage
. "$(dirname "$0")/lib_pair.sh"
pair_up
ping_ok() { ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1; }
wait_until 20 ping_ok || fail "no ping a -> b"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$PID_B/status"; }
drops_total() { ctl_b status --json | jq '[.drops[]] | add'; }
udp_stat() { # FIELD: a Udp counter of b's namespace
	ip netns exec "$NS_B" awk -v f="$1" '$1 == "Udp:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
		$1 == "Udp:" { print $col[f] }' /proc/net/snmp
}
rss0=$(rss_kib)

python3 "$TOP/tests/netns/ctl_garbage.py" "$T_DIR/b/tund.sock" 10000 >"$T_DIR/ctl.out" ||
	fail "control garbage: $(tail -n 1 "$T_DIR/ctl.out")"
pid_running "$PID_B" || fail "b died from malformed control requests"
ctl_b status >/dev/null || fail "b does not answer a valid request after 10,000 malformed ones"
rss1=$(rss_kib)
t_log "control: $(cat "$T_DIR/ctl.out"); RSS ${rss0} -> ${rss1} KiB"

drops0=$(drops_total) malformed0=$(ctl_b status --json | jq .drops.malformed)
in0=$(udp_stat InDatagrams) err0=$(udp_stat InErrors)
read -r sent secs < <(ip netns exec "$NS_A" "$TOP/build/flood_probe" random 192.0.2.2 51820 1000000) ||
	fail "flood_probe failed"
[ "${sent:-0}" = 1000000 ] || fail "flood_probe sent ${sent:-0} datagrams"
delivered=$(($(udp_stat InDatagrams) - in0)) overflow=$(($(udp_stat InErrors) - err0))
# Every datagram the socket took is dropped and counted (once drained).
counted() { [ $(($(drops_total) - drops0)) -ge "$delivered" ]; }
wait_until 30 counted || fail "$delivered datagrams reached b, $(($(drops_total) - drops0)) counted as dropped"
malformed=$(($(ctl_b status --json | jq .drops.malformed) - malformed0))
total=$(($(drops_total) - drops0))
[ "$delivered" -ge 50000 ] || fail "only $delivered of $sent datagrams reached b: the test did not stress it"
[ $((malformed * 100)) -ge $((delivered * 95)) ] ||
	fail "of $delivered random datagrams only $malformed counted as malformed: $(ctl_b status --json | jq -c .drops)"
pid_running "$PID_B" || fail "b died from random datagrams"
ctl_b status >/dev/null || fail "b does not answer a valid request after the datagrams"
wait_until 20 ping_ok || fail "tunnel broken after the datagrams"
ping_all "$NS_A" 5 10.77.0.2 -i 0.2 -W 1 || fail "ping lost packets after the datagrams"
rss2=$(rss_kib)
t_log "datagrams: $sent sent in $secs s, $delivered reached the socket ($overflow overflowed its buffer), $total dropped and counted ($malformed malformed)"
growth=$((rss2 - rss0))
[ "$growth" -lt $((8 * 1024)) ] || fail "RSS grew by $growth KiB (${rss0} -> ${rss2} KiB)"
printf 'survived: 10000 malformed control requests refused, %s random datagrams (%s reached b, all dropped and counted); b still answers and pings; RSS %.1f MiB before, %.1f MiB after\n' \
	"$sent" "$delivered" "$(awk -v k="$rss0" 'BEGIN { print k / 1024 }')" "$(awk -v k="$rss2" 'BEGIN { print k / 1024 }')"
echo "PASS fault_garbage"
