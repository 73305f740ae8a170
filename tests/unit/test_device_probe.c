// SPDX-License-Identifier: MIT
/* Probes and roaming: a probe (a LAN beacon's hint) sends an initiation to an
 * address without making it the endpoint; the endpoint follows authenticated
 * packets only, never garbage or replays from a new address. */
#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "overlay/device.h"
#include "tests/unit/unit.h"

struct wire {
	uint8_t buf[8][2048];
	size_t len[8];
	struct tund_wg_endpoint dst[8];
	int n;
};

static void to_wire(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wire *w = ctx;

	if (w->n < 8 && len <= sizeof(w->buf[0])) {
		memcpy(w->buf[w->n], buf, len);
		w->dst[w->n] = *dst;
		w->len[w->n++] = len;
	}
}

/* The peers' real addresses, and the addresses a hint names. */
static const struct tund_wg_endpoint EP_A = { .addr = { 1 }, .addr_len = 16, .key = { 1 }, .key_len = 6 };
static const struct tund_wg_endpoint EP_B = { .addr = { 2 }, .addr_len = 16, .key = { 2 }, .key_len = 6 };
static const struct tund_wg_endpoint LAN_A = { .addr = { 3 }, .addr_len = 16, .key = { 3 }, .key_len = 6 };
static const struct tund_wg_endpoint LAN_B = { .addr = { 4 }, .addr_len = 16, .key = { 4 }, .key_len = 6 };
static const struct tund_wg_endpoint EVIL = { .addr = { 5 }, .addr_len = 16, .key = { 5 }, .key_len = 6 };

struct pair {
	struct tund_wg *a, *b;
	struct tund_wg_peer *a_b, *b_a;
	struct wire wa, wb; /* datagrams sent by a, by b */
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
	tund_wg_peer_set_endpoint(p->b, p->b_a, &EP_A);
	sodium_memzero(ka, sizeof(ka));
	sodium_memzero(kb, sizeof(kb));
}

static void pair_free(struct pair *p)
{
	tund_wg_free(p->a);
	tund_wg_free(p->b);
}

/* Hands datagram i of w to dev as if it came from src. */
static enum tund_wg_result hand(struct wire *w, int i, struct tund_wg *dev,
				const struct tund_wg_endpoint *src, struct tund_wg_clock *now)
{
	size_t off, len;

	return tund_wg_receive(dev, w->buf[i], w->len[i], src, now, &off, &len);
}

static bool endpoint_is(struct tund_wg *wg, struct tund_wg_peer *peer,
			const struct tund_wg_endpoint *ep)
{
	struct tund_wg_peer_stats st;

	tund_wg_peer_get_stats(wg, peer, &st);
	return st.endpoint.addr_len == ep->addr_len &&
	       !memcmp(st.endpoint.addr, ep->addr, ep->addr_len);
}

/* A session a -> b over the real addresses: initiation, response, and the
 * keepalive that confirms it. */
static void handshake(struct pair *p)
{
	tund_wg_peer_connect(p->a, p->a_b, &p->now);
	CHECK(p->wa.n == 1 && hand(&p->wa, 0, p->b, &EP_A, &p->now) == TUND_WG_DONE);
	CHECK(p->wb.n == 1 && hand(&p->wb, 0, p->a, &EP_B, &p->now) == TUND_WG_DONE);
	CHECK(p->wa.n == 2 && hand(&p->wa, 1, p->b, &EP_A, &p->now) == TUND_WG_DONE);
	p->wa.n = p->wb.n = 0;
}

UNIT_TEST(device_probe_keeps_endpoint)
{
	struct pair p;

	pair_init(&p);
	CHECK(tund_wg_peer_probe(p.a, p.a_b, &LAN_B, &p.now));
	/* One initiation, to the hinted address; the endpoint is untouched. */
	CHECK(p.wa.n == 1 && p.wa.len[0] == 148);
	CHECK(!memcmp(&p.wa.dst[0], &LAN_B, sizeof(LAN_B)));
	CHECK(endpoint_is(p.a, p.a_b, &EP_B));
	/* Copies of the same hint right after: no second probe. */
	CHECK(!tund_wg_peer_probe(p.a, p.a_b, &LAN_B, &p.now));
	CHECK(p.wa.n == 1);
	/* Nobody answers there: the endpoint still has not moved. */
	p.now.mono_ns += 2 * TUND_WG_PROBE_GAP_NS;
	CHECK(tund_wg_peer_probe(p.a, p.a_b, &LAN_B, &p.now));
	CHECK(endpoint_is(p.a, p.a_b, &EP_B));
	pair_free(&p);
}

