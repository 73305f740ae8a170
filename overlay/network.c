// SPDX-License-Identifier: MIT
#include "overlay/network.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/servers.h"

#define SET_WHY(msg)                 \
	do {                         \
		if (why)             \
			*why = (msg); \
	} while (0)

enum {
	TAG_NAME = 1,
	TAG_KEY = 2,
	TAG_PREFIX4 = 3,
	TAG_BROKER = 4,
	TAG_STUN = 5,
	TAG_TURN = 6,
	TAG_ADMISSION = 7,
	TAG_NO_BROADCAST = 8, /* present (empty): LAN-game broadcast is off */
	TAG_ADMIN = 9,        /* the admin's public key: it signs membership records */
	TAG_TOKEN = 10,       /* a limited invite's token (TUND_NET_TOKEN_LEN) */
	TAG_EXPIRES = 11,     /* a limited invite's expiry: u64 unix ms, big-endian */
	TAG_ROOT = 12,        /* the root key (epoch 0's key), after a rekey */
	TAG_EPOCH = 13,       /* u32 big-endian, with TAG_ROOT */
	TURN_FLAG_TCP = 1,
	/* Binary invite at its largest is about 3 KB. */
	INVITE_BIN_MAX = 3072,
	INVITE_CHECK_LEN = 4,
};

/* H(outlen; label\0 || a || b) keyed with the network key. */
static void keyed_hash(uint8_t *out, size_t outlen, const uint8_t key[32], const char *label,
		       const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct tund_blake2s_state st;

	tund_blake2s_init_key(&st, outlen, key, 32);
	tund_blake2s_update(&st, (const uint8_t *)label, strlen(label) + 1);
	tund_blake2s_update(&st, a, alen);
	tund_blake2s_update(&st, b, blen);
	tund_blake2s_final(&st, out);
}

