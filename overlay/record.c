/* SPDX-License-Identifier: MIT */
#include "overlay/record.h"

#include <string.h>

#include "overlay/fuzzing.h"
#include "overlay/xsign.h"

enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 2,
	OFF_KIND = 3,
	OFF_NETID = 4,
	OFF_SUBJECT = 20,
	OFF_ISSUER = 52,
	OFF_TIME = 84,
	OFF_ADDR4 = 92,
	OFF_SIG = 96,
};
_Static_assert(OFF_SIG + TUND_XSIGN_LEN == TUND_RECORD_LEN, "layout");

static const char sig_label[] = "tund record v1"; /* signed with its NUL */

static bool kind_known(uint8_t kind)
{
	return kind == TUND_RECORD_ADMIT || kind == TUND_RECORD_BLOCK ||
	       kind == TUND_RECORD_ADMIT_ADMIN;
}

/* What the signature covers: the label, then every byte before it. */
static size_t signed_bytes(uint8_t *buf, const uint8_t *rec)
{
	memcpy(buf, sig_label, sizeof(sig_label));
	memcpy(buf + sizeof(sig_label), rec, OFF_SIG);
	return sizeof(sig_label) + OFF_SIG;
}

size_t tund_record_sign(const struct tund_record *r, const uint8_t issuer_priv[32],
			uint8_t out[TUND_RECORD_LEN])
{
	uint8_t msg[sizeof(sig_label) + OFF_SIG];

	if (!kind_known(r->kind))
		return 0;
	memcpy(out + OFF_MAGIC, "TR", 2);
	out[OFF_VERSION] = TUND_RECORD_VERSION;
	out[OFF_KIND] = r->kind;
	memcpy(out + OFF_NETID, r->netid, 16);
	memcpy(out + OFF_SUBJECT, r->subject, 32);
	memcpy(out + OFF_ISSUER, r->issuer, 32);
	for (int i = 0; i < 8; i++)
		out[OFF_TIME + i] = (uint8_t)(r->time_ms >> (56 - 8 * i));
	memcpy(out + OFF_ADDR4, r->addr4, 4);
	if (!tund_xsign(out + OFF_SIG, msg, signed_bytes(msg, out), issuer_priv))
		return 0;
	return TUND_RECORD_LEN;
}

enum tund_record_verdict tund_record_open(const uint8_t *in, size_t len,
					  const uint8_t netid[16], struct tund_record *out)
{
	uint8_t msg[sizeof(sig_label) + OFF_SIG];

	memset(out, 0, sizeof(*out));
	if (len != TUND_RECORD_LEN || memcmp(in + OFF_MAGIC, "TR", 2) ||
	    in[OFF_VERSION] != TUND_RECORD_VERSION || !kind_known(in[OFF_KIND]))
		return TUND_RECORD_MALFORMED;
	if (memcmp(in + OFF_NETID, netid, 16))
		return TUND_RECORD_OTHER_NETWORK;
	if (!tund_xsign_verify(in + OFF_SIG, msg, signed_bytes(msg, in), in + OFF_ISSUER) &&
	    !TUND_FUZZING_BUILD)
		return TUND_RECORD_FORGED;
	out->kind = in[OFF_KIND];
	memcpy(out->netid, in + OFF_NETID, 16);
	memcpy(out->subject, in + OFF_SUBJECT, 32);
	memcpy(out->issuer, in + OFF_ISSUER, 32);
	for (int i = 0; i < 8; i++)
		out->time_ms = out->time_ms << 8 | in[OFF_TIME + i];
	memcpy(out->addr4, in + OFF_ADDR4, 4);
	return TUND_RECORD_OK;
}

bool tund_record_supersedes(const struct tund_record *a, const struct tund_record *b)
{
	if (a->time_ms != b->time_ms)
		return a->time_ms > b->time_ms;
	return a->kind == TUND_RECORD_BLOCK && b->kind != TUND_RECORD_BLOCK;
}

const char *tund_record_kind_str(uint8_t kind)
{
	switch (kind) {
	case TUND_RECORD_ADMIT:
		return "admit";
	case TUND_RECORD_BLOCK:
		return "block";
	case TUND_RECORD_ADMIT_ADMIN:
		return "admit-admin";
	default:
		return "unknown";
	}
}
