#!/usr/bin/env bash
# make demo: two machines (network namespaces joined by a cable), one tund
# each. They exchange public keys, become peers and ping each other over the
# encrypted overlay. Everything is removed at the end, also on Ctrl-C.
set -u
. "$(dirname "$0")/netns/lib.sh"
t_init demo
. "$(dirname "$0")/netns/lib_pair.sh"
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed 's/^\$ ctl_\(.\)/[\1]$ tundctl/'; "$@"; }

say "Two machines, a (192.0.2.1) and b (192.0.2.2), each starting tund"
pair_ns
node_conf a 1
node_conf b 2
start_a
start_b
show ctl_a status
show ctl_b status

say "They add each other as peers (public key, endpoint, overlay address)"
PUB_A=$(ctl_a status --json | jq -r .public_key)
PUB_B=$(ctl_b status --json | jq -r .public_key)
show ctl_a peer add "$PUB_B" --name b --endpoint 192.0.2.2:51820 --allowed-ips 10.77.0.2/32,fd77::2/128
show ctl_b peer add "$PUB_A" --name a --endpoint 192.0.2.1:51820 --allowed-ips 10.77.0.1/32,fd77::1/128

say "a pings b through the tunnel (WireGuard protocol, IPv4 and IPv6)"
wait_until 20 ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 || fail "no answer through the tunnel"
show ip netns exec "$NS_A" ping -c 3 -i 0.3 10.77.0.2
show ip netns exec "$NS_A" ping -c 2 -i 0.3 fd77::2

say "What a sees of its peer"
show ctl_a peers

say "Done; removing the namespaces"
