#!/bin/sh
# Installs what `make bench` measures against (Debian packages), and nothing
# when it is all there already: the VPNs, the tools, and for paths.sh's NAT
# lab mosquitto, coturn (its TURN relay and the relay rows' ceiling) and
# nftables. Needs root for apt-get.
set -eu

PKGS="iperf3 jq iproute2 iputils-ping procps wireguard-go wireguard-tools
nebula tinc openvpn openssl linux-perf valgrind mosquitto coturn nftables"

missing=
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "bench deps: missing:$missing; run as root" >&2
	exit 1
fi
echo "bench deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian may enable these services on install; the bench starts its own.
for svc in openvpn tinc nebula mosquitto coturn; do
	systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "bench deps: done"
