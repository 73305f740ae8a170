// SPDX-License-Identifier: MIT
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/keys.h"
#include "overlay/network.h"
#include "overlay/signal.h"
#include "overlay/xsign.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

struct party {
	uint8_t priv[32], pub[32];
};

static void party(struct party *p, uint32_t seed)
{
	tu_fill(p->priv, 32, seed);
	p->priv[0] &= 248;
	p->priv[31] = (p->priv[31] & 127) | 64;
	CHECK(tund_key_public(p->pub, p->priv));
}

/* A message of the given type from a to b with every field it may carry. */
static void sample(struct tund_signal *m, uint8_t type, const struct party *a,
		   const struct party *b)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	memcpy(m->sender, a->pub, 32);
	if (type != TUND_SIGNAL_ANNOUNCE)
		memcpy(m->recipient, b->pub, 32);
	m->time_ms = 1700000000123ull;
	m->session = 0xdeadbeef;
	if (type == TUND_SIGNAL_ANNOUNCE) {
		strcpy(m->name, "Zoë's laptop");
		m->listen_port = 51820;
	}
	if (type == TUND_SIGNAL_OFFER || type == TUND_SIGNAL_ANSWER ||
	    type == TUND_SIGNAL_RESTART) {
		strcpy(m->ufrag, "aB3+");
		strcpy(m->pwd, "0123456789abcdefghij/+");
	}
	if (type == TUND_SIGNAL_OFFER || type == TUND_SIGNAL_ANSWER ||
	    type == TUND_SIGNAL_CANDIDATE) {
		m->n_candidates = TUND_SIGNAL_MAX_CANDIDATES;
		for (unsigned i = 0; i < m->n_candidates; i++)
			snprintf(m->candidates[i], sizeof(m->candidates[i]),
				 "a=candidate:%u 1 UDP 2130706431 192.0.2.%u 5%04u typ host", i,
				 i + 1, i);
		m->end_of_candidates = true;
	}
	if (type == TUND_SIGNAL_JOIN) {
		tu_fill(m->token, sizeof(m->token), 9);
		m->has_token = true;
	}
	if (type == TUND_SIGNAL_REFUSED)
		strcpy(m->reason, "invite expired at 2026-12-06 21:00:00 UTC");
	if (type == TUND_SIGNAL_REKEY) {
		tu_fill(m->new_key, sizeof(m->new_key), 11);
		m->new_epoch = 7;
		m->has_new_key = true;
	}
}

static bool same(const struct tund_signal *a, const struct tund_signal *b)
{
	if (a->type != b->type || memcmp(a->sender, b->sender, 32) ||
	    memcmp(a->recipient, b->recipient, 32) || a->time_ms != b->time_ms ||
	    a->session != b->session || strcmp(a->name, b->name) ||
	    a->listen_port != b->listen_port || strcmp(a->ufrag, b->ufrag) ||
	    strcmp(a->pwd, b->pwd) || a->n_candidates != b->n_candidates ||
	    a->end_of_candidates != b->end_of_candidates || a->has_token != b->has_token ||
	    memcmp(a->token, b->token, sizeof(a->token)) || strcmp(a->reason, b->reason))
		return false;
	for (unsigned i = 0; i < a->n_candidates; i++)
		if (strcmp(a->candidates[i], b->candidates[i]))
			return false;
	return true;
}

static struct tund_signal m, got;
static uint8_t buf[TUND_SIGNAL_MAX_LEN];

