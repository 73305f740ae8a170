// SPDX-License-Identifier: MIT
/* Noise_IKpsk2 as in the whitepaper, section 5.4; step names follow the
 * Noise spec (mix_hash, mix_key, mix_psk). */
#include "overlay/noise.h"

#include <sodium.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/keypair.h"
#include "overlay/noise_testing.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* hash = HASH(hash || data) */
static void mix_hash(uint8_t hash[32], const uint8_t *data, size_t len)
{
	struct tund_blake2s_state s;

	tund_blake2s_init(&s, 32);
	tund_blake2s_update(&s, hash, 32);
	tund_blake2s_update(&s, data, len);
	tund_blake2s_final(&s, hash);
}

/* ck = HASH(CONSTRUCTION); hash = HASH(HASH(ck || IDENTIFIER) || responder static) */
static void handshake_start(uint8_t ck[32], uint8_t hash[32], const uint8_t responder_static[32])
{
	tund_blake2s(ck, 32, (const uint8_t *)construction, sizeof(construction) - 1, NULL, 0);
	memcpy(hash, ck, 32);
	mix_hash(hash, (const uint8_t *)identifier, sizeof(identifier) - 1);
	mix_hash(hash, responder_static, 32);
}

/* (ck, key) = KDF2(ck, DH(priv, pub)); key may be NULL for KDF1. */
static bool mix_dh(uint8_t ck[32], uint8_t key[32], const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t shared[32];
	bool ok;

	/* libsodium fails on an all-zero result (low-order point). */
	ok = crypto_scalarmult_curve25519(shared, priv, pub) == 0;
	if (ok) {
		if (key)
			tund_blake2s_kdf2(ck, key, ck, shared, sizeof(shared));
		else
			tund_blake2s_kdf1(ck, ck, shared, sizeof(shared));
	}
	sodium_memzero(shared, sizeof(shared));
	return ok;
}

static bool mix_precomputed_dh(uint8_t ck[32], uint8_t key[32], const uint8_t precomputed[32])
{
	static const uint8_t zero[32];

	if (sodium_memcmp(precomputed, zero, 32) == 0)
		return false;
	tund_blake2s_kdf2(ck, key, ck, precomputed, 32);
	return true;
}

/* (ck, tau, key) = KDF3(ck, psk); hash = HASH(hash || tau) */
static void mix_psk(uint8_t ck[32], uint8_t hash[32], uint8_t key[32], const uint8_t psk[32])
{
	uint8_t tau[32];

	tund_blake2s_kdf3(ck, tau, key, ck, psk, 32);
	mix_hash(hash, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

/* ck = KDF1(ck, e); hash = HASH(hash || e); dst = e */
static void message_ephemeral(uint8_t dst[32], const uint8_t e[32], uint8_t ck[32],
			      uint8_t hash[32])
{
	if (dst != e)
		memcpy(dst, e, 32);
	mix_hash(hash, e, 32);
	tund_blake2s_kdf1(ck, ck, e, 32);
}

static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

/* dst = AEAD(key, 0, src, hash); hash = HASH(hash || dst). dst holds len + 16. */
static void message_encrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[32],
			    uint8_t hash[32])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, hash, 32, NULL,
						  zero_nonce, key);
	mix_hash(hash, dst, len + TUND_NOISE_AUTHTAG_LEN);
}

/* dst (len - 16 bytes) = AEAD-open(key, 0, src, hash); hash = HASH(hash || src). */
static bool message_decrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[32],
			    uint8_t hash[32])
{
	if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, hash, 32,
						      zero_nonce, key) != 0)
		return false;
	mix_hash(hash, src, len);
	return true;
}

bool tund_noise_static_identity_init(struct tund_noise_static_identity *id,
				     const uint8_t private_key[32])
{
	sodium_memzero(id, sizeof(*id));
	memcpy(id->static_private, private_key, 32);
	id->static_private[0] &= 248;
	id->static_private[31] = (id->static_private[31] & 127) | 64;
	if (crypto_scalarmult_curve25519_base(id->static_public, id->static_private) != 0) {
		sodium_memzero(id, sizeof(*id));
		return false;
	}
	id->has_identity = true;
	return true;
}

