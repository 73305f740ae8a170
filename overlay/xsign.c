// SPDX-License-Identifier: MIT
#include "overlay/xsign.h"

#include <sodium.h>
#include <string.h>

static const char nonce_label[] = "tund xsign nonce v1";

static void reduce32(uint8_t out[32], const uint8_t in[32])
{
	uint8_t wide[64] = { 0 };

	memcpy(wide, in, 32);
	crypto_core_ed25519_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof(wide));
}

/* h = SHA-512(parts...) mod L */
static void hash_reduce(uint8_t h[32], const uint8_t *a, size_t alen, const uint8_t *b,
			size_t blen, const uint8_t *c, size_t clen)
{
	crypto_hash_sha512_state st;
	uint8_t wide[64];

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, a, alen);
	crypto_hash_sha512_update(&st, b, blen);
	crypto_hash_sha512_update(&st, c, clen);
	crypto_hash_sha512_final(&st, wide);
	crypto_core_ed25519_scalar_reduce(h, wide);
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(&st, sizeof(st));
}

bool tund_xsign(uint8_t sig[TUND_XSIGN_LEN], const uint8_t *msg, size_t len,
		const uint8_t priv[32])
{
	uint8_t a[32], ar[32], r[32], h[32], s[32];
	uint8_t *A = sig, *R = sig + 32;
	bool ok = false;

	memcpy(a, priv, 32);
	a[0] &= 248;
	a[31] = (uint8_t)((a[31] & 127) | 64);
	if (crypto_scalarmult_ed25519_base_noclamp(A, a) != 0)
		goto out;
	reduce32(ar, a);
	hash_reduce(r, (const uint8_t *)nonce_label, sizeof(nonce_label), a, 32, msg, len);
	if (crypto_scalarmult_ed25519_base_noclamp(R, r) != 0)
		goto out;
	hash_reduce(h, R, 32, A, 32, msg, len);
	crypto_core_ed25519_scalar_mul(s, h, ar);
	crypto_core_ed25519_scalar_add(sig + 64, s, r);
	ok = true;
out:
	sodium_memzero(a, sizeof(a));
	sodium_memzero(ar, sizeof(ar));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(s, sizeof(s));
	return ok;
}

bool tund_xsign_verify(const uint8_t sig[TUND_XSIGN_LEN], const uint8_t *msg, size_t len,
		       const uint8_t pub[32])
{
	uint8_t u[32];

	if (crypto_sign_ed25519_pk_to_curve25519(u, sig) != 0 || sodium_memcmp(u, pub, 32) != 0)
		return false;
	return crypto_sign_ed25519_verify_detached(sig + 32, msg, len, sig) == 0;
}
