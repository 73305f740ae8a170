// SPDX-License-Identifier: MIT
/* Decodes and decrypts bytes as a type-4 message with a fixed keypair (the
 * initiator-to-responder keys of tests/unit/noise_kat.py without PSK, so its
 * data packet is a valid seed). Whatever opens is sealed again with the
 * mirrored keypair and must open to the same bytes. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/keypair.h"
#include "overlay/messages.h"

static const uint8_t key_i_to_r[32] = {
	0x5a, 0xce, 0x7d, 0x7e, 0x52, 0xb9, 0x28, 0x67, 0x64, 0xb8, 0xd1, 0x42, 0x80, 0xcc, 0x09, 0x7d,
	0x5d, 0x4b, 0x47, 0xa3, 0x8b, 0x53, 0x66, 0xb8, 0x6a, 0x22, 0x50, 0x36, 0x83, 0x9d, 0x2f, 0xda,
};
static const uint8_t key_r_to_i[32] = {
	0xf7, 0x73, 0x3e, 0xd4, 0x9a, 0xd3, 0x8b, 0x07, 0x31, 0x11, 0x06, 0xe7, 0xf1, 0x24, 0xda, 0x07,
	0x65, 0xa9, 0x92, 0x9b, 0xe4, 0xbf, 0x18, 0xea, 0xe8, 0x21, 0x02, 0xd1, 0x4b, 0x5e, 0x4b, 0xbc,
};

static uint8_t buf[TUND_MESSAGE_MAX_LEN + 64];
static uint8_t copy[TUND_MESSAGE_MAX_LEN + 64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_keypair rx, tx;
	const struct tund_message_data *hdr;
	size_t plain_len, len2, plain2;
	uint32_t idx;
	uint64_t ctr, ctr2;

	if (sodium_init() < 0)
		abort();
	if (size > TUND_MESSAGE_MAX_LEN + 16)
		return 0;
	(void)tund_message_data_decode(data, size, &hdr, &idx, &ctr);

	tund_keypair_init(&rx, key_r_to_i, key_i_to_r, 0xA1B2C3D4, 0x11223344, false, 0);
	memcpy(buf, data, size);
	if (tund_keypair_decrypt(&rx, buf, size, 0, &plain_len, &ctr) == TUND_KEYPAIR_OK) {
		/* Same packet twice: the replay window must refuse it. */
		memcpy(copy, data, size);
		if (tund_keypair_decrypt(&rx, copy, size, 0, &plain2, &ctr2) == TUND_KEYPAIR_OK)
			abort();
		tund_keypair_init(&tx, key_r_to_i, key_i_to_r, 0xA1B2C3D4, 0x11223344, false, 0);
		memcpy(copy + TUND_MESSAGE_DATA_HEADER_LEN, buf + TUND_MESSAGE_DATA_HEADER_LEN,
		       plain_len);
		if (!tund_keypair_encrypt(&tx, copy, sizeof(copy), plain_len, 0, 0, &len2))
			abort();
		tund_keypair_destroy(&rx);
		tund_keypair_init(&rx, key_i_to_r, key_r_to_i, 0x11223344, 0xA1B2C3D4, true, 0);
		if ((tund_keypair_decrypt(&rx, copy, len2, 0, &plain2, &ctr2) != TUND_KEYPAIR_OK) ||
		    plain2 != plain_len ||
		    memcmp(copy + TUND_MESSAGE_DATA_HEADER_LEN, buf + TUND_MESSAGE_DATA_HEADER_LEN,
			   plain_len) != 0)
			abort();
		tund_keypair_destroy(&tx);
	}
	tund_keypair_destroy(&rx);
	return 0;
}
