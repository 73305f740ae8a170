// SPDX-License-Identifier: MIT
#include "overlay/signal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/fuzzing.h"
#include "overlay/network.h"
#include "overlay/xsign.h"

enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 2,
	OFF_KIND = 3,
	OFF_NETID = 4,
	OFF_NONCE = 20,
	OFF_EPHEMERAL = 44,
	KIND_ANNOUNCE = 1,
	KIND_UNICAST = 2,
	TAG_LEN = TUND_SIGNAL_TAG_LEN,
	/* announce body: type, sender, time, signature, then the payload */
	ANN_FIXED = 1 + 32 + 8 + TUND_XSIGN_LEN,
	ANN_SIGNED_FIXED = 1 + 32 + 8,
	/* unicast: the sealed sender, then type, time and the payload */
	UNI_SENDER_LEN = 32 + TAG_LEN,
	UNI_FIXED = 1 + 8,
	TAG_SESSION = 1,
	TAG_NAME = 2,
	TAG_PORT = 3,
	TAG_UFRAG = 4,
	TAG_PWD = 5,
	TAG_CANDIDATE = 6,
	TAG_EOC = 7,
	TAG_RECORD = 8,
	TAG_TOKEN = 9,
	TAG_REASON = 10,
	TAG_NEW_KEY = 11,
	TAG_ISSUER_RECORD = 12,
	TAG_MAPPING = 13,
	PAYLOAD_MAX = TUND_SIGNAL_MAX_LEN - TUND_SIGNAL_ANNOUNCE_HEADER_LEN - ANN_FIXED - TAG_LEN,
};

_Static_assert(OFF_NONCE + TUND_SIGNAL_NONCE_LEN == TUND_SIGNAL_ANNOUNCE_HEADER_LEN, "layout");
_Static_assert(OFF_EPHEMERAL + 32 == TUND_SIGNAL_UNICAST_HEADER_LEN, "unicast layout");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == TUND_SIGNAL_TAG_LEN, "tag size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == TUND_SIGNAL_NONCE_LEN, "nonce");
_Static_assert((int)TUND_SIGNAL_TOKEN_LEN == (int)TUND_NET_TOKEN_LEN, "an invite token fits a join");

static const char announce_key_label[] = "tund sig announce v2";
static const char announce_sig_label[] = "tund sig announce signature v2";
static const char unicast_id_label[] = "tund sig unicast sender v2";
static const char unicast_label[] = "tund sig unicast v2";

static bool is_zero(const uint8_t *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

/* The network id written in and expected of messages: zero for manual blobs. */
static void expected_netid(const uint8_t netkey[32], uint8_t id[16])
{
	if (is_zero(netkey, 32))
		memset(id, 0, 16);
	else
		tund_network_id(netkey, id);
}

static bool unicast(uint8_t type)
{
	return (type >= TUND_SIGNAL_OFFER && type <= TUND_SIGNAL_BYE) ||
	       type == TUND_SIGNAL_JOIN || type == TUND_SIGNAL_REFUSED || type == TUND_SIGNAL_REKEY;
}

/* X25519; libsodium refuses an all-zero result (a low-order key). */
static bool dh(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
	return crypto_scalarmult_curve25519(out, priv, pub) == 0 && !is_zero(out, 32);
}

/* key = kdf1(netkey, label || a || b || c || d): each part 32 bytes, b..d optional. */
static void kdf(uint8_t key[32], const uint8_t netkey[32], const char *label, size_t label_len,
		const uint8_t *parts[4])
{
	uint8_t in[64 + 4 * 32];
	size_t n = label_len;

	memcpy(in, label, label_len);
	for (int i = 0; i < 4 && parts[i]; i++, n += 32)
		memcpy(in + n, parts[i], 32);
	tund_blake2s_kdf1(key, netkey, in, n);
	sodium_memzero(in, sizeof(in));
}

/* Opens an AEAD box; the fuzzing build takes a bad tag as good (overlay/fuzzing.h). */
static bool aead_open(uint8_t *m, size_t *mlen, const uint8_t *c, size_t clen, const uint8_t *ad,
		      size_t adlen, const uint8_t *nonce, const uint8_t key[32])
{
	unsigned long long n = 0;

	if (clen < TAG_LEN)
		return false;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &n, NULL, c, clen, ad, adlen, nonce,
						       key) == 0) {
		*mlen = (size_t)n;
		return true;
	}
	if (!TUND_FUZZING_BUILD)
		return false;
	memcpy(m, c, clen - TAG_LEN);
	*mlen = clen - TAG_LEN;
	return true;
}

