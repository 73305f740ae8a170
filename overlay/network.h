/* SPDX-License-Identifier: MIT */
/* Networks (a secret key, a name, an overlay prefix, rendezvous servers) and
 * their invites, plus everything derived from the network key: the public
 * network id, the WireGuard pre-shared key, MQTT topics and member addresses.
 * Pure: libc, libsodium and overlay/blake2s only; no I/O.
 *
 * Keys. K is the network key of the current epoch: it seals signaling and
 * beacons and gives the pre-shared key and the topics, and an admin's rekey
 * (a block) replaces it. The root key R is K of epoch 0, kept for good: the
 * things a member keeps across rekeys (its addresses, the id its membership
 * records are signed for) come from R, which is not a secret worth having
 * (a blocked member holds it and gains nothing by it).
 *
 * Derivations. K is the 32-byte network key, P a member's public key, and
 * H(n; data) the n-byte BLAKE2s of data keyed with K (a PRF, so nothing of K
 * leaks). Every label is ASCII, written with its NUL as a separator:
 *   network id (16)       = H(16; "tund net id v1\0")   (records: keyed with R)
 *   psk (32)              = kdf1(K, "tund net psk v1\0")  (WireGuard HKDF)
 *   prefix6               = fd || H(7; "tund net prefix6 v1\0") :: /64   (R)
 *   inbox tag (16)        = H(16; "tund net inbox v1\0" || P)
 *   announce tag (16)     = H(16; "tund net announce v1\0" || P)
 *   v4 host(P, attempt)   = 1 + u64be(H(8; "tund net addr4 v1\0" || P || u32be(attempt)))
 *                           mod (2^(32-len) - 2)                            (R)
 *   v6 interface id (8)   = H(8; "tund net addr6 v1\0" || P)   (no attempts: 64 bits; R)
 *   member order key (16) = H(16; "tund net order v1\0" || P)              (R)
 * Topics: "tund/<hex id>" is the network's prefix, "tund/<hex id>/<hex inbox
 * tag>" a member's inbox, "tund/<hex id>/a/<hex announce tag>" its retained
 * announce (subscribe to "tund/<hex id>/a/+"). Without K the broker can map
 * neither tag back to a public key.
 *
 * Invite: "tund1:" + base64url (no padding) of: version byte (1), then fields
 * tag(1) | length(2, big-endian) | value. Tags:
 *   1 name (1..64 of [A-Za-z0-9._-])      required, once
 *   2 key (32)                            required, once
 *   3 prefix4: addr(4) | len(1), /8../30, host bits zero; required, once
 *   4 broker URL text (see tund_parse_broker_url); at most once
 *   5 STUN: port(2) | host                at most TUND_NET_MAX_STUN
 *   6 TURN: port(2) | flags(1, bit0 = tcp) | hostlen(1) host | userlen(1) user
 *           | passlen(1) pass             at most TUND_NET_MAX_TURN
 *   7 admission (1): 0 open, 1 approve    at most once (absent: open)
 *   8 no broadcast (0)                    at most once
 *   9 admin key (32)                      at most once (approve with a broker)
 *  10 invite token (16)                   with 11: a limited invite (below)
 *  11 invite expiry (8): unix ms          with 10
 *  12 root key (32)                       with 13, after a rekey
 *  13 epoch (4, big-endian, >= 1)         with 12
 * and last 4 check bytes: BLAKE2s-32 (unkeyed, outlen 4) of everything before
 * them, so a cut or mistyped invite is refused rather than read as a smaller
 * valid one (a cut could otherwise drop the admission field or servers).
 * Unknown tags are skipped (forward compatible); every length is checked.
 * A limited invite (`network invite NAME --expires/--uses` on a network's
 * admin) carries a random token, a secret the admin keeps only hashed
 * (tund/connect/invites.h); the joiner sends it to the admin, which admits
 * it while the invite has uses left and has not expired or been revoked. */
