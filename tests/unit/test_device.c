// SPDX-License-Identifier: MIT
/* Two WireGuard devices wired back to back in memory: handshake on first
 * packet, transport both ways, replay and source checks, unknown peers. */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/device.h"
#include "tests/unit/unit.h"

struct wire {
	uint8_t buf[16][2048];
	size_t len[16];
	int n;
};

static void to_wire(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wire *w = ctx;

	(void)dst;
	if (w->n < 16 && len <= sizeof(w->buf[0])) {
		memcpy(w->buf[w->n], buf, len);
		w->len[w->n++] = len;
	}
}

static const struct tund_wg_endpoint EP_A = { .addr = { 1 }, .addr_len = 16, .key = { 1 }, .key_len = 6 };
static const struct tund_wg_endpoint EP_B = { .addr = { 2 }, .addr_len = 16, .key = { 2 }, .key_len = 6 };

/* Delivers everything queued on `from` to device `to`; returns how many
 * inner packets came out for TUN, the last one copied to last/last_len. */
static int deliver(struct wire *from, struct tund_wg *to, const struct tund_wg_endpoint *src,
		   struct tund_wg_clock *now, uint8_t *last, size_t *last_len)
{
	int tun = 0;
	struct wire copy = *from;

	from->n = 0;
	for (int i = 0; i < copy.n; i++) {
		size_t off, len;

		if (tund_wg_receive(to, copy.buf[i], copy.len[i], src, now, &off, &len) ==
		    TUND_WG_TO_TUN) {
			tun++;
			if (last) {
				memcpy(last, copy.buf[i] + off, len);
				*last_len = len;
			}
		}
	}
	return tun;
}

/* A minimal IPv4 header + 8 payload bytes from src to dst. */
static size_t ipv4_packet(uint8_t *p, const char *src, const char *dst)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[8] = 64;
	p[9] = 17;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	memcpy(p + 20, "payload!", 8);
	return 28;
}

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
}

static void pair_free(struct pair *p)
{
	tund_wg_free(p->a);
	tund_wg_free(p->b);
}

UNIT_TEST(device_first_packet_handshakes_and_arrives)
{
	struct pair p;
	uint8_t buf[2048], out[2048];
	size_t len, out_len = 0, dg_len;
	struct tund_wg_endpoint dst;
	struct tund_wg_peer_stats st;

	pair_init(&p);
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2");
	/* No session yet: the packet waits and an initiation goes out. */
	CHECK(tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst) == TUND_WG_DONE);
	CHECK(p.wa.n == 1 && p.wa.len[0] == 148);
	CHECK(deliver(&p.wa, p.b, &EP_A, &p.now, NULL, NULL) == 0);
	CHECK(p.wb.n == 1 && p.wb.len[0] == 92); /* response */
	/* b answered; its session waits for a's confirmation. */
	tund_wg_peer_get_stats(p.b, p.b_a, &st);
	CHECK(st.answered && !st.has_session);
	/* The response completes a's session and flushes the staged packet. */
	CHECK(deliver(&p.wb, p.a, &EP_B, &p.now, NULL, NULL) == 0);
	CHECK(p.wa.n == 1);
	CHECK(deliver(&p.wa, p.b, &EP_A, &p.now, out, &out_len) == 1);
	CHECK(out_len == len && !memcmp(out, buf + TUND_WG_HEADROOM, len));
	tund_wg_peer_get_stats(p.b, p.b_a, &st);
	CHECK(!st.answered && st.has_session);

	/* b answers straight away now, and b learned a's endpoint by roaming. */
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.2", "10.0.0.1");
	CHECK(tund_wg_encrypt(p.b, buf, sizeof(buf), len, &p.now, &dg_len, &dst) == TUND_WG_SEND);
	CHECK(!memcmp(&dst, &EP_A, sizeof(dst)));
	size_t off, ilen;
	CHECK(tund_wg_receive(p.a, buf, dg_len, &EP_B, &p.now, &off, &ilen) == TUND_WG_TO_TUN);
	CHECK(ilen == len);

	/* The same datagram again is a replay, counted for that peer. */
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.2", "10.0.0.1");
	CHECK(tund_wg_encrypt(p.b, buf, sizeof(buf), len, &p.now, &dg_len, &dst) == TUND_WG_SEND);
	memcpy(out, buf, dg_len);
	CHECK(tund_wg_receive(p.a, buf, dg_len, &EP_B, &p.now, &off, &ilen) == TUND_WG_TO_TUN);
	CHECK(tund_wg_receive(p.a, out, dg_len, &EP_B, &p.now, &off, &ilen) == TUND_WG_DROP);
	tund_wg_peer_get_stats(p.a, p.a_b, &st);
	CHECK(st.drops[TUND_WG_DROP_REPLAY] == 1);
	CHECK(st.has_session && st.latest_handshake == 1700000000);
	CHECK(st.rx_bytes > 0 && st.tx_bytes > 0);
	pair_free(&p);
}

