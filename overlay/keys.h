/* SPDX-License-Identifier: MIT */
/* Curve25519 keys and their text form, as `wg genkey` / `wg pubkey` write it:
 * 32 bytes in standard base64 with padding, 44 characters. */
#ifndef TUND_OVERLAY_KEYS_H
#define TUND_OVERLAY_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#define TUND_KEY_LEN 32
#define TUND_KEY_B64_LEN 44 /* without the NUL */

/* Fills key with a clamped random private key. */
void tund_key_generate(uint8_t key[TUND_KEY_LEN]);
/* Derives the public key; false if the result is the all-zero point. */
bool tund_key_public(uint8_t pub[TUND_KEY_LEN], const uint8_t priv[TUND_KEY_LEN]);
/* buf must hold TUND_KEY_B64_LEN + 1 bytes. */
void tund_key_encode(char buf[TUND_KEY_B64_LEN + 1], const uint8_t key[TUND_KEY_LEN]);
/* Accepts exactly 44 base64 characters (trailing whitespace allowed). */
bool tund_key_decode(uint8_t key[TUND_KEY_LEN], const char *text);

#endif
