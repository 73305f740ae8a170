// SPDX-License-Identifier: MIT
/* MAC1 checks and the cookie reply flow under load. */
#include <sodium.h>
#include <string.h>

#include "overlay/cookie.h"
#include "overlay/noise.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

#define SEC 1000000000ULL

struct peer {
	struct tund_noise_static_identity id;
	struct tund_cookie_checker checker;
	struct tund_noise_handshake hs;
	struct tund_cookie_maker maker;
};

static struct tund_noise_handshake *lookup(void *ctx, const uint8_t pubkey[32])
{
	struct peer *p = ctx;

	return memcmp(p->hs.remote_static, pubkey, 32) == 0 ? &p->hs : NULL;
}

static void pair_setup(struct peer *a, struct peer *b)
{
	uint8_t k[32];

	CHECK(sodium_init() >= 0);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	randombytes_buf(k, 32);
	CHECK(tund_noise_static_identity_init(&a->id, k));
	randombytes_buf(k, 32);
	CHECK(tund_noise_static_identity_init(&b->id, k));
	CHECK(tund_noise_handshake_init(&a->hs, &a->id, b->id.static_public, NULL));
	CHECK(tund_noise_handshake_init(&b->hs, &b->id, a->id.static_public, NULL));
	tund_cookie_checker_init(&a->checker, a->id.static_public);
	tund_cookie_checker_init(&b->checker, b->id.static_public);
	tund_cookie_maker_init(&a->maker, b->id.static_public);
	tund_cookie_maker_init(&b->maker, a->id.static_public);
}

static void pair_destroy(struct peer *a, struct peer *b)
{
	struct peer *p[2] = { a, b };

	for (int i = 0; i < 2; i++) {
		tund_cookie_maker_destroy(&p[i]->maker);
		tund_cookie_checker_destroy(&p[i]->checker);
		tund_noise_handshake_destroy(&p[i]->hs);
		tund_noise_static_identity_clear(&p[i]->id);
	}
}

static const uint8_t src_a[6] = { 192, 0, 2, 1, 0x12, 0x34 };
static const uint8_t src_other[6] = { 192, 0, 2, 2, 0x12, 0x34 };

UNIT_TEST(cookie_mac1)
{
	struct timespec wall = { .tv_sec = 1700000000 };
	struct tund_message_handshake_initiation init, bad;
	struct peer a, b;
	uint8_t *p = (uint8_t *)&bad;

	pair_setup(&a, &b);
	CHECK(tund_noise_handshake_create_initiation(&init, &a.hs, 1, &wall));
	/* Without MACs at all. */
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, sizeof(init), src_a, 6,
					  false, SEC) == TUND_COOKIE_INVALID_MAC1);
	CHECK(tund_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), SEC));
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, sizeof(init), src_a, 6,
					  false, SEC) == TUND_COOKIE_VALID_MAC1);
	/* Any flipped bit before mac2 breaks mac1. */
	for (size_t i = 0; i < sizeof(init) - TUND_MAC_LEN; i += 7) {
		bad = init;
		p[i] ^= 0x20;
		CHECK(tund_cookie_validate_packet(&b.checker, p, sizeof(bad), src_a, 6, false,
						  SEC) == TUND_COOKIE_INVALID_MAC1);
	}
	/* The initiator's own checker (wrong responder key) rejects it. */
	CHECK(tund_cookie_validate_packet(&a.checker, (uint8_t *)&init, sizeof(init), src_a, 6,
					  false, SEC) == TUND_COOKIE_INVALID_MAC1);
	/* Too short. */
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, 31, src_a, 6, false,
					  SEC) == TUND_COOKIE_INVALID_MAC1);
	pair_destroy(&a, &b);
}

