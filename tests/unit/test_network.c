// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/network.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

/* A network with every field set, each at an awkward value. */
static void full_network(struct tund_network *n)
{
	CHECK(tund_network_init_new(n, "lan-party_2.0", NULL));
	tu_fill(n->key, 32, 7);
	memcpy(n->root, n->key, 32);
	tund_network_derive_prefix6(n);
	CHECK(tund_network_set_prefix4(n, "10.9.128.0/17", NULL));
	strcpy(n->broker, "mqtt://[2001:db8::1]:8883");
	CHECK(tund_parse_stun("stun.example.org", &n->stun[0], NULL));
	CHECK(tund_parse_stun("[2001:db8::2]:19302", &n->stun[1], NULL));
	n->n_stun = 2;
	CHECK(tund_parse_turn_url("turn://alice:p%40ss%3Aw0rd@turn.example.org:3479", &n->turn[0],
				  NULL));
	CHECK(tund_parse_turn_url("turn://bob:x@192.0.2.1?transport=tcp", &n->turn[1], NULL));
	CHECK(tund_parse_turn_url_creds("turn:[2001:db8::3]:443?transport=tcp", "carol",
					"secret with spaces", &n->turn[2], NULL));
	CHECK(tund_parse_turn_url("turn:relay.example.net", &n->turn[3], NULL));
	n->n_turn = 4;
	n->admission = TUND_ADMISSION_APPROVE;
}

static bool net_equal(const struct tund_network *a, const struct tund_network *b)
{
	if (strcmp(a->name, b->name) || memcmp(a->key, b->key, 32) ||
	    memcmp(&a->prefix4, &b->prefix4, sizeof(a->prefix4)) ||
	    memcmp(&a->prefix6, &b->prefix6, sizeof(a->prefix6)) || strcmp(a->broker, b->broker) ||
	    a->n_stun != b->n_stun || a->n_turn != b->n_turn || a->admission != b->admission ||
	    a->no_broadcast != b->no_broadcast)
		return false;
	for (unsigned i = 0; i < a->n_stun; i++)
		if (strcmp(a->stun[i].host, b->stun[i].host) || a->stun[i].port != b->stun[i].port)
			return false;
	for (unsigned i = 0; i < a->n_turn; i++)
		if (strcmp(a->turn[i].host, b->turn[i].host) || a->turn[i].port != b->turn[i].port ||
		    strcmp(a->turn[i].user, b->turn[i].user) ||
		    strcmp(a->turn[i].pass, b->turn[i].pass) || a->turn[i].tcp != b->turn[i].tcp)
			return false;
	return true;
}

