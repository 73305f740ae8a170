/* SPDX-License-Identifier: MIT */
/* Sealed signaling messages, carried over MQTT or pasted by hand. Pure: libc,
 * libsodium and overlay/{blake2s,xsign} only; no I/O, no clock (callers pass
 * times). Version 2: every message proves which member key sent it, and no
 * public key appears in clear (doc/threat-model.md).
 *
 * Header (all integers big-endian):
 *   0   magic "TS" (2)
 *   2   version 2 (1); a version 1 message is TUND_SIGNAL_OLD_VERSION
 *   3   kind (1): 1 announce, 2 unicast
 *   4   network id (16): tund_network_id(K), or zero for a manual blob (K = 0)
 *   20  nonce (24): random
 *   44  unicast only: ephemeral X25519 public key E (32)
 *
 * Announce (header 44 bytes), key ka = kdf1(K, "tund sig announce v2\0"):
 *   AEAD(ka, nonce, AD = header,
 *        type 1 (1) | sender P (32) | time (8) | signature (96) | payload)
 *   signature = tund_xsign by P's node key over
 *     "tund sig announce signature v2\0" | header | type | P | time | payload
 *   so a network key holder can read announces but can sign only as itself.
 *
 * Unicast (header 76 bytes), for recipient R from sender S (static keys s, r):
 *   k1 = kdf1(K, "tund sig unicast sender v2\0" | DH(e, R) | E | R)
 *   k2 = kdf1(K, "tund sig unicast v2\0" | DH(e, R) | DH(s, R) | E | R)
 *   AEAD(k1, nonce, AD = header, S (32))                      48 bytes
 *   AEAD(k2, nonce, AD = header | those 48, type (1) | time (8) | payload)
 *   Only R opens S; only S (with s) and R can make k2, so an opened message
 *   proves its sender. A box R cannot open is TUND_SIGNAL_NOT_FOR_ME; a sender
 *   box that opens but a message that does not is TUND_SIGNAL_FORGED.
 *   Low-order keys (an all-zero DH) are refused.
 *
 * xchacha20poly1305-ietf throughout; kdf1 is WireGuard's HKDF over BLAKE2s,
 * labels written with their NUL. Whole message at most TUND_SIGNAL_MAX_LEN.
 *
 * Payload: fields tag(1) | length(2) | value; unknown tags are skipped.
 *   1 session (4)        2 name (0..64, no control bytes)   3 listen port (2)
 *   4 ufrag (4..256)     5 pwd (22..256)   both printable ASCII without space
 *   6 candidate (..255, printable ASCII, starts "a=candidate:"), up to 16
 *   7 end of candidates (0)   8 record (TUND_RECORD_LEN, overlay/record.h)
 *   9 invite token (TUND_NET_TOKEN_LEN)   10 reason (1..128, printable ASCII)
 *  11 new network key: epoch (4) | key (32)
 *  12 the record's issuer's own record (TUND_RECORD_LEN): the creator's
 *     admit-as-admin of a second admin, so a record of that admin makes
 *     sense in any order (retained messages arrive in none); nodes that
 *     predate it skip it
 *  13 NAT mapping hint (1), offer and answer only: enum tund_signal_mapping
 *     (doc/paths.md, "TURN only when needed"); nodes that predate it skip
 *     it, and a message without it means "not said" (an older node)
 * Offer and answer must carry ufrag and pwd; a record message carries a
 * record and nothing but records carry one or an issuer's record; a join carries a token and
 * nothing else does; a refusal carries a reason and nothing else does; a
 * rekey carries a new key and nothing else does; single fields at most once.
 * Types 1 (announce) and 7 (record) are sealed as announces, 2-6, 8 (join),
 * 9 (refused) and 10 (rekey) as unicast. */
#ifndef TUND_OVERLAY_SIGNAL_H
#define TUND_OVERLAY_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/record.h"