UNIT_TEST(signal_roundtrip_each_type)
{
	struct party a, b;
	uint8_t netkey[32], id[16];
	size_t len;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	tu_fill(netkey, 32, 3);
	tund_network_id(netkey, id);
	for (uint8_t t = TUND_SIGNAL_ANNOUNCE; t <= TUND_SIGNAL_REFUSED; t++) {
		if (t == TUND_SIGNAL_RECORD)
			continue; /* needs a signed record: test_record.c */
		sample(&m, t, &a, &b);
		len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
		CHECK(len > TUND_SIGNAL_ANNOUNCE_HEADER_LEN + TUND_SIGNAL_TAG_LEN);
		CHECK(!memcmp(buf, "TS\2", 3) && buf[3] == (t == TUND_SIGNAL_ANNOUNCE ? 1 : 2) &&
		      !memcmp(buf + 4, id, 16));
		/* No public key in clear: a broker sees neither sender nor recipient. */
		CHECK(!memmem(buf, len, a.pub, 32) && !memmem(buf, len, b.pub, 32));
		CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
		CHECK(same(&m, &got));
		CHECK(!memcmp(got.netid, id, 16) && !memcmp(got.nonce, buf + 20, 24));
		/* The sender itself can open announces, not its own unicast to b. */
		if (t == TUND_SIGNAL_ANNOUNCE)
			CHECK(tund_signal_open(buf, len, netkey, a.priv, a.pub, &got) ==
			      TUND_SIGNAL_OK);
		else
			CHECK(tund_signal_open(buf, len, netkey, a.priv, a.pub, &got) ==
			      TUND_SIGNAL_NOT_FOR_ME);
		/* Too small a buffer fails. */
		CHECK(tund_signal_seal(&m, netkey, a.priv, buf, len - 1) == 0);
		/* Fresh nonce every time. */
		uint8_t buf2[TUND_SIGNAL_MAX_LEN];
		CHECK(tund_signal_seal(&m, netkey, a.priv, buf2, sizeof(buf2)) == len);
		CHECK(memcmp(buf + 20, buf2 + 20, 24) != 0);
	}
	/* Both directions of a unicast. */
	sample(&m, TUND_SIGNAL_ANSWER, &b, &a);
	len = tund_signal_seal(&m, netkey, b.priv, buf, sizeof(buf));
	CHECK(tund_signal_open(buf, len, netkey, a.priv, a.pub, &got) == TUND_SIGNAL_OK);
	CHECK(same(&m, &got));
}

/* A join carries a token and a refusal a reason, and nothing else does. */
UNIT_TEST(signal_join_and_refused_rules)
{
	struct party a, b;
	uint8_t netkey[32] = { 1 };

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	sample(&m, TUND_SIGNAL_JOIN, &a, &b);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) > 0);
	m.has_token = false;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	m.has_token = true;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_REFUSED, &a, &b);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) > 0);
	m.reason[0] = '\0';
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	strcpy(m.reason, "two\nlines");
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_BYE, &a, &b);
	strcpy(m.reason, "no");
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	/* Unicast: a join to nobody is refused. */
	sample(&m, TUND_SIGNAL_JOIN, &a, &b);
	memset(m.recipient, 0, 32);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
}

UNIT_TEST(signal_rekey_roundtrip_and_rules)
{
	struct party a, b, c;
	uint8_t netkey[32] = { 1 };
	struct tund_signal out;
	size_t len;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	party(&c, 3);
	sample(&m, TUND_SIGNAL_REKEY, &a, &b);
	len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	CHECK(len > 0);
	/* The new key is sealed: not in the message, and only b opens it. */
	CHECK(!memmem(buf, len, m.new_key, 32));
	CHECK(tund_signal_open(buf, len, netkey, c.priv, c.pub, &out) == TUND_SIGNAL_NOT_FOR_ME);
	CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &out) == TUND_SIGNAL_OK);
	CHECK(out.type == TUND_SIGNAL_REKEY && out.has_new_key && out.new_epoch == 7 &&
	      !memcmp(out.new_key, m.new_key, 32) && !memcmp(out.sender, a.pub, 32));
	/* A rekey without a key, with epoch 0 or an all-zero key is refused,
	 * and no other type carries a key. */
	m.has_new_key = false;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_REKEY, &a, &b);
	m.new_epoch = 0;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_REKEY, &a, &b);
	memset(m.new_key, 0, 32);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	m.has_new_key = true;
	m.new_epoch = 1;
	m.new_key[0] = 1;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
}

