// SPDX-License-Identifier: MIT
/* BLAKE2s after RFC 7693 section 3, with WireGuard's HMAC and KDF on top.
 * libsodium ships BLAKE2b only, hence this file. */
#include "overlay/blake2s.h"

#include <sodium.h>
#include <string.h>

static const uint32_t blake2s_iv[8] = {
	0x6A09E667UL, 0xBB67AE85UL, 0x3C6EF372UL, 0xA54FF53AUL,
	0x510E527FUL, 0x9B05688CUL, 0x1F83D9ABUL, 0x5BE0CD19UL,
};

static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t ror32(uint32_t w, unsigned int c)
{
	return (w >> c) | (w << (32 - c));
}

static inline uint32_t load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void store32_le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#define G(a, b, c, d, x, y)                                                    \
	do {                                                                   \
		v[a] = v[a] + v[b] + (x);                                      \
		v[d] = ror32(v[d] ^ v[a], 16);                                 \
		v[c] = v[c] + v[d];                                            \
		v[b] = ror32(v[b] ^ v[c], 12);                                 \
		v[a] = v[a] + v[b] + (y);                                      \
		v[d] = ror32(v[d] ^ v[a], 8);                                  \
		v[c] = v[c] + v[d];                                            \
		v[b] = ror32(v[b] ^ v[c], 7);                                  \
	} while (0)

