// SPDX-License-Identifier: MIT
/* Allowed IPs: fixed nesting cases, then WireGuard's selftest trick: random
 * prefixes go into both the trie and a naive list, and random lookups, walks
 * and removals must agree. The PRNG has a fixed seed so failures reproduce. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "overlay/allowedips.h"
#include "tests/unit/unit.h"

static int peer_ids[64];
#define PEER(i) ((void *)&peer_ids[i])

static struct tund_cidr C(const char *text)
{
	struct tund_cidr c;

	memset(&c, 0, sizeof(c));
	if (!tund_cidr_parse(&c, text, true))
		c.family = -1;
	return c;
}

static void *look(const struct tund_allowedips *t, const char *addr)
{
	struct tund_cidr c = C(addr);

	return tund_allowedips_lookup(t, c.family, c.addr);
}

static int ins(struct tund_allowedips *t, const char *text, void *peer)
{
	struct tund_cidr c = C(text);

	return tund_allowedips_insert(t, &c, peer);
}

static int rm(struct tund_allowedips *t, const char *text, void *peer)
{
	struct tund_cidr c = C(text);

	return tund_allowedips_remove(t, &c, peer);
}

struct collect {
	struct tund_cidr got[16];
	int n;
	int stop_after; /* 0: never */
};

static int collect_fn(void *ctx, const struct tund_cidr *c)
{
	struct collect *col = ctx;

	if (col->n < 16)
		col->got[col->n] = *c;
	col->n++;
	return col->stop_after && col->n >= col->stop_after ? 7 : 0;
}

static bool has(const struct collect *col, const char *text)
{
	struct tund_cidr c = C(text);

	for (int i = 0; i < col->n && i < 16; i++)
		if (col->got[i].family == c.family && col->got[i].prefix == c.prefix &&
		    !memcmp(col->got[i].addr, c.addr, 16))
			return true;
	return false;
}

UNIT_TEST(allowedips_v4_nesting)
{
	struct tund_allowedips t;

	tund_allowedips_init(&t);
	CHECK(look(&t, "10.1.2.3") == NULL);
	CHECK(ins(&t, "10.1.2.3/32", PEER(5)) == 0);
	CHECK(ins(&t, "10.0.0.0/8", PEER(2)) == 0);
	CHECK(ins(&t, "0.0.0.0/0", PEER(1)) == 0);
	CHECK(ins(&t, "10.1.2.0/24", PEER(4)) == 0);
	CHECK(ins(&t, "10.1.0.0/16", PEER(3)) == 0);

	CHECK(look(&t, "10.1.2.3") == PEER(5));
	CHECK(look(&t, "10.1.2.4") == PEER(4));
	CHECK(look(&t, "10.1.2.255") == PEER(4));
	CHECK(look(&t, "10.1.3.1") == PEER(3));
	CHECK(look(&t, "10.2.0.0") == PEER(2));
	CHECK(look(&t, "10.255.255.255") == PEER(2));
	CHECK(look(&t, "11.0.0.0") == PEER(1));
	CHECK(look(&t, "9.255.255.255") == PEER(1));
	CHECK(look(&t, "::1") == NULL); /* families are separate */

	CHECK(rm(&t, "10.1.2.0/24", NULL) == 0);
	CHECK(look(&t, "10.1.2.4") == PEER(3));
	CHECK(look(&t, "10.1.2.3") == PEER(5));
	CHECK(rm(&t, "10.1.2.0/24", NULL) == -ENOENT);
	CHECK(rm(&t, "0.0.0.0/0", NULL) == 0);
	CHECK(look(&t, "11.0.0.0") == NULL);
	CHECK(look(&t, "10.9.9.9") == PEER(2));

	/* Host bits are ignored on insert and remove. */
	CHECK(ins(&t, "192.168.7.99/24", PEER(6)) == 0);
	CHECK(look(&t, "192.168.7.1") == PEER(6));
	CHECK(rm(&t, "192.168.7.1/24", NULL) == 0);
	CHECK(look(&t, "192.168.7.1") == NULL);

	/* Sibling prefixes that diverge mid-byte. */
	CHECK(ins(&t, "172.16.0.0/13", PEER(7)) == 0);
	CHECK(ins(&t, "172.24.0.0/13", PEER(8)) == 0);
	CHECK(look(&t, "172.23.255.255") == PEER(7));
	CHECK(look(&t, "172.24.0.0") == PEER(8));
	CHECK(look(&t, "172.32.0.0") == NULL);
	tund_allowedips_free(&t);
	CHECK(t.root4 == NULL && t.root6 == NULL);
}