UNIT_TEST(signal_seal_refuses_invalid)
{
	struct party a, b;
	uint8_t netkey[32] = { 1 };

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) > 0);
	m.ufrag[0] = '\0';
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	strcpy(m.ufrag, "abc");
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	strcpy(m.pwd, "short");
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	strcpy(m.candidates[3], "candidate:1 1 UDP 1 1.2.3.4 5 typ host");
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	m.candidates[3][20] = '\n';
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	m.n_candidates = 17;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	memset(m.recipient, 0, 32);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_ANNOUNCE, &a, &b);
	memcpy(m.recipient, b.pub, 32);
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_ANNOUNCE, &a, &b);
	m.type = 7;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	m.type = 0;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	sample(&m, TUND_SIGNAL_ANNOUNCE, &a, &b);
	m.name[3] = 0x1b;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
	/* Low-order recipient key: no shared secret. */
	sample(&m, TUND_SIGNAL_BYE, &a, &b);
	memset(m.recipient, 0, 32);
	m.recipient[0] = 1;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
}

UNIT_TEST(signal_other_network_and_recipient)
{
	struct party a, b, c;
	uint8_t k1[32], k2[32];
	size_t len;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	party(&c, 3);
	tu_fill(k1, 32, 10);
	tu_fill(k2, 32, 11);
	for (uint8_t t = TUND_SIGNAL_ANNOUNCE; t <= TUND_SIGNAL_REFUSED; t++) {
		if (t == TUND_SIGNAL_RECORD)
			continue; /* needs a signed record: test_record.c */
		sample(&m, t, &a, &b);
		len = tund_signal_seal(&m, k1, a.priv, buf, sizeof(buf));
		CHECK(tund_signal_open(buf, len, k2, b.priv, b.pub, &got) ==
		      TUND_SIGNAL_OTHER_NETWORK);
		/* Someone in another network that forges our id still cannot open it. */
		tund_network_id(k2, buf + 4);
		CHECK(tund_signal_open(buf, len, k2, b.priv, b.pub, &got) ==
		      (t == TUND_SIGNAL_ANNOUNCE ? TUND_SIGNAL_FORGED : TUND_SIGNAL_NOT_FOR_ME));
		len = tund_signal_seal(&m, k1, a.priv, buf, sizeof(buf));
		CHECK(tund_signal_open(buf, len, k1, c.priv, c.pub, &got) ==
		      (t == TUND_SIGNAL_ANNOUNCE ? TUND_SIGNAL_OK : TUND_SIGNAL_NOT_FOR_ME));
		/* c pretending to be b (claims b's public key) lacks b's private key. */
		if (t != TUND_SIGNAL_ANNOUNCE)
			CHECK(tund_signal_open(buf, len, k1, c.priv, b.pub, &got) ==
			      TUND_SIGNAL_NOT_FOR_ME);
	}
}

UNIT_TEST(signal_tamper_anywhere)
{
	struct party a, b;
	uint8_t netkey[32];
	size_t len;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	tu_fill(netkey, 32, 4);
	for (uint8_t t = TUND_SIGNAL_ANNOUNCE; t <= TUND_SIGNAL_BYE; t += 2) {
		sample(&m, t, &a, &b);
		len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
		for (size_t i = 0; i < len; i++) {
			for (unsigned bit = 0; bit < 8; bit += 7) {
				enum tund_signal_verdict v;

				buf[i] ^= (uint8_t)(1u << bit);
				v = tund_signal_open(buf, len, netkey, b.priv, b.pub, &got);
				buf[i] ^= (uint8_t)(1u << bit);
				if (i < 4)
					CHECK(v == TUND_SIGNAL_MALFORMED ||
					      v == TUND_SIGNAL_OLD_VERSION);
				else if (i < 20)
					CHECK(v == TUND_SIGNAL_OTHER_NETWORK);
				else if (i < 124 && t != TUND_SIGNAL_ANNOUNCE)
					CHECK(v == TUND_SIGNAL_NOT_FOR_ME); /* sender box */
				else
					CHECK(v == TUND_SIGNAL_FORGED);
			}
		}
		CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
		/* Truncated and extended. */
		for (size_t cut = 0; cut < len; cut += 7)
			CHECK(tund_signal_open(buf, cut, netkey, b.priv, b.pub, &got) !=
			      TUND_SIGNAL_OK);
		buf[len] = 0;
		CHECK(tund_signal_open(buf, len + 1, netkey, b.priv, b.pub, &got) ==
		      TUND_SIGNAL_FORGED);
	}
	CHECK(tund_signal_open(buf, sizeof(buf), netkey, b.priv, b.pub, &got) !=
	      TUND_SIGNAL_OK);
}