static void compress(struct tund_blake2s_state *s, const uint8_t block[TUND_BLAKE2S_BLOCK_SIZE])
{
	uint32_t m[16], v[16];

	for (int i = 0; i < 16; i++)
		m[i] = load32_le(block + 4 * i);
	for (int i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	v[14] ^= s->f[0];
	v[15] ^= s->f[1];
	for (int r = 0; r < 10; r++) {
		const uint8_t *sg = blake2s_sigma[r];

		G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
	for (int i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	sodium_memzero(m, sizeof(m));
	sodium_memzero(v, sizeof(v));
}

static void increment_counter(struct tund_blake2s_state *s, uint32_t inc)
{
	s->t[0] += inc;
	if (s->t[0] < inc)
		s->t[1]++;
}

void tund_blake2s_init_key(struct tund_blake2s_state *s, size_t outlen, const uint8_t *key,
			   size_t keylen)
{
	/* Out-of-range sizes are programming errors; clamp rather than overflow. */
	if (outlen == 0 || outlen > TUND_BLAKE2S_HASH_SIZE)
		outlen = TUND_BLAKE2S_HASH_SIZE;
	if (keylen > TUND_BLAKE2S_KEY_SIZE)
		keylen = TUND_BLAKE2S_KEY_SIZE;
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	/* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000UL ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		uint8_t block[TUND_BLAKE2S_BLOCK_SIZE] = { 0 };

		memcpy(block, key, keylen);
		tund_blake2s_update(s, block, sizeof(block));
		sodium_memzero(block, sizeof(block));
	}
}

void tund_blake2s_init(struct tund_blake2s_state *s, size_t outlen)
{
	tund_blake2s_init_key(s, outlen, NULL, 0);
}

void tund_blake2s_update(struct tund_blake2s_state *s, const uint8_t *in, size_t inlen)
{
	/* The last block must be compressed with the final flag, so a full
	 * buffer is only compressed once more input arrives. */
	while (inlen > 0) {
		size_t fill = TUND_BLAKE2S_BLOCK_SIZE - s->buflen;

		if (s->buflen == TUND_BLAKE2S_BLOCK_SIZE) {
			increment_counter(s, TUND_BLAKE2S_BLOCK_SIZE);
			compress(s, s->buf);
			s->buflen = 0;
			continue;
		}
		if (fill > inlen)
			fill = inlen;
		memcpy(s->buf + s->buflen, in, fill);
		s->buflen += fill;
		in += fill;
		inlen -= fill;
	}
}

void tund_blake2s_final(struct tund_blake2s_state *s, uint8_t *out)
{
	uint8_t full[TUND_BLAKE2S_HASH_SIZE];

	increment_counter(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, TUND_BLAKE2S_BLOCK_SIZE - s->buflen);
	s->f[0] = 0xFFFFFFFFUL;
	compress(s, s->buf);
	for (int i = 0; i < 8; i++)
		store32_le(full + 4 * i, s->h[i]);
	memcpy(out, full, s->outlen);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(s, sizeof(*s));
}

void tund_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
		  const uint8_t *key, size_t keylen)
{
	struct tund_blake2s_state s;

	tund_blake2s_init_key(&s, outlen, key, keylen);
	tund_blake2s_update(&s, in, inlen);
	tund_blake2s_final(&s, out);
}

void tund_blake2s_hmac(uint8_t out[TUND_BLAKE2S_HASH_SIZE], const uint8_t *in, size_t inlen,
		       const uint8_t *key, size_t keylen)
{
	struct tund_blake2s_state s;
	uint8_t x_key[TUND_BLAKE2S_BLOCK_SIZE] = { 0 };
	uint8_t i_hash[TUND_BLAKE2S_HASH_SIZE];

	if (keylen > TUND_BLAKE2S_BLOCK_SIZE)
		tund_blake2s(x_key, TUND_BLAKE2S_HASH_SIZE, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(x_key, key, keylen);

	for (int i = 0; i < TUND_BLAKE2S_BLOCK_SIZE; i++)
		x_key[i] ^= 0x36;
	tund_blake2s_init(&s, TUND_BLAKE2S_HASH_SIZE);
	tund_blake2s_update(&s, x_key, TUND_BLAKE2S_BLOCK_SIZE);
	tund_blake2s_update(&s, in, inlen);
	tund_blake2s_final(&s, i_hash);

	for (int i = 0; i < TUND_BLAKE2S_BLOCK_SIZE; i++)
		x_key[i] ^= 0x5c ^ 0x36;
	tund_blake2s_init(&s, TUND_BLAKE2S_HASH_SIZE);
	tund_blake2s_update(&s, x_key, TUND_BLAKE2S_BLOCK_SIZE);
	tund_blake2s_update(&s, i_hash, TUND_BLAKE2S_HASH_SIZE);
	tund_blake2s_final(&s, out);

	sodium_memzero(x_key, sizeof(x_key));
	sodium_memzero(i_hash, sizeof(i_hash));
}

/* Shared body of kdf1..3: writes n outputs (n in 1..3) to outs. */
static void kdf(uint8_t *outs[3], int n, const uint8_t key[32], const uint8_t *in, size_t inlen)
{
	uint8_t secret[TUND_BLAKE2S_HASH_SIZE];
	uint8_t output[TUND_BLAKE2S_HASH_SIZE + 1];

	/* Outputs may alias key, so finish reading key before writing them. */
	tund_blake2s_hmac(secret, in, inlen, key, TUND_BLAKE2S_HASH_SIZE);

	output[0] = 1;
	tund_blake2s_hmac(output, output, 1, secret, sizeof(secret));
	memcpy(outs[0], output, TUND_BLAKE2S_HASH_SIZE);
	for (int i = 1; i < n; i++) {
		output[TUND_BLAKE2S_HASH_SIZE] = (uint8_t)(i + 1);
		tund_blake2s_hmac(output, output, sizeof(output), secret, sizeof(secret));
		memcpy(outs[i], output, TUND_BLAKE2S_HASH_SIZE);
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(output, sizeof(output));
}

void tund_blake2s_kdf1(uint8_t t1[32], const uint8_t key[32], const uint8_t *in, size_t inlen)
{
	uint8_t *outs[3] = { t1, NULL, NULL };

	kdf(outs, 1, key, in, inlen);
}

void tund_blake2s_kdf2(uint8_t t1[32], uint8_t t2[32], const uint8_t key[32],
		       const uint8_t *in, size_t inlen)
{
	uint8_t *outs[3] = { t1, t2, NULL };

	kdf(outs, 2, key, in, inlen);
}

void tund_blake2s_kdf3(uint8_t t1[32], uint8_t t2[32], uint8_t t3[32], const uint8_t key[32],
		       const uint8_t *in, size_t inlen)
{
	uint8_t *outs[3] = { t1, t2, t3 };

	kdf(outs, 3, key, in, inlen);
}
