# shellcheck shell=bash
# Brings up each compared VPN between the pair namespaces $NS_A and $NS_B
# (lib_pair.sh: veth 192.0.2.1 <-> 192.0.2.2, MTU 1500). All run at once, each
# with its own overlay subnet, port and device, overlay MTU $BENCH_MTU:
#   tund          10.77.0.0/16  UDP 51820  (lib_pair.sh's tt0)
#   wireguard-go  10.88.0.0/24  UDP 51830
#   nebula        10.89.0.0/24  UDP 4242   AES-256-GCM (its default), no lighthouse
#   tinc          10.90.0.0/24  UDP 655    1.0 router mode, AES-256-CBC + SHA256
#   openvpn       10.91.0.0/24  UDP 1194   p2p, TLS (pinned P-256 certs), AES-256-GCM, no DCO
#   floor         10.92.0.0/24  UDP 5101   tests/bench/floor_fwd.c: one read and one send per
#   floor-seal    10.93.0.0/24  UDP 5102   packet, no VPN logic (-seal: ChaCha20-Poly1305); a
#                                          yardstick for idle latency only
# vpn_up NAME sets TARGET[NAME] (the address b answers on, pinged and
# iperf'd from a) and DAEMONS[NAME] (pids of the daemons at both ends).
# Every daemon stays in the foreground so its pid is the one doing the work.

declare -gA TARGET=() DAEMONS=()
BENCH_MTU=${BENCH_MTU:-1420}
WG_SOCKS=()

# bg NS LOG CMD...: a daemon in NS, tracked for cleanup; pid in BG_PID.
# (ip netns exec execs CMD, so $! is the daemon itself.)
bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$log" 2>&1 </dev/null &
	BG_PID=$!
	t_track "$BG_PID"
}

# peer_of a|b: the other side; ns_of / under_of a|b: namespace, veth address.
peer_of() { [ "$1" = a ] && echo b || echo a; }
ns_of() { [ "$1" = a ] && echo "$NS_A" || echo "$NS_B"; }
under_of() { [ "$1" = a ] && echo 192.0.2.1 || echo 192.0.2.2; }
idx_of() { [ "$1" = a ] && echo 1 || echo 2; }

vpn_up_veth() { TARGET[veth]=192.0.2.2; DAEMONS[veth]=""; }

vpn_up_tund() {
	node_conf a 1; node_conf b 2
	sed -i "s/^mtu = .*/mtu = $BENCH_MTU/" "$T_DIR/a.conf" "$T_DIR/b.conf"
	start_a; start_b
	PUB_A=$(ctl_a status --json | jq -r .public_key)
	PUB_B=$(ctl_b status --json | jq -r .public_key)
	ctl_a peer add "$PUB_B" --endpoint 192.0.2.2:51820 --allowed-ips 10.77.0.2/32 >/dev/null ||
		fail "tund: peer add on a"
	ctl_b peer add "$PUB_A" --endpoint 192.0.2.1:51820 --allowed-ips 10.77.0.1/32 >/dev/null ||
		fail "tund: peer add on b"
	TARGET[tund]=10.77.0.2
	DAEMONS[tund]="$PID_A $PID_B"
}

