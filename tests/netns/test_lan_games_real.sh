#!/usr/bin/env bash
# Real game servers from Debian found over tund: a Teeworlds 0.7 server and a
# Sauerbraten (cube2) server run on b, behind one cone NAT; a, behind another,
# browses the LAN the way each game's client does (tests/netns/lanbrowse.py:
# 255.255.255.255 on 8303-8310 with the token exchange; 255.255.255.255:28784)
# and gets each server's info reply, with the name we configured, from b's
# overlay address. a and b share no LAN: only the overlay carries it.
set -u
. "$(dirname "$0")/lib.sh"
t_init lan_games_real
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
TW=/usr/games/teeworlds-server CUBE2=/usr/games/cube2-server
for bin in "$TW" "$CUBE2"; do
	[ -x "$bin" ] || fail "$bin missing: run packaging/install-deps.sh"
done
BROWSE="python3 $TOP/tests/netns/lanbrowse.py"
lab_up cone
for h in a b; do tund_node "$h"; done
invite=$(ctl a network create games --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
ctl b join "$invite" >/dev/null || fail "b: join"
B=$(overlay_addr b)
wait_until 60 pings a "$B" || fail "a cannot ping b ($B)"

mkdir -p "$T_DIR/home"
# The Teeworlds server on 8305 (not the first port: the client scans 8303-8310).
lab_bg b "$T_DIR/teeworlds.log" env HOME="$T_DIR/home" "$TW" \
	"sv_name tund lab tee" "sv_port 8305" "sv_register 0"
# -m: a master server name that resolves locally (the default one is looked
# up by DNS, which must not leave the lab).
lab_bg b "$T_DIR/cube2.log" env HOME="$T_DIR/home" "$CUBE2" -ntund-lab-cube -m127.0.0.1
listening() { lab_exec b ss -lunH "sport = :$1" | grep -q .; }
wait_until 30 listening 8305 || fail "teeworlds-server does not listen on 8305"
wait_until 30 listening 28784 || fail "cube2-server does not listen on 28784"

got=$(lab_exec a $BROWSE teeworlds 255.255.255.255 6)
grep -qx "server $B:8305 tund lab tee" <<<"$got" || fail "teeworlds LAN browse from a: '$got', want 'server $B:8305 tund lab tee'"
t_log "teeworlds: a found '$(head -n 1 <<<"$got")'"

got=$(lab_exec a $BROWSE cube2 255.255.255.255 6)
grep -qx "server $B:[0-9]* tund-lab-cube" <<<"$got" || fail "cube2 LAN browse from a: '$got', want 'server $B:PORT tund-lab-cube'"
t_log "cube2: a found '$(head -n 1 <<<"$got")'"

# And the other way round: the same browse on a with tund stopped on b finds
# nothing (the answer really came through the overlay).
tund_stop b
got=$(lab_exec a $BROWSE cube2 255.255.255.255 3)
[ -z "$got" ] || fail "cube2 browse found '$got' with tund stopped on b"
echo "PASS lan_games_real"
