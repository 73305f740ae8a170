/* SPDX-License-Identifier: MIT */
/* Sealed signaling messages, carried over MQTT or pasted by hand. Pure: libc,
 * libsodium and overlay/blake2s only; no I/O, no clock (callers pass times).
 *
 * Wire format (all integers big-endian), TUND_SIGNAL_HEADER_LEN = 116 bytes:
 *   0   magic "TS" (2)
 *   2   version 1 (1)
 *   3   type (1): 1 announce, 2 offer, 3 answer, 4 candidate, 5 restart, 6 bye
 *   4   network id (16): tund_network_id(K), or zero for a manual blob (K = 0)
 *   20  sender public key (32)
 *   52  recipient public key (32): all zero for announce, non-zero otherwise
 *   84  time (8): unix milliseconds
 *   92  nonce (24): random
 *   116 XChaCha20-Poly1305-IETF(key, nonce, AD = bytes 0..115, payload) (+16 tag)
 * Whole message at most TUND_SIGNAL_MAX_LEN bytes.
 *
 * Keys (kdf1 is WireGuard's HKDF over BLAKE2s, labels written with their NUL):
 *   announce: kdf1(K, "tund sig announce v1\0")
 *             any member of the network can seal one; it proves membership,
 *             not which member sent it (the WireGuard handshake does that).
 *   unicast:  kdf1(K, "tund sig unicast v1\0" || X25519(sender priv, recipient pub))
 *             only the two members, inside this network, can seal or open it;
 *             an all-zero shared secret (low-order key) is refused.
 *
 * Payload: fields tag(1) | length(2) | value; unknown tags are skipped.
 *   1 session (4)        2 name (0..64, no control bytes)   3 listen port (2)
 *   4 ufrag (4..256)     5 pwd (22..256)   both printable ASCII without space
 *   6 candidate (..255, printable ASCII, starts "a=candidate:"), up to 16
 *   7 end of candidates (0)
 * Offer, answer and restart must carry ufrag and pwd; single fields at most
 * once. */
#ifndef TUND_OVERLAY_SIGNAL_H
#define TUND_OVERLAY_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tund_signal_type {
	TUND_SIGNAL_ANNOUNCE = 1,
	TUND_SIGNAL_OFFER = 2,
	TUND_SIGNAL_ANSWER = 3,
	TUND_SIGNAL_CANDIDATE = 4,
	TUND_SIGNAL_RESTART = 5, /* "please offer a new session": no credentials */
	TUND_SIGNAL_BYE = 6,
};

enum {
	TUND_SIGNAL_VERSION = 1,
	TUND_SIGNAL_HEADER_LEN = 116,
	TUND_SIGNAL_NONCE_LEN = 24,
	TUND_SIGNAL_TAG_LEN = 16,
	TUND_SIGNAL_MAX_LEN = 8192,
	TUND_SIGNAL_MAX_CANDIDATES = 16,
	TUND_SIGNAL_NAME_MAX = 64,
	TUND_SIGNAL_UFRAG_MIN = 4,
	TUND_SIGNAL_PWD_MIN = 22,
	TUND_SIGNAL_CRED_MAX = 256,
	TUND_SIGNAL_CANDIDATE_MAX = 255,
	/* Replay: messages further than this from now are stale. */
	TUND_SIGNAL_MAX_SKEW_MS = 120000,
	TUND_SIGNAL_REPLAY_SLOTS = 64,
	/* "tund-sig1:" + base64url of TUND_SIGNAL_MAX_LEN bytes + NUL. */
	TUND_SIGNAL_TEXT_MAX = 10 + (TUND_SIGNAL_MAX_LEN * 4 + 2) / 3 + 1,
};

#define TUND_SIGNAL_TEXT_PREFIX "tund-sig1:"

