/* SPDX-License-Identifier: MIT */
/* Token bucket, pure (libc only, the caller passes the time): LAN beacons
 * (tund/connect/beacon.c) and incoming signaling (overlay/sigbound.c). */
#ifndef TUND_OVERLAY_RATELIMIT_H
#define TUND_OVERLAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Token bucket: rate tokens per second, at most burst; a token is one
 * datagram. Integer arithmetic in thousandths of a token; a clock going
 * backwards adds nothing. */
struct tund_ratelimit {
	uint64_t milli;   /* tokens * 1000 */
	uint64_t last_ms;
	uint32_t rate;    /* tokens per second */
	uint32_t burst;   /* bucket size in tokens */
};

/* Starts full. */
void tund_ratelimit_init(struct tund_ratelimit *rl, uint32_t rate, uint32_t burst,
			 uint64_t now_ms);
/* Takes one token if there is one. */
bool tund_ratelimit_allow(struct tund_ratelimit *rl, uint64_t now_ms);

#endif