UNIT_TEST(device_probe_answer_moves_endpoint)
{
	struct pair p;

	pair_init(&p);
	handshake(&p);
	/* A beacon comes later (b refuses an initiation no newer than the last). */
	p.now.mono_ns += 2 * TUND_WG_PROBE_GAP_NS;
	p.now.wall.tv_sec += 2;
	CHECK(tund_wg_peer_probe(p.a, p.a_b, &LAN_B, &p.now));
	/* b gets the probe from a's LAN address: authenticated, b roams. */
	CHECK(hand(&p.wa, 0, p.b, &LAN_A, &p.now) == TUND_WG_DONE);
	CHECK(endpoint_is(p.b, p.b_a, &LAN_A));
	CHECK(p.wb.n == 1 && !memcmp(&p.wb.dst[0], &LAN_A, sizeof(LAN_A)));
	/* The response from b's LAN address moves a's endpoint there. */
	CHECK(hand(&p.wb, 0, p.a, &LAN_B, &p.now) == TUND_WG_DONE);
	CHECK(endpoint_is(p.a, p.a_b, &LAN_B));
	pair_free(&p);
}

UNIT_TEST(device_unauthenticated_does_not_roam)
{
	struct pair p;
	uint8_t buf[2048], saved[2048];
	size_t len, dg_len;
	struct tund_wg_endpoint dst;

	pair_init(&p);
	handshake(&p);
	/* A data packet from b, seen on the wire by an attacker. */
	memset(buf, 0, sizeof(buf));
	len = 28;
	buf[TUND_WG_HEADROOM] = 0x45;
	buf[TUND_WG_HEADROOM + 3] = 28;
	buf[TUND_WG_HEADROOM + 8] = 64;
	buf[TUND_WG_HEADROOM + 9] = 17;
	inet_pton(AF_INET, "10.0.0.2", buf + TUND_WG_HEADROOM + 12);
	inet_pton(AF_INET, "10.0.0.1", buf + TUND_WG_HEADROOM + 16);
	CHECK(tund_wg_encrypt(p.b, buf, sizeof(buf), len, &p.now, &dg_len, &dst) == TUND_WG_SEND);
	memcpy(saved, buf, dg_len);

	/* Garbage of every message type from a new address. */
	for (uint8_t type = 1; type <= 4; type++) {
		size_t n = type == 1 ? 148 : type == 2 ? 92 : type == 3 ? 64 : dg_len;
		size_t off, ilen;

		randombytes_buf(buf, n);
		buf[0] = type;
		buf[1] = buf[2] = buf[3] = 0;
		CHECK(tund_wg_receive(p.a, buf, n, &EVIL, &p.now, &off, &ilen) == TUND_WG_DROP);
		CHECK(endpoint_is(p.a, p.a_b, &EP_B));
	}
	/* b's real packet with a flipped tag bit, from a new address. */
	memcpy(buf, saved, dg_len);
	buf[dg_len - 1] ^= 1;
	{
		size_t off, ilen;

		CHECK(tund_wg_receive(p.a, buf, dg_len, &EVIL, &p.now, &off, &ilen) ==
		      TUND_WG_DROP);
	}
	CHECK(endpoint_is(p.a, p.a_b, &EP_B));

	/* The real packet decrypts: from a new address, a roams there (the
	 * peer moved, as WireGuard's roaming allows)... */
	memcpy(buf, saved, dg_len);
	{
		size_t off, ilen;

		CHECK(tund_wg_receive(p.a, buf, dg_len, &LAN_B, &p.now, &off, &ilen) ==
		      TUND_WG_TO_TUN);
	}
	CHECK(endpoint_is(p.a, p.a_b, &LAN_B));
	/* ...but the same packet again, from elsewhere, is a replay. */
	memcpy(buf, saved, dg_len);
	{
		size_t off, ilen;

		CHECK(tund_wg_receive(p.a, buf, dg_len, &EVIL, &p.now, &off, &ilen) ==
		      TUND_WG_DROP);
	}
	CHECK(endpoint_is(p.a, p.a_b, &LAN_B));
	pair_free(&p);
}
