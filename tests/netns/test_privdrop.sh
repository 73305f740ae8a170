#!/usr/bin/env bash
# Least privilege. Started as root, tund runs as an unprivileged user with
# only CAP_NET_ADMIN once its interface is up (bounding set reduced,
# no_new_privs), and everything still works: ICE and the broker between two
# friends behind cone NATs, ping and a TCP transfer, broadcast rules in
# nftables, state files written, the control socket usable by the user's
# group and nobody else, and on SIGTERM the interface, the nft table and the
# socket go. a starts as the packaged unit starts it (the unit's bounding
# set, directories already the user's) with /dev/net/tun at 0600, b as plain
# root with the node at 0666; each capability of the unit's bounding set is
# shown to be needed. Then the same user started directly with an ambient
# CAP_NET_ADMIN (as systemd's User= + AmbientCapabilities= do): with the
# node at 0600 tund says in one line why it cannot start and exits 1; at
# 0666 it does not try to drop, and works. Each tund sees a /dev/net/tun of
# its own (tests/netns/lib_dev.sh): the machine's node is never changed.
# Every tund here is not dumpable (no core file with keys; the user's
# other processes cannot read its memory).
set -u
. "$(dirname "$0")/lib.sh"
t_init privdrop
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_dev.sh"
need_tun

# A throwaway system user (and its group), removed after everything it ran.
U=ttpd$$
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$U" || fail "cannot create user $U"
UID_U=$(id -u "$U") GID_U=$(id -g "$U")
remove_user() { userdel "$U" 2>/dev/null || userdel -f "$U" 2>/dev/null; }
lab_up cone
trap 'lab_down; t_cleanup; remove_user' EXIT
# The scratch directory is root's 0700: the user must be able to pass through.
chmod 711 "$T_DIR"

# The control socket lives in its own directory: for b one tund creates (it
# hands it to the user so it can remove the socket at exit), for a one that
# is the user's already (as systemd's RuntimeDirectory= with User= makes).
ctl() { local h=$1; shift; "$TUNDCTL" --socket "$T_DIR/$h/run/tund.sock" "$@"; }
# pd_conf HOST: the config; the log starts empty.
pd_conf() {
	mkdir -p "$T_DIR/$1"
	cat >"$T_DIR/$1.conf" <<CFG
[interface]
name = tt0
mtu = 1380
listen_port = 51820
[paths]
state_dir = $T_DIR/$1/state
control_socket = $T_DIR/$1/run/tund.sock
[daemon]
user = $U
CFG
}
# pd_node HOST TUN-MODE [PREFIX-CMD...]: tund on HOST with /dev/net/tun at
# TUN-MODE, as root or through PREFIX-CMD; waits until it answers.
pd_node() {
	local h=$1 tm; shift
	tun_mode tm "$1"; shift
	pd_conf "$h"
	ip netns exec "$(lab_ns "$h")" "${tm[@]}" "$@" "$TUND" --config "$T_DIR/$h.conf" \
		>>"$T_DIR/tund-$h.log" 2>&1 &
	t_track $!
	printf -v "PID_$h" '%s' $!
	wait_until 20 ctl "$h" status || fail "tund on $h did not start"
}
# pd_fails HOST TUN-MODE [PREFIX-CMD...]: tund must exit at start; its exit
# status goes to RC and its log to $T_DIR/start-HOST.out.
pd_fails() {
	local h=$1 tm; shift
	tun_mode tm "$1"; shift
	pd_conf "$h"
	timeout 30 ip netns exec "$(lab_ns "$h")" "${tm[@]}" "$@" "$TUND" --config "$T_DIR/$h.conf" \
		>"$T_DIR/start-$h.out" 2>&1
	RC=$?
	[ $RC = 124 ] && fail "tund on $h started where it must not: $(tail -n 3 "$T_DIR/start-$h.out")"
	[ $RC = 125 ] && fail "cannot give tund on $h its own /dev/net/tun: $(cat "$T_DIR/start-$h.out")"
	return 0
}
# user_dirs HOST: state and socket directories owned by the user, as
# systemd's StateDirectory=/RuntimeDirectory= with User= make them.
user_dirs() {
	rm -rf "$T_DIR/$1/state" "$T_DIR/$1/run"
	mkdir -p "$T_DIR/$1"
	install -d -m 0700 -o "$U" -g "$U" "$T_DIR/$1/state"
	install -d -m 0755 -o "$U" -g "$U" "$T_DIR/$1/run"
}
# The packaged unit's bounding set, in setpriv's words.
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$TOP/packaging/tund.service" | tr 'A-Z' 'a-z' | sed 's/cap_//g')
[ -n "$unit_caps" ] || fail "no CapabilityBoundingSet= in packaging/tund.service"
bset() { local c out=-all; for c in $unit_caps; do [ "$c" = "${1:-}" ] || out="$out,+$c"; done; echo "$out"; }
# can_raise_rtprio: this root may raise RLIMIT_RTPRIO (has CAP_SYS_RESOURCE).
can_raise_rtprio() { prlimit --rtprio=1:1 true 2>/dev/null; }
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
NET_ADMIN=0000000000001000 # bit 12
# as_u CMD...: as the user with CAP_NET_ADMIN, as tund has it (reading another
# process's /proc/PID/environ needs the same uid and no fewer capabilities).
AS_U=(setpriv --reuid="$U" --regid="$U" --init-groups --inh-caps=+net_admin
	--ambient-caps=+net_admin)
