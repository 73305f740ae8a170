#!/usr/bin/env bash
# Two tund nodes with static endpoints: ping over IPv4 and IPv6, a 50 MB TCP
# transfer arrives intact, a replayed datagram is dropped and counted, a
# stranger's handshakes get no answer, a restart recovers within 10 s, and
# the endpoint follows a peer that roams to a new address.
set -u
. "$(dirname "$0")/lib.sh"
t_init tunnel
. "$(dirname "$0")/lib_pair.sh"
pair_up

ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
wait_until 20 ping_ok "$NS_A" 10.77.0.2 || fail "no IPv4 ping a -> b"
ping_all "$NS_A" 3 10.77.0.2 -i 0.2 -W 2 || fail "IPv4 ping a -> b lost packets"
ping_all "$NS_B" 3 10.77.0.1 -i 0.2 -W 2 || fail "IPv4 ping b -> a lost packets"
wait_until 20 ping_ok "$NS_A" fd77::2 || fail "no IPv6 ping a -> b"
ping_all "$NS_B" 3 fd77::1 -i 0.2 -W 2 || fail "IPv6 ping b -> a lost packets"
p=$(ctl_a peers --json | jq -c '.[0]')
jq -e '.latest_handshake > 0 and .rx_bytes > 0 and .tx_bytes > 0 and .path == "direct"' \
	<<<"$p" >/dev/null || fail "peers does not show the session: $p"
[ "$(jq -r .endpoint <<<"$p")" = 192.0.2.2:51820 ] || fail "endpoint: $p"

# 50 MB over TCP through the tunnel, same checksum at both ends.
head -c 50000000 /dev/urandom >"$T_DIR/blob"
want=$(sha256sum <"$T_DIR/blob" | cut -d' ' -f1)
ip netns exec "$NS_B" socat -u TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr \
	"CREATE:$T_DIR/received" &
rx=$!; t_track "$rx"
wait_until 10 ip netns exec "$NS_B" sh -c "ss -ltn | grep -q 10.77.0.2:5001" || fail "listener"
ip netns exec "$NS_A" timeout 120 socat -u "OPEN:$T_DIR/blob" TCP:10.77.0.2:5001 ||
	fail "TCP transfer failed"
wait_until 30 eval "! pid_running $rx" || fail "receiver did not finish"
t_untrack "$rx"
got=$(sha256sum <"$T_DIR/received" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "50 MB transfer corrupted ($got != $want)"
t_log "50 MB transfer intact"

# Replay: capture transport datagrams a -> b on the underlay, send them again.
ip netns exec "$NS_B" tcpdump -i eth0 -U -w "$T_DIR/cap.pcap" -c 5 \
	'udp and src host 192.0.2.1 and dst port 51820 and udp[8] = 4' >/dev/null 2>&1 &
dump=$!; t_track "$dump"
sleep_ping() { ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1; ! pid_running "$dump"; }
wait_until 30 sleep_ping || fail "capture did not see 5 transport packets"
t_untrack "$dump"
before=$(ctl_b peers --json | jq '.[0].drops.replayed')
sent=$(ip netns exec "$NS_A" python3 "$TOP/tests/netns/udp_replay.py" "$T_DIR/cap.pcap" 192.0.2.2 51820)
[ "${sent:-0}" -ge 1 ] || fail "nothing replayed"
replayed() { [ "$(ctl_b peers --json | jq '.[0].drops.replayed')" -ge $((before + sent)) ]; }
wait_until 10 replayed || fail "replayed datagrams not counted: $(ctl_b peers --json | jq -c '.[0].drops')"
ctl_b peers | grep -q . || fail "peers table"
ping_ok "$NS_A" 10.77.0.2 || fail "tunnel broken after replay"
t_log "$sent replayed datagrams dropped and counted"

# A stranger: a third node that knows b, whom b does not know.
t_ns NS_C c
ip link add "ttc$$" netns "$NS_C" type veth peer name "ttd$$" netns "$NS_B" || fail "veth c"
ip -n "$NS_C" link set "ttc$$" name eth0
ip -n "$NS_C" addr add 192.0.3.3/24 dev eth0
ip -n "$NS_C" link set eth0 up
ip -n "$NS_B" addr add 192.0.3.2/24 dev "ttd$$"
ip -n "$NS_B" link set "ttd$$" up
node_conf c 3
start_tund "$NS_C" "$T_DIR/c.conf" "$T_DIR/c.log"
ctl_c() { "$TUNDCTL" --socket "$T_DIR/c/tund.sock" "$@"; }
wait_until 20 ctl_c status || fail "tund c did not start"
ip netns exec "$NS_C" tcpdump -i eth0 -U -w "$T_DIR/stranger.pcap" 'udp' >/dev/null 2>&1 &
dump=$!; t_track "$dump"
wait_until 10 test -s "$T_DIR/stranger.pcap" || true
rejected0=$(ctl_b status --json | jq .drops.handshake_rejected)
ctl_c peer add "$PUB_B" --endpoint 192.0.3.2:51820 --allowed-ips 10.77.0.2/32 >/dev/null ||
	fail "peer add on c"
ip netns exec "$NS_C" ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1
count_pcap() { tcpdump -r "$T_DIR/stranger.pcap" "$1" 2>/dev/null | wc -l; }
stranger_tried() { [ "$(count_pcap 'dst host 192.0.3.2')" -ge 2 ]; }
wait_until 30 stranger_tried || fail "stranger sent fewer than 2 handshakes"
kill "$dump"; wait "$dump" 2>/dev/null; t_untrack "$dump"
from_b=$(count_pcap 'src host 192.0.3.2')
to_b=$(count_pcap 'dst host 192.0.3.2')
[ "$from_b" -eq 0 ] || fail "b answered the stranger with $from_b packets"
[ "$(ctl_b status --json | jq .drops.handshake_rejected)" -ge $((rejected0 + 2)) ] ||
	fail "b did not count the stranger's handshakes: $(ctl_b status --json | jq -c .drops)"
t_log "stranger sent $to_b handshake packets, got none back"

# Restart b: traffic resumes within 10 s.
stop_pid "$PID_B" || fail "b did not stop"
start_b
start=$SECONDS
wait_until 10 ping_ok "$NS_A" 10.77.0.2 || fail "no traffic within 10 s of b restarting"
t_log "traffic resumed $((SECONDS - start)) s after b restarted"
# Roaming: a moves to a new underlay address; b follows its latest packets.
ip -n "$NS_A" addr del 192.0.2.1/24 dev eth0
ip -n "$NS_A" addr add 192.0.2.11/24 dev eth0
wait_until 20 ping_ok "$NS_A" 10.77.0.2 || fail "no traffic after a changed its address"
ep=$(ctl_b peers --json | jq -r '.[0].endpoint')
[ "$ep" = 192.0.2.11:51820 ] || fail "b did not follow a to its new address: $ep"
t_log "b follows a to $ep"
echo "PASS tunnel"