UNIT_TEST(cookie_reply_flow)
{
	struct timespec wall = { .tv_sec = 1700000000 };
	struct tund_message_handshake_initiation init;
	struct tund_message_handshake_response resp;
	struct tund_message_handshake_cookie reply, bad;
	struct peer a, b;
	uint64_t now = 100 * SEC;

	pair_setup(&a, &b);
	CHECK(tund_noise_handshake_create_initiation(&init, &a.hs, 0xabcdef01, &wall));
	CHECK(tund_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), now));
	/* b is under load: mac1 is fine but there is no cookie yet. */
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, sizeof(init), src_a, 6,
					  true, now) == TUND_COOKIE_NEED_COOKIE);
	CHECK(tund_cookie_create_reply(&b.checker, &reply, (uint8_t *)&init, sizeof(init), src_a,
				       6, now));
	CHECK(tund_le32_get(reply.type) == TUND_MESSAGE_HANDSHAKE_COOKIE);
	CHECK(tund_le32_get(reply.receiver_index) == 0xabcdef01);

	/* Tampered replies do not open, and do not consume the pending mac1. */
	bad = reply;
	bad.nonce[0] ^= 1;
	CHECK(!tund_cookie_consume_reply(&a.maker, &bad, now));
	bad = reply;
	bad.encrypted_cookie[20] ^= 1;
	CHECK(!tund_cookie_consume_reply(&a.maker, &bad, now));
	/* b's own maker (keyed for a) cannot open it. */
	CHECK(!tund_cookie_consume_reply(&b.maker, &reply, now));
	CHECK(tund_cookie_consume_reply(&a.maker, &reply, now + SEC));
	/* One reply per message sent. */
	CHECK(!tund_cookie_consume_reply(&a.maker, &reply, now + SEC));

	/* The retry carries mac2 and gets through. */
	wall.tv_sec++;
	CHECK(tund_noise_handshake_create_initiation(&init, &a.hs, 0xabcdef02, &wall));
	CHECK(tund_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), now + 2 * SEC));
	CHECK(!sodium_is_zero(init.macs.mac2, TUND_MAC_LEN));
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, sizeof(init), src_a, 6,
					  true, now + 2 * SEC) == TUND_COOKIE_VALID_MAC2);
	/* Not from another address. */
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, sizeof(init), src_other, 6,
					  true, now + 2 * SEC) == TUND_COOKIE_NEED_COOKIE);
	CHECK(tund_noise_handshake_consume_initiation(&init, &b.id, lookup, &b, now + 2 * SEC) ==
	      &b.hs);
	CHECK(tund_noise_handshake_create_response(&resp, &b.hs, 77));
	CHECK(tund_cookie_add_macs(&b.maker, (uint8_t *)&resp, sizeof(resp), now + 2 * SEC));
	CHECK(tund_cookie_validate_packet(&a.checker, (uint8_t *)&resp, sizeof(resp), src_a, 6,
					  false, now + 2 * SEC) == TUND_COOKIE_VALID_MAC1);
	CHECK(tund_noise_handshake_consume_response(&resp, &a.hs));

	/* The secret rotates after 120 s: the old cookie no longer counts. */
	CHECK(tund_cookie_validate_packet(&b.checker, (uint8_t *)&init, sizeof(init), src_a, 6,
					  true, now + 121 * SEC) == TUND_COOKIE_NEED_COOKIE);
	/* And the maker stops using a cookie older than 120 s. */
	CHECK(tund_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), now + 122 * SEC));
	CHECK(sodium_is_zero(init.macs.mac2, TUND_MAC_LEN));
	pair_destroy(&a, &b);
}

UNIT_TEST(cookie_reply_for_response)
{
	/* The responder's response can be answered with a cookie too. */
	struct timespec wall = { .tv_sec = 1700000000 };
	struct tund_message_handshake_initiation init;
	struct tund_message_handshake_response resp;
	struct tund_message_handshake_cookie reply;
	struct peer a, b;

	pair_setup(&a, &b);
	CHECK(tund_noise_handshake_create_initiation(&init, &a.hs, 5, &wall));
	CHECK(tund_noise_handshake_consume_initiation(&init, &b.id, lookup, &b, SEC) == &b.hs);
	CHECK(tund_noise_handshake_create_response(&resp, &b.hs, 6));
	CHECK(tund_cookie_add_macs(&b.maker, (uint8_t *)&resp, sizeof(resp), SEC));
	CHECK(tund_cookie_validate_packet(&a.checker, (uint8_t *)&resp, sizeof(resp), src_a, 6,
					  true, SEC) == TUND_COOKIE_NEED_COOKIE);
	CHECK(tund_cookie_create_reply(&a.checker, &reply, (uint8_t *)&resp, sizeof(resp), src_a,
				       6, SEC));
	CHECK(tund_le32_get(reply.receiver_index) == 6);
	CHECK(tund_cookie_consume_reply(&b.maker, &reply, SEC));
	CHECK(b.maker.has_cookie);
	pair_destroy(&a, &b);
}

UNIT_TEST(cookie_reply_without_sent_message)
{
	struct tund_message_handshake_cookie reply;
	struct peer a, b;
	uint8_t msg[TUND_MESSAGE_INITIATION_LEN];

	pair_setup(&a, &b);
	tu_fill(msg, sizeof(msg), 3);
	CHECK(tund_cookie_create_reply(&b.checker, &reply, msg, sizeof(msg), src_a, 6, SEC));
	CHECK(!tund_cookie_consume_reply(&a.maker, &reply, SEC));
	CHECK(!tund_cookie_create_reply(&b.checker, &reply, msg, 39, src_a, 6, SEC));
	pair_destroy(&a, &b);
}