as_u() { "${AS_U[@]}" "$@"; }
# undumpable PID: such a process may not read PID's environment (no core
# file, no ptrace, no /proc/PID/mem for a same-user process either).
readable() { as_u cat "/proc/$1/environ" >/dev/null 2>&1; }
undumpable() { ! readable "$1"; }
# The check can tell: a dumpable process of the user is readable by as_u.
"${AS_U[@]}" sleep 60 & # not as_u: $! must be the process itself
probe=$!
t_track "$probe"
wait_until 5 readable "$probe" ||
	fail "as_u cannot read the environment of its own dumpable process: undumpable would prove nothing"
kill "$probe"

# Each capability of the unit's set but CAP_NET_ADMIN (kept) and
# CAP_NET_RAW (only tundctl ping's socket) is needed to start and switch:
# without it, tund stops at start with a line saying what failed.
for c in $unit_caps; do
	case $c in net_admin | net_raw) continue ;; esac
	user_dirs a
	pd_fails a 0600 setpriv --bounding-set="$(bset "$c")"
	[ $RC = 1 ] || fail "without cap_$c: exit $RC, not 1: $(tail -n 3 "$T_DIR/start-a.out")"
	case $c in
	dac_override) want="state/private.key: cannot open: Permission denied" ;;
	chown) want="cannot hand $T_DIR/a/state to user $U: Operation not permitted" ;;
	setuid) want="cannot drop privileges to user $U: setresuid: Operation not permitted" ;;
	setgid) want="cannot drop privileges to user $U: setgroups: Operation not permitted" ;;
	setpcap) want="cannot drop privileges to user $U: PR_CAPBSET_DROP: Operation not permitted" ;;
	*) fail "the unit's bounding set has cap_$c, which this test does not know" ;;
	esac
	grep '^error:' "$T_DIR/start-a.out" | grep -qF "$want" ||
		fail "without cap_$c: not '$want': $(grep '^error:' "$T_DIR/start-a.out")"
	t_log "without cap_$c: $(grep -m 1 '^error:' "$T_DIR/start-a.out")"
done
lab_exec a ip link show tt0 >/dev/null 2>&1 && fail "a failed start left tt0"
# Without CAP_NET_RAW tund starts and works; only tundctl ping fails (README).
user_dirs a
pd_node a 0600 setpriv --bounding-set="$(bset net_raw)"
grep -q 'no ICMP socket for tundctl ping yet' "$T_DIR/tund-a.log" || fail "without cap_net_raw: no warning about the ICMP socket"
SK=$("$TUNDCTL" genkey | "$TUNDCTL" pubkey)
ctl a peer add "$SK" --name norawpeer --allowed-ips 10.250.0.9/32 >/dev/null || fail "without cap_net_raw: peer add failed"
out=$(ctl a ping norawpeer -c 1 2>&1) && fail "without cap_net_raw: tundctl ping worked: $out"
grep -qi 'socket' <<<"$out" || fail "without cap_net_raw: tundctl ping fails for another reason: $out"
tund_stop a
t_log "without cap_net_raw: starts, serves, only tundctl ping fails: $out"
: >"$T_DIR/tund-a.log"

user_dirs a
pd_node a 0600 setpriv --bounding-set="$(bset)"
pd_node b 0666
for h in a b; do
	var=PID_$h
	t_log "$h sees /dev/net/tun $(tun_mode_of "${!var}")"
