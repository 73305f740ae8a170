#!/usr/bin/env bash
# README's "Running tund" and tundctl sections, from README.md itself:
# - the example /etc/tund/tund.conf (inline comments and all) starts tund
#   with what it says: interface tund0, 10.77.0.1/16 and fd77::1/64, MTU
#   1420, UDP port 51820 (only [paths] and user are pointed at the test's
#   own directory and root: the machine's /var/lib and /run stay untouched);
# - a config error names the file and line (`tund.conf:7: [interface] mtu:`);
# - `tundctl genkey | tee key | tundctl pubkey` gives a key pair in the
#   format of wg genkey / wg pubkey.
set -u
. "$(dirname "$0")/lib.sh"
t_init readmeconf
. "$(dirname "$0")/lib_readme.sh"
t_ns NS c
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0

conf=$(readme_block "(INI; every key is optional")
for k in 'state_dir = /var/lib/tund' 'control_socket = /run/tund/tund.sock' 'user = tund'; do
	grep -qF "$k" <<<"$conf" || fail "README's example config no longer has '$k'"
done
conf=${conf//\/var\/lib\/tund/$T_DIR/state}
conf=${conf//\/run\/tund\/tund.sock/$T_DIR/run/tund.sock}
conf=$(sed 's/^user = tund /user = root /' <<<"$conf")
printf '%s\n' "$conf" >"$T_DIR/tund.conf"
start_tund "$NS" "$T_DIR/tund.conf" "$T_DIR/tund.log"
c() { "$TUNDCTL" --socket "$T_DIR/run/tund.sock" "$@"; }
wait_until 30 c status || fail "tund did not start with README's example config"
st=$(c status --json)
[ "$(jq -r .interface <<<"$st")" = tund0 ] || fail "interface: $st"
[ "$(jq -r .mtu <<<"$st")" = 1420 ] || fail "mtu: $st"
[ "$(jq -r .listen_port <<<"$st")" = 51820 ] || fail "listen port: $st"
ip -n "$NS" addr show dev tund0 | grep -q 'inet 10.77.0.1/16' || fail "tund0 has no 10.77.0.1/16"
ip -n "$NS" addr show dev tund0 | grep -q 'inet6 fd77::1/64' || fail "tund0 has no fd77::1/64"
ip -n "$NS" link show tund0 | grep -q 'mtu 1420' || fail "tund0's MTU is not 1420"
ip netns exec "$NS" ss -uanpH | grep -q ":51820 .*pid=$TUND_PID," || fail "tund does not listen on UDP 51820"
key_mode=$(stat -c %a "$T_DIR/state/private.key")
dir_mode=$(stat -c %a "$T_DIR/state")
[ "$key_mode" = 600 ] && [ "$dir_mode" = 700 ] || fail "private.key $key_mode, state_dir $dir_mode: want 600, 700"
stop_pid "$TUND_PID" || fail "tund did not stop on SIGTERM"
ip -n "$NS" link show tund0 >/dev/null 2>&1 && fail "tund0 left behind after SIGTERM"
t_log "README's example config: tund0 10.77.0.1/16 fd77::1/64 mtu 1420 port 51820"

# A config error names file and line: the mtu on README's line 7 form.
readme_has '(`tund.conf:7: [interface] mtu: …`)'
mkdir -p "$T_DIR/bad"
sed -n 1,4p "$T_DIR/tund.conf" >"$T_DIR/bad/tund.conf"
printf 'listen_port = 51820\n\nmtu = lots\n' >>"$T_DIR/bad/tund.conf"
out=$(ip netns exec "$NS" timeout 30 "$TUND" --config "$T_DIR/bad/tund.conf" 2>&1) && fail "tund started with mtu = lots"
grep -qF "tund.conf:7: [interface] mtu: " <<<"$out" || fail "the error does not name file and line: $out"
t_log "bad mtu: $(grep -F 'tund.conf:7' <<<"$out" | head -n 1)"

# tundctl genkey | tee key | tundctl pubkey, run as README writes it.
line=$(readme_block "## tundctl" | grep -F 'genkey |') || fail "README has no genkey pipeline"
cmd=${line%%#*}
[ "$(echo $cmd)" = "tundctl genkey | tee key | tundctl pubkey" ] || fail "README's pipeline changed: $cmd"
mkdir -p "$T_DIR/keys"
pub=$(cd "$T_DIR/keys" && PATH="$TOP/build:$PATH" bash -c "$cmd") || fail "the pipeline failed"
priv=$(cat "$T_DIR/keys/key")
[[ $priv =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "key is not a wg genkey-style key: $priv"
[ "$pub" = "$(wg pubkey <<<"$priv")" ] || fail "tundctl pubkey $pub differs from wg pubkey"
[ "$("$TUNDCTL" pubkey <<<"$(wg genkey | tee "$T_DIR/keys/wgkey")")" = "$(wg pubkey <"$T_DIR/keys/wgkey")" ] ||
	fail "tundctl pubkey disagrees with wg pubkey on a wg genkey key"
t_log "genkey | tee key | pubkey: $pub (= wg pubkey)"
echo "PASS readme_config"
