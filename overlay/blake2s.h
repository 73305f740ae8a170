/* SPDX-License-Identifier: MIT */
/* BLAKE2s (RFC 7693) and the constructions WireGuard builds on it: HMAC-BLAKE2s
 * and the HKDF chain kdf1/kdf2/kdf3 of the whitepaper (section 5.4). Pure: no
 * allocation, no I/O. Every function wipes its internal state before return. */
#ifndef TUND_OVERLAY_BLAKE2S_H
#define TUND_OVERLAY_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

enum {
	TUND_BLAKE2S_BLOCK_SIZE = 64,
	TUND_BLAKE2S_HASH_SIZE = 32,
	TUND_BLAKE2S_KEY_SIZE = 32,
	TUND_BLAKE2S_MAC_SIZE = 16, /* WireGuard's MAC() output */
};

/* Incremental state; caller owns it (stack or struct). */
struct tund_blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[TUND_BLAKE2S_BLOCK_SIZE];
	size_t buflen;
	size_t outlen;
};

/* Starts an unkeyed hash with outlen in 1..32. */
void tund_blake2s_init(struct tund_blake2s_state *state, size_t outlen);
/* Starts a keyed hash: outlen in 1..32, keylen in 1..32 (0 means unkeyed). */
void tund_blake2s_init_key(struct tund_blake2s_state *state, size_t outlen,
			   const uint8_t *key, size_t keylen);
/* Absorbs inlen bytes; in may be NULL when inlen is 0. */
void tund_blake2s_update(struct tund_blake2s_state *state, const uint8_t *in, size_t inlen);
/* Writes state->outlen bytes to out and wipes the state. */
void tund_blake2s_final(struct tund_blake2s_state *state, uint8_t *out);

/* One-shot: out (outlen bytes, 1..32) = BLAKE2s(key, in). key may be NULL
 * with keylen 0 for the unkeyed hash. */
void tund_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
		  const uint8_t *key, size_t keylen);

/* out[32] = HMAC-BLAKE2s(key, in) with the 64-byte block of RFC 2104.
 * Keys longer than 64 bytes are hashed first. */
void tund_blake2s_hmac(uint8_t out[TUND_BLAKE2S_HASH_SIZE], const uint8_t *in, size_t inlen,
		       const uint8_t *key, size_t keylen);

/* WireGuard's KDFn(key, input): tau0 = HMAC(key, input), tau1 = HMAC(tau0, 0x1),
 * tau_i = HMAC(tau0, tau_{i-1} || i). Outputs are 32 bytes each, may alias key. */
void tund_blake2s_kdf1(uint8_t t1[32], const uint8_t key[32], const uint8_t *in, size_t inlen);
void tund_blake2s_kdf2(uint8_t t1[32], uint8_t t2[32], const uint8_t key[32],
		       const uint8_t *in, size_t inlen);
void tund_blake2s_kdf3(uint8_t t1[32], uint8_t t2[32], uint8_t t3[32], const uint8_t key[32],
		       const uint8_t *in, size_t inlen);

#endif
