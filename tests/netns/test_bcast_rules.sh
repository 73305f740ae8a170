#!/bin/bash
# SPDX-License-Identifier: MIT
# tund/host/bcast_rules.c against a real kernel: namespace tt-bc-PID has a LAN veth
# (10.1.0.10/24, toward tt-bclan-PID at 10.1.0.20) and the TUN tt0
# (10.77.0.1/16) that build/bcast_probe opens, fitted with the broadcast
# rules, and reads. A limited broadcast must reach the TUN (as a dup copy with
# the LAN source) AND still reach the LAN; overlay-subnet broadcast and IPv4
# multicast must reach the TUN; removal must leave no table and no route.
set -u
. "$(dirname "$0")/lib.sh"
t_init bcast_rules

PROBE=${PROBE:-$TOP/build/bcast_probe}
[ "$(id -u)" = 0 ] || fail "needs root"
if [ ! -x "$PROBE" ] || [ -z "${PROBE_PREBUILT:-}" ]; then
	make -s -C "$TOP" build/bcast_probe >/dev/null || fail "cannot build bcast_probe"
fi
for c in nft socat; do command -v $c >/dev/null || fail "$c missing"; done

t_ns NS bc
t_ns LAN bclan
ip link add veth-bc netns "$NS" type veth peer name veth-lan netns "$LAN" ||
	fail "cannot create veth"
ip -n "$NS" addr add 10.1.0.10/24 dev veth-bc
ip -n "$LAN" addr add 10.1.0.20/24 dev veth-lan
ip -n "$NS" link set veth-bc up
ip -n "$LAN" link set veth-lan up
# Like a home LAN: the default route goes to the router. Without one the
# kernel refuses a send to 255.255.255.255 (checked at the end).
ip -n "$NS" route add default via 10.1.0.20

in_ns() { ip netns exec "$NS" "$@"; }
send() { # DST PORT TEXT [socat options]
	echo "$3" | in_ns socat - "UDP-DATAGRAM:$1:$2${4:+,$4}" 2>>"$T_DIR/send.log"
}
probe_has() { grep -qE -- "$1" "$T_DIR/probe.log"; }
lan_has() { grep -q -- "$1" "$T_DIR/lan.log"; }
table_present() { in_ns nft list tables | grep -q 'table ip tund_tt0'; }

# The LAN side: everything arriving on UDP 27015, one datagram per line.
ip netns exec "$LAN" socat -u UDP-RECV:27015,reuseaddr \
	"OPEN:$T_DIR/lan.log,creat,append" 2>>"$T_DIR/lan.err" &
t_track $!

# A leftover table from a "crashed run" must be replaced, not kept.
in_ns nft add table ip tund_tt0 || fail "cannot create the leftover table"
in_ns nft add chain ip tund_tt0 leftover || fail "cannot create the leftover chain"

mkfifo "$T_DIR/in"
ip netns exec "$NS" "$PROBE" run tt0 10.77.0.1/16 <"$T_DIR/in" >"$T_DIR/probe.log" 2>&1 &
PROBE_PID=$!
t_track "$PROBE_PID"
exec 3>"$T_DIR/in"
wait_until 10 probe_has '^ready' || fail "probe not ready"

# What the kernel now holds.
rules=$(in_ns nft list table ip tund_tt0) || fail "no table ip tund_tt0"
echo "$rules" | grep -q 'ip daddr 255.255.255.255 oifname != "tt0" dup to 255.255.255.255 device "tt0"' ||
	fail "dup rule missing: $rules"
echo "$rules" | grep -q leftover && fail "leftover chain survived: $rules"
ip -n "$NS" route show table main 224.0.0.0/4 | grep -q 'dev tt0' ||
	fail "no 224.0.0.0/4 route on tt0"
# IPv6: the local table holds a kernel "multicast ff00::/8" route at metric
# 256 on every interface and is looked up before main, so a main-table route
# would change nothing; ours sits there at metric 128.
ip -n "$NS" -6 route show table local | grep -q '^multicast ff00::/8 dev tt0 proto static metric 128' ||
	fail "no metric-128 multicast ff00::/8 route on tt0 in the local table"
in_ns ip -6 route get ff05::c | grep -q 'dev tt0' || fail "ff05::c is not routed to tt0"
RT=$(sed -n 's/^ready .*rt_table=\([0-9]*\).*/\1/p' "$T_DIR/probe.log")
[ -n "$RT" ] || fail "no rt_table in the ready line"
ip -n "$NS" rule show | grep -q "^32767:.*to 255.255.255.255 lookup $RT" ||
	fail "no rule to 255.255.255.255 lookup $RT after main"
