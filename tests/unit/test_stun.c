// SPDX-License-Identifier: MIT
/* overlay/stun.c: RFC 5769 sample responses, requests, a TURN 401, RFC 5780
 * attributes, truncation and garbage. */
#include <arpa/inet.h>
#include <string.h>

#include "overlay/stun.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

static const uint8_t rfc5769_txid[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
					  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };

/* RFC 5769 2.2: Binding success, SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853,
 * MESSAGE-INTEGRITY, FINGERPRINT. */
static const char rfc5769_v4[] = "0101003c2112a442b7e7a701bc34d686fa87dfae"
				 "8022000b7465737420766563746f7220"
				 "002000080001a147e112a643"
				 "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
				 "80280004c07d4c96";
/* RFC 5769 2.3: the same with 2001:db8:1234:5678:11:2233:4455:6677. */
static const char rfc5769_v6[] = "010100482112a442b7e7a701bc34d686fa87dfae"
				 "8022000b7465737420766563746f7220"
				 "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
				 "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
				 "80280004c8fb0b4c";

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex) / 2;

	if (n > cap || !tu_unhex(out, n, hex))
		return 0;
	return n;
}

static bool addr_is(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf));
		return strcmp(buf, ip) == 0 && ntohs(s->sin_port) == port;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf));
		return strcmp(buf, ip) == 0 && ntohs(s->sin6_port) == port;
	}
	return false;
}

UNIT_TEST(stun_rfc5769_ipv4)
{
	uint8_t b[256];
	size_t n = unhex(b, sizeof(b), rfc5769_v4);
	struct tund_stun_msg m;

	CHECK(n == 80);
	CHECK(tund_stun_decode(&m, b, n));
	CHECK(m.type == TUND_STUN_BINDING_SUCCESS);
	CHECK(tund_stun_is_response_to(&m, rfc5769_txid));
	CHECK(m.has_mapped && addr_is(&m.mapped, "192.0.2.1", 32853));
	CHECK(m.has_fingerprint);
	CHECK(!m.has_error && !m.has_other && !m.has_origin);
	CHECK(tund_stun_frame_len(b, n) == 80);
	CHECK(tund_stun_frame_len(b, 19) == 0);
	/* One flipped bit anywhere before FINGERPRINT breaks its CRC. */
	for (size_t i = 20; i < 72; i++) {
		b[i] ^= 0x01;
		CHECK(!tund_stun_decode(&m, b, n));
		b[i] ^= 0x01;
	}
	b[n - 1] ^= 0xff;
	CHECK(!tund_stun_decode(&m, b, n));
}

UNIT_TEST(stun_rfc5769_ipv6)
{
	uint8_t b[256], other[12];
	size_t n = unhex(b, sizeof(b), rfc5769_v6);
	struct tund_stun_msg m;

	CHECK(n == 92);
	CHECK(tund_stun_decode(&m, b, n));
	CHECK(m.has_mapped && addr_is(&m.mapped, "2001:db8:1234:5678:11:2233:4455:6677", 32853));
	memcpy(other, rfc5769_txid, 12);
	other[11] ^= 1;
	CHECK(!tund_stun_is_response_to(&m, other));
}