UNIT_TEST(allowedips_v6_nesting)
{
	struct tund_allowedips t;

	tund_allowedips_init(&t);
	CHECK(ins(&t, "2001:db8:1:2::1/128", PEER(5)) == 0);
	CHECK(ins(&t, "::/0", PEER(1)) == 0);
	CHECK(ins(&t, "2001:db8::/32", PEER(2)) == 0);
	CHECK(ins(&t, "2001:db8:1:2::/64", PEER(4)) == 0);
	CHECK(ins(&t, "2001:db8:1::/48", PEER(3)) == 0);
	CHECK(ins(&t, "10.0.0.0/8", PEER(9)) == 0);

	CHECK(look(&t, "2001:db8:1:2::1") == PEER(5));
	CHECK(look(&t, "2001:db8:1:2::2") == PEER(4));
	CHECK(look(&t, "2001:db8:1:2:ffff:ffff:ffff:ffff") == PEER(4));
	CHECK(look(&t, "2001:db8:1:3::1") == PEER(3));
	CHECK(look(&t, "2001:db8:2::1") == PEER(2));
	CHECK(look(&t, "2001:db9::") == PEER(1));
	CHECK(look(&t, "fe80::1") == PEER(1));
	CHECK(look(&t, "10.1.1.1") == PEER(9));
	CHECK(look(&t, "11.1.1.1") == NULL); /* ::/0 is not IPv4 */

	CHECK(rm(&t, "2001:db8:1:2::1/128", NULL) == 0);
	CHECK(look(&t, "2001:db8:1:2::1") == PEER(4));
	CHECK(rm(&t, "::/0", NULL) == 0);
	CHECK(look(&t, "fe80::1") == NULL);
	CHECK(look(&t, "2001:db8:ffff::") == PEER(2));
	tund_allowedips_free(&t);
}

UNIT_TEST(allowedips_replace_owner)
{
	struct tund_allowedips t;
	struct collect col;

	tund_allowedips_init(&t);
	CHECK(ins(&t, "10.0.0.0/8", PEER(1)) == 0);
	CHECK(ins(&t, "10.0.0.0/8", PEER(2)) == 0);
	CHECK(look(&t, "10.3.3.3") == PEER(2));

	memset(&col, 0, sizeof(col));
	CHECK(tund_allowedips_walk_by_peer(&t, PEER(1), collect_fn, &col) == 0);
	CHECK(col.n == 0);
	memset(&col, 0, sizeof(col));
	CHECK(tund_allowedips_walk_by_peer(&t, PEER(2), collect_fn, &col) == 0);
	CHECK(col.n == 1 && has(&col, "10.0.0.0/8"));

	/* Removal scoped to a peer leaves other owners alone. */
	CHECK(rm(&t, "10.0.0.0/8", PEER(1)) == -ENOENT);
	CHECK(look(&t, "10.3.3.3") == PEER(2));
	CHECK(rm(&t, "10.0.0.0/8", PEER(2)) == 0);
	CHECK(look(&t, "10.3.3.3") == NULL);
	CHECK(t.root4 == NULL);
	tund_allowedips_free(&t);
}

UNIT_TEST(allowedips_invalid)
{
	struct tund_allowedips t;
	struct tund_cidr c = C("10.0.0.0/8");

	tund_allowedips_init(&t);
	CHECK(tund_allowedips_insert(&t, &c, NULL) == -EINVAL);
	c.prefix = 33;
	CHECK(tund_allowedips_insert(&t, &c, PEER(1)) == -EINVAL);
	CHECK(tund_allowedips_remove(&t, &c, NULL) == -EINVAL);
	c.prefix = 8;
	c.family = 12345;
	CHECK(tund_allowedips_insert(&t, &c, PEER(1)) == -EINVAL);
	CHECK(tund_allowedips_lookup(&t, 12345, c.addr) == NULL);
	CHECK(rm(&t, "10.0.0.0/8", NULL) == -ENOENT);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	tund_allowedips_free(&t);
}

