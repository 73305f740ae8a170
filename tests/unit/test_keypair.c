// SPDX-License-Identifier: MIT
/* Transport encryption: round trips, padding, counters, replay after
 * authentication, tampering, expiry and the counter limits. */
#include <sodium.h>
#include <string.h>

#include "overlay/keypair.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

#define SEC 1000000000ULL
#define HDR TUND_MESSAGE_DATA_HEADER_LEN

static void pair(struct tund_keypair *a, struct tund_keypair *b, uint64_t now)
{
	uint8_t k1[32], k2[32];

	CHECK(sodium_init() >= 0);
	randombytes_buf(k1, 32);
	randombytes_buf(k2, 32);
	tund_keypair_init(a, k1, k2, 100, 200, true, now);
	tund_keypair_init(b, k2, k1, 200, 100, false, now);
	sodium_memzero(k1, 32);
	sodium_memzero(k2, 32);
}

static bool seal(struct tund_keypair *kp, uint8_t *buf, size_t cap, size_t len, uint64_t now,
		 size_t *msg_len)
{
	tu_fill(buf + HDR, len, (uint32_t)len + 9);
	return tund_keypair_encrypt(kp, buf, cap, len, 0, now, msg_len);
}

UNIT_TEST(keypair_round_trip_both_ways)
{
	struct tund_keypair a, b;
	uint8_t buf[1600], ref[1500];
	size_t msg_len, plain_len;
	uint64_t ctr;

	pair(&a, &b, SEC);
	for (size_t len = 0; len <= 1500; len += 37) {
		CHECK(seal(&a, buf, sizeof(buf), len, SEC, &msg_len));
		CHECK(msg_len == tund_keypair_message_len(len, 0));
		CHECK((msg_len - 32) % 16 == 0);
		CHECK(tund_le32_get(buf) == TUND_MESSAGE_DATA);
		CHECK(tund_le32_get(buf + 4) == 200);
		CHECK(tund_keypair_decrypt(&b, buf, msg_len, SEC, &plain_len, &ctr) == TUND_KEYPAIR_OK);
		CHECK(plain_len == msg_len - 32);
		tu_fill(ref, len, (uint32_t)len + 9);
		CHECK(memcmp(buf + HDR, ref, len) == 0);
		CHECK(sodium_is_zero(buf + HDR + len, plain_len - len));

		CHECK(seal(&b, buf, sizeof(buf), len, SEC, &msg_len));
		CHECK(tund_le32_get(buf + 4) == 100);
		CHECK(tund_keypair_decrypt(&a, buf, msg_len, SEC, &plain_len, &ctr) == TUND_KEYPAIR_OK);
	}
	CHECK(a.send_counter == b.send_counter && a.send_counter == 41);
	tund_keypair_destroy(&a);
	tund_keypair_destroy(&b);
}

UNIT_TEST(keypair_padding)
{
	CHECK(tund_keypair_padded_len(0, 1420) == 0);
	CHECK(tund_keypair_padded_len(1, 1420) == 16);
	CHECK(tund_keypair_padded_len(16, 1420) == 16);
	CHECK(tund_keypair_padded_len(17, 0) == 32);
	CHECK(tund_keypair_padded_len(1419, 1420) == 1420); /* capped at the MTU */
	CHECK(tund_keypair_padded_len(1420, 1420) == 1420);
	CHECK(tund_keypair_message_len(0, 1420) == 32);
}

UNIT_TEST(keypair_replay_and_reorder)
{
	struct tund_keypair a, b;
	static uint8_t msgs[5][128];
	static const int order[] = { 1, 0, 4, 2 };
	size_t lens[5], plain_len;
	uint8_t tmp[128];
	uint64_t ctr;

	pair(&a, &b, SEC);
	for (int i = 0; i < 5; i++)
		CHECK(seal(&a, msgs[i], 128, 20, SEC, &lens[i]));
	CHECK(tund_le64_get(msgs[3] + 8) == 3);
	for (int i = 0; i < 4; i++) {
		memcpy(tmp, msgs[order[i]], lens[order[i]]);
		CHECK(tund_keypair_decrypt(&b, tmp, lens[order[i]], SEC, &plain_len, &ctr) == TUND_KEYPAIR_OK);
		CHECK(ctr == (uint64_t)order[i]);
	}
	memcpy(tmp, msgs[4], lens[4]);
	CHECK(tund_keypair_decrypt(&b, tmp, lens[4], SEC, &plain_len, &ctr) == TUND_KEYPAIR_REPLAY); /* replayed */
	memcpy(tmp, msgs[3], lens[3]);
	CHECK(tund_keypair_decrypt(&b, tmp, lens[3], SEC, &plain_len, &ctr) == TUND_KEYPAIR_OK);
	tund_keypair_destroy(&a);
	tund_keypair_destroy(&b);
}

