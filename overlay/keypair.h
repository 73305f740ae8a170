/* SPDX-License-Identifier: MIT */
/* Transport keypairs and type-4 data messages (whitepaper 5.4.6).
 *
 * A keypair comes from tund_noise_handshake_begin_session(). Which keypair is
 * current/previous/next, when the responder may start sending with a fresh
 * keypair (after its first received packet), and when to rekey are the peer
 * and timer modules' business; this module only seals and opens packets and
 * enforces the hard limits (REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME).
 * Functions are thread-agnostic: the caller serialises per keypair. */
#ifndef TUND_OVERLAY_KEYPAIR_H
#define TUND_OVERLAY_KEYPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/messages.h"
#include "overlay/replay.h"

struct tund_keypair {
	uint8_t send_key[TUND_NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[TUND_NOISE_SYMMETRIC_KEY_LEN];
	uint32_t local_index;  /* receiver index peers put in packets to us */
	uint32_t remote_index; /* receiver index we put in packets to them */
	uint64_t created_ns;   /* caller's monotonic clock at creation */
	uint64_t send_counter; /* next nonce to use */
	struct tund_replay replay;
	bool is_initiator;
	bool valid; /* false once destroyed */
};

/* Sets up kp with copies of the keys; counter 0, empty replay window. */
void tund_keypair_init(struct tund_keypair *kp, const uint8_t send_key[32],
		       const uint8_t recv_key[32], uint32_t local_index, uint32_t remote_index,
		       bool is_initiator, uint64_t now_ns);
/* Wipes keys (sodium_memzero) and marks kp invalid. Safe to call twice. */
void tund_keypair_destroy(struct tund_keypair *kp);
/* True if kp is older than REJECT_AFTER_TIME and must not be used at all. */
bool tund_keypair_expired(const struct tund_keypair *kp, uint64_t now_ns);
/* True if the sender should start a new handshake: counter past
 * REKEY_AFTER_MESSAGES, or we initiated kp more than REKEY_AFTER_TIME ago. */
bool tund_keypair_should_rekey(const struct tund_keypair *kp, uint64_t now_ns);

/* Length plain_len is padded to: the next multiple of 16, capped at mtu
 * (mtu 0: no cap), as wireguard-go pads. */
size_t tund_keypair_padded_len(size_t plain_len, size_t mtu);
/* Buffer size needed to encrypt plain_len bytes with tund_keypair_encrypt(). */
size_t tund_keypair_message_len(size_t plain_len, size_t mtu);

/* Seals a packet in place. The caller owns buf (buf_size bytes) and has put
 * the plaintext at buf + TUND_MESSAGE_DATA_HEADER_LEN; buf_size must be at
 * least tund_keypair_message_len(plain_len, mtu). Writes the header, the zero
 * padding, the ciphertext and tag; *msg_len gets the datagram length.
 * False (nothing sent, counter unchanged) if kp is invalid or expired, the
 * counter reached REJECT_AFTER_MESSAGES, or buf is too small. */
bool tund_keypair_encrypt(struct tund_keypair *kp, uint8_t *buf, size_t buf_size,
			  size_t plain_len, size_t mtu, uint64_t now_ns, size_t *msg_len);

/* Opens a received type-4 datagram in place (caller owns buf). Checks the
 * format, that its receiver index is kp->local_index, that kp is valid and
 * not expired, authenticates, and only then applies the replay window. On
 * success the (still padded) plaintext is at buf + TUND_MESSAGE_DATA_HEADER_LEN,
 * *plain_len bytes long (0 for a keepalive) and *counter is its counter. On
 * failure buf's payload is unspecified and must be dropped. */
/* Why a transport message was refused (replay is told apart: it is counted
 * separately and is not an attack on the keys). */
enum tund_keypair_verdict {
	TUND_KEYPAIR_OK,
	TUND_KEYPAIR_INVALID, /* malformed, wrong index, invalid or expired keypair */
	TUND_KEYPAIR_AUTH,    /* failed authentication */
	TUND_KEYPAIR_REPLAY,  /* authentic, but its counter was seen or is too old */
};
enum tund_keypair_verdict tund_keypair_decrypt(struct tund_keypair *kp, uint8_t *buf,
					       size_t len, uint64_t now_ns, size_t *plain_len,
					       uint64_t *counter);

/* The two halves of each, for batches: the half that touches kp (counter,
 * checks) runs under the caller's lock, the AEAD half needs only a copy of
 * the key and may run unlocked.
 * reserve: tund_keypair_encrypt without the encryption; *counter is the nonce.
 * seal: encrypts a reserved message of msg_len bytes in place (overlay/aead.h:
 * false if the backend failed, and the message must be dropped).
 * open_check: format, index, validity, expiry and limit; *counter from the header.
 * open: authenticates and decrypts in place; the caller then applies the
 * replay window (tund_replay_check) before trusting the packet.
 * After a batch of seal or open, the caller calls tund_aead_wipe(). */
bool tund_keypair_reserve(struct tund_keypair *kp, uint8_t *buf, size_t buf_size,
			  size_t plain_len, size_t mtu, uint64_t now_ns, size_t *msg_len,
			  uint64_t *counter);
bool tund_keypair_seal(const uint8_t key[TUND_NOISE_SYMMETRIC_KEY_LEN], uint8_t *buf,
		       size_t msg_len, uint64_t counter);
enum tund_keypair_verdict tund_keypair_open_check(const struct tund_keypair *kp,
						  const uint8_t *buf, size_t len, uint64_t now_ns,
						  uint64_t *counter);
bool tund_keypair_open(const uint8_t key[TUND_NOISE_SYMMETRIC_KEY_LEN], uint8_t *buf, size_t len,
		       uint64_t counter);

#endif
