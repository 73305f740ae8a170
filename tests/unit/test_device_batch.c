// SPDX-License-Identifier: MIT
/* The batch entry points of the WireGuard device: the same results and side
 * effects as packet by packet, including the cases where packets of one
 * batch depend on each other (a duplicate, a keypair confirmed by the first
 * packet, a handshake followed by data). */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/device.h"
#include "tests/unit/unit.h"

enum { SLOT = 2048, WIRE_MAX = 16 };

struct wire {
	uint8_t buf[WIRE_MAX][SLOT];
	size_t len[WIRE_MAX];
	int n;
};

static void to_wire(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wire *w = ctx;

	(void)dst;
	if (w->n < WIRE_MAX && len <= SLOT) {
		memcpy(w->buf[w->n], buf, len);
		w->len[w->n++] = len;
	}
}

static const struct tund_wg_endpoint EP_A = { .addr = { 1 }, .addr_len = 16, .key = { 1 }, .key_len = 6 };
static const struct tund_wg_endpoint EP_B = { .addr = { 2 }, .addr_len = 16, .key = { 2 }, .key_len = 6 };

/* IPv4/UDP-ish packet of total length len (>= 28) with a marker byte. */
static size_t ipv4_packet(uint8_t *p, const char *src, const char *dst, size_t len, uint8_t mark)
{
	memset(p, mark, len);
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	return len;
}

struct pair {
	struct tund_wg *a, *b;
	struct tund_wg_peer *a_b, *b_a;
	struct wire wa, wb;
	struct tund_wg_clock now;
};

static void pair_init(struct pair *p)
{
	uint8_t ka[32], kb[32], pa[32], pb[32];
	struct tund_cidr c;

	CHECK(sodium_init() >= 0);
	memset(p, 0, sizeof(*p));
	p->now.mono_ns = 1000000000ull;
	p->now.wall.tv_sec = 1700000000;
	randombytes_buf(ka, 32);
	randombytes_buf(kb, 32);
	crypto_scalarmult_base(pa, ka);
	crypto_scalarmult_base(pb, kb);
	p->a = tund_wg_new(ka, 1420, to_wire, &p->wa);
	p->b = tund_wg_new(kb, 1420, to_wire, &p->wb);
	p->a_b = tund_wg_peer_add(p->a, pb, NULL, NULL);
	p->b_a = tund_wg_peer_add(p->b, pa, NULL, NULL);
	tund_cidr_parse(&c, "10.0.0.2/32", false);
	tund_wg_peer_allow(p->a, p->a_b, &c);
	tund_cidr_parse(&c, "10.0.0.1/32", false);
	tund_wg_peer_allow(p->b, p->b_a, &c);
	tund_wg_peer_set_endpoint(p->a, p->a_b, &EP_B);
}

/* Everything queued on w, received by `to` as one batch; returns how many
 * came out for TUN. The wire is emptied. */
static int deliver_batch(struct wire *w, struct tund_wg *to, const struct tund_wg_endpoint *src,
			 const struct tund_wg_clock *now, struct tund_wg_packet *pkts)
{
	static uint8_t bufs[WIRE_MAX][SLOT];
	int n = w->n, tun = 0;

	for (int i = 0; i < n; i++) {
		memcpy(bufs[i], w->buf[i], w->len[i]);
		pkts[i] = (struct tund_wg_packet){ .buf = bufs[i], .len = w->len[i], .src = src };
	}
	w->n = 0;
	tund_wg_receive_batch(to, pkts, (size_t)n, now);
	for (int i = 0; i < n; i++)
		tun += pkts[i].res == TUND_WG_TO_TUN;
	return tun;
}