static size_t aead_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *ad,
			size_t adlen, const uint8_t *nonce, const uint8_t key[32])
{
	unsigned long long n = 0;

	crypto_aead_xchacha20poly1305_ietf_encrypt(c, &n, m, mlen, ad, adlen, NULL, nonce, key);
	return (size_t)n;
}

static bool printable_nospace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static bool name_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool ufrag_ok(const char *s, size_t len)
{
	return len >= TUND_SIGNAL_UFRAG_MIN && len <= TUND_SIGNAL_CRED_MAX &&
	       printable_nospace(s, len);
}

static bool pwd_ok(const char *s, size_t len)
{
	return len >= TUND_SIGNAL_PWD_MIN && len <= TUND_SIGNAL_CRED_MAX &&
	       printable_nospace(s, len);
}

static bool candidate_ok(const char *s, size_t len)
{
	static const char pfx[] = "a=candidate:";

	return len >= sizeof(pfx) - 1 && len <= TUND_SIGNAL_CANDIDATE_MAX &&
	       !memcmp(s, pfx, sizeof(pfx) - 1) && printable(s, len);
}

static bool needs_creds(uint8_t type)
{
	/* A restart asks the controlling side for a new offer: no credentials. */
	return type == TUND_SIGNAL_OFFER || type == TUND_SIGNAL_ANSWER;
}

/* Rules shared by seal (on the struct) and open (on the decoded struct). */
static bool message_valid(const struct tund_signal *m)
{
	size_t nl = strnlen(m->name, sizeof(m->name)), ul = strnlen(m->ufrag, sizeof(m->ufrag)),
	       pl = strnlen(m->pwd, sizeof(m->pwd));

	size_t rl = strnlen(m->reason, sizeof(m->reason));

	if (m->type < TUND_SIGNAL_ANNOUNCE || m->type > TUND_SIGNAL_REKEY)
		return false;
	if (m->has_issuer_record && !m->has_record)
		return false;
	if (m->has_record != (m->type == TUND_SIGNAL_RECORD) ||
	    m->has_token != (m->type == TUND_SIGNAL_JOIN) ||
	    m->has_new_key != (m->type == TUND_SIGNAL_REKEY))
		return false;
	if (m->has_new_key && (m->new_epoch == 0 || is_zero(m->new_key, 32)))
		return false;
	if ((rl != 0) != (m->type == TUND_SIGNAL_REFUSED) || rl == sizeof(m->reason) ||
	    !printable(m->reason, rl))
		return false;
	if (unicast(m->type) == is_zero(m->recipient, 32))
		return false;
	if (nl == sizeof(m->name) || !name_ok(m->name, nl))
		return false;
	if (ul == sizeof(m->ufrag) || pl == sizeof(m->pwd) || (ul && !ufrag_ok(m->ufrag, ul)) ||
	    (pl && !pwd_ok(m->pwd, pl)))
		return false;
	if (needs_creds(m->type) && (!ul || !pl))
		return false;
	if (m->n_candidates > TUND_SIGNAL_MAX_CANDIDATES)
		return false;
	if (m->mapping && m->type != TUND_SIGNAL_OFFER && m->type != TUND_SIGNAL_ANSWER)
		return false;
	for (unsigned i = 0; i < m->n_candidates; i++) {
		size_t cl = strnlen(m->candidates[i], sizeof(m->candidates[i]));
		if (cl == sizeof(m->candidates[i]) || !candidate_ok(m->candidates[i], cl))
			return false;
	}
	return true;
}

