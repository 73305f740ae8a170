/* SPDX-License-Identifier: MIT */
/* Fixed keys shared by fuzz_signal and the seed generator, so that seeds are
 * messages the fuzz target can actually open. */
#ifndef TUND_TESTS_FUZZ_SIGNAL_KEYS_H
#define TUND_TESTS_FUZZ_SIGNAL_KEYS_H

#include <stdint.h>

/* Network key: bytes 0x42 repeated. Recipient private key: 0x11 repeated
 * (clamped), sender private key: 0x22 repeated (clamped). */
static inline void fuzz_signal_keys(uint8_t netkey[32], uint8_t recv_priv[32],
				    uint8_t send_priv[32])
{
	for (int i = 0; i < 32; i++) {
		netkey[i] = 0x42;
		recv_priv[i] = 0x11;
		send_priv[i] = 0x22;
	}
	recv_priv[0] &= 248;
	recv_priv[31] = (recv_priv[31] & 127) | 64;
	send_priv[0] &= 248;
	send_priv[31] = (send_priv[31] & 127) | 64;
}

/* Time the fuzz target treats as now; seeds carry it. */
#define FUZZ_SIGNAL_NOW_MS 1700000000000ull

#endif
