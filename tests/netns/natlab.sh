# shellcheck shell=bash
# NAT lab for integration tests: clients behind NAT routers, a fake internet,
# and a server running mosquitto (MQTT) and coturn (STUN/TURN).
# Source after lib.sh, call t_init, then lab_up TOPOLOGY (in the test's own
# shell, not in $(...): the cleanup lists must live in that shell).
#
# Topologies (LAB_CLIENTS=3 adds client c behind a third router r3;
# LAB_LAN_PEER=1 adds client d on a's LAN behind r1, LAB_LAN_PEER=2 also e):
#   lan          a, b, c = 10.1.0.10-12 on r1's LAN bridge; r1 NATs (cone)
#                (LAB_CLIENTS=4: also d = 10.1.0.13)
#   cone         a behind r1, b behind r2: masquerade (port preserving,
#                endpoint-independent mapping, address+port dependent filter)
#   symmetric    both routers masquerade random,fully-random (new port per
#                destination)
#   mixed        r1 cone, r2 symmetric
#   blocked      cone, but routers drop forwarded UDP not addressed to srv
#   blocked-tcp  cone, but routers drop all forwarded UDP (TCP only)
#   hairpin      a and b on two LANs (VLANs) of one cone router r1: a on lan
#                (10.1.0.10), b on lan2 (10.1.1.10). r1 forwards nothing
#                between its LANs except through its own public address
#                (hairpin: a datagram from one LAN to a public port r1 holds
#                for the other is sent there, from r1's public address and
#                a's public port). LAB_HAIRPIN=0: r1 does not hairpin.
#                Beacons (link-local multicast, broadcast) do not cross.
#   double       two NAT layers: a behind home router r1 (cone) behind the
#                carrier-grade NAT cgn1 (cone, endpoint-independent mapping as
#                RFC 6888 asks); b behind r2 behind cgn2. r1/r2's WANs are
#                100.64.1.2 and 100.64.2.2 on cgn1/cgn2's inside nets;
#                cgn1/cgn2 hold the public addresses 203.0.113.11 and .22.
# r3 is cone in cone/symmetric/mixed, and follows the topology in blocked and
# blocked-tcp (LAB_R3_MODE overrides: cone|symmetric|blocked|blocked-tcp|
# fullcone). fullcone: cone's mapping with endpoint-independent filtering
# (RFC 4787; "full cone"): a UDP datagram from anywhere to a public port the
# router maps goes to the host behind it, so even a member behind a
# symmetric NAT reaches it (the lab's cone filters by address and port).
#
# Addresses (exist only inside the lab namespaces):
#   internet: bridge br0 in namespace "inet", core router 198.51.100.1 and
#             203.0.113.1; srv 198.51.100.10 (+ .11, the RFC 5780 alternate)
#   r1 WAN 203.0.113.11 LAN 10.1.0.1/24, a 10.1.0.10
#   r2 WAN 203.0.113.22 LAN 10.2.0.1/24, b 10.2.0.10
#   r3 WAN 203.0.113.33 LAN 10.3.0.1/24, c 10.3.0.10
#   r4 WAN 203.0.113.44 LAN 10.4.0.1/24 (lab_uplink2 only: a client's eth1)
# srv: mosquitto on 198.51.100.10:1883 (anonymous), coturn on both srv
# addresses, 3478 (+3479 alternate) UDP and TCP, user tund/tundpass, realm
# tund.lab, relay ports 49152-65535; logs $T_DIR/mosquitto.log, coturn.log.
# LAB_MQTT_CONF_EXTRA: more lines for mosquitto.conf (e.g. "sys_interval 1").
#
# LAB_IPV6=1 makes the lab dual-stack (any topology but double): the core,
# the routers and the clients get global IPv6 addresses, routed without NAT;
# each router's forward chain (an inet table) is then also a stateful IPv6
# firewall (replies and flows from its LAN only), as home routers have.
#   core 2001:db8:ff::1/64; router rN WAN 2001:db8:ff::N{N}, LAN 2001:db8:N::1/64;
#   a 2001:db8:1::10, b 2001:db8:2::10, c 2001:db8:3::10 (lab_addr6 HOST).
# 2001:db8::/32 is the documentation range: nothing on the way treats it
# specially (libnice's private ranges are fe80::/10, fc00::/7 and ::1; tund
# skips only loopback, link-local, multicast, v4-mapped), it exists only
# inside the lab namespaces and can never leak into a real route.
# srv stays IPv4 only: the IPv6 path needs neither STUN nor TURN.
#
# LAB_WAN_NET=A.B.C puts the core's client side and the router WANs in A.B.C.0/24
# (.1, r1 .11, r2 .22, r3 .33) instead of 203.0.113.0/24: a UPnP router
# (miniupnpd) refuses to map ports while its WAN address is in a reserved
# range. Such a range exists only inside the lab namespaces too.
#
# Namespaces are tt-<LAB_TAG>-<pid>-<random>-<host> and are registered in
# T_NS; services are tracked with t_track. lab_up chains lab_down into the
# EXIT trap, so processes still running inside the lab namespaces (started
# by the test) are killed by pid before the namespaces go.

