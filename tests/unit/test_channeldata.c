// SPDX-License-Identifier: MIT
/* overlay/channeldata: TURN ChannelData framing as the relayed fast path
 * reads and writes it. */
#include <string.h>

#include "overlay/channeldata.h"
#include "tests/unit/unit.h"

UNIT_TEST(channeldata_header_round_trip)
{
	uint8_t msg[4 + 32], hdr[4];
	uint16_t ch = 0;
	size_t n = 0;

	memset(msg, 0x5a, sizeof(msg));
	CHECK(tund_channeldata_header(0x4001, 32, hdr));
	CHECK(hdr[0] == 0x40 && hdr[1] == 0x01 && hdr[2] == 0 && hdr[3] == 32);
	memcpy(msg, hdr, 4);
	CHECK(tund_channeldata_parse(msg, sizeof(msg), &ch, &n));
	CHECK(ch == 0x4001 && n == 32);
	CHECK(tund_channeldata_header(0x7fff, 65535, hdr));
	CHECK(hdr[0] == 0x7f && hdr[1] == 0xff && hdr[2] == 0xff && hdr[3] == 0xff);
}

UNIT_TEST(channeldata_refuses_bad_channels_and_lengths)
{
	uint8_t hdr[4], msg[12] = { 0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0 };
	uint16_t ch = 0;
	size_t n = 0;

	/* Channels outside 0x4000-0x7FFF, lengths over 16 bits. */
	CHECK(!tund_channeldata_header(0x3fff, 4, hdr));
	CHECK(!tund_channeldata_header(0x8000, 4, hdr));
	CHECK(!tund_channeldata_header(0x4000, 65536, hdr));
	CHECK(!tund_channeldata_valid_channel(0));
	/* Five bytes of payload and three of padding: accepted. */
	CHECK(tund_channeldata_parse(msg, 12, &ch, &n) && ch == 0x4000 && n == 5);
	/* Without the padding too (UDP need not pad). */
	CHECK(tund_channeldata_parse(msg, 9, &ch, &n) && n == 5);
	/* Four bytes after the payload are not padding. */
	msg[3] = 4;
	CHECK(!tund_channeldata_parse(msg, 12, &ch, &n));
	/* A length beyond the datagram. */
	msg[3] = 9;
	CHECK(!tund_channeldata_parse(msg, 12, &ch, &n));
	/* Too short for a header; STUN (first bits 00) and 0x80-0xFF. */
	CHECK(!tund_channeldata_parse(msg, 3, &ch, &n));
	msg[3] = 0;
	CHECK(tund_channeldata_parse(msg, 4, &ch, &n) && n == 0);
	msg[0] = 0x00;
	CHECK(!tund_channeldata_parse(msg, 4, &ch, &n));
	msg[0] = 0x80;
	CHECK(!tund_channeldata_parse(msg, 4, &ch, &n));
}