done
# shellcheck disable=SC2154 # PID_a, PID_b: set by pd_node (printf -v)
[ "$(tun_mode_of "$PID_a")" = 600 ] && [ "$(tun_mode_of "$PID_b")" = 666 ] ||
	fail "the nodes are not 600 and 666: a $(tun_mode_of "$PID_a"), b $(tun_mode_of "$PID_b")"
for h in a b; do
	var=PID_$h pid=${!var}
	[ "$(field "$pid" Uid)" = "$UID_U $UID_U $UID_U $UID_U" ] || fail "$h: Uid $(field "$pid" Uid)"
	[ "$(field "$pid" Gid)" = "$GID_U $GID_U $GID_U $GID_U" ] || fail "$h: Gid $(field "$pid" Gid)"
	[ "$(field "$pid" Groups)" = "$GID_U" ] || fail "$h: Groups $(field "$pid" Groups)"
	for c in CapEff CapPrm CapBnd; do
		[ "$(field "$pid" $c)" = $NET_ADMIN ] || fail "$h: $c $(field "$pid" $c)"
	done
	for c in CapInh CapAmb; do
		[ "$(field "$pid" $c)" = 0000000000000000 ] || fail "$h: $c $(field "$pid" $c)"
	done
	[ "$(field "$pid" NoNewPrivs)" = 1 ] || fail "$h: NoNewPrivs $(field "$pid" NoNewPrivs)"
	undumpable "$pid" || fail "$h: tund is dumpable after the drop (user $U can read its /proc/PID/environ)"
	# Every thread (the data plane's too) runs with the reduced set.
	for task in /proc/"$pid"/task/*; do
		t=${task##*/}
		[ "$(awk '$1 == "CapEff:" { print $2 }' "$task/status")" = $NET_ADMIN ] &&
			[ "$(awk '$1 == "Uid:" { print $2 }' "$task/status")" = "$UID_U" ] ||
			fail "$h: thread $t runs with other credentials"
	done
	grep -q "running as user $U (uid $UID_U, gid $GID_U) with only CAP_NET_ADMIN" \
		"$T_DIR/tund-$h.log" || fail "$h: no log line about the drop"
done
t_log "a and b run as $U ($UID_U:$GID_U), CapEff=CapPrm=CapBnd=$NET_ADMIN, NoNewPrivs 1, $(ls /proc/"$PID_a"/task | wc -l) threads each"

# The socket: owned by the user and its group, 0660; the group may use it,
# others may not.
st=$(stat -c '%a %U %G' "$T_DIR/a/run/tund.sock")
[ "$st" = "660 $U $U" ] || fail "control socket is '$st', want '660 $U $U'"
setpriv --reuid=nobody --regid="$GID_U" --clear-groups "$TUNDCTL" \
	--socket "$T_DIR/a/run/tund.sock" status >/dev/null ||
	fail "a member of group $U cannot use the control socket"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$TUNDCTL" \
	--socket "$T_DIR/a/run/tund.sock" status 2>&1)
rc=$?
[ $rc = 1 ] || fail "user nobody (not in group $U): exit $rc, not 1: $out"
grep -q "cannot reach tund at $T_DIR/a/run/tund.sock: Permission denied" <<<"$out" ||
	fail "user nobody (not in group $U) is not refused with permission denied: $out"
t_log "control socket 660 $U:$U; group member answered, others refused: $out"

# A network (MQTT, ICE, addresses and routes) after the drop.
invite=$(ctl a network create friends --broker "$LAB_MQTT_URL" --turn "$LAB_TURN_UDP" | tail -n 1)
[[ $invite == tund1:* ]] || fail "no invite: $invite"
ctl b join "$invite" >/dev/null || fail "join failed"
A=$(overlay_addr a) B=$(overlay_addr b)
[ -n "$A" ] && [ -n "$B" ] || fail "addresses: a=$A b=$B"
KA=$(pubkey a) KB=$(pubkey b)
wait_until 45 pings a "$B" || fail "a cannot ping b ($B) within 45 s"
pings b "$A" || fail "b cannot ping a"
t_log "ping through the $(peer_field a "$KB" path) path ($(peer_field a "$KB" candidates))"
# tundctl ping uses the raw ICMP socket opened before the drop (no CAP_NET_RAW now).
out=$(ctl a ping "$KB" -c 2) || fail "tundctl ping after the drop: $out"
grep -q '2 received' <<<"$out" || fail "tundctl ping after the drop: $out"
transfer a b "$B" 10
fp=$(ctl b status --json | jq -c .fast_paths)
jq -e '.enabled == false or (.paths >= 1 and .received > 0)' <<<"$fp" >/dev/null ||
	fail "b: the ICE fast path does not carry the direct path after the drop: $fp"
