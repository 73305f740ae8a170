#!/usr/bin/env bash
# IPv6 discovery across two cone NATs (a behind r1, b behind r2): a query to
# ff02::1 sent on every interface with its scope (it leaves tt0 with tt0's
# link-local source: tund sends it as a's overlay IPv6 address) and a query
# to a site-scope group ff05::77 that the server joined on "any" interface;
# b's server answers the sender's address and the answer comes back.
# The lab disables IPv6; here it is enabled for interfaces made after
# lab_up (net.ipv6.conf.default in each lab namespace), i.e. for tt0 only.
set -u
. "$(dirname "$0")/lib.sh"
t_init lan_ipv6
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
G6="python3 $TOP/tests/netns/game6.py"
lab_up cone
for h in a b; do
	lab_exec "$h" sysctl -qw net.ipv6.conf.default.disable_ipv6=0 || fail "$h: sysctl"
	tund_node "$h"
done
invite=$(ctl a network create six --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "b: join"
B=$(overlay_addr b)
wait_until 60 pings a "$B" || fail "a cannot ping b ($B)"
A6=$(ctl a networks --json | jq -r '.[0].address6' | cut -d/ -f1)
B6=$(ctl b networks --json | jq -r '.[0].address6' | cut -d/ -f1)
[ -n "$A6" ] && [ "$A6" != null ] || fail "a has no overlay IPv6 address"
wait_until 30 sh -c "ip netns exec $(lab_ns a) ping -6 -c 1 -W 1 $B6 >/dev/null" ||
	fail "a cannot ping b's overlay IPv6 address $B6"

lab_bg b "$T_DIR/g6-all.log" $G6 server 27200
lab_bg b "$T_DIR/g6-site.log" $G6 server 27201 ff05::77
wait_until 10 grep -q ready "$T_DIR/g6-all.log" || fail "server on b did not start"
wait_until 10 grep -q ready "$T_DIR/g6-site.log" || fail "site server on b did not start"

got=$(lab_exec a $G6 query ff02::1 27200)
grep -qx "send tt0" <<<"$got" || fail "the ff02::1 query was not sent on tt0: $got"
grep -qx "reply $B6" <<<"$got" || fail "no reply from b ($B6) to ff02::1: $got"
grep -qx "query $A6" "$T_DIR/g6-all.log" || fail "b saw the ff02::1 query from $(grep query "$T_DIR/g6-all.log"), want $A6"
t_log "ff02::1 on every interface: b answered from $B6 to $A6"

got=$(lab_exec a $G6 query ff05::77 27201)
grep -qx "reply $B6" <<<"$got" || fail "no reply from b ($B6) to ff05::77: $got"
grep -qx "query $A6" "$T_DIR/g6-site.log" || fail "b saw the ff05::77 query from $(grep query "$T_DIR/g6-site.log"), want $A6"
t_log "ff05::77: b answered from $B6 to $A6"
echo "PASS lan_ipv6"
