// SPDX-License-Identifier: MIT
/* Member relay frames: any datagram a path delivers. A frame that decodes
 * must lie inside the input, and its header must encode back to the same
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_relay_frame f;
	uint8_t hdr[TUND_RELAY_HEADER];

	if (!tund_relay_decode(data, size, &f))
		return 0;
	if (!tund_relay_is_frame(data, size) || f.key != data + 4)
		abort();
	if (f.payload && (f.payload != data + TUND_RELAY_HEADER ||
			  f.payload_len != size - TUND_RELAY_HEADER || f.payload_len < 4))
		abort();
	tund_relay_header(hdr, f.kind, f.reason, f.key);
	if (memcmp(hdr, data, TUND_RELAY_HEADER))
		abort();
	if (f.kind == TUND_RELAY_REFUSE && !strcmp(tund_relay_refusal_name(f.reason), "unknown reason"))
		abort();
	return 0;
}