bool tund_network_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, TUND_NET_NAME_MAX + 1);
	if (len < 1 || len > TUND_NET_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool prefix4_valid(const struct tund_cidr *c)
{
	struct tund_cidr m;

	if (c->family != AF_INET || c->prefix < 8 || c->prefix > 30)
		return false;
	m = *c;
	tund_cidr_mask(&m);
	return memcmp(m.addr, c->addr, 16) == 0;
}

void tund_network_derive_prefix6(struct tund_network *net)
{
	uint8_t h[7];

	memset(&net->prefix6, 0, sizeof(net->prefix6));
	net->prefix6.family = AF_INET6;
	net->prefix6.prefix = 64;
	keyed_hash(h, sizeof(h), net->root, "tund net prefix6 v1", NULL, 0, NULL, 0);
	net->prefix6.addr[0] = 0xfd;
	memcpy(net->prefix6.addr + 1, h, sizeof(h));
}

bool tund_network_set_prefix4(struct tund_network *net, const char *cidr, const char **why)
{
	struct tund_cidr c;

	if (!tund_cidr_parse(&c, cidr, false) || c.family != AF_INET) {
		SET_WHY("prefix: expected an IPv4 prefix such as 10.77.0.0/16");
		return false;
	}
	if (c.prefix < 8 || c.prefix > 30) {
		SET_WHY("prefix: length must be /8 to /30");
		return false;
	}
	tund_cidr_mask(&c);
	net->prefix4 = c;
	return true;
}

bool tund_network_prefix_overlap(const struct tund_cidr *a, const struct tund_cidr *b)
{
	return a->family == b->family &&
	       (tund_cidr_contains(a, b->addr) || tund_cidr_contains(b, a->addr));
}

static bool pick_candidate(unsigned x)
{
	return x >= 64 && x <= 250 && !(x >= 96 && x <= 111) && x != 100 && x != 200 && x != 244;
}

bool tund_network_pick_prefix4(uint32_t seed, const struct tund_cidr *taken, size_t n_taken,
			       struct tund_cidr *out)
{
	unsigned cand[256], n = 0;

	for (unsigned x = 0; x < 256; x++)
		if (pick_candidate(x))
			cand[n++] = x;
	for (unsigned i = 0; i < n; i++) {
		struct tund_cidr c = {.family = AF_INET, .prefix = 16};
		size_t j;

		c.addr[0] = 10;
		c.addr[1] = (uint8_t)cand[(seed + i) % n];
		for (j = 0; j < n_taken && !tund_network_prefix_overlap(&c, &taken[j]); j++)
			;
		if (j == n_taken) {
			*out = c;
			return true;
		}
	}
	return false;
}

bool tund_network_init_new(struct tund_network *net, const char *name, const char **why)
{
	if (!tund_network_name_valid(name)) {
		SET_WHY("network name: 1-64 characters of A-Z a-z 0-9 . _ -");
		return false;
	}
	memset(net, 0, sizeof(*net));
	memcpy(net->name, name, strlen(name) + 1);
	randombytes_buf(net->key, sizeof(net->key));
	memcpy(net->root, net->key, sizeof(net->root));
	if (!tund_network_set_prefix4(net, TUND_NET_DEFAULT_PREFIX4, why))
		return false;
	tund_network_derive_prefix6(net);
	net->admission = TUND_ADMISSION_OPEN;
	return true;
}

void tund_network_clear(struct tund_network *net)
{
	sodium_memzero(net, sizeof(*net));
}

/* ---- Invites ---- */

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

static void put_u8(struct writer *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u16(struct writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}

static void put_field(struct writer *w, uint8_t tag, const void *data, size_t len)
{
	if (len > 0xffff) {
		w->ok = false;
		return;
	}
	put_u8(w, tag);
	put_u16(w, (uint16_t)len);
	put(w, data, len);
}

static bool network_valid(const struct tund_network *net)
{
	if (!tund_network_name_valid(net->name) || !prefix4_valid(&net->prefix4))
		return false;
	if (strnlen(net->broker, sizeof(net->broker)) == sizeof(net->broker) ||
	    (net->broker[0] && !tund_parse_broker_url(net->broker, NULL, NULL)))
		return false;
	if (net->n_stun > TUND_NET_MAX_STUN || net->n_turn > TUND_NET_MAX_TURN)
		return false;
	for (unsigned i = 0; i < net->n_stun; i++)
		if (!tund_server_host_valid(net->stun[i].host, strnlen(net->stun[i].host, 256)) ||
		    !net->stun[i].port)
			return false;
	for (unsigned i = 0; i < net->n_turn; i++) {
		const struct tund_turn_server *t = &net->turn[i];
		if (!tund_server_host_valid(t->host, strnlen(t->host, 256)) || !t->port ||
		    !tund_server_cred_valid(t->user, sizeof(t->user)) ||
		    !tund_server_cred_valid(t->pass, sizeof(t->pass)))
			return false;
	}
	return net->admission == TUND_ADMISSION_OPEN || net->admission == TUND_ADMISSION_APPROVE;
}

size_t tund_invite_encode(const struct tund_network *net, char *out, size_t cap)
{
	uint8_t bin[INVITE_BIN_MAX], tmp[600];
	struct writer w = { .buf = bin, .cap = sizeof(bin), .ok = true };
	size_t plen = strlen(TUND_INVITE_PREFIX), need, result = 0;

	if (!network_valid(net))
		goto out;
	put_u8(&w, TUND_INVITE_VERSION);
	put_field(&w, TAG_NAME, net->name, strlen(net->name));
	put_field(&w, TAG_KEY, net->key, sizeof(net->key));
	memcpy(tmp, net->prefix4.addr, 4);
	tmp[4] = net->prefix4.prefix;
	put_field(&w, TAG_PREFIX4, tmp, 5);
	if (net->broker[0])
		put_field(&w, TAG_BROKER, net->broker, strlen(net->broker));
	for (unsigned i = 0; i < net->n_stun; i++) {
		struct writer v = { .buf = tmp, .cap = sizeof(tmp), .ok = true };
		put_u16(&v, net->stun[i].port);
		put(&v, net->stun[i].host, strlen(net->stun[i].host));
		put_field(&w, TAG_STUN, tmp, v.ok ? v.len : 0x10000);
	}
	for (unsigned i = 0; i < net->n_turn; i++) {
		const struct tund_turn_server *t = &net->turn[i];
		struct writer v = { .buf = tmp, .cap = sizeof(tmp), .ok = true };
		size_t hl = strlen(t->host), ul = strlen(t->user), pl = strlen(t->pass);

		put_u16(&v, t->port);
		put_u8(&v, t->tcp ? TURN_FLAG_TCP : 0);
		put_u8(&v, (uint8_t)hl);
		put(&v, t->host, hl);
		put_u8(&v, (uint8_t)ul);
		put(&v, t->user, ul);
		put_u8(&v, (uint8_t)pl);
		put(&v, t->pass, pl);
		put_field(&w, TAG_TURN, tmp, v.ok ? v.len : 0x10000);
	}
	if (net->admission != TUND_ADMISSION_OPEN) {
		uint8_t adm = (uint8_t)net->admission;
		put_field(&w, TAG_ADMISSION, &adm, 1);
	}
	if (net->no_broadcast)
		put_field(&w, TAG_NO_BROADCAST, "", 0);
	if (net->has_admin)
		put_field(&w, TAG_ADMIN, net->admin, 32);
	if (net->has_token) {
		uint8_t exp[8];

		for (int i = 0; i < 8; i++)
			exp[i] = (uint8_t)(net->invite_expires_ms >> (56 - 8 * i));
		put_field(&w, TAG_TOKEN, net->invite_token, TUND_NET_TOKEN_LEN);
		put_field(&w, TAG_EXPIRES, exp, sizeof(exp));
	}
	if (net->epoch) {
		uint8_t ep[4];

		store_be32(ep, net->epoch);

		put_field(&w, TAG_ROOT, net->root, sizeof(net->root));
		put_field(&w, TAG_EPOCH, ep, sizeof(ep));
	}
	if (w.ok) {
		uint8_t check[INVITE_CHECK_LEN];
		tund_blake2s(check, sizeof(check), bin, w.len, NULL, 0);
		put(&w, check, sizeof(check));
	}
	if (!w.ok)
		goto out;
	need = plen + sodium_base64_ENCODED_LEN(w.len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (cap < need)
		goto out;
	memcpy(out, TUND_INVITE_PREFIX, plen);
	sodium_bin2base64(out + plen, cap - plen, bin, w.len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	result = strlen(out);
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(tmp, sizeof(tmp));
	return result;
}

static bool bytes_printable(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!tund_server_cred_byte_ok(p[i]))
			return false;
	return true;
}

/* Reads a length-prefixed (1 byte) string into dst (cap bytes incl. NUL). */
static bool take_str8(const uint8_t **p, const uint8_t *end, char *dst, size_t cap)
{
	size_t len;

	if (*p >= end)
		return false;
	len = **p;
	(*p)++;
	if ((size_t)(end - *p) < len || len >= cap)
		return false;
	memcpy(dst, *p, len);
	dst[len] = '\0';
	*p += len;
	return true;
}

static bool decode_turn(const uint8_t *v, size_t len, struct tund_turn_server *t)
{
	const uint8_t *end = v + len;

	memset(t, 0, sizeof(*t));
	if (len < 4)
		return false;
	t->port = (uint16_t)(v[0] << 8 | v[1]);
	if (!t->port || (v[2] & ~TURN_FLAG_TCP))
		return false;
	t->tcp = v[2] & TURN_FLAG_TCP;
	v += 3;
	if (!take_str8(&v, end, t->host, sizeof(t->host)) ||
	    !take_str8(&v, end, t->user, sizeof(t->user)) ||
	    !take_str8(&v, end, t->pass, sizeof(t->pass)) || v != end)
		return false;
	return tund_server_host_valid(t->host, strlen(t->host)) &&
	       bytes_printable((const uint8_t *)t->user, strlen(t->user)) &&
	       bytes_printable((const uint8_t *)t->pass, strlen(t->pass)) &&
	       strlen(t->host) + strlen(t->user) + strlen(t->pass) + 6 == len;
}

/* Name, key and prefix4; again: the tag was seen before. */
static bool decode_identity(uint8_t tag, const uint8_t *v, size_t flen, bool again,
			    struct tund_network *n, const char **why)
{
	switch (tag) {
	case TAG_NAME:
		if (again || flen < 1 || flen > TUND_NET_NAME_MAX) {
			SET_WHY("invite: bad network name");
			return false;
		}
		memcpy(n->name, v, flen);
		n->name[flen] = '\0';
		if (!tund_network_name_valid(n->name)) {
			SET_WHY("invite: bad network name");
			return false;
		}
		return true;
	case TAG_KEY:
		if (again || flen != TUND_NET_KEY_LEN) {
			SET_WHY("invite: bad network key");
			return false;
		}
		memcpy(n->key, v, flen);
		return true;
	default: /* TAG_PREFIX4 */
		if (again || flen != 5) {
			SET_WHY("invite: bad prefix");
			return false;
		}
		memset(&n->prefix4, 0, sizeof(n->prefix4));
		n->prefix4.family = AF_INET;
		memcpy(n->prefix4.addr, v, 4);
		n->prefix4.prefix = v[4];
		if (!prefix4_valid(&n->prefix4)) {
			SET_WHY("invite: bad prefix (IPv4 /8 to /30, host bits zero)");
			return false;
		}
		return true;
	}
}

/* Broker (once), STUN and TURN servers (up to their maximum). */
static bool decode_server(uint8_t tag, const uint8_t *v, size_t flen, bool again,
			  struct tund_network *n, const char **why)
{
	struct tund_stun_server *s;

	switch (tag) {
	case TAG_BROKER:
		if (again || flen < 1 || flen >= sizeof(n->broker) || memchr(v, 0, flen)) {
			SET_WHY("invite: bad broker URL");
			return false;
		}
		memcpy(n->broker, v, flen);
		n->broker[flen] = '\0';
		if (!tund_parse_broker_url(n->broker, NULL, NULL)) {
			SET_WHY("invite: bad broker URL");
			return false;
		}
		return true;
	case TAG_STUN:
		if (n->n_stun == TUND_NET_MAX_STUN) {
			SET_WHY("invite: too many STUN servers");
			return false;
		}
		s = &n->stun[n->n_stun];
		if (flen < 3 || flen - 2 >= sizeof(s->host) ||
		    !tund_server_host_valid((const char *)v + 2, flen - 2) || !(v[0] | v[1])) {
			SET_WHY("invite: bad STUN server");
			return false;
		}
		s->port = (uint16_t)(v[0] << 8 | v[1]);
		memcpy(s->host, v + 2, flen - 2);
		s->host[flen - 2] = '\0';
		n->n_stun++;
		return true;
	default: /* TAG_TURN */
		if (n->n_turn == TUND_NET_MAX_TURN) {
			SET_WHY("invite: too many TURN servers");
			return false;
		}
		if (!decode_turn(v, flen, &n->turn[n->n_turn])) {
			SET_WHY("invite: bad TURN server");
			return false;
		}
		n->n_turn++;
		return true;
	}
}

/* A limited invite's token and expiry (both or neither, checked at the end). */
static bool decode_limit(uint8_t tag, const uint8_t *v, size_t flen, bool again,
			 struct tund_network *n, const char **why)
{
	if (tag == TAG_TOKEN) {
		if (again || flen != TUND_NET_TOKEN_LEN) {
			SET_WHY("invite: bad invite token");
			return false;
		}
		memcpy(n->invite_token, v, flen);
		n->has_token = true;
		return true;
	}
	if (again || flen != 8) {
		SET_WHY("invite: bad expiry");
		return false;
	}
	n->invite_expires_ms = 0;
	for (size_t i = 0; i < 8; i++)
		n->invite_expires_ms = n->invite_expires_ms << 8 | v[i];
	return true;
}

/* One field; *seen has bit 1 << tag for each known tag seen so far. */
static bool decode_field(uint8_t tag, const uint8_t *v, size_t flen, unsigned *seen,
			 struct tund_network *n, const char **why)
{
	bool again;

	if (tag > TAG_EPOCH)
		return true; /* a newer field: skip */
	again = *seen & 1u << tag;
	*seen |= 1u << tag;
	switch (tag) {
	case TAG_NAME:
	case TAG_KEY:
	case TAG_PREFIX4:
		return decode_identity(tag, v, flen, again, n, why);
	case TAG_BROKER:
	case TAG_STUN:
	case TAG_TURN:
		return decode_server(tag, v, flen, again, n, why);
	case TAG_ADMISSION:
		if (again || flen != 1 || v[0] > TUND_ADMISSION_APPROVE) {
			SET_WHY("invite: bad admission mode");
			return false;
		}
		n->admission = (enum tund_admission)v[0];
		return true;
	case TAG_NO_BROADCAST:
		if (flen != 0) {
			SET_WHY("invite: bad broadcast flag");
			return false;
		}
		n->no_broadcast = true;
		return true;
	case TAG_ADMIN:
		if (again || flen != 32) {
			SET_WHY("invite: bad admin key");
			return false;
		}
		memcpy(n->admin, v, 32);
		n->has_admin = true;
		return true;
	case TAG_TOKEN:
	case TAG_EXPIRES:
		return decode_limit(tag, v, flen, again, n, why);
	case TAG_ROOT:
		if (again || flen != 32 || sodium_is_zero(v, 32)) {
			SET_WHY("invite: bad root key");
			return false;
		}
		memcpy(n->root, v, 32);
		return true;
	case TAG_EPOCH:
		if (again || flen != 4 || load_be32(v) == 0) {
			SET_WHY("invite: bad epoch");
			return false;
		}
		n->epoch = load_be32(v);
		return true;
	default:
		return true; /* tag 0: not used, skipped as before */
	}
}

static bool decode_fields(const uint8_t *p, size_t len, struct tund_network *n, const char **why)
{
	const uint8_t *end = p + len;
	unsigned seen = 0;

	if (len < 1) {
		SET_WHY("invite: empty");
		return false;
	}
	if (*p != TUND_INVITE_VERSION) {
		SET_WHY("invite: unsupported version (upgrade tund?)");
		return false;
	}
	p++;
	while (p < end) {
		uint8_t tag;
		size_t flen;

		if (end - p < 3) {
			SET_WHY("invite: truncated field header");
			return false;
		}
		tag = p[0];
		flen = (size_t)p[1] << 8 | p[2];
		p += 3;
		if ((size_t)(end - p) < flen) {
			SET_WHY("invite: truncated field");
			return false;
		}
		if (!decode_field(tag, p, flen, &seen, n, why))
			return false;
		p += flen;
	}
	if (!(seen & 1u << TAG_NAME) || !(seen & 1u << TAG_KEY) || !(seen & 1u << TAG_PREFIX4)) {
		SET_WHY("invite: missing name, key or prefix");
		return false;
	}
	if (!(seen & 1u << TAG_TOKEN) != !(seen & 1u << TAG_EXPIRES)) {
		SET_WHY("invite: a token without an expiry, or an expiry without a token");
		return false;
	}
	if (!(seen & 1u << TAG_ROOT) != !(seen & 1u << TAG_EPOCH)) {
		SET_WHY("invite: a root key without an epoch, or an epoch without a root key");
		return false;
	}
	if (!(seen & 1u << TAG_ROOT)) /* epoch 0: the key is the root */
		memcpy(n->root, n->key, sizeof(n->root));
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool tund_invite_decode(const char *text, struct tund_network *net, const char **why)
{
	struct tund_network n;
	uint8_t bin[INVITE_BIN_MAX], check[INVITE_CHECK_LEN];
	size_t len, plen = strlen(TUND_INVITE_PREFIX), bin_len = 0;
	const char *end = NULL;
	bool ok = false;

	memset(&n, 0, sizeof(n));
	if (!text) {
		SET_WHY("invite: missing");
		goto out;
	}
	while (is_space(*text))
		text++;
	len = strlen(text);
	while (len && is_space(text[len - 1]))
		len--;
	if (len < plen || memcmp(text, TUND_INVITE_PREFIX, plen) != 0) {
		SET_WHY(len >= 5 && !memcmp(text, "tund", 4) && text[4] != '1'
				? "invite: unsupported version (upgrade tund?)"
				: "invite: expected text starting with tund1:");
		goto out;
	}
	text += plen;
	len -= plen;
	if (len > TUND_INVITE_MAX_TEXT) {
		SET_WHY("invite: too long");
		goto out;
	}
	if (sodium_base642bin(bin, sizeof(bin), text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != text + len) {
		SET_WHY("invite: bad base64url");
		goto out;
	}
	if (bin_len <= INVITE_CHECK_LEN) {
		SET_WHY("invite: too short");
		goto out;
	}
	bin_len -= INVITE_CHECK_LEN;
	tund_blake2s(check, sizeof(check), bin, bin_len, NULL, 0);
	if (memcmp(check, bin + bin_len, sizeof(check)) != 0) {
		SET_WHY("invite: damaged (check bytes differ; was it cut or edited?)");
		goto out;
	}
	if (!decode_fields(bin, bin_len, &n, why))
		goto out;
	tund_network_derive_prefix6(&n);
	*net = n;
	ok = true;
out:
	sodium_memzero(&n, sizeof(n));
	sodium_memzero(bin, sizeof(bin));
	return ok;
}

/* ---- Identities ---- */

void tund_network_id(const uint8_t key[TUND_NET_KEY_LEN], uint8_t out[TUND_NET_ID_LEN])
{
	keyed_hash(out, TUND_NET_ID_LEN, key, "tund net id v1", NULL, 0, NULL, 0);
}

void tund_network_record_id(const struct tund_network *net, uint8_t out[TUND_NET_ID_LEN])
{
	tund_network_id(net->root, out);
}

void tund_network_epoch_key(const struct tund_network *net, const uint8_t creator_priv[32],
			    uint32_t epoch, uint8_t out[TUND_NET_KEY_LEN])
{
	uint8_t id[TUND_NET_ID_LEN], e[4];

	if (epoch == 0) {
		memcpy(out, net->root, TUND_NET_KEY_LEN);
		return;
	}
	tund_network_record_id(net, id);
	store_be32(e, epoch);
	keyed_hash(out, TUND_NET_KEY_LEN, creator_priv, "tund net epoch key v1", id, sizeof(id), e,
		   sizeof(e));
}

bool tund_network_rekey(struct tund_network *net, uint32_t epoch,
			const uint8_t key[TUND_NET_KEY_LEN])
{
	if (epoch <= net->epoch || sodium_is_zero(key, TUND_NET_KEY_LEN))
		return false;
	memcpy(net->key, key, TUND_NET_KEY_LEN);
	net->epoch = epoch;
	return true;
}

void tund_network_psk(const uint8_t key[TUND_NET_KEY_LEN], uint8_t out[32])
{
	static const char label[] = "tund net psk v1";

	tund_blake2s_kdf1(out, key, (const uint8_t *)label, sizeof(label));
}

static bool write_topic(const struct tund_network *net, const char *label, const char *mid,
			const uint8_t *pubkey, char *buf, size_t cap)
{
	uint8_t id[TUND_NET_ID_LEN], tag[TUND_NET_TAG_LEN];
	char idhex[2 * TUND_NET_ID_LEN + 1], taghex[2 * TUND_NET_TAG_LEN + 1];
	int n;

	tund_network_id(net->key, id);
	sodium_bin2hex(idhex, sizeof(idhex), id, sizeof(id));
	if (label) {
		keyed_hash(tag, sizeof(tag), net->key, label, pubkey, 32, NULL, 0);
		sodium_bin2hex(taghex, sizeof(taghex), tag, sizeof(tag));
		n = snprintf(buf, cap, "tund/%s/%s%s", idhex, mid, taghex);
	} else {
		n = snprintf(buf, cap, "tund/%s", idhex);
	}
	return n > 0 && (size_t)n < cap;
}

bool tund_network_topic_prefix(const struct tund_network *net, char *buf, size_t cap)
{
	return write_topic(net, NULL, NULL, NULL, buf, cap);
}

bool tund_network_inbox_topic(const struct tund_network *net, const uint8_t pubkey[32],
			      char *buf, size_t cap)
{
	return write_topic(net, "tund net inbox v1", "", pubkey, buf, cap);
}

bool tund_network_announce_topic(const struct tund_network *net, const uint8_t pubkey[32],
				 char *buf, size_t cap)
{
	return write_topic(net, "tund net announce v1", "a/", pubkey, buf, cap);
}

bool tund_network_rekey_topic(const struct tund_network *net, const uint8_t subject[32],
			      char *buf, size_t cap)
{
	return write_topic(net, "tund net rekey v1", "r/", subject, buf, cap);
}

bool tund_network_record_topic(const struct tund_network *net, const uint8_t subject[32],
			       char *buf, size_t cap)
{
	return write_topic(net, "tund net record v1", "a/", subject, buf, cap);
}

/* ---- Addresses ---- */

static uint32_t host_count(const struct tund_cidr *p)
{
	return (uint32_t)((1ull << (32 - p->prefix)) - 2);
}

/* Host number (1..host_count) of pubkey's attempt. */
static uint32_t host_for(const struct tund_network *net, const uint8_t pubkey[32],
			 uint32_t attempt)
{
	uint8_t a[4], h[8];
	uint64_t v = 0;

	store_be32(a, attempt);
	keyed_hash(h, sizeof(h), net->root, "tund net addr4 v1", pubkey, 32, a, 4);
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return (uint32_t)(1 + v % host_count(&net->prefix4));
}

static void addr4_of(const struct tund_network *net, uint32_t host, uint8_t v4[4])
{
	store_be32(v4, load_be32(net->prefix4.addr) + host);
}

static void addr6_of(const struct tund_network *net, const uint8_t pubkey[32], uint8_t v6[16])
{
	uint8_t iid[8];

	keyed_hash(iid, sizeof(iid), net->root, "tund net addr6 v1", pubkey, 32, NULL, 0);
	/* An all-zero interface id is the subnet-router anycast address. */
	if (!(iid[0] | iid[1] | iid[2] | iid[3] | iid[4] | iid[5] | iid[6] | iid[7]))
		iid[7] = 1;
	memcpy(v6, net->prefix6.addr, 8);
	memcpy(v6 + 8, iid, 8);
}

bool tund_network_address(const struct tund_network *net, const uint8_t pubkey[32],
			  uint32_t attempt, uint8_t v4[4], uint8_t v6[16])
{
	if (!prefix4_valid(&net->prefix4))
		return false;
	addr4_of(net, host_for(net, pubkey, attempt), v4);
	addr6_of(net, pubkey, v6);
	return true;
}

struct member {
	uint8_t order[TUND_NET_TAG_LEN];
	const uint8_t *key;
	size_t idx;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = memcmp(x->order, y->order, sizeof(x->order));

	if (c)
		return c;
	c = memcmp(x->key, y->key, 32);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Open-addressing set of host numbers (never 0). */
struct hostset {
	uint32_t *slot;
	size_t mask;
};

static size_t hs_pos(const struct hostset *s, uint32_t h)
{
	return (size_t)((h * 0x9e3779b1u) ^ (h >> 16)) & s->mask;
}

static bool hs_has(const struct hostset *s, uint32_t h)
{
	for (size_t i = hs_pos(s, h);; i = (i + 1) & s->mask) {
		if (s->slot[i] == h)
			return true;
		if (!s->slot[i])
			return false;
	}
}

static void hs_add(struct hostset *s, uint32_t h)
{
	size_t i = hs_pos(s, h);

	while (s->slot[i])
		i = (i + 1) & s->mask;
	s->slot[i] = h;
}

bool tund_network_assign(const struct tund_network *net, const uint8_t (*keys)[32], size_t n,
			 uint8_t (*v4_out)[4], uint8_t (*v6_out)[16])
{
	struct member *m = NULL;
	struct hostset set = { 0 };
	size_t cap = 16, taken = 0, i;
	uint32_t hc;
	bool ok = false;

	if (n)
		memset(v4_out, 0, n * sizeof(*v4_out));
	if (n)
		memset(v6_out, 0, n * sizeof(*v6_out));
	if (!prefix4_valid(&net->prefix4))
		return false;
	if (n == 0)
		return true;
	hc = host_count(&net->prefix4);
	while (cap < 2 * n && cap < SIZE_MAX / 4)
		cap *= 2;
	if (n > SIZE_MAX / sizeof(*m) || cap < 2 * n)
		return false;
	m = calloc(n, sizeof(*m));
	set.slot = calloc(cap, sizeof(*set.slot));
	set.mask = cap - 1;
	if (!m || !set.slot)
		goto out;
	for (i = 0; i < n; i++) {
		keyed_hash(m[i].order, sizeof(m[i].order), net->root, "tund net order v1", keys[i],
			   32, NULL, 0);
		m[i].key = keys[i];
		m[i].idx = i;
	}
	qsort(m, n, sizeof(*m), member_cmp);

	for (i = 0; i < n; i++) {
		size_t k = m[i].idx;
		uint32_t host = 0, first;

		if (i > 0 && !memcmp(keys[k], keys[m[i - 1].idx], 32)) {
			memcpy(v4_out[k], v4_out[m[i - 1].idx], 4);
			memcpy(v6_out[k], v6_out[m[i - 1].idx], 16);
			continue;
		}
		if (taken == hc)
			goto out; /* more members than addresses */
		first = host_for(net, keys[k], 0);
		for (uint32_t a = 0; a < TUND_NET_ASSIGN_HASH_TRIES; a++) {
			uint32_t h = a ? host_for(net, keys[k], a) : first;
			if (!hs_has(&set, h)) {
				host = h;
				break;
			}
		}
		/* Nearly full prefix: the next free host after the first choice. */
		for (host = host ? host : first; hs_has(&set, host); host = host % hc + 1)
			;
		hs_add(&set, host);
		taken++;
		addr4_of(net, host, v4_out[k]);
		addr6_of(net, keys[k], v6_out[k]);
	}
	ok = true;
out:
	free(m);
	free(set.slot);
	return ok;
}
