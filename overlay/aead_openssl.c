// SPDX-License-Identifier: MIT
/* The OpenSSL backend (libcrypto's EVP ChaCha20-Poly1305). An EVP call costs
 * far more than libsodium's when the context is made and keyed anew, so each
 * thread keeps one context per direction, keyed with the last key it used:
 * a packet under the same key only sets its nonce. tund_aead_wipe() resets
 * them (OpenSSL cleanses the cipher state it frees) and forgets the key. */
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/aead.h"

enum { SEAL, OPEN, DIRECTIONS };

struct thread_ctx {
	EVP_CIPHER_CTX *ctx[DIRECTIONS];
	uint8_t key[DIRECTIONS][TUND_AEAD_KEY_LEN];
	bool keyed[DIRECTIONS];
};

static __thread struct thread_ctx *mine;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t at_exit;
static EVP_CIPHER *cipher;

static void thread_ctx_free(void *arg)
{
	struct thread_ctx *t = arg;

	for (int d = 0; d < DIRECTIONS; d++)
		EVP_CIPHER_CTX_free(t->ctx[d]);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

static void setup_once(void)
{
	/* Fetched once: an EVP_chacha20_poly1305() init would fetch per call. */
	cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (pthread_key_create(&at_exit, thread_ctx_free))
		abort();
}

static struct thread_ctx *thread_ctx(void)
{
	struct thread_ctx *t;

	if (mine)
		return mine;
	pthread_once(&once, setup_once);
	if (!cipher)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ctx[SEAL] = EVP_CIPHER_CTX_new();
	t->ctx[OPEN] = EVP_CIPHER_CTX_new();
	if (!t->ctx[SEAL] || !t->ctx[OPEN] || pthread_setspecific(at_exit, t)) {
		thread_ctx_free(t);
		return NULL;
	}
	mine = t;
	return t;
}

/* The thread's context for direction d, keyed with key and set to nonce,
 * having taken in ad; NULL if OpenSSL failed. */
static EVP_CIPHER_CTX *ready(int d, const uint8_t key[TUND_AEAD_KEY_LEN],
			     const uint8_t nonce[TUND_AEAD_NONCE_LEN], const uint8_t *ad,
			     size_t ad_len)
{
	struct thread_ctx *t = thread_ctx();
	const EVP_CIPHER *c = NULL;
	const uint8_t *k = NULL;
	int out;

	if (!t || ad_len > INT_MAX)
		return NULL;
	if (!t->keyed[d]) {
		c = cipher; /* after a wipe the context holds no cipher */
		k = key;
	} else if (CRYPTO_memcmp(t->key[d], key, TUND_AEAD_KEY_LEN) != 0) {
		k = key;
	}
	if (!EVP_CipherInit_ex2(t->ctx[d], c, k, nonce, d == SEAL, NULL)) {
		EVP_CIPHER_CTX_reset(t->ctx[d]);
		OPENSSL_cleanse(t->key[d], TUND_AEAD_KEY_LEN);
		t->keyed[d] = false;
		return NULL;
	}
	if (k) {
		memcpy(t->key[d], key, TUND_AEAD_KEY_LEN);
		t->keyed[d] = true;
	}
	if (ad_len && !EVP_CipherUpdate(t->ctx[d], NULL, &out, ad, (int)ad_len))
		return NULL;
	return t->ctx[d];
}

static bool openssl_seal(const uint8_t key[TUND_AEAD_KEY_LEN],
			 const uint8_t nonce[TUND_AEAD_NONCE_LEN], const uint8_t *ad, size_t ad_len,
			 uint8_t *data, size_t len, uint8_t tag[TUND_AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int out;

	if (len > INT_MAX || !(ctx = ready(SEAL, key, nonce, ad, ad_len)))
		return false;
	if (len && !EVP_EncryptUpdate(ctx, data, &out, data, (int)len))
		return false;
	return EVP_EncryptFinal_ex(ctx, data + len, &out) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TUND_AEAD_TAG_LEN, tag);
}

static bool openssl_open(const uint8_t key[TUND_AEAD_KEY_LEN],
			 const uint8_t nonce[TUND_AEAD_NONCE_LEN], const uint8_t *ad, size_t ad_len,
			 uint8_t *data, size_t len, const uint8_t tag[TUND_AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int out;

	if (len > INT_MAX || !(ctx = ready(OPEN, key, nonce, ad, ad_len)))
		return false;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TUND_AEAD_TAG_LEN, (void *)tag))
		return false;
	if (len && !EVP_DecryptUpdate(ctx, data, &out, data, (int)len))
		return false;
	return EVP_DecryptFinal_ex(ctx, data + len, &out) > 0;
}

static void openssl_wipe(void)
{
	struct thread_ctx *t = mine;

	if (!t)
		return;
	for (int d = 0; d < DIRECTIONS; d++) {
		if (!t->keyed[d])
			continue;
		EVP_CIPHER_CTX_reset(t->ctx[d]);
		OPENSSL_cleanse(t->key[d], TUND_AEAD_KEY_LEN);
		t->keyed[d] = false;
	}
}

const struct tund_aead_ops tund_aead_openssl = {
	.name = "openssl",
	.seal = openssl_seal,
	.open = openssl_open,
	.wipe = openssl_wipe,
};
