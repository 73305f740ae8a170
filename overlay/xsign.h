/* SPDX-License-Identifier: MIT */
/* Signatures made with a node's X25519 key, so a member proves which key sent
 * a broadcast message (an announce, a LAN beacon) without a second key to
 * keep, bind and lose. Pure: libc and libsodium only.
 *
 * The X25519 private scalar a (clamped as X25519 clamps it) is also an
 * Ed25519 scalar: A = a*B is the Edwards point whose Montgomery u-coordinate
 * is the node's public key P (the birational map commutes with scalar
 * multiplication). A signature is A || R || s (96 bytes), where R || s is a
 * standard Ed25519 signature of the message under A, made with the nonce
 * r = SHA-512("tund xsign nonce v1\0" || a || message) mod L. A verifier
 * checks that A maps to P (libsodium's Edwards-to-Montgomery conversion) and
 * then checks R || s with libsodium's Ed25519 verification, which refuses
 * non-canonical s and small-order A. This is the idea of Signal's XEdDSA,
 * carrying A instead of fixing its sign bit. Callers put a label of their own
 * in front of what they sign, so a signature of one kind is never taken for
 * another. */
#ifndef TUND_OVERLAY_XSIGN_H
#define TUND_OVERLAY_XSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TUND_XSIGN_LEN = 96 };

/* Signs msg with the X25519 private key priv. False only if priv is unusable
 * (a scalar that is zero modulo the group order). */
bool tund_xsign(uint8_t sig[TUND_XSIGN_LEN], const uint8_t *msg, size_t len,
		const uint8_t priv[32]);
/* True if sig is a signature of msg by the owner of the X25519 public key pub. */
bool tund_xsign_verify(const uint8_t sig[TUND_XSIGN_LEN], const uint8_t *msg, size_t len,
		       const uint8_t pub[32]);

#endif
