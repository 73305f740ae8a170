#!/bin/sh
# Installs what building, testing and the demo need on Debian 12 (the test
# suite includes two real game servers, teeworlds-server and cube2-server,
# for tests/netns/test_lan_games_real.sh, and gdb, which shows where a daemon
# that does not stop hangs), and nothing
# when it is all there already. Needs root for apt-get.
set -eu

BUILD="gcc make pkg-config libnice-dev libglib2.0-dev libjson-glib-dev libsodium-dev
libmnl-dev libmosquitto-dev libnftables-dev libssl-dev libminiupnpc-dev libnatpmp-dev"
TEST="clang iproute2 nftables jq socat iputils-ping iperf3 procps coreutils
wireguard-go wireguard-tools mosquitto mosquitto-clients coturn tcpdump python3
dpkg-dev groff-base mmdebstrap systemd-container ethtool gdb
teeworlds-server cube2-server miniupnpd-nftables miniupnpc"

missing=
for p in $BUILD $TEST; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "install-deps: everything is installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian enables these services on install; tests start their own instances.
for svc in mosquitto coturn miniupnpd; do
	systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "install-deps: done"