UNIT_TEST(stun_requests)
{
	uint8_t txid[12], b[TUND_STUN_REQUEST_MAX];
	struct tund_stun_msg m;

	for (int i = 0; i < 12; i++)
		txid[i] = (uint8_t)(i * 17 + 3);
	CHECK(tund_stun_binding_create(b, 19, txid) == 0);
	CHECK(tund_stun_binding_create(b, sizeof(b), txid) == 20);
	CHECK(b[0] == 0x00 && b[1] == 0x01 && b[2] == 0 && b[3] == 0);
	CHECK(b[4] == 0x21 && b[5] == 0x12 && b[6] == 0xa4 && b[7] == 0x42);
	CHECK(memcmp(b + 8, txid, 12) == 0);
	CHECK(tund_stun_decode(&m, b, 20) && m.type == TUND_STUN_BINDING_REQUEST);
	CHECK(!tund_stun_is_response_to(&m, txid));

	CHECK(tund_stun_allocate_create(b, 27, txid) == 0);
	CHECK(tund_stun_allocate_create(b, sizeof(b), txid) == 28);
	CHECK(b[0] == 0x00 && b[1] == 0x03 && b[2] == 0 && b[3] == 8);
	/* REQUESTED-TRANSPORT: UDP (17). */
	CHECK(b[20] == 0x00 && b[21] == 0x19 && b[22] == 0 && b[23] == 4 && b[24] == 17);
	CHECK(tund_stun_decode(&m, b, 28) && m.type == TUND_STUN_ALLOCATE_REQUEST);
}

/* A coturn-style 401 to an unauthenticated Allocate. */
static const char allocate_401[] = "0113002c2112a442000102030405060708090a0b"
				   "0009001000000401556e617574686f72697a6564" /* 401 Unauthorized */
				   "0015000861626364656667680014000874756e642e6c6162";

