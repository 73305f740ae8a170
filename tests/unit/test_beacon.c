// SPDX-License-Identifier: MIT
#include <sodium.h>
#include <string.h>

#include "overlay/beacon.h"
#include "overlay/ratelimit.h"
#include "overlay/blake2s.h"
#include "overlay/network.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

#define NOW 1700000000000ULL

static void sample(struct tund_beacon_msg *b, uint32_t seed)
{
	memset(b, 0, sizeof(*b));
	tu_fill(b->pubkey, 32, seed);
	tu_fill(b->nonce, sizeof(b->nonce), seed + 1);
	b->listen_port = 51820;
	b->time_ms = NOW;
}

UNIT_TEST(beacon_round_trip)
{
	uint8_t key[32], buf[TUND_BEACON_LEN + 10], id[16];
	struct tund_beacon_msg b, out;

	tu_fill(key, 32, 1);
	sample(&b, 2);
	CHECK(tund_beacon_encode(&b, key, buf, sizeof(buf)) == TUND_BEACON_LEN);
	CHECK(buf[0] == 'T' && buf[1] == 'B' && buf[2] == 1);
	tund_network_id(key, id);
	CHECK(memcmp(buf + 3, id, 16) == 0);
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_OK);
	CHECK(memcmp(out.pubkey, b.pubkey, 32) == 0);
	CHECK(memcmp(out.netid, id, 16) == 0);
	CHECK(memcmp(out.nonce, b.nonce, 8) == 0);
	CHECK(out.listen_port == 51820);
	CHECK(out.time_ms == NOW);
	/* Too small a buffer, port 0. */
	CHECK(tund_beacon_encode(&b, key, buf, TUND_BEACON_LEN - 1) == 0);
	b.listen_port = 0;
	CHECK(tund_beacon_encode(&b, key, buf, sizeof(buf)) == 0);
}

UNIT_TEST(beacon_mac_layout)
{
	/* The MAC is BLAKE2s-128 under kdf1(K, "tund beacon v1\0") over bytes 0..68. */
	uint8_t key[32], buf[TUND_BEACON_LEN], mk[32], mac[16];
	struct tund_beacon_msg b;

	tu_fill(key, 32, 9);
	sample(&b, 10);
	CHECK(tund_beacon_encode(&b, key, buf, sizeof(buf)) == TUND_BEACON_LEN);
	tund_blake2s_kdf1(mk, key, (const uint8_t *)"tund beacon v1", 15);
	tund_blake2s(mac, 16, buf, 69, mk, 32);
	CHECK(memcmp(mac, buf + 69, 16) == 0);
	CHECK(buf[51] == (51820 >> 8) && buf[52] == (51820 & 0xff));
}

UNIT_TEST(beacon_other_network)
{
	uint8_t k1[32], k2[32], buf[TUND_BEACON_LEN];
	struct tund_beacon_msg b, out;

	tu_fill(k1, 32, 3);
	tu_fill(k2, 32, 4);
	sample(&b, 5);
	CHECK(tund_beacon_encode(&b, k1, buf, sizeof(buf)) == TUND_BEACON_LEN);
	CHECK(tund_beacon_decode(buf, sizeof(buf), k2, &out) == TUND_BEACON_OTHER_NETWORK);
}

UNIT_TEST(beacon_forged)
{
	uint8_t k1[32], k2[32], buf[TUND_BEACON_LEN], id[16];
	struct tund_beacon_msg b, out;

	tu_fill(k1, 32, 3);
	tu_fill(k2, 32, 4);
	sample(&b, 5);
	/* Every single-bit flip outside the tag and magic is caught by the MAC. */
	for (size_t i = 19; i < TUND_BEACON_LEN; i++) {
		CHECK(tund_beacon_encode(&b, k1, buf, sizeof(buf)) == TUND_BEACON_LEN);
		buf[i] ^= 0x01;
		if (i == 52 && buf[51] == 0 && buf[52] == 0)
			continue;
		CHECK(tund_beacon_decode(buf, sizeof(buf), k1, &out) == TUND_BEACON_FORGED);
	}
	/* Someone who knows the public network id but not the key. */
	CHECK(tund_beacon_encode(&b, k2, buf, sizeof(buf)) == TUND_BEACON_LEN);
	tund_network_id(k1, id);
	memcpy(buf + 3, id, 16);
	CHECK(tund_beacon_decode(buf, sizeof(buf), k1, &out) == TUND_BEACON_FORGED);
}

