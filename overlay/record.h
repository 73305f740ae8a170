/* SPDX-License-Identifier: MIT */
/* Membership records: a network admin's signed statement that a key is a
 * member ("admit") or is not ("block"). In a network with an admin (approve
 * admission), these records, not announces, decide who is a member: every
 * member verifies the admin's signature and applies the newest record per
 * key, so an approval or a block by the admin reaches every member, and a
 * network key holder cannot admit itself. Pure: libc, libsodium and
 * overlay/xsign only; no clock (callers pass times).
 *
 * Wire (192 bytes, integers big-endian):
 *   0   magic "TR" (2)
 *   2   version 1 (1)
 *   3   kind (1): 1 admit, 2 block, 3 admit as an admin (only the network's
 *       creator issues these, and only it blocks an admin)
 *   4   network id (16)
 *   20  subject key (32)
 *   52  issuer key (32)
 *   84  time (8): unix milliseconds when the issuer signed it
 *   92  IPv4 address (4): admits: the member's overlay address, chosen by the
 *       issuer so that it collides with no member's; block: zero
 *   96  signature (96): tund_xsign by the issuer over
 *       "tund record v1\0" | bytes 0..95
 * Records carry no secret and are idempotent: a receiver keeps the newest
 * per subject (later time wins; at equal times block wins), so a replayed
 * older record changes nothing. They travel inside sealed signaling
 * (overlay/signal.h, type TUND_SIGNAL_RECORD), so the broker sees no key. */
#ifndef TUND_OVERLAY_RECORD_H
#define TUND_OVERLAY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TUND_RECORD_LEN = 192,
	TUND_RECORD_VERSION = 1,
};

enum tund_record_kind {
	TUND_RECORD_ADMIT = 1,
	TUND_RECORD_BLOCK = 2,
	/* A member that also signs records (admits and blocks members). */
	TUND_RECORD_ADMIT_ADMIN = 3,
};

/* Admit and admit-as-admin both make a member with an address. */
static inline bool tund_record_admits(uint8_t kind)
{
	return kind == TUND_RECORD_ADMIT || kind == TUND_RECORD_ADMIT_ADMIN;
}

struct tund_record {
	uint8_t kind;        /* enum tund_record_kind */
	uint8_t netid[16];
	uint8_t subject[32];
	uint8_t issuer[32];
	uint64_t time_ms;
	uint8_t addr4[4]; /* admit: the member's address; block: zero */
};

enum tund_record_verdict {
	TUND_RECORD_OK,
	TUND_RECORD_MALFORMED,     /* wrong size, magic, version or kind */
	TUND_RECORD_OTHER_NETWORK, /* signed for another network */
	TUND_RECORD_FORGED,        /* the signature is not the issuer's */
};

/* Signs r with the issuer's private key (r->issuer must be its public key)
 * into out. Returns TUND_RECORD_LEN, or 0 if r's kind is unknown or the key
 * is unusable. */
size_t tund_record_sign(const struct tund_record *r, const uint8_t issuer_priv[32],
			uint8_t out[TUND_RECORD_LEN]);
/* Checks a record for network netid: on TUND_RECORD_OK the issuer signed it
 * (the caller still checks that the issuer is the network's admin). out is
 * zeroed on any other verdict. */
enum tund_record_verdict tund_record_open(const uint8_t *in, size_t len,
					  const uint8_t netid[16], struct tund_record *out);
/* True if a should replace b (the same subject): newer, or a block at the
 * same time as an admit. */
bool tund_record_supersedes(const struct tund_record *a, const struct tund_record *b);
const char *tund_record_kind_str(uint8_t kind);

#endif