ip -n "$NS" route show table "$RT" | grep -q '^broadcast 255.255.255.255 dev tt0\|^255.255.255.255 dev tt0' ||
	fail "no 255.255.255.255 route in table $RT"
t_log "table, dup rule, routes and fallback rule installed (leftover replaced, install twice ok)"

# 1. Limited broadcast: a copy on the TUN with the LAN source, which the
# rewrite turns into the overlay address; the original still on the LAN.
send 255.255.255.255 27015 game-bcast broadcast || fail "send to 255.255.255.255 failed"
# csum: both checksums recomputed from scratch, before and after the rewrite.
wait_until 5 probe_has 'dst=255\.255\.255\.255 src=10\.1\.0\.10 proto=17 sport=[0-9]+ dport=27015 csum=ok fanout=1 rewritten=10\.77\.0\.1 csum=ok$' ||
	fail "limited broadcast did not reach the TUN"
wait_until 5 lan_has game-bcast || fail "limited broadcast no longer reaches the LAN"
t_log "255.255.255.255: copy on tt0 (src 10.1.0.10 -> 10.77.0.1) and original on the LAN"

# 2. The overlay subnet's broadcast address: routed to the TUN as it is.
send 10.77.255.255 27015 overlay-bcast broadcast || fail "send to 10.77.255.255 failed"
wait_until 5 probe_has 'dst=10\.77\.255\.255 src=10\.77\.0\.1 proto=17 sport=[0-9]+ dport=27015 csum=ok fanout=1' ||
	fail "overlay broadcast did not reach the TUN"
# 3. IPv4 multicast (SSDP), no IP_MULTICAST_IF: the 224.0.0.0/4 route.
send 239.255.255.250 1900 ssdp || fail "send to 239.255.255.250 failed"
wait_until 5 probe_has 'dst=239\.255\.255\.250 src=10\.77\.0\.1 proto=17 sport=[0-9]+ dport=1900 csum=ok fanout=1' ||
	fail "IPv4 multicast did not reach the TUN"
# 4. IPv6 multicast to a non-link-local group: the ff00::/8 route.
echo v6 | in_ns socat - 'UDP6-DATAGRAM:[ff05::c]:1900' 2>>"$T_DIR/send.log" ||
	fail "send to ff05::c failed"
wait_until 5 probe_has 'dst=ff05::c .*proto=17 fanout=1' ||
	fail "IPv6 multicast did not reach the TUN"
t_log "10.77.255.255, 239.255.255.250:1900 and [ff05::c]:1900 reach tt0"
# Only one copy of the limited broadcast: the dup does not loop.
n=$(grep -c 'dst=255\.255\.255\.255' "$T_DIR/probe.log")
[ "$n" = 1 ] || fail "expected 1 limited broadcast on the TUN, got $n"
# 4b. The LAN's subnet broadcast (what IFF_BROADCAST-only browsers send): a
# copy on the TUN as 255.255.255.255 (checksums still right), source
# rewritten as for any limited broadcast; the original still on the LAN.
send 10.1.0.255 27015 lan-subnet-bcast broadcast || fail "send to 10.1.0.255 failed"
wait_until 5 probe_has 'dst=255\.255\.255\.255 src=10\.1\.0\.10 proto=17 sport=[0-9]+ dport=27015 csum=ok fanout=1 rewritten=10\.77\.0\.1 csum=ok$' &&
	[ "$(grep -c 'dst=255\.255\.255\.255' "$T_DIR/probe.log")" = 2 ] ||
	fail "10.1.0.255 did not reach the TUN as one 255.255.255.255 copy: $(cat "$T_DIR/probe.log")"
wait_until 5 lan_has lan-subnet-bcast || fail "10.1.0.255 no longer reaches the LAN"
! probe_has 'dst=10\.1\.0\.255' || fail "a copy kept the LAN's subnet broadcast address"
t_log "10.1.0.255: copy on tt0 as 255.255.255.255 (src rewritten), original on the LAN"