UNIT_TEST(signal_wrong_sender_key)
{
	struct party a, b, mallory;
	uint8_t netkey[32];
	size_t len;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	party(&mallory, 66);
	tu_fill(netkey, 32, 5);
	/* Mallory is a member, seals with her own key, claims to be a. */
	for (uint8_t t = TUND_SIGNAL_OFFER; t <= TUND_SIGNAL_BYE; t++) {
		sample(&m, t, &a, &b);
		len = tund_signal_seal(&m, netkey, mallory.priv, buf, sizeof(buf));
		CHECK(len > 0);
		CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) ==
		      TUND_SIGNAL_FORGED);
	}
	/* Nor can she sign an announce as a: the signature is by her key. */
	sample(&m, TUND_SIGNAL_ANNOUNCE, &a, &b);
	len = tund_signal_seal(&m, netkey, mallory.priv, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_FORGED);
	/* A low-order sender key (sealed in the sender box) never yields a
	 * shared secret. */
	sample(&m, TUND_SIGNAL_BYE, &a, &b);
	memset(m.sender, 0, 32);
	len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_FORGED);
	m.sender[0] = 1;
	len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_FORGED);
	/* A version 1 message is told apart, so the daemon can say "upgrade". */
	sample(&m, TUND_SIGNAL_BYE, &a, &b);
	len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	buf[2] = 1;
	CHECK(tund_signal_open(buf, len, netkey, b.priv, b.pub, &got) ==
	      TUND_SIGNAL_OLD_VERSION);
}