UNIT_TEST(device_drops_spoofed_source_and_unknown_route)
{
	struct pair p;
	uint8_t buf[2048];
	size_t len, dg_len, off, ilen;
	struct tund_wg_endpoint dst;
	struct tund_wg_peer_stats st;

	pair_init(&p);
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2");
	tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst);
	deliver(&p.wa, p.b, &EP_A, &p.now, NULL, NULL);
	deliver(&p.wb, p.a, &EP_B, &p.now, NULL, NULL);
	deliver(&p.wa, p.b, &EP_A, &p.now, NULL, NULL);

	/* a sends a packet claiming a source b did not allow for a. */
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.9.9.9", "10.0.0.2");
	CHECK(tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst) == TUND_WG_SEND);
	CHECK(tund_wg_receive(p.b, buf, dg_len, &EP_A, &p.now, &off, &ilen) == TUND_WG_DROP);
	tund_wg_peer_get_stats(p.b, p.b_a, &st);
	CHECK(st.drops[TUND_WG_DROP_SOURCE] == 1);

	/* A destination no peer owns is dropped and counted. */
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "192.0.2.99");
	CHECK(tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst) == TUND_WG_DROP);
	uint64_t drops[TUND_WG_DROP_COUNT];
	tund_wg_get_drops(p.a, drops);
	CHECK(drops[TUND_WG_DROP_NO_ROUTE] == 1);

	/* Garbage and truncated datagrams are dropped, never crash. */
	memset(buf, 4, 40);
	CHECK(tund_wg_receive(p.b, buf, 3, &EP_A, &p.now, &off, &ilen) == TUND_WG_DROP);
	CHECK(tund_wg_receive(p.b, buf, 40, &EP_A, &p.now, &off, &ilen) == TUND_WG_DROP);
	pair_free(&p);
}

UNIT_TEST(device_ignores_unknown_peer)
{
	struct pair p, q;
	uint8_t buf[2048];
	size_t len, dg_len;
	struct tund_wg_endpoint dst;
	uint64_t drops[TUND_WG_DROP_COUNT];

	pair_init(&p);
	pair_init(&q);
	/* q.a's initiation reaches p.b, which has never heard of q.a (nor is
	 * it addressed to p.b's key): no answer at all. */
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2");
	tund_wg_encrypt(q.a, buf, sizeof(buf), len, &q.now, &dg_len, &dst);
	CHECK(q.wa.n == 1);
	deliver(&q.wa, p.b, &EP_A, &p.now, NULL, NULL);
	CHECK(p.wb.n == 0);
	tund_wg_get_drops(p.b, drops);
	CHECK(drops[TUND_WG_DROP_MAC] + drops[TUND_WG_DROP_HANDSHAKE] == 1);
	pair_free(&p);
	pair_free(&q);
}

UNIT_TEST(device_retries_handshake_on_timer)
{
	struct pair p;
	uint8_t buf[2048];
	size_t len, dg_len;
	struct tund_wg_endpoint dst;

	pair_init(&p);
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2");
	tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst);
	CHECK(p.wa.n == 1);
	p.wa.n = 0; /* lost */
	p.now.mono_ns += 4000000000ull;
	tund_wg_tick(p.a, &p.now);
	CHECK(p.wa.n == 0); /* not before REKEY_TIMEOUT */
	p.now.mono_ns += 1400000000ull; /* 5.4 s: past 5 s + max jitter */
	tund_wg_tick(p.a, &p.now);
	CHECK(p.wa.n == 1 && p.wa.len[0] == 148);
	pair_free(&p);
}

