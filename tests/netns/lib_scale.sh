# shellcheck shell=bash
# Many tund hosts for the scale benchmark, built from natlab.sh's pieces (its
# namespaces, srv with mosquitto and coturn, lab_exec/lab_down). Source after
# lib.sh and natlab.sh, call t_init, then scale_up N routed|lan.
#
#   routed  host nI on its own subnet 10.100.I.0/24, routed by "inet"
#           (10.100.I.1): no NAT, and LAN beacons (link-local multicast and
#           broadcast) never reach another member, so only the broker can
#           introduce members.
#   lan     every host on one bridge 10.100.0.0/16 in "inet": beacons find
#           every member as well.
# srv (198.51.100.10) is reached through inet as in natlab.sh. Hosts are
# named n1..nN (lab_ns nI, tund_node nI).

# scale_up N TOPOLOGY
scale_up() {
	local n=$1 topo=$2 i ns inet
	[ -n "$T_DIR" ] || fail "lib_scale: call t_init first"
	[ -z "$LAB_PREFIX" ] || fail "lib_scale: a lab is already up"
	case $topo in routed | lan) ;; *) fail "lib_scale: unknown topology '$topo'" ;; esac
	LAB_PREFIX=$(printf 'tt-%s-%d-%04x' "${LAB_TAG:-scale}" $$ $((RANDOM)))
	LAB_TOPO=$topo
	LAB_NSMAP=() LAB_ADDR=() LAB_GW=() LAB_MODE=()
	trap 'lab_down; t_cleanup' EXIT
	export LAB_SRV=198.51.100.10 LAB_SRV2=198.51.100.11
	export LAB_MQTT_URL=mqtt://$LAB_SRV:1883
	export LAB_TURN_UDP="turn://tund:tundpass@$LAB_SRV:3478?transport=udp"

	_lab_mkns inet
	inet=${LAB_NSMAP[inet]}
	_lab_bridge inet br0
	ip -n "$inet" addr add "$_lab_inet1/24" dev br0
	ip netns exec "$inet" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.send_redirects=0 >/dev/null
	_lab_mkns srv
	_lab_plug srv eth0 inet br0 p-srv
	ip -n "${LAB_NSMAP[srv]}" addr add "$LAB_SRV/24" dev eth0
	ip -n "${LAB_NSMAP[srv]}" addr add "$LAB_SRV2/24" dev eth0
	ip -n "${LAB_NSMAP[srv]}" route add default via "$_lab_inet1"
	LAB_ADDR[srv]=$LAB_SRV
	if [ "$topo" = lan ]; then
		_lab_bridge inet lan
		ip -n "$inet" addr add 10.100.0.1/16 dev lan
	fi
	for i in $(seq 1 "$n"); do
		_lab_mkns "n$i"
		ns=${LAB_NSMAP[n$i]}
		if [ "$topo" = lan ]; then
			_lab_plug "n$i" eth0 inet lan "p-n$i"
			LAB_ADDR[n$i]=10.100.$((i / 250)).$((i % 250 + 2))
			ip -n "$ns" addr add "${LAB_ADDR[n$i]}/16" brd + dev eth0
			ip -n "$ns" route add default via 10.100.0.1
		else
			[ "$i" -le 250 ] || fail "lib_scale: routed has room for 250 hosts"
			ip -n "$ns" link add eth0 type veth peer name "p-n$i" netns "$inet" ||
				fail "lib_scale: veth for n$i"
			ip -n "$inet" addr add "10.100.$i.1/24" dev "p-n$i"
			ip -n "$inet" link set "p-n$i" up
			ip -n "$ns" link set eth0 up
			LAB_ADDR[n$i]=10.100.$i.2
			ip -n "$ns" addr add "${LAB_ADDR[n$i]}/24" brd + dev eth0
			ip -n "$ns" route add default via "10.100.$i.1"
		fi
	done
	[ "${LAB_NO_SERVICES:-0}" = 1 ] || lab_services_up
	for i in $(seq 1 "$n"); do
		wait_until 5 lab_exec "n$i" ping -c1 -W1 "$LAB_SRV" ||
			fail "lib_scale: n$i cannot reach srv"
	done
	t_log "scale lab $topo with $n hosts up ($LAB_PREFIX-*)"
}