UNIT_TEST(stun_allocate_401)
{
	uint8_t b[256], txid[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	size_t n = unhex(b, sizeof(b), allocate_401);
	struct tund_stun_msg m;

	CHECK(n == 64);
	CHECK(tund_stun_decode(&m, b, n));
	CHECK(m.type == TUND_STUN_ALLOCATE_ERROR);
	CHECK(tund_stun_is_response_to(&m, txid));
	CHECK(m.has_error && m.error_code == 401 && strcmp(m.reason, "Unauthorized") == 0);
	CHECK(m.has_nonce && strcmp(m.nonce, "abcdefgh") == 0);
	CHECK(m.has_realm && strcmp(m.realm, "tund.lab") == 0);
	/* An error response without ERROR-CODE is malformed. */
	b[3] = 0;
	CHECK(!tund_stun_decode(&m, b, 20));
	b[1] = 0x03; /* the same header as a success: fine */
	CHECK(tund_stun_decode(&m, b, 20));
}

/* Allocate success: XOR-RELAYED-ADDRESS 198.51.100.10:50000, XOR-MAPPED-ADDRESS
 * 203.0.113.11:40000. */
static const char allocate_ok[] = "010300182112a442000102030405060708090a0b"
				  "001600080001e242e721c048"
				  "002000080001bd52ea12d549";

UNIT_TEST(stun_allocate_relayed)
{
	uint8_t b[256];
	size_t n = unhex(b, sizeof(b), allocate_ok);
	struct tund_stun_msg m;

	CHECK(n == 44);
	CHECK(tund_stun_decode(&m, b, n));
	CHECK(m.type == TUND_STUN_ALLOCATE_SUCCESS);
	CHECK(m.has_relayed && addr_is(&m.relayed, "198.51.100.10", 50000));
	CHECK(m.has_mapped && addr_is(&m.mapped, "203.0.113.11", 40000));
	/* A relayed address of the wrong length is malformed. */
	b[23] = 0x07;
	CHECK(!tund_stun_decode(&m, b, n));
}

/* Data indication: XOR-PEER-ADDRESS 203.0.113.11:40000, DATA "tund". */
static const char data_ind[] = "001700142112a442000102030405060708090a0b"
			       "001200080001bd52ea12d549"
			       "0013000474756e64";

UNIT_TEST(stun_data_indication_peer)
{
	uint8_t b[256];
	size_t n = unhex(b, sizeof(b), data_ind);
	struct tund_stun_msg m;

	CHECK(n == 40);
	CHECK(tund_stun_decode(&m, b, n));
	CHECK(m.type == TUND_STUN_DATA_INDICATION);
	CHECK(m.has_peer && addr_is(&m.peer, "203.0.113.11", 40000));
	CHECK(!m.has_relayed && !m.has_mapped && !m.has_error);
	b[25] = 0x03; /* family 3 */
	CHECK(!tund_stun_decode(&m, b, n));
}

/* Binding success with MAPPED-ADDRESS only (no XOR), OTHER-ADDRESS and
 * RESPONSE-ORIGIN, as an RFC 5780 server answers. */
static const char rfc5780_resp[] = "010100242112a442000102030405060708090a0b"
				   "000100080001c350cb00710b" /* 203.0.113.11:50000 */
				   "802c000800010d97c6336465" /* 198.51.100.101:3479 */
				   "802b000800010d96c633640a"; /* 198.51.100.10:3478 */

UNIT_TEST(stun_rfc5780_attributes)
{
	uint8_t b[256];
	size_t n = unhex(b, sizeof(b), rfc5780_resp);
	struct tund_stun_msg m;

	CHECK(n == 56);
	CHECK(tund_stun_decode(&m, b, n));
	CHECK(m.has_mapped && addr_is(&m.mapped, "203.0.113.11", 50000));
	CHECK(m.has_other && addr_is(&m.other, "198.51.100.101", 3479));
	CHECK(m.has_origin && addr_is(&m.origin, "198.51.100.10", 3478));
	CHECK(!m.has_fingerprint);
	/* Bad family, bad address length. */
	b[25] = 0x03;
	CHECK(!tund_stun_decode(&m, b, n));
	b[25] = 0x02;
	CHECK(!tund_stun_decode(&m, b, n));
}

UNIT_TEST(stun_truncation_and_garbage)
{
	uint8_t b[256], c[256];
	size_t n = unhex(b, sizeof(b), rfc5769_v4);
	struct tund_stun_msg m;

	/* Every truncation fails (length field no longer matches). */
	for (size_t i = 0; i < n; i++)
		CHECK(!tund_stun_decode(&m, b, i));
	/* Length field too short for the attributes, or pointing past them. */
	memcpy(c, b, n);
	c[3] = 0x38;
	CHECK(!tund_stun_decode(&m, c, n));
	CHECK(!tund_stun_decode(&m, c, n - 4));
	/* An attribute running past the end. */
	memcpy(c, b, n);
	c[22] = 0x01; /* SOFTWARE length 0x010b */
	CHECK(!tund_stun_decode(&m, c, n));
	/* Length not a multiple of 4, top bits set, wrong cookie. */
	memcpy(c, b, n);
	c[3] = 0x3d;
	CHECK(!tund_stun_decode(&m, c, 81));
	memcpy(c, b, n);
	c[0] |= 0x80;
	CHECK(!tund_stun_decode(&m, c, n));
	memcpy(c, b, n);
	c[4] = 0x22;
	CHECK(!tund_stun_decode(&m, c, n));
	CHECK(tund_stun_frame_len(c, n) == 0);
	/* An attribute header cut in half: 20-byte header + 2 bytes. */
	memset(c, 0, sizeof(c));
	c[1] = 0x01;
	c[3] = 0x04;
	c[4] = 0x21, c[5] = 0x12, c[6] = 0xa4, c[7] = 0x42;
	c[20] = 0x00, c[21] = 0x20, c[22] = 0x00, c[23] = 0x08;
	CHECK(!tund_stun_decode(&m, c, 24));
	/* A zero-length MAPPED-ADDRESS as the last attribute (found by
	 * fuzz_stun: the port was read before the length was checked). */
	c[1] = 0x01, c[21] = 0x01, c[22] = 0, c[23] = 0;
	CHECK(!tund_stun_decode(&m, c, 24));
	/* Random bytes never crash and almost never parse. */
	for (unsigned seed = 1; seed < 2000; seed++) {
		unsigned x = seed;

		for (size_t i = 0; i < sizeof(c); i++) {
			x = x * 1103515245u + 12345u;
			c[i] = (uint8_t)(x >> 16);
		}
		(void)tund_stun_decode(&m, c, seed % sizeof(c));
	}
}
