// SPDX-License-Identifier: MIT
#include "overlay/keys.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

void tund_key_generate(uint8_t key[TUND_KEY_LEN])
{
	randombytes_buf(key, TUND_KEY_LEN);
	/* Clamp as `wg genkey` does, so the stored file matches its output. */
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

bool tund_key_public(uint8_t pub[TUND_KEY_LEN], const uint8_t priv[TUND_KEY_LEN])
{
	return crypto_scalarmult_curve25519_base(pub, priv) == 0;
}

void tund_key_encode(char buf[TUND_KEY_B64_LEN + 1], const uint8_t key[TUND_KEY_LEN])
{
	sodium_bin2base64(buf, TUND_KEY_B64_LEN + 1, key, TUND_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

bool tund_key_decode(uint8_t key[TUND_KEY_LEN], const char *text)
{
	size_t len, bin_len = 0;
	const char *end;

	if (!text)
		return false;
	len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len != TUND_KEY_B64_LEN || text[43] != '=')
		return false;
	if (sodium_base642bin(key, TUND_KEY_LEN, text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return bin_len == TUND_KEY_LEN && end == text + len;
}