LAB_HELPER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/natlab_udp.py
LAB_TOPOLOGIES="lan cone symmetric mixed blocked blocked-tcp hairpin double"
declare -gA LAB_NSMAP=()	# host -> namespace
declare -gA LAB_ADDR=()		# host -> LAN address (clients), WAN (routers)
declare -gA LAB_GW=()		# client -> its router
declare -gA LAB_MODE=()		# router -> NAT mode
declare -gA LAB_ADDR6=()	# host -> global IPv6 address (LAB_IPV6=1)
declare -gA LAB_UP=()		# router -> the router it sits behind (double)
LAB_PREFIX=
LAB_TOPO=
LAB_MQTT_PID=
LAB_TURN_PID=

_lab_v6=2001:db8
_lab_inet1=198.51.100.1
_lab_inet2=203.0.113.1
declare -gA _lab_wan=([r1]=203.0.113.11 [r2]=203.0.113.22 [r3]=203.0.113.33)
declare -gA _lab_lan=([r1]=10.1.0 [r2]=10.2.0 [r3]=10.3.0)

# ---- small helpers ----------------------------------------------------------

# lab_ns HOST: prints the namespace of HOST (a b c r1 r2 r3 srv inet).
lab_ns() {
	[ -n "${LAB_NSMAP[$1]:-}" ] || { echo "natlab: no host '$1' in this lab" >&2; return 1; }
	printf '%s\n' "${LAB_NSMAP[$1]}"
}