# 5. Removal while the TUN lives: table and both routes go, nothing else.
in_ns nft add table ip someone_else
out=$(in_ns "$PROBE" remove tt0) || fail "remove failed: $out"
table_present && fail "table still there after remove"
in_ns nft list tables | grep -q someone_else || fail "remove touched another table"
ip -n "$NS" route show table all | grep -q '^224\.0\.0\.0/4' && fail "224.0.0.0/4 route left"
ip -n "$NS" route show table all | grep -q "table $RT" && fail "fallback route left"
ip -n "$NS" rule show | grep -q "lookup $RT" && fail "fallback rule left"
ip -n "$NS" rule show | grep -q 'lookup main' || fail "remove touched the main rule"
ip -n "$NS" -6 route show table local | grep -q 'ff00::/8 dev tt0 proto static' && fail "ff00::/8 route left"
ip -n "$NS" -6 route show table local | grep -q 'ff00::/8 dev tt0 proto kernel' ||
	fail "remove took the kernel's own ff00::/8 route"
send 255.255.255.255 27015 after-remove broadcast || fail "send after remove failed"
wait_until 5 lan_has after-remove || fail "LAN broadcast broken after remove"
sleep 0.3
n=$(grep -c 'dst=255\.255\.255\.255' "$T_DIR/probe.log")
[ "$n" = 2 ] || fail "limited broadcast still copied to the TUN after remove"
t_log "remove: table and routes gone, other tables kept, LAN broadcast unaffected"

# 6. The probe's exit removes again (absent now: fine) and ends cleanly.
exec 3>&-
wait_until 10 probe_has '^done' || fail "probe did not finish"
wait "$PROBE_PID" || fail "probe exited with an error"
t_untrack "$PROBE_PID"
out=$(in_ns "$PROBE" remove tt0) || fail "remove with nothing left failed: $out"

# 7. A second run stopped by SIGTERM leaves nothing behind either.
mkfifo "$T_DIR/in2"
ip netns exec "$NS" "$PROBE" run tt0 10.77.0.1/16 <"$T_DIR/in2" >"$T_DIR/probe.log" 2>&1 &
PROBE_PID=$!
t_track "$PROBE_PID"
exec 4>"$T_DIR/in2"
wait_until 10 probe_has '^ready' || fail "second probe not ready"
table_present || fail "second run: no table"
stop_pid "$PROBE_PID" 10 || fail "probe did not stop cleanly on SIGTERM"
exec 4>&-
probe_has '^done' || fail "probe did not remove its rules on SIGTERM"
table_present && fail "table left after SIGTERM"
ip -n "$NS" route show table all | grep -q 'tt0' && fail "IPv4 routes left on tt0"
ip -n "$NS" -6 route show table all | grep -q 'tt0' && fail "IPv6 routes left on tt0"
ip -n "$NS" route show table all | grep -q '^224\.0\.0\.0/4' && fail "224.0.0.0/4 route left"
ip -n "$NS" rule show | grep -q "lookup $RT" && fail "fallback rule left after exit"
t_log "after exit: no table, no route, no rule"

# 8. No default route: without tund, an unbound send to 255.255.255.255 fails
# with ENETUNREACH before netfilter sees it; with the fallback rule it goes to
# the TUN (overlay only, with the overlay source). A socket bound to the LAN
# still broadcasts on the LAN and gets the dup copy (doc/broadcast.md).
ip -n "$NS" route del default
send 255.255.255.255 27015 no-default broadcast &&
	fail "send to 255.255.255.255 without a default route (and no tund) unexpectedly worked"
grep -q 'Network is unreachable' "$T_DIR/send.log" || fail "expected ENETUNREACH"
mkfifo "$T_DIR/in3"
ip netns exec "$NS" "$PROBE" run tt0 10.77.0.1/16 <"$T_DIR/in3" >"$T_DIR/probe.log" 2>&1 &
PROBE_PID=$!
t_track "$PROBE_PID"
exec 5>"$T_DIR/in3"
wait_until 10 probe_has '^ready' || fail "third probe not ready"
send 255.255.255.255 27015 fallback broadcast || fail "send with the fallback rule failed"
wait_until 5 probe_has 'dst=255\.255\.255\.255 src=10\.77\.0\.1 proto=17 sport=[0-9]+ dport=27015' ||
	fail "limited broadcast without a default route did not reach the TUN"
send 255.255.255.255 27015 bound-bcast broadcast,so-bindtodevice=veth-bc ||
	fail "bound send failed"
wait_until 5 lan_has bound-bcast || fail "bound broadcast did not reach the LAN"
wait_until 5 probe_has 'dst=255\.255\.255\.255 src=10\.1\.0\.10 proto=17' ||
	fail "bound broadcast was not copied to the TUN"
lan_has fallback && fail "fallback broadcast went to the LAN too (unexpected)"
exec 5>&-
wait_until 10 probe_has '^done' || fail "third probe did not finish"
t_log "no default route: unbound send reaches the TUN via the fallback rule; bound send reaches LAN + TUN"
exit 0
