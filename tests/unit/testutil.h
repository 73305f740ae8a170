/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the crypto unit tests. */
#ifndef TUND_TESTS_TESTUTIL_H
#define TUND_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int tu_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes exactly len bytes of hex; false on bad input or wrong length. */
static inline bool tu_unhex(uint8_t *out, size_t len, const char *hex)
{
	if (strlen(hex) != 2 * len)
		return false;
	for (size_t i = 0; i < len; i++) {
		int hi = tu_nibble(hex[2 * i]), lo = tu_nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* True if buf/len equals the hex string. */
static inline bool tu_hex_eq(const uint8_t *buf, size_t len, const char *hex)
{
	uint8_t tmp[1024];

	if (len > sizeof(tmp) || !tu_unhex(tmp, len, hex))
		return false;
	return memcmp(tmp, buf, len) == 0;
}

/* Deterministic filler (xorshift32), for tests that need "random" bytes. */
static inline void tu_fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

#endif
