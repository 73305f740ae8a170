/* SPDX-License-Identifier: MIT */
/* Allowed IPs: a longest-prefix-match table from IPv4/IPv6 prefixes to an
 * opaque peer pointer, as WireGuard's cryptokey routing uses it. Outgoing
 * packets pick a peer by destination; incoming packets are accepted only when
 * their source maps back to the peer that sent them.
 *
 * Threads: the table has no lock of its own. Lookups and walks only read, so
 * any number of them may run concurrently with each other; insert, remove,
 * remove_by_peer and free must hold the caller's lock exclusively (a rwlock
 * taken for reading around lookups and for writing around changes). */
#ifndef TUND_OVERLAY_ALLOWEDIPS_H
#define TUND_OVERLAY_ALLOWEDIPS_H

#include <stdint.h>

#include "overlay/cidr.h"

struct tund_allowedips_node;

struct tund_allowedips {
	struct tund_allowedips_node *root4; /* path-compressed binary trie */
	struct tund_allowedips_node *root6;
};

/* Empties t; a zero-filled struct is also a valid empty table. */
void tund_allowedips_init(struct tund_allowedips *t);
/* Frees every node; t is empty afterwards and may be reused. */
void tund_allowedips_free(struct tund_allowedips *t);

/* Maps the network of c (host bits are ignored) to peer, which must not be
 * NULL. An existing identical prefix changes owner, as in WireGuard.
 * Returns 0, -EINVAL (bad family, prefix or NULL peer) or -ENOMEM. */
int tund_allowedips_insert(struct tund_allowedips *t, const struct tund_cidr *c,
			   void *peer);
/* Removes exactly the prefix c. When peer is not NULL the prefix is removed
 * only if peer owns it. Returns 0, -ENOENT or -EINVAL. */
int tund_allowedips_remove(struct tund_allowedips *t, const struct tund_cidr *c,
			   void *peer);
/* Removes every prefix owned by peer. */
void tund_allowedips_remove_by_peer(struct tund_allowedips *t, void *peer);

/* Returns the owner of the longest prefix containing addr (4 bytes for
 * AF_INET, 16 for AF_INET6, network order), or NULL. Never allocates. */
void *tund_allowedips_lookup(const struct tund_allowedips *t, int family,
			     const uint8_t *addr);

/* Calls fn for each prefix owned by peer (IPv4 first, then IPv6, each in
 * address order). A nonzero return from fn stops the walk and is returned;
 * fn must not change the table. Returns 0 after a full walk. */
typedef int (*tund_allowedips_fn)(void *ctx, const struct tund_cidr *c);
int tund_allowedips_walk_by_peer(const struct tund_allowedips *t, void *peer,
				 tund_allowedips_fn fn, void *ctx);

#endif