UNIT_TEST(signal_zero_key_manual)
{
	static const uint8_t zero[32];
	struct party a, b, c;
	uint8_t other[32] = { 9 };
	size_t len;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	party(&c, 3);
	for (uint8_t t = TUND_SIGNAL_ANNOUNCE; t <= TUND_SIGNAL_REFUSED; t++) {
		if (t == TUND_SIGNAL_RECORD)
			continue; /* needs a signed record: test_record.c */
		sample(&m, t, &a, &b);
		len = tund_signal_seal(&m, zero, a.priv, buf, sizeof(buf));
		CHECK(len > 0 && sodium_is_zero(buf + 4, 16));
		CHECK(tund_signal_open(buf, len, zero, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
		CHECK(same(&m, &got) && sodium_is_zero(got.netid, 16));
		CHECK(tund_signal_open(buf, len, other, b.priv, b.pub, &got) ==
		      TUND_SIGNAL_OTHER_NETWORK);
		if (t != TUND_SIGNAL_ANNOUNCE) {
			/* Still only between the two keys. */
			CHECK(tund_signal_open(buf, len, zero, c.priv, c.pub, &got) ==
			      TUND_SIGNAL_NOT_FOR_ME);
		}
	}
}

UNIT_TEST(signal_malformed_payload)
{
	struct party a, b;
	uint8_t netkey[32], key[32], payload[256];
	unsigned long long clen;
	size_t n;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	tu_fill(netkey, 32, 6);
	/* Build announces by hand, as the header comment documents, with bad payloads. */
	{
		static const char label[] = "tund sig announce v2";
		tund_blake2s_kdf1(key, netkey, (const uint8_t *)label, sizeof(label));
	}
	static const struct {
		uint8_t p[16];
		size_t len;
		enum tund_signal_verdict v;
	} cases[] = {
		{ { 0 }, 0, TUND_SIGNAL_OK },                             /* empty payload */
		{ { 1, 0, 4, 0, 0, 0, 7 }, 7, TUND_SIGNAL_OK },          /* session */
		{ { 99, 0, 2, 1, 2 }, 5, TUND_SIGNAL_OK },               /* unknown tag */
		{ { 1, 0, 3, 0, 0, 7 }, 6, TUND_SIGNAL_MALFORMED },      /* short session */
		{ { 1, 0, 4, 0, 0, 0 }, 6, TUND_SIGNAL_MALFORMED },      /* truncated */
		{ { 1, 0 }, 2, TUND_SIGNAL_MALFORMED },                  /* cut header */
		{ { 2, 0, 2, 'a', 1 }, 5, TUND_SIGNAL_MALFORMED },       /* control in name */
		{ { 4, 0, 3, 'a', 'b', 'c' }, 6, TUND_SIGNAL_MALFORMED }, /* short ufrag */
		{ { 6, 0, 3, 'a', '=', 'c' }, 6, TUND_SIGNAL_MALFORMED }, /* bad candidate */
		{ { 7, 0, 1, 0 }, 4, TUND_SIGNAL_MALFORMED },            /* eoc with data */
		{ { 3, 0, 2, 0, 1, 3, 0, 2, 0, 2 }, 10, TUND_SIGNAL_MALFORMED }, /* twice */
		{ { 13, 0, 1, 2 }, 4, TUND_SIGNAL_MALFORMED },           /* mapping: not an offer */
		{ { 13, 0, 2, 2, 2 }, 5, TUND_SIGNAL_MALFORMED },        /* mapping: 2 bytes */
		{ { 13, 0, 0 }, 3, TUND_SIGNAL_MALFORMED },              /* mapping: empty */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		static const char sig_label[] = "tund sig announce signature v2";
		uint8_t body[256], signed_bytes[256];
		size_t sl = sizeof(sig_label);

		memcpy(buf, "TS\2\1", 4);
		tund_network_id(netkey, buf + 4);
		randombytes_buf(buf + 20, 24);
		body[0] = TUND_SIGNAL_ANNOUNCE;
		memcpy(body + 1, a.pub, 32);
		memset(body + 33, 0, 8);
		memcpy(body + 137, cases[i].p, cases[i].len);
		memcpy(signed_bytes, sig_label, sl);
		memcpy(signed_bytes + sl, buf, 44);
		memcpy(signed_bytes + sl + 44, body, 41);
		memcpy(signed_bytes + sl + 85, cases[i].p, cases[i].len);
		CHECK(tund_xsign(body + 41, signed_bytes, sl + 85 + cases[i].len, a.priv));
		memcpy(payload, body, 137 + cases[i].len);
		crypto_aead_xchacha20poly1305_ietf_encrypt(buf + 44, &clen, payload,
							   137 + cases[i].len, buf, 44, NULL,
							   buf + 20, key);
		n = 44 + (size_t)clen;
		CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == cases[i].v);
	}
	/* Bad magic, version, kind. */
	sample(&m, TUND_SIGNAL_ANNOUNCE, &a, &b);
	n = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	buf[2] = 3;
	CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_MALFORMED);
	buf[2] = 2;
	buf[3] = 7;
	CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_MALFORMED);
	buf[3] = 1;
	buf[0] = 'X';
	CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_MALFORMED);
	buf[0] = 'T';
	CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
	CHECK(!strcmp(tund_signal_verdict_str(TUND_SIGNAL_FORGED), "forged"));
}

