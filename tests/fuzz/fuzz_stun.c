// SPDX-License-Identifier: MIT
/* STUN responses as they arrive from the network: frame length, then the
 * strict decoder; anything it accepts must hold sane values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_stun_msg m;
	size_t frame = tund_stun_frame_len(data, size);

	if (frame && frame <= size)
		(void)tund_stun_decode(&m, data, frame);
	if (tund_stun_decode(&m, data, size)) {
		if (m.has_error && (m.error_code < 300 || m.error_code > 699))
			abort();
		if (strlen(m.reason) >= TUND_STUN_TEXT_MAX || strlen(m.realm) >= TUND_STUN_TEXT_MAX ||
		    strlen(m.nonce) >= TUND_STUN_TEXT_MAX)
			abort();
		if (m.has_mapped && m.mapped.ss_family != AF_INET && m.mapped.ss_family != AF_INET6)
			abort();
		(void)tund_stun_is_response_to(&m, data + 8);
	}
	return 0;
}
