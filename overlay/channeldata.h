/* SPDX-License-Identifier: MIT */
/* TURN ChannelData framing (RFC 8656 section 12.4) over UDP, for the
 * relayed fast path (tund/dataplane/fastpath.c): a 4-byte header, the
 * channel number (0x4000-0x7FFF: the first two bits are 01) and the
 * payload's length, both big-endian, then the payload. Over UDP padding to
 * a multiple of 4 is optional; a receiver ignores up to 3 bytes of it.
 * Pure: no sockets. */
#ifndef TUND_OVERLAY_CHANNELDATA_H
#define TUND_OVERLAY_CHANNELDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUND_CHANNELDATA_HEADER_LEN 4
#define TUND_CHANNEL_MIN 0x4000u
#define TUND_CHANNEL_MAX 0x7FFFu

/* A channel number a server may send and a client may use. */
bool tund_channeldata_valid_channel(uint32_t channel);
/* Parses a received datagram: true with *channel and the payload
 * buf[TUND_CHANNELDATA_HEADER_LEN .. + *payload_len) when buf[0..len) is one
 * ChannelData message (the length field within the datagram, at most 3
 * bytes of padding after it). */
bool tund_channeldata_parse(const uint8_t *buf, size_t len, uint16_t *channel,
			    size_t *payload_len);
/* Writes the header for payload_len bytes on channel into out; false if
 * the channel is not a valid one or the length does not fit 16 bits. */
bool tund_channeldata_header(uint16_t channel, size_t payload_len,
			     uint8_t out[TUND_CHANNELDATA_HEADER_LEN]);

#endif
