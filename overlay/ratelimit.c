/* SPDX-License-Identifier: MIT */
/* Token bucket (see overlay/ratelimit.h). */
#include "overlay/ratelimit.h"

void tund_ratelimit_init(struct tund_ratelimit *rl, uint32_t rate, uint32_t burst,
			 uint64_t now_ms)
{
	rl->rate = rate;
	rl->burst = burst;
	rl->milli = (uint64_t)burst * 1000;
	rl->last_ms = now_ms;
}

bool tund_ratelimit_allow(struct tund_ratelimit *rl, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)rl->burst * 1000;

	if (now_ms > rl->last_ms) {
		uint64_t elapsed = now_ms - rl->last_ms;

		/* Cap elapsed first so the product cannot overflow. */
		if (elapsed > 3600000)
			elapsed = 3600000;
		rl->milli += elapsed * rl->rate;
		if (rl->milli > cap)
			rl->milli = cap;
		rl->last_ms = now_ms;
	}
	if (rl->milli < 1000)
		return false;
	rl->milli -= 1000;
	return true;
}
