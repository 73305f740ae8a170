# shellcheck shell=bash
# The machine and the table printed by bench.sh.

# machine_header: what the numbers were measured on.
machine_header() {
	local v
	echo "machine: $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) CPUs," \
		"kernel $(uname -r), TCP congestion control $(cat /proc/sys/net/ipv4/tcp_congestion_control)"
	for v in iperf3 wireguard-go nebula tinc openvpn libsodium23 libssl3; do
		printf '%s %s; ' "$v" "$(dpkg-query -W -f='${Version}' "$v" 2>/dev/null || echo '?')"
	done
	echo "tund $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
	echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# report_table TSV "PATH..." REPS SECS PEERS: medians per path and metric as a
# Markdown table, the extra idle RTT over the veth, and the ratios of tund to
# wireguard-go and to nebula (x > 1: tund's figure is larger).
report_table() {
	local tsv=$1 paths=$2 reps=$3 secs=$4 peers=$5
	awk -F'\t' -v paths="$paths" -v reps="$reps" -v secs="$secs" -v peers="$peers" '
	function med(k,   n, i, j, x, a) {
		n = cnt[k]
		if (!n) return "NA"
		for (i = 1; i <= n; i++) a[i] = val[k, i]
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(m, v) {
		if (v == "NA") return "–"
		if (m ~ /^ping/ || m ~ /^over/) return sprintf("%.3f", v)
		if (m == "cpu_per_gb") return sprintf("%.1f", v)
		return sprintf("%.0f", v)
	}
	function ratio(a, b) { return (a == "NA" || b == "NA" || b == 0) ? "–" : sprintf("%.2f×", a / b) }
	$3 != "NA" && $3 != "" { k = $1 SUBSEP $2; val[k, ++cnt[k]] = $3 }
	END {
		nm = split("tcp1 tcp4 udp64_pps ping_idle over ping_1cpu over1 ping_busy overb ping_load cpu_per_gb", m, " ")
		np = split(paths, p, " ")
		for (i = 1; i <= np; i++) {
			for (j = 1; j <= nm; j++) M[p[i], m[j]] = med(p[i] SUBSEP m[j])
			M[p[i], "over"] = (M[p[i], "ping_idle"] == "NA" || M["veth", "ping_idle"] == "NA") ? "NA" : \
				M[p[i], "ping_idle"] - M["veth", "ping_idle"]
			M[p[i], "over1"] = (M[p[i], "ping_1cpu"] == "NA" || M["veth", "ping_1cpu"] == "NA") ? "NA" : \
				M[p[i], "ping_1cpu"] - M["veth", "ping_1cpu"]
			M[p[i], "overb"] = (M[p[i], "ping_busy"] == "NA" || M["veth", "ping_busy"] == "NA") ? "NA" : \
				M[p[i], "ping_busy"] - M["veth", "ping_busy"]
		}
		M["veth", "cpu_per_gb"] = M["veth", "over"] = M["veth", "over1"] = M["veth", "overb"] = "NA"
		printf "\n| path | TCP 1 stream Mbit/s | TCP 4 streams Mbit/s | UDP 64 B delivered pps | idle ping ms | over veth ms | idle ping, one CPU ms | over veth ms | idle ping, CPUs busy ms | over veth ms | ping under TCP load ms | CPU-s per GB (both daemons) |\n"
		printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
		for (i = 1; i <= np; i++) {
			printf "| %s |", p[i]
			for (j = 1; j <= nm; j++) printf " %s |", fmt(m[j], M[p[i], m[j]])
			printf "\n"
		}
		for (r = 1; r <= 2; r++) {
			o = (r == 1) ? "wireguard-go" : "nebula"
			if (!((o SUBSEP "tcp1") in M) || !(("tund" SUBSEP "tcp1") in M)) continue
			printf "| tund / %s |", o
			for (j = 1; j <= nm; j++) printf " %s |", (m[j] ~ /^over/ && M[o, m[j]] <= 0) ? "–" : ratio(M["tund", m[j]], M[o, m[j]])
			printf "\n"
		}
		printf "\nMedians of %d interleaved repetitions; iperf3 -t %d (UDP: -u -l 64 -b 0 -t %d), 200 idle pings 10 ms apart,\n", reps, secs, int((secs + 1) / 2)
		printf "pings 50 ms apart during the 1-stream test; CPU = utime+stime of both daemons during that test.\n"
		printf "One CPU: the same idle pings with ping and every daemon thread on CPU 0 (no wake-ups across vCPUs).\n"
		printf "CPUs busy: the same idle pings while one busy loop per CPU runs at nice 19 (no wake-up has to start an idle vCPU).\n"
		if ((("floor-seal" SUBSEP "ping_idle") in M) && M["floor-seal", "ping_idle"] != "NA" && M["tund", "ping_idle"] != "NA")
			printf "Floor: floor_fwd.c, one read and one send per packet in one thread at each end (floor-seal: with ChaCha20-Poly1305);\ntund adds %.3f ms to floor-seal idle (%.3f ms on one CPU, %.3f ms with the CPUs busy).\n", \
				M["tund", "ping_idle"] - M["floor-seal", "ping_idle"], M["tund", "ping_1cpu"] - M["floor-seal", "ping_1cpu"], \
				M["tund", "ping_busy"] - M["floor-seal", "ping_busy"]
		printf "Ratio rows: the median of tund divided by the other median; above 1 is better for Mbit/s and pps, below 1 for ms and CPU.\n"
		if (cnt["tund" SUBSEP "rss_peers_kib"])
			printf "tund RSS: %.1f MiB with 1 peer after the tests, %.1f MiB with %s more static peers added.\n", \
				val["tund" SUBSEP "rss_before_kib", 1] / 1024, val["tund" SUBSEP "rss_peers_kib", 1] / 1024, peers
	}' "$tsv"
}

# report_aead BIN: the transport cipher's backends (tests/bench/aead_bench.c),
# MB/s per packet size as a Markdown table, and the size from which tund's
# auto mode uses OpenSSL on this machine.
report_aead() {
	local out
	out=$(env -u TUND_AEAD "$1" 300) || return 1
	printf '\nTransport cipher, MB per CPU-second per packet size (one thread; ossl-rekeyed: OpenSSL keyed afresh per packet):\n\n'
	awk 'NR == 1 { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n|---|"
			for (i = 2; i <= NF; i++) printf "---:|"; printf "\n"; next }
		/^choice/ { choice = $0; next }
		{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n" }
		END { printf "\ntund\047s %s\n", choice }' <<<"$out"
}

# report_pool BIN: the seal/open pipeline (tests/bench/pool_bench.c) with 0,
# 1 and 2 crypto workers, as a Markdown table.
report_pool() {
	local out
	out=$("$1" 300) || return 1
	printf '\nSeal/open pipeline, batches of 64 packets of 1420 bytes, MB of plaintext per second (best of 3 rounds; threads: the workers and the calling packet thread):\n\n'
	printf '| crypto workers | threads | MB per wall second | MB per CPU-second |\n|---:|---:|---:|---:|\n'
	awk 'NR > 1 { printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' <<<"$out"
}