UNIT_TEST(network_init_new)
{
	struct tund_network a, b;
	const char *why = NULL;
	char buf[TUND_CIDR_STRLEN];

	CHECK(sodium_init() >= 0);
	CHECK(tund_network_init_new(&a, "home", &why));
	CHECK(tund_network_init_new(&b, "home", &why));
	CHECK(memcmp(a.key, b.key, 32) != 0);
	tund_cidr_format(&a.prefix4, buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.77.0.0/16"));
	CHECK(a.prefix6.family == AF_INET6 && a.prefix6.prefix == 64 && a.prefix6.addr[0] == 0xfd);
	CHECK(memcmp(a.prefix6.addr, b.prefix6.addr, 8) != 0);
	CHECK(a.admission == TUND_ADMISSION_OPEN && !a.broker[0] && !a.n_stun && !a.n_turn);

	CHECK(!tund_network_init_new(&a, "", &why) && why);
	CHECK(!tund_network_init_new(&a, "has space", &why));
	CHECK(!tund_network_init_new(&a, "x/y", &why));
	CHECK(!tund_network_init_new(&a, NULL, &why));
	CHECK(!tund_network_init_new(
		&a, "12345678901234567890123456789012345678901234567890123456789012345", &why));
	CHECK(tund_network_init_new(
		&a, "1234567890123456789012345678901234567890123456789012345678901234", &why));

	CHECK(tund_network_set_prefix4(&a, "10.1.2.3/24", &why));
	tund_cidr_format(&a.prefix4, buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.1.2.0/24"));
	CHECK(!tund_network_set_prefix4(&a, "10.0.0.0/31", &why));
	CHECK(!tund_network_set_prefix4(&a, "10.0.0.0/7", &why));
	CHECK(!tund_network_set_prefix4(&a, "fd00::/64", &why));
	CHECK(!tund_network_set_prefix4(&a, "10.0.0.0", &why));
	tund_network_clear(&a);
	CHECK(sodium_is_zero(a.key, 32));
}

UNIT_TEST(network_invite_roundtrip)
{
	struct tund_network a, b;
	char text[TUND_INVITE_MAX_TEXT];
	const char *why = NULL;
	size_t len;

	CHECK(sodium_init() >= 0);
	full_network(&a);
	len = tund_invite_encode(&a, text, sizeof(text));
	CHECK(len > 6 && len == strlen(text));
	CHECK(!strncmp(text, "tund1:", 6));
	CHECK(!strpbrk(text, " \t\n=+/"));
	CHECK(tund_invite_decode(text, &b, &why));
	CHECK(net_equal(&a, &b));
	CHECK(!strcmp(b.turn[0].pass, "p@ss:w0rd") && b.turn[1].tcp && !b.turn[0].tcp);
	CHECK(!b.no_broadcast);
	a.no_broadcast = true;
	CHECK(tund_invite_encode(&a, text, sizeof(text)) > 0);
	CHECK(tund_invite_decode(text, &b, &why) && b.no_broadcast);
	a.no_broadcast = false;
	CHECK(tund_invite_encode(&a, text, sizeof(text)) == len);

	/* Whitespace around is fine. */
	{
		char padded[TUND_INVITE_MAX_TEXT + 8];
		snprintf(padded, sizeof(padded), " \n%s\r\n ", text);
		CHECK(tund_invite_decode(padded, &b, &why));
		CHECK(net_equal(&a, &b));
	}
	/* Too small a buffer fails cleanly. */
	CHECK(tund_invite_encode(&a, text, len) == 0);
	CHECK(tund_invite_encode(&a, text, len + 1) == len);

	/* A minimal network. */
	CHECK(tund_network_init_new(&a, "m", NULL));
	len = tund_invite_encode(&a, text, sizeof(text));
	CHECK(len > 0 && len < 100);
	CHECK(tund_invite_decode(text, &b, &why));
	CHECK(net_equal(&a, &b));

	/* Largest possible network still fits TUND_INVITE_MAX_TEXT. */
	memset(a.name, 'n', 64);
	a.name[64] = '\0';
	strcpy(a.broker, "mqtt://");
	memset(a.broker + 7, 'b', 242);
	strcpy(a.broker + 249, ":65535");
	CHECK(strlen(a.broker) == 255);
	a.n_stun = TUND_NET_MAX_STUN;
	a.n_turn = TUND_NET_MAX_TURN;
	for (int i = 0; i < TUND_NET_MAX_STUN; i++) {
		memset(a.stun[i].host, 'h', 255);
		a.stun[i].host[255] = '\0';
		a.stun[i].port = 1;
	}
	for (int i = 0; i < TUND_NET_MAX_TURN; i++) {
		memset(a.turn[i].host, 'h', 255);
		a.turn[i].host[255] = '\0';
		memset(a.turn[i].user, '%', 127);
		a.turn[i].user[127] = '\0';
		memset(a.turn[i].pass, '~', 127);
		a.turn[i].pass[127] = '\0';
		a.turn[i].port = 65535;
	}
	len = tund_invite_encode(&a, text, sizeof(text));
	CHECK(len > 3000);
	CHECK(tund_invite_decode(text, &b, &why));
	CHECK(net_equal(&a, &b));
	/* With an admin and a limited invite's token it still fits. */
	a.has_admin = a.has_token = true;
	a.invite_expires_ms = UINT64_MAX;
	CHECK(tund_invite_encode(&a, text, sizeof(text)) > len);
	CHECK(tund_invite_decode(text, &b, &why) && b.has_token && b.has_admin);
}

static void raw_invite(char *text, size_t cap, const uint8_t *bin, size_t len);
static size_t base_fields(uint8_t *b, uint8_t version, uint8_t prefix_len, uint8_t last_octet);

/* A limited invite carries its token and expiry; a plain one neither. */
UNIT_TEST(network_invite_limited_roundtrip)
{
	struct tund_network a, b;
	char text[TUND_INVITE_MAX_TEXT];
	const char *why = NULL;
	size_t plain;

	CHECK(sodium_init() >= 0);
	full_network(&a);
	plain = tund_invite_encode(&a, text, sizeof(text));
	CHECK(plain > 0 && tund_invite_decode(text, &b, &why));
	CHECK(!b.has_token && b.invite_expires_ms == 0);
	randombytes_buf(a.invite_token, sizeof(a.invite_token));
	a.has_token = true;
	a.invite_expires_ms = 1796590800000ull; /* 2026-12-06 21:00:00 UTC */
	CHECK(tund_invite_encode(&a, text, sizeof(text)) > plain);
	memset(&b, 0, sizeof(b));
	CHECK(tund_invite_decode(text, &b, &why));
	CHECK(net_equal(&a, &b) && b.has_token);
	CHECK(!memcmp(a.invite_token, b.invite_token, sizeof(a.invite_token)));
	CHECK(b.invite_expires_ms == 1796590800000ull);
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&b, sizeof(b));

	/* A token without an expiry, a short token: refused. */
	uint8_t bin[128];
	size_t n = base_fields(bin, 1, 24, 0);
	bin[n] = 10, bin[n + 1] = 0, bin[n + 2] = 16;
	memset(bin + n + 3, 7, 16);
	raw_invite(text, sizeof(text), bin, n + 19);
	why = NULL;
	CHECK(!tund_invite_decode(text, &b, &why) && why && strstr(why, "expiry"));
	bin[n + 2] = 15;
	raw_invite(text, sizeof(text), bin, n + 18);
	CHECK(!tund_invite_decode(text, &b, &why) && strstr(why, "token"));
}

/* After a rekey the invite carries the root key and the epoch: addresses,
 * prefix6 and the record id stay those of epoch 0; the topics move. */
UNIT_TEST(network_rekey_keeps_addresses_moves_topics)
{
	struct tund_network a, b;
	char text[TUND_INVITE_MAX_TEXT], t0[TUND_NET_TOPIC_MAX], t1[TUND_NET_TOPIC_MAX];
	uint8_t k1[32], pub[32], v4a[4], v6a[16], v4b[4], v6b[16], id0[16], id1[16];
	const char *why = NULL;

	CHECK(sodium_init() >= 0);
	full_network(&a);
	tu_fill(pub, 32, 3);
	tu_fill(k1, 32, 5);
	CHECK(tund_network_address(&a, pub, 0, v4a, v6a));
	tund_network_record_id(&a, id0);
	tund_network_announce_topic(&a, pub, t0, sizeof(t0));
	CHECK(a.epoch == 0 && !memcmp(a.root, a.key, 32));
	CHECK(tund_network_rekey(&a, 1, k1));
	CHECK(!tund_network_rekey(&a, 1, k1)); /* not newer */
	memset(k1, 0, 32);
	CHECK(!tund_network_rekey(&a, 2, k1)); /* all zero */
	CHECK(a.epoch == 1);
	CHECK(tund_invite_encode(&a, text, sizeof(text)) > 0);
	memset(&b, 0, sizeof(b));
	CHECK(tund_invite_decode(text, &b, &why));
	CHECK(net_equal(&a, &b) && b.epoch == 1 && !memcmp(b.root, a.root, 32));
	CHECK(tund_network_address(&b, pub, 0, v4b, v6b));
	CHECK(!memcmp(v4a, v4b, 4) && !memcmp(v6a, v6b, 16));
	tund_network_record_id(&b, id1);
	CHECK(!memcmp(id0, id1, 16));
	tund_network_announce_topic(&b, pub, t1, sizeof(t1));
	CHECK(strcmp(t0, t1) != 0);
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&b, sizeof(b));

	/* A root key without an epoch, or epoch 0: refused. */
	uint8_t bin[128];
	size_t n = base_fields(bin, 1, 24, 0);
	bin[n] = 12, bin[n + 1] = 0, bin[n + 2] = 32;
	memset(bin + n + 3, 7, 32);
	raw_invite(text, sizeof(text), bin, n + 35);
	CHECK(!tund_invite_decode(text, &b, &why) && why && strstr(why, "epoch"));
	bin[n + 35] = 13, bin[n + 36] = 0, bin[n + 37] = 4;
	memset(bin + n + 38, 0, 4);
	raw_invite(text, sizeof(text), bin, n + 42);
	CHECK(!tund_invite_decode(text, &b, &why) && strstr(why, "bad epoch"));
	bin[n + 41] = 2;
	raw_invite(text, sizeof(text), bin, n + 42);
	CHECK(tund_invite_decode(text, &b, &why) && b.epoch == 2);
}

