#!/usr/bin/env bash
# README: "A key file or peer file that does not parse is refused with a
# message and left untouched." For each damaged private.key (garbage, a
# truncated key readable by others, an empty file) and a damaged peers.json,
# tund exits non-zero at once with one line naming the file, leaves the file
# byte-identical with its mode, and leaves no interface behind. A valid key
# (positive control) starts and gives the public key `tundctl pubkey` gives.
set -u
. "$(dirname "$0")/lib.sh"
t_init keycorrupt
t_ns NS k
STATE=$T_DIR/state
cat >"$T_DIR/k.conf" <<CFG
[interface]
name = tt0
address = 10.77.0.1/16
listen_port = 51820
[paths]
state_dir = $STATE
control_socket = $T_DIR/tund.sock
[daemon]
user = root
CFG

# fingerprint FILE: content hash, mode and size.
fingerprint() { printf '%s %s\n' "$(sha256sum <"$1" | cut -d' ' -f1)" "$(stat -c '%a %s' "$1")"; }

# refused FILE WHAT PATTERN: tund must exit non-zero, say PATTERN, keep FILE.
refused() {
	local file=$1 what=$2 pattern=$3 before after rc
	before=$(fingerprint "$file")
	: >"$T_DIR/k.log"
	ip netns exec "$NS" timeout 30 "$TUND" --config "$T_DIR/k.conf" >"$T_DIR/k.log" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] || fail "$what: tund started (exit 0)"
	[ "$rc" -ne 124 ] || fail "$what: tund still ran after 30 s instead of refusing"
	grep -qF "$file" "$T_DIR/k.log" || fail "$what: the message does not name $file"
	grep -qE "$pattern" "$T_DIR/k.log" || fail "$what: no message matching '$pattern'"
	after=$(fingerprint "$file")
	[ "$before" = "$after" ] || fail "$what: file changed ($before -> $after)"
	ip -n "$NS" link show tt0 >/dev/null 2>&1 && fail "$what: interface tt0 left behind"
	t_log "$what: exit $rc, $(grep -m1 -F "$file" "$T_DIR/k.log" | sed 's/^.*\] //')"
}

mkdir -p -m 700 "$STATE"
KEY=$STATE/private.key
printf 'this is not a key\n' >"$KEY"; chmod 600 "$KEY"
refused "$KEY" "garbage key" "not a private key.*leaving the file as it is"

good=$("$TUNDCTL" genkey) || fail "tundctl genkey"
printf '%s\n' "${good:0:30}" >"$KEY"; chmod 644 "$KEY"
refused "$KEY" "truncated key, mode 644" "not a private key.*leaving the file as it is"

: >"$KEY"; chmod 600 "$KEY"
refused "$KEY" "empty key file" "not a private key"

printf '%s\n' "$good" >"$KEY"; chmod 600 "$KEY"
printf '{"peers": [ {"public_key": ' >"$STATE/peers.json"; chmod 600 "$STATE/peers.json"
refused "$STATE/peers.json" "truncated peers.json" "leaving the file as it is"

# Positive control: the same setup with a valid key and no peer file starts.
rm -f "$STATE/peers.json"
start_tund "$NS" "$T_DIR/k.conf" "$T_DIR/k.log"
wait_until 30 "$TUNDCTL" --socket "$T_DIR/tund.sock" status || fail "tund with a valid key did not start"
pub=$("$TUNDCTL" --socket "$T_DIR/tund.sock" status --json | jq -r .public_key)
[ "$pub" = "$("$TUNDCTL" pubkey <<<"$good")" ] || fail "running public key $pub is not the key file's"
echo "PASS keyfile_corrupt"
