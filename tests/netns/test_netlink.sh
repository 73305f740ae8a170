#!/bin/bash
# SPDX-License-Identifier: MIT
# Integration test for netlink/: build/nl_probe creates and configures a TUN
# inside a fresh namespace; ip -j + jq check what the kernel now holds. Run as
# root from the top of the tree (make build/nl_probe first, or let this do it).
# Exit 0 on pass; on failure one line "FAIL: reason" and non-zero.
set -u

cd "$(dirname "$0")/../.." || exit 1
# PROBE=path uses a prebuilt probe; by default it is (re)built here.
PROBE=${PROBE:-}
NS=tt-nl-$$
DEV=tt-tun0
MTU=1380
A4=10.77.0.1/24
A6=fd00:77::1/64
R4=10.99.0.0/16
R6=fd00:99::/64
DEADLINE=${DEADLINE:-20}

TMP=$(mktemp -d /tmp/tt-nl.XXXXXX) || exit 1
PID=

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
	exec 3>&- 2>/dev/null
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root"
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null 2>&1 ||
	fail "jq missing and could not be installed"
if [ -z "$PROBE" ]; then
	PROBE=build/nl_probe
	make -s "$PROBE" >/dev/null || fail "could not build $PROBE"
fi
[ -x "$PROBE" ] || fail "$PROBE is not executable"

ip netns add "$NS" || fail "cannot create namespace $NS"
ipn() { ip -n "$NS" "$@"; }

# Waits (polling, up to DEADLINE seconds) until the probe's output has a line
# matching $1, or the probe has died.
wait_for() {
	local end=$((SECONDS + DEADLINE))
	while ! grep -q "$1" "$TMP/out"; do
		kill -0 "$PID" 2>/dev/null || return 1
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# The probe's error line, else its last line, for a one-line failure reason.
probe_said() {
	local said
	said=$(grep -m1 '^error' "$TMP/out" || tail -n1 "$TMP/out")
	echo "${said:-no output (exited, or no answer within ${DEADLINE}s)}"
}

mkfifo "$TMP/in" || fail "mkfifo"
ip netns exec "$NS" "$PROBE" setup "$DEV" "$MTU" "$A4" "$A6" "$R4" "$R6" \
	<"$TMP/in" >"$TMP/out" 2>&1 &
PID=$!
exec 3>"$TMP/in"

if ! wait_for '^ready'; then
	fail "probe not ready: $(probe_said)"
fi

# Link: MTU and UP.
link=$(ipn -j link show dev "$DEV") || fail "$DEV missing"
echo "$link" | jq -e --argjson mtu "$MTU" '.[0].mtu == $mtu' >/dev/null ||
	fail "MTU is $(echo "$link" | jq '.[0].mtu'), want $MTU"
echo "$link" | jq -e '.[0].flags | index("UP")' >/dev/null ||
	fail "$DEV not UP: $(echo "$link" | jq -c '.[0].flags')"

# Addresses: IPv4 with its broadcast, IPv6 not tentative (NODAD).
addr=$(ipn -j addr show dev "$DEV") || fail "addr show"
echo "$addr" | jq -e '.[0].addr_info | any(.family == "inet" and
	.local == "10.77.0.1" and .prefixlen == 24 and
	.broadcast == "10.77.0.255")' >/dev/null ||
	fail "IPv4 $A4 missing: $(echo "$addr" | jq -c '.[0].addr_info')"
echo "$addr" | jq -e '.[0].addr_info | any(.family == "inet6" and
	.local == "fd00:77::1" and .prefixlen == 64 and
	(.tentative // false) == false)' >/dev/null ||
	fail "IPv6 $A6 missing or tentative: $(echo "$addr" | jq -c '.[0].addr_info')"

# The probe's own RTM_GETADDR dump saw both.
grep -q "^addr $A4 " "$TMP/out" || fail "tund_addr_list did not report $A4"
grep -q "^addr $A6 " "$TMP/out" || fail "tund_addr_list did not report $A6"

# Routes: main table, proto static, scope link.
r4=$(ipn -j -4 route show table main dev "$DEV") || fail "route show"
echo "$r4" | jq -e --arg d "$R4" 'any(.dst == $d and
	.protocol == "static" and .scope == "link")' >/dev/null ||
	fail "IPv4 route $R4 missing: $(echo "$r4" | jq -c .)"
r6=$(ipn -j -6 route show table main dev "$DEV") || fail "route show -6"
echo "$r6" | jq -e --arg d "$R6" 'any(.dst == $d and
	.protocol == "static")' >/dev/null ||
	fail "IPv6 route $R6 missing: $(echo "$r6" | jq -c .)"

# A name already taken is refused with EBUSY: our live TUN (held by another
# process), a persistent TUN nobody holds, a veth, and lo.
ipn tuntap add mode tun name tt-ptun || fail "cannot create persistent tun"
ipn link add tt-va type veth peer name tt-vb || fail "cannot create veth"
for name in "$DEV" tt-ptun tt-va lo; do
	out=$(ip netns exec "$NS" "$PROBE" open "$name")
	rc=$?
	if [ $rc != 2 ] || [ -n "${out##*EBUSY*}" ]; then
		fail "second open of $name: want EBUSY, got rc=$rc '$out'"
	fi
done
# A free name still works.
out=$(ip netns exec "$NS" "$PROBE" open tt-free0) ||
	fail "open of a free name failed: $out"

# Let the probe delete routes and link, then check it is gone.
echo go >&3
exec 3>&-
if ! wait_for '^done'; then
	fail "probe did not finish: $(probe_said)"
fi
wait "$PID"
rc=$?
PID=
[ $rc = 0 ] || fail "probe exited $rc: $(probe_said)"
if ipn link show dev "$DEV" >/dev/null 2>&1; then
	fail "$DEV still exists after tund_link_delete"
fi
[ -z "$(ipn -j route show table main dev "$DEV" 2>/dev/null | jq -c '.[]?')" ] ||
	fail "routes via $DEV left behind"

# tund_route_get: the way out from an address of ours (tund/connect/path.c
# renews a path when it moves), and an error once that address is gone.
ipn link add tt-r0 type veth peer name tt-r1 && ipn link set tt-r0 up && ipn link set tt-r1 up &&
	ipn addr add 10.88.0.1/24 dev tt-r0 && ipn route add 198.51.100.0/24 via 10.88.0.2 ||
	fail "cannot set up tt-r0"
R0=$(ipn -j link show dev tt-r0 | jq -r '.[0].ifindex')
out=$(ip netns exec "$NS" "$PROBE" route 10.88.0.1 198.51.100.7)
[ "$out" = "oif $R0 gw 10.88.0.2" ] || fail "route via 10.88.0.2: got '$out', want 'oif $R0 gw 10.88.0.2'"
out=$(ip netns exec "$NS" "$PROBE" route 10.88.0.1 10.88.0.9)
[ "$out" = "oif $R0 gw -" ] || fail "on-link route: got '$out'"
out=$(ip netns exec "$NS" "$PROBE" route 10.88.0.1 203.0.113.9)
[ "${out%% *}" = "route:" ] || fail "no route to 203.0.113.9: got '$out'"
ipn addr del 10.88.0.1/24 dev tt-r0 || fail "cannot remove 10.88.0.1"
out=$(ip netns exec "$NS" "$PROBE" route 10.88.0.1 198.51.100.7)
[ "${out%% *}" = "route:" ] || fail "route from a removed address: got '$out'"

echo "PASS: test_netlink"
exit 0