struct writer {
	uint8_t *buf;
	size_t cap, len;
	bool ok;
};

static void put(struct writer *w, const void *data, size_t len)
{
	if (!w->ok || w->cap - w->len < len) {
		w->ok = false;
		return;
	}
	if (len)
		memcpy(w->buf + w->len, data, len);
	w->len += len;
}

static void put_field(struct writer *w, uint8_t tag, const void *data, size_t len)
{
	uint8_t h[3] = { tag, (uint8_t)(len >> 8), (uint8_t)len };

	put(w, h, 3);
	put(w, data, len);
}

static void put_str(struct writer *w, uint8_t tag, const char *s)
{
	put_field(w, tag, s, strlen(s));
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t encode_payload(const struct tund_signal *m, uint8_t *buf, size_t cap)
{
	struct writer w = { .buf = buf, .cap = cap, .ok = true };
	uint8_t s[4];
	uint8_t port[2] = { (uint8_t)(m->listen_port >> 8), (uint8_t)m->listen_port };

	store_be32(s, m->session);
	put_field(&w, TAG_SESSION, s, 4);
	if (m->name[0])
		put_str(&w, TAG_NAME, m->name);
	if (m->listen_port)
		put_field(&w, TAG_PORT, port, 2);
	if (m->ufrag[0])
		put_str(&w, TAG_UFRAG, m->ufrag);
	if (m->pwd[0])
		put_str(&w, TAG_PWD, m->pwd);
	for (unsigned i = 0; i < m->n_candidates; i++)
		put_str(&w, TAG_CANDIDATE, m->candidates[i]);
	if (m->end_of_candidates)
		put_field(&w, TAG_EOC, NULL, 0);
	if (m->has_record)
		put_field(&w, TAG_RECORD, m->record, TUND_RECORD_LEN);
	if (m->has_issuer_record)
		put_field(&w, TAG_ISSUER_RECORD, m->issuer_record, TUND_RECORD_LEN);
	if (m->has_token)
		put_field(&w, TAG_TOKEN, m->token, TUND_SIGNAL_TOKEN_LEN);
	if (m->reason[0])
		put_str(&w, TAG_REASON, m->reason);
	if (m->has_new_key) {
		uint8_t nk[36];

		store_be32(nk, m->new_epoch);
		memcpy(nk + 4, m->new_key, 32);
		put_field(&w, TAG_NEW_KEY, nk, sizeof(nk));
		sodium_memzero(nk, sizeof(nk));
	}
	if (m->mapping)
		put_field(&w, TAG_MAPPING, &m->mapping, 1);
	return w.ok ? w.len : 0;
}

static bool take_record_field(const uint8_t *v, size_t flen, uint8_t out[TUND_RECORD_LEN],
			      bool *has)
{
	if (flen != TUND_RECORD_LEN)
		return false;
	memcpy(out, v, flen);
	*has = true;
	return true;
}

/* End of candidates, a record and its issuer's admin record, a join's token, a refusal's reason, a rekey's
 * new key, a mapping hint; other tags are newer fields, skipped. */
static bool decode_other(uint8_t tag, const uint8_t *v, size_t flen, struct tund_signal *m)
{
	switch (tag) {
	case TAG_EOC:
		if (flen != 0)
			return false;
		m->end_of_candidates = true;
		return true;
	case TAG_RECORD:
		return take_record_field(v, flen, m->record, &m->has_record);
	case TAG_ISSUER_RECORD:
		return take_record_field(v, flen, m->issuer_record, &m->has_issuer_record);
	case TAG_TOKEN:
		if (flen != TUND_SIGNAL_TOKEN_LEN)
			return false;
		memcpy(m->token, v, flen);
		m->has_token = true;
		return true;
	case TAG_REASON:
		if (flen < 1 || flen > TUND_SIGNAL_REASON_MAX || !printable((const char *)v, flen))
			return false;
		memcpy(m->reason, v, flen);
		m->reason[flen] = '\0';
		return true;
	case TAG_NEW_KEY:
		if (flen != 36)
			return false;
		m->new_epoch = load_be32(v);
		memcpy(m->new_key, v + 4, 32);
		m->has_new_key = true;
		return true;
	case TAG_MAPPING:
		if (flen != 1 || v[0] == 0)
			return false;
		m->mapping = v[0];
		return true;
	default:
		return true; /* a newer field: skip */
	}
}

static bool decode_payload(const uint8_t *p, size_t len, struct tund_signal *m)
{
	const uint8_t *end = p + len;
	unsigned seen = 0;

	while (p < end) {
		uint8_t tag;
		size_t flen;
		const uint8_t *v;

		if (end - p < 3)
			return false;
		tag = p[0];
		flen = (size_t)p[1] << 8 | p[2];
		p += 3;
		if ((size_t)(end - p) < flen)
			return false;
		v = p;
		p += flen;
		if (tag >= TAG_SESSION && tag <= TAG_MAPPING && tag != TAG_CANDIDATE) {
			if (seen & (1u << tag))
				return false;
			seen |= 1u << tag;
		}
		switch (tag) {
		case TAG_SESSION:
			if (flen != 4)
				return false;
			m->session = load_be32(v);
			break;
		case TAG_NAME:
			if (flen > TUND_SIGNAL_NAME_MAX || !name_ok((const char *)v, flen))
				return false;
			memcpy(m->name, v, flen);
			m->name[flen] = '\0';
			break;
		case TAG_PORT:
			if (flen != 2)
				return false;
			m->listen_port = (uint16_t)(v[0] << 8 | v[1]);
			break;
		case TAG_UFRAG:
			if (!ufrag_ok((const char *)v, flen))
				return false;
			memcpy(m->ufrag, v, flen);
			m->ufrag[flen] = '\0';
			break;
		case TAG_PWD:
			if (!pwd_ok((const char *)v, flen))
				return false;
			memcpy(m->pwd, v, flen);
			m->pwd[flen] = '\0';
			break;
		case TAG_CANDIDATE:
			if (m->n_candidates == TUND_SIGNAL_MAX_CANDIDATES ||
			    !candidate_ok((const char *)v, flen))
				return false;
			memcpy(m->candidates[m->n_candidates], v, flen);
			m->candidates[m->n_candidates][flen] = '\0';
			m->n_candidates++;
			break;
		default:
			if (!decode_other(tag, v, flen, m))
				return false;
			break;
		}
	}
	return message_valid(m);
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void write_header(uint8_t *out, uint8_t kind, const uint8_t netkey[32])
{
	memcpy(out + OFF_MAGIC, "TS", 2);
	out[OFF_VERSION] = TUND_SIGNAL_VERSION;
	out[OFF_KIND] = kind;
	expected_netid(netkey, out + OFF_NETID);
	randombytes_buf(out + OFF_NONCE, TUND_SIGNAL_NONCE_LEN);
}

/* What an announce's signature covers: label, header, type|sender|time, payload. */
static size_t announce_signed(uint8_t *buf, const uint8_t *header, const uint8_t *fixed,
			      const uint8_t *payload, size_t plen)
{
	size_t n = sizeof(announce_sig_label);

	memcpy(buf, announce_sig_label, n);
	memcpy(buf + n, header, TUND_SIGNAL_ANNOUNCE_HEADER_LEN);
	n += TUND_SIGNAL_ANNOUNCE_HEADER_LEN;
	memcpy(buf + n, fixed, ANN_SIGNED_FIXED);
	n += ANN_SIGNED_FIXED;
	memcpy(buf + n, payload, plen);
	return n + plen;
}

enum { SIGNED_MAX = sizeof(announce_sig_label) + TUND_SIGNAL_ANNOUNCE_HEADER_LEN +
		    ANN_SIGNED_FIXED + PAYLOAD_MAX };

static size_t seal_announce(const struct tund_signal *m, const uint8_t netkey[32],
			    const uint8_t priv[32], const uint8_t *payload, size_t plen,
			    uint8_t *out, size_t cap)
{
	static const size_t hl = TUND_SIGNAL_ANNOUNCE_HEADER_LEN;
	uint8_t body[ANN_FIXED + PAYLOAD_MAX], signed_bytes[SIGNED_MAX], key[32];
	size_t blen = ANN_FIXED + plen, result = 0;

	if (!priv || cap < hl + blen + TAG_LEN)
		return 0;
	write_header(out, KIND_ANNOUNCE, netkey);
	body[0] = m->type;
	memcpy(body + 1, m->sender, 32);
	store_be64(body + 33, m->time_ms);
	memcpy(body + ANN_FIXED, payload, plen);
	if (!tund_xsign(body + ANN_SIGNED_FIXED, signed_bytes,
			announce_signed(signed_bytes, out, body, payload, plen), priv))
		goto out;
	kdf(key, netkey, announce_key_label, sizeof(announce_key_label),
	    (const uint8_t *[4]){ NULL });
	result = hl + aead_seal(out + hl, body, blen, out, hl, out + OFF_NONCE, key);
out:
	sodium_memzero(body, sizeof(body));
	sodium_memzero(key, sizeof(key));
	return result;
}

/* k1 opens the sender's key, k2 the message: k2 needs the sender's static key. */
static void unicast_keys(uint8_t k1[32], uint8_t k2[32], const uint8_t netkey[32],
			 const uint8_t dh_e[32], const uint8_t dh_s[32], const uint8_t eph[32],
			 const uint8_t recipient[32])
{
	if (k1)
		kdf(k1, netkey, unicast_id_label, sizeof(unicast_id_label),
		    (const uint8_t *[4]){ dh_e, eph, recipient, NULL });
	if (k2)
		kdf(k2, netkey, unicast_label, sizeof(unicast_label),
		    (const uint8_t *[4]){ dh_e, dh_s, eph, recipient });
}

static size_t seal_unicast(const struct tund_signal *m, const uint8_t netkey[32],
			   const uint8_t priv[32], const uint8_t *payload, size_t plen,
			   uint8_t *out, size_t cap)
{
	static const size_t hl = TUND_SIGNAL_UNICAST_HEADER_LEN;
	uint8_t body[UNI_FIXED + PAYLOAD_MAX], eph[32], dh_e[32], dh_s[32], k1[32], k2[32];
	size_t result = 0, blen = UNI_FIXED + plen;

	if (!priv || cap < hl + UNI_SENDER_LEN + blen + TAG_LEN)
		return 0;
	write_header(out, KIND_UNICAST, netkey);
	randombytes_buf(eph, 32);
	if (crypto_scalarmult_curve25519_base(out + OFF_EPHEMERAL, eph) != 0 ||
	    !dh(dh_e, eph, m->recipient) || !dh(dh_s, priv, m->recipient))
		goto out;
	unicast_keys(k1, k2, netkey, dh_e, dh_s, out + OFF_EPHEMERAL, m->recipient);
	aead_seal(out + hl, m->sender, 32, out, hl, out + OFF_NONCE, k1);
	body[0] = m->type;
	store_be64(body + 1, m->time_ms);
	memcpy(body + UNI_FIXED, payload, plen);
	result = hl + UNI_SENDER_LEN +
		 aead_seal(out + hl + UNI_SENDER_LEN, body, blen, out, hl + UNI_SENDER_LEN,
			   out + OFF_NONCE, k2);
out:
	sodium_memzero(eph, sizeof(eph));
	sodium_memzero(dh_e, sizeof(dh_e));
	sodium_memzero(dh_s, sizeof(dh_s));
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(body, sizeof(body));
	return result;
}

size_t tund_signal_seal(const struct tund_signal *m, const uint8_t netkey[32],
			const uint8_t sender_priv[32], uint8_t *out, size_t cap)
{
	uint8_t payload[PAYLOAD_MAX];
	size_t plen, result = 0;

	if (!message_valid(m))
		return 0;
	plen = encode_payload(m, payload, sizeof(payload));
	if (!plen)
		goto out;
	if (!unicast(m->type))
		result = seal_announce(m, netkey, sender_priv, payload, plen, out, cap);
	else
		result = seal_unicast(m, netkey, sender_priv, payload, plen, out, cap);
out:
	sodium_memzero(payload, sizeof(payload));
	return result;
}

static enum tund_signal_verdict open_announce(const uint8_t *in, size_t len,
					      const uint8_t netkey[32], struct tund_signal *out)
{
	static const size_t hl = TUND_SIGNAL_ANNOUNCE_HEADER_LEN;
	uint8_t body[TUND_SIGNAL_MAX_LEN], signed_bytes[SIGNED_MAX], key[32];
	enum tund_signal_verdict v = TUND_SIGNAL_FORGED;
	size_t blen = 0;

	kdf(key, netkey, announce_key_label, sizeof(announce_key_label),
	    (const uint8_t *[4]){ NULL });
	if (!aead_open(body, &blen, in + hl, len - hl, in, hl, in + OFF_NONCE, key))
		goto out;
	v = TUND_SIGNAL_MALFORMED;
	if (blen < ANN_FIXED || (body[0] != TUND_SIGNAL_ANNOUNCE && body[0] != TUND_SIGNAL_RECORD))
		goto out;
	/* The sender proves its key before anything else is read. */
	v = TUND_SIGNAL_FORGED;
	if (!tund_xsign_verify(body + ANN_SIGNED_FIXED, signed_bytes,
			       announce_signed(signed_bytes, in, body, body + ANN_FIXED,
					       blen - ANN_FIXED),
			       body + 1) &&
	    !TUND_FUZZING_BUILD)
		goto out;
	v = TUND_SIGNAL_MALFORMED;
	out->type = body[0];
	memcpy(out->sender, body + 1, 32);
	out->time_ms = load_be64(body + 33);
	if (decode_payload(body + ANN_FIXED, blen - ANN_FIXED, out))
		v = TUND_SIGNAL_OK;
out:
	sodium_memzero(body, sizeof(body));
	sodium_memzero(key, sizeof(key));
	return v;
}

/* The sender's key, sealed to us; false if the message is not ours to open. */
static bool open_sender(const uint8_t *in, size_t len, const uint8_t netkey[32],
			const uint8_t my_priv[32], const uint8_t my_pub[32], uint8_t dh_e[32],
			uint8_t sender[32])
{
	static const size_t hl = TUND_SIGNAL_UNICAST_HEADER_LEN;
	uint8_t k1[32];
	size_t n = 0;
	bool ok;

	if (len < hl + UNI_SENDER_LEN + UNI_FIXED + TAG_LEN || !dh(dh_e, my_priv, in + OFF_EPHEMERAL))
		return false;
	unicast_keys(k1, NULL, netkey, dh_e, NULL, in + OFF_EPHEMERAL, my_pub);
	ok = aead_open(sender, &n, in + hl, UNI_SENDER_LEN, in, hl, in + OFF_NONCE, k1) && n == 32;
	sodium_memzero(k1, sizeof(k1));
	return ok;
}

static enum tund_signal_verdict open_unicast(const uint8_t *in, size_t len,
					     const uint8_t netkey[32], const uint8_t my_priv[32],
					     const uint8_t my_pub[32], struct tund_signal *out)
{
	static const size_t hl = TUND_SIGNAL_UNICAST_HEADER_LEN + UNI_SENDER_LEN;
	uint8_t body[TUND_SIGNAL_MAX_LEN], dh_e[32], dh_s[32], k2[32], sender[32];
	enum tund_signal_verdict v = TUND_SIGNAL_NOT_FOR_ME;
	size_t blen = 0;

	if (!open_sender(in, len, netkey, my_priv, my_pub, dh_e, sender))
		goto out;
	v = TUND_SIGNAL_FORGED;
	if (!dh(dh_s, my_priv, sender))
		goto out;
	unicast_keys(NULL, k2, netkey, dh_e, dh_s, in + OFF_EPHEMERAL, my_pub);
	if (!aead_open(body, &blen, in + hl, len - hl, in, hl, in + OFF_NONCE, k2))
		goto out;
	v = TUND_SIGNAL_MALFORMED;
	if (blen < UNI_FIXED || !unicast(body[0]))
		goto out;
	out->type = body[0];
	memcpy(out->sender, sender, 32);
	memcpy(out->recipient, my_pub, 32);
	out->time_ms = load_be64(body + 1);
	if (decode_payload(body + UNI_FIXED, blen - UNI_FIXED, out))
		v = TUND_SIGNAL_OK;
out:
	sodium_memzero(body, sizeof(body));
	sodium_memzero(dh_e, sizeof(dh_e));
	sodium_memzero(dh_s, sizeof(dh_s));
	sodium_memzero(k2, sizeof(k2));
	return v;
}

/* Magic, length, version and network id. */
static enum tund_signal_verdict header_verdict(const uint8_t *in, size_t len,
					       const uint8_t netkey[32])
{
	uint8_t id[16];

	if (len < TUND_SIGNAL_ANNOUNCE_HEADER_LEN || len > TUND_SIGNAL_MAX_LEN ||
	    memcmp(in + OFF_MAGIC, "TS", 2))
		return TUND_SIGNAL_MALFORMED;
	if (in[OFF_VERSION] != TUND_SIGNAL_VERSION)
		return in[OFF_VERSION] < TUND_SIGNAL_VERSION ? TUND_SIGNAL_OLD_VERSION :
							       TUND_SIGNAL_MALFORMED;
	expected_netid(netkey, id);
	if (sodium_memcmp(id, in + OFF_NETID, 16) != 0)
		return TUND_SIGNAL_OTHER_NETWORK;
	return TUND_SIGNAL_OK;
}

enum tund_signal_verdict tund_signal_precheck(const uint8_t *in, size_t len,
					      const uint8_t netkey[32])
{
	static const size_t hl = TUND_SIGNAL_ANNOUNCE_HEADER_LEN;
	enum tund_signal_verdict v = header_verdict(in, len, netkey);
	uint8_t body[TUND_SIGNAL_MAX_LEN], key[32];
	size_t blen = 0;

	if (v != TUND_SIGNAL_OK || in[OFF_KIND] == KIND_UNICAST)
		return v;
	if (in[OFF_KIND] != KIND_ANNOUNCE)
		return TUND_SIGNAL_MALFORMED;
	kdf(key, netkey, announce_key_label, sizeof(announce_key_label),
	    (const uint8_t *[4]){ NULL });
	if (!aead_open(body, &blen, in + hl, len - hl, in, hl, in + OFF_NONCE, key))
		v = TUND_SIGNAL_FORGED;
	sodium_memzero(body, blen);
	sodium_memzero(key, sizeof(key));
	return v;
}

enum tund_signal_verdict tund_signal_open(const uint8_t *in, size_t len, const uint8_t netkey[32],
					  const uint8_t my_priv[32], const uint8_t my_pub[32],
					  struct tund_signal *out)
{
	static const struct tund_signal empty;
	struct tund_signal *m = calloc(1, sizeof(*m));
	enum tund_signal_verdict v = TUND_SIGNAL_MALFORMED;

	if (!m || (v = header_verdict(in, len, netkey)) != TUND_SIGNAL_OK) {
		v = m ? v : TUND_SIGNAL_MALFORMED;
		goto out;
	}
	v = TUND_SIGNAL_MALFORMED;
	if (in[OFF_KIND] == KIND_ANNOUNCE)
		v = open_announce(in, len, netkey, m);
	else if (in[OFF_KIND] == KIND_UNICAST && len >= TUND_SIGNAL_UNICAST_HEADER_LEN)
		v = open_unicast(in, len, netkey, my_priv, my_pub, m);
	if (v != TUND_SIGNAL_OK)
		goto out;
	memcpy(m->netid, in + OFF_NETID, 16);
	memcpy(m->nonce, in + OFF_NONCE, TUND_SIGNAL_NONCE_LEN);
	*out = *m;
out:
	if (v != TUND_SIGNAL_OK && out)
		*out = empty;
	if (m)
		sodium_memzero(m, sizeof(*m));
	free(m);
	return v;
}

const char *tund_signal_verdict_str(enum tund_signal_verdict v)
{
	switch (v) {
	case TUND_SIGNAL_OK:
		return "ok";
	case TUND_SIGNAL_MALFORMED:
		return "malformed";
	case TUND_SIGNAL_OTHER_NETWORK:
		return "other network";
	case TUND_SIGNAL_NOT_FOR_ME:
		return "not for me";
	case TUND_SIGNAL_FORGED:
		return "forged";
	case TUND_SIGNAL_OLD_VERSION:
		return "old version";
	}
	return "?";
}

void tund_signal_replay_init(struct tund_signal_replay *r)
{
	memset(r, 0, sizeof(*r));
}

enum tund_signal_replay_verdict tund_signal_replay_check(struct tund_signal_replay *r,
							 uint64_t msg_time_ms,
							 const uint8_t nonce[TUND_SIGNAL_NONCE_LEN],
							 uint64_t now_ms)
{
	uint64_t tag = load_be64(nonce);
	uint64_t skew = msg_time_ms > now_ms ? msg_time_ms - now_ms : now_ms - msg_time_ms;
	unsigned n = r->count < TUND_SIGNAL_REPLAY_SLOTS ? r->count : TUND_SIGNAL_REPLAY_SLOTS;
	unsigned slot = r->next % TUND_SIGNAL_REPLAY_SLOTS;

	if (skew > TUND_SIGNAL_MAX_SKEW_MS)
		return TUND_SIGNAL_REPLAY_STALE;
	if (r->count >= TUND_SIGNAL_REPLAY_SLOTS && msg_time_ms <= r->floor_ms)
		return TUND_SIGNAL_REPLAY_REPLAY;
	for (unsigned i = 0; i < n; i++)
		if (r->tag[i] == tag)
			return TUND_SIGNAL_REPLAY_REPLAY;
	if (n == TUND_SIGNAL_REPLAY_SLOTS && r->time[slot] > r->floor_ms)
		r->floor_ms = r->time[slot];
	r->time[slot] = msg_time_ms;
	r->tag[slot] = tag;
	r->next = (slot + 1) % TUND_SIGNAL_REPLAY_SLOTS;
	if (r->count < TUND_SIGNAL_REPLAY_SLOTS)
		r->count++;
	return TUND_SIGNAL_REPLAY_OK;
}

size_t tund_signal_to_text(const uint8_t *bytes, size_t len, char *out, size_t cap)
{
	size_t plen = strlen(TUND_SIGNAL_TEXT_PREFIX);

	if (len == 0 || len > TUND_SIGNAL_MAX_LEN ||
	    cap < plen + sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return 0;
	memcpy(out, TUND_SIGNAL_TEXT_PREFIX, plen);
	sodium_bin2base64(out + plen, cap - plen, bytes, len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return strlen(out);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

size_t tund_signal_from_text(const char *text, uint8_t *out, size_t cap)
{
	size_t len, plen = strlen(TUND_SIGNAL_TEXT_PREFIX), bin_len = 0;
	const char *end = NULL;

	if (!text)
		return 0;
	while (is_space(*text))
		text++;
	len = strlen(text);
	while (len && is_space(text[len - 1]))
		len--;
	if (len <= plen || memcmp(text, TUND_SIGNAL_TEXT_PREFIX, plen) != 0)
		return 0;
	text += plen;
	len -= plen;
	if (len > TUND_SIGNAL_TEXT_MAX)
		return 0;
	if (sodium_base642bin(out, cap, text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != text + len || bin_len == 0 || bin_len > TUND_SIGNAL_MAX_LEN)
		return 0;
	return bin_len;
}
