#!/bin/bash
# SPDX-License-Identifier: MIT
# tundctl without a real daemon: offline key commands against wg, usage and
# error reporting, and a socat-based fake tund replying canned JSON.
# Needs: build/tundctl (make build/tundctl), wg, socat, jq (installed with
# apt-get when missing and run as root). Exits 0 when every check passes.
set -u

here=$(cd "$(dirname "$0")" && pwd)
TUNDCTL=${TUNDCTL:-$here/../../build/tundctl}
tmp=$(mktemp -d /tmp/tundctl-test.XXXXXX)
socat_pid=
umask 077
fails=0
checks=0

cleanup() {
	if [ -n "$socat_pid" ]; then
		kill "$socat_pid" 2>/dev/null
		wait "$socat_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need() { # command package
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1
	fi
	command -v "$1" >/dev/null 2>&1 || { echo "FAIL: $1 missing (apt-get install $2)"; exit 1; }
}
need wg wireguard-tools
need socat socat
need jq jq
[ -x "$TUNDCTL" ] || { echo "FAIL: $TUNDCTL not built (make build/tundctl)"; exit 1; }

pass() { checks=$((checks + 1)); echo "ok   $1"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL $1"; }
check() { # name, then a command that must succeed
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# run ARGS...: runs tundctl with stdin from $tmp/in (if any); leaves rc, out, err.
run() {
	local input=/dev/null
	[ -f "$tmp/in" ] && input=$tmp/in
	"$TUNDCTL" "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
lines() { wc -l <"$1" | tr -d ' '; }
is_usage_error() { # one line on stderr, nothing on stdout, exit 2
	[ "$rc" = 2 ] && [ "$(lines "$tmp/err")" = 1 ] && [ -z "$out" ] &&
		[ "${err#tundctl: }" != "$err" ]
}

### Keys: interchangeable with wg.
keys_ok=1
for i in 1 2 3 4 5; do
	"$TUNDCTL" genkey | tee "$tmp/k" | "$TUNDCTL" pubkey >"$tmp/pub"
	if ! { [ "$(wc -c <"$tmp/k")" = 45 ] && grep -Eq '^[A-Za-z0-9+/]{43}=$' "$tmp/k" &&
		cmp -s <(wg pubkey <"$tmp/k") "$tmp/pub"; }; then
		echo "  round $i: tundctl genkey | tee k | tundctl pubkey != wg pubkey < k"
		keys_ok=0
	fi
	wg genkey >"$tmp/wk"
	if ! cmp -s <(wg pubkey <"$tmp/wk") <("$TUNDCTL" pubkey <"$tmp/wk"); then
		echo "  round $i: wg genkey | tundctl pubkey != wg pubkey"
		keys_ok=0
	fi
done
check "genkey|pubkey and wg genkey|pubkey agree byte for byte (5 rounds)" test "$keys_ok" = 1

# Byte-for-byte the same bytes wg reads: tundctl's clamped private key.
"$TUNDCTL" genkey >"$tmp/k2" 2>/dev/null
check "tundctl genkey is accepted by wg pubkey" wg pubkey <"$tmp/k2" >/dev/null
printf '%s' "$(cat "$tmp/k2")" >"$tmp/in"
run pubkey
check "pubkey accepts a key without newline" test "$rc" = 0 -a "$out" = "$(wg pubkey <"$tmp/k2")"

for bad in "not a key" "$(head -c 43 "$tmp/k2")" "$(cat "$tmp/k2")x" ""; do
	printf '%s\n' "$bad" >"$tmp/in"
	run pubkey
	check "pubkey rejects '$bad'" test "$rc" = 1 -a "$err" = "tundctl: pubkey: invalid private key" -a -z "$out"
done
rm -f "$tmp/in"

(umask 022 && "$TUNDCTL" genkey >"$tmp/wr" 2>"$tmp/werr")
check "genkey warns about a world-readable output file" grep -q "world accessible" "$tmp/werr"
(umask 077 && "$TUNDCTL" genkey >"$tmp/pr" 2>"$tmp/perr")
check "genkey is quiet with umask 077" test ! -s "$tmp/perr"
check "genkey to a pipe has no warning" test -z "$("$TUNDCTL" genkey 2>&1 >/dev/null)"

### Usage and help.
run frobnicate
check "unknown command: exit 2, one stderr line" is_usage_error
run
check "no command: exit 2, one stderr line" is_usage_error
run --bogus status
check "unknown top-level option: exit 2, one line" is_usage_error

for args in "--help" "-h" "help" "status --help" "peers --help" "peer --help" "peer add --help" \
	"peer remove --help" "genkey --help" "pubkey --help" "help peer add" "help status"; do
	# shellcheck disable=SC2086
	run $args
	check "tundctl $args prints usage, exit 0" \
		test "$rc" = 0 -a -z "$err" -a "${out#Usage: tundctl}" != "$out"
done

key=$(wg pubkey <"$tmp/k")
for args in "status extra" "status --bogus" "status --json=1" "peers -x" "peer" "peer frob" \
	"peer add" "peer add notakey" "peer add $key --endpoint 1.2.3.4" \
	"peer add $key --endpoint 1.2.3.4:0" "peer add $key --endpoint ::1:51820" \
	"peer add $key --allowed-ips 10.0.0.0/8,nope" "peer add $key --name" \
	"peer add $key extra" "peer remove" "genkey extra" "pubkey --bogus"; do
	# shellcheck disable=SC2086
	run --socket "$tmp/none.sock" $args
	check "bad arguments '$args': exit 2, one line" is_usage_error
done

### Daemon not running.
run --socket "$tmp/none.sock" status
check "unreachable socket (--socket)" \
	test "$rc" = 1 -a "$err" = "tundctl: cannot reach tund at $tmp/none.sock: No such file or directory"
TUND_SOCKET=$tmp/env.sock run peers
check "unreachable socket (TUND_SOCKET)" \
	test "$rc" = 1 -a "$err" = "tundctl: cannot reach tund at $tmp/env.sock: No such file or directory"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/dead.sock"
run --socket "$tmp/dead.sock" status
check "socket nobody listens on" \
	test "$rc" = 1 -a "$err" = "tundctl: cannot reach tund at $tmp/dead.sock: Connection refused"
check "genkey needs no daemon" sh -c "TUND_SOCKET='$tmp/none.sock' '$TUNDCTL' genkey >/dev/null"

### A fake tund: socat forks one shell per connection, which logs the
### request line and answers with whatever $tmp/reply holds.
sock=$tmp/tund.sock
cat >"$tmp/fake.sh" <<FAKE
#!/bin/sh
IFS= read -r req
printf '%s\n' "\$req" >>"$tmp/requests"
cat "$tmp/reply"
FAKE
chmod +x "$tmp/fake.sh"
echo '{"ok":true,"result":{}}' >"$tmp/reply"
socat UNIX-LISTEN:"$sock",fork EXEC:"$tmp/fake.sh" 2>/dev/null &
socat_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "FAIL: fake tund did not start"; exit 1; }
export TUND_SOCKET=$sock
last_request() { tail -n 1 "$tmp/requests"; }

cat >"$tmp/reply" <<'JSON'
{"ok":true,"result":{"interface":"tund0","addresses":["10.77.0.1/16","fd77::1/64"],"mtu":1420,"public_key":"mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=","listen_port":51820,"uptime":192,"peers":2,"allocations":3,"from_the_future":{"x":1}}}
JSON
run status
check "status: exit 0" test "$rc" = 0 -a -z "$err"
check "status: request is one JSON line {cmd:status}" sh -c "tail -n 1 '$tmp/requests' | jq -e '.cmd == \"status\"' >/dev/null"
for want in "interface: tund0" "addresses: 10.77.0.1/16, fd77::1/64" "mtu: 1420" \
	"public key: mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=" "listen port: 51820" \
	"uptime: 3m12s" "peers: 2" "TURN allocations: 3"; do
	check "status shows '$want'" grep -qxF -e "$want" -e "  $want" "$tmp/out"
done
check "status ignores unknown fields" sh -c "! grep -q future '$tmp/out'"
run status --json
check "status --json: valid JSON, the result object" \
	sh -c "jq -e '.interface == \"tund0\" and .uptime == 192 and .from_the_future.x == 1' '$tmp/out' >/dev/null"
check "status --json: one document" test "$(jq -s length "$tmp/out")" = 1

echo '{"ok":true,"result":{"interface":"tund0","uptime":null}}' >"$tmp/reply"
run status
check "status: missing fields print as -" \
	sh -c "grep -qx '  mtu: -' '$tmp/out' && grep -qx '  uptime: -' '$tmp/out' && grep -qx '  addresses: -' '$tmp/out'"

now=$(date +%s)
# The protocol wants one line per reply; jq -c makes it one.
jq -c . >"$tmp/reply" <<JSON
{"ok":true,"result":{"peers":[
 {"public_key":"mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=","name":"alice","endpoint":"198.51.100.7:51820","allowed_ips":["10.77.0.2/32","fd77::2/128"],"path":"direct","latest_handshake":$((now - 12)),"rx_bytes":1536,"tx_bytes":5242880,"drops":{"replayed":5,"auth_failed":0},"new":true},
 {"public_key":"WON1/4frxb1kJztdFCwRl5Z/UN8O+yKFi+z7dTAq/nw=","name":null,"endpoint":null,"allowed_ips":[],"path":null,"latest_handshake":null,"rx_bytes":0,"tx_bytes":0}
]}}
JSON
run peers
check "peers: exit 0, table header" sh -c "[ $rc = 0 ] && head -n 1 '$tmp/out' | grep -q '^NAME  *PUBLIC KEY  *ENDPOINT  *ALLOWED IPS  *PATH  *HANDSHAKE  *RX  *TX  *DROPPED$'"
check "peers: alice row" grep -Eq '^alice +mK0uK/75… +198\.51\.100\.7:51820 +10\.77\.0\.2/32, fd77::2/128 +direct +1[2-5]s ago +1\.50 KiB +5\.00 MiB +replayed 5$' "$tmp/out"
check "peers: unnamed peer, never handshaked" grep -Eq '^- +WON1/4fr… +- +- +- +never +0 B +0 B +-$' "$tmp/out"
check "peers: full key only in --json" sh -c "! grep -q 'mK0uK/752ckl' '$tmp/out'"
run peers --json
check "peers --json: the array, valid JSON" \
	sh -c "jq -e 'type == \"array\" and length == 2 and .[0].name == \"alice\" and .[0].new == true' '$tmp/out' >/dev/null"
echo '{"ok":true,"result":{"peers":[]}}' >"$tmp/reply"
run peers
check "peers: empty list" test "$rc" = 0 -a "$out" = "no peers"

echo '{"ok":false,"error":"no such peer"}' >"$tmp/reply"
run peer remove alice
check "ok:false: error text, exit 1" test "$rc" = 1 -a "$err" = "tundctl: no such peer" -a -z "$out"
check "peer remove sends the name" sh -c "tail -n 1 '$tmp/requests' | jq -e '.cmd == \"peer.remove\" and .peer == \"alice\"' >/dev/null"
run status --json
check "ok:false with --json: error text, exit 1" test "$rc" = 1 -a "$err" = "tundctl: no such peer"

echo 'this is not json' >"$tmp/reply"
run status
check "malformed reply: one line, exit 1" sh -c "[ $rc = 1 ] && [ \$(wc -l <'$tmp/err') = 1 ] && grep -q '^tundctl: malformed reply from tund' '$tmp/err'"

: >"$tmp/reply"
run status
check "no reply at all: exit 1" sh -c "[ $rc = 1 ] && grep -q 'closed the connection' '$tmp/err'"

wg genpsk >"$tmp/psk"
echo "{\"ok\":true,\"result\":{\"peer\":{\"public_key\":\"$key\",\"name\":\"bob\"}}}" >"$tmp/reply"
run peer add "$key" --name bob --endpoint '[2001:db8::1]:51820' --allowed-ips '10.77.0.3, fd77::3/128' \
	--allowed-ips 192.168.5.0/24 --psk-file "$tmp/psk"
check "peer add: exit 0, confirmation" test "$rc" = 0 -a "$out" = "added peer bob ($key)"
check "peer add: request carries every argument" sh -c "tail -n 1 '$tmp/requests' | jq -e --arg k '$key' --arg p '$(cat "$tmp/psk")' '
	.cmd == \"peer.add\" and .public_key == \$k and .name == \"bob\" and
	.endpoint == \"[2001:db8::1]:51820\" and
	.allowed_ips == [\"10.77.0.3/32\", \"fd77::3/128\", \"192.168.5.0/24\"] and .psk == \$p' >/dev/null"
echo "not a key" >"$tmp/badpsk"
run peer add "$key" --psk-file "$tmp/badpsk"
check "peer add: bad psk file refused before sending" sh -c "[ $rc = 1 ] && [ \$(wc -l <'$tmp/err') = 1 ] && ! tail -n 1 '$tmp/requests' | grep -q badpsk"

echo "$checks checks, $fails failed"
[ "$fails" = 0 ]
