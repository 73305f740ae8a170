/* SPDX-License-Identifier: MIT */
/* MAC1, MAC2 and cookie replies (whitepaper 5.3 and 5.4.7).
 *
 * Checker (one per local identity, receive side): every handshake message
 * must carry a valid mac1 = MAC(HASH("mac1----" || our public key), msg up to
 * mac1). When the caller decides it is under load, a message also needs a
 * valid mac2 = MAC(cookie, msg up to mac2), where cookie = MAC(secret, source
 * address bytes) and secret is re-drawn every COOKIE_REFRESH_TIME; without
 * it the caller answers with a cookie reply and drops the message.
 *
 * Maker (one per peer, send side): adds mac1 and, while it holds a fresh
 * cookie from that peer, mac2 to every handshake message it sends, and
 * decrypts cookie replies.
 *
 * Times are the caller's monotonic clock in nanoseconds. The caller
 * serialises calls on one checker or maker. */
#ifndef TUND_OVERLAY_COOKIE_H
#define TUND_OVERLAY_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/messages.h"

struct tund_cookie_checker {
	uint8_t secret[32];
	uint64_t secret_birth_ns;
	bool has_secret;
	uint8_t mac1_key[32];       /* HASH("mac1----" || local public key) */
	uint8_t encryption_key[32]; /* HASH("cookie--" || local public key) */
};

struct tund_cookie_maker {
	uint8_t cookie[TUND_COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool has_cookie;
	uint8_t last_mac1_sent[TUND_MAC_LEN];
	bool has_last_mac1;
	uint8_t mac1_key[32];       /* HASH("mac1----" || peer public key) */
	uint8_t decryption_key[32]; /* HASH("cookie--" || peer public key) */
};

/* What to do with a received handshake message. */
enum tund_cookie_verdict {
	TUND_COOKIE_INVALID_MAC1, /* drop silently */
	TUND_COOKIE_VALID_MAC1,   /* not under load: process it */
	TUND_COOKIE_NEED_COOKIE,  /* under load, no valid mac2: send a cookie reply, drop */
	TUND_COOKIE_VALID_MAC2,   /* under load, mac2 valid: process it */
};

/* Derives the checker's keys from our static public key; no secret yet.
 * Call again when the local identity changes. */
void tund_cookie_checker_init(struct tund_cookie_checker *c, const uint8_t local_public[32]);
/* Wipes the checker. */
void tund_cookie_checker_destroy(struct tund_cookie_checker *c);

/* Checks a received handshake message (type 1 or 2; msg/len is the whole
 * datagram, at least 32 bytes, only read). src/src_len are the bytes that
 * identify the sender's address (e.g. IP then port); the same bytes must be
 * passed to tund_cookie_create_reply(). under_load is the caller's policy. */
enum tund_cookie_verdict tund_cookie_validate_packet(struct tund_cookie_checker *c,
						     const uint8_t *msg, size_t len,
						     const uint8_t *src, size_t src_len,
						     bool under_load, uint64_t now_ns);

/* Builds in *dst (caller-owned) the cookie reply to handshake message msg
 * (type 1 or 2, whole datagram) from address src: receiver index = the
 * message's sender index, random nonce, cookie sealed with XChaCha20-Poly1305
 * under HASH("cookie--" || our public key) with the message's mac1 as AD.
 * Draws a new secret if the current one is older than COOKIE_REFRESH_TIME.
 * False if msg is too short to be a handshake message. */
bool tund_cookie_create_reply(struct tund_cookie_checker *c,
			      struct tund_message_handshake_cookie *dst, const uint8_t *msg,
			      size_t len, const uint8_t *src, size_t src_len, uint64_t now_ns);

/* Derives the maker's keys from the peer's static public key; no cookie. */
void tund_cookie_maker_init(struct tund_cookie_maker *m, const uint8_t remote_public[32]);
/* Wipes the maker. */
void tund_cookie_maker_destroy(struct tund_cookie_maker *m);

/* Fills the mac1 and mac2 fields (the last 32 bytes) of an outgoing
 * handshake message msg/len (caller-owned, at least 32 bytes) and remembers
 * mac1 so a cookie reply to it can be opened. mac2 is zero unless a cookie
 * younger than COOKIE_REFRESH_TIME is held. False if len < 32. */
bool tund_cookie_add_macs(struct tund_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);

/* Opens a cookie reply from the peer (the caller matched its receiver index
 * to a handshake message we sent). On success stores the cookie, so the next
 * handshake messages carry mac2, and forgets the last mac1 (one reply per
 * message). False if no handshake message was sent or it fails to open. */
bool tund_cookie_consume_reply(struct tund_cookie_maker *m,
			       const struct tund_message_handshake_cookie *src, uint64_t now_ns);

#endif
