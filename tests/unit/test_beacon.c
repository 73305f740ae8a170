// SPDX-License-Identifier: MIT
#include <sodium.h>
#include <string.h>

#include "overlay/beacon.h"
#include "overlay/ratelimit.h"
#include "overlay/blake2s.h"
#include "overlay/network.h"
#include "overlay/xsign.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

#define NOW 1700000000000ULL

/* A beacon of a real node key: priv (out) and its public key in b. */
static void sample(struct tund_beacon_msg *b, uint8_t priv[32], uint32_t seed)
{
	memset(b, 0, sizeof(*b));
	tu_fill(priv, 32, seed);
	crypto_scalarmult_base(b->pubkey, priv);
	tu_fill(b->nonce, sizeof(b->nonce), seed + 1);
	b->listen_port = 51820;
	b->time_ms = NOW;
}

UNIT_TEST(beacon_round_trip)
{
	uint8_t key[32], priv[32], buf[TUND_BEACON_LEN + 10], id[16];
	struct tund_beacon_msg b, out;

	tu_fill(key, 32, 1);
	sample(&b, priv, 2);
	CHECK(tund_beacon_encode(&b, key, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
	CHECK(buf[0] == 'T' && buf[1] == 'B' && buf[2] == 2);
	tund_network_id(key, id);
	CHECK(memcmp(buf + 3, id, 16) == 0);
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_OK);
	CHECK(memcmp(out.pubkey, b.pubkey, 32) == 0);
	CHECK(memcmp(out.netid, id, 16) == 0);
	CHECK(memcmp(out.nonce, b.nonce, 8) == 0);
	CHECK(out.listen_port == 51820);
	CHECK(out.time_ms == NOW);
	/* Too small a buffer, port 0. */
	CHECK(tund_beacon_encode(&b, key, priv, buf, TUND_BEACON_LEN - 1) == 0);
	b.listen_port = 0;
	CHECK(tund_beacon_encode(&b, key, priv, buf, sizeof(buf)) == 0);
}

UNIT_TEST(beacon_mac_layout)
{
	/* The signature covers "tund beacon v2 sig\0" || bytes 0..68; the MAC is
	 * BLAKE2s-128 under kdf1(K, "tund beacon v2\0") over bytes 0..164. */
	uint8_t key[32], priv[32], buf[TUND_BEACON_LEN], mk[32], mac[16], msg[19 + 69];
	struct tund_beacon_msg b;

	tu_fill(key, 32, 9);
	sample(&b, priv, 10);
	CHECK(tund_beacon_encode(&b, key, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
	tund_blake2s_kdf1(mk, key, (const uint8_t *)"tund beacon v2", 15);
	tund_blake2s(mac, 16, buf, 165, mk, 32);
	CHECK(memcmp(mac, buf + 165, 16) == 0);
	memcpy(msg, "tund beacon v2 sig", 19);
	memcpy(msg + 19, buf, 69);
	CHECK(tund_xsign_verify(buf + 69, msg, sizeof(msg), b.pubkey));
	CHECK(buf[51] == (51820 >> 8) && buf[52] == (51820 & 0xff));
}

UNIT_TEST(beacon_other_network)
{
	uint8_t k1[32], k2[32], priv[32], buf[TUND_BEACON_LEN];
	struct tund_beacon_msg b, out;

	tu_fill(k1, 32, 3);
	tu_fill(k2, 32, 4);
	sample(&b, priv, 5);
	CHECK(tund_beacon_encode(&b, k1, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
	CHECK(tund_beacon_decode(buf, sizeof(buf), k2, &out) == TUND_BEACON_OTHER_NETWORK);
}

UNIT_TEST(beacon_forged)
{
	uint8_t k1[32], k2[32], priv[32], buf[TUND_BEACON_LEN], id[16];
	struct tund_beacon_msg b, out;

	tu_fill(k1, 32, 3);
	tu_fill(k2, 32, 4);
	sample(&b, priv, 5);
	/* Every single-bit flip outside the tag and magic is caught by the MAC. */
	for (size_t i = 19; i < TUND_BEACON_LEN; i++) {
		CHECK(tund_beacon_encode(&b, k1, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
		buf[i] ^= 0x01;
		if (i == 52 && buf[51] == 0 && buf[52] == 0)
			continue;
		CHECK(tund_beacon_decode(buf, sizeof(buf), k1, &out) == TUND_BEACON_FORGED);
	}
	/* Someone who knows the public network id but not the key. */
	CHECK(tund_beacon_encode(&b, k2, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
	tund_network_id(k1, id);
	memcpy(buf + 3, id, 16);
	CHECK(tund_beacon_decode(buf, sizeof(buf), k1, &out) == TUND_BEACON_FORGED);
}

UNIT_TEST(beacon_forged_sender_key)
{
	/* A holder of K signs with its own key but claims a member's: the MAC
	 * is good, the signature is not the claimed key's. */
	uint8_t key[32], priv[32], other[32], buf[TUND_BEACON_LEN];
	struct tund_beacon_msg b, victim, out;

	tu_fill(key, 32, 20);
	sample(&victim, priv, 21);
	sample(&b, other, 22);
	memcpy(b.pubkey, victim.pubkey, 32);
	CHECK(tund_beacon_encode(&b, key, other, buf, sizeof(buf)) == TUND_BEACON_LEN);
	memset(&out, 0x5a, sizeof(out));
	CHECK(tund_beacon_decode(buf, sizeof(buf), key, &out) == TUND_BEACON_FORGED);
	CHECK(out.listen_port == 0x5a5a); /* not written */
	/* The same fields signed by the member's own key pass. */
	CHECK(tund_beacon_encode(&b, key, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
	CHECK(tund_beacon_decode(buf, sizeof(buf), key, &out) == TUND_BEACON_OK);
}

UNIT_TEST(beacon_old_version)
{
	/* A version 1 beacon (85 bytes, MAC only) from a node not yet upgraded:
	 * its own verdict, whatever its length, so it is counted apart. */
	uint8_t key[32], buf[85] = { 'T', 'B', 1 };
	struct tund_beacon_msg out;

	tu_fill(key, 32, 23);
	CHECK(tund_beacon_decode(buf, sizeof(buf), key, &out) == TUND_BEACON_OLD_VERSION);
	CHECK(tund_beacon_decode(buf, 3, key, &out) == TUND_BEACON_OLD_VERSION);
	CHECK(tund_beacon_decode(buf, 2, key, &out) == TUND_BEACON_MALFORMED);
	buf[2] = 3;
	CHECK(tund_beacon_decode(buf, sizeof(buf), key, &out) == TUND_BEACON_MALFORMED);
	CHECK(strcmp(tund_beacon_verdict_str(TUND_BEACON_OLD_VERSION), "old version") == 0);
}

UNIT_TEST(beacon_truncated_oversized_malformed)
{
	uint8_t key[32], priv[32], buf[TUND_BEACON_LEN + 1];
	struct tund_beacon_msg b, out;

	tu_fill(key, 32, 6);
	sample(&b, priv, 7);
	CHECK(tund_beacon_encode(&b, key, priv, buf, sizeof(buf)) == TUND_BEACON_LEN);
	for (size_t n = 0; n < TUND_BEACON_LEN; n++)
		CHECK(tund_beacon_decode(buf, n, key, &out) == TUND_BEACON_MALFORMED);
	buf[TUND_BEACON_LEN] = 0;
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN + 1, key, &out) == TUND_BEACON_MALFORMED);
	buf[0] = 'X';
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_MALFORMED);
	buf[0] = 'T';
	buf[2] = 3;
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_MALFORMED);
	buf[2] = 2;
	buf[51] = buf[52] = 0;
	CHECK(tund_beacon_decode(buf, TUND_BEACON_LEN, key, &out) == TUND_BEACON_MALFORMED);
}

UNIT_TEST(beacon_replayed)
{
	uint8_t tmp_priv[32];
	struct tund_beacon_replay r;
	struct tund_beacon_msg b;

	tund_beacon_replay_init(&r);
	sample(&b, tmp_priv, 8);
	CHECK(tund_beacon_replay_check(&r, &b, NOW) == TUND_BEACON_REPLAY_OK);
	CHECK(tund_beacon_replay_check(&r, &b, NOW + 10) == TUND_BEACON_REPLAY_REPLAY);
	/* Many more beacons: the first one is forgotten but still refused. */
	for (uint32_t i = 0; i < 3 * TUND_BEACON_REPLAY_SLOTS; i++) {
		struct tund_beacon_msg c;

		sample(&c, tmp_priv, 100 + i);
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
	uint8_t tmp_priv[32];
	struct tund_beacon_replay r;
	struct tund_beacon_msg b;

	tund_beacon_replay_init(&r);
	sample(&b, tmp_priv, 11);
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

/* Fresh keys cannot evict a recent sender's replay state (and then have
 * its beacons from a moment ago accepted again): a slot is taken only once
 * its holder is quiet for longer than any beacon stays fresh. */
UNIT_TEST(beacon_senders_keep_recent_ones)
{
	struct tund_beacon_sender t[4];
	uint8_t key[32];
	uint8_t tmp_priv[32];
	struct tund_beacon_msg b;

	memset(t, 0, sizeof(t));
	memset(key, 0, sizeof(key));
	sample(&b, tmp_priv, 21);
	CHECK(tund_beacon_replay_check(tund_beacon_sender_replay(t, 4, b.pubkey, NOW), &b, NOW) ==
	      TUND_BEACON_REPLAY_OK);
	for (uint8_t i = 1; i < 4; i++) { /* the flood fills the table */
		key[0] = i;
		CHECK(tund_beacon_sender_replay(t, 4, key, NOW + i) != NULL);
	}
	key[0] = 9; /* one more, while all are recent: refused */
	CHECK(tund_beacon_sender_replay(t, 4, key, NOW + 1000) == NULL);
	/* The member's beacon replayed: still its own state, still refused. */
	CHECK(tund_beacon_replay_check(tund_beacon_sender_replay(t, 4, b.pubkey, NOW + 2000), &b,
				       NOW + 2000) == TUND_BEACON_REPLAY_REPLAY);
	/* Once a slot's holder is quiet that long, a new key takes it, and the
	 * beacon of the holder it evicted is stale by then. */
	uint64_t later = NOW + 2000 + TUND_BEACON_SLOT_IDLE_MS + 1;
	CHECK(tund_beacon_sender_replay(t, 4, key, later) != NULL);
	key[0] = 10;
	CHECK(tund_beacon_sender_replay(t, 4, key, later) != NULL);
	key[0] = 11;
	CHECK(tund_beacon_sender_replay(t, 4, key, later) != NULL);
	key[0] = 12;
	CHECK(tund_beacon_sender_replay(t, 4, key, later) != NULL);
	struct tund_beacon_replay *r = tund_beacon_sender_replay(t, 4, b.pubkey, later);
	CHECK(r == NULL); /* the member, quiet, was evicted; the table is full again */
	struct tund_beacon_replay fresh;
	tund_beacon_replay_init(&fresh);
	CHECK(tund_beacon_replay_check(&fresh, &b, later) == TUND_BEACON_REPLAY_STALE);
}
