#!/usr/bin/env bash
# Foundation: tund owns a real TUN interface in a namespace, tundctl drives it,
# peers persist across restarts, bad input and bad configs lose nothing.
set -u
. "$(dirname "$0")/lib.sh"
t_init daemon

t_ns NS d
IF=tt0
SOCK=$T_DIR/run/tund.sock
STATE=$T_DIR/state
CONF=$T_DIR/tund.conf
LOG=$T_DIR/tund.log
cat >"$CONF" <<CFG
[interface]
name = $IF
address = 10.77.0.1/16
address6 = fd77::1/64        ; optional
mtu = 1380
listen_port = 51820
[paths]
state_dir = $STATE
control_socket = $SOCK
[daemon]
user = root
CFG
ctl() { "$TUNDCTL" --socket "$SOCK" "$@"; }

# tundctl with no daemon: one clear line, exit 1.
out=$(ctl status 2>&1); rc=$?
[ $rc -eq 1 ] || fail "tundctl without daemon exited $rc, want 1"
[[ $out == "tundctl: cannot reach tund at $SOCK: "* ]] || fail "unexpected message: $out"

start_tund "$NS" "$CONF" "$LOG"
wait_until 20 ctl status || fail "tund did not answer status within 20 s"

# The interface as the kernel sees it.
link=$(ip -n "$NS" -j link show dev "$IF") || fail "no interface $IF"
[ "$(jq -r '.[0].mtu' <<<"$link")" = 1380 ] || fail "mtu is not 1380: $link"
jq -e '.[0].flags | index("UP")' <<<"$link" >/dev/null || fail "$IF is not UP: $link"
addrs=$(ip -n "$NS" -j addr show dev "$IF")
jq -e '[.[0].addr_info[] | "\(.local)/\(.prefixlen)"] | index("10.77.0.1/16")' <<<"$addrs" \
	>/dev/null || fail "10.77.0.1/16 missing: $addrs"
jq -e '[.[0].addr_info[] | "\(.local)/\(.prefixlen)"] | index("fd77::1/64")' <<<"$addrs" \
	>/dev/null || fail "fd77::1/64 missing: $addrs"

# Files and modes.
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state dir mode $(stat -c %a "$STATE")"
[ "$(stat -c %a "$STATE/private.key")" = 600 ] || fail "key mode $(stat -c %a "$STATE/private.key")"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "socket mode $(stat -c %a "$SOCK")"
pub=$(wg pubkey <"$STATE/private.key") || fail "wg cannot read our private key"

# status
st=$(ctl status --json) || fail "status --json failed"
[ "$(jq -r .interface <<<"$st")" = "$IF" ] || fail "status interface: $st"
[ "$(jq -r .public_key <<<"$st")" = "$pub" ] || fail "status public_key != wg pubkey: $st"
[ "$(jq -r .mtu <<<"$st")" = 1380 ] || fail "status mtu: $st"
[ "$(jq -r .listen_port <<<"$st")" = 51820 ] || fail "status listen_port: $st"
jq -e '.addresses == ["10.77.0.1/16","fd77::1/64"]' <<<"$st" >/dev/null || fail "addresses: $st"
[ "$(jq -r .peers <<<"$st")" = 0 ] || fail "peer count: $st"
# The transport cipher as TUND_AEAD forces it (auto: measured), and the start-up line.
aead=${TUND_AEAD:-auto}
[ "$(jq -r .aead.mode <<<"$st")" = "$aead" ] || fail "status aead.mode, want $aead: $st"
case $aead in
sodium) want_from='.aead.openssl_from == null' ;;
openssl) want_from='.aead.openssl_from == 0' ;;
*) want_from='.aead.openssl_from == null or .aead.openssl_from >= 64' ;;
esac
jq -e "$want_from" <<<"$st" >/dev/null || fail "status aead.openssl_from ($want_from): $st"
grep -q "transport cipher ($aead): " "$LOG" || fail "no 'transport cipher ($aead)' line in the log"
# The crypto workers: auto starts none below 4 CPUs, else one fewer than the
# CPUs (at most 8); TUND_CRYPTO_WORKERS sets them.
cpus=$(nproc)
if [ -n "${TUND_CRYPTO_WORKERS:-}" ]; then
	cw_set=$TUND_CRYPTO_WORKERS; cw=${TUND_CRYPTO_WORKERS/off/0}
