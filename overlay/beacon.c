// SPDX-License-Identifier: MIT
/* LAN beacon codec, replay guard (see overlay/beacon.h; the token bucket is overlay/ratelimit.c). */
#include "overlay/beacon.h"

#include <sodium.h>
#include <string.h>

#include "overlay/blake2s.h"
#include "overlay/fuzzing.h"
#include "overlay/network.h"
#include "overlay/xsign.h"

/* Both hashed with their NUL. */
static const char label[] = "tund beacon v2";
static const char sig_label[] = "tund beacon v2 sig";

enum { SIGNED_LEN = sizeof(sig_label) + TUND_BEACON_SIG_OFFSET };

static void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void beacon_mac(uint8_t mac[16], const uint8_t *msg, const uint8_t netkey[32])
{
	uint8_t key[32];

	tund_blake2s_kdf1(key, netkey, (const uint8_t *)label, sizeof(label));
	tund_blake2s(mac, 16, msg, TUND_BEACON_MAC_OFFSET, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
}

/* What the sender signs: its label, then the fields (bytes 0..68). */
static void signed_bytes(uint8_t out[SIGNED_LEN], const uint8_t *beacon)
{
	memcpy(out, sig_label, sizeof(sig_label));
	memcpy(out + sizeof(sig_label), beacon, TUND_BEACON_SIG_OFFSET);
}

size_t tund_beacon_encode(const struct tund_beacon_msg *b, const uint8_t netkey[32],
			  const uint8_t priv[32], uint8_t *out, size_t cap)
{
	uint8_t msg[SIGNED_LEN];
	bool ok;

	if (cap < TUND_BEACON_LEN || b->listen_port == 0)
		return 0;
	out[0] = 'T';
	out[1] = 'B';
	out[2] = TUND_BEACON_VERSION;
	tund_network_id(netkey, out + 3);
	memcpy(out + TUND_BEACON_PUBKEY_OFFSET, b->pubkey, 32);
	store_be16(out + 51, b->listen_port);
	store_be64(out + 53, b->time_ms);
	memcpy(out + 61, b->nonce, TUND_BEACON_NONCE_LEN);
	signed_bytes(msg, out);
	ok = tund_xsign(out + TUND_BEACON_SIG_OFFSET, msg, sizeof(msg), priv);
	if (!ok)
		return 0;
	beacon_mac(out + TUND_BEACON_MAC_OFFSET, out, netkey);
	return TUND_BEACON_LEN;
}

enum tund_beacon_verdict tund_beacon_decode(const uint8_t *in, size_t len, const uint8_t netkey[32],
					    struct tund_beacon_msg *out)
{
	uint8_t id[TUND_NET_ID_LEN], mac[16], msg[SIGNED_LEN];
	enum tund_beacon_verdict v;

	if (len >= 3 && in[0] == 'T' && in[1] == 'B' && in[2] == 1)
		return TUND_BEACON_OLD_VERSION;
	if (len != TUND_BEACON_LEN || in[0] != 'T' || in[1] != 'B' ||
	    in[2] != TUND_BEACON_VERSION || load_be16(in + 51) == 0)
		return TUND_BEACON_MALFORMED;
	tund_network_id(netkey, id);
	/* The tag is public; a plain compare is fine, but keep it uniform. */
	if (sodium_memcmp(id, in + 3, sizeof(id)) != 0)
		return TUND_BEACON_OTHER_NETWORK;
	beacon_mac(mac, in, netkey);
	v = TUND_BEACON_OK;
	if (sodium_memcmp(mac, in + TUND_BEACON_MAC_OFFSET, sizeof(mac)) != 0 && !TUND_FUZZING_BUILD)
		v = TUND_BEACON_FORGED;
	sodium_memzero(mac, sizeof(mac));
	if (v != TUND_BEACON_OK)
		return v;
	/* Only now, after the cheap MAC: the sender proves its key. */
	signed_bytes(msg, in);
	if (!tund_xsign_verify(in + TUND_BEACON_SIG_OFFSET, msg, sizeof(msg),
			       in + TUND_BEACON_PUBKEY_OFFSET) &&
	    !TUND_FUZZING_BUILD)
		return TUND_BEACON_FORGED;
	memcpy(out->netid, id, sizeof(id));
	memcpy(out->pubkey, in + TUND_BEACON_PUBKEY_OFFSET, 32);
	out->listen_port = load_be16(in + 51);
	out->time_ms = load_be64(in + 53);
	memcpy(out->nonce, in + 61, TUND_BEACON_NONCE_LEN);
	return TUND_BEACON_OK;
}

const char *tund_beacon_verdict_str(enum tund_beacon_verdict v)
{
	switch (v) {
	case TUND_BEACON_OK:
		return "ok";
	case TUND_BEACON_MALFORMED:
		return "malformed";
	case TUND_BEACON_OTHER_NETWORK:
		return "other network";
	case TUND_BEACON_FORGED:
		return "forged";
	case TUND_BEACON_OLD_VERSION:
		return "old version";
	}
	return "?";
}

void tund_beacon_replay_init(struct tund_beacon_replay *r)
{
	memset(r, 0, sizeof(*r));
}

struct tund_beacon_replay *tund_beacon_sender_replay(struct tund_beacon_sender *t, size_t n,
						     const uint8_t pubkey[32], uint64_t now_ms)
{
	struct tund_beacon_sender *s, *victim = NULL;

	for (size_t i = 0; i < n; i++) {
		s = &t[i];
		if (s->used && memcmp(s->pubkey, pubkey, 32) == 0) {
			s->used_ms = now_ms;
			return &s->replay;
		}
		if (!s->used || now_ms - s->used_ms > TUND_BEACON_SLOT_IDLE_MS)
			victim = victim ? victim : s;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	victim->used_ms = now_ms;
	memcpy(victim->pubkey, pubkey, 32);
	tund_beacon_replay_init(&victim->replay);
	return &victim->replay;
}

enum tund_beacon_replay_verdict tund_beacon_replay_check(struct tund_beacon_replay *r,
							 const struct tund_beacon_msg *b,
							 uint64_t now_ms)
{
	uint64_t nonce = load_be64(b->nonce);
	uint64_t skew = b->time_ms > now_ms ? b->time_ms - now_ms : now_ms - b->time_ms;
	unsigned n = r->count < TUND_BEACON_REPLAY_SLOTS ? r->count : TUND_BEACON_REPLAY_SLOTS;
	unsigned slot = r->next % TUND_BEACON_REPLAY_SLOTS;

	if (skew > TUND_BEACON_MAX_SKEW_MS)
		return TUND_BEACON_REPLAY_STALE;
	if (r->count >= TUND_BEACON_REPLAY_SLOTS && b->time_ms <= r->floor_ms)
		return TUND_BEACON_REPLAY_REPLAY;
	for (unsigned i = 0; i < n; i++)
		if (r->nonce[i] == nonce)
			return TUND_BEACON_REPLAY_REPLAY;
	if (n == TUND_BEACON_REPLAY_SLOTS && r->time[slot] > r->floor_ms)
		r->floor_ms = r->time[slot];
	r->time[slot] = b->time_ms;
	r->nonce[slot] = nonce;
	r->next = (slot + 1) % TUND_BEACON_REPLAY_SLOTS;
	if (r->count < TUND_BEACON_REPLAY_SLOTS)
		r->count++;
	return TUND_BEACON_REPLAY_OK;
}
