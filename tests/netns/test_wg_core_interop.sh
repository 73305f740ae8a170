#!/bin/bash
# SPDX-License-Identifier: MIT
# The WireGuard protocol core (overlay/noise, cookie, keypair) against a stock
# wireguard-go, in a private network namespace over loopback: we initiate
# (with and without PSK), wireguard-go initiates and we respond, and we answer
# with a cookie reply as if under load, then accept its mac2 retry.
# Needs root, wireguard-go, wg, libsodium. Exit 0 on pass, 77 to skip.
set -u
umask 077
NS=tt-wgcore-$$
IF=ttwgcore0
here=$(cd "$(dirname "$0")/../.." && pwd)

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for tool in wireguard-go wg ip ping cc; do
	command -v $tool >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done

tmp=$(mktemp -d)
wgpid=
cleanup() {
	[ -n "$wgpid" ] && kill "$wgpid" 2>/dev/null && wait "$wgpid" 2>/dev/null
	ip netns del $NS 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The protocol core as tund links it (make builds build/liboverlay.a).
make -s -C "$here" build/liboverlay.a >/dev/null || exit 1
cc -std=gnu11 -Wall -Wextra -Werror -I"$here" -o "$tmp/probe" "$here/tests/netns/wg_core_probe.c" \
	"$here/build/liboverlay.a" $(pkg-config --cflags --libs libsodium libcrypto) -lpthread || exit 1

# run MODE [psk]
run() {
	local mode=$1 usepsk=${2:-} rc pskarg=- pskopt=() ep=() probe
	ip netns del $NS 2>/dev/null
	ip netns add $NS || return 1
	ip netns exec $NS ip link set lo up
	wg genkey >"$tmp/wgpriv"
	local wgpub mypriv mypub
	wgpub=$(wg pubkey <"$tmp/wgpriv")
	mypriv=$(wg genkey)
	mypub=$(echo "$mypriv" | wg pubkey)
	if [ -n "$usepsk" ]; then
		wg genpsk >"$tmp/psk"
		pskarg=$(cat "$tmp/psk")
		pskopt=(preshared-key "$tmp/psk")
	fi
	[ "$mode" != init ] && ep=(endpoint 127.0.0.1:40000)
	ip netns exec $NS env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose \
		wireguard-go $IF >"$tmp/wg-$mode.log" 2>&1 &
	wgpid=$!
	for _ in $(seq 50); do
		ip netns exec $NS ip link show $IF >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip netns exec $NS wg set $IF private-key "$tmp/wgpriv" listen-port 51820 \
		peer "$mypub" allowed-ips 10.99.0.2/32 "${ep[@]}" "${pskopt[@]}" || return 1
	ip netns exec $NS ip addr add 10.99.0.1/24 dev $IF
	ip netns exec $NS ip link set $IF up
	if [ "$mode" = init ]; then
		ip netns exec $NS "$tmp/probe" init "$mypriv" "$wgpub" "$pskarg"
		rc=$?
	else
		ip netns exec $NS "$tmp/probe" "$mode" "$mypriv" "$wgpub" "$pskarg" &
		probe=$!
		sleep 0.3
		ip netns exec $NS ping -c 1 -W 12 10.99.0.2 >/dev/null 2>&1 &
		wait $probe
		rc=$?
	fi
	kill "$wgpid" 2>/dev/null
	wait "$wgpid" 2>/dev/null
	wgpid=
	ip netns del $NS
	if [ $rc -ne 0 ]; then
		echo "FAIL: mode=$mode psk=${usepsk:-no} (probe exit $rc)"
		tail -n 20 "$tmp/wg-$mode.log"
		return 1
	fi
	echo "ok: mode=$mode psk=${usepsk:-no}"
}

fail=0
run init || fail=1
run init psk || fail=1
run resp || fail=1
run resp psk || fail=1
run cookie psk || fail=1
exit $fail