UNIT_TEST(keypair_tampered_rejected)
{
	struct tund_keypair a, b;
	uint8_t buf[128], tmp[128];
	size_t len, plain_len;
	uint64_t ctr;

	pair(&a, &b, SEC);
	CHECK(seal(&a, buf, sizeof(buf), 40, SEC, &len));
	for (size_t i = 0; i < len; i++) {
		memcpy(tmp, buf, len);
		tmp[i] ^= 0x04;
		CHECK((tund_keypair_decrypt(&b, tmp, len, SEC, &plain_len, &ctr) != TUND_KEYPAIR_OK));
	}
	/* A forged counter did not move the window: the genuine packet passes. */
	memcpy(tmp, buf, len);
	CHECK(tund_keypair_decrypt(&b, tmp, len, SEC, &plain_len, &ctr) == TUND_KEYPAIR_OK);
	/* Truncated. */
	CHECK(seal(&a, buf, sizeof(buf), 40, SEC, &len));
	CHECK((tund_keypair_decrypt(&b, buf, len - 1, SEC, &plain_len, &ctr) != TUND_KEYPAIR_OK));
	CHECK((tund_keypair_decrypt(&b, buf, 31, SEC, &plain_len, &ctr) != TUND_KEYPAIR_OK));
	/* Wrong direction: a cannot open its own packet. */
	CHECK(seal(&a, buf, sizeof(buf), 40, SEC, &len));
	CHECK((tund_keypair_decrypt(&a, buf, len, SEC, &plain_len, &ctr) != TUND_KEYPAIR_OK));
	tund_keypair_destroy(&a);
	tund_keypair_destroy(&b);
}

UNIT_TEST(keypair_limits)
{
	struct tund_keypair a, b;
	uint8_t buf[128];
	size_t len, plain_len;
	uint64_t ctr;

	pair(&a, &b, SEC);
	/* Buffer too small for header + padded payload + tag. */
	CHECK(!seal(&a, buf, 16 + 32 + 15, 20, SEC, &len));
	CHECK(a.send_counter == 0);

	/* The last permitted counter, then refusal. */
	a.send_counter = TUND_REJECT_AFTER_MESSAGES - 1;
	CHECK(seal(&a, buf, sizeof(buf), 20, SEC, &len));
	CHECK(tund_keypair_decrypt(&b, buf, len, SEC, &plain_len, &ctr) == TUND_KEYPAIR_OK);
	CHECK(ctr == TUND_REJECT_AFTER_MESSAGES - 1);
	CHECK(!seal(&a, buf, sizeof(buf), 20, SEC, &len));
	CHECK(a.send_counter == TUND_REJECT_AFTER_MESSAGES);
	CHECK(tund_keypair_should_rekey(&a, SEC));

	/* A peer sending a counter at the limit is refused even if authentic. */
	b.send_counter = TUND_REJECT_AFTER_MESSAGES - 1;
	CHECK(seal(&b, buf, sizeof(buf), 20, SEC, &len));
	tund_le64_put(buf + 8, TUND_REJECT_AFTER_MESSAGES);
	CHECK((tund_keypair_decrypt(&a, buf, len, SEC, &plain_len, &ctr) != TUND_KEYPAIR_OK));
	tund_keypair_destroy(&a);
	tund_keypair_destroy(&b);
}

UNIT_TEST(keypair_expiry_and_rekey)
{
	struct tund_keypair a, b;
	uint8_t buf[128];
	size_t len, plain_len;
	uint64_t ctr, t0 = 1000 * SEC;

	pair(&a, &b, t0);
	CHECK(!tund_keypair_should_rekey(&a, t0 + 119 * SEC));
	CHECK(tund_keypair_should_rekey(&a, t0 + 121 * SEC));
	CHECK(!tund_keypair_should_rekey(&b, t0 + 121 * SEC)); /* responder waits */
	CHECK(seal(&a, buf, sizeof(buf), 20, t0 + 179 * SEC, &len));
	CHECK((tund_keypair_decrypt(&b, buf, len, t0 + 180 * SEC, &plain_len, &ctr) != TUND_KEYPAIR_OK));
	CHECK(!seal(&a, buf, sizeof(buf), 20, t0 + 180 * SEC, &len));
	CHECK(tund_keypair_expired(&a, t0 + 180 * SEC));
	/* A clock going backwards counts as expired, not as young. */
	CHECK(tund_keypair_expired(&a, t0 - 1));
	b.send_counter = TUND_REKEY_AFTER_MESSAGES + 1;
	CHECK(tund_keypair_should_rekey(&b, t0));

	tund_keypair_destroy(&a);
	CHECK(sodium_is_zero((const uint8_t *)&a, sizeof(a)));
	CHECK(!a.valid);
	CHECK(!seal(&a, buf, sizeof(buf), 20, t0, &len));
	tund_keypair_destroy(&b);
}