void tund_noise_static_identity_clear(struct tund_noise_static_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

bool tund_noise_handshake_init(struct tund_noise_handshake *hs,
			       const struct tund_noise_static_identity *local,
			       const uint8_t remote_static[32], const uint8_t psk[32])
{
	bool ok = false;

	sodium_memzero(hs, sizeof(*hs));
	hs->local = local;
	memcpy(hs->remote_static, remote_static, 32);
	tund_noise_handshake_set_preshared_key(hs, psk);
	if (local && local->has_identity)
		ok = crypto_scalarmult_curve25519(hs->precomputed_static_static,
						  local->static_private, remote_static) == 0;
	if (!ok)
		sodium_memzero(hs->precomputed_static_static, 32);
	return ok;
}

void tund_noise_handshake_set_preshared_key(struct tund_noise_handshake *hs, const uint8_t psk[32])
{
	if (psk)
		memcpy(hs->preshared_key, psk, 32);
	else
		sodium_memzero(hs->preshared_key, 32);
}

void tund_noise_handshake_rotate_preshared_key(struct tund_noise_handshake *hs,
					       const uint8_t psk[32])
{
	if (!memcmp(hs->preshared_key, psk, 32))
		return;
	memcpy(hs->previous_psk, hs->preshared_key, 32);
	hs->has_previous_psk = true;
	memcpy(hs->preshared_key, psk, 32);
}

void tund_noise_handshake_forget_previous_psk(struct tund_noise_handshake *hs)
{
	sodium_memzero(hs->previous_psk, sizeof(hs->previous_psk));
	hs->has_previous_psk = false;
}

void tund_noise_handshake_clear(struct tund_noise_handshake *hs)
{
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	sodium_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	sodium_memzero(hs->hash, sizeof(hs->hash));
	sodium_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = TUND_HANDSHAKE_ZEROED;
}

void tund_noise_handshake_destroy(struct tund_noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

void tund_noise_tai64n(uint8_t out[TUND_NOISE_TIMESTAMP_LEN], const struct timespec *wall_now)
{
	uint64_t secs = 0x400000000000000aULL + (uint64_t)wall_now->tv_sec;
	uint32_t nsec = (uint32_t)wall_now->tv_nsec & ~(uint32_t)((1U << 24) - 1);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

uint32_t tund_noise_random_index(void)
{
	return randombytes_random();
}

bool tund_noise_handshake_create_initiation_with_ephemeral(
	struct tund_message_handshake_initiation *dst, struct tund_noise_handshake *hs,
	uint32_t local_index, const struct timespec *wall_now,
	const uint8_t ephemeral_private[32])
{
	uint8_t timestamp[TUND_NOISE_TIMESTAMP_LEN];
	uint8_t ephemeral_public[32];
	uint8_t key[32];
	bool ret = false;

	memset(dst, 0, sizeof(*dst));
	if (!hs->local || !hs->local->has_identity)
		goto out;
	memcpy(hs->ephemeral_private, ephemeral_private, 32);
	if (crypto_scalarmult_curve25519_base(ephemeral_public, hs->ephemeral_private) != 0)
		goto out;

	handshake_start(hs->chaining_key, hs->hash, hs->remote_static);
	tund_message_type_put(dst->type, TUND_MESSAGE_HANDSHAKE_INITIATION);
	tund_le32_put(dst->sender_index, local_index);

	/* e */
	message_ephemeral(dst->unencrypted_ephemeral, ephemeral_public, hs->chaining_key,
			  hs->hash);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* s */
	message_encrypt(dst->encrypted_static, hs->local->static_public, 32, key, hs->hash);
	/* ss */
	if (!mix_precomputed_dh(hs->chaining_key, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	tund_noise_tai64n(timestamp, wall_now);
	message_encrypt(dst->encrypted_timestamp, timestamp, sizeof(timestamp), key, hs->hash);

	hs->local_index = local_index;
	hs->remote_index = 0;
	hs->state = TUND_HANDSHAKE_CREATED_INITIATION;
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(timestamp, sizeof(timestamp));
	if (!ret) {
		tund_noise_handshake_clear(hs);
		memset(dst, 0, sizeof(*dst));
	}
	return ret;
}

bool tund_noise_handshake_create_initiation(struct tund_message_handshake_initiation *dst,
					    struct tund_noise_handshake *hs,
					    uint32_t local_index, const struct timespec *wall_now)
{
	uint8_t e[32];
	bool ret;

	randombytes_buf(e, sizeof(e));
	e[0] &= 248;
	e[31] = (e[31] & 127) | 64;
	ret = tund_noise_handshake_create_initiation_with_ephemeral(dst, hs, local_index,
								    wall_now, e);
	sodium_memzero(e, sizeof(e));
	return ret;
}

struct tund_noise_handshake *
tund_noise_handshake_consume_initiation(const struct tund_message_handshake_initiation *src,
					const struct tund_noise_static_identity *local,
					tund_noise_lookup_fn lookup, void *ctx, uint64_t now_ns)
{
	struct tund_noise_handshake *hs = NULL, *ret = NULL;
	uint8_t ck[32], hash[32], key[32];
	uint8_t s[32], e[32];
	uint8_t t[TUND_NOISE_TIMESTAMP_LEN];
	bool replay, flood;

	if (!local || !local->has_identity || !lookup)
		goto out;
	if (tund_le32_get(src->type) != TUND_MESSAGE_HANDSHAKE_INITIATION)
		goto out;
	handshake_start(ck, hash, local->static_public);

	/* e */
	message_ephemeral(e, src->unencrypted_ephemeral, ck, hash);
	/* es */
	if (!mix_dh(ck, key, local->static_private, e))
		goto out;
	/* s */
	if (!message_decrypt(s, src->encrypted_static, sizeof(src->encrypted_static), key, hash))
		goto out;
	hs = lookup(ctx, s);
	if (!hs || sodium_memcmp(hs->remote_static, s, 32) != 0)
		goto out;
	/* ss */
	if (!mix_precomputed_dh(ck, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	if (!message_decrypt(t, src->encrypted_timestamp, sizeof(src->encrypted_timestamp), key,
			     hash))
		goto out;

	replay = memcmp(t, hs->latest_timestamp, TUND_NOISE_TIMESTAMP_LEN) <= 0;
	flood = hs->has_consumed_initiation && now_ns >= hs->last_initiation_consumption_ns &&
		now_ns - hs->last_initiation_consumption_ns <
			TUND_NSEC_PER_SEC / TUND_INITIATIONS_PER_SECOND;
	if (replay || flood)
		goto out;

	/* Success: only now overwrite the peer's state. */
	memcpy(hs->remote_ephemeral, e, 32);
	memcpy(hs->latest_timestamp, t, sizeof(t));
	memcpy(hs->hash, hash, 32);
	memcpy(hs->chaining_key, ck, 32);
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	hs->remote_index = tund_le32_get(src->sender_index);
	hs->local_index = 0;
	hs->last_initiation_consumption_ns = now_ns;
	hs->has_consumed_initiation = true;
	hs->state = TUND_HANDSHAKE_CONSUMED_INITIATION;
	ret = hs;
out:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(e, sizeof(e));
	sodium_memzero(t, sizeof(t));
	return ret;
}

bool tund_noise_handshake_create_response_with_ephemeral(
	struct tund_message_handshake_response *dst, struct tund_noise_handshake *hs,
	uint32_t local_index, const uint8_t ephemeral_private[32])
{
	uint8_t ephemeral_public[32];
	uint8_t key[32];
	bool ret = false;

	memset(dst, 0, sizeof(*dst));
	if (hs->state != TUND_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	memcpy(hs->ephemeral_private, ephemeral_private, 32);
	if (crypto_scalarmult_curve25519_base(ephemeral_public, hs->ephemeral_private) != 0)
		goto out;

	tund_message_type_put(dst->type, TUND_MESSAGE_HANDSHAKE_RESPONSE);
	tund_le32_put(dst->sender_index, local_index);
	tund_le32_put(dst->receiver_index, hs->remote_index);

	/* e */
	message_ephemeral(dst->unencrypted_ephemeral, ephemeral_public, hs->chaining_key,
			  hs->hash);
	/* ee */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, hs->preshared_key);
	/* {} */
	message_encrypt(dst->encrypted_nothing, NULL, 0, key, hs->hash);

	hs->local_index = local_index;
	hs->state = TUND_HANDSHAKE_CREATED_RESPONSE;
	ret = true;
out:
	sodium_memzero(key, sizeof(key));
	if (!ret) {
		tund_noise_handshake_clear(hs);
		memset(dst, 0, sizeof(*dst));
	}
	return ret;
}

bool tund_noise_handshake_create_response(struct tund_message_handshake_response *dst,
					  struct tund_noise_handshake *hs, uint32_t local_index)
{
	uint8_t e[32];
	bool ret;

	randombytes_buf(e, sizeof(e));
	e[0] &= 248;
	e[31] = (e[31] & 127) | 64;
	ret = tund_noise_handshake_create_response_with_ephemeral(dst, hs, local_index, e);
	sodium_memzero(e, sizeof(e));
	return ret;
}

bool tund_noise_handshake_consume_response(const struct tund_message_handshake_response *src,
					   struct tund_noise_handshake *hs)
{
	uint8_t ck[32], hash[32], key[32], ck_before_psk[32], hash_before_psk[32];
	uint8_t e[32];
	bool ret = false;

	if (hs->state != TUND_HANDSHAKE_CREATED_INITIATION || !hs->local ||
	    !hs->local->has_identity)
		goto out;
	if (tund_le32_get(src->type) != TUND_MESSAGE_HANDSHAKE_RESPONSE ||
	    tund_le32_get(src->receiver_index) != hs->local_index)
		goto out;
	/* Work on copies: hs changes only if the response authenticates. */
	memcpy(ck, hs->chaining_key, 32);
	memcpy(hash, hs->hash, 32);

	/* e */
	message_ephemeral(e, src->unencrypted_ephemeral, ck, hash);
	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, e))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, hs->local->static_private, e))
		goto out;
	/* psk; then, in a rekey's grace period, the previous one */
	memcpy(ck_before_psk, ck, 32);
	memcpy(hash_before_psk, hash, 32);
	mix_psk(ck, hash, key, hs->preshared_key);
	/* {} */
	if (!message_decrypt(NULL, src->encrypted_nothing, sizeof(src->encrypted_nothing), key,
			     hash)) {
		if (!hs->has_previous_psk)
			goto out;
		memcpy(ck, ck_before_psk, 32);
		memcpy(hash, hash_before_psk, 32);
		mix_psk(ck, hash, key, hs->previous_psk);
		if (!message_decrypt(NULL, src->encrypted_nothing, sizeof(src->encrypted_nothing),
				     key, hash))
			goto out;
	}

	memcpy(hs->remote_ephemeral, e, 32);
	memcpy(hs->chaining_key, ck, 32);
	memcpy(hs->hash, hash, 32);
	hs->remote_index = tund_le32_get(src->sender_index);
	hs->state = TUND_HANDSHAKE_CONSUMED_RESPONSE;
	ret = true;
out:
	sodium_memzero(ck_before_psk, sizeof(ck_before_psk));
	sodium_memzero(hash_before_psk, sizeof(hash_before_psk));
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(e, sizeof(e));
	return ret;
}

bool tund_noise_handshake_begin_session(struct tund_noise_handshake *hs,
					struct tund_keypair *kp, uint64_t now_ns)
{
	uint8_t first[32], second[32];
	bool initiator;

	if (hs->state == TUND_HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == TUND_HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return false;

	/* (T_i->r, T_r->i) = KDF2(ck, empty) */
	tund_blake2s_kdf2(first, second, hs->chaining_key, NULL, 0);
	if (initiator)
		tund_keypair_init(kp, first, second, hs->local_index, hs->remote_index, true,
				  now_ns);
	else
		tund_keypair_init(kp, second, first, hs->local_index, hs->remote_index, false,
				  now_ns);
	sodium_memzero(first, sizeof(first));
	sodium_memzero(second, sizeof(second));
	tund_noise_handshake_clear(hs);
	return true;
}