UNIT_TEST(signal_replay_window)
{
	struct tund_signal_replay r;
	uint8_t nonce[24];
	const uint64_t now = 1700000000000ull;

	tund_signal_replay_init(&r);
	tu_fill(nonce, 24, 1);
	CHECK(tund_signal_replay_check(&r, now, nonce, now) == TUND_SIGNAL_REPLAY_OK);
	CHECK(tund_signal_replay_check(&r, now, nonce, now) == TUND_SIGNAL_REPLAY_REPLAY);
	CHECK(tund_signal_replay_check(&r, now, nonce, now + 5000) == TUND_SIGNAL_REPLAY_REPLAY);
	/* Stale both ways, at the edge and past it. */
	tu_fill(nonce, 24, 2);
	CHECK(tund_signal_replay_check(&r, now - 120001, nonce, now) == TUND_SIGNAL_REPLAY_STALE);
	CHECK(tund_signal_replay_check(&r, now + 120001, nonce, now) == TUND_SIGNAL_REPLAY_STALE);
	CHECK(tund_signal_replay_check(&r, 0, nonce, now) == TUND_SIGNAL_REPLAY_STALE);
	CHECK(tund_signal_replay_check(&r, UINT64_MAX, nonce, now) == TUND_SIGNAL_REPLAY_STALE);
	CHECK(tund_signal_replay_check(&r, now + 120000, nonce, now) == TUND_SIGNAL_REPLAY_OK);
	tu_fill(nonce, 24, 3);
	CHECK(tund_signal_replay_check(&r, now - 120000, nonce, now) == TUND_SIGNAL_REPLAY_OK);

	/* Reordering inside the window: 60 messages accepted out of order. */
	tund_signal_replay_init(&r);
	for (int i = 59; i >= 0; i--) {
		tu_fill(nonce, 24, 100 + (uint32_t)i);
		CHECK(tund_signal_replay_check(&r, now + (uint64_t)i, nonce, now) ==
		      TUND_SIGNAL_REPLAY_OK);
	}
	for (int i = 0; i < 60; i++) {
		tu_fill(nonce, 24, 100 + (uint32_t)i);
		CHECK(tund_signal_replay_check(&r, now + (uint64_t)i, nonce, now) ==
		      TUND_SIGNAL_REPLAY_REPLAY);
	}
	/* After 200 more messages the first is forgotten but still refused. */
	for (int i = 0; i < 200; i++) {
		tu_fill(nonce, 24, 1000 + (uint32_t)i);
		CHECK(tund_signal_replay_check(&r, now + 100 + (uint64_t)i, nonce, now) ==
		      TUND_SIGNAL_REPLAY_OK);
	}
	for (int i = 0; i < 60; i++) {
		tu_fill(nonce, 24, 100 + (uint32_t)i);
		CHECK(tund_signal_replay_check(&r, now + (uint64_t)i, nonce, now) ==
		      TUND_SIGNAL_REPLAY_REPLAY);
	}
	for (int i = 0; i < 200; i++) {
		tu_fill(nonce, 24, 1000 + (uint32_t)i);
		CHECK(tund_signal_replay_check(&r, now + 100 + (uint64_t)i, nonce, now) ==
		      TUND_SIGNAL_REPLAY_REPLAY);
	}
	/* Newer messages keep flowing. */
	tu_fill(nonce, 24, 5);
	CHECK(tund_signal_replay_check(&r, now + 1000, nonce, now) == TUND_SIGNAL_REPLAY_OK);
	CHECK(sizeof(struct tund_signal_replay) < 1100);
}

