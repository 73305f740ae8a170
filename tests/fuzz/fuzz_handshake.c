// SPDX-License-Identifier: MIT
/* Feeds bytes to the handshake consumers with fixed identities: a type-1
 * message to a responder that knows one peer, a type-2 message to an
 * initiator with an initiation pending, a type-3 message to a cookie maker
 * with a mac1 pending. The keys and the pending initiation match
 * tests/unit/noise_kat.py, so its outputs are valid seeds. MAC checks are
 * evaluated but do not gate the consumers, so the fuzzer reaches the AEADs. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/cookie.h"
#include "overlay/keypair.h"
#include "overlay/messages.h"
#include "overlay/noise.h"
#include "overlay/noise_testing.h"

static struct tund_noise_static_identity id_i, id_r;
static bool ready;

static void seq(uint8_t *out, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(start + i);
}

static void setup(void)
{
	uint8_t k[32];

	if (sodium_init() < 0)
		abort();
	seq(k, 32, 0x10);
	if (!tund_noise_static_identity_init(&id_i, k))
		abort();
	seq(k, 32, 0x40);
	if (!tund_noise_static_identity_init(&id_r, k))
		abort();
	ready = true;
}

static struct tund_noise_handshake *lookup(void *ctx, const uint8_t pubkey[32])
{
	struct tund_noise_handshake *hs = ctx;

	return memcmp(hs->remote_static, pubkey, 32) == 0 ? hs : NULL;
}

static void as_responder(const uint8_t *data, size_t size)
{
	static const uint8_t src[6] = { 10, 0, 0, 1, 0x51, 0x80 };
	const struct tund_message_handshake_initiation *init;
	struct tund_message_handshake_response resp;
	struct tund_message_handshake_cookie reply;
	struct tund_cookie_checker checker;
	struct tund_noise_handshake hs;
	struct tund_keypair kp;

	if (!tund_message_initiation_decode(data, size, &init))
		return;
	tund_cookie_checker_init(&checker, id_r.static_public);
	(void)tund_cookie_validate_packet(&checker, data, size, src, sizeof(src), size & 1, 0);
	if (tund_cookie_validate_packet(&checker, data, size, src, sizeof(src), true, 0) ==
	    TUND_COOKIE_NEED_COOKIE)
		(void)tund_cookie_create_reply(&checker, &reply, data, size, src, sizeof(src), 0);
	tund_noise_handshake_init(&hs, &id_r, id_i.static_public, NULL);
	if (tund_noise_handshake_consume_initiation(init, &id_r, lookup, &hs, 0) == &hs) {
		if (!tund_noise_handshake_create_response(&resp, &hs, 7) ||
		    !tund_noise_handshake_begin_session(&hs, &kp, 0))
			abort();
		tund_keypair_destroy(&kp);
	}
	tund_noise_handshake_destroy(&hs);
	tund_cookie_checker_destroy(&checker);
}

static void as_initiator(const uint8_t *data, size_t size)
{
	static const struct timespec wall = { .tv_sec = 1767323045, .tv_nsec = 123456789 };
	const struct tund_message_handshake_response *resp;
	const struct tund_message_handshake_cookie *cookie;
	struct tund_message_handshake_initiation init;
	struct tund_cookie_checker checker;
	struct tund_cookie_maker maker;
	struct tund_noise_handshake hs;
	struct tund_keypair kp;
	uint8_t e[32];

	tund_noise_handshake_init(&hs, &id_i, id_r.static_public, NULL);
	tund_cookie_maker_init(&maker, id_r.static_public);
	tund_cookie_checker_init(&checker, id_i.static_public);
	seq(e, 32, 0x70);
	if (!tund_noise_handshake_create_initiation_with_ephemeral(&init, &hs, 0x11223344, &wall,
								   e))
		abort();
	tund_cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), 0);

	if (tund_message_response_decode(data, size, &resp)) {
		(void)tund_cookie_validate_packet(&checker, data, size, NULL, 0, false, 0);
		if (tund_noise_handshake_consume_response(resp, &hs)) {
			if (!tund_noise_handshake_begin_session(&hs, &kp, 0))
				abort();
			tund_keypair_destroy(&kp);
		}
	} else if (tund_message_cookie_decode(data, size, &cookie)) {
		if (tund_cookie_consume_reply(&maker, cookie, 0)) {
			tund_cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), 1);
			if (sodium_is_zero(init.macs.mac2, sizeof(init.macs.mac2)))
				abort();
		}
	}
	tund_cookie_maker_destroy(&maker);
	tund_cookie_checker_destroy(&checker);
	tund_noise_handshake_destroy(&hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	switch (tund_message_classify(data, size)) {
	case TUND_MESSAGE_HANDSHAKE_INITIATION:
		as_responder(data, size);
		break;
	case TUND_MESSAGE_HANDSHAKE_RESPONSE:
	case TUND_MESSAGE_HANDSHAKE_COOKIE:
		as_initiator(data, size);
		break;
	default:
		break;
	}
	return 0;
}