# lab_exec HOST CMD...: runs CMD inside HOST. In the background use lab_bg:
# "lab_exec ... &" gives $! of a bash subshell, not of CMD.
lab_exec() {
	local ns
	ns=$(lab_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

# lab_bg HOST LOG CMD...: starts CMD in HOST in the background, output to LOG,
# tracked for cleanup; its pid in LAB_PID.
lab_bg() {
	local ns log=$2
	ns=$(lab_ns "$1") || return 1
	shift 2
	ip netns exec "$ns" "$@" >>"$log" 2>&1 </dev/null &
	LAB_PID=$!
	t_track "$LAB_PID"
}

# lab_addr HOST: a client's LAN address, a router's WAN address, srv's address.
lab_addr() {
	[ -n "${LAB_ADDR[$1]:-}" ] || { echo "natlab: no address for '$1'" >&2; return 1; }
	printf '%s\n' "${LAB_ADDR[$1]}"
}

# lab_wan HOST: the public (WAN) address a client is seen from (its router's;
# behind two layers, the outer router's).
lab_wan() {
	local r=${LAB_GW[$1]:-$1}
	while [ -n "${LAB_UP[$r]:-}" ]; do r=${LAB_UP[$r]}; done
	[ -n "${_lab_wan[$r]:-}" ] && [ -n "${LAB_NSMAP[$r]:-}" ] ||
		{ echo "natlab: no WAN address for '$1'" >&2; return 1; }
	printf '%s\n' "${_lab_wan[$r]}"
}

# lab_addr6 HOST: a client's or router's global IPv6 address (LAB_IPV6=1).
lab_addr6() {
	[ -n "${LAB_ADDR6[$1]:-}" ] || { echo "natlab: no IPv6 address for '$1'" >&2; return 1; }
	printf '%s\n' "${LAB_ADDR6[$1]}"
}

# lab_nat ROUTER: the NAT mode of r1/r2/r3 (cone symmetric blocked blocked-tcp).
lab_nat() {
	[ -n "${LAB_MODE[$1]:-}" ] || { echo "natlab: no router '$1'" >&2; return 1; }
	printf '%s\n' "${LAB_MODE[$1]}"
}

# lab_stun HOST [--tcp] [--port P] [--timeout S] SRV:PORT...: the mappings srv
# sees (one "SRV:PORT IP:PORT" line per server; "timeout" and status 1 if not).
lab_stun() { local h=$1; shift; lab_exec "$h" python3 "$LAB_HELPER" stun "$@"; }

# lab_punch HOST [--port P] [--timeout S] PEER:PORT: UDP hole punch (run it on
# both sides at once); status 0 once the peer was heard.
lab_punch() { local h=$1; shift; lab_exec "$h" python3 "$LAB_HELPER" punch "$@"; }

_lab_mkns() {	# _lab_mkns HOST
	local ns="$LAB_PREFIX-$1"
	ip netns add "$ns" || fail "natlab: cannot create namespace $ns"
	T_NS+=("$ns")
	LAB_NSMAP[$1]=$ns
	ip -n "$ns" link set lo up
	# Per-namespace sysctls only; the root namespace is never touched.
	# IPv6 off unless the lab is dual-stack; then no DAD, so addresses are
	# usable at once.
	local v6off=1
	[ "${LAB_IPV6:-0}" = 1 ] && v6off=0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=$v6off \
		net.ipv6.conf.default.disable_ipv6=$v6off \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0 \
		>/dev/null || fail "natlab: sysctl in $ns"
}

_lab_bridge() {	# _lab_bridge HOST BRIDGE
	local ns=${LAB_NSMAP[$1]} mac
	# A MAC of its own: otherwise the bridge takes its lowest port's, and a
	# port plugged in later (lab_uplink2) can change it. Neighbours that
	# cached the old one then had their packets dropped as not for this
	# host until their ARP entry expired: broker connects failed for 50-90 s.
	mac=$(printf '02:%02x:%02x:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) \
		$((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
	ip -n "$ns" link add "$2" address "$mac" type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 0 || fail "natlab: bridge $2 in $1"
	ip -n "$ns" link set "$2" up
	# br_netfilter (if loaded on the machine) would send bridged frames through
	# this namespace's nft forward chain; the knobs are per namespace.
	if ip netns exec "$ns" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		ip netns exec "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 \
			net.bridge.bridge-nf-call-arptables=0 >/dev/null
	fi
}

_lab_plug() {	# _lab_plug HOST IFNAME SWITCHHOST BRIDGE PORT: veth into a bridge
	local ns=${LAB_NSMAP[$1]} sw=${LAB_NSMAP[$3]}
	# Created inside the namespaces: nothing appears in the root namespace.
	ip -n "$ns" link add "$2" type veth peer name "$5" netns "$sw" ||
		fail "natlab: veth $1/$2 - $3/$5"
	ip -n "$sw" link set "$5" master "$4" up
	ip -n "$ns" link set "$2" up
}

# _lab_router NAME MODE [UPLINK-HOST WAN-ADDRESS GATEWAY LAN-NET]: a NAT
# router; by default its WAN is on the internet (inet's br0) at _lab_wan[NAME]
# and its LAN is _lab_lan[NAME].0/24; with an uplink, its WAN is on
# UPLINK-HOST's lan bridge (a router behind a router).
_lab_router() {
	local r=$1 mode=$2 up=${3:-inet} wan=${4:-${_lab_wan[$1]:-}} gw=${5:-$_lab_inet2}
	local lan=${6:-${_lab_lan[$1]:-}} ns flags="" extra="" br=br0
	_lab_mkns "$r"
	ns=${LAB_NSMAP[$r]}
	[ "$up" = inet ] || br=lan
	_lab_plug "$r" wan "$up" "$br" "p-$r"
	ip -n "$ns" addr add "$wan/24" dev wan
	ip -n "$ns" route add default via "$gw"
	_lab_bridge "$r" lan
	ip -n "$ns" addr add "$lan.1/24" dev lan
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
	LAB_ADDR[$r]=$wan
	LAB_MODE[$r]=$mode
	_lab_lan[$r]=$lan
	[ "$up" = inet ] || LAB_UP[$r]=$up
	case $mode in
	cone | fullcone) ;;
	symmetric) flags="random,fully-random" ;;
	blocked) extra="meta l4proto udp ip daddr != { $LAB_SRV, $LAB_SRV2 } drop" ;;
	blocked-tcp) extra="meta l4proto udp drop" ;;
	*) fail "natlab: unknown router mode '$mode'" ;;
	esac
	[ "${LAB_IPV6:-0}" = 1 ] && _lab_router6 "$r"
	# NDP is not tracked (ct state untracked): the WAN side must still
	# resolve the router's IPv6 address.
	ip netns exec "$ns" nft -f - <<EOF || fail "natlab: nft rules on $r"
