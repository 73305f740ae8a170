// SPDX-License-Identifier: MIT
#include "overlay/signal.h"

#include <sodium.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/network.h"

enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 2,
	OFF_TYPE = 3,
	OFF_NETID = 4,
	OFF_SENDER = 20,
	OFF_RECIPIENT = 52,
	OFF_TIME = 84,
	OFF_NONCE = 92,
	TAG_SESSION = 1,
	TAG_NAME = 2,
	TAG_PORT = 3,
	TAG_UFRAG = 4,
	TAG_PWD = 5,
	TAG_CANDIDATE = 6,
	TAG_EOC = 7,
	PAYLOAD_MAX = TUND_SIGNAL_MAX_LEN - TUND_SIGNAL_HEADER_LEN - TUND_SIGNAL_TAG_LEN,
};

_Static_assert(OFF_NONCE + TUND_SIGNAL_NONCE_LEN == TUND_SIGNAL_HEADER_LEN, "header layout");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == TUND_SIGNAL_TAG_LEN, "tag size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == TUND_SIGNAL_NONCE_LEN, "nonce");

static const uint8_t zero32[32];

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
	return type >= TUND_SIGNAL_OFFER && type <= TUND_SIGNAL_BYE;
}

/* key = kdf1(netkey, label || dh) for unicast, kdf1(netkey, label) for announce. */
static bool derive_key(uint8_t key[32], uint8_t type, const uint8_t netkey[32],
		       const uint8_t priv[32], const uint8_t peer_pub[32])
{
	static const char announce[] = "tund sig announce v1";
	static const char uni[] = "tund sig unicast v1";
	uint8_t in[sizeof(uni) + 32], dh[32];
	bool ok = false;

	if (type == TUND_SIGNAL_ANNOUNCE) {
		tund_blake2s_kdf1(key, netkey, (const uint8_t *)announce, sizeof(announce));
		return true;
	}
	/* libsodium refuses an all-zero result (low-order peer key). */
	if (crypto_scalarmult_curve25519(dh, priv, peer_pub) != 0 || is_zero(dh, 32))
		goto out;
	memcpy(in, uni, sizeof(uni));
	memcpy(in + sizeof(uni), dh, 32);
	tund_blake2s_kdf1(key, netkey, in, sizeof(in));
	ok = true;
out:
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(in, sizeof(in));
	return ok;
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

	if (m->type < TUND_SIGNAL_ANNOUNCE || m->type > TUND_SIGNAL_BYE)
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

static size_t encode_payload(const struct tund_signal *m, uint8_t *buf, size_t cap)
{
	struct writer w = { .buf = buf, .cap = cap, .ok = true };
	uint8_t s[4] = { (uint8_t)(m->session >> 24), (uint8_t)(m->session >> 16),
			 (uint8_t)(m->session >> 8), (uint8_t)m->session };
	uint8_t port[2] = { (uint8_t)(m->listen_port >> 8), (uint8_t)m->listen_port };

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
	return w.ok ? w.len : 0;
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
		if (tag >= TAG_SESSION && tag <= TAG_EOC && tag != TAG_CANDIDATE) {
			if (seen & (1u << tag))
				return false;
			seen |= 1u << tag;
		}
		switch (tag) {
		case TAG_SESSION:
			if (flen != 4)
				return false;
			m->session = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
				     (uint32_t)v[2] << 8 | v[3];
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
		case TAG_EOC:
			if (flen != 0)
				return false;
			m->end_of_candidates = true;
			break;
		default:
			break; /* a newer field: skip */
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

size_t tund_signal_seal(const struct tund_signal *m, const uint8_t netkey[32],
			const uint8_t sender_priv[32], uint8_t *out, size_t cap)
{
	uint8_t payload[PAYLOAD_MAX], key[32];
	unsigned long long clen = 0;
	size_t plen, result = 0;

	if (!message_valid(m) || cap < TUND_SIGNAL_HEADER_LEN + TUND_SIGNAL_TAG_LEN)
		goto out;
	plen = encode_payload(m, payload, sizeof(payload));
	if (!plen || cap - TUND_SIGNAL_HEADER_LEN - TUND_SIGNAL_TAG_LEN < plen)
		goto out;
	if (!derive_key(key, m->type, netkey, sender_priv, m->recipient))
		goto out;
	memcpy(out + OFF_MAGIC, "TS", 2);
	out[OFF_VERSION] = TUND_SIGNAL_VERSION;
	out[OFF_TYPE] = m->type;
	expected_netid(netkey, out + OFF_NETID);
	memcpy(out + OFF_SENDER, m->sender, 32);
	memcpy(out + OFF_RECIPIENT, unicast(m->type) ? m->recipient : zero32, 32);
	store_be64(out + OFF_TIME, m->time_ms);
	randombytes_buf(out + OFF_NONCE, TUND_SIGNAL_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + TUND_SIGNAL_HEADER_LEN, &clen, payload,
						   plen, out, TUND_SIGNAL_HEADER_LEN, NULL,
						   out + OFF_NONCE, key);
	result = TUND_SIGNAL_HEADER_LEN + (size_t)clen;
out:
	sodium_memzero(payload, sizeof(payload));
	sodium_memzero(key, sizeof(key));
	return result;
}

enum tund_signal_verdict tund_signal_open(const uint8_t *in, size_t len, const uint8_t netkey[32],
					  const uint8_t my_priv[32], const uint8_t my_pub[32],
					  struct tund_signal *out)
{
	static struct tund_signal empty;
	uint8_t payload[PAYLOAD_MAX], key[32], id[16];
	unsigned long long plen = 0;
	enum tund_signal_verdict v = TUND_SIGNAL_MALFORMED;
	uint8_t type;

	if (len < TUND_SIGNAL_HEADER_LEN + TUND_SIGNAL_TAG_LEN || len > TUND_SIGNAL_MAX_LEN ||
	    memcmp(in + OFF_MAGIC, "TS", 2) || in[OFF_VERSION] != TUND_SIGNAL_VERSION)
		goto out;
	type = in[OFF_TYPE];
	if (type < TUND_SIGNAL_ANNOUNCE || type > TUND_SIGNAL_BYE)
		goto out;
	expected_netid(netkey, id);
	if (sodium_memcmp(id, in + OFF_NETID, 16) != 0) {
		v = TUND_SIGNAL_OTHER_NETWORK;
		goto out;
	}
	if (!unicast(type)) {
		if (!is_zero(in + OFF_RECIPIENT, 32))
			goto out;
	} else if (memcmp(in + OFF_RECIPIENT, my_pub, 32) != 0) {
		v = TUND_SIGNAL_NOT_FOR_ME;
		goto out;
	}
	v = TUND_SIGNAL_FORGED;
	if (!derive_key(key, type, netkey, my_priv, in + OFF_SENDER))
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    payload, &plen, NULL, in + TUND_SIGNAL_HEADER_LEN, len - TUND_SIGNAL_HEADER_LEN,
		    in, TUND_SIGNAL_HEADER_LEN, in + OFF_NONCE, key) != 0)
		goto out;
	v = TUND_SIGNAL_MALFORMED;
	*out = empty;
	out->type = type;
	memcpy(out->netid, in + OFF_NETID, 16);
	memcpy(out->sender, in + OFF_SENDER, 32);
	memcpy(out->recipient, in + OFF_RECIPIENT, 32);
	out->time_ms = load_be64(in + OFF_TIME);
	memcpy(out->nonce, in + OFF_NONCE, TUND_SIGNAL_NONCE_LEN);
	if (!decode_payload(payload, (size_t)plen, out)) {
		*out = empty;
		goto out;
	}
	v = TUND_SIGNAL_OK;
out:
	sodium_memzero(payload, sizeof(payload));
	sodium_memzero(key, sizeof(key));
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