elif [ "$cpus" -lt 4 ]; then cw_set=auto; cw=0
else cw_set=auto; cw=$((cpus - 1 > 8 ? 8 : cpus - 1)); fi
jq -e --arg s "$cw_set" --argjson w "$cw" \
	'.crypto_workers.setting == $s and .crypto_workers.workers == $w' <<<"$st" >/dev/null ||
	fail "status crypto_workers, want $cw_set with $cw threads on $cpus CPUs: $(jq -c .crypto_workers <<<"$st")"
grep -q "crypto workers ($cw_set): $cw" "$LOG" || fail "no 'crypto workers ($cw_set): $cw' line in the log"
ctl status | grep -q "crypto workers: $cw ($cw_set)" || fail "human status does not show the crypto workers"
ctl status | grep -q "$pub" || fail "human status does not show the public key"

# peer add / peers
PEER=$(wg genkey | wg pubkey)
ctl peer add "$PEER" --name alice --endpoint 192.0.2.7:51820 --allowed-ips 10.77.0.2/32,fd77::2/128 \
	>/dev/null || fail "peer add failed"
ps=$(ctl peers --json) || fail "peers --json failed"
p=$(jq -c --arg k "$PEER" '[.[] | select(.public_key == $k)][0]' <<<"$ps")
[ "$p" != null ] || fail "peer not listed: $ps"
[ "$(jq -r .name <<<"$p")" = alice ] || fail "name: $p"
[ "$(jq -r .endpoint <<<"$p")" = 192.0.2.7:51820 ] || fail "endpoint: $p"
jq -e '.allowed_ips == ["10.77.0.2/32","fd77::2/128"]' <<<"$p" >/dev/null || fail "allowed_ips: $p"
jq -e '.latest_handshake == null and .rx_bytes == 0 and .tx_bytes == 0 and has("path")' \
	<<<"$p" >/dev/null || fail "observed fields: $p"
ctl peers | grep -q alice || fail "human peers table lacks alice"
[ "$(stat -c %a "$STATE/peers.json")" = 600 ] || fail "peers.json mode"

# Bad tundctl input: message, non-zero exit, nothing changed.
ctl peer add not-a-key 2>/dev/null && fail "peer add accepted a bad key"
ctl peer add "$PEER" --allowed-ips 10.0.0.0/99 2>/dev/null && fail "bad CIDR accepted"
ctl frobnicate 2>/dev/null && fail "unknown command accepted"
ctl peer remove nobody 2>/dev/null && fail "removing an unknown peer succeeded"
[ "$(ctl peers --json | jq length)" = 1 ] || fail "bad commands changed the peer list"

# Garbage on the socket: the daemon answers errors and keeps serving.
reply=$(printf 'this is not json\n' | socat -t 5 - "UNIX-CONNECT:$SOCK") || fail "socat failed"
jq -e '.ok == false' <<<"$reply" >/dev/null || fail "no error reply to garbage: $reply"
reply=$(printf '{"cmd":"warp"}\n' | socat -t 5 - "UNIX-CONNECT:$SOCK")
jq -e '.ok == false and (.error | test("unknown command"))' <<<"$reply" >/dev/null ||
	fail "unknown command reply: $reply"
reply=$(head -c 70000 /dev/zero | tr '\0' 'x' | socat -t 5 - "UNIX-CONNECT:$SOCK")
jq -e '.ok == false and (.error | test("too large"))' <<<"$reply" >/dev/null ||
	fail "oversized request reply: $reply"
head -c 100000 /dev/urandom | socat -t 2 - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1
# A stalled client holds a half request open; others are still served.
# (socat reads the half request from a FIFO this shell keeps open.)
mkfifo "$T_DIR/stall.fifo"
socat -u "OPEN:$T_DIR/stall.fifo" "UNIX-CONNECT:$SOCK" &
stall=$!
t_track "$stall"
exec 7>"$T_DIR/stall.fifo"
printf '{"cmd' >&7
wait_until 10 ctl status || fail "daemon stopped serving while a client stalls"
pid_running "$stall" || fail "the stalled client was not connected"
exec 7>&-
kill "$stall" 2>/dev/null; wait "$stall" 2>/dev/null; t_untrack "$stall"
pid_running "$TUND_PID" || fail "daemon died from garbage"

