// SPDX-License-Identifier: MIT
/* The seal/open pipeline with and without the crypto worker pool
 * (overlay/pool.h): one device seals batches of 64 packets of 1420 bytes
 * to another (tund_wg_encrypt_batch_pool), which opens them
 * (tund_wg_receive_batch_pool), as the TUN and UDP threads do; the calling
 * thread works too. Prints MB of plaintext per wall-clock second (what a
 * pool is for: more than one core on one peer's stream) and per second of
 * the process's CPU time (what it costs), per configuration, best of three
 * rounds. For `make bench`.
 *
 *   pool_bench [MILLISECONDS per round, default 300] [WORKERS...] (default 0 1 2) */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/device.h"
#include "overlay/pool.h"

enum { BATCH = TUND_WG_BATCH_MAX, LEN = 1420, SLOT = 2048, ROUNDS = 3 };

struct wire {
	uint8_t buf[SLOT];
	size_t len;
	int n;
};

static void to_wire(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wire *w = ctx;

	(void)dst;
	if (len <= SLOT) {
		memcpy(w->buf, buf, len);
		w->len = len;
		w->n++;
	}
}

static const struct tund_wg_endpoint EP_A = { .addr = { 1 }, .addr_len = 16, .key = { 1 }, .key_len = 6 };
static const struct tund_wg_endpoint EP_B = { .addr = { 2 }, .addr_len = 16, .key = { 2 }, .key_len = 6 };

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t ipv4_packet(uint8_t *p, size_t len)
{
	memset(p, 0x5a, len);
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	inet_pton(AF_INET, "10.0.0.1", p + 12);
	inet_pton(AF_INET, "10.0.0.2", p + 16);
	return len;
}

struct pair {
	struct tund_wg *a, *b;
	struct wire wa, wb;
	struct tund_wg_clock now;
};

/* a and b with a session: a's first packet is staged, the handshake runs
 * through the wires, a's staged packet opens b's keypair. */
static int pair_up(struct pair *p)
{
	uint8_t ka[32], kb[32], pa[32], pb[32], buf[SLOT];
	struct tund_wg_peer *a_b, *b_a;
	struct tund_wg_endpoint dst;
	struct tund_cidr c;
	size_t out_len, off, inner;

	memset(p, 0, sizeof(*p));
	p->now.mono_ns = 1000000000ull;
	p->now.wall.tv_sec = 1700000000;
	randombytes_buf(ka, 32);
	randombytes_buf(kb, 32);
	crypto_scalarmult_base(pa, ka);
	crypto_scalarmult_base(pb, kb);
	p->a = tund_wg_new(ka, LEN, to_wire, &p->wa);
	p->b = tund_wg_new(kb, LEN, to_wire, &p->wb);
	if (!p->a || !p->b)
		return -1;
	a_b = tund_wg_peer_add(p->a, pb, NULL, NULL);
	b_a = tund_wg_peer_add(p->b, pa, NULL, NULL);
	tund_cidr_parse(&c, "10.0.0.2/32", false);
	tund_wg_peer_allow(p->a, a_b, &c);
	tund_cidr_parse(&c, "10.0.0.1/32", false);
	tund_wg_peer_allow(p->b, b_a, &c);
	tund_wg_peer_set_endpoint(p->a, a_b, &EP_B);
	tund_wg_encrypt(p->a, buf, sizeof(buf), ipv4_packet(buf + TUND_WG_HEADROOM, 60),
			&p->now, &out_len, &dst);
	tund_wg_receive(p->b, p->wa.buf, p->wa.len, &EP_A, &p->now, &off, &inner);
	tund_wg_receive(p->a, p->wb.buf, p->wb.len, &EP_B, &p->now, &off, &inner);
	return tund_wg_receive(p->b, p->wa.buf, p->wa.len, &EP_A, &p->now, &off, &inner) ==
			       TUND_WG_TO_TUN ? 0 : -1;
}

/* One round of ms: seal a batch, open it, again; MB/s by wall and CPU. */
static int round_trip(struct pair *p, struct tund_pool_queue *tx_q, struct tund_pool_queue *rx_q,
		      uint8_t (*bufs)[SLOT], unsigned ms, double *wall_mbps, double *cpu_mbps)
{
	struct tund_wg_packet pk[BATCH];
	uint64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), w1;
	uint64_t bytes = 0;

	do {
		for (int i = 0; i < BATCH; i++)
			pk[i] = (struct tund_wg_packet){ .buf = bufs[i], .cap = SLOT,
						       .len = ipv4_packet(bufs[i] + TUND_WG_HEADROOM, LEN) };
		tund_wg_encrypt_batch_pool(p->a, tx_q, pk, BATCH, &p->now);
		for (int i = 0; i < BATCH; i++) {
			if (pk[i].res != TUND_WG_SEND)
				return -1;
			pk[i] = (struct tund_wg_packet){ .buf = bufs[i], .len = pk[i].out_len,
						       .src = &EP_A };
		}
		tund_wg_receive_batch_pool(p->b, rx_q, pk, BATCH, &p->now);
		for (int i = 0; i < BATCH; i++)
			if (pk[i].res != TUND_WG_TO_TUN)
				return -1;
		bytes += BATCH * LEN;
		w1 = clock_ns(CLOCK_MONOTONIC);
	} while (w1 - w0 < (uint64_t)ms * 1000000);
	*wall_mbps = (double)bytes / 1e6 / ((double)(w1 - w0) / 1e9);
	*cpu_mbps = (double)bytes / 1e6 /
		    ((double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9);
	return 0;
}

static int measure(unsigned workers, unsigned ms, uint8_t (*bufs)[SLOT])
{
	struct tund_pool *pool = NULL;
	struct tund_pool_queue *tx_q = NULL, *rx_q = NULL;
	double best_wall = 0, best_cpu = 0, wall, cpu;
	struct pair p;
	int ret = -1;

	if (pair_up(&p))
		goto out;
	if (workers && (tund_pool_new(workers, &pool) || tund_pool_queue_new(pool, &tx_q) ||
			tund_pool_queue_new(pool, &rx_q)))
		goto out;
	for (int r = 0; r < ROUNDS; r++) {
		if (round_trip(&p, tx_q, rx_q, bufs, ms, &wall, &cpu))
			goto out;
		if (wall > best_wall) {
			best_wall = wall;
			best_cpu = cpu;
		}
	}
	printf("%u\t%u\t%.0f\t%.0f\n", workers, workers + 1, best_wall, best_cpu);
	ret = 0;
out:
	tund_pool_queue_free(tx_q);
	tund_pool_queue_free(rx_q);
	tund_pool_free(pool);
	tund_wg_free(p.a);
	tund_wg_free(p.b);
	return ret;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][SLOT];
	unsigned ms = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 300;
	unsigned def[] = { 0, 1, 2 };

	if (sodium_init() < 0 || !ms) {
		fprintf(stderr, "usage: pool_bench [MILLISECONDS] [WORKERS...]\n");
		return 2;
	}
	printf("workers\tthreads\twall_MBps\tcpu_MBps\n");
	for (int i = 0; i < (argc > 2 ? argc - 2 : 3); i++) {
		unsigned w = argc > 2 ? (unsigned)strtoul(argv[i + 2], NULL, 10) : def[i];

		if (measure(w, ms, bufs)) {
			fprintf(stderr, "pool_bench: the pipeline failed with %u workers\n", w);
			return 1;
		}
	}
	return 0;
}
