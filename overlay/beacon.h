/* SPDX-License-Identifier: MIT */
/* LAN beacons (DESIGN "Protocol decisions" 4): a node announces its static
 * public key and listen port to its link so members of the same network find
 * each other with no broker, STUN or internet. Pure: libc, libsodium and
 * overlay/blake2s only; no I/O, no clock (callers pass now).
 *
 * Wire format, version 2 (TUND_BEACON_LEN = 181 bytes, integers big-endian):
 *   0  magic   "TB" (2)
 *   2  version 2 (1)
 *   3  network tag (16) = tund_network_id(K)
 *  19  sender static public key (32)
 *  51  listen port (2), never 0
 *  53  unix time in ms (8)
 *  61  random nonce (8), fresh for every datagram
 *  69  signature (96) = tund_xsign by the sender's node key over
 *                       "tund beacon v2 sig\0" || bytes 0..68
 * 165  MAC (16) = BLAKE2s-128 keyed with kdf1(K, "tund beacon v2\0") over
 *                 bytes 0..164
 * A datagram of any other length is malformed (no extensions in version 2).
 * The MAC is the cheap first check (only holders of K pass it); the
 * signature then proves which member sent the beacon, so a K holder cannot
 * speak for another member's key. Version 1 (85 bytes, MAC only, no
 * signature) is refused as TUND_BEACON_OLD_VERSION; a version 1 node finds a
 * version 2 beacon malformed (its length and version byte are wrong).
 * The tag is public (it is the network id), so a receiver can tell "another
 * network" apart from "forged" without trying keys; only key holders can
 * produce a MAC. Beacons are not encrypted: anyone on the link sees that a
 * key is in some network, which the listen port reveals anyway.
 *
 * Transport (tund/connect/beacon.c): UDP port 51821, IPv4 multicast 239.255.77.77
 * (TTL 1) and limited broadcast 255.255.255.255 per interface, IPv6 link-local
 * multicast ff02::7475:6e64 ("tund"), on every up, non-loopback, non-tund
 * interface. */
#ifndef TUND_OVERLAY_BEACON_H
#define TUND_OVERLAY_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TUND_BEACON_VERSION = 2,
	TUND_BEACON_LEN = 181,
	TUND_BEACON_SIG_OFFSET = 69,
	TUND_BEACON_MAC_OFFSET = 165,
	TUND_BEACON_PUBKEY_OFFSET = 19,
	TUND_BEACON_NONCE_LEN = 8,
	TUND_BEACON_PORT = 51821,
	/* Beacons further than this from now are stale. */
	TUND_BEACON_MAX_SKEW_MS = 60000,
	/* Per-sender nonces remembered; a sender sends about 3 datagrams per
	 * interface every 5 s, so this covers more than the skew window. */
	TUND_BEACON_REPLAY_SLOTS = 32,
};

#define TUND_BEACON_GROUP4 "239.255.77.77"
#define TUND_BEACON_GROUP6 "ff02::7475:6e64"

/* A decoded beacon (the name tund_beacon is tund/connect/beacon.c's handle). */
struct tund_beacon_msg {
	uint8_t netid[16];   /* filled by decode; encode derives it from the key */
	uint8_t pubkey[32];  /* sender's static public key */
	uint16_t listen_port;
	uint64_t time_ms;    /* unix ms, set by the caller */
	uint8_t nonce[TUND_BEACON_NONCE_LEN]; /* set by the caller (random) */
};

enum tund_beacon_verdict {
	TUND_BEACON_OK,
	TUND_BEACON_MALFORMED,     /* wrong length, magic, version or port 0 */
	TUND_BEACON_OTHER_NETWORK, /* network tag is not ours */
	TUND_BEACON_FORGED,        /* MAC or the sender's signature does not verify */
	TUND_BEACON_OLD_VERSION,   /* "TB" version 1: a node that needs upgrading */
};

/* Writes the beacon signed with priv, the X25519 private key of b->pubkey;
 * returns TUND_BEACON_LEN, or 0 if cap is too small, the listen port is 0 or
 * priv is unusable. */
size_t tund_beacon_encode(const struct tund_beacon_msg *b, const uint8_t netkey[32],
			  const uint8_t priv[32], uint8_t *out, size_t cap);
/* Checks a datagram: layout, network tag, MAC, then the signature by the key
 * it names; out is written only on TUND_BEACON_OK. The caller then checks
 * freshness and replay with tund_beacon_replay_check, so nothing about a
 * sender is touched before the sender is proven. */
enum tund_beacon_verdict tund_beacon_decode(const uint8_t *in, size_t len, const uint8_t netkey[32],
					    struct tund_beacon_msg *out);
const char *tund_beacon_verdict_str(enum tund_beacon_verdict v);

/* Per-sender replay state, fixed size; all-zero (or _init) means fresh. Like
 * tund_signal_replay: the last TUND_BEACON_REPLAY_SLOTS nonces, and once older
 * ones are forgotten, the newest time among them as a floor that later beacons
 * must beat, so a beacon is never accepted twice. */
struct tund_beacon_replay {
	uint64_t floor_ms;
	uint64_t time[TUND_BEACON_REPLAY_SLOTS];
	uint64_t nonce[TUND_BEACON_REPLAY_SLOTS];
	unsigned next, count;
};

enum tund_beacon_replay_verdict {
	TUND_BEACON_REPLAY_OK,
	TUND_BEACON_REPLAY_STALE,  /* |now - time| > TUND_BEACON_MAX_SKEW_MS */
	TUND_BEACON_REPLAY_REPLAY, /* seen before */
};

/* A receiver's replay state for the senders it has heard. A slot goes to a
 * new sender only once its holder has been quiet for
 * TUND_BEACON_SLOT_IDLE_MS: by then every beacon the holder sent is stale
 * (older than the skew, however fast its clock ran), so fresh keys flooding
 * the table cannot evict a member's state and have its recent beacons
 * accepted again. While every slot is recent, a new sender gets none. */
enum { TUND_BEACON_SLOT_IDLE_MS = 2 * TUND_BEACON_MAX_SKEW_MS + 5000 };

struct tund_beacon_sender {
	uint8_t pubkey[32];
	uint64_t used_ms;
	bool used;
	struct tund_beacon_replay replay;
};

/* The replay state of pubkey in the n slots of t, taking a free or quiet
 * slot for a new sender; NULL when there is none. */
struct tund_beacon_replay *tund_beacon_sender_replay(struct tund_beacon_sender *t, size_t n,
						     const uint8_t pubkey[32], uint64_t now_ms);

void tund_beacon_replay_init(struct tund_beacon_replay *r);
/* Call only for beacons that decode accepted; records them on OK. */
enum tund_beacon_replay_verdict tund_beacon_replay_check(struct tund_beacon_replay *r,
							 const struct tund_beacon_msg *b,
							 uint64_t now_ms);

#endif
