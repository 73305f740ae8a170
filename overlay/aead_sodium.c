// SPDX-License-Identifier: MIT
/* The libsodium backend: stateless, the key is used where it lies. */
#include <sodium.h>

#include "overlay/aead.h"

_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == TUND_AEAD_NONCE_LEN, "nonce");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == TUND_AEAD_TAG_LEN, "tag");
_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == TUND_AEAD_KEY_LEN, "key");

static bool sodium_seal(const uint8_t key[TUND_AEAD_KEY_LEN],
			const uint8_t nonce[TUND_AEAD_NONCE_LEN], const uint8_t *ad, size_t ad_len,
			uint8_t *data, size_t len, uint8_t tag[TUND_AEAD_TAG_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(data, tag, NULL, data, len, ad, ad_len,
							   NULL, nonce, key);
	return true;
}

static bool sodium_open(const uint8_t key[TUND_AEAD_KEY_LEN],
			const uint8_t nonce[TUND_AEAD_NONCE_LEN], const uint8_t *ad, size_t ad_len,
			uint8_t *data, size_t len, const uint8_t tag[TUND_AEAD_TAG_LEN])
{
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(data, NULL, data, len, tag, ad,
								  ad_len, nonce, key) == 0;
}

/* Nothing is kept between calls. */
static void sodium_wipe(void)
{
}

const struct tund_aead_ops tund_aead_sodium = {
	.name = "sodium",
	.seal = sodium_seal,
	.open = sodium_open,
	.wipe = sodium_wipe,
};