UNIT_TEST(allowedips_remove_by_peer_and_walk)
{
	struct tund_allowedips t;
	struct collect col;

	tund_allowedips_init(&t);
	CHECK(ins(&t, "10.0.0.0/8", PEER(1)) == 0);
	CHECK(ins(&t, "10.1.0.0/16", PEER(2)) == 0);
	CHECK(ins(&t, "10.1.1.0/24", PEER(1)) == 0);
	CHECK(ins(&t, "10.1.1.7/32", PEER(2)) == 0);
	CHECK(ins(&t, "fd00::/8", PEER(1)) == 0);
	CHECK(ins(&t, "fd00:1::/32", PEER(2)) == 0);

	memset(&col, 0, sizeof(col));
	CHECK(tund_allowedips_walk_by_peer(&t, PEER(1), collect_fn, &col) == 0);
	CHECK(col.n == 3);
	CHECK(has(&col, "10.0.0.0/8") && has(&col, "10.1.1.0/24") && has(&col, "fd00::/8"));
	CHECK(col.got[0].family == AF_INET && col.got[0].prefix == 8); /* v4 first */

	memset(&col, 0, sizeof(col));
	col.stop_after = 2;
	CHECK(tund_allowedips_walk_by_peer(&t, PEER(2), collect_fn, &col) == 7);
	CHECK(col.n == 2);

	tund_allowedips_remove_by_peer(&t, PEER(1));
	CHECK(look(&t, "10.9.9.9") == NULL);
	CHECK(look(&t, "10.1.1.1") == PEER(2));
	CHECK(look(&t, "10.1.1.7") == PEER(2));
	CHECK(look(&t, "fd00::1") == NULL);
	CHECK(look(&t, "fd00:1::1") == PEER(2));
	memset(&col, 0, sizeof(col));
	CHECK(tund_allowedips_walk_by_peer(&t, PEER(1), collect_fn, &col) == 0);
	CHECK(col.n == 0);

	tund_allowedips_remove_by_peer(&t, PEER(2));
	CHECK(t.root4 == NULL && t.root6 == NULL); /* branches collapsed too */
	tund_allowedips_free(&t);
}

/* ---- Randomised comparison with a naive list ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: tiny, fixed-seed, good enough for test input */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static void rng_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

struct ref_entry {
	struct tund_cidr c; /* masked */
	void *peer;
};

#define REF_MAX 8192
static struct ref_entry ref[REF_MAX];
static int ref_n;

static int ref_find(const struct tund_cidr *c)
{
	for (int i = 0; i < ref_n; i++)
		if (ref[i].c.family == c->family && ref[i].c.prefix == c->prefix &&
		    !memcmp(ref[i].c.addr, c->addr, 16))
			return i;
	return -1;
}

static void ref_insert(const struct tund_cidr *c, void *peer)
{
	int i = ref_find(c);

	if (i < 0) {
		i = ref_n++;
		ref[i].c = *c;
	}
	ref[i].peer = peer;
}

static void ref_remove_at(int i)
{
	ref[i] = ref[--ref_n];
}

static void *ref_lookup(int family, const uint8_t *addr)
{
	void *best = NULL;
	int best_len = -1;

	for (int i = 0; i < ref_n; i++)
		if (ref[i].c.family == family && ref[i].c.prefix > best_len &&
		    tund_cidr_contains(&ref[i].c, addr)) {
			best = ref[i].peer;
			best_len = ref[i].c.prefix;
		}
	return best;
}

static void random_prefix(struct tund_cidr *c)
{
	memset(c, 0, sizeof(*c));
	/* Half the time derive from an existing prefix, so nesting is common. */
	if (ref_n && rng_below(2)) {
		const struct tund_cidr *base = &ref[rng_below((unsigned)ref_n)].c;
		unsigned max = base->family == AF_INET ? 32 : 128;
		uint8_t noise[16];

		*c = *base;
		rng_bytes(noise, sizeof(noise));
		for (unsigned b = base->prefix; b < max; b++)
			if (noise[b / 8] & (1u << (b % 8)))
				c->addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		c->prefix = (uint8_t)(rng_below(2) ? base->prefix + rng_below(max - base->prefix + 1)
						   : rng_below(base->prefix + 1));
	} else {
		c->family = rng_below(2) ? AF_INET : AF_INET6;
		rng_bytes(c->addr, c->family == AF_INET ? 4 : 16);
		c->prefix = (uint8_t)rng_below(c->family == AF_INET ? 33 : 129);
	}
	tund_cidr_mask(c);
}