struct tund_signal {
	uint8_t type;             /* enum tund_signal_type */
	uint8_t netid[16];        /* filled by open; seal derives it from the key */
	uint8_t sender[32];       /* must be the public key of the sealing private key */
	uint8_t recipient[32];    /* zero for announce */
	uint64_t time_ms;         /* unix milliseconds, set by the caller */
	uint8_t nonce[TUND_SIGNAL_NONCE_LEN]; /* filled by open (for replay); seal picks one */
	uint32_t session;         /* ICE session id; a restart or new offer bumps it */
	char name[TUND_SIGNAL_NAME_MAX + 1]; /* announce: display name, may be empty */
	uint16_t listen_port;     /* announce */
	char ufrag[TUND_SIGNAL_CRED_MAX + 1], pwd[TUND_SIGNAL_CRED_MAX + 1];
	char candidates[TUND_SIGNAL_MAX_CANDIDATES][TUND_SIGNAL_CANDIDATE_MAX + 1];
	unsigned n_candidates;
	bool end_of_candidates;
};

enum tund_signal_verdict {
	TUND_SIGNAL_OK,
	TUND_SIGNAL_MALFORMED,     /* not a message of ours, or bad contents */
	TUND_SIGNAL_OTHER_NETWORK, /* network id is not ours */
	TUND_SIGNAL_NOT_FOR_ME,    /* unicast to someone else */
	TUND_SIGNAL_FORGED,        /* authentication failed */
};

/* Seals m for the network key netkey (32 zero bytes for manual blobs) with
 * the sender's static private key (unused for announce, may then be NULL).
 * m->sender is written as is (it must be sender_priv's public key, or the
 * recipient sees FORGED); m->netid and m->nonce are ignored. Returns the message length, or 0 if m is invalid or cap too small. */
size_t tund_signal_seal(const struct tund_signal *m, const uint8_t netkey[32],
			const uint8_t sender_priv[32], uint8_t *out, size_t cap);
/* Checks and opens a message. out is fully written only on TUND_SIGNAL_OK.
 * The caller still checks that the sender is a member, and freshness and
 * replay with tund_signal_replay_check. */
enum tund_signal_verdict tund_signal_open(const uint8_t *in, size_t len, const uint8_t netkey[32],
					  const uint8_t my_priv[32], const uint8_t my_pub[32],
					  struct tund_signal *out);
const char *tund_signal_verdict_str(enum tund_signal_verdict v);

/* Per-sender replay state, fixed size; all-zero (or _init) means fresh. It
 * remembers the nonces (their first 8 bytes) of the last 64 accepted messages
 * and, once older ones are forgotten, the newest time among those: anything
 * not newer than that is refused as a replay, so a message is never accepted
 * twice even after 64 others. Messages can be reordered within the 64. */
struct tund_signal_replay {
	uint64_t floor_ms; /* newest time of a forgotten entry */
	uint64_t time[TUND_SIGNAL_REPLAY_SLOTS];
	uint64_t tag[TUND_SIGNAL_REPLAY_SLOTS];
	unsigned next, count;
};

enum tund_signal_replay_verdict {
	TUND_SIGNAL_REPLAY_OK,
	TUND_SIGNAL_REPLAY_STALE,  /* |now - time| > TUND_SIGNAL_MAX_SKEW_MS */
	TUND_SIGNAL_REPLAY_REPLAY, /* seen before */
};

void tund_signal_replay_init(struct tund_signal_replay *r);
/* Call only for messages that tund_signal_open accepted; records them on OK. */
enum tund_signal_replay_verdict tund_signal_replay_check(struct tund_signal_replay *r,
							 uint64_t msg_time_ms,
							 const uint8_t nonce[TUND_SIGNAL_NONCE_LEN],
							 uint64_t now_ms);

/* "tund-sig1:" + base64url (no padding) of a sealed message, with NUL.
 * Returns the text length, or 0 if cap is too small or len is out of range. */
size_t tund_signal_to_text(const uint8_t *bytes, size_t len, char *out, size_t cap);
/* The reverse (surrounding whitespace ignored); returns the byte length or 0. */
size_t tund_signal_from_text(const char *text, uint8_t *out, size_t cap);

#endif
