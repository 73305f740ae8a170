/* SPDX-License-Identifier: MIT */
/* WireGuard wire formats (whitepaper section 5.4) and the protocol constants
 * of section 6.1, all in one place. Wire structs contain only byte arrays, so
 * they have alignment 1 and may overlay any received buffer; integer fields
 * are little-endian and read with tund_le32_get()/tund_le64_get(). */
#ifndef TUND_OVERLAY_MESSAGES_H
#define TUND_OVERLAY_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Noise and WireGuard sizes. */
enum {
	TUND_NOISE_PUBLIC_KEY_LEN = 32,
	TUND_NOISE_PRIVATE_KEY_LEN = 32,
	TUND_NOISE_SYMMETRIC_KEY_LEN = 32,
	TUND_NOISE_HASH_LEN = 32,
	TUND_NOISE_AUTHTAG_LEN = 16,
	TUND_NOISE_TIMESTAMP_LEN = 12,
	TUND_COOKIE_LEN = 16,
	TUND_COOKIE_NONCE_LEN = 24,
	TUND_MAC_LEN = 16,
};

/* Protocol timing (whitepaper 6.1), in seconds. */
enum {
	TUND_REKEY_AFTER_TIME = 120,
	TUND_REJECT_AFTER_TIME = 180,
	TUND_REKEY_ATTEMPT_TIME = 90,
	TUND_REKEY_TIMEOUT = 5,
	TUND_KEEPALIVE_TIMEOUT = 10,
	TUND_COOKIE_REFRESH_TIME = 120,
	TUND_MAX_TIMER_HANDSHAKES = TUND_REKEY_ATTEMPT_TIME / TUND_REKEY_TIMEOUT,
	TUND_REKEY_TIMEOUT_JITTER_MAX_MS = 334,
	/* At most this many initiations per second are consumed from one peer. */
	TUND_INITIATIONS_PER_SECOND = 50,
};

#define TUND_NSEC_PER_SEC 1000000000ULL
/* Counter limits: 2^60 and 2^64 - 2^13 - 1. */
#define TUND_REKEY_AFTER_MESSAGES (1ULL << 60)
#define TUND_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))

/* Message types: the first byte, followed by three reserved zero bytes. */
enum tund_message_type {
	TUND_MESSAGE_INVALID = 0,
	TUND_MESSAGE_HANDSHAKE_INITIATION = 1,
	TUND_MESSAGE_HANDSHAKE_RESPONSE = 2,
	TUND_MESSAGE_HANDSHAKE_COOKIE = 3,
	TUND_MESSAGE_DATA = 4,
};

struct tund_message_macs {
	uint8_t mac1[TUND_MAC_LEN];
	uint8_t mac2[TUND_MAC_LEN];
};

struct tund_message_handshake_initiation {
	uint8_t type[4];
	uint8_t sender_index[4];
	uint8_t unencrypted_ephemeral[TUND_NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[TUND_NOISE_PUBLIC_KEY_LEN + TUND_NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[TUND_NOISE_TIMESTAMP_LEN + TUND_NOISE_AUTHTAG_LEN];
	struct tund_message_macs macs;
};

struct tund_message_handshake_response {
	uint8_t type[4];
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t unencrypted_ephemeral[TUND_NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[TUND_NOISE_AUTHTAG_LEN];
	struct tund_message_macs macs;
};

struct tund_message_handshake_cookie {
	uint8_t type[4];
	uint8_t receiver_index[4];
	uint8_t nonce[TUND_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[TUND_COOKIE_LEN + TUND_NOISE_AUTHTAG_LEN];
};

/* Transport header; the ciphertext (padded plaintext + tag) follows. */
struct tund_message_data {
	uint8_t type[4];
	uint8_t receiver_index[4];
	uint8_t counter[8];
};

enum {
	TUND_MESSAGE_INITIATION_LEN = 148,
	TUND_MESSAGE_RESPONSE_LEN = 92,
	TUND_MESSAGE_COOKIE_LEN = 64,
	TUND_MESSAGE_DATA_HEADER_LEN = 16,
	TUND_MESSAGE_DATA_MIN_LEN = TUND_MESSAGE_DATA_HEADER_LEN + TUND_NOISE_AUTHTAG_LEN,
	/* Largest UDP payload; wireguard-go's MaxMessageSize. */
	TUND_MESSAGE_MAX_LEN = 65535,
	TUND_MESSAGE_PADDING_MULTIPLE = 16,
	/* Offsets of mac1 and mac2 from the end of a handshake message. */
	TUND_MESSAGE_MAC1_FROM_END = 2 * TUND_MAC_LEN,
	TUND_MESSAGE_MAC2_FROM_END = TUND_MAC_LEN,
};

_Static_assert(sizeof(struct tund_message_handshake_initiation) == TUND_MESSAGE_INITIATION_LEN,
	       "initiation is 148 bytes");
_Static_assert(sizeof(struct tund_message_handshake_response) == TUND_MESSAGE_RESPONSE_LEN,
	       "response is 92 bytes");
_Static_assert(sizeof(struct tund_message_handshake_cookie) == TUND_MESSAGE_COOKIE_LEN,
	       "cookie reply is 64 bytes");
_Static_assert(sizeof(struct tund_message_data) == TUND_MESSAGE_DATA_HEADER_LEN,
	       "transport header is 16 bytes");
_Static_assert(_Alignof(struct tund_message_handshake_initiation) == 1, "byte-aligned");
_Static_assert(_Alignof(struct tund_message_data) == 1, "byte-aligned");

static inline uint32_t tund_le32_get(const uint8_t p[4])
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void tund_le32_put(uint8_t p[4], uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t tund_le64_get(const uint8_t p[8])
{
	return (uint64_t)tund_le32_get(p) | (uint64_t)tund_le32_get(p + 4) << 32;
}

static inline void tund_le64_put(uint8_t p[8], uint64_t v)
{
	tund_le32_put(p, (uint32_t)v);
	tund_le32_put(p + 4, (uint32_t)(v >> 32));
}

/* Writes type t and the three reserved zero bytes. */
static inline void tund_message_type_put(uint8_t p[4], enum tund_message_type t)
{
	tund_le32_put(p, (uint32_t)t);
}

/* Classifies a received datagram: the type if the first four bytes are a known
 * type with zero reserved bytes and len is valid for it (exact for handshake
 * messages, TUND_MESSAGE_DATA_MIN_LEN..TUND_MESSAGE_MAX_LEN for data), else
 * TUND_MESSAGE_INVALID. buf is only read. */
enum tund_message_type tund_message_classify(const uint8_t *buf, size_t len);

/* Decoders: true if buf/len is a well-formed message of that type; then
 * *out points into buf (no copy, caller still owns buf). Cryptographic checks
 * (MACs, AEAD) are separate. */
bool tund_message_initiation_decode(const uint8_t *buf, size_t len,
				    const struct tund_message_handshake_initiation **out);
bool tund_message_response_decode(const uint8_t *buf, size_t len,
				  const struct tund_message_handshake_response **out);
bool tund_message_cookie_decode(const uint8_t *buf, size_t len,
				const struct tund_message_handshake_cookie **out);
/* Data: also returns the receiver index and counter in host order. */
bool tund_message_data_decode(const uint8_t *buf, size_t len,
			      const struct tund_message_data **out,
			      uint32_t *receiver_index, uint64_t *counter);

#endif