static void random_query(int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (ref_n && rng_below(4)) {
		const struct tund_cidr *base = &ref[rng_below((unsigned)ref_n)].c;
		unsigned max = base->family == AF_INET ? 32 : 128;
		uint8_t noise[16];

		*family = base->family;
		memcpy(addr, base->addr, 16);
		rng_bytes(noise, sizeof(noise));
		/* Keep a random part of the prefix, randomise the rest. */
		for (unsigned b = rng_below(max + 1); b < max; b++)
			if (noise[b / 8] & (1u << (b % 8)))
				addr[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
	} else {
		*family = rng_below(2) ? AF_INET : AF_INET6;
		rng_bytes(addr, *family == AF_INET ? 4 : 16);
	}
}

static int compare_lookups(const struct tund_allowedips *t, int rounds)
{
	int bad = 0;

	for (int i = 0; i < rounds; i++) {
		int family;
		uint8_t addr[16];

		random_query(&family, addr);
		if (tund_allowedips_lookup(t, family, addr) != ref_lookup(family, addr))
			bad++;
	}
	return bad;
}

struct walk_check {
	void *peer;
	int seen;
	int bad;
};

static int walk_check_fn(void *ctx, const struct tund_cidr *c)
{
	struct walk_check *w = ctx;
	int i = ref_find(c);

	w->seen++;
	if (i < 0 || ref[i].peer != w->peer)
		w->bad++;
	return 0;
}

static int compare_walks(const struct tund_allowedips *t)
{
	int bad = 0;

	for (int p = 0; p < 64; p++) {
		struct walk_check w = { .peer = PEER(p) };
		int expect = 0;

		for (int i = 0; i < ref_n; i++)
			expect += ref[i].peer == PEER(p);
		CHECK(tund_allowedips_walk_by_peer(t, PEER(p), walk_check_fn, &w) == 0);
		bad += w.bad + (w.seen != expect);
	}
	return bad;
}

UNIT_TEST(allowedips_random_vs_naive)
{
	struct tund_allowedips t;
	struct tund_cidr c;

	rng_state = 0x7475ad5eedULL;
	ref_n = 0;
	tund_allowedips_init(&t);

	for (int i = 0; i < 4000; i++) {
		void *peer = PEER(rng_below(64));

		random_prefix(&c);
		CHECK(tund_allowedips_insert(&t, &c, peer) == 0);
		ref_insert(&c, peer);
	}
	CHECK(ref_n > 3000);
	CHECK(compare_lookups(&t, 20000) == 0);
	CHECK(compare_walks(&t) == 0);

	/* Remove a third, some scoped to the wrong peer (must fail). */
	for (int i = 0; i < ref_n / 3; i++) {
		int k = (int)rng_below((unsigned)ref_n);
		void *owner = ref[k].peer;

		c = ref[k].c;
		if (rng_below(4) == 0) {
			void *other = owner == PEER(0) ? PEER(1) : PEER(0);
			CHECK(tund_allowedips_remove(&t, &c, other) == -ENOENT);
			continue;
		}
		CHECK(tund_allowedips_remove(&t, &c, rng_below(2) ? owner : NULL) == 0);
		CHECK(tund_allowedips_remove(&t, &c, NULL) == -ENOENT);
		ref_remove_at(k);
	}
	CHECK(compare_lookups(&t, 20000) == 0);
	CHECK(compare_walks(&t) == 0);

	/* Remove some peers wholesale, then re-insert over the survivors. */
	for (int p = 0; p < 64; p += 3) {
		tund_allowedips_remove_by_peer(&t, PEER(p));
		for (int i = 0; i < ref_n;)
			if (ref[i].peer == PEER(p))
				ref_remove_at(i);
			else
				i++;
	}
	for (int i = 0; i < 1000; i++) {
		void *peer = PEER(rng_below(64));

		random_prefix(&c);
		CHECK(tund_allowedips_insert(&t, &c, peer) == 0);
		ref_insert(&c, peer);
	}
	CHECK(compare_lookups(&t, 20000) == 0);
	CHECK(compare_walks(&t) == 0);

	/* Emptying the table one prefix at a time leaves no branch nodes. */
	while (ref_n) {
		c = ref[ref_n - 1].c;
		CHECK(tund_allowedips_remove(&t, &c, NULL) == 0);
		ref_n--;
	}
	CHECK(t.root4 == NULL && t.root6 == NULL);
	tund_allowedips_free(&t);
}