UNIT_TEST(device_load_counts_only_valid_mac1)
{
	struct pair p;
	uint8_t buf[2048], init[148], bad[148];
	size_t len, dg_len, off, ilen;
	struct tund_wg_endpoint dst;
	uint64_t drops[TUND_WG_DROP_COUNT];
	int cookies = 0;

	pair_init(&p);
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2");
	tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst);
	CHECK(p.wa.n == 1 && p.wa.len[0] == sizeof(init));
	memcpy(init, p.wa.buf[0], sizeof(init));
	p.wa.n = 0;

	/* A flood of initiations with a wrong MAC1 within one second: all
	 * dropped, none answered, and none makes b "under load". */
	for (int i = 0; i < 1000; i++) {
		memcpy(bad, init, sizeof(bad));
		bad[sizeof(bad) - 32] ^= (uint8_t)(1 + i % 255); /* inside MAC1 */
		CHECK(tund_wg_receive(p.b, bad, sizeof(bad), &EP_A, &p.now, &off, &ilen) ==
		      TUND_WG_DROP);
	}
	CHECK(p.wb.n == 0);
	tund_wg_get_drops(p.b, drops);
	CHECK(drops[TUND_WG_DROP_MAC] == 1000);

	/* The real initiation in the same second is answered with a response
	 * (92 bytes), not a cookie reply (64 bytes). */
	CHECK(tund_wg_receive(p.b, init, sizeof(init), &EP_A, &p.now, &off, &ilen) == TUND_WG_DONE);
	CHECK(p.wb.n == 1 && p.wb.len[0] == 92);
	p.wb.n = 0;

	/* Control: messages with a valid MAC1 do count; past the bound b asks
	 * for cookies (these replays are dropped either way). */
	for (int i = 0; i < 80; i++) {
		memcpy(bad, init, sizeof(bad));
		tund_wg_receive(p.b, bad, sizeof(bad), &EP_A, &p.now, &off, &ilen);
		if (p.wb.n > 0) {
			cookies += p.wb.len[0] == 64;
			p.wb.n = 0;
		}
	}
	CHECK(cookies > 0);
	pair_free(&p);
}

UNIT_TEST(device_load_lasts_a_second_past_the_flood)
{
	struct pair p;
	uint8_t buf[2048], init[148];
	size_t len, dg_len, off, ilen;
	struct tund_wg_endpoint dst;
	uint64_t t0 = 1000000000ull;

	pair_init(&p);
	len = ipv4_packet(buf + TUND_WG_HEADROOM, "10.0.0.1", "10.0.0.2");
	tund_wg_encrypt(p.a, buf, sizeof(buf), len, &p.now, &dg_len, &dst);
	CHECK(p.wa.n == 1 && p.wa.len[0] == sizeof(init));
	memcpy(init, p.wa.buf[0], sizeof(init));
	p.wa.n = 0;

	/* 100 initiations with a valid MAC1 over 0.99 s: b is under load. */
	for (int i = 0; i < 100; i++) {
		p.now.mono_ns = t0 + (uint64_t)i * 10000000ull;
		tund_wg_receive(p.b, init, sizeof(init), &EP_A, &p.now, &off, &ilen);
		p.wb.n = 0;
	}
	/* 1.2 s: a new one-second window, but the first initiation in it still
	 * gets a cookie reply (64 bytes) instead of Diffie-Hellman. */
	p.now.mono_ns = t0 + 1200000000ull;
	CHECK(tund_wg_receive(p.b, init, sizeof(init), &EP_A, &p.now, &off, &ilen) == TUND_WG_DROP);
	CHECK(p.wb.n == 1 && p.wb.len[0] == 64);
	p.wb.n = 0;

	/* The flood has stopped: a's retry at 5.5 s is answered (92 bytes). */
	p.now.mono_ns = t0 + 5500000000ull;
	p.now.wall.tv_sec += 6;
	tund_wg_tick(p.a, &p.now);
	CHECK(p.wa.n == 1 && p.wa.len[0] == sizeof(init));
	CHECK(tund_wg_receive(p.b, p.wa.buf[0], p.wa.len[0], &EP_A, &p.now, &off, &ilen) ==
	      TUND_WG_DONE);
	CHECK(p.wb.n == 1 && p.wb.len[0] == 92);
	pair_free(&p);
}
