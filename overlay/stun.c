// SPDX-License-Identifier: MIT
#include "overlay/stun.h"

#include <string.h>

enum {
	ATTR_MAPPED_ADDRESS = 0x0001,
	ATTR_SOURCE_ADDRESS = 0x0004,
	ATTR_CHANGED_ADDRESS = 0x0005,
	ATTR_ERROR_CODE = 0x0009,
	ATTR_REQUESTED_TRANSPORT = 0x0019,
	ATTR_REALM = 0x0014,
	ATTR_NONCE = 0x0015,
	ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	ATTR_XOR_PEER_ADDRESS = 0x0012,
	ATTR_RESPONSE_ORIGIN = 0x802B,
	ATTR_OTHER_ADDRESS = 0x802C,
	ATTR_FINGERPRINT = 0x8028,
};

#define FINGERPRINT_XOR 0x5354554eu
#define IPPROTO_UDP_NUMBER 17

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void header(uint8_t *buf, uint16_t type, uint16_t len,
		   const uint8_t txid[TUND_STUN_TXID_LEN])
{
	put16(buf, type);
	put16(buf + 2, len);
	put32(buf + 4, TUND_STUN_MAGIC);
	memcpy(buf + 8, txid, TUND_STUN_TXID_LEN);
}

size_t tund_stun_binding_create(uint8_t *buf, size_t len, const uint8_t txid[TUND_STUN_TXID_LEN])
{
	if (len < TUND_STUN_HEADER_LEN)
		return 0;
	header(buf, TUND_STUN_BINDING_REQUEST, 0, txid);
	return TUND_STUN_HEADER_LEN;
}

size_t tund_stun_allocate_create(uint8_t *buf, size_t len,
				 const uint8_t txid[TUND_STUN_TXID_LEN])
{
	if (len < TUND_STUN_HEADER_LEN + 8)
		return 0;
	header(buf, TUND_STUN_ALLOCATE_REQUEST, 8, txid);
	put16(buf + 20, ATTR_REQUESTED_TRANSPORT);
	put16(buf + 22, 4);
	buf[24] = IPPROTO_UDP_NUMBER; /* protocol, then 3 bytes RFFU */
	buf[25] = buf[26] = buf[27] = 0;
	return TUND_STUN_HEADER_LEN + 8;
}

size_t tund_stun_frame_len(const uint8_t *buf, size_t len)
{
	uint16_t mlen;

	if (len < TUND_STUN_HEADER_LEN || (buf[0] & 0xC0) || get32(buf + 4) != TUND_STUN_MAGIC)
		return 0;
	mlen = get16(buf + 2);
	if (mlen % 4)
		return 0;
	return TUND_STUN_HEADER_LEN + (size_t)mlen;
}

/* CRC-32 (ISO 3309, as zlib), bitwise: messages here are tiny. */
static uint32_t crc32(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* (XOR-)MAPPED-ADDRESS layout: 0, family, port, address. */
static bool parse_address(struct sockaddr_storage *out, const uint8_t *v, size_t len, bool xor,
			  const uint8_t *hdr)
{
	uint16_t port;

	if (len < 4 || v[0] != 0)
		return false;
	port = get16(v + 2);
	if (xor)
		port ^= (uint16_t)(TUND_STUN_MAGIC >> 16);
	memset(out, 0, sizeof(*out));
	if (v[1] == 0x01) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;
		uint8_t a[4];

		if (len != 8)
			return false;
		memcpy(a, v + 4, 4);
		if (xor)
			for (int i = 0; i < 4; i++)
				a[i] ^= hdr[4 + i]; /* the magic cookie */
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a, 4);
		return true;
	}
	if (v[1] == 0x02) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
		uint8_t a[16];

		if (len != 20)
			return false;
		memcpy(a, v + 4, 16);
		if (xor)
			for (int i = 0; i < 16; i++)
				a[i] ^= hdr[4 + i]; /* cookie then transaction id */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a, 16);
		return true;
	}
	return false;
}

/* Copies printable ASCII, '?' for anything else, NUL-terminated. */
static void copy_text(char out[TUND_STUN_TEXT_MAX], const uint8_t *v, size_t len)
{
	size_t n = len < TUND_STUN_TEXT_MAX - 1 ? len : TUND_STUN_TEXT_MAX - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = v[i] >= 0x20 && v[i] < 0x7F ? (char)v[i] : '?';
	out[n] = '\0';
}

/* An address attribute. XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS,
 * OTHER-ADDRESS over CHANGED-ADDRESS and RESPONSE-ORIGIN over SOURCE-ADDRESS
 * (the older RFC 3489 names) in either order; a loser must still parse,
 * but for a SOURCE-ADDRESS after an origin. */
