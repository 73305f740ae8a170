// SPDX-License-Identifier: MIT
/* Path-compressed binary trie, one per address family. Every node holds a
 * masked prefix (bits, cidr); child[b] holds longer prefixes that share the
 * node's first cidr bits and have bit b at position cidr. Nodes with a NULL
 * peer only exist as branch points with two children, so the depth is at
 * most 33 (IPv4) or 129 (IPv6) nodes and every walk below is bounded. */
#include "overlay/allowedips.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_DEPTH 130 /* cidr 0..128 strictly increases along a path */

struct tund_allowedips_node {
	struct tund_allowedips_node *child[2];
	void *peer; /* NULL: pure branch point */
	uint8_t bits[16];
	uint8_t cidr;
};

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static struct tund_allowedips_node **root_of(struct tund_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

static unsigned bit_at(const uint8_t *bits, unsigned i)
{
	return (bits[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Number of leading bits a and b share, capped at max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	for (unsigned i = 0; i * 8 < max; i++) {
		unsigned x = a[i] ^ b[i];
		if (x) {
			unsigned n = i * 8 + (unsigned)__builtin_clz(x) - 24;
			return n < max ? n : max;
		}
	}
	return max;
}

static void mask_bits(uint8_t *bits, unsigned cidr)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bit = i * 8;
		if (bit >= cidr)
			bits[i] = 0;
		else if (cidr - bit < 8)
			bits[i] &= (uint8_t)(0xff << (8 - (cidr - bit)));
	}
}

static bool node_matches(const struct tund_allowedips_node *n, const uint8_t *addr)
{
	return common_bits(n->bits, addr, n->cidr) == n->cidr;
}

static struct tund_allowedips_node *node_new(const uint8_t *bits, unsigned cidr,
					     void *peer)
{
	struct tund_allowedips_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	memcpy(n->bits, bits, sizeof(n->bits));
	mask_bits(n->bits, cidr);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	return n;
}

static void free_tree(struct tund_allowedips_node *n)
{
	if (!n)
		return;
	free_tree(n->child[0]);
	free_tree(n->child[1]);
	free(n);
}

void tund_allowedips_init(struct tund_allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
}

void tund_allowedips_free(struct tund_allowedips *t)
{
	free_tree(t->root4);
	free_tree(t->root6);
	tund_allowedips_init(t);
}

/* Loads c into a full 16-byte buffer, masked; false if c is malformed. */
static bool load_key(const struct tund_cidr *c, uint8_t key[16])
{
	unsigned max = family_bits(c->family);

	if (!max || c->prefix > max)
		return false;
	memset(key, 0, 16);
	memcpy(key, c->addr, max / 8);
	mask_bits(key, c->prefix);
	return true;
}

int tund_allowedips_insert(struct tund_allowedips *t, const struct tund_cidr *c,
			   void *peer)
{
	struct tund_allowedips_node **link, *n, *fresh, *branch;
	uint8_t key[16];
	unsigned cidr;

	if (!peer || !load_key(c, key))
		return -EINVAL;
	cidr = c->prefix;
	link = root_of(t, c->family);

	while ((n = *link)) {
		unsigned min = n->cidr < cidr ? n->cidr : cidr;

		unsigned common = common_bits(n->bits, key, min);
		if (common == n->cidr && n->cidr == cidr) {
			n->peer = peer; /* same prefix: new owner */
			return 0;
		}
		if (common == n->cidr) { /* n is a shorter prefix of key */
			link = &n->child[bit_at(key, n->cidr)];
			continue;
		}
		fresh = node_new(key, cidr, peer);
		if (!fresh)
			return -ENOMEM;
		if (common == cidr) { /* key is a shorter prefix of n */
			fresh->child[bit_at(n->bits, cidr)] = n;
			*link = fresh;
			return 0;
		}
		/* Diverge at bit `common`: a peerless branch takes both. */
		branch = node_new(key, common, NULL);
		if (!branch) {
			free(fresh);
			return -ENOMEM;
		}
		branch->child[bit_at(key, common)] = fresh;
		branch->child[bit_at(n->bits, common)] = n;
		*link = branch;
		return 0;
	}
	fresh = node_new(key, cidr, peer);
	if (!fresh)
		return -ENOMEM;
	*link = fresh;
	return 0;
}

/* Drops *link if it no longer carries a peer and has fewer than two
 * children; returns true if it did. */
static bool collapse(struct tund_allowedips_node **link)
{
	struct tund_allowedips_node *n = *link;

	if (n->peer || (n->child[0] && n->child[1]))
		return false;
	*link = n->child[0] ? n->child[0] : n->child[1];
	free(n);
	return true;
}

int tund_allowedips_remove(struct tund_allowedips *t, const struct tund_cidr *c,
			   void *peer)
{
	struct tund_allowedips_node **path[MAX_DEPTH], **link, *n;
	uint8_t key[16];
	unsigned depth = 0;

	if (!load_key(c, key))
		return -EINVAL;
	link = root_of(t, c->family);
	while ((n = *link) && n->cidr <= c->prefix) {
		if (common_bits(n->bits, key, n->cidr) != n->cidr)
			break;
		path[depth++] = link;
		if (n->cidr == c->prefix) {
			if (!n->peer || (peer && n->peer != peer))
				return -ENOENT;
			n->peer = NULL;
			/* Removing a node can leave its parent a one-child
			 * branch, so collapse upwards until something stays. */
			while (depth && collapse(path[--depth]))
				;
			return 0;
		}
		if (n->cidr == family_bits(c->family))
			break;
		link = &n->child[bit_at(key, n->cidr)];
	}
	return -ENOENT;
}

static void remove_peer(struct tund_allowedips_node **link, void *peer)
{
	struct tund_allowedips_node *n = *link;

	if (!n)
		return;
	remove_peer(&n->child[0], peer);
	remove_peer(&n->child[1], peer);
	if (n->peer == peer)
		n->peer = NULL;
	collapse(link);
}

void tund_allowedips_remove_by_peer(struct tund_allowedips *t, void *peer)
{
	if (!peer)
		return;
	remove_peer(&t->root4, peer);
	remove_peer(&t->root6, peer);
}

void *tund_allowedips_lookup(const struct tund_allowedips *t, int family,
			     const uint8_t *addr)
{
	const struct tund_allowedips_node *n;
	unsigned max = family_bits(family);
	void *best = NULL;

	if (!max)
		return NULL;
	n = family == AF_INET ? t->root4 : t->root6;
	while (n && node_matches(n, addr)) {
		if (n->peer)
			best = n->peer;
		if (n->cidr == max)
			break;
		n = n->child[bit_at(addr, n->cidr)];
	}
	return best;
}

static int walk(const struct tund_allowedips_node *n, int family, void *peer,
		tund_allowedips_fn fn, void *ctx)
{
	int ret;

	if (!n)
		return 0;
	if (n->peer == peer) {
		struct tund_cidr c;

		memset(&c, 0, sizeof(c));
		c.family = family;
		memcpy(c.addr, n->bits, family_bits(family) / 8);
		c.prefix = n->cidr;
		if ((ret = fn(ctx, &c)))
			return ret;
	}
	if ((ret = walk(n->child[0], family, peer, fn, ctx)))
		return ret;
	return walk(n->child[1], family, peer, fn, ctx);
}

int tund_allowedips_walk_by_peer(const struct tund_allowedips *t, void *peer,
				 tund_allowedips_fn fn, void *ctx)
{
	int ret;

	if (!peer)
		return 0;
	if ((ret = walk(t->root4, AF_INET, peer, fn, ctx)))
		return ret;
	return walk(t->root6, AF_INET6, peer, fn, ctx);
}
