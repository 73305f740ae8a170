// SPDX-License-Identifier: MIT
/* Decoders: exact lengths, reserved bytes, truncated, oversized and random
 * input. */
#include <stdlib.h>
#include <string.h>

#include "overlay/messages.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

static uint8_t big[TUND_MESSAGE_MAX_LEN + 16];

static void typed(uint8_t *buf, size_t len, enum tund_message_type t)
{
	tu_fill(buf, len, (uint32_t)len);
	tund_message_type_put(buf, t);
}

UNIT_TEST(messages_sizes_and_constants)
{
	CHECK(sizeof(struct tund_message_handshake_initiation) == 148);
	CHECK(sizeof(struct tund_message_handshake_response) == 92);
	CHECK(sizeof(struct tund_message_handshake_cookie) == 64);
	CHECK(sizeof(struct tund_message_data) == 16);
	CHECK(TUND_REKEY_AFTER_MESSAGES == 1152921504606846976ULL);
	CHECK(TUND_REJECT_AFTER_MESSAGES == 18446744073709543423ULL);
	CHECK(TUND_REKEY_AFTER_TIME == 120 && TUND_REJECT_AFTER_TIME == 180);
	CHECK(TUND_REKEY_ATTEMPT_TIME == 90 && TUND_REKEY_TIMEOUT == 5);
	CHECK(TUND_KEEPALIVE_TIMEOUT == 10 && TUND_COOKIE_REFRESH_TIME == 120);
}

UNIT_TEST(messages_le_helpers)
{
	uint8_t b[8];

	tund_le32_put(b, 0x11223344);
	CHECK(b[0] == 0x44 && b[3] == 0x11 && tund_le32_get(b) == 0x11223344);
	tund_le64_put(b, 0x0102030405060708ULL);
	CHECK(b[0] == 8 && b[7] == 1 && tund_le64_get(b) == 0x0102030405060708ULL);
}

UNIT_TEST(messages_exact_lengths)
{
	static const struct {
		enum tund_message_type t;
		size_t len;
	} hs[] = {
		{ TUND_MESSAGE_HANDSHAKE_INITIATION, 148 },
		{ TUND_MESSAGE_HANDSHAKE_RESPONSE, 92 },
		{ TUND_MESSAGE_HANDSHAKE_COOKIE, 64 },
	};
	const struct tund_message_handshake_initiation *init;
	const struct tund_message_handshake_response *resp;
	const struct tund_message_handshake_cookie *cookie;

	for (size_t i = 0; i < 3; i++) {
		typed(big, hs[i].len + 1, hs[i].t);
		CHECK(tund_message_classify(big, hs[i].len) == hs[i].t);
		CHECK(tund_message_classify(big, hs[i].len - 1) == TUND_MESSAGE_INVALID);
		CHECK(tund_message_classify(big, hs[i].len + 1) == TUND_MESSAGE_INVALID);
		big[1] = 1; /* reserved byte set */
		CHECK(tund_message_classify(big, hs[i].len) == TUND_MESSAGE_INVALID);
	}
	typed(big, 148, TUND_MESSAGE_HANDSHAKE_INITIATION);
	CHECK(tund_message_initiation_decode(big, 148, &init) && (const uint8_t *)init == big);
	CHECK(!tund_message_initiation_decode(big, 147, &init));
	CHECK(!tund_message_response_decode(big, 148, &resp));
	typed(big, 92, TUND_MESSAGE_HANDSHAKE_RESPONSE);
	CHECK(tund_message_response_decode(big, 92, &resp));
	CHECK(!tund_message_response_decode(big, 93, &resp));
	CHECK(!tund_message_cookie_decode(big, 92, &cookie));
	typed(big, 64, TUND_MESSAGE_HANDSHAKE_COOKIE);
	CHECK(tund_message_cookie_decode(big, 64, &cookie));
	CHECK(!tund_message_cookie_decode(big, 63, &cookie));
	CHECK(!tund_message_initiation_decode(NULL, 0, &init));
	CHECK(tund_message_classify(big, 0) == TUND_MESSAGE_INVALID);
	CHECK(tund_message_classify(big, 3) == TUND_MESSAGE_INVALID);
}

UNIT_TEST(messages_data_bounds)
{
	const struct tund_message_data *hdr;
	uint32_t idx = 0;
	uint64_t ctr = 0;

	typed(big, sizeof(big), TUND_MESSAGE_DATA);
	tund_le32_put(big + 4, 0xdeadbeef);
	tund_le64_put(big + 8, 0x0123456789abcdefULL);
	CHECK(!tund_message_data_decode(big, 31, &hdr, &idx, &ctr));
	CHECK(!tund_message_data_decode(big, 16, &hdr, &idx, &ctr));
	CHECK(tund_message_data_decode(big, 32, &hdr, &idx, &ctr));
	CHECK(idx == 0xdeadbeef && ctr == 0x0123456789abcdefULL);
	CHECK(tund_message_data_decode(big, 33, &hdr, &idx, &ctr)); /* no alignment required */
	CHECK(tund_message_data_decode(big, TUND_MESSAGE_MAX_LEN, &hdr, &idx, &ctr));
	CHECK(!tund_message_data_decode(big, TUND_MESSAGE_MAX_LEN + 1, &hdr, &idx, &ctr));
	big[3] = 0x80;
	CHECK(!tund_message_data_decode(big, 32, &hdr, &idx, &ctr));
}

UNIT_TEST(messages_random_input)
{
	uint8_t buf[200];
	const struct tund_message_handshake_initiation *init;
	const struct tund_message_handshake_response *resp;
	const struct tund_message_handshake_cookie *cookie;
	const struct tund_message_data *hdr;
	uint32_t idx;
	uint64_t ctr;

	for (uint32_t seed = 1; seed < 5000; seed++) {
		size_t len = seed % sizeof(buf);
		enum tund_message_type t;
		int ok = 0;

		tu_fill(buf, sizeof(buf), seed);
		if (seed % 3 == 0)
			buf[1] = buf[2] = buf[3] = 0, buf[0] %= 6;
		t = tund_message_classify(buf, len);
		ok += tund_message_initiation_decode(buf, len, &init);
		ok += tund_message_response_decode(buf, len, &resp);
		ok += tund_message_cookie_decode(buf, len, &cookie);
		ok += tund_message_data_decode(buf, len, &hdr, &idx, &ctr);
		/* At most one decoder accepts, and exactly when classify says so. */
		CHECK(ok == (t != TUND_MESSAGE_INVALID));
		if (t != TUND_MESSAGE_INVALID)
			CHECK(buf[0] == t && !buf[1] && !buf[2] && !buf[3]);
	}
}
