// SPDX-License-Identifier: MIT
/* Differential: libsodium and OpenSSL seal the same packet (input: a 32-byte
 * key, a 64-bit counter, a tamper position and mask, then the plaintext)
 * with WireGuard's nonce and must give the same ciphertext and tag; each
 * opens the other's; the packet with one byte changed (ciphertext or tag)
 * is refused by both. Any disagreement aborts. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/aead.h"
#include "overlay/messages.h"

enum { KEY = 0, COUNTER = 32, POS = 40, MASK = 42, PLAIN = 43, MAX_PLAIN = 65535 };

static uint8_t a[MAX_PLAIN + TUND_AEAD_TAG_LEN], b[MAX_PLAIN + TUND_AEAD_TAG_LEN];
static uint8_t c[MAX_PLAIN + TUND_AEAD_TAG_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Opens a copy of sealed (len bytes, then the tag) with ops. */
static bool opens(const struct tund_aead_ops *ops, const uint8_t *key, const uint8_t *nonce,
		  const uint8_t *sealed, size_t len)
{
	memcpy(c, sealed, len + TUND_AEAD_TAG_LEN);
	return ops->open(key, nonce, NULL, 0, c, len, c + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tund_aead_ops *s = &tund_aead_sodium, *o = &tund_aead_openssl;
	uint8_t nonce[TUND_AEAD_NONCE_LEN];
	const uint8_t *key = data + KEY, *plain = data + PLAIN;
	size_t len, pos;
	uint8_t mask;

	if (sodium_init() < 0)
		abort();
	if (size < PLAIN || size - PLAIN > MAX_PLAIN)
		return 0;
	len = size - PLAIN;
	tund_aead_nonce(nonce, tund_le64_get(data + COUNTER));
	memcpy(a, plain, len);
	memcpy(b, plain, len);
	if (!s->seal(key, nonce, NULL, 0, a, len, a + len) ||
	    !o->seal(key, nonce, NULL, 0, b, len, b + len))
		abort();
	if (memcmp(a, b, len + TUND_AEAD_TAG_LEN) != 0)
		abort();
	if (!opens(s, key, nonce, b, len) || memcmp(c, plain, len) != 0)
		abort();
	if (!opens(o, key, nonce, a, len) || memcmp(c, plain, len) != 0)
		abort();
	/* One byte of ciphertext or tag changed: neither may accept it. */
	pos = (size_t)(data[POS] | data[POS + 1] << 8) % (len + TUND_AEAD_TAG_LEN);
	mask = data[MASK] ? data[MASK] : 1;
	a[pos] ^= mask;
	if (opens(s, key, nonce, a, len) || opens(o, key, nonce, a, len))
		abort();
	/* Every few inputs the OpenSSL contexts start from nothing again. */
	if (data[MASK] & 0x80)
		o->wipe();
	return 0;
}
