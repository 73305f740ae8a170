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
	/* Ahead of those, what is refused for a MAC's cost (the header, the
	 * network id, an announce's AEAD under K: tund_signal_precheck) has a
	 * budget of its own, so junk from someone without K (hundreds of
	 * retained messages a newcomer receives ahead of the real records)
	 * cannot spend the one above. 2,000 AEAD checks of at most 8 KiB a
	 * second is about 2% of a core. */
	TUND_SIGBOUND_CHEAP_RATE = 2000,
	TUND_SIGBOUND_CHEAP_BURST = 20000,
};

enum tund_sigbound_verdict {
	TUND_SIGBOUND_OK,
	TUND_SIGBOUND_OVERSIZE,
	TUND_SIGBOUND_RATE_LIMITED,
};

struct tund_sigbound {
	struct tund_ratelimit rl, cheap;
};

/* Starts with full bursts. */
void tund_sigbound_init(struct tund_sigbound *g, uint64_t now_ms);
/* First, before any decode: the size, and a token of the cheap budget for
 * the checks that cost a MAC (tund_signal_precheck). */
enum tund_sigbound_verdict tund_sigbound_precheck(struct tund_sigbound *g, size_t len,
						  uint64_t now_ms);
/* Then, for what passed those, before any signature or DH: the size, and a
 * token of the main budget. An oversize message costs no token in either;
 * the caller counts what is refused. */
enum tund_sigbound_verdict tund_sigbound_check(struct tund_sigbound *g, size_t len,
					       uint64_t now_ms);

#endif