table ip tt_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" masquerade $flags
	}
}
table inet tt_fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "lan" accept
		${extra:+iifname "lan" oifname "wan" $extra}
		iifname "lan" oifname "wan" accept
	}
	chain input {
		type filter hook input priority filter; policy accept;
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		iifname "wan" ct state != { established, related } drop
	}
}
EOF
	[ "$mode" = fullcone ] && _lab_fullcone "$r" "$wan"
	return 0
}

# _lab_udp_mapped NS TABLE IIF WAN [CHAINS]: every UDP mapping masquerade
# makes on wan is remembered (public port -> inside address and port, after
# NAT, so the port is the one masquerade chose); a datagram arriving on IIF
# for WAN and such a port goes to that host. CHAINS: more of table TABLE.
_lab_udp_mapped() {
	ip netns exec "$1" nft -f - <<EOF
table ip $2 {
	map mapped {
		type inet_service : ipv4_addr . inet_service
		flags dynamic,timeout
		timeout 120s
	}
	chain learn {
		type filter hook postrouting priority srcnat + 10; policy accept;
		oifname "wan" meta l4proto udp update @mapped { udp sport : ct original ip saddr . ct original proto-src }
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname $3 ip daddr $4 meta l4proto udp dnat ip to udp dport map @mapped
	}
${5:-}
}
table inet tt_fw {
	chain forward {
		ct status dnat accept
	}
}
EOF
}

# _lab_fullcone ROUTER WAN: endpoint-independent filtering for UDP: a
# datagram from wan to a mapped port goes to its host whoever sent it.
_lab_fullcone() {
	_lab_udp_mapped "${LAB_NSMAP[$1]}" tt_fullcone '"wan"' "$2" ||
		fail "natlab: full cone rules on $1"
}