UNIT_TEST(beacon_truncated_oversized_malformed)
{
	uint8_t key[32], buf[TUND_BEACON_LEN + 1];
	struct tund_beacon_msg b, out;

	tu_fill(key, 32, 6);
	sample(&b, 7);
	CHECK(tund_beacon_encode(&b, key, buf, sizeof(buf)) == TUND_BEACON_LEN);
	for (size_t n = 0; n < TUND_BEACON_LEN; n++)
		CHECK(tund_beacon_decode(buf, n, key, &out) == TUND_BEACON_MALFORMED);
	buf[TUND_BEACON_LEN] = 0;
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN + 1, key, &out) == TUND_BEACON_MALFORMED);
	buf[0] = 'X';
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_MALFORMED);
	buf[0] = 'T';
	buf[2] = 2;
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_MALFORMED);
	buf[2] = 1;
	buf[51] = buf[52] = 0;
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_MALFORMED);
}

UNIT_TEST(beacon_replayed)
{
	struct tund_beacon_replay r;
	struct tund_beacon_msg b;

	tund_beacon_replay_init(&r);
	sample(&b, 8);
	CHECK(tund_beacon_replay_check(&r, &b, NOW) == TUND_BEACON_REPLAY_OK);
	CHECK(tund_beacon_replay_check(&r, &b, NOW + 10) == TUND_BEACON_REPLAY_REPLAY);
	/* Many more beacons: the first one is forgotten but still refused. */
	for (uint32_t i = 0; i < 3 * TUND_BEACON_REPLAY_SLOTS; i++) {
		struct tund_beacon_msg c;

		sample(&c, 100 + i);
		c.time_ms = NOW + 1 + i;
		CHECK(tund_beacon_replay_check(&r, &c, NOW + 1000) == TUND_BEACON_REPLAY_OK);
	}
	CHECK(tund_beacon_replay_check(&r, &b, NOW + 1000) == TUND_BEACON_REPLAY_REPLAY);
	/* A fresh one after that is still fine. */
	b.time_ms = NOW + 2000;
	b.nonce[0] ^= 0xff;
	CHECK(tund_beacon_replay_check(&r, &b, NOW + 2000) == TUND_BEACON_REPLAY_OK);
}

UNIT_TEST(beacon_stale)
{
	struct tund_beacon_replay r;
	struct tund_beacon_msg b;

	tund_beacon_replay_init(&r);
	sample(&b, 11);
	CHECK(tund_beacon_replay_check(&r, &b, NOW + TUND_BEACON_MAX_SKEW_MS + 1) ==
	      TUND_BEACON_REPLAY_STALE);
	CHECK(tund_beacon_replay_check(&r, &b, NOW - TUND_BEACON_MAX_SKEW_MS - 1) ==
	      TUND_BEACON_REPLAY_STALE);
	/* Stale ones are not recorded: the same beacon in time is accepted. */
	CHECK(tund_beacon_replay_check(&r, &b, NOW + TUND_BEACON_MAX_SKEW_MS) ==
	      TUND_BEACON_REPLAY_OK);
}

UNIT_TEST(beacon_ratelimit)
{
	struct tund_ratelimit rl;
	unsigned n = 0;

	tund_ratelimit_init(&rl, 10, 5, NOW);
	for (int i = 0; i < 100; i++)
		n += tund_ratelimit_allow(&rl, NOW);
	CHECK(n == 5); /* the burst */
	CHECK(!tund_ratelimit_allow(&rl, NOW + 50));
	CHECK(tund_ratelimit_allow(&rl, NOW + 100)); /* one token per 100 ms */
	CHECK(!tund_ratelimit_allow(&rl, NOW + 100));
	/* Clock going backwards adds nothing. */
	CHECK(!tund_ratelimit_allow(&rl, NOW - 100000));
	CHECK(!tund_ratelimit_allow(&rl, NOW + 150));
	/* A long pause refills only to the burst. */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += tund_ratelimit_allow(&rl, NOW + 3600000ULL * 1000);
	CHECK(n == 5);
	/* Over 10 s at 10/s: about 100 + burst. */
	n = 0;
	tund_ratelimit_init(&rl, 10, 5, NOW);
	for (uint64_t t = 0; t <= 10000; t += 7)
		n += tund_ratelimit_allow(&rl, NOW + t);
	CHECK(n >= 100 && n <= 106);
}