/* Builds an invite from raw bytes (version byte included), adding the check. */
static void raw_invite(char *text, size_t cap, const uint8_t *bin, size_t len)
{
	uint8_t b[600];

	memcpy(b, bin, len);
	tund_blake2s(b + len, 4, b, len, NULL, 0);
	strcpy(text, "tund1:");
	sodium_bin2base64(text + 6, cap - 6, b, len + 4, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static size_t base_fields(uint8_t *b, uint8_t version, uint8_t prefix_len, uint8_t last_octet)
{
	size_t n = 0;

	b[n++] = version;
	b[n++] = 1, b[n++] = 0, b[n++] = 3;
	memcpy(b + n, "abc", 3), n += 3;
	b[n++] = 2, b[n++] = 0, b[n++] = 32;
	memset(b + n, 0x42, 32), n += 32;
	b[n++] = 3, b[n++] = 0, b[n++] = 5;
	b[n++] = 10, b[n++] = 5, b[n++] = 0, b[n++] = last_octet, b[n++] = prefix_len;
	return n;
}

UNIT_TEST(network_invite_rejects)
{
	struct tund_network a, b;
	char text[TUND_INVITE_MAX_TEXT], bad[TUND_INVITE_MAX_TEXT + 16];
	uint8_t bin[512];
	const char *why;
	size_t n;

	CHECK(sodium_init() >= 0);
	/* The hand-built base decodes, and unknown tags are skipped. */
	n = base_fields(bin, 1, 24, 0);
	raw_invite(text, sizeof(text), bin, n);
	CHECK(tund_invite_decode(text, &b, NULL));
	CHECK(!strcmp(b.name, "abc") && b.prefix4.prefix == 24);
	bin[n] = 200, bin[n + 1] = 0, bin[n + 2] = 2, bin[n + 3] = 1, bin[n + 4] = 2;
	raw_invite(text, sizeof(text), bin, n + 5);
	CHECK(tund_invite_decode(text, &b, NULL));

	/* Bad prefixes: too long, too short, host bits set. */
	n = base_fields(bin, 1, 31, 0);
	raw_invite(text, sizeof(text), bin, n);
	why = NULL;
	CHECK(!tund_invite_decode(text, &b, &why) && why && strstr(why, "prefix"));
	n = base_fields(bin, 1, 7, 0);
	raw_invite(text, sizeof(text), bin, n);
	CHECK(!tund_invite_decode(text, &b, NULL));
	n = base_fields(bin, 1, 24, 1);
	raw_invite(text, sizeof(text), bin, n);
	CHECK(!tund_invite_decode(text, &b, NULL));

	/* Wrong version byte, and wrong text version. */
	n = base_fields(bin, 2, 24, 0);
	raw_invite(text, sizeof(text), bin, n);
	why = NULL;
	CHECK(!tund_invite_decode(text, &b, &why) && why && strstr(why, "version"));
	CHECK(!tund_invite_decode("tund2:AQ", &b, &why) && strstr(why, "version"));

	/* Trailing bytes that do not make a field; a truncated field. */
	n = base_fields(bin, 1, 24, 0);
	bin[n] = 9;
	raw_invite(text, sizeof(text), bin, n + 1);
	CHECK(!tund_invite_decode(text, &b, NULL));
	bin[n] = 9, bin[n + 1] = 0, bin[n + 2] = 10;
	raw_invite(text, sizeof(text), bin, n + 5);
	CHECK(!tund_invite_decode(text, &b, NULL));

	/* Duplicate and missing fields. */
	n = base_fields(bin, 1, 24, 0);
	memcpy(bin + n, bin + 1, 6);
	raw_invite(text, sizeof(text), bin, n + 6);
	CHECK(!tund_invite_decode(text, &b, NULL));
	raw_invite(text, sizeof(text), bin, n - 8);
	CHECK(!tund_invite_decode(text, &b, NULL));

	/* A flipped check byte. */
	n = base_fields(bin, 1, 24, 0);
	raw_invite(text, sizeof(text), bin, n);
	text[strlen(text) - 2] = text[strlen(text) - 2] == 'A' ? 'B' : 'A';
	why = NULL;
	CHECK(!tund_invite_decode(text, &b, &why) && why && strstr(why, "damaged"));

	/* Every truncation of a full invite fails; none crashes. */
	full_network(&a);
	CHECK(tund_invite_encode(&a, text, sizeof(text)) > 0);
	for (size_t cut = 0; cut < strlen(text); cut++) {
		snprintf(bad, sizeof(bad), "%.*s", (int)cut, text);
		CHECK(!tund_invite_decode(bad, &b, NULL));
	}
	/* Trailing garbage, bad base64, embedded space. */
	snprintf(bad, sizeof(bad), "%sAA", text);
	CHECK(!tund_invite_decode(bad, &b, NULL));
	snprintf(bad, sizeof(bad), "%s!", text);
	CHECK(!tund_invite_decode(bad, &b, NULL));
	snprintf(bad, sizeof(bad), "%.20s %s", text, text + 20);
	CHECK(!tund_invite_decode(bad, &b, NULL));
	snprintf(bad, sizeof(bad), "%.20s+%s", text, text + 21);
	CHECK(!tund_invite_decode(bad, &b, NULL));
	CHECK(!tund_invite_decode("", &b, NULL));
	CHECK(!tund_invite_decode("tund1:", &b, NULL));
	CHECK(!tund_invite_decode(NULL, &b, NULL));
	CHECK(!tund_invite_decode("hello", &b, NULL));

	/* Invalid networks are not encoded. */
	a.n_stun = 3;
	CHECK(tund_invite_encode(&a, text, sizeof(text)) == 0);
	full_network(&a);
	strcpy(a.broker, "http://x");
	CHECK(tund_invite_encode(&a, text, sizeof(text)) == 0);
}

UNIT_TEST(network_url_parsers)
{
	struct tund_broker br;
	struct tund_stun_server s;
	struct tund_turn_server t;
	const char *why;
	char buf[1024];

	CHECK(tund_parse_broker_url("mqtt://broker.example.org", &br, NULL));
	CHECK(!strcmp(br.host, "broker.example.org") && br.port == 1883 && !br.tls);
	CHECK(tund_parse_broker_url("mqtt://10.0.0.1:1884", &br, NULL));
	CHECK(!strcmp(br.host, "10.0.0.1") && br.port == 1884);
	CHECK(tund_parse_broker_url("mqtt://[fd00::1]:1", &br, NULL));
	CHECK(!strcmp(br.host, "fd00::1") && br.port == 1);
	CHECK(tund_parse_broker_url("mqtts://b", &br, NULL) && br.tls && br.port == 8883);
	static const char *const bad_broker[] = {
		"", "mqtt://", "mqtt://:1883", "http://x", "mqtt://h:0", "mqtt://h:65536",
		"mqtt://h:", "mqtt://h:12a", "mqtt://fd00::1", "mqtt://[fd00::1", "mqtt://[x]:1",
		"mqtt://[10.0.0.1]", "mqtt://u:p@h", "mqtt://h/path", "mqtt://h x", "mqtt://h:1:2",
		"mqtt://[::1]x", "MQTT://h",
	};
	for (size_t i = 0; i < sizeof(bad_broker) / sizeof(*bad_broker); i++) {
		why = NULL;
		CHECK(!tund_parse_broker_url(bad_broker[i], &br, &why) && why);
	}

	CHECK(tund_parse_stun("stun.l.google.com:19302", &s, NULL));
	CHECK(!strcmp(s.host, "stun.l.google.com") && s.port == 19302);
	CHECK(tund_parse_stun("stun:stun.example.org", &s, NULL) && s.port == 3478);
	CHECK(tund_parse_stun("[2001:db8::9]", &s, NULL) && !strcmp(s.host, "2001:db8::9"));
	CHECK(tund_format_stun(&s, buf, sizeof(buf)) && !strcmp(buf, "[2001:db8::9]:3478"));
	CHECK(!tund_parse_stun("", &s, &why));
	CHECK(!tund_parse_stun("stun:", &s, &why));
	CHECK(!tund_parse_stun("2001:db8::9", &s, &why));
	CHECK(!tund_parse_stun("h:99999", &s, &why));
	CHECK(!tund_parse_stun("stun://h", &s, &why));

	CHECK(tund_parse_turn_url("turn://u%20x:p%2Fw@turn.example.org:3479?transport=tcp", &t,
				  NULL));
	CHECK(!strcmp(t.user, "u x") && !strcmp(t.pass, "p/w") && t.port == 3479 && t.tcp);
	CHECK(!strcmp(t.host, "turn.example.org"));
	CHECK(tund_format_turn_url(&t, TUND_TURN_FULL, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "turn://u%20x:p%2Fw@turn.example.org:3479?transport=tcp"));
	CHECK(tund_parse_turn_url("turn://u:p@[fd00::7]", &t, NULL));
	CHECK(!strcmp(t.host, "fd00::7") && t.port == 3478 && !t.tcp);
	CHECK(tund_parse_turn_url("turn://u:p@h?transport=udp", &t, NULL) && !t.tcp);
	CHECK(tund_parse_turn_url("turn:h:5349?transport=tcp", &t, NULL));
	CHECK(t.tcp && t.port == 5349 && !t.user[0] && !t.pass[0]);
	CHECK(tund_parse_turn_url_creds("turn:h", "us:er", "p@ss", &t, NULL));
	CHECK(!strcmp(t.user, "us:er") && !strcmp(t.pass, "p@ss"));
	CHECK(tund_format_turn_url(&t, TUND_TURN_FULL, buf, sizeof(buf)));
	CHECK(tund_parse_turn_url(buf, &t, NULL) && !strcmp(t.user, "us:er") &&
	      !strcmp(t.pass, "p@ss"));
	CHECK(tund_parse_turn_url_creds("turn://a:b@h", "c", NULL, &t, NULL));
	CHECK(!strcmp(t.user, "c") && !strcmp(t.pass, "b"));
	CHECK(!tund_format_turn_url(&t, TUND_TURN_FULL, buf, 10));
	static const char *const bad_turn[] = {
		"", "turn:", "turn://", "turns:h", "stun:h", "turn://u:p@", "turn:u:p@h",
		"turn://u:p@h?transport=tls", "turn://u:p@h?", "turn://u:p@h?transport=udp&x=1",
		"turn://u%zz:p@h", "turn://u%0:p@h", "turn://u%00:p@h", "turn://u:p%0a@h",
		"turn://u:p@fd00::1", "turn://u:p@h:0",
	};
	for (size_t i = 0; i < sizeof(bad_turn) / sizeof(*bad_turn); i++) {
		why = NULL;
		CHECK(!tund_parse_turn_url(bad_turn[i], &t, &why) && why);
	}
	{
		char longu[300] = "turn://";
		memset(longu + 7, 'u', 128);
		strcpy(longu + 135, ":p@h");
		CHECK(!tund_parse_turn_url(longu, &t, NULL));
		longu[135] = '\0';
		CHECK(!tund_parse_turn_url_creds("turn:h", longu + 7, NULL, &t, NULL));
		longu[134] = '\0';
		CHECK(tund_parse_turn_url_creds("turn:h", longu + 7, NULL, &t, NULL));
	}
	CHECK(!tund_parse_turn_url_creds("turn:h", "a\nb", NULL, &t, NULL));
}

UNIT_TEST(network_address_in_prefix)
{
	struct tund_network n;
	uint8_t pk[32], v4[4], v6[16], v6b[16];
	static const char *const prefixes[] = { "10.77.0.0/16", "10.0.0.0/8", "192.168.5.0/24",
						"172.16.0.0/30", "10.1.2.8/29", "100.64.0.0/10" };

	CHECK(sodium_init() >= 0);
	CHECK(tund_network_init_new(&n, "a", NULL));
	for (size_t p = 0; p < sizeof(prefixes) / sizeof(*prefixes); p++) {
		CHECK(tund_network_set_prefix4(&n, prefixes[p], NULL));
		uint32_t base = (uint32_t)n.prefix4.addr[0] << 24 | n.prefix4.addr[1] << 16 |
				n.prefix4.addr[2] << 8 | n.prefix4.addr[3];
		uint32_t size = 1u << (32 - n.prefix4.prefix);
		for (uint32_t i = 0; i < 400; i++) {
			tu_fill(pk, 32, i + 1);
			CHECK(tund_network_address(&n, pk, i % 5, v4, v6));
			uint32_t a = (uint32_t)v4[0] << 24 | v4[1] << 16 | v4[2] << 8 | v4[3];
			CHECK(tund_cidr_contains(&n.prefix4, v4));
			CHECK(a != base && a != base + size - 1);
			CHECK(tund_cidr_contains(&n.prefix6, v6));
			CHECK(tund_network_address(&n, pk, i % 5 + 1, v4, v6b));
			CHECK(!memcmp(v6, v6b, 16));
		}
	}
	/* Deterministic. */
	tu_fill(pk, 32, 99);
	CHECK(tund_network_address(&n, pk, 0, v4, v6));
	uint8_t v4b[4];
	CHECK(tund_network_address(&n, pk, 0, v4b, v6b));
	CHECK(!memcmp(v4, v4b, 4) && !memcmp(v6, v6b, 16));
	/* /31 and /32 are refused. */
	n.prefix4.prefix = 31;
	CHECK(!tund_network_address(&n, pk, 0, v4, v6));
	n.prefix4.prefix = 32;
	CHECK(!tund_network_address(&n, pk, 0, v4, v6));
}

static bool assignments_unique(const struct tund_network *n, uint8_t (*v4)[4], uint8_t (*v6)[16],
			       size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!tund_cidr_contains(&n->prefix4, v4[i]) || !tund_cidr_contains(&n->prefix6, v6[i]))
			return false;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(v4[i], v4[j], 4) || !memcmp(v6[i], v6[j], 16))
				return false;
	}
	return true;
}

