/* SPDX-License-Identifier: MIT */
/* Deterministic variants of the noise create functions for known-answer
 * tests and fuzzers only: the ephemeral private key is given instead of drawn
 * from randombytes. Never use them on the wire. */
#ifndef TUND_OVERLAY_NOISE_TESTING_H
#define TUND_OVERLAY_NOISE_TESTING_H

#include "overlay/noise.h"

bool tund_noise_handshake_create_initiation_with_ephemeral(
	struct tund_message_handshake_initiation *dst, struct tund_noise_handshake *hs,
	uint32_t local_index, const struct timespec *wall_now,
	const uint8_t ephemeral_private[32]);
bool tund_noise_handshake_create_response_with_ephemeral(
	struct tund_message_handshake_response *dst, struct tund_noise_handshake *hs,
	uint32_t local_index, const uint8_t ephemeral_private[32]);

#endif