#ifndef TUND_OVERLAY_NETWORK_H
#define TUND_OVERLAY_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/cidr.h"
#include "overlay/servers.h"

enum tund_admission { TUND_ADMISSION_OPEN, TUND_ADMISSION_APPROVE };

enum {
	TUND_NET_MAX_TURN = 4,
	TUND_NET_MAX_STUN = 2,
	TUND_NET_NAME_MAX = 64,
	TUND_NET_ID_LEN = 16,
	TUND_NET_KEY_LEN = 32,
	TUND_NET_TAG_LEN = 16,
	TUND_NET_TOKEN_LEN = 16,
	TUND_INVITE_VERSION = 1,
	/* Longest invite text including the NUL: fits every field at its maximum. */
	TUND_INVITE_MAX_TEXT = 4608,
	/* "tund/" + 32 hex + "/a/" + 32 hex + NUL, rounded up. */
	TUND_NET_TOPIC_MAX = 80,
	/* Tries of hashed addresses before tund_network_assign scans linearly. */
	TUND_NET_ASSIGN_HASH_TRIES = 64,
};

#define TUND_NET_DEFAULT_PREFIX4 "10.77.0.0/16"
#define TUND_INVITE_PREFIX "tund1:"

struct tund_network {
	char name[TUND_NET_NAME_MAX + 1]; /* 1-64 of [A-Za-z0-9._-] */
	uint8_t key[TUND_NET_KEY_LEN];   /* the network secret of this epoch */
	uint8_t root[TUND_NET_KEY_LEN];  /* key of epoch 0: addresses, record id */
	uint32_t epoch;                  /* 0 until the first rekey */
	struct tund_cidr prefix4;        /* AF_INET, /8../30, host bits zero */
	struct tund_cidr prefix6;        /* derived from key: fdXX:XXXX:XXXX:XXXX::/64 */
	char broker[256];                /* "mqtt://HOST:PORT" or "" (LAN only) */
	struct tund_stun_server stun[TUND_NET_MAX_STUN];
	unsigned n_stun;
	struct tund_turn_server turn[TUND_NET_MAX_TURN];
	unsigned n_turn;
	enum tund_admission admission;
	bool no_broadcast; /* members do not fan LAN-game broadcasts out to each other */
	/* Approve admission: the creator's public key. Only its signed records
	 * (overlay/record.h) admit and block members, on every member. */
	uint8_t admin[32];
	bool has_admin;
	/* A limited invite: its token (a secret: it admits whoever shows it
	 * first) and expiry. Plain invites have none. */
	uint8_t invite_token[TUND_NET_TOKEN_LEN];
	bool has_token;
	uint64_t invite_expires_ms;
};

/* Errors are reported as a static string in *why (why may be NULL). */

/* True if name is 1-64 characters of [A-Za-z0-9._-]. */
bool tund_network_name_valid(const char *name);
/* A new network: random key, prefix TUND_NET_DEFAULT_PREFIX4 (the daemon's
 * create picks another, tund_network_pick_prefix4), no servers, open
 * admission. */
bool tund_network_init_new(struct tund_network *net, const char *name, const char **why);
/* True when a and b (same family) share an address. */
bool tund_network_prefix_overlap(const struct tund_cidr *a, const struct tund_cidr *b);
/* A new network's default prefix: 10.X.0.0/16 with X in 64..250 less the
 * ranges other software takes (10.96-10.111, Kubernetes services; 10.100,
 * 10.200, 10.244, flannel), starting at seed % candidates and going up to the
 * first that overlaps none of taken (joined networks, the host's routes).
 * False when all are taken. */
bool tund_network_pick_prefix4(uint32_t seed, const struct tund_cidr *taken, size_t n_taken,
			       struct tund_cidr *out);
/* Replaces prefix4 with cidr ("10.9.0.0/16"; host bits are cleared; /8../30). */
bool tund_network_set_prefix4(struct tund_network *net, const char *cidr, const char **why);
/* Recomputes prefix6 from the root key (done by init_new and invite_decode). */
void tund_network_derive_prefix6(struct tund_network *net);
/* Wipes the key and everything else. */
void tund_network_clear(struct tund_network *net);

