// SPDX-License-Identifier: MIT
#include <sodium.h>
#include <string.h>

#include "overlay/keys.h"
#include "overlay/network.h"
#include "overlay/record.h"
#include "overlay/signal.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

static void keypair(uint8_t priv[32], uint8_t pub[32], uint32_t seed)
{
	tu_fill(priv, 32, seed);
	CHECK(tund_key_public(pub, priv));
}

static struct tund_record sample(const uint8_t issuer[32], uint8_t kind, uint64_t t)
{
	struct tund_record r = { .kind = kind, .time_ms = t };

	tu_fill(r.netid, 16, 5);
	tu_fill(r.subject, 32, 6);
	memcpy(r.issuer, issuer, 32);
	return r;
}

/* Signed, opened back field for field; every one-bit change is refused. */
UNIT_TEST(record_sign_open_and_tamper)
{
	uint8_t priv[32], pub[32], raw[TUND_RECORD_LEN], bad[TUND_RECORD_LEN];
	struct tund_record r, out;

	keypair(priv, pub, 1);
	r = sample(pub, TUND_RECORD_ADMIT, 1700000000123ull);
	CHECK(tund_record_sign(&r, priv, raw) == TUND_RECORD_LEN);
	CHECK(tund_record_open(raw, sizeof(raw), r.netid, &out) == TUND_RECORD_OK);
	CHECK(!memcmp(&out, &r, sizeof(r)));
	for (size_t i = 0; i < sizeof(raw); i++) {
		memcpy(bad, raw, sizeof(raw));
		bad[i] ^= 0x01;
		CHECK(tund_record_open(bad, sizeof(bad), r.netid, &out) != TUND_RECORD_OK);
		CHECK(out.kind == 0); /* nothing written on refusal */
	}
}

/* A record naming the admin as issuer but signed by someone else is forged;
 * so is one whose issuer field was swapped after signing. */
UNIT_TEST(record_forged_issuer)
{
	uint8_t admin_priv[32], admin[32], priv[32], pub[32], raw[TUND_RECORD_LEN];
	struct tund_record r, out;

	keypair(admin_priv, admin, 2);
	keypair(priv, pub, 3);
	r = sample(admin, TUND_RECORD_ADMIT, 1);
	CHECK(tund_record_sign(&r, priv, raw) == TUND_RECORD_LEN);
	CHECK(tund_record_open(raw, sizeof(raw), r.netid, &out) == TUND_RECORD_FORGED);
	r = sample(pub, TUND_RECORD_ADMIT, 1);
	CHECK(tund_record_sign(&r, priv, raw) == TUND_RECORD_LEN);
	memcpy(raw + 52, admin, 32);
	CHECK(tund_record_open(raw, sizeof(raw), r.netid, &out) == TUND_RECORD_FORGED);
}

UNIT_TEST(record_other_network_and_malformed)
{
	uint8_t priv[32], pub[32], raw[TUND_RECORD_LEN + 1], other[16];
	struct tund_record r, out;

	keypair(priv, pub, 4);
	r = sample(pub, TUND_RECORD_BLOCK, 9);
	CHECK(tund_record_sign(&r, priv, raw) == TUND_RECORD_LEN);
	tu_fill(other, 16, 77);
	CHECK(tund_record_open(raw, TUND_RECORD_LEN, other, &out) == TUND_RECORD_OTHER_NETWORK);
	CHECK(tund_record_open(raw, TUND_RECORD_LEN - 1, r.netid, &out) == TUND_RECORD_MALFORMED);
	CHECK(tund_record_open(raw, TUND_RECORD_LEN + 1, r.netid, &out) == TUND_RECORD_MALFORMED);
	raw[2] = 2; /* a version we do not know */
	CHECK(tund_record_open(raw, TUND_RECORD_LEN, r.netid, &out) == TUND_RECORD_MALFORMED);
	r.kind = 4; /* a kind we do not know */
	CHECK(tund_record_sign(&r, priv, raw) == 0);
	r.kind = TUND_RECORD_ADMIT_ADMIN;
	CHECK(tund_record_sign(&r, priv, raw) == TUND_RECORD_LEN);
	CHECK(tund_record_open(raw, TUND_RECORD_LEN, r.netid, &out) == TUND_RECORD_OK);
	CHECK(out.kind == TUND_RECORD_ADMIT_ADMIN && tund_record_admits(out.kind));
	raw[3] = 4;
	CHECK(tund_record_open(raw, TUND_RECORD_LEN, r.netid, &out) == TUND_RECORD_MALFORMED);
}

/* Newer wins; at the same time a block wins; never both ways. */
UNIT_TEST(record_supersedes_order)
{
	uint8_t pub[32] = { 9 };
	struct tund_record a = sample(pub, TUND_RECORD_ADMIT, 10),
			   b = sample(pub, TUND_RECORD_BLOCK, 10),
			   c = sample(pub, TUND_RECORD_ADMIT, 11);

	CHECK(tund_record_supersedes(&b, &a) && !tund_record_supersedes(&a, &b));
	CHECK(tund_record_supersedes(&c, &b) && !tund_record_supersedes(&b, &c));
	CHECK(!tund_record_supersedes(&a, &a) && !tund_record_supersedes(&b, &b));
}

/* A record travels sealed in a record message; type and field go together. */
UNIT_TEST(record_in_signal_message)
{
	uint8_t netkey[32], priv[32], pub[32], rpriv[32], rpub[32], buf[TUND_SIGNAL_MAX_LEN];
	static struct tund_signal m, out;
	struct tund_record r, rec;
	size_t len;

	tu_fill(netkey, 32, 8);
	keypair(priv, pub, 10);
	keypair(rpriv, rpub, 11);
	r = sample(pub, TUND_RECORD_ADMIT, 5);
	tund_network_id(netkey, r.netid);
	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_RECORD;
	memcpy(m.sender, pub, 32);
	m.time_ms = 5;
	CHECK(tund_signal_seal(&m, netkey, priv, buf, sizeof(buf)) == 0); /* no record */
	m.has_record = true;
	CHECK(tund_record_sign(&r, priv, m.record) == TUND_RECORD_LEN);
	len = tund_signal_seal(&m, netkey, priv, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK(tund_signal_open(buf, len, netkey, rpriv, rpub, &out) == TUND_SIGNAL_OK);
	CHECK(out.type == TUND_SIGNAL_RECORD && out.has_record);
	CHECK(tund_record_open(out.record, sizeof(out.record), out.netid, &rec) == TUND_RECORD_OK);
	CHECK(!memcmp(rec.subject, r.subject, 32));
	/* An announce may not carry a record. */
	m.type = TUND_SIGNAL_ANNOUNCE;
	CHECK(tund_signal_seal(&m, netkey, priv, buf, sizeof(buf)) == 0);
}
