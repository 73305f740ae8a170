// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "overlay/cidr.h"
#include "overlay/endpoint.h"
#include "overlay/keys.h"
#include "tests/unit/unit.h"

static bool roundtrip(const char *in, const char *expect)
{
	struct tund_cidr c;
	char buf[TUND_CIDR_STRLEN];

	if (!tund_cidr_parse(&c, in, true))
		return false;
	tund_cidr_format(&c, buf, sizeof(buf));
	return !strcmp(buf, expect);
}

UNIT_TEST(cidr_parse_good)
{
	CHECK(roundtrip("10.77.0.1/16", "10.77.0.1/16"));
	CHECK(roundtrip("0.0.0.0/0", "0.0.0.0/0"));
	CHECK(roundtrip("10.1.2.3", "10.1.2.3/32"));
	CHECK(roundtrip("fd77::1/64", "fd77::1/64"));
	CHECK(roundtrip("::/0", "::/0"));
	CHECK(roundtrip("fd77::1", "fd77::1/128"));
	CHECK(roundtrip("FD77:0:0::1/128", "fd77::1/128"));
}

UNIT_TEST(cidr_parse_bad)
{
	static const char *const bad[] = {
		"", "/", "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/1x", "10.0.0/8",
		"10.0.0.256/8", "fd77::1/129", "fd77:::1/64", "10.0.0.1/0008", " 10.0.0.1/8",
		"10.0.0.1/8 ", "hello", "10.0.0.1//8", "[::1]/64",
	};
	struct tund_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!tund_cidr_parse(&c, bad[i], true));
	CHECK(!tund_cidr_parse(&c, "10.0.0.1", false));
	CHECK(!tund_cidr_parse(&c, NULL, true));
}

UNIT_TEST(cidr_mask_and_contains)
{
	struct tund_cidr c;
	uint8_t a[16];

	CHECK(tund_cidr_parse(&c, "10.77.200.9/13", false));
	tund_cidr_mask(&c);
	CHECK(c.addr[0] == 10 && c.addr[1] == 72 && c.addr[2] == 0 && c.addr[3] == 0);
	inet_pton(AF_INET, "10.79.255.255", a);
	CHECK(tund_cidr_contains(&c, a));
	inet_pton(AF_INET, "10.80.0.0", a);
	CHECK(!tund_cidr_contains(&c, a));
	CHECK(tund_cidr_parse(&c, "fd77::/16", false));
	inet_pton(AF_INET6, "fd77:1234::5", a);
	CHECK(tund_cidr_contains(&c, a));
	inet_pton(AF_INET6, "fd78::5", a);
	CHECK(!tund_cidr_contains(&c, a));
	CHECK(tund_cidr_parse(&c, "0.0.0.0/0", false));
	CHECK(tund_cidr_contains(&c, a));
}

UNIT_TEST(keys_encode_decode)
{
	uint8_t k[TUND_KEY_LEN], back[TUND_KEY_LEN];
	char text[TUND_KEY_B64_LEN + 1];

	CHECK(sodium_init() >= 0);
	tund_key_generate(k);
	CHECK((k[0] & 7) == 0 && (k[31] & 0x80) == 0 && (k[31] & 0x40) != 0);
	tund_key_encode(text, k);
	CHECK(strlen(text) == 44 && text[43] == '=');
	CHECK(tund_key_decode(back, text));
	CHECK(!memcmp(k, back, TUND_KEY_LEN));
	/* A trailing newline, as in a key file, is fine. */
	char line[64];
	snprintf(line, sizeof(line), "%s\n", text);
	CHECK(tund_key_decode(back, line));
	CHECK(!tund_key_decode(back, "short"));
	CHECK(!tund_key_decode(back, "!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	CHECK(!tund_key_decode(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	CHECK(!tund_key_decode(back, NULL));
}

/* RFC 7748 section 6.1: Alice's key pair. */
UNIT_TEST(keys_public_matches_rfc7748)
{
	static const uint8_t alice_priv[32] = {
		0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1,
		0x72, 0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0,
		0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a,
	};
	static const uint8_t alice_pub[32] = {
		0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d,
		0xdc, 0xb4, 0x3e, 0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38,
		0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a,
	};
	uint8_t pub[32];

	CHECK(tund_key_public(pub, alice_priv));
	CHECK(!memcmp(pub, alice_pub, 32));
}

UNIT_TEST(endpoint_parse)
{
	char host[TUND_ENDPOINT_HOST_MAX];
	uint16_t port;

	CHECK(tund_endpoint_parse("192.0.2.1:51820", host, &port));
	CHECK(!strcmp(host, "192.0.2.1") && port == 51820);
	CHECK(tund_endpoint_parse("[fd00::1]:1", host, &port));
	CHECK(!strcmp(host, "fd00::1") && port == 1);
	CHECK(tund_endpoint_parse("vpn.example.org:65535", host, &port));
	CHECK(!strcmp(host, "vpn.example.org") && port == 65535);
	CHECK(!tund_endpoint_parse("fd00::1:51820", host, &port));
	CHECK(!tund_endpoint_parse("192.0.2.1", host, &port));
	CHECK(!tund_endpoint_parse("192.0.2.1:0", host, &port));
	CHECK(!tund_endpoint_parse("192.0.2.1:65536", host, &port));
	CHECK(!tund_endpoint_parse(":80", host, &port));
	CHECK(!tund_endpoint_parse("[nothex]:80", host, &port));
	CHECK(!tund_endpoint_parse("bad host:80", host, &port));
	CHECK(!tund_endpoint_parse("a..b:80", host, &port));
	CHECK(!tund_endpoint_parse(NULL, host, &port));
}
