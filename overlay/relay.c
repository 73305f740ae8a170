// SPDX-License-Identifier: MIT
#include "overlay/relay.h"

#include <string.h>

#include "overlay/messages.h"

bool tund_relay_is_frame(const uint8_t *buf, size_t len)
{
	return len >= 1 && buf[0] >= TUND_RELAY_FORWARD && buf[0] <= TUND_RELAY_REFUSE;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

bool tund_relay_decode(const uint8_t *buf, size_t len, struct tund_relay_frame *f)
{
	if (len < TUND_RELAY_HEADER || !tund_relay_is_frame(buf, len) ||
	    buf[1] != TUND_RELAY_VERSION || buf[3] != 0)
		return false;
	memset(f, 0, sizeof(*f));
	f->kind = buf[0];
	f->key = buf + 4;
	switch (f->kind) {
	case TUND_RELAY_FORWARD:
	case TUND_RELAY_DELIVER:
		if (buf[2] != 0)
			return false;
		f->payload = buf + TUND_RELAY_HEADER;
		f->payload_len = len - TUND_RELAY_HEADER;
		/* Only a WireGuard message of a valid size is carried. */
		return tund_message_classify(f->payload, f->payload_len) != TUND_MESSAGE_INVALID;
	case TUND_RELAY_OFFER:
		return buf[2] == 0 && len == TUND_RELAY_HEADER && all_zero(f->key, 32);
	default: /* REFUSE */
		f->reason = buf[2];
		return len == TUND_RELAY_HEADER && f->reason >= TUND_RELAY_REFUSED_OFF &&
		       f->reason <= TUND_RELAY_REFUSED_MAX;
	}
}

void tund_relay_header(uint8_t out[TUND_RELAY_HEADER], uint8_t kind, uint8_t reason,
		       const uint8_t key[32])
{
	out[0] = kind;
	out[1] = TUND_RELAY_VERSION;
	out[2] = reason;
	out[3] = 0;
	if (key)
		memcpy(out + 4, key, 32);
	else
		memset(out + 4, 0, 32);
}

const char *tund_relay_refusal_name(uint8_t reason)
{
	switch (reason) {
	case TUND_RELAY_REFUSED_OFF:
		return "relaying off";
	case TUND_RELAY_REFUSED_NOT_MEMBER:
		return "not both members of a network it relays in";
	case TUND_RELAY_REFUSED_NO_PATH:
		return "no direct path to the peer";
	case TUND_RELAY_REFUSED_RATE:
		return "over its rate bound";
	default:
		return "unknown reason";
	}
}
