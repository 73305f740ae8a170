#!/usr/bin/env bash
# The crypto worker pool ([daemon] crypto_workers, TUND_CRYPTO_WORKERS;
# overlay/pool.h) keeps order and bytes: with it on at both ends (a by the
# config key, b by the environment, which wins over b's config), tundctl
# status shows the workers; 30 MB over TCP each way arrive with the same
# sha256 and go through the pool (its slice counters grow at both ends); a
# burst of numbered 1300-byte UDP datagrams, opened through b's pool,
# arrives in order and none twice; a paced stream arrives whole and in order.
set -u
. "$(dirname "$0")/lib.sh"
t_init crypto_pool
. "$(dirname "$0")/lib_pair.sh"

slices() { ctl_"$1" status --json | jq -r .crypto_workers.slices; }

pair_ns
node_conf a 1
node_conf b 2
sed -i 's/^\[daemon\]$/[daemon]\ncrypto_workers = 2/' "$T_DIR/a.conf"
sed -i 's/^\[daemon\]$/[daemon]\ncrypto_workers = off/' "$T_DIR/b.conf"
start_a
TUND_CRYPTO_WORKERS=1 start_b
PUB_A=$(ctl_a status --json | jq -r .public_key)
PUB_B=$(ctl_b status --json | jq -r .public_key)
ctl_a peer add "$PUB_B" --endpoint 192.0.2.2:51820 --allowed-ips 10.77.0.2/32 >/dev/null ||
	fail "peer add on a"
ctl_b peer add "$PUB_A" --endpoint 192.0.2.1:51820 --allowed-ips 10.77.0.1/32 >/dev/null ||
	fail "peer add on b"

st=$(ctl_a status --json)
jq -e '.crypto_workers.setting == "2" and .crypto_workers.workers == 2' <<<"$st" >/dev/null ||
	fail "a: status crypto_workers, want setting 2 and 2 workers: $(jq -c .crypto_workers <<<"$st")"
st=$(ctl_b status --json)
jq -e '.crypto_workers.setting == "1" and .crypto_workers.workers == 1' <<<"$st" >/dev/null ||
	fail "b: TUND_CRYPTO_WORKERS=1 over crypto_workers = off, got $(jq -c .crypto_workers <<<"$st")"
ctl_a status | grep -q "^ *crypto workers: 2 (2)" ||
	fail "tundctl status does not show the crypto workers: $(ctl_a status)"
grep -q "crypto workers (2): 2 threads" "$T_DIR/a.log" || fail "no 'crypto workers (2)' line in a's log"
wait_until 20 ip netns exec "$NS_A" ping -c 1 -W 1 10.77.0.2 >/dev/null || fail "no ping a -> b"

head -c 30000000 /dev/urandom >"$T_DIR/blob"
a0=$(slices a) b0=$(slices b)
tcp_transfer "$NS_A" "$NS_B" TCP:10.77.0.2:5001 TCP-LISTEN:5001,bind=10.77.0.2,reuseaddr
a1=$(slices a) b1=$(slices b)
[ "$a1" -gt "$a0" ] || fail "a sealed 30 MB without its pool (slices $a0 -> $a1)"
[ "$b1" -gt "$b0" ] || fail "b opened 30 MB without its pool (slices $b0 -> $b1)"
t_log "30 MB a -> b intact; slices through the pools: a $((a1 - a0)), b $((b1 - b0))"
tcp_transfer "$NS_B" "$NS_A" TCP:10.77.0.1:5001 TCP-LISTEN:5001,bind=10.77.0.1,reuseaddr
t_log "30 MB b -> a intact; slices: a $(($(slices a) - a1)), b $(($(slices b) - b1))"

# stream N RATE: N numbered 1300-byte datagrams a -> b at RATE a second;
# sets got lost reordered duplicated and logs them with b's pool slices.
stream() {
	local n=$1 rate=$2 b0
	b0=$(slices b)
	seq_stream "$n" "$rate"
	STREAM_SLICES=$(($(slices b) - b0))
	t_log "$n datagrams at $rate/s: received $got lost $lost reordered $reordered" \
		"duplicated $duplicated; b's pool took $STREAM_SLICES slices"
	[ "$reordered" = 0 ] || fail "$reordered of $n datagrams arrived out of order through the pool"
	[ "$duplicated" = 0 ] || fail "$duplicated datagrams arrived twice"
}

# As fast as the sender can: bursts fill batches, so b opens them through
# its pool. Such a burst overflows queues tund cannot count (the veth's
# backlog, its own full socket buffer that it waits on only briefly), so
# loss is logged, not judged, here; order is.
stream 20000 1000000
[ "$STREAM_SLICES" -gt 0 ] || fail "b opened the burst without its pool"
# Paced well below what the tunnel carries: every datagram arrives.
stream 4000 4000
[ "$lost" = 0 ] || fail "$lost of 4000 paced datagrams lost"
echo "PASS crypto_pool"
