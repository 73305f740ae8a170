// SPDX-License-Identifier: MIT
/* Length and type validation of received datagrams, before any crypto. */
#include "overlay/messages.h"

enum tund_message_type tund_message_classify(const uint8_t *buf, size_t len)
{
	if (!buf || len < 4)
		return TUND_MESSAGE_INVALID;
	/* The whole first word is compared so that reserved bytes must be zero,
	 * as wireguard-go and the kernel do. */
	switch (tund_le32_get(buf)) {
	case TUND_MESSAGE_HANDSHAKE_INITIATION:
		if (len == TUND_MESSAGE_INITIATION_LEN)
			return TUND_MESSAGE_HANDSHAKE_INITIATION;
		break;
	case TUND_MESSAGE_HANDSHAKE_RESPONSE:
		if (len == TUND_MESSAGE_RESPONSE_LEN)
			return TUND_MESSAGE_HANDSHAKE_RESPONSE;
		break;
	case TUND_MESSAGE_HANDSHAKE_COOKIE:
		if (len == TUND_MESSAGE_COOKIE_LEN)
			return TUND_MESSAGE_HANDSHAKE_COOKIE;
		break;
	case TUND_MESSAGE_DATA:
		if (len >= TUND_MESSAGE_DATA_MIN_LEN && len <= TUND_MESSAGE_MAX_LEN)
			return TUND_MESSAGE_DATA;
		break;
	default:
		break;
	}
	return TUND_MESSAGE_INVALID;
}

bool tund_message_initiation_decode(const uint8_t *buf, size_t len,
				    const struct tund_message_handshake_initiation **out)
{
	if (tund_message_classify(buf, len) != TUND_MESSAGE_HANDSHAKE_INITIATION)
		return false;
	*out = (const struct tund_message_handshake_initiation *)buf;
	return true;
}

bool tund_message_response_decode(const uint8_t *buf, size_t len,
				  const struct tund_message_handshake_response **out)
{
	if (tund_message_classify(buf, len) != TUND_MESSAGE_HANDSHAKE_RESPONSE)
		return false;
	*out = (const struct tund_message_handshake_response *)buf;
	return true;
}

bool tund_message_cookie_decode(const uint8_t *buf, size_t len,
				const struct tund_message_handshake_cookie **out)
{
	if (tund_message_classify(buf, len) != TUND_MESSAGE_HANDSHAKE_COOKIE)
		return false;
	*out = (const struct tund_message_handshake_cookie *)buf;
	return true;
}

bool tund_message_data_decode(const uint8_t *buf, size_t len,
			      const struct tund_message_data **out,
			      uint32_t *receiver_index, uint64_t *counter)
{
	const struct tund_message_data *hdr;

	if (tund_message_classify(buf, len) != TUND_MESSAGE_DATA)
		return false;
	hdr = (const struct tund_message_data *)buf;
	*out = hdr;
	*receiver_index = tund_le32_get(hdr->receiver_index);
	*counter = tund_le64_get(hdr->counter);
	return true;
}
