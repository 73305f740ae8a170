/* SPDX-License-Identifier: MIT */
/* Size and rate gate for incoming signaling (see overlay/sigbound.h). */
#include "overlay/sigbound.h"

void tund_sigbound_init(struct tund_sigbound *g, uint64_t now_ms)
{
	tund_ratelimit_init(&g->rl, TUND_SIGBOUND_RATE, TUND_SIGBOUND_BURST, now_ms);
	tund_ratelimit_init(&g->cheap, TUND_SIGBOUND_CHEAP_RATE, TUND_SIGBOUND_CHEAP_BURST, now_ms);
}

/* The size, then a token of bucket rl. */
static enum tund_sigbound_verdict take(struct tund_ratelimit *rl, size_t len, uint64_t now_ms)
{
	if (len > TUND_SIGBOUND_MAX_LEN)
		return TUND_SIGBOUND_OVERSIZE;
	if (!tund_ratelimit_allow(rl, now_ms))
		return TUND_SIGBOUND_RATE_LIMITED;
	return TUND_SIGBOUND_OK;
}

enum tund_sigbound_verdict tund_sigbound_precheck(struct tund_sigbound *g, size_t len,
						  uint64_t now_ms)
{
	return take(&g->cheap, len, now_ms);
}

enum tund_sigbound_verdict tund_sigbound_check(struct tund_sigbound *g, size_t len,
					       uint64_t now_ms)
{
	return take(&g->rl, len, now_ms);
}