UNIT_TEST(network_assign_collisions)
{
	enum { N = 10 };
	struct tund_network n;
	uint8_t keys[N][32], shuffled[N][32], v4[N][4], v6[N][16], s4[N][4], s6[N][16];
	uint8_t a4[4], a6[16];
	size_t perm[N];
	unsigned forced = 0;

	CHECK(sodium_init() >= 0);
	CHECK(tund_network_init_new(&n, "small", NULL));
	/* A fixed network key and root (the addresses come from the root): with
	 * a random one, 10 keys in 14 hosts have no attempt-0 collision about 1%
	 * of the time and the test below flaked (it still did with the key
	 * alone fixed, as the root stayed random). */
	tu_fill(n.key, sizeof(n.key), 77);
	memcpy(n.root, n.key, sizeof(n.root));
	CHECK(tund_network_set_prefix4(&n, "10.1.2.16/28", NULL)); /* 14 hosts */
	for (int i = 0; i < N; i++)
		tu_fill(keys[i], 32, 1000 + (uint32_t)i);
	CHECK(tund_network_assign(&n, (const uint8_t(*)[32])keys, N, v4, v6));
	CHECK(assignments_unique(&n, v4, v6, N));
	/* 10 members in 14 hosts: some attempt-0 addresses collide. */
	for (int i = 0; i < N; i++) {
		CHECK(tund_network_address(&n, keys[i], 0, a4, a6));
		forced += memcmp(a4, v4[i], 4) != 0;
		CHECK(!memcmp(a6, v6[i], 16));
	}
	CHECK(forced > 0);

	/* Any input order gives each key the same addresses. */
	for (uint32_t round = 0; round < 50; round++) {
		uint8_t r[N];
		for (int i = 0; i < N; i++)
			perm[i] = (size_t)i;
		tu_fill(r, N, round + 1);
		for (int i = N - 1; i > 0; i--) {
			size_t j = r[i] % (size_t)(i + 1), t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		for (int i = 0; i < N; i++)
			memcpy(shuffled[i], keys[perm[i]], 32);
		CHECK(tund_network_assign(&n, (const uint8_t(*)[32])shuffled, N, s4, s6));
		for (int i = 0; i < N; i++) {
			CHECK(!memcmp(s4[i], v4[perm[i]], 4));
			CHECK(!memcmp(s6[i], v6[perm[i]], 16));
		}
	}

	/* A /30 has 2 hosts: 2 members fit, the third does not. */
	CHECK(tund_network_set_prefix4(&n, "10.1.2.0/30", NULL));
	CHECK(tund_network_assign(&n, (const uint8_t(*)[32])keys, 2, v4, v6));
	CHECK(assignments_unique(&n, v4, v6, 2));
	CHECK(!tund_network_assign(&n, (const uint8_t(*)[32])keys, 3, v4, v6));

	/* A full /28: 14 members take all 14 hosts. */
	{
		uint8_t k14[14][32], o4[14][4], o6[14][16];
		CHECK(tund_network_set_prefix4(&n, "10.1.2.16/28", NULL));
		for (int i = 0; i < 14; i++)
			tu_fill(k14[i], 32, 50 + (uint32_t)i);
		CHECK(tund_network_assign(&n, (const uint8_t(*)[32])k14, 14, o4, o6));
		CHECK(assignments_unique(&n, o4, o6, 14));
	}
	/* A duplicated key gets the same address twice. */
	memcpy(keys[1], keys[0], 32);
	CHECK(tund_network_assign(&n, (const uint8_t(*)[32])keys, N, v4, v6));
	CHECK(!memcmp(v4[0], v4[1], 4) && !memcmp(v6[0], v6[1], 16));
	CHECK(tund_network_assign(&n, NULL, 0, NULL, NULL));
}

UNIT_TEST(network_assign_large)
{
	enum { N = 10000 };
	struct tund_network n;
	uint8_t(*keys)[32] = malloc(N * sizeof(*keys));
	uint8_t(*v4)[4] = malloc(N * sizeof(*v4));
	uint8_t(*v6)[16] = malloc(N * sizeof(*v6));
	uint8_t *seen = calloc(1u << 14, 1);

	CHECK(sodium_init() >= 0);
	CHECK(keys && v4 && v6 && seen);
	CHECK(tund_network_init_new(&n, "big", NULL));
	CHECK(tund_network_set_prefix4(&n, "10.64.0.0/18", NULL)); /* 16382 hosts */
	tu_fill((uint8_t *)keys, N * 32, 4242);
	CHECK(tund_network_assign(&n, (const uint8_t(*)[32])keys, N, v4, v6));
	for (int i = 0; i < N; i++) {
		unsigned h = (unsigned)((v4[i][2] & 0x3f) << 8 | v4[i][3]);
		CHECK(tund_cidr_contains(&n.prefix4, v4[i]) && h != 0 && h != 0x3fff);
		CHECK(!seen[h]);
		seen[h] = 1;
	}
	free(keys);
	free(v4);
	free(v6);
	free(seen);
}

UNIT_TEST(network_derivations)
{
	struct tund_network a, b;
	uint8_t id1[16], id2[16], psk1[32], psk2[32], pk[32], pk2[32];
	char t1[TUND_NET_TOPIC_MAX], t2[TUND_NET_TOPIC_MAX], t3[TUND_NET_TOPIC_MAX];
	char idhex[33];

	CHECK(sodium_init() >= 0);
	CHECK(tund_network_init_new(&a, "a", NULL));
	CHECK(tund_network_init_new(&b, "a", NULL));
	tund_network_id(a.key, id1);
	tund_network_id(a.key, id2);
	CHECK(!memcmp(id1, id2, 16));
	tund_network_id(b.key, id2);
	CHECK(memcmp(id1, id2, 16) != 0);
	tund_network_psk(a.key, psk1);
	tund_network_psk(a.key, psk2);
	CHECK(!memcmp(psk1, psk2, 32));
	tund_network_psk(b.key, psk2);
	CHECK(memcmp(psk1, psk2, 32) != 0);
	CHECK(memcmp(psk1, a.key, 32) != 0 && memcmp(psk1, id1, 16) != 0);

	/* Known answers (key = 00..1f), computed independently with Python's
	 * hashlib.blake2s and hmac, pin the derivations documented in network.h. */
	for (int i = 0; i < 32; i++)
		a.key[i] = a.root[i] = (uint8_t)i; /* epoch 0: the key is the root */
	tund_network_derive_prefix6(&a);
	CHECK(tund_network_set_prefix4(&a, "10.77.0.0/16", NULL));
	tund_network_id(a.key, id1);
	tund_network_psk(a.key, psk1);
	CHECK(tu_hex_eq(id1, 16, "1d61bb7b970d4579450d18bf93668c9f"));
	CHECK(tu_hex_eq(psk1, 32, "b59759d7591e3ee021e708506282551af0f37061c4d88a145fb9f557f571da4b"));
	memset(pk, 0, 32);
	pk[0] = 9;
	{
		uint8_t v4[4], v6[16];
		CHECK(tund_network_address(&a, pk, 0, v4, v6));
		CHECK(v4[0] == 10 && v4[1] == 77 && v4[2] == 104 && v4[3] == 141);
		CHECK(tund_network_inbox_topic(&a, pk, t1, sizeof(t1)));
		CHECK(!strcmp(t1, "tund/1d61bb7b970d4579450d18bf93668c9f/"
				  "c3a53ebe2be9d99f7b108d4c2c3b644f"));
	}
	sodium_bin2hex(idhex, sizeof(idhex), id1, 16);

	CHECK(tund_network_topic_prefix(&a, t1, sizeof(t1)));
	CHECK(!strncmp(t1, "tund/", 5) && !strcmp(t1 + 5, idhex) && strlen(t1) == 37);
	tu_fill(pk, 32, 5);
	tu_fill(pk2, 32, 6);
	CHECK(tund_network_inbox_topic(&a, pk, t2, sizeof(t2)));
	CHECK(!strncmp(t2, t1, 37) && t2[37] == '/' && strlen(t2) == 37 + 1 + 32);
	CHECK(tund_network_announce_topic(&a, pk, t3, sizeof(t3)));
	CHECK(!strncmp(t3, t1, 37) && !strncmp(t3 + 37, "/a/", 3) && strlen(t3) == 37 + 3 + 32);
	/* The opaque tags are neither the key's hex nor each other. */
	{
		char pkhex[65];
		sodium_bin2hex(pkhex, sizeof(pkhex), pk, 32);
		CHECK(!strstr(t2, pkhex) && strncmp(t2 + 38, pkhex, 32) != 0);
		CHECK(strcmp(t2 + 38, t3 + 40) != 0);
	}
	CHECK(tund_network_inbox_topic(&a, pk, t1, sizeof(t1)) && !strcmp(t1, t2));
	CHECK(tund_network_inbox_topic(&a, pk2, t1, sizeof(t1)) && strcmp(t1, t2) != 0);
	CHECK(tund_network_inbox_topic(&b, pk, t1, sizeof(t1)) && strcmp(t1, t2) != 0);
	CHECK(tund_network_announce_topic(&b, pk, t1, sizeof(t1)) && strcmp(t1, t3) != 0);
	CHECK(!tund_network_inbox_topic(&a, pk, t1, 70));
	CHECK(tund_network_inbox_topic(&a, pk, t1, 71));
	CHECK(!tund_network_topic_prefix(&a, t1, 37));
}

static struct tund_cidr cidr(const char *text)
{
	struct tund_cidr c;

	CHECK(tund_cidr_parse(&c, text, false));
	return c;
}

UNIT_TEST(network_prefix_overlap)
{
	struct tund_cidr a = cidr("10.77.0.0/16"), b = cidr("10.77.128.0/17"),
			 c = cidr("10.78.0.0/16"), d = cidr("10.0.0.0/8"), e = cidr("fd77::/64"),
			 h = cidr("10.78.3.4/24"); /* a host address: host bits set */

	CHECK(tund_network_prefix_overlap(&a, &a));
	CHECK(tund_network_prefix_overlap(&a, &b) && tund_network_prefix_overlap(&b, &a));
	CHECK(!tund_network_prefix_overlap(&a, &c) && !tund_network_prefix_overlap(&c, &a));
	CHECK(tund_network_prefix_overlap(&d, &c) && tund_network_prefix_overlap(&c, &d));
	CHECK(!tund_network_prefix_overlap(&a, &e)); /* other family */
	CHECK(tund_network_prefix_overlap(&c, &h) && !tund_network_prefix_overlap(&a, &h));
}

UNIT_TEST(network_pick_prefix4)
{
	struct tund_cidr out, taken[300];
	char text[TUND_CIDR_STRLEN];
	unsigned seen[256] = {0}, n = 0;

	/* Always a 10.X.0.0/16 with X in the range, whatever the seed. */
	for (uint32_t seed = 0; seed < 2000; seed++) {
		CHECK(tund_network_pick_prefix4(seed * 2654435761u, NULL, 0, &out));
		CHECK(out.family == AF_INET && out.prefix == 16 && out.addr[0] == 10 &&
		      !out.addr[2] && !out.addr[3]);
		CHECK(out.addr[1] >= 64 && out.addr[1] <= 250);
		CHECK(!(out.addr[1] >= 96 && out.addr[1] <= 111) && out.addr[1] != 244);
		seen[out.addr[1]]++;
	}
	for (unsigned x = 0; x < 256; x++)
		n += seen[x] > 0;
	CHECK(n > 100); /* spread over the range, not one fixed /16 */
	/* Never on a taken prefix: walk on to the next free one. */
	taken[0] = cidr("10.64.0.0/16");
	taken[1] = cidr("10.65.0.0/15"); /* masked: 10.64-10.65 */
	taken[2] = cidr("10.66.7.1/24");  /* a host address inside 10.66 */
	CHECK(tund_network_pick_prefix4(0, taken, 3, &out));
	tund_cidr_format(&out, text, sizeof(text));
	CHECK(!strcmp(text, "10.67.0.0/16"));
	/* A /8 taken by the host: nothing left. */
	taken[0] = cidr("10.0.0.0/8");
	CHECK(!tund_network_pick_prefix4(5, taken, 1, &out));
	/* Every candidate taken but one. */
	unsigned k = 0;
	for (unsigned x = 0; x < 256; x++) {
		if (x == 180)
			continue;
		taken[k] = cidr("10.0.0.0/16");
		taken[k++].addr[1] = (uint8_t)x;
	}
	CHECK(tund_network_pick_prefix4(12345, taken, k, &out));
	CHECK(out.addr[1] == 180);
}