UNIT_TEST(device_batch_staged_and_confirming_packets_in_one_batch)
{
	struct pair p;
	static uint8_t bufs[4][SLOT];
	struct tund_wg_packet pkts[WIRE_MAX];
	struct tund_wg_peer_stats st;

	pair_init(&p);
	/* Three packets before any session: all staged, one initiation. */
	for (int i = 0; i < 3; i++) {
		size_t len = ipv4_packet(bufs[i] + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2",
					 100 + (size_t)i, (uint8_t)(0xa0 + i));
		pkts[i] = (struct tund_wg_packet){ .buf = bufs[i], .cap = SLOT, .len = len };
	}
	tund_wg_encrypt_batch(p.a, pkts, 3, &p.now);
	for (int i = 0; i < 3; i++)
		CHECK(pkts[i].res == TUND_WG_DONE);
	CHECK(p.wa.n == 1 && p.wa.len[0] == 148);
	CHECK(deliver_batch(&p.wa, p.b, &EP_A, &p.now, pkts) == 0);
	CHECK(p.wb.n == 1 && p.wb.len[0] == 92);
	/* The response flushes all three; b gets them in one batch: the
	 * first confirms b's new keypair, the others use it as current. */
	CHECK(deliver_batch(&p.wb, p.a, &EP_B, &p.now, pkts) == 0);
	CHECK(p.wa.n == 3);
	CHECK(deliver_batch(&p.wa, p.b, &EP_A, &p.now, pkts) == 3);
	for (int i = 0; i < 3; i++) {
		CHECK(pkts[i].inner_len == 100 + (size_t)i);
		CHECK(pkts[i].buf[pkts[i].inner_off + 99] == 0xa0 + i);
	}
	tund_wg_peer_get_stats(p.b, p.b_a, &st);
	CHECK(st.has_session && st.latest_handshake == 1700000000);
	tund_wg_free(p.a);
	tund_wg_free(p.b);
}

