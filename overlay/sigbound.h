/* SPDX-License-Identifier: MIT */
/* The gate in front of incoming signaling, one per network: what a flood from
 * the broker (anyone who can publish to our topics, a K-holder or not) can
 * cost is bounded before any allocation, decode or crypto. Pure: libc only,
 * the caller passes the time. */
#ifndef TUND_OVERLAY_SIGBOUND_H
#define TUND_OVERLAY_SIGBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "overlay/ratelimit.h"
#include "overlay/signal.h"

enum {
	/* A sealed signal is at most TUND_SIGNAL_MAX_LEN bytes and the MQTT
	 * payload is exactly that message: anything longer cannot open. */
	TUND_SIGBOUND_MAX_LEN = TUND_SIGNAL_MAX_LEN,
	/* What we ask the broker to send at most (MQTT v5 Maximum Packet
	 * Size): the payload plus the topic (under 200 bytes), the fixed
	 * header and the properties, with room to spare. */
	TUND_SIGBOUND_MAX_PACKET = TUND_SIGBOUND_MAX_LEN + 1024,
	/* Messages per second, and the burst (doc/threat-model.md 4.6). A
	 * join receives every member's retained announce at once: the burst
	 * covers 500 members. A 50-member mesh measured about 6 messages a
	 * second per member over its minute of joins (doc/scale.md); 100/s
	 * leaves room for that and caps a flood at 100 signature or DH checks
	 * a second, about 1% of a core. */
	TUND_SIGBOUND_RATE = 100,
	TUND_SIGBOUND_BURST = 500,
};

enum tund_sigbound_verdict {
	TUND_SIGBOUND_OK,
	TUND_SIGBOUND_OVERSIZE,
	TUND_SIGBOUND_RATE_LIMITED,
};

struct tund_sigbound {
	struct tund_ratelimit rl;
};

/* Starts with a full burst. */
void tund_sigbound_init(struct tund_sigbound *g, uint64_t now_ms);
/* An oversize message costs no token; the caller counts what is refused. */
enum tund_sigbound_verdict tund_sigbound_check(struct tund_sigbound *g, size_t len,
					       uint64_t now_ms);

#endif