t_log "10 MB TCP intact; b's fast path: $fp"
# Real-time priority for the packet threads after the drop: tund raised
# RLIMIT_RTPRIO to 1 while root, which needs CAP_SYS_RESOURCE. Where root
# has it (a normal machine), the transfer raised them; where it does not (a
# container without it), tund says so in one line and carries on.
rt=$(ctl a status --json | jq -c .realtime)
if can_raise_rtprio; then
	jq -e '.enabled and .raised >= 1' <<<"$rt" >/dev/null ||
		fail "a: no real-time priority for the transfer after the drop: $rt"
	grep -q "real-time priority.*refused" "$T_DIR"/tund-*.log &&
		fail "real-time priority refused after the drop"
else
	t_skip rtprio "this root cannot raise RLIMIT_RTPRIO (no CAP_SYS_RESOURCE): real-time priority after the drop is not checked, only its refusal"
	jq -e '.enabled == false and .raised == 0' <<<"$rt" >/dev/null ||
		fail "a: real-time priority without RLIMIT_RTPRIO: $rt"
	[ "$(grep -c "real-time priority 1 refused" "$T_DIR/tund-a.log")" = 1 ] ||
		fail "a: the refusal is not logged once: $(grep -c refused "$T_DIR/tund-a.log")"
fi
t_log "a's packet threads after the drop: $rt"

# LAN beacons (multicast and broadcast sockets bound to each interface) go out.
for h in a b; do
	wait_until 30 eval "[ \"\$(ctl $h networks --json | jq -r '.[0].beacons.sent // 0')\" -gt 0 ]" ||
		fail "$h sends no LAN beacons after the drop"
	grep -q "no LAN beacons\|beacon.*: .*denied" "$T_DIR/tund-$h.log" && fail "$h: beacon trouble"
done
t_log "LAN beacons sent: a $(ctl a networks --json | jq '.[0].beacons.sent'), b $(ctl b networks --json | jq '.[0].beacons.sent')"

# Broadcast rules and routes were installed by the unprivileged process.
for h in a b; do
	lab_exec "$h" nft list table ip tund_tt0 | grep -q 'dup to 255.255.255.255' ||
		fail "$h: no broadcast rule in nft table ip tund_tt0"
	lab_exec "$h" ip route show dev tt0 | grep -q '^224.0.0.0/4' ||
		fail "$h: no multicast route on tt0"
done

# State written by the user: a static peer added now is in peers.json.
SK=$("$TUNDCTL" genkey | "$TUNDCTL" pubkey)
ctl a peer add "$SK" --name static1 --endpoint 192.0.2.7:51820 --allowed-ips 10.250.0.7/32 \
	>/dev/null || fail "peer add failed"
jq -e --arg k "$SK" 'tostring | contains($k)' "$T_DIR/a/state/peers.json" >/dev/null ||
	fail "the added peer is not in peers.json"
jq -e --arg k "$KB" 'tostring | contains($k)' "$T_DIR/a/state/peers.json" >/dev/null ||
	fail "member b is not in peers.json"
[ "$(ctl a peers --json | jq -r --arg k "$SK" '.[] | select(.public_key == $k) | .name')" = static1 ] ||
	fail "peers does not list static1"
st=$(stat -c '%a %U' "$T_DIR/a/state" "$T_DIR/a/state/peers.json" "$T_DIR/a/state/private.key" |
	sort -u | tr '\n' ' ')
[ "$st" = "600 $U 700 $U " ] || fail "state files: $st"
t_log "peers.json has the static peer and b; state dir 700, files 600, owned by $U"

# Reload as the user: it reads the config (0644 here) and applies a new broker.
printf '[network friends]\nbroker = %s\n' "$LAB_MQTT_URL" >>"$T_DIR/a.conf"
ctl a reload >/dev/null || fail "reload after the drop failed"
chmod 600 "$T_DIR/a.conf"
out=$(ctl a reload 2>&1) && fail "reload of an unreadable config succeeded"
grep -q "readable by it or its group" <<<"$out" || fail "unreadable config: $out"
chmod 644 "$T_DIR/a.conf"
t_log "reload as $U works; an unreadable config: $out"