UNIT_TEST(device_batch_mixed_results_in_order)
{
	struct pair p;
	static uint8_t bufs[8][SLOT];
	struct tund_wg_packet pkts[WIRE_MAX];
	struct tund_wg_peer_stats st;
	uint64_t drops[TUND_WG_DROP_COUNT];
	size_t len;

	pair_init(&p);
	/* Session first. */
	len = ipv4_packet(bufs[0] + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2", 60, 1);
	pkts[0] = (struct tund_wg_packet){ .buf = bufs[0], .cap = SLOT, .len = len };
	tund_wg_encrypt_batch(p.a, pkts, 1, &p.now);
	deliver_batch(&p.wa, p.b, &EP_A, &p.now, pkts);
	deliver_batch(&p.wb, p.a, &EP_B, &p.now, pkts);
	CHECK(deliver_batch(&p.wa, p.b, &EP_A, &p.now, pkts) == 1);

	/* a batch: good, no route, not IP, good (other size). */
	len = ipv4_packet(bufs[0] + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2", 1400, 2);
	pkts[0] = (struct tund_wg_packet){ .buf = bufs[0], .cap = SLOT, .len = len };
	len = ipv4_packet(bufs[1] + TUND_WG_HEADROOM, "10.0.0.1", "192.0.2.9", 80, 3);
	pkts[1] = (struct tund_wg_packet){ .buf = bufs[1], .cap = SLOT, .len = len };
	memset(bufs[2] + TUND_WG_HEADROOM, 0, 30);
	pkts[2] = (struct tund_wg_packet){ .buf = bufs[2], .cap = SLOT, .len = 30 };
	len = ipv4_packet(bufs[3] + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2", 33, 4);
	pkts[3] = (struct tund_wg_packet){ .buf = bufs[3], .cap = SLOT, .len = len };
	tund_wg_encrypt_batch(p.a, pkts, 4, &p.now);
	CHECK(pkts[0].res == TUND_WG_SEND && pkts[0].out_len == 16 + 1408 + 16);
	CHECK(pkts[1].res == TUND_WG_DROP && pkts[2].res == TUND_WG_DROP);
	CHECK(pkts[3].res == TUND_WG_SEND && pkts[3].out_len == 16 + 48 + 16);
	CHECK(!memcmp(&pkts[0].dst, &EP_B, sizeof(EP_B)));
	tund_wg_get_drops(p.a, drops);
	CHECK(drops[TUND_WG_DROP_NO_ROUTE] == 1 && drops[TUND_WG_DROP_BAD_INNER] == 1);

	/* b receives: the 1400, a duplicate of it, a forged copy of the 33,
	 * then the real 33: in-batch replay and forgery are both caught. */
	struct tund_wg_packet rx[4];
	static uint8_t rbuf[4][SLOT];
	memcpy(rbuf[0], bufs[0], pkts[0].out_len);
	memcpy(rbuf[1], bufs[0], pkts[0].out_len);
	memcpy(rbuf[2], bufs[3], pkts[3].out_len);
	rbuf[2][20] ^= 1;
	memcpy(rbuf[3], bufs[3], pkts[3].out_len);
	size_t lens[4] = { pkts[0].out_len, pkts[0].out_len, pkts[3].out_len, pkts[3].out_len };
	for (int i = 0; i < 4; i++)
		rx[i] = (struct tund_wg_packet){ .buf = rbuf[i], .len = lens[i], .src = &EP_A };
	tund_wg_receive_batch(p.b, rx, 4, &p.now);
	CHECK(rx[0].res == TUND_WG_TO_TUN && rx[0].inner_len == 1400);
	CHECK(rx[0].buf[rx[0].inner_off + 1399] == 2);
	CHECK(rx[1].res == TUND_WG_DROP);
	CHECK(rx[2].res == TUND_WG_DROP);
	CHECK(rx[3].res == TUND_WG_TO_TUN && rx[3].inner_len == 33);
	tund_wg_peer_get_stats(p.b, p.b_a, &st);
	CHECK(st.drops[TUND_WG_DROP_REPLAY] == 1 && st.drops[TUND_WG_DROP_AUTH] == 1);
	tund_wg_free(p.a);
	tund_wg_free(p.b);
}

UNIT_TEST(device_batch_larger_than_one_chunk)
{
	struct pair p;
	enum { N = TUND_WG_BATCH_MAX * 2 + 5 };
	uint8_t *bufs = malloc((size_t)N * SLOT);
	struct tund_wg_packet *pkts = calloc(N, sizeof(*pkts));
	struct tund_wg_packet first[WIRE_MAX];
	size_t len;
	int tun = 0;

	CHECK(bufs && pkts);
	pair_init(&p);
	len = ipv4_packet(bufs + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2", 60, 1);
	first[0] = (struct tund_wg_packet){ .buf = bufs, .cap = SLOT, .len = len };
	tund_wg_encrypt_batch(p.a, first, 1, &p.now);
	deliver_batch(&p.wa, p.b, &EP_A, &p.now, first);
	deliver_batch(&p.wb, p.a, &EP_B, &p.now, first);
	deliver_batch(&p.wa, p.b, &EP_A, &p.now, first);

	for (int i = 0; i < N; i++) {
		uint8_t *b = bufs + (size_t)i * SLOT;

		len = ipv4_packet(b + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2",
				  28 + (size_t)i * 7, (uint8_t)i);
		pkts[i] = (struct tund_wg_packet){ .buf = b, .cap = SLOT, .len = len };
	}
	tund_wg_encrypt_batch(p.a, pkts, N, &p.now);
	for (int i = 0; i < N; i++) {
		CHECK(pkts[i].res == TUND_WG_SEND);
		pkts[i] = (struct tund_wg_packet){ .buf = pkts[i].buf, .len = pkts[i].out_len,
						   .src = &EP_A };
	}
	tund_wg_receive_batch(p.b, pkts, N, &p.now);
	for (int i = 0; i < N; i++) {
		tun += pkts[i].res == TUND_WG_TO_TUN;
		CHECK(pkts[i].inner_len == 28 + (size_t)i * 7);
	}
	CHECK(tun == N);
	tund_wg_free(p.a);
	tund_wg_free(p.b);
	free(bufs);
	free(pkts);
}
