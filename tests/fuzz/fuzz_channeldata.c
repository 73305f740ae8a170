// SPDX-License-Identifier: MIT
/* TURN ChannelData as the relayed fast path receives it from the TURN
 * server: whatever the parser accepts lies inside the datagram, on a valid
 * channel, and frames back to the same header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/channeldata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[TUND_CHANNELDATA_HEADER_LEN];
	uint16_t channel;
	size_t n;

	if (!tund_channeldata_parse(data, size, &channel, &n))
		return 0;
	if (!tund_channeldata_valid_channel(channel) || TUND_CHANNELDATA_HEADER_LEN + n > size ||
	    size - TUND_CHANNELDATA_HEADER_LEN - n > 3)
		abort();
	if (!tund_channeldata_header(channel, n, hdr) || memcmp(hdr, data, sizeof(hdr)))
		abort();
	return 0;
}