enum tund_signal_type {
	TUND_SIGNAL_ANNOUNCE = 1,
	TUND_SIGNAL_OFFER = 2,
	TUND_SIGNAL_ANSWER = 3,
	TUND_SIGNAL_CANDIDATE = 4,
	/* "please offer a new session": no credentials. Its session field names
	 * the one the sender is negotiating (0: none); the controlling side
	 * keeps that one instead (tund/connect/path.c). */
	TUND_SIGNAL_RESTART = 5,
	TUND_SIGNAL_BYE = 6,
	/* Broadcast like an announce (retained, one topic per subject): carries
	 * one membership record (overlay/record.h). No replay window: records
	 * are idempotent and ordered by their own signed time. */
	TUND_SIGNAL_RECORD = 7,
	/* To a network's admin: "admit me", with a limited invite's token. */
	TUND_SIGNAL_JOIN = 8,
	/* From the admin: the join was refused, and why (a line for a person). */
	TUND_SIGNAL_REFUSED = 9,
	/* From the admin after a block: the network's next key, sealed to one
	 * remaining member (the blocked key gets none). */
	TUND_SIGNAL_REKEY = 10,
};

enum {
	TUND_SIGNAL_VERSION = 2,
	TUND_SIGNAL_ANNOUNCE_HEADER_LEN = 44,
	TUND_SIGNAL_UNICAST_HEADER_LEN = 76,
	TUND_SIGNAL_NONCE_LEN = 24,
	TUND_SIGNAL_TAG_LEN = 16,
	TUND_SIGNAL_MAX_LEN = 8192,
	TUND_SIGNAL_MAX_CANDIDATES = 16,
	TUND_SIGNAL_NAME_MAX = 64,
	TUND_SIGNAL_UFRAG_MIN = 4,
	TUND_SIGNAL_PWD_MIN = 22,
	TUND_SIGNAL_CRED_MAX = 256,
	TUND_SIGNAL_CANDIDATE_MAX = 255,
	TUND_SIGNAL_TOKEN_LEN = 16, /* TUND_NET_TOKEN_LEN */
	TUND_SIGNAL_REASON_MAX = 128,
	/* Replay: messages further than this from now are stale. */
	TUND_SIGNAL_MAX_SKEW_MS = 120000,
	/* A retained announce (the broker keeps the newest one) may be this old;
	 * members republish theirs every TUND_SIGNAL_REANNOUNCE_MS. */
	TUND_SIGNAL_RETAINED_MAX_AGE_MS = 20 * 60 * 1000,
	TUND_SIGNAL_REANNOUNCE_MS = 10 * 60 * 1000,
	TUND_SIGNAL_REPLAY_SLOTS = 64,
	/* "tund-sig2:" + base64url of TUND_SIGNAL_MAX_LEN bytes + NUL. */
	TUND_SIGNAL_TEXT_MAX = 10 + (TUND_SIGNAL_MAX_LEN * 4 + 2) / 3 + 1,
};

#define TUND_SIGNAL_TEXT_PREFIX "tund-sig2:"
#define TUND_SIGNAL_TEXT_PREFIX_V1 "tund-sig1:"

/* What the sender knows of its own NAT's mapping, for the pair's choice of
 * gathering TURN relay candidates (tund/connect/turn_policy.h). Values a
 * newer node may add are taken as unknown. */
enum tund_signal_mapping {
	TUND_SIGNAL_MAPPING_UNSAID = 0,    /* no field: an older node */
	TUND_SIGNAL_MAPPING_NONE = 1,      /* no NAT: STUN saw a local address */
	TUND_SIGNAL_MAPPING_EIM = 2,       /* endpoint-independent */
	TUND_SIGNAL_MAPPING_DEPENDENT = 3, /* endpoint-dependent (symmetric) */
	TUND_SIGNAL_MAPPING_UNKNOWN = 4,
	TUND_SIGNAL_MAPPING_FAILED = 5,    /* a session without TURN failed: gather it */
};

