/* SPDX-License-Identifier: MIT */
/* Member relay frames (doc/member-relay.md): what a member sends on a direct
 * path to a member that relays, and what the relay sends on. They travel
 * outside WireGuard, next to its messages on the same path, and never carry
 * plaintext: the payload of FORWARD and DELIVER is a WireGuard message of
 * the two ends' own tunnel. Pure (libc only); every byte is the network's.
 *
 *   0      kind: 0x11 FORWARD, 0x12 DELIVER, 0x13 OFFER, 0x14 REFUSE
 *   1      version (1)
 *   2      REFUSE: the reason (enum tund_relay_refusal); else 0
 *   3      0
 *   4..35  FORWARD: the target's public key; DELIVER: the source's;
 *          REFUSE: the target that was refused; OFFER: zero
 *   36..   FORWARD, DELIVER: one WireGuard message (types 1-4, its size);
 *          OFFER, REFUSE: nothing
 *
 * A WireGuard message starts with its type 1-4 and three zero bytes, so
 * the first byte tells the two apart. */
#ifndef TUND_OVERLAY_RELAY_H
#define TUND_OVERLAY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TUND_RELAY_FORWARD = 0x11,
	TUND_RELAY_DELIVER = 0x12,
	TUND_RELAY_OFFER = 0x13,
	TUND_RELAY_REFUSE = 0x14,
	TUND_RELAY_VERSION = 1,
	TUND_RELAY_HEADER = 36,
};

enum tund_relay_refusal {
	TUND_RELAY_REFUSED_OFF = 1,       /* the relay does not relay in this network */
	TUND_RELAY_REFUSED_NOT_MEMBER,    /* source or target not an admitted member there */
	TUND_RELAY_REFUSED_NO_PATH,       /* no direct path from the relay to the target */
	TUND_RELAY_REFUSED_RATE,          /* over the relay's rate bound */
	TUND_RELAY_REFUSED_MAX = TUND_RELAY_REFUSED_RATE,
};

struct tund_relay_frame {
	uint8_t kind;
	uint8_t reason;        /* REFUSE only */
	const uint8_t *key;    /* 32 bytes inside the datagram */
	const uint8_t *payload; /* FORWARD/DELIVER: the WireGuard message */
	size_t payload_len;
};

/* Whether the datagram is meant as a relay frame at all (its first byte):
 * then it is never a WireGuard message, valid or not. */
bool tund_relay_is_frame(const uint8_t *buf, size_t len);
/* True when buf is a well-formed frame; *f points into buf. */
bool tund_relay_decode(const uint8_t *buf, size_t len, struct tund_relay_frame *f);
/* Writes the 36-byte header at out (the payload, if any, follows it). */
void tund_relay_header(uint8_t out[TUND_RELAY_HEADER], uint8_t kind, uint8_t reason,
		       const uint8_t key[32]);
const char *tund_relay_refusal_name(uint8_t reason);

#endif
