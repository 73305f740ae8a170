// SPDX-License-Identifier: MIT
#include "overlay/channeldata.h"

bool tund_channeldata_valid_channel(uint32_t channel)
{
	return channel >= TUND_CHANNEL_MIN && channel <= TUND_CHANNEL_MAX;
}

bool tund_channeldata_parse(const uint8_t *buf, size_t len, uint16_t *channel,
			    size_t *payload_len)
{
	uint16_t ch, n;

	if (len < TUND_CHANNELDATA_HEADER_LEN)
		return false;
	ch = (uint16_t)(buf[0] << 8 | buf[1]);
	n = (uint16_t)(buf[2] << 8 | buf[3]);
	if (!tund_channeldata_valid_channel(ch))
		return false;
	/* The length may not claim more than arrived; what follows it can
	 * only be padding. */
	if ((size_t)n > len - TUND_CHANNELDATA_HEADER_LEN ||
	    len - TUND_CHANNELDATA_HEADER_LEN - n > 3)
		return false;
	*channel = ch;
	*payload_len = n;
	return true;
}

bool tund_channeldata_header(uint16_t channel, size_t payload_len,
			     uint8_t out[TUND_CHANNELDATA_HEADER_LEN])
{
	if (!tund_channeldata_valid_channel(channel) || payload_len > UINT16_MAX)
		return false;
	out[0] = (uint8_t)(channel >> 8);
	out[1] = (uint8_t)channel;
	out[2] = (uint8_t)(payload_len >> 8);
	out[3] = (uint8_t)payload_len;
	return true;
}