static bool decode_address(struct tund_stun_msg *m, uint16_t type, const uint8_t *v,
			   uint16_t alen, const uint8_t *buf, bool *have_xor, bool *have_other)
{
	struct sockaddr_storage ignored;

	switch (type) {
	case ATTR_XOR_RELAYED_ADDRESS:
		if (!parse_address(&m->relayed, v, alen, true, buf))
			return false;
		m->has_relayed = true;
		return true;
	case ATTR_XOR_PEER_ADDRESS:
		if (!parse_address(&m->peer, v, alen, true, buf))
			return false;
		m->has_peer = true;
		return true;
	case ATTR_XOR_MAPPED_ADDRESS:
		if (!parse_address(&m->mapped, v, alen, true, buf))
			return false;
		m->has_mapped = *have_xor = true;
		return true;
	case ATTR_MAPPED_ADDRESS:
		if (*have_xor)
			return parse_address(&ignored, v, alen, false, buf);
		if (!parse_address(&m->mapped, v, alen, false, buf))
			return false;
		m->has_mapped = true;
		return true;
	case ATTR_OTHER_ADDRESS:
		if (!parse_address(&m->other, v, alen, false, buf))
			return false;
		m->has_other = *have_other = true;
		return true;
	case ATTR_CHANGED_ADDRESS:
		if (*have_other)
			return parse_address(&ignored, v, alen, false, buf);
		if (!parse_address(&m->other, v, alen, false, buf))
			return false;
		m->has_other = true;
		return true;
	default: /* RESPONSE-ORIGIN, SOURCE-ADDRESS */
		if (type == ATTR_SOURCE_ADDRESS && m->has_origin)
			return true;
		if (!parse_address(&m->origin, v, alen, false, buf))
			return false;
		m->has_origin = true;
		return true;
	}
}

static bool decode_error_code(struct tund_stun_msg *m, const uint8_t *v, uint16_t alen)
{
	unsigned cls, num;

	if (alen < 4 || v[0] || v[1] || (v[2] & 0xF8))
		return false;
	cls = v[2] & 0x07;
	num = v[3];
	if (cls < 3 || cls > 6 || num > 99)
		return false;
	m->has_error = true;
	m->error_code = (uint16_t)(cls * 100 + num);
	copy_text(m->reason, v + 4, alen - 4u);
	return true;
}

bool tund_stun_decode(struct tund_stun_msg *m, const uint8_t *buf, size_t len)
{
	bool have_xor = false, have_other = false;
	size_t off = TUND_STUN_HEADER_LEN;

	memset(m, 0, sizeof(*m));
	if (len < TUND_STUN_HEADER_LEN || tund_stun_frame_len(buf, len) != len)
		return false;
	m->type = get16(buf);
	memcpy(m->txid, buf + 8, TUND_STUN_TXID_LEN);
	while (off < len) {
		uint16_t type, alen;
		const uint8_t *v;
		size_t padded;

		if (len - off < 4)
			return false;
		type = get16(buf + off);
		alen = get16(buf + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (len - off - 4 < padded)
			return false;
		v = buf + off + 4;
		/* Nothing may follow FINGERPRINT (RFC 5389 15.5). */
		if (m->has_fingerprint)
			return false;
		switch (type) {
		case ATTR_XOR_RELAYED_ADDRESS:
		case ATTR_XOR_PEER_ADDRESS:
		case ATTR_XOR_MAPPED_ADDRESS:
		case ATTR_MAPPED_ADDRESS:
		case ATTR_OTHER_ADDRESS:
		case ATTR_CHANGED_ADDRESS:
		case ATTR_RESPONSE_ORIGIN:
		case ATTR_SOURCE_ADDRESS:
			if (!decode_address(m, type, v, alen, buf, &have_xor, &have_other))
				return false;
			break;
		case ATTR_ERROR_CODE:
			if (!decode_error_code(m, v, alen))
				return false;
			break;
		case ATTR_REALM:
			m->has_realm = true;
			copy_text(m->realm, v, alen);
			break;
		case ATTR_NONCE:
			m->has_nonce = true;
			copy_text(m->nonce, v, alen);
			break;
		case ATTR_FINGERPRINT:
			if (alen != 4 || get32(v) != (crc32(buf, off) ^ FINGERPRINT_XOR))
				return false;
			m->has_fingerprint = true;
			break;
		default:
			/* SOFTWARE, MESSAGE-INTEGRITY (no key to check it), others. */
			break;
		}
		off += 4 + padded;
	}
	/* An error response must say which error. */
	if ((m->type & 0x0110) == 0x0110 && !m->has_error)
		return false;
	return true;
}

bool tund_stun_is_response_to(const struct tund_stun_msg *m,
			      const uint8_t txid[TUND_STUN_TXID_LEN])
{
	/* Class bits C1 C0 at 0x0100 and 0x0010: 10 success, 11 error. */
	return (m->type & 0x0100) && memcmp(m->txid, txid, TUND_STUN_TXID_LEN) == 0;
}