struct tund_signal {
	uint8_t type;             /* enum tund_signal_type */
	uint8_t netid[16];        /* filled by open; seal derives it from the key */
	uint8_t sender[32];       /* must be the public key of the sealing private key */
	uint8_t recipient[32];    /* zero for announce; open writes my_pub for unicast */
	uint64_t time_ms;         /* unix milliseconds, set by the caller */
	uint8_t nonce[TUND_SIGNAL_NONCE_LEN]; /* filled by open (for replay); seal picks one */
	uint32_t session;         /* ICE session id; a restart or new offer bumps it */
	char name[TUND_SIGNAL_NAME_MAX + 1]; /* announce: display name, may be empty */
	uint16_t listen_port;     /* announce */
	char ufrag[TUND_SIGNAL_CRED_MAX + 1], pwd[TUND_SIGNAL_CRED_MAX + 1];
	char candidates[TUND_SIGNAL_MAX_CANDIDATES][TUND_SIGNAL_CANDIDATE_MAX + 1];
	unsigned n_candidates;
	bool end_of_candidates;
	uint8_t record[TUND_RECORD_LEN]; /* record messages only: still to be checked */
	bool has_record;
	/* Record messages only, optional: the issuer's admit-as-admin record. */
	uint8_t issuer_record[TUND_RECORD_LEN];
	bool has_issuer_record;
	uint8_t token[TUND_SIGNAL_TOKEN_LEN]; /* join only: a secret, wipe it */
	bool has_token;
	char reason[TUND_SIGNAL_REASON_MAX + 1]; /* refused only */
	uint8_t new_key[32]; /* rekey only: a secret, wipe it */
	uint32_t new_epoch;  /* rekey only: at least 1 */
	bool has_new_key;
	uint8_t mapping; /* offer and answer: enum tund_signal_mapping, 0 not said */
};

enum tund_signal_verdict {
	TUND_SIGNAL_OK,
	TUND_SIGNAL_MALFORMED,     /* not a message of ours, or bad contents */
	TUND_SIGNAL_OTHER_NETWORK, /* network id is not ours */
	TUND_SIGNAL_NOT_FOR_ME,    /* unicast to someone else */
	TUND_SIGNAL_FORGED,        /* authentication failed */
	TUND_SIGNAL_OLD_VERSION,   /* a version 1 message (an old node) */
};

/* Seals m for the network key netkey (32 zero bytes for manual blobs) with
 * the sender's static private key (it signs announces and keys unicast).
 * m->sender is written as is (it must be sender_priv's public key, or the
 * recipient sees FORGED); m->netid and m->nonce are ignored. Returns the
 * message length, or 0 if m is invalid, a key is unusable or cap too small. */
size_t tund_signal_seal(const struct tund_signal *m, const uint8_t netkey[32],
			const uint8_t sender_priv[32], uint8_t *out, size_t cap);
/* Checks and opens a message: on TUND_SIGNAL_OK the sender has proven its
 * key (signature or DH). out is zeroed on any other verdict. The caller still
 * checks that the sender is a member, then freshness and replay with
 * tund_signal_replay_check (one window per sender and kind). */
enum tund_signal_verdict tund_signal_open(const uint8_t *in, size_t len, const uint8_t netkey[32],
					  const uint8_t my_priv[32], const uint8_t my_pub[32],
					  struct tund_signal *out);
/* What a message costs before any public-key operation: the header, the
 * network id and, for an announce-kind message (announces and records), its
 * AEAD under the network key. TUND_SIGNAL_OK means only "worth opening": an
 * announce made with K, or a unicast (whose sealing only DH can check).
 * Lets the caller refuse junk from those without K for a MAC's cost, ahead
 * of the budget for signature and DH checks (overlay/sigbound.h). */
enum tund_signal_verdict tund_signal_precheck(const uint8_t *in, size_t len,
					      const uint8_t netkey[32]);
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

/* "tund-sig2:" + base64url (no padding) of a sealed message, with NUL.
 * Returns the text length, or 0 if cap is too small or len is out of range. */
size_t tund_signal_to_text(const uint8_t *bytes, size_t len, char *out, size_t cap);
/* The reverse (surrounding whitespace ignored); returns the byte length or 0. */
size_t tund_signal_from_text(const char *text, uint8_t *out, size_t cap);

#endif