# SIGTERM: the unprivileged process removes its interface, table and socket.
tund_stop a
lab_exec a ip link show tt0 >/dev/null 2>&1 && fail "tt0 still exists on a after SIGTERM"
lab_exec a nft list table ip tund_tt0 >/dev/null 2>&1 && fail "nft table left on a"
[ -e "$T_DIR/a/run/tund.sock" ] && fail "control socket left on a"
grep -q "interface tt0 removed" "$T_DIR/tund-a.log" || fail "no removal logged"
t_log "SIGTERM: exit 0, tt0, table ip tund_tt0 and the socket are gone"

# Started as the user with an ambient CAP_NET_ADMIN: no drop attempted.
# RLIMIT_RTPRIO 1 as the packaged unit's LimitRTPRIO=1 gives it (where this
# root may raise it).
limit=()
can_raise_rtprio && limit=(prlimit --rtprio=1:1)
as_user=(setpriv --reuid="$U" --regid="$U" --init-groups --inh-caps=+net_admin --ambient-caps=+net_admin)
# With /dev/net/tun at 0600 the capability does not open it: one line that
# names the device, its mode and what to do, and exit 1; nothing left.
pd_fails a 0600 "${limit[@]}" "${as_user[@]}"
why="cannot create TUN device \"tt0\": /dev/net/tun is mode 0600 (owner root:root) and tund runs as uid $UID_U: start tund as root (it opens the device, then switches to [daemon] user) or make /dev/net/tun mode 0666"
[ $RC = 1 ] || fail "ambient at 0600: exit $RC, not 1: $(tail -n 3 "$T_DIR/start-a.out")"
grep -qF "$why" "$T_DIR/start-a.out" || fail "ambient at 0600: not the line that says why: $(cat "$T_DIR/start-a.out")"
[ "$(grep -c 'TUN device' "$T_DIR/start-a.out")" = 1 ] || fail "ambient at 0600: more than one line about it: $(cat "$T_DIR/start-a.out")"
lab_exec a ip link show tt0 >/dev/null 2>&1 && fail "ambient at 0600: tt0 left behind"
[ -e "$T_DIR/a/run/tund.sock" ] && fail "ambient at 0600: control socket left behind"
t_log "ambient at 0600: exit 1, $(grep -o 'cannot create TUN device.*' "$T_DIR/start-a.out")"
# At 0666 it works.
: >"$T_DIR/tund-a.log"
pd_node a 0666 "${limit[@]}" "${as_user[@]}"
[ "$(tun_mode_of "$PID_a")" = 666 ] || fail "ambient: a sees /dev/net/tun $(tun_mode_of "$PID_a")"
[ "$(field "$PID_a" Uid)" = "$UID_U $UID_U $UID_U $UID_U" ] || fail "ambient: Uid $(field "$PID_a" Uid)"
[ "$(field "$PID_a" CapEff)" = $NET_ADMIN ] || fail "ambient: CapEff $(field "$PID_a" CapEff)"
grep -q "running as" "$T_DIR/tund-a.log" && fail "ambient: tund tried to change user: $(cat "$T_DIR/tund-a.log")"
# No uid change here to clear "dumpable": tund clears it itself.
undumpable "$PID_a" || fail "ambient: tund is dumpable (user $U can read its /proc/PID/environ)"
t_log "not dumpable, dropped from root and started as $U: $U cannot read tund's /proc/PID/environ"
[ "$(ctl a status --json | jq -r .public_key)" = "$KA" ] || fail "ambient: a lost its key"
wait_until 60 pings a "$B" || fail "ambient: a cannot ping b within 60 s"
transfer a b "$B" 5
rt=$(ctl a status --json | jq -c .realtime)
if can_raise_rtprio; then
	jq -e '.enabled and .raised >= 1' <<<"$rt" >/dev/null ||
		fail "ambient with LimitRTPRIO=1: no real-time priority for the transfer: $rt"
else
	t_skip rtprio "this root cannot raise RLIMIT_RTPRIO (no CAP_SYS_RESOURCE): real-time priority with an ambient CAP_NET_ADMIN is not checked"
	jq -e '.enabled == false' <<<"$rt" >/dev/null || fail "ambient without RLIMIT_RTPRIO: $rt"
fi
lab_exec a nft list table ip tund_tt0 | grep -q 'dup to' || fail "ambient: no broadcast rule"
tund_stop a
lab_exec a ip link show tt0 >/dev/null 2>&1 && fail "ambient: tt0 left after SIGTERM"
lab_exec a nft list table ip tund_tt0 >/dev/null 2>&1 && fail "ambient: nft table left"
t_log "started as $U with ambient CAP_NET_ADMIN at 0666: no drop, state reused, ping to b, clean exit"
echo "PASS privdrop"
