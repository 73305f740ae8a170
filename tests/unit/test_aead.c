// SPDX-License-Identifier: MIT
/* The transport AEAD's backends compute one function: RFC 8439's test
 * vector on each, random packets of many sizes sealed by one and opened by
 * the other, tampering refused by both, and the choice per size. */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/aead.h"
#include "overlay/keypair.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

/* RFC 8439 section 2.8.2. */
static const char rfc_plain[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
	"the future, sunscreen would be it.";
static const char rfc_key[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char rfc_nonce[] = "070000004041424344454647";
static const char rfc_ad[] = "50515253c0c1c2c3c4c5c6c7";
static const char rfc_cipher[] =
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	"3ff4def08e4b7a9de576d26586cec64b6116";
static const char rfc_tag[] = "1ae10b594f09e26a7e902ecbd0600691";

UNIT_TEST(aead_rfc8439_vector_both_backends)
{
	uint8_t key[32], nonce[12], ad[12], buf[sizeof(rfc_plain) - 1], tag[16];
	size_t len = sizeof(rfc_plain) - 1;

	CHECK(len == 114);
	CHECK(tu_unhex(key, 32, rfc_key) && tu_unhex(nonce, 12, rfc_nonce) &&
	      tu_unhex(ad, 12, rfc_ad));
	for (int b = 0; b < TUND_AEAD_BACKENDS; b++) {
		const struct tund_aead_ops *ops = tund_aead_ops(b);

		memcpy(buf, rfc_plain, len);
		CHECK(ops->seal(key, nonce, ad, sizeof(ad), buf, len, tag));
		CHECK(tu_hex_eq(buf, len, rfc_cipher));
		CHECK(tu_hex_eq(tag, 16, rfc_tag));
		CHECK(ops->open(key, nonce, ad, sizeof(ad), buf, len, tag));
		CHECK(memcmp(buf, rfc_plain, len) == 0);
		/* The additional data is authenticated too. */
		CHECK(ops->seal(key, nonce, ad, sizeof(ad), buf, len, tag));
		ad[3] ^= 1;
		CHECK(!ops->open(key, nonce, ad, sizeof(ad), buf, len, tag));
		ad[3] ^= 1;
		ops->wipe();
	}
}

/* Sealed by each backend with the WireGuard nonce: the same bytes, each
 * opens the other's, and a flipped bit anywhere is refused by both. */
static void cross_check(const uint8_t key[32], uint64_t counter, const uint8_t *plain,
			size_t len, uint8_t *a, uint8_t *b, uint8_t *c)
{
	uint8_t nonce[12], ta[16], tb[16];
	const struct tund_aead_ops *s = &tund_aead_sodium, *o = &tund_aead_openssl;
	size_t flip = len ? randombytes_uniform((uint32_t)len + 16) : randombytes_uniform(16);

	tund_aead_nonce(nonce, counter);
	memcpy(a, plain, len);
	memcpy(b, plain, len);
	CHECK(s->seal(key, nonce, NULL, 0, a, len, ta));
	CHECK(o->seal(key, nonce, NULL, 0, b, len, tb));
	CHECK(memcmp(a, b, len) == 0 && memcmp(ta, tb, 16) == 0);
	memcpy(c, a, len);
	CHECK(o->open(key, nonce, NULL, 0, c, len, ta) && memcmp(c, plain, len) == 0);
	memcpy(c, b, len);
	CHECK(s->open(key, nonce, NULL, 0, c, len, tb) && memcmp(c, plain, len) == 0);
	/* One bit of the ciphertext or the tag. */
	if (flip < len)
		a[flip] ^= 1;
	else
		ta[flip - len] ^= 0x80;
	memcpy(c, a, len);
	CHECK(!s->open(key, nonce, NULL, 0, c, len, ta));
	memcpy(c, a, len);
	CHECK(!o->open(key, nonce, NULL, 0, c, len, ta));
	/* The right bytes under the next counter: refused as well. */
	tund_aead_nonce(nonce, counter + 1);
	memcpy(c, b, len);
	CHECK(!s->open(key, nonce, NULL, 0, c, len, tb));
	memcpy(c, b, len);
	CHECK(!o->open(key, nonce, NULL, 0, c, len, tb));
}

UNIT_TEST(aead_backends_agree_on_random_packets)
{
	enum { MAX = 65535 };
	uint8_t keys[2][32], *plain = malloc(MAX), *a = malloc(MAX), *b = malloc(MAX),
			     *c = malloc(MAX);
	size_t sizes = 0;

	CHECK(sodium_init() >= 0 && plain && a && b && c);
	if (!plain || !a || !b || !c)
		goto out;
	randombytes_buf(keys, sizeof(keys));
	randombytes_buf(plain, MAX);
	/* Every size to 300, odd steps up to 70 KiB, the MTU's neighbours,
	 * the largest; two keys in turn, so each backend changes key while
	 * its context is set up, and a wipe now and then. */
	for (size_t len = 0; len <= MAX; len += len < 300 ? 1 : len < 2000 ? 37 : 997, sizes++) {
		uint64_t counter;

		randombytes_buf(&counter, sizeof(counter));
		cross_check(keys[sizes & 1], counter, plain, len, a, b, c);
		if (sizes % 7 == 0)
			tund_aead_wipe();
	}
	for (size_t len = 1418; len <= 1424; len++, sizes++)
		cross_check(keys[0], sizes, plain, len, a, b, c);
	cross_check(keys[1], UINT64_MAX, plain, MAX, a, b, c);
	CHECK(sizes > 400);
out:
	tund_aead_wipe();
	sodium_memzero(keys, sizeof(keys));
	free(plain);
	free(a);
	free(b);
	free(c);
}

/* The process-wide choice, with TUND_AEAD put back as it was. */
UNIT_TEST(aead_choice_forced_and_measured)
{
	const char *was = getenv("TUND_AEAD");
	char *saved = was ? strdup(was) : NULL;
	struct tund_aead_choice c;
	size_t from = SIZE_MAX;

	CHECK(setenv("TUND_AEAD", "sodium", 1) == 0);
	CHECK(tund_aead_setup(TUND_AEAD_MODE_OPENSSL, &c) == 0); /* the environment wins */
	CHECK(c.mode == TUND_AEAD_MODE_SODIUM && c.openssl_from == SIZE_MAX);
	CHECK(setenv("TUND_AEAD", "openssl", 1) == 0);
	CHECK(tund_aead_setup(TUND_AEAD_MODE_SODIUM, &c) == 0);
	CHECK(c.mode == TUND_AEAD_MODE_OPENSSL && c.openssl_from == 0);
	CHECK(setenv("TUND_AEAD", "fastest", 1) == 0);
	CHECK(tund_aead_setup(TUND_AEAD_MODE_AUTO, &c) == -EINVAL);
	CHECK(unsetenv("TUND_AEAD") == 0);
	CHECK(tund_aead_setup(TUND_AEAD_MODE_AUTO, &c) == 0);
	CHECK(c.mode == TUND_AEAD_MODE_AUTO);
	/* The threshold is the smallest size from which OpenSSL won clearly. */
	for (int s = TUND_AEAD_PROBE_SIZES - 1; s >= 0; s--) {
		CHECK(c.mbps[TUND_AEAD_SODIUM][s] > 0 && c.mbps[TUND_AEAD_OPENSSL][s] > 0);
		if (c.mbps[TUND_AEAD_OPENSSL][s] < 1.05 * c.mbps[TUND_AEAD_SODIUM][s])
			break;
		from = tund_aead_probe_sizes[s];
	}
	CHECK(c.openssl_from == from);
	tund_aead_get_choice(&c);
	CHECK(c.openssl_from == from);
	if (saved)
		setenv("TUND_AEAD", saved, 1);
	free(saved);
}

/* Transport messages sealed under one forced backend open under the other. */
UNIT_TEST(aead_keypairs_across_backends)
{
	static const enum tund_aead_mode modes[2] = { TUND_AEAD_MODE_SODIUM, TUND_AEAD_MODE_OPENSSL };
	const char *was = getenv("TUND_AEAD");
	char *saved = was ? strdup(was) : NULL;
	struct tund_keypair a, b;
	uint8_t k1[32], k2[32], buf[2100], ref[2000];
	size_t msg_len, plain_len;
	uint64_t ctr;

	unsetenv("TUND_AEAD");
	randombytes_buf(k1, 32);
	randombytes_buf(k2, 32);
	tund_keypair_init(&a, k1, k2, 1, 2, true, 0);
	tund_keypair_init(&b, k2, k1, 2, 1, false, 0);
	randombytes_buf(ref, sizeof(ref));
	for (size_t len = 0; len < sizeof(ref); len += 61) {
		CHECK(tund_aead_setup(modes[len & 1], NULL) == 0);
		memcpy(buf + TUND_MESSAGE_DATA_HEADER_LEN, ref, len);
		CHECK(tund_keypair_encrypt(&a, buf, sizeof(buf), len, 0, 0, &msg_len));
		CHECK(tund_aead_setup(modes[!(len & 1)], NULL) == 0);
		CHECK(tund_keypair_decrypt(&b, buf, msg_len, 0, &plain_len, &ctr) == TUND_KEYPAIR_OK);
		CHECK(plain_len >= len && memcmp(buf + TUND_MESSAGE_DATA_HEADER_LEN, ref, len) == 0);
	}
	tund_keypair_destroy(&a);
	tund_keypair_destroy(&b);
	sodium_memzero(k1, 32);
	sodium_memzero(k2, 32);
	if (saved)
		setenv("TUND_AEAD", saved, 1);
	tund_aead_setup(TUND_AEAD_MODE_AUTO, NULL);
	free(saved);
}