UNIT_TEST(signal_text_form)
{
	struct party a, b;
	uint8_t netkey[32] = { 0 }, back[TUND_SIGNAL_MAX_LEN];
	static char text[TUND_SIGNAL_TEXT_MAX], bad[TUND_SIGNAL_TEXT_MAX + 8];
	size_t len, tlen;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	len = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	tlen = tund_signal_to_text(buf, len, text, sizeof(text));
	CHECK(tlen > 10 && tlen == strlen(text) && !strncmp(text, "tund-sig2:", 10));
	CHECK(!strpbrk(text, " =+/\n"));
	CHECK(tund_signal_from_text(text, back, sizeof(back)) == len);
	CHECK(!memcmp(back, buf, len));
	CHECK(tund_signal_open(back, len, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
	CHECK(same(&m, &got));
	snprintf(bad, sizeof(bad), "\n  %s \r\n", text);
	CHECK(tund_signal_from_text(bad, back, sizeof(back)) == len);

	CHECK(tund_signal_to_text(buf, len, text, tlen) == 0);
	CHECK(tund_signal_to_text(buf, 0, text, sizeof(text)) == 0);
	CHECK(tund_signal_to_text(buf, TUND_SIGNAL_MAX_LEN + 1, text, sizeof(text)) == 0);
	CHECK(tund_signal_to_text(buf, TUND_SIGNAL_MAX_LEN, text, sizeof(text)) ==
	      TUND_SIGNAL_TEXT_MAX - 1);
	CHECK(tund_signal_from_text(text, back, sizeof(back)) == TUND_SIGNAL_MAX_LEN);

	tund_signal_to_text(buf, len, text, sizeof(text));
	CHECK(tund_signal_from_text(text, back, len - 1) == 0);
	snprintf(bad, sizeof(bad), "%s!", text);
	CHECK(tund_signal_from_text(bad, back, sizeof(back)) == 0);
	snprintf(bad, sizeof(bad), "tund-sig1:%s", text + 10);
	CHECK(tund_signal_from_text(bad, back, sizeof(back)) == 0);
	CHECK(tund_signal_from_text("tund-sig2:", back, sizeof(back)) == 0);
	CHECK(tund_signal_from_text("tund-sig2:A", back, sizeof(back)) == 0);
	CHECK(tund_signal_from_text("", back, sizeof(back)) == 0);
	CHECK(tund_signal_from_text(NULL, back, sizeof(back)) == 0);
}

/* The NAT mapping hint (tag 13) of offers and answers: carried as is, a value
 * a newer node may add included; nothing else may carry one. */
UNIT_TEST(signal_mapping_hint)
{
	static const uint8_t values[] = { TUND_SIGNAL_MAPPING_NONE, TUND_SIGNAL_MAPPING_EIM,
					  TUND_SIGNAL_MAPPING_DEPENDENT,
					  TUND_SIGNAL_MAPPING_UNKNOWN, TUND_SIGNAL_MAPPING_FAILED,
					  200 };
	struct party a, b;
	uint8_t netkey[32];
	size_t n;

	CHECK(sodium_init() >= 0);
	party(&a, 1);
	party(&b, 2);
	tu_fill(netkey, 32, 6);
	for (size_t i = 0; i < sizeof(values); i++) {
		uint8_t type = i % 2 ? TUND_SIGNAL_ANSWER : TUND_SIGNAL_OFFER;

		sample(&m, type, &a, &b);
		m.mapping = values[i];
		n = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
		CHECK(n > 0);
		CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
		CHECK(same(&m, &got));
		CHECK(got.mapping == values[i]);
	}
	/* Without the field (an older node): not said. */
	sample(&m, TUND_SIGNAL_OFFER, &a, &b);
	n = tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf));
	CHECK(tund_signal_open(buf, n, netkey, b.priv, b.pub, &got) == TUND_SIGNAL_OK);
	CHECK(got.mapping == TUND_SIGNAL_MAPPING_UNSAID);
	/* Only offers and answers carry it. */
	sample(&m, TUND_SIGNAL_CANDIDATE, &a, &b);
	m.mapping = TUND_SIGNAL_MAPPING_EIM;
	CHECK(tund_signal_seal(&m, netkey, a.priv, buf, sizeof(buf)) == 0);
}
