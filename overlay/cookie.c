// SPDX-License-Identifier: MIT
#include "overlay/cookie.h"

#include <sodium.h>
#include <string.h>

#include "overlay/blake2s.h"

static const char mac1_label[8] = "mac1----";
static const char cookie_label[8] = "cookie--";

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == TUND_COOKIE_NONCE_LEN, "nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32, "key");

/* key = HASH(label || public key) */
static void derive_key(uint8_t key[32], const char label[8], const uint8_t pub[32])
{
	struct tund_blake2s_state s;

	tund_blake2s_init(&s, 32);
	tund_blake2s_update(&s, (const uint8_t *)label, 8);
	tund_blake2s_update(&s, pub, 32);
	tund_blake2s_final(&s, key);
}

static void compute_mac1(uint8_t mac1[TUND_MAC_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[32])
{
	tund_blake2s(mac1, TUND_MAC_LEN, msg, len - TUND_MESSAGE_MAC1_FROM_END, key, 32);
}

static void compute_mac2(uint8_t mac2[TUND_MAC_LEN], const uint8_t *msg, size_t len,
			 const uint8_t cookie[TUND_COOKIE_LEN])
{
	tund_blake2s(mac2, TUND_MAC_LEN, msg, len - TUND_MESSAGE_MAC2_FROM_END, cookie,
		     TUND_COOKIE_LEN);
}

static bool secret_fresh(const struct tund_cookie_checker *c, uint64_t now_ns)
{
	return c->has_secret && now_ns >= c->secret_birth_ns &&
	       now_ns - c->secret_birth_ns < TUND_COOKIE_REFRESH_TIME * TUND_NSEC_PER_SEC;
}

static void make_cookie(uint8_t cookie[TUND_COOKIE_LEN], const struct tund_cookie_checker *c,
			const uint8_t *src, size_t src_len)
{
	tund_blake2s(cookie, TUND_COOKIE_LEN, src, src_len, c->secret, sizeof(c->secret));
}

void tund_cookie_checker_init(struct tund_cookie_checker *c, const uint8_t local_public[32])
{
	sodium_memzero(c, sizeof(*c));
	derive_key(c->mac1_key, mac1_label, local_public);
	derive_key(c->encryption_key, cookie_label, local_public);
}

void tund_cookie_checker_destroy(struct tund_cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

enum tund_cookie_verdict tund_cookie_validate_packet(struct tund_cookie_checker *c,
						     const uint8_t *msg, size_t len,
						     const uint8_t *src, size_t src_len,
						     bool under_load, uint64_t now_ns)
{
	enum tund_cookie_verdict ret = TUND_COOKIE_INVALID_MAC1;
	uint8_t computed[TUND_MAC_LEN];
	uint8_t cookie[TUND_COOKIE_LEN];

	if (!msg || len < TUND_MESSAGE_MAC1_FROM_END)
		return TUND_COOKIE_INVALID_MAC1;
	compute_mac1(computed, msg, len, c->mac1_key);
	if (sodium_memcmp(computed, msg + len - TUND_MESSAGE_MAC1_FROM_END, TUND_MAC_LEN) != 0)
		goto out;
	ret = TUND_COOKIE_VALID_MAC1;
	if (!under_load)
		goto out;
	/* A stale secret means any cookie the peer holds is stale too. */
	ret = TUND_COOKIE_NEED_COOKIE;
	if (!secret_fresh(c, now_ns))
		goto out;
	make_cookie(cookie, c, src, src_len);
	compute_mac2(computed, msg, len, cookie);
	if (sodium_memcmp(computed, msg + len - TUND_MESSAGE_MAC2_FROM_END, TUND_MAC_LEN) != 0)
		goto out;
	ret = TUND_COOKIE_VALID_MAC2;
out:
	sodium_memzero(computed, sizeof(computed));
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

bool tund_cookie_create_reply(struct tund_cookie_checker *c,
			      struct tund_message_handshake_cookie *dst, const uint8_t *msg,
			      size_t len, const uint8_t *src, size_t src_len, uint64_t now_ns)
{
	uint8_t cookie[TUND_COOKIE_LEN];

	/* Sender index sits at offset 4 in both initiation and response. */
	if (!msg || len < 8 + TUND_MESSAGE_MAC1_FROM_END)
		return false;
	if (!secret_fresh(c, now_ns)) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->has_secret = true;
	}
	make_cookie(cookie, c, src, src_len);
	tund_message_type_put(dst->type, TUND_MESSAGE_HANDSHAKE_COOKIE);
	memcpy(dst->receiver_index, msg + 4, 4);
	randombytes_buf(dst->nonce, sizeof(dst->nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst->encrypted_cookie, NULL, cookie,
						   sizeof(cookie),
						   msg + len - TUND_MESSAGE_MAC1_FROM_END,
						   TUND_MAC_LEN, NULL, dst->nonce,
						   c->encryption_key);
	sodium_memzero(cookie, sizeof(cookie));
	return true;
}

void tund_cookie_maker_init(struct tund_cookie_maker *m, const uint8_t remote_public[32])
{
	sodium_memzero(m, sizeof(*m));
	derive_key(m->mac1_key, mac1_label, remote_public);
	derive_key(m->decryption_key, cookie_label, remote_public);
}

void tund_cookie_maker_destroy(struct tund_cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

bool tund_cookie_add_macs(struct tund_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t *mac1, *mac2;

	if (!msg || len < TUND_MESSAGE_MAC1_FROM_END)
		return false;
	mac1 = msg + len - TUND_MESSAGE_MAC1_FROM_END;
	mac2 = msg + len - TUND_MESSAGE_MAC2_FROM_END;
	compute_mac1(mac1, msg, len, m->mac1_key);
	memcpy(m->last_mac1_sent, mac1, TUND_MAC_LEN);
	m->has_last_mac1 = true;

	if (m->has_cookie && now_ns >= m->cookie_birth_ns &&
	    now_ns - m->cookie_birth_ns < TUND_COOKIE_REFRESH_TIME * TUND_NSEC_PER_SEC)
		compute_mac2(mac2, msg, len, m->cookie);
	else
		memset(mac2, 0, TUND_MAC_LEN);
	return true;
}

bool tund_cookie_consume_reply(struct tund_cookie_maker *m,
			       const struct tund_message_handshake_cookie *src, uint64_t now_ns)
{
	uint8_t cookie[TUND_COOKIE_LEN];
	bool ret = false;

	if (!m->has_last_mac1)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, NULL, NULL, src->encrypted_cookie, sizeof(src->encrypted_cookie),
		    m->last_mac1_sent, TUND_MAC_LEN, src->nonce, m->decryption_key) != 0)
		goto out;
	memcpy(m->cookie, cookie, sizeof(cookie));
	m->cookie_birth_ns = now_ns;
	m->has_cookie = true;
	m->has_last_mac1 = false;
	ret = true;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}