vpn_up_wireguard-go() {
	local n dev w=$T_DIR/wg pids=""
	mkdir -p -m 700 "$w"
	for n in a b; do
		(umask 077 && wg genkey >"$w/$n.key" && wg pubkey <"$w/$n.key" >"$w/$n.pub")
	done
	for n in a b; do
		dev=ttbw$$$n
		WG_SOCKS+=("/var/run/wireguard/$dev.sock")
		bg "$(ns_of $n)" "$T_DIR/wireguard-go-$n.log" \
			env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go -f "$dev"
		pids="$pids $BG_PID"
		wait_until 20 test -S "/var/run/wireguard/$dev.sock" || fail "wireguard-go $n did not start"
		ip netns exec "$(ns_of $n)" wg set "$dev" private-key "$w/$n.key" listen-port 51830 \
			peer "$(cat "$w/$(peer_of $n).pub")" endpoint "$(under_of "$(peer_of $n)"):51830" \
			allowed-ips "10.88.0.$(idx_of "$(peer_of $n)")/32" || fail "wg set on $n"
		ip -n "$(ns_of $n)" addr add "10.88.0.$(idx_of $n)/24" dev "$dev"
		ip -n "$(ns_of $n)" link set "$dev" mtu "$BENCH_MTU" up
	done
	TARGET[wireguard-go]=10.88.0.2
	DAEMONS[wireguard-go]=${pids# }
}

vpn_up_nebula() {
	local n p w=$T_DIR/nebula pids=""
	mkdir -p -m 700 "$w"
	(cd "$w" && nebula-cert ca -name tt-bench -duration 24h &&
		nebula-cert sign -name a -ip 10.89.0.1/24 && nebula-cert sign -name b -ip 10.89.0.2/24) \
		>"$T_DIR/nebula-cert.log" 2>&1 || fail "nebula-cert"
	for n in a b; do
		p=$(peer_of $n)
		cat >"$w/$n.yml" <<YML
pki:
  ca: $w/ca.crt
  cert: $w/$n.crt
  key: $w/$n.key
static_host_map:
  "10.89.0.$(idx_of "$p")": ["$(under_of "$p"):4242"]
lighthouse:
  am_lighthouse: false
listen:
  host: 0.0.0.0
  port: 4242
punchy:
  punch: false
cipher: aes
tun:
  dev: ttbn$$$n
  mtu: $BENCH_MTU
logging:
  level: warning
firewall:
  outbound:
    - {port: any, proto: any, host: any}
  inbound:
    - {port: any, proto: any, host: any}
YML
		bg "$(ns_of $n)" "$T_DIR/nebula-$n.log" nebula -config "$w/$n.yml"
		pids="$pids $BG_PID"
	done
	TARGET[nebula]=10.89.0.2
	DAEMONS[nebula]=${pids# }
}

vpn_up_tinc() {
	local n d w=$T_DIR/tinc pids=""
	for n in a b; do
		d=$w/$n
		mkdir -p "$d/hosts"
		chmod 700 "$d"
		printf 'Name = %s\nMode = router\nAddressFamily = ipv4\nInterface = ttbt%s%s\nConnectTo = %s\n' \
			"$n" $$ "$n" "$(peer_of $n)" >"$d/tinc.conf"
		printf 'Address = %s\nSubnet = 10.90.0.%s/32\nCipher = aes-256-cbc\nDigest = sha256\n' \
			"$(under_of $n)" "$(idx_of $n)" >"$d/hosts/$n"
		printf '#!/bin/sh\nip addr add 10.90.0.%s/24 dev "$INTERFACE"\nip link set "$INTERFACE" mtu %s up\n' \
			"$(idx_of $n)" "$BENCH_MTU" >"$d/tinc-up"
		chmod +x "$d/tinc-up"
		tincd -c "$d" -K 2048 </dev/null >>"$T_DIR/tinc-keys.log" 2>&1 || fail "tincd -K"
	done
	cp "$w/a/hosts/a" "$w/b/hosts/a"
	cp "$w/b/hosts/b" "$w/a/hosts/b"
	for n in a b; do
		bg "$(ns_of $n)" "$T_DIR/tinc-$n.log" tincd -c "$w/$n" -D \
			--pidfile="$w/$n/tinc.pid" --logfile="$T_DIR/tinc-$n.log"
		pids="$pids $BG_PID"
	done
	TARGET[tinc]=10.90.0.2
	DAEMONS[tinc]=${pids# }
}

vpn_up_openvpn() {
	local n p role w=$T_DIR/openvpn pids=""
	mkdir -p -m 700 "$w"
	for n in a b; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj "/CN=tt-bench-$n" -keyout "$w/$n.key" -out "$w/$n.crt" >/dev/null 2>&1 ||
			fail "openssl req"
		openssl x509 -in "$w/$n.crt" -noout -fingerprint -sha256 | cut -d= -f2 >"$w/$n.fp"
	done
	for n in a b; do
		p=$(peer_of $n)
		if [ $n = a ]; then role=(--tls-client); else role=(--tls-server --dh none); fi
		bg "$(ns_of $n)" "$T_DIR/openvpn-$n.log" openvpn --dev "ttbo$$$n" --dev-type tun \
			--proto udp4 --local "$(under_of $n)" --lport 1194 --remote "$(under_of "$p")" --rport 1194 \
			--ifconfig "10.91.0.$(idx_of $n)" "10.91.0.$(idx_of "$p")" --tun-mtu "$BENCH_MTU" \
			"${role[@]}" --cert "$w/$n.crt" --key "$w/$n.key" --peer-fingerprint "$(cat "$w/$p.fp")" \
			--data-ciphers AES-256-GCM --disable-dco --ping 10 --verb 1
		pids="$pids $BG_PID"
	done
	TARGET[openvpn]=10.91.0.2
	DAEMONS[openvpn]=${pids# }
}

# vpn_up_floor_with NAME IDX PORT [--seal]: floor_fwd at both ends.
vpn_up_floor_with() {
	local name=$1 idx=$2 net=10.$((91 + $2)).0 port=$3 n dev pids=""
	shift 3
	for n in a b; do
		dev=ttbf$$$n$idx
		bg "$(ns_of $n)" "$T_DIR/$name-$n.log" "$FLOOR_FWD" "$dev" "$port" \
			"$(under_of "$(peer_of $n)")" "$port" "$@"
		pids="$pids $BG_PID"
		wait_until 10 ip -n "$(ns_of $n)" link show "$dev" >/dev/null 2>&1 ||
			fail "$name: no $dev on $n"
		ip -n "$(ns_of $n)" addr add "$net.$(idx_of $n)/24" dev "$dev"
		ip -n "$(ns_of $n)" link set "$dev" mtu "$BENCH_MTU" up
	done
	TARGET[$name]=$net.2
	DAEMONS[$name]=${pids# }
}
vpn_up_floor() { vpn_up_floor_with floor 1 5101; }
vpn_up_floor-seal() { vpn_up_floor_with floor-seal 2 5102 --seal; }

# vpn_up NAME: brings it up and waits until b answers through it; status 1
# (logs kept) if it does not.
vpn_up() {
	"vpn_up_$1"
	wait_until 60 ip netns exec "$NS_A" ping -c 1 -W 1 "${TARGET[$1]}"
}

# vpn_alive NAME: every daemon of NAME still runs.
vpn_alive() {
	local pid
	for pid in ${DAEMONS[$1]}; do pid_running "$pid" || return 1; done
}

vpn_cleanup() { rm -f "${WG_SOCKS[@]}"; }
