/* SPDX-License-Identifier: MIT */
/* The WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
 * (whitepaper 5.4.2-5.4.5), as wireguard-go and the Linux module speak it.
 *
 * Flow, initiator I and responder R (each with a handshake per peer):
 *   I: create_initiation -> cookie_add_macs -> send
 *   R: cookie_validate_packet -> consume_initiation -> create_response
 *      -> cookie_add_macs -> send -> begin_session (R's keypair)
 *   I: cookie_validate_packet -> consume_response -> begin_session
 * The create_* functions leave mac1/mac2 zero: add them with
 * tund_cookie_add_macs() (overlay/cookie.h), and check them with
 * tund_cookie_validate_packet() before calling consume_*.
 *
 * Pure: no I/O, no clock reads (the caller passes times in). Thread-agnostic:
 * the caller serialises all calls touching one handshake. sodium_init() is the
 * caller's job. */
#ifndef TUND_OVERLAY_NOISE_H
#define TUND_OVERLAY_NOISE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "overlay/messages.h"

struct tund_keypair;

/* Our static key pair; one per device, owned by the caller, outlives every
 * handshake that points at it. */
struct tund_noise_static_identity {
	uint8_t static_private[TUND_NOISE_PRIVATE_KEY_LEN];
	uint8_t static_public[TUND_NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

enum tund_noise_handshake_state {
	TUND_HANDSHAKE_ZEROED,
	TUND_HANDSHAKE_CREATED_INITIATION,
	TUND_HANDSHAKE_CONSUMED_INITIATION,
	TUND_HANDSHAKE_CREATED_RESPONSE,
	TUND_HANDSHAKE_CONSUMED_RESPONSE,
};

/* Per-peer handshake state, owned by the peer. Fields are read-only for the
 * caller except through these functions. */
struct tund_noise_handshake {
	enum tund_noise_handshake_state state;
	const struct tund_noise_static_identity *local; /* not owned */
	uint8_t remote_static[TUND_NOISE_PUBLIC_KEY_LEN];
	/* DH(our static, their static); all zero if the peer key is invalid. */
	uint8_t precomputed_static_static[TUND_NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[TUND_NOISE_SYMMETRIC_KEY_LEN]; /* zero when none */
	/* The key before a network rekey, for a grace period: a response from a
	 * peer that has not switched yet still completes our initiation. */
	uint8_t previous_psk[TUND_NOISE_SYMMETRIC_KEY_LEN];
	bool has_previous_psk;
	uint8_t ephemeral_private[TUND_NOISE_PRIVATE_KEY_LEN];
	uint8_t remote_ephemeral[TUND_NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[TUND_NOISE_HASH_LEN];
	uint8_t chaining_key[TUND_NOISE_HASH_LEN];
	/* Greatest TAI64N timestamp consumed from this peer (anti-replay). */
	uint8_t latest_timestamp[TUND_NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption_ns;
	bool has_consumed_initiation;
	uint32_t local_index;
	uint32_t remote_index;
};

/* Finds the handshake of the peer whose static public key is pubkey, or NULL
 * if it is unknown (or blocked). Called at most once per consume_initiation. */
typedef struct tund_noise_handshake *(*tund_noise_lookup_fn)(void *ctx,
							   const uint8_t pubkey[32]);

/* Sets identity from a private key (clamped copy kept) and derives the public
 * key. False (identity left empty) if the public key would be zero. */
bool tund_noise_static_identity_init(struct tund_noise_static_identity *id,
				     const uint8_t private_key[32]);
/* Wipes the identity. */
void tund_noise_static_identity_clear(struct tund_noise_static_identity *id);

/* Prepares hs for the peer remote_static under our identity local (kept by
 * pointer). psk may be NULL for none (all zero). Precomputes the static-static
 * DH; returns false if that fails (low-order peer key) — hs is still usable
 * for bookkeeping but every handshake with it fails. */
bool tund_noise_handshake_init(struct tund_noise_handshake *hs,
			       const struct tund_noise_static_identity *local,
			       const uint8_t remote_static[32], const uint8_t psk[32]);
/* Replaces the pre-shared key (NULL: none). */
void tund_noise_handshake_set_preshared_key(struct tund_noise_handshake *hs,
					    const uint8_t psk[32]);
/* A network rekey: psk becomes the key, the old one is kept as previous, and
 * consume_response tries it when the new one fails (responses are the only
 * messages the PSK enters). Responses we build use the new key only. */
void tund_noise_handshake_rotate_preshared_key(struct tund_noise_handshake *hs,
					       const uint8_t psk[32]);
/* Ends the grace period: wipes the previous key. */
void tund_noise_handshake_forget_previous_psk(struct tund_noise_handshake *hs);
/* Drops any handshake in progress (wipes ephemeral key, hash, chaining key;
 * state ZEROED). Keeps the peer's key, PSK and replay timestamp. */
void tund_noise_handshake_clear(struct tund_noise_handshake *hs);
/* Wipes everything, including the PSK and the replay timestamp. */
void tund_noise_handshake_destroy(struct tund_noise_handshake *hs);

/* TAI64N of a wall-clock time, nanoseconds rounded down to 2^24 ns as
 * wireguard-go and the kernel do (hides the clock's fine bits). */
void tund_noise_tai64n(uint8_t out[TUND_NOISE_TIMESTAMP_LEN], const struct timespec *wall_now);

/* Random 32-bit sender index from randombytes; the caller still has to make
 * sure it is unused in its index table. */
uint32_t tund_noise_random_index(void);

/* Builds a type-1 message in *dst (caller-owned) with a fresh ephemeral key,
 * sender index local_index (chosen by the caller) and the TAI64N of wall_now
 * (CLOCK_REALTIME). Overwrites any handshake in progress. mac1/mac2 are left
 * zero. On failure hs is cleared. */
bool tund_noise_handshake_create_initiation(struct tund_message_handshake_initiation *dst,
					    struct tund_noise_handshake *hs,
					    uint32_t local_index, const struct timespec *wall_now);

/* Processes a type-1 message (MACs already checked) addressed to identity
 * local: decrypts the initiator's static key, finds its handshake through
 * lookup(ctx, key), decrypts the timestamp and rejects it unless it is newer
 * than the last one consumed from that peer, or if the previous initiation
 * from that peer was consumed less than 1/INITIATIONS_PER_SECOND ago (now_ns:
 * caller's monotonic clock). On success returns the peer's handshake, now in
 * state CONSUMED_INITIATION; otherwise NULL and no handshake changed. */
struct tund_noise_handshake *
tund_noise_handshake_consume_initiation(const struct tund_message_handshake_initiation *src,
					const struct tund_noise_static_identity *local,
					tund_noise_lookup_fn lookup, void *ctx, uint64_t now_ns);

/* Builds a type-2 message in *dst (caller-owned) answering the consumed
 * initiation, with sender index local_index. Requires CONSUMED_INITIATION.
 * mac1/mac2 are left zero. On failure hs is cleared. */
bool tund_noise_handshake_create_response(struct tund_message_handshake_response *dst,
					  struct tund_noise_handshake *hs, uint32_t local_index);

/* Processes a type-2 message (MACs already checked) for hs, which the caller
 * found by the message's receiver index. Requires CREATED_INITIATION and a
 * matching receiver index. On failure hs is unchanged (a forged response
 * does not kill our pending initiation). */
bool tund_noise_handshake_consume_response(const struct tund_message_handshake_response *src,
					   struct tund_noise_handshake *hs);

/* Derives the transport keypair into *kp (caller-owned) once the handshake is
 * done: after consume_response (initiator) or create_response (responder).
 * Then clears the handshake. now_ns is the keypair's creation time. */
bool tund_noise_handshake_begin_session(struct tund_noise_handshake *hs,
					struct tund_keypair *kp, uint64_t now_ns);

#endif