/* Writes the invite text with its NUL; returns its length (without NUL), or 0
 * if cap is too small or net is invalid. TUND_INVITE_MAX_TEXT always fits. */
size_t tund_invite_encode(const struct tund_network *net, char *out, size_t cap);
/* Parses an invite (surrounding whitespace ignored). net is written only on
 * success. */
bool tund_invite_decode(const char *text, struct tund_network *net, const char **why);

void tund_network_id(const uint8_t key[TUND_NET_KEY_LEN], uint8_t out[TUND_NET_ID_LEN]);
void tund_network_psk(const uint8_t key[TUND_NET_KEY_LEN], uint8_t out[32]);
/* The id membership records are signed for: the root key's network id, the
 * same in every epoch. */
void tund_network_record_id(const struct tund_network *net, uint8_t out[TUND_NET_ID_LEN]);
/* The network key of an epoch, as the creator makes it: epoch 0's is the
 * root; later ones are H(32; "tund net epoch key v1\0" || record id ||
 * u32be(epoch)) keyed with the creator's private key, so only the creator
 * can make them and it can make any old one again without keeping it (to
 * answer a member still on an old epoch, tund/connect/old_epochs.h). */
void tund_network_epoch_key(const struct tund_network *net, const uint8_t creator_priv[32],
			    uint32_t epoch, uint8_t out[TUND_NET_KEY_LEN]);
/* Moves net to epoch with key (an admin's rekey); false (net unchanged) when
 * epoch is not newer or key is all zero. */
bool tund_network_rekey(struct tund_network *net, uint32_t epoch,
			const uint8_t key[TUND_NET_KEY_LEN]);
/* "tund/<hex id>"; false if cap is too small (TUND_NET_TOPIC_MAX always fits). */
bool tund_network_topic_prefix(const struct tund_network *net, char *buf, size_t cap);
/* "tund/<hex id>/<hex inbox tag of pubkey>" */
bool tund_network_inbox_topic(const struct tund_network *net, const uint8_t pubkey[32],
			      char *buf, size_t cap);
/* "tund/<hex id>/a/<hex announce tag of pubkey>" */
bool tund_network_announce_topic(const struct tund_network *net, const uint8_t pubkey[32],
				 char *buf, size_t cap);
/* Where the admin's newest membership record about subject is retained: under
 * the announce filter (a/+), so members receive it with the announces. */
bool tund_network_record_topic(const struct tund_network *net, const uint8_t subject[32],
			       char *buf, size_t cap);

/* Where the admin leaves subject's sealed key of the next epoch, retained:
 * "tund/<hex id>/r/<hex rekey tag>"; the subject subscribes to its own. */
bool tund_network_rekey_topic(const struct tund_network *net, const uint8_t subject[32],
			      char *buf, size_t cap);

/* Overlay addresses of pubkey for the given attempt: v4 inside prefix4, never
 * its network or broadcast address; v6 inside prefix6 (the same for every
 * attempt). False if prefix4 is not an IPv4 /8../30. */
bool tund_network_address(const struct tund_network *net, const uint8_t pubkey[32],
			  uint32_t attempt, uint8_t v4[4], uint8_t v6[16]);
/* Addresses for a whole member set, the same on every node whatever the input
 * order: members are taken in ascending order of their order key, and each
 * tries attempts 0..TUND_NET_ASSIGN_HASH_TRIES-1, then the next free addresses
 * after its attempt-0 address (wrapping), until its v4 is not held by an
 * earlier member. A key listed twice gets the same addresses both times.
 * Returns false (outputs zeroed for the members left over) when prefix4 is
 * unusable, memory runs out, or there are more members than host addresses. */
bool tund_network_assign(const struct tund_network *net, const uint8_t (*keys)[32], size_t n,
			 uint8_t (*v4_out)[4], uint8_t (*v6_out)[16]);

#endif