# _lab_router6 ROUTER: the router's global IPv6 WAN and LAN addresses and
# the core's route to its LAN (rN: WAN ::NN, LAN 2001:db8:N::/64).
_lab_router6() {
	local r=$1 n=${1#r} ns=${LAB_NSMAP[$1]}
	ip -n "$ns" -6 addr add "$_lab_v6:ff::$n$n/64" dev wan nodad
	ip -n "$ns" -6 addr add "$_lab_v6:$n::1/64" dev lan nodad
	ip -n "$ns" -6 route add default via "$_lab_v6:ff::1"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
	ip -n "${LAB_NSMAP[inet]}" -6 route add "$_lab_v6:$n::/64" via "$_lab_v6:ff::$n$n"
	LAB_ADDR6[$r]=$_lab_v6:ff::$n$n
}

# _lab_hairpin_lan2: r1's second LAN (VLAN) lan2, 10.1.1.0/24, for the
# hairpin topology; r1 forwards nothing between lan and lan2 but hairpinned
# flows. LAB_HAIRPIN=0 leaves the hairpin out.
_lab_hairpin_lan2() {
	local ns=${LAB_NSMAP[r1]} wan=${_lab_wan[r1]}
	_lab_bridge r1 lan2
	ip -n "$ns" addr add 10.1.1.1/24 dev lan2
	ip netns exec "$ns" nft -f - <<EOF || fail "natlab: r1 VLANs"
table inet tt_fw {
	chain forward {
		iifname "lan2" oifname "wan" accept
	}
}
EOF
	[ "${LAB_HAIRPIN:-1}" = 1 ] || return 0
	# Hairpin for masquerade's dynamic mappings: a datagram from a LAN to
	# r1's public address and a mapped port goes to that host, from r1's
	# public address (and the sender's own public port where free).
	_lab_udp_mapped "$ns" tt_hairpin '{ "lan", "lan2" }' "$wan" "	chain postrouting {
		type nat hook postrouting priority srcnat - 1; policy accept;
		oifname { \"lan\", \"lan2\" } ct original ip daddr $wan snat ip to $wan
	}" || fail "natlab: r1 hairpin"
}

_lab_client() {	# _lab_client HOST ROUTER OCTET [BRIDGE NET]
	local h=$1 r=$2 ns br=${4:-lan} net=${5:-${_lab_lan[$2]}} n=${2#r}
	_lab_mkns "$h"
	ns=${LAB_NSMAP[$h]}
	_lab_plug "$h" eth0 "$r" "$br" "p-$h"
	ip -n "$ns" addr add "$net.$3/24" brd + dev eth0
	ip -n "$ns" route add default via "$net.1"
	LAB_ADDR[$h]=$net.$3
	LAB_GW[$h]=$r
	if [ "${LAB_IPV6:-0}" = 1 ] && [ -n "${LAB_ADDR6[$r]:-}" ] && [ "$br" = lan ]; then
		ip -n "$ns" -6 addr add "$_lab_v6:$n::$3/64" dev eth0 nodad
		ip -n "$ns" -6 route add default via "$_lab_v6:$n::1"
		LAB_ADDR6[$h]=$_lab_v6:$n::$3
	fi
}

_lab_listening() {	# _lab_listening tcp|udp IP PORT: srv has a socket there
	local f=-ltnH
	[ "$1" = udp ] && f=-lunH
	lab_exec srv ss $f "src $2 and sport = :$3" | grep -q .
}

# ---- services ---------------------------------------------------------------

# lab_broker_start: starts mosquitto on srv (LAB_MQTT_PID), waits for 1883.
lab_broker_start() {
	[ -n "$LAB_MQTT_PID" ] && pid_running "$LAB_MQTT_PID" && return 0
	cat >"$T_DIR/mosquitto.conf" <<EOF
# mosquitto 2.x: without a listener line it binds loopback only, and denies
# anonymous clients by default.
listener 1883 $LAB_SRV
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
log_timestamp true
${LAB_MQTT_CONF_EXTRA:-}
EOF
	# mosquitto drops root for user "mosquitto", which cannot write into
	# $T_DIR: it logs to stderr, which the shell (root) opens.
	lab_bg srv "$T_DIR/mosquitto.log" mosquitto -c "$T_DIR/mosquitto.conf"
	LAB_MQTT_PID=$LAB_PID
	wait_until 10 _lab_listening tcp "$LAB_SRV" 1883 ||
		fail "natlab: mosquitto did not listen on $LAB_SRV:1883"
}

# lab_broker_stop: stops mosquitto only (by pid); MQTT connects are refused.
lab_broker_stop() {
	[ -n "$LAB_MQTT_PID" ] || return 0
	stop_pid "$LAB_MQTT_PID" 10 >/dev/null 2>&1
	pid_running "$LAB_MQTT_PID" && fail "natlab: mosquitto $LAB_MQTT_PID did not stop"
	LAB_MQTT_PID=
}

# lab_turn_start: starts coturn on srv (LAB_TURN_PID), waits for its sockets.
lab_turn_start() {
	[ -n "$LAB_TURN_PID" ] && pid_running "$LAB_TURN_PID" && return 0
	# -n: no config file. Two listening IPs and an alternate port enable
	# RFC 5780 behaviour discovery (OTHER-ADDRESS, CHANGE-REQUEST).
	# LAB_TURN_VERBOSE=1: -v, coturn logs every request it answers (e.g.
	# "ALLOCATE processed, success"), for tests that count allocations.
	local verbose=()
	[ "${LAB_TURN_VERBOSE:-0}" = 1 ] && verbose=(-v)
	lab_bg srv "$T_DIR/coturn.log" turnserver -n "${verbose[@]}" \
		--listening-ip="$LAB_SRV" --listening-ip="$LAB_SRV2" --relay-ip="$LAB_SRV" \
		--listening-port=3478 --alt-listening-port=3479 \
		--min-port=49152 --max-port=65535 \
		--realm=tund.lab --lt-cred-mech --user=tund:tundpass --fingerprint \
		--no-tls --no-dtls --no-cli --no-multicast-peers \
		--userdb="$T_DIR/turndb" --pidfile="$T_DIR/coturn.pid" \
		--log-file=stdout --simple-log
	LAB_TURN_PID=$LAB_PID
	local ip
	for ip in "$LAB_SRV" "$LAB_SRV2"; do
		wait_until 10 _lab_listening udp "$ip" 3478 &&
			wait_until 5 _lab_listening tcp "$ip" 3478 &&
			wait_until 5 _lab_listening udp "$ip" 3479 ||
			fail "natlab: coturn did not listen on $ip:3478/3479"
	done
}

lab_turn_stop() {
	[ -n "$LAB_TURN_PID" ] || return 0
	stop_pid "$LAB_TURN_PID" 10 >/dev/null 2>&1
	pid_running "$LAB_TURN_PID" && fail "natlab: turnserver $LAB_TURN_PID did not stop"
	LAB_TURN_PID=
}

# lab_services_up: mosquitto and coturn on srv (lab_up calls it unless
# LAB_NO_SERVICES=1).
lab_services_up() {
	lab_broker_start
	lab_turn_start
}

# lab_uplink2 HOST: a second uplink for client HOST: router r4 (cone, WAN
# .44 on the routers' net, LAN 10.4.0.1/24) and HOST's eth1 at 10.4.0.10 on
# its LAN. Only traffic from 10.4.0.10 leaves through r4 (policy routing,
# table 4); the rest keeps HOST's first router. Call after lab_up.
lab_uplink2() {
	local h=$1 ns mac
	ns=$(lab_ns "$h") || return 1
	_lab_wan[r4]=${_lab_inet2%.*}.44
	_lab_lan[r4]=10.4.0
	mac=$(ip -n "${LAB_NSMAP[inet]}" link show br0 | awk '/ether/ { print $2 }')
	_lab_router r4 cone
	# The routers' ARP caches hold the internet's MAC (see _lab_bridge).
	[ "$(ip -n "${LAB_NSMAP[inet]}" link show br0 | awk '/ether/ { print $2 }')" = "$mac" ] ||
		fail "natlab: r4's port changed the internet bridge's MAC"
	_lab_plug "$h" eth1 r4 lan "p-$h-2"
	ip -n "$ns" addr add 10.4.0.10/24 dev eth1 || fail "natlab: $h's second address"
	ip -n "$ns" route add 10.4.0.0/24 dev eth1 src 10.4.0.10 table 4 &&
		ip -n "$ns" route add default via 10.4.0.1 dev eth1 table 4 &&
		ip -n "$ns" rule add from 10.4.0.10 table 4 || fail "natlab: $h's second uplink routes"
	wait_until 5 lab_exec "$h" ping -c1 -W1 -I 10.4.0.10 "$LAB_SRV" ||
		fail "natlab: $h cannot reach srv through r4"
}

# ---- faults -----------------------------------------------------------------

_lab_client_wans() {	# the public addresses of all routers in this lab
	local r out=""
	for r in r1 r2 r3; do
		[ -n "${LAB_NSMAP[$r]:-}" ] && out="$out${out:+, }$(lab_wan "$r")"
	done
	printf '%s' "$out"
}

# lab_block_direct: drops UDP between the client sides (the routers' WAN
# addresses; in "lan", between LAN hosts, broadcasts included) on the bridge
# that joins them, including flows that already exist. srv stays reachable.
# Nothing is dropped on a router, so no conntrack state is created or kept
# that could outlive lab_unblock_direct.
lab_block_direct() {
	if [ "$LAB_TOPO" = lan ]; then
		lab_exec r1 nft -f - <<EOF || fail "natlab: block_direct"
table bridge tt_block {
	chain forward {
		type filter hook forward priority -200; policy accept;
		meta protocol ip ip saddr 10.1.0.0/24 ip daddr { 10.1.0.2-10.1.0.254, 10.1.0.255, 255.255.255.255 } meta l4proto udp drop
	}
}
EOF
	else
		local w
		w=$(_lab_client_wans)
		lab_exec inet nft -f - <<EOF || fail "natlab: block_direct"
table bridge tt_block {
	chain forward {
		type filter hook forward priority -200; policy accept;
		meta protocol ip ip saddr { $w } ip daddr { $w } meta l4proto udp drop
	}
}
EOF
	fi
}

# lab_unblock_direct: undoes lab_block_direct; new and old flows pass at once.
lab_unblock_direct() {
	local h=inet
	[ "$LAB_TOPO" = lan ] && h=r1
	lab_exec "$h" nft delete table bridge tt_block 2>/dev/null
	return 0
}

# lab_cut_srv: srv silently disappears (everything to and from both srv
# addresses dropped in the internet core); lab_heal_srv undoes it.
lab_cut_srv() {
	lab_exec inet nft -f - <<EOF || fail "natlab: cut_srv"
table inet tt_cut {
	chain forward {
		type filter hook forward priority -300; policy accept;
		ip saddr { $LAB_SRV, $LAB_SRV2 } drop
		ip daddr { $LAB_SRV, $LAB_SRV2 } drop
	}
}
EOF
}

lab_heal_srv() {
	lab_exec inet nft delete table inet tt_cut 2>/dev/null
	return 0
}

# ---- up / down --------------------------------------------------------------

# lab_up TOPOLOGY: builds the lab, starts the services, exports the LAB_*
# variables. Needs t_init first. One lab per shell at a time (lab_down ends it).
lab_up() {
	local topo=${1:-} m1=cone m2=cone m3=cone h
	[ -n "$T_DIR" ] || fail "natlab: call t_init before lab_up"
	[[ " $LAB_TOPOLOGIES " == *" $topo "* ]] ||
		fail "natlab: unknown topology '$topo' ($LAB_TOPOLOGIES)"
	[ -z "$LAB_PREFIX" ] || fail "natlab: a lab is already up ($LAB_TOPO); lab_down first"
	LAB_PREFIX=$(printf 'tt-%s-%d-%04x' "${LAB_TAG:-lab}" $$ $((RANDOM)))
	LAB_TOPO=$topo
	LAB_NSMAP=() LAB_ADDR=() LAB_GW=() LAB_MODE=() LAB_ADDR6=() LAB_UP=()
	_lab_lan=([r1]=10.1.0 [r2]=10.2.0 [r3]=10.3.0)
	case $topo in
	hairpin | double)
		[ "${LAB_IPV6:-0}" = 1 ] && fail "natlab: $topo is IPv4 only"
		[ "${LAB_CLIENTS:-2}" = 2 ] && [ "${LAB_LAN_PEER:-0}" = 0 ] ||
			fail "natlab: $topo has clients a and b only"
		;;
	esac
	trap 'lab_down; t_cleanup' EXIT

	if [ -n "${LAB_WAN_NET:-}" ]; then
		_lab_inet2=$LAB_WAN_NET.1
		_lab_wan=([r1]=$LAB_WAN_NET.11 [r2]=$LAB_WAN_NET.22 [r3]=$LAB_WAN_NET.33)
	else
		_lab_inet2=203.0.113.1
		_lab_wan=([r1]=203.0.113.11 [r2]=203.0.113.22 [r3]=203.0.113.33)
	fi
	if [ "$topo" = double ]; then	# the carrier-grade NATs hold the public addresses
		_lab_wan[cgn1]=${_lab_wan[r1]} _lab_wan[cgn2]=${_lab_wan[r2]}
	fi
	export LAB_SRV=198.51.100.10 LAB_SRV2=198.51.100.11
	export LAB_MQTT_URL=mqtt://$LAB_SRV:1883
	export LAB_STUN=$LAB_SRV:3478
	export LAB_STUN2=$LAB_SRV2:3479
	export LAB_TURN_UDP="turn://tund:tundpass@$LAB_SRV:3478?transport=udp"
	export LAB_TURN_TCP="turn://tund:tundpass@$LAB_SRV:3478?transport=tcp"
	export LAB_TURN_USER=tund LAB_TURN_PASS=tundpass LAB_TURN_REALM=tund.lab

	# The internet: one bridge, the core router routes between its two nets.
	_lab_mkns inet
	_lab_bridge inet br0
	ip -n "${LAB_NSMAP[inet]}" addr add "$_lab_inet1/24" dev br0
	ip -n "${LAB_NSMAP[inet]}" addr add "$_lab_inet2/24" dev br0
	ip netns exec "${LAB_NSMAP[inet]}" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.br0.send_redirects=0 >/dev/null
	if [ "${LAB_IPV6:-0}" = 1 ]; then
		ip -n "${LAB_NSMAP[inet]}" -6 addr add "$_lab_v6:ff::1/64" dev br0 nodad
		ip netns exec "${LAB_NSMAP[inet]}" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
	fi

	_lab_mkns srv
	_lab_plug srv eth0 inet br0 p-srv
	ip -n "${LAB_NSMAP[srv]}" addr add "$LAB_SRV/24" dev eth0
	ip -n "${LAB_NSMAP[srv]}" addr add "$LAB_SRV2/24" dev eth0
	ip -n "${LAB_NSMAP[srv]}" route add default via "$_lab_inet1"
	LAB_ADDR[srv]=$LAB_SRV

	case $topo in
	lan) m1=cone ;;
	mixed) m1=cone m2=symmetric m3=cone ;;
	symmetric) m1=symmetric m2=symmetric m3=cone ;;
	cone | hairpin | double) m1=cone m2=cone m3=cone ;;
	*) m1=$topo m2=$topo m3=$topo ;;
	esac
	m3=${LAB_R3_MODE:-$m3}
	if [ "$topo" = double ]; then
		_lab_router cgn1 "${LAB_CGN_MODE:-cone}" inet "${_lab_wan[r1]}" "$_lab_inet2" 100.64.1
		_lab_router cgn2 "${LAB_CGN_MODE:-cone}" inet "${_lab_wan[r2]}" "$_lab_inet2" 100.64.2
		_lab_router r1 cone cgn1 100.64.1.2 100.64.1.1
		_lab_router r2 cone cgn2 100.64.2.2 100.64.2.1
		_lab_client a r1 10
		_lab_client b r2 10
	else
		_lab_router r1 "$m1"
	fi
	if [ "$topo" = double ]; then
		:
	elif [ "$topo" = hairpin ]; then
		_lab_hairpin_lan2
		_lab_client a r1 10
		_lab_client b r1 10 lan2 10.1.1
	elif [ "$topo" = lan ]; then
		_lab_client a r1 10
		_lab_client b r1 11
		_lab_client c r1 12
		[ "${LAB_CLIENTS:-3}" != 4 ] || _lab_client d r1 13
	else
		_lab_router r2 "$m2"
		_lab_client a r1 10
		_lab_client b r2 10
		if [ "${LAB_CLIENTS:-2}" = 3 ]; then
			_lab_router r3 "$m3"
			_lab_client c r3 10
		fi
		# LAB_LAN_PEER=1: d shares a's LAN behind r1 (10.1.0.11).
		[ "${LAB_LAN_PEER:-0}" -ge 1 ] && _lab_client d r1 11
		[ "${LAB_LAN_PEER:-0}" -ge 2 ] && _lab_client e r1 12
	fi
	[ "${LAB_NO_SERVICES:-0}" = 1 ] || lab_services_up
	for h in a b c d e; do
		[ -n "${LAB_NSMAP[$h]:-}" ] || continue
		wait_until 5 lab_exec "$h" ping -c1 -W1 "$LAB_SRV" ||
			fail "natlab: $h cannot reach srv after lab_up $topo"
	done
	t_log "lab $topo up ($LAB_PREFIX-*)"
}

# lab_down: stops the services and every process still running in the lab
# namespaces (by pid), deletes the namespaces. Safe to call twice.
lab_down() {
	[ -n "$LAB_PREFIX" ] || return 0
	local h ns pid pids=() keep=() n
	lab_broker_stop
	lab_turn_stop
	for h in "${!LAB_NSMAP[@]}"; do
		for pid in $(ip netns pids "${LAB_NSMAP[$h]}" 2>/dev/null); do
			pids+=("$pid")
		done
	done
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 1 30); do pid_running "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		t_untrack "$pid"
	done
	for h in "${!LAB_NSMAP[@]}"; do
		ns=${LAB_NSMAP[$h]}
		ip netns del "$ns" 2>/dev/null
	done
	for n in "${T_NS[@]}"; do
		[[ $n == "$LAB_PREFIX"-* ]] || keep+=("$n")
	done
	T_NS=("${keep[@]}")
	LAB_NSMAP=() LAB_ADDR=() LAB_GW=() LAB_MODE=() LAB_ADDR6=() LAB_UP=()
	LAB_PREFIX='' LAB_TOPO=''
	return 0
}