# Restart: the peer persists; the interface and socket go away on SIGTERM.
stop_pid "$TUND_PID" || fail "tund did not exit 0 on SIGTERM"
ip -n "$NS" link show dev "$IF" >/dev/null 2>&1 && fail "$IF still exists after SIGTERM"
[ -e "$SOCK" ] && fail "socket file left behind"
start_tund "$NS" "$CONF" "$LOG"
wait_until 20 ctl status || fail "tund did not come back"
[ "$(ctl peers --json | jq -r '.[0].name')" = alice ] || fail "peer lost across restart"
[ "$(ctl status --json | jq -r .public_key)" = "$pub" ] || fail "key changed across restart"
ctl peer remove alice >/dev/null || fail "peer remove by name failed"
[ "$(ctl peers --json | jq length)" = 0 ] || fail "peer still listed after remove"
stop_pid "$TUND_PID" || fail "second SIGTERM"
start_tund "$NS" "$CONF" "$LOG"
wait_until 20 ctl status || fail "tund did not come back (2)"
[ "$(ctl peers --json | jq length)" = 0 ] || fail "removed peer came back after restart"

# A second daemon (another namespace) on the same socket is refused; the
# first keeps running.
t_ns NS2 d2
ip netns exec "$NS2" "$TUND" --config "$CONF" >"$T_DIR/second.log" 2>&1 && fail "second tund started"
grep -q "another tund is running" "$T_DIR/second.log" || fail "second tund: $(cat "$T_DIR/second.log")"
ctl status >/dev/null || fail "first daemon hurt by the second"
stop_pid "$TUND_PID" || fail "third SIGTERM"

# Bad configs: one line naming file and key, exit 1, no interface left.
bad_config() { # CONTENT EXPECTED-SUBSTRING [existing-interface]
	printf '%s\n[paths]\nstate_dir = %s\ncontrol_socket = %s\n' "$1" "$STATE" "$SOCK" >"$T_DIR/bad.conf"
	ip netns exec "$NS" "$TUND" --config "$T_DIR/bad.conf" >"$T_DIR/bad.out" 2>&1; rc=$?
	[ $rc -eq 1 ] || fail "bad config ($2) exited $rc"
	grep -qF "$2" "$T_DIR/bad.out" || fail "bad config: want '$2', got: $(cat "$T_DIR/bad.out")"
	grep -qF "$T_DIR/bad.conf" "$T_DIR/bad.out" || fail "error does not name the file"
	[ "$(wc -l <"$T_DIR/bad.out")" = 1 ] || fail "more than one line: $(cat "$T_DIR/bad.out")"
	if [ -z "${3:-}" ]; then
		ip -n "$NS" link show dev "$IF" >/dev/null 2>&1 && fail "half-made interface left ($2)"
	fi
	[ -e "$SOCK" ] && fail "socket left behind ($2)"
}
bad_config "[interface]
name = $IF
colour = blue" "[interface] colour: unknown key"
bad_config "[interface]
name = $IF
address = 10.77.0.300/16" "[interface] address"
ip -n "$NS" link add "$IF" type veth peer name tt0peer || fail "cannot make a veth link"
bad_config "[interface]
name = $IF" "already exists" existing-interface
ip -n "$NS" link show dev "$IF" >/dev/null 2>&1 || fail "tund deleted someone else's interface"
ip -n "$NS" link del "$IF"
ip netns exec "$NS" "$TUND" --config "$T_DIR/missing.conf" >"$T_DIR/bad.out" 2>&1 &&
	fail "missing config accepted"
grep -q "missing.conf: cannot read" "$T_DIR/bad.out" || fail "missing config: $(cat "$T_DIR/bad.out")"

# A corrupt state file is refused and left exactly as it was.
printf '{"version":1,"peers":[{"public_key":"garbage"' >"$STATE/peers.json"
sum=$(sha256sum <"$STATE/peers.json")
ip netns exec "$NS" "$TUND" --config "$CONF" >"$T_DIR/corrupt.out" 2>&1 && fail "corrupt peers.json accepted"
grep -q "peers.json" "$T_DIR/corrupt.out" || fail "corrupt state: $(cat "$T_DIR/corrupt.out")"
[ "$(sha256sum <"$STATE/peers.json")" = "$sum" ] || fail "corrupt peers.json was modified"
ip -n "$NS" link show dev "$IF" >/dev/null 2>&1 && fail "interface left after corrupt state"
echo "PASS daemon"
