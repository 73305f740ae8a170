/* SPDX-License-Identifier: MIT */
/* The node's private key: state_dir/private.key, base64 as `wg genkey` writes. */
#ifndef TUND_KEYFILE_H
#define TUND_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/keys.h"

/* Loads path, or creates it (0600) with a new key when it does not exist.
 * A file that exists but does not hold a key is refused and left alone.
 * Returns 0, or -errno with a one-line message in why (why_len bytes). */
int tund_keyfile_load_or_create(const char *path, uint8_t priv[TUND_KEY_LEN],
				bool *created, char *why, size_t why_len);

#endif
