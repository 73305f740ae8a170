/* SPDX-License-Identifier: MIT */
/* A network's IPv4 prefix on this node: the default one picked for a new
 * network, and the overlap check for every create and join (two networks on
 * one prefix give the node two addresses in one subnet and routes that
 * clash). */
#ifndef TUND_CONNECT_PREFIX_H
#define TUND_CONNECT_PREFIX_H

#include <stddef.h>

struct tund_daemon;
struct tund_network;
struct tund_cidr;

/* 0, or -EEXIST with why naming both networks ("prefix 10.77.0.0/16 of
 * network "b" overlaps network "a" (10.77.0.0/16)") when net's prefix
 * overlaps one of d's networks or net has the root key of one (a copied
 * invite: they would share a records file); -EINVAL with why when the
 * prefix is not inside a private range (RFC 1918, 100.64.0.0/10). */
int tund_prefix_check(struct tund_daemon *d, const struct tund_network *net, char *why,
		      size_t why_len);
/* A random 10.X.0.0/16 clear of d's networks and of the host's IPv4 subnets
 * (overlay/network.c:tund_network_pick_prefix4). 0, or -EADDRINUSE with why
 * when every candidate is taken. */
int tund_prefix_pick(struct tund_daemon *d, struct tund_cidr *out, char *why, size_t why_len);

#endif
