#!/bin/bash
# SPDX-License-Identifier: MIT
# tundctl's network commands against a socat fake tund: each sends the JSON
# doc/control-protocol.md describes, prints invites and blobs as the last
# line, reports ok:false with exit 1 and bad arguments with exit 2 and one
# line. Needs build/tundctl, socat, jq. Exits 0 when every check passes.
set -u

here=$(cd "$(dirname "$0")" && pwd)
TUNDCTL=${TUNDCTL:-$here/../../build/tundctl}
tmp=$(mktemp -d /tmp/tundctl-net.XXXXXX)
socat_pid=
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

for c in socat jq; do
	command -v $c >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $c >/dev/null 2>&1; }
	command -v $c >/dev/null 2>&1 || { echo "FAIL: $c missing"; exit 1; }
done
[ -x "$TUNDCTL" ] || { echo "FAIL: $TUNDCTL not built (make build/tundctl)"; exit 1; }

pass() { checks=$((checks + 1)); echo "ok   $1"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL $1"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

run() {
	local input=/dev/null
	[ -f "$tmp/in" ] && input=$tmp/in
	"$TUNDCTL" "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
lines() { wc -l <"$1" | tr -d ' '; }
is_usage_error() {
	[ "$rc" = 2 ] && [ "$(lines "$tmp/err")" = 1 ] && [ -z "$out" ] &&
		[ "${err#tundctl: }" != "$err" ]
}
is_remote_error() { # ok:false: exit 1, the daemon's text, nothing on stdout
	[ "$rc" = 1 ] && [ "$err" = "tundctl: $1" ] && [ -z "$out" ]
}
req_is() { tail -n 1 "$tmp/requests" | jq -e "$1" >/dev/null; }
last_line() { [ "$(tail -n 1 "$tmp/out")" = "$1" ]; }
reply() { jq -c . >"$tmp/reply"; }

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
: >"$tmp/requests"

key=mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=
inv='tund1:AAAAbase64stuff'
blob='tund-sig2:QUJDREVGRw'

### help
for args in "network --help" "network create --help" "network leave --help" \
	"network invite --help" "network invites --help" "network invite-revoke --help" "network rekey --help" \
	"networks --help" "join --help" "peer approve --help" \
	"peer block --help" "peer unblock --help" "peer offer --help" "peer answer --help" \
	"peer accept --help" "ping --help" "netcheck --help" "help network create" "help ping"; do
	# shellcheck disable=SC2086
	run $args
	check "tundctl $args prints usage, exit 0" \
		test "$rc" = 0 -a -z "$err" -a "${out#Usage: tundctl}" != "$out"
done

### bad arguments: exit 2, one line, nothing sent
n_before=$(lines "$tmp/requests")
while IFS= read -r args; do
	[ -n "$args" ] || continue
	eval "set -- $args"
	run "$@"
	check "bad arguments '$args': exit 2, one line" is_usage_error
done <<'ARGS'
network
network frob
network create
network create 'bad name'
network create a b
network create lab --prefix 10.77.0.0/33
network create lab --prefix nope
network create lab --broker http://h:1883
network create lab --broker mqtt://h
network create lab --broker mqtt://h:99999
network create lab --stun h
network create lab --turn turns://u:p@h:3478
network create lab --turn turn://h:3478
network create lab --turn turn://u:p@h:3478?transport=sctp
network create lab --turn http://u:p@h:3478
network create lab --admission maybe
network create lab --bogus
network leave
network invite 'x y'
network invite lab --expires 0h
network invite lab --expires 24
network invite lab --expires 367d
network invite lab --expires 1w
network invite lab --uses 0
network invite lab --uses x
network invite lab extra
network invites
network invites 'x y'
network invites lab extra
network invite-revoke lab
network invite-revoke lab 123
network invite-revoke lab zzzzzzzz
network invite-revoke lab 0123abcd more
network invite-revoke lab 0123abcd --json
network rekey
network rekey lab more
network rekey lab --json
networks extra
join
join notaninvite
join 'tund1:'
peer approve
peer block --admin alice
peer block 'bad	name'
peer unblock a b
peer offer
peer offer k --network 'bad net'
peer answer
peer answer tund1:xx
peer accept 'tund-sig2:a b'
ping
ping alice -c 0
ping alice -c x
ping alice -c 1000
ping alice bob
netcheck extra
netcheck --bogus
ARGS
check "bad arguments send nothing" test "$(lines "$tmp/requests")" = "$n_before"

### network create
reply <<'JSON'
{"ok":true,"result":{"network":{"name":"lab","prefix":"10.77.0.0/16","address":"10.77.0.1/16","broker":"mqtt://198.51.100.10:1883","broker_connected":true,"members":1,"pending":0,"admission":"approve"},"invite":"tund1:AAAAbase64stuff"}}
JSON
run network create lab --prefix 10.77.0.9/16 --broker mqtt://198.51.100.10:1883 \
	--stun 198.51.100.10:3478 --stun stun.example.org:19302 \
	--turn 'turn://tund:tund%40pass@198.51.100.10:3478?transport=tcp' --admission approve
check "network create: exit 0" test "$rc" = 0 -a -z "$err"
check "network create: request" req_is '.cmd == "network.create" and .name == "lab" and
	.prefix == "10.77.0.0/16" and .broker == "mqtt://198.51.100.10:1883" and
	.stun == ["198.51.100.10:3478", "stun.example.org:19302"] and
	.turn == ["turn://tund:tund%40pass@198.51.100.10:3478?transport=tcp"] and
	.admission == "approve"'
check "network create: invite is the last line" last_line "$inv"
check "network create: summary" grep -q 'broker: mqtt://198.51.100.10:1883 (connected)' "$tmp/out"
run network create lab
check "network create: optional fields left out" req_is '. == {"cmd":"network.create","name":"lab"}'

# iceServers conversion
cat >"$tmp/ice.json" <<'JSON'
[{"urls":["stun:198.51.100.10:3478","stun:stun.example.org"]},
 {"urls":["turn:198.51.100.10:3478?transport=udp","turn:198.51.100.11?transport=tcp"],"username":"tu nd","credential":"p@ss:w/rd"},
 {"urls":"turn:[2001:db8::1]:3479","username":"u","credential":"c"}]
JSON
run network create lab --ice-servers "$tmp/ice.json" --stun 192.0.2.1:3478
check "--ice-servers: exit 0" test "$rc" = 0
check "--ice-servers: converted lists" req_is '
	.stun == ["192.0.2.1:3478", "198.51.100.10:3478", "stun.example.org:3478"] and
	.turn == ["turn://tu%20nd:p%40ss%3Aw%2Frd@198.51.100.10:3478?transport=udp",
		"turn://tu%20nd:p%40ss%3Aw%2Frd@198.51.100.11:3478?transport=tcp",
		"turn://u:c@[2001:db8::1]:3479?transport=udp"]'
echo '[{"urls":["stun:h:3478","turns:h:5349"],"username":"u","credential":"c"}]' >"$tmp/turns.json"
run network create lab --ice-servers "$tmp/turns.json"
check "--ice-servers: turns: refused, exit 2, one line" is_usage_error
check "--ice-servers: turns: message names TLS" grep -q 'turns:.*not supported' "$tmp/err"
echo '[{"urls":"turn:h:3478"}]' >"$tmp/nocred.json"
run network create lab --ice-servers "$tmp/nocred.json"
check "--ice-servers: TURN without credential refused" is_usage_error
echo '{"not":"an array"}' >"$tmp/obj.json"
run network create lab --ice-servers "$tmp/obj.json"
check "--ice-servers: not an array refused" is_usage_error
echo '[{"urls":["stun:h:3478"' >"$tmp/trunc.json"
run network create lab --ice-servers "$tmp/trunc.json"
check "--ice-servers: broken JSON refused with one line" is_usage_error
run network create lab --ice-servers "$tmp/missing.json"
check "--ice-servers: missing file: exit 1, one line" test "$rc" = 1 -a "$(lines "$tmp/err")" = 1

echo '{"ok":false,"error":"network lab exists"}' >"$tmp/reply"
run network create lab
check "network create: ok:false, exit 1" is_remote_error "network lab exists"
echo '{"ok":true,"result":{"network":{"name":"lab"}}}' >"$tmp/reply"
run network create lab
check "network create: reply without invite, exit 1" test "$rc" = 1 -a "$(lines "$tmp/err")" = 1

### join, leave, invite, networks
reply <<'JSON'
{"ok":true,"result":{"network":{"name":"lab","prefix":"10.77.0.0/16","address":"10.77.0.2/16","broker":"mqtt://198.51.100.10:1883","broker_connected":false,"members":2,"admission":"open"}}}
JSON
run join "$inv"
check "join: exit 0, summary" sh -c "[ $rc = 0 ] && grep -q '^joined network lab' '$tmp/out' && grep -q 'address: 10.77.0.2/16' '$tmp/out'"
check "join: request" req_is '.cmd == "network.join" and .invite == "tund1:AAAAbase64stuff"'
printf '  %s  \n' "$inv" >"$tmp/in"
run join -
rm -f "$tmp/in"
check "join -: invite read from stdin" req_is '.invite == "tund1:AAAAbase64stuff"'
echo '{"ok":false,"error":"invite expired"}' >"$tmp/reply"
run join "$inv"
check "join: ok:false, exit 1" is_remote_error "invite expired"

echo '{"ok":true,"result":{}}' >"$tmp/reply"
run network leave lab
check "network leave: exit 0" test "$rc" = 0 -a "$out" = "left network lab"
check "network leave: request" req_is '. == {"cmd":"network.leave","name":"lab"}'
echo '{"ok":false,"error":"no such network"}' >"$tmp/reply"
run network leave lab
check "network leave: ok:false, exit 1" is_remote_error "no such network"

echo "{\"ok\":true,\"result\":{\"invite\":\"$inv\"}}" >"$tmp/reply"
run network invite lab
check "network invite: invite is the last line" sh -c "[ $rc = 0 ] && [ \"\$(tail -n 1 '$tmp/out')\" = '$inv' ]"
check "network invite: request" req_is '. == {"cmd":"network.invite","name":"lab"}'
echo "{\"ok\":true,\"result\":{\"invite\":\"$inv\",\"id\":\"0123abcd\",\"expires_at\":\"2026-12-07 21:00:00 UTC\",\"uses\":1}}" >"$tmp/reply"
run network invite lab --expires 24h --uses 1
check "network invite --expires --uses: request" req_is '. == {"cmd":"network.invite","name":"lab","expires_s":86400,"uses":1}'
check "network invite --expires --uses: invite is the last line" sh -c "[ $rc = 0 ] && [ \"\$(tail -n 1 '$tmp/out')\" = '$inv' ]"
check "network invite --expires --uses: id and expiry" grep -q '^limited invite 0123abcd: 1 use, expires 2026-12-07 21:00:00 UTC$' "$tmp/out"
run network invite lab --expires 30s
check "network invite --expires 30s: seconds" req_is '.expires_s == 30 and (has("uses") | not)'
run network invite lab --uses 5
check "network invite --uses 5: no expiry sent" req_is '.uses == 5 and (has("expires_s") | not)'
run network invite lab --expires 7d
check "network invite --expires 7d" req_is '.expires_s == 604800'
echo '{"ok":false,"error":"only the creator of network lab issues limited invites (it counts their uses)"}' >"$tmp/reply"
run network invite lab --uses 1
check "network invite --uses on a non-admin: exit 1" is_remote_error "only the creator of network lab issues limited invites (it counts their uses)"

reply <<'JSON'
{"ok":true,"result":{"invites":[
 {"id":"0123abcd","expires":1796677200,"expires_at":"2026-12-07 21:00:00 UTC","expired":false,"uses_left":0,"revoked":false},
 {"id":"89abcdef","expires":1796677200,"expires_at":"2026-12-07 21:00:00 UTC","expired":false,"uses_left":2,"revoked":true}]}}
JSON
run network invites lab
check "network invites: request" req_is '. == {"cmd":"network.invites","name":"lab"}'
check "network invites: header" sh -c "[ $rc = 0 ] && head -n 1 '$tmp/out' | grep -q '^ID  *EXPIRES  *USES LEFT  *STATE$'"
check "network invites: used row" grep -Eq '^0123abcd +2026-12-07 21:00:00 UTC +0 +used$' "$tmp/out"
check "network invites: revoked row" grep -Eq '^89abcdef +2026-12-07 21:00:00 UTC +2 +revoked$' "$tmp/out"
run network invites lab --json
check "network invites --json: the array" sh -c "jq -e 'length == 2 and .[1].revoked' '$tmp/out' >/dev/null"
echo '{"ok":true,"result":{"revoked":"0123abcd"}}' >"$tmp/reply"
run network invite-revoke lab 0123abcd
check "network invite-revoke: request" req_is '. == {"cmd":"network.invite_revoke","name":"lab","id":"0123abcd"}'
check "network invite-revoke: exit 0" test "$rc" = 0 -a "$out" = "revoked invite 0123abcd of network lab"
echo '{"ok":true,"result":{"epoch":3}}' >"$tmp/reply"
run network rekey lab
check "network rekey: request" req_is '. == {"cmd":"network.rekey","name":"lab"}'
check "network rekey: exit 0" test "$rc" = 0 -a "$out" = "network lab: new key (epoch 3); invites made before no longer work"

reply <<'JSON'
{"ok":true,"result":{"networks":[
 {"name":"lab","prefix":"10.77.0.0/16","address":"10.77.0.1/16","broker":"mqtt://198.51.100.10:1883","broker_connected":true,"members":3,"pending":1,"admission":"approve"},
 {"name":"home","prefix":"10.88.0.0/16","address":"10.88.0.5/16","broker":null,"members":[{"a":1},{"b":2}],"admission":"open","join_refused":"invite already used"}]}}
JSON
run networks
check "networks: request" req_is '. == {"cmd":"networks"}'
check "networks: header" sh -c "[ $rc = 0 ] && head -n 1 '$tmp/out' | grep -q '^NAME  *PREFIX  *ADDRESS  *BROKER  *MEMBERS  *PENDING  *ADMISSION$'"
check "networks: lab row" grep -Eq '^lab +10\.77\.0\.0/16 +10\.77\.0\.1/16 +mqtt://198\.51\.100\.10:1883 connected +3 +1 +approve$' "$tmp/out"
check "networks: home row (no broker, member array)" grep -Eq '^home +10\.88\.0\.0/16 +10\.88\.0\.5/16 +- +2 +- +open$' "$tmp/out"
check "networks: the admin's refusal under its row" grep -Eq '^ +join refused by the admin: invite already used$' "$tmp/out"
run networks --json
check "networks --json: the array" sh -c "jq -e 'length == 2 and .[1].name == \"home\"' '$tmp/out' >/dev/null"
echo '{"ok":true,"result":{"networks":[]}}' >"$tmp/reply"
run networks
check "networks: empty" test "$out" = "no networks"

### peer approve / block / unblock
for sub in approve block unblock; do
	echo "{\"ok\":true,\"result\":{\"peer\":{\"public_key\":\"$key\",\"name\":\"alice\"}}}" >"$tmp/reply"
	run peer $sub alice
	check "peer $sub: exit 0, confirmation" test "$rc" = 0 -a "$out" = "${sub}d peer alice ($key)" -o "$rc" = 0 -a "$out" = "${sub}ed peer alice ($key)"
	check "peer $sub: request" req_is ". == {\"cmd\":\"peer.$sub\",\"peer\":\"alice\"}"
	run peer $sub "$key"
	check "peer $sub KEY: request carries the key" req_is ".peer == \"$key\""
	echo '{"ok":false,"error":"no such peer"}' >"$tmp/reply"
	run peer $sub alice
	check "peer $sub: ok:false, exit 1" is_remote_error "no such peer"
done
echo "{\"ok\":true,\"result\":{\"peer\":{\"public_key\":\"$key\",\"name\":\"alice\"}}}" >"$tmp/reply"
run peer approve --admin alice
check "peer approve --admin: request" req_is '. == {"cmd":"peer.approve","peer":"alice","admin":true}'

### manual signaling
echo "{\"ok\":true,\"result\":{\"blob\":\"$blob\"}}" >"$tmp/reply"
run peer offer "$key" --network lab
check "peer offer: blob is the last line" sh -c "[ $rc = 0 ] && [ \"\$(tail -n 1 '$tmp/out')\" = '$blob' ]"
check "peer offer: request" req_is ". == {\"cmd\":\"peer.offer\",\"peer\":\"$key\",\"network\":\"lab\"}"
run peer offer "$key"
check "peer offer: no network member without --network" req_is 'has("network") | not'
run peer answer "$blob"
check "peer answer: reply blob is the last line" sh -c "[ $rc = 0 ] && [ \"\$(tail -n 1 '$tmp/out')\" = '$blob' ]"
check "peer answer: request" req_is ". == {\"cmd\":\"peer.answer\",\"blob\":\"$blob\"}"
printf '%s\n' "$blob" >"$tmp/in"
run peer answer -
rm -f "$tmp/in"
check "peer answer -: blob from stdin" req_is ".blob == \"$blob\""
echo "{\"ok\":true,\"result\":{\"peer\":{\"public_key\":\"$key\",\"name\":null}}}" >"$tmp/reply"
run peer accept "$blob"
check "peer accept: prints the peer" test "$rc" = 0 -a "$out" = "connected to peer $key"
check "peer accept: request" req_is ". == {\"cmd\":\"peer.accept\",\"blob\":\"$blob\"}"
: >"$tmp/in"
run peer accept -
rm -f "$tmp/in"
check "peer accept -: empty stdin is a usage error" is_usage_error
echo '{"ok":false,"error":"blob is for another node"}' >"$tmp/reply"
run peer accept "$blob"
check "peer accept: ok:false, exit 1" is_remote_error "blob is for another node"
echo '{"ok":true,"result":{}}' >"$tmp/reply"
run peer offer "$key"
check "peer offer: reply without blob, exit 1" test "$rc" = 1 -a "$(lines "$tmp/err")" = 1

### ping
echo '{"ok":true,"result":{"peer":"alice","address":"10.77.0.2","path":"direct","sent":3,"received":2,"rtt_ms":[0.61,null,1.2]}}' >"$tmp/reply"
run ping alice -c 3
check "ping: request" req_is '. == {"cmd":"ping","peer":"alice","count":3}'
check "ping: exit 0" test "$rc" = 0
check "ping: reply lines" sh -c "grep -qx 'reply from 10.77.0.2 via direct: time=0.61 ms' '$tmp/out' && grep -qx 'reply from 10.77.0.2 via direct: time=1.20 ms' '$tmp/out'"
check "ping: summary" grep -q '^3 sent, 2 received, 33% loss, rtt min/avg/max = 0.61/0.91/1.20 ms$' "$tmp/out"
run ping alice
check "ping: default count 4" req_is '.count == 4'
echo '{"ok":true,"result":{"peer":"alice","address":"10.77.0.2","path":"relay","sent":2,"received":0,"rtt_ms":[]}}' >"$tmp/reply"
run ping alice -c 2
check "ping: nothing back, exit 1, one line on stderr" test "$rc" = 1 -a "$(lines "$tmp/err")" = 1
echo '{"ok":false,"error":"peer alice has no overlay address"}' >"$tmp/reply"
run ping alice
check "ping: ok:false, exit 1" is_remote_error "peer alice has no overlay address"
# The timeout grows with COUNT: a daemon that answers after 11 s still counts.
cat >"$tmp/slow.sh" <<SLOW
#!/bin/sh
IFS= read -r req
sleep 11
echo '{"ok":true,"result":{"address":"10.77.0.2","path":"direct","sent":8,"received":1,"rtt_ms":[5]}}'
SLOW
chmod +x "$tmp/slow.sh"
socat UNIX-LISTEN:"$tmp/slow.sock",fork EXEC:"$tmp/slow.sh" 2>/dev/null &
slow_pid=$!
for _ in $(seq 50); do [ -S "$tmp/slow.sock" ] && break; sleep 0.1; done
run --socket "$tmp/slow.sock" ping alice -c 8
check "ping -c 8: waits longer than the default 10 s" test "$rc" = 0
kill "$slow_pid" 2>/dev/null; wait "$slow_pid" 2>/dev/null

### netcheck
reply <<'JSON'
{"ok":true,"result":{"nat":{"mapping":"endpoint-independent","public":["203.0.113.11:40000"],"filtering":"unknown"},
 "broker":{"url":"mqtt://198.51.100.10:1883","reachable":false,"error":"connection refused"},
 "stun":{"server":"198.51.100.10:3478","reachable":true,"error":null},
 "turn":[{"url":"turn://198.51.100.10:3478?transport=udp","reachable":true,"error":null},{"url":"turn://198.51.100.10:3478?transport=tcp","reachable":false,"error":"timeout"}],
 "ipv6":["2001:db8:1::10","2001:db8:7::1"]}}
JSON
run netcheck
check "netcheck: request" req_is '. == {"cmd":"netcheck"}'
check "netcheck: exit 0" test "$rc" = 0 -a -z "$err"
for want in "NAT mapping:   endpoint-independent" "public address: 203.0.113.11:40000" \
	"broker mqtt://198.51.100.10:1883: unreachable (connection refused)" \
	"STUN 198.51.100.10:3478: reachable" \
	"TURN turn://198.51.100.10:3478?transport=udp: reachable" \
	"TURN turn://198.51.100.10:3478?transport=tcp: unreachable (timeout)" \
	"IPv6: 2001:db8:1::10, 2001:db8:7::1"; do
	check "netcheck shows '$want'" grep -qxF "$want" "$tmp/out"
done
sed -i 's/"ipv6":\["2001:db8:1::10","2001:db8:7::1"\]/"ipv6":[]/' "$tmp/reply"
run netcheck
check "netcheck shows 'IPv6: none (no global address)'" grep -qxF "IPv6: none (no global address)" "$tmp/out"
run netcheck --json
check "netcheck --json: the result" sh -c "jq -e '.nat.mapping == \"endpoint-independent\" and (.turn | length) == 2' '$tmp/out' >/dev/null"
echo '{"ok":false,"error":"netcheck already running"}' >"$tmp/reply"
run netcheck
check "netcheck: ok:false, exit 1" is_remote_error "netcheck already running"

### peers with network fields
now=$(date +%s)
reply <<JSON
{"ok":true,"result":{"peers":[
 {"public_key":"$key","name":"alice","network":"lab","state":"member","endpoint":"203.0.113.22:40001","allowed_ips":["10.77.0.2/32"],"path":"relay","candidates":"srflx→relay","local_addr":"10.1.0.10:5000","remote_addr":"198.51.100.10:50000","rtt_ms":1.234,"latest_handshake":$((now - 3)),"rx_bytes":10,"tx_bytes":20,"last_error":"direct path failed: ICE timeout"},
 {"public_key":"WON1/4frxb1kJztdFCwRl5Z/UN8O+yKFi+z7dTAq/nw=","name":"bob","state":"pending","allowed_ips":[],"path":null,"latest_handshake":null,"rx_bytes":0,"tx_bytes":0},
 {"public_key":"$key","name":"carol","network":"lab","state":"member","allowed_ips":["10.77.0.3/32"],"path":"direct","candidates":"host→host","local_addr":"[2001:db8:1::10]:5000","remote_addr":"[2001:db8:2::10]:5001","latest_handshake":$((now - 3)),"rx_bytes":10,"tx_bytes":20}
]}}
JSON
run peers
check "peers: network header" sh -c "head -n 1 '$tmp/out' | grep -q '^NAME  *PUBLIC KEY  *NETWORK  *STATE  *ENDPOINT  *ALLOWED IPS  *PATH  *RTT  *HANDSHAKE  *RX  *TX  *DROPPED$'"
check "peers: alice row" grep -Eq '^alice +mK0uK/75… +lab +member +203\.0\.113\.22:40001 +10\.77\.0\.2/32 +relay \(srflx→relay\) +1\.23 ms +[3-6]s ago +10 B +20 B +-$' "$tmp/out"
check "peers: last error on its own indented line under alice" sh -c "sed -n 3p '$tmp/out' | grep -qx '    last error: direct path failed: ICE timeout'"
check "peers: bob pending" grep -Eq '^bob +WON1/4fr… +- +pending +- +- +- +- +never' "$tmp/out"
check "peers: local addresses only in --json" sh -c "! grep -q '10.1.0.10:5000' '$tmp/out' && ! grep -qF '[2001:db8:1::10]:5000' '$tmp/out'"
check "peers: an ICE path without endpoint shows its remote address" grep -Eq '^carol +mK0uK/75… +lab +member +\[2001:db8:2::10\]:5001 +10\.77\.0\.3/32 +direct \(host→host\) ' "$tmp/out"
run peers --json
check "peers --json keeps every field" sh -c "jq -e '.[0].local_addr == \"10.1.0.10:5000\" and .[0].candidates == \"srflx→relay\"' '$tmp/out' >/dev/null"

echo "$checks checks, $fails failed"
[ "$fails" = 0 ]
