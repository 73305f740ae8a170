#!/usr/bin/env bash
# make demo: three friends behind home routers (network namespaces with NAT),
# a broker (mosquitto) and a STUN/TURN server (coturn) on the "internet".
# Friend a creates a network, b, c and d join with the invite, and they ping
# each other over the encrypted overlay: a and b directly through their cone
# NATs, c (behind a symmetric NAT) through the TURN relay, a and d (on one
# LAN) over the LAN, found by LAN beacon. Everything is
# removed at the end, also on Ctrl-C. Finally a game server on c is found by a
# with a UDP broadcast, as legacy LAN games do.
set -u
. "$(dirname "$0")/netns/lib.sh"
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)" >&2; exit 1; }
t_init demo
. "$(dirname "$0")/netns/natlab.sh"
. "$(dirname "$0")/netns/lib_tund.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '[%s]$ tundctl %s\n' "$1" "${*:2}"; ctl "$@"; }

say "The internet: a broker and a STUN/TURN server; friends a and b behind cone NATs, c behind a symmetric NAT, d on a's LAN"
LAB_CLIENTS=3 LAB_R3_MODE=symmetric LAB_LAN_PEER=1 lab_up cone
for h in a b c d; do tund_node "$h"; done

say "a creates a network; the invite is the last line"
show a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tee "$T_DIR/create.out"
invite=$(tail -n 1 "$T_DIR/create.out")

say "b, c and d join with the invite"
show b join "$invite"
show c join "$invite"
show d join "$invite"
A=$(overlay_addr a) B=$(overlay_addr b) C=$(overlay_addr c) D=$(overlay_addr d)

say "They find each other through the broker and open ICE paths"
wait_until 60 pings a "$B" || fail "a cannot reach b"
wait_until 60 pings a "$C" || fail "a cannot reach c"
wait_until 60 pings b "$C" || fail "b cannot reach c"
wait_until 60 pings a "$D" || fail "a cannot reach d"
# d's beacon makes a probe d's LAN address; once d answers there (an
# authenticated handshake), that is the path. Both ends must have heard a
# beacon: until d has heard a's, d may still send over its ICE session, and
# a then follows d there (WireGuard roaming), showing direct (host→host).
lan_both() { path_is a "$(pubkey d)" lan && path_is d "$(pubkey a)" lan; }
wait_until 30 lan_both || fail "a and d do not both use the LAN path"
show a peers
show c peers

say "a pings b ($B) and c ($C) through the tunnel"
show a ping "$(pubkey b)" -c 3
show a ping "$(pubkey c)" -c 3
printf '[a]$ ping %s\n' "$C"
lab_exec a ping -c 3 -i 0.3 "$C"

say "A LAN game: c runs a server on UDP 27015; a finds it by broadcast to 255.255.255.255"
lab_bg c "$T_DIR/game.log" python3 "$TOP/tests/netns/game.py" server 27015
wait_until 10 grep -q ready "$T_DIR/game.log" || fail "game server did not start"
printf '[a]$ game query 255.255.255.255:27015\n'
lab_exec a python3 "$TOP/tests/netns/game.py" query 255.255.255.255 27015

say "Done; tearing the lab down"
