/* SPDX-License-Identifier: MIT */
/* Broadcast and multicast for LAN games: which packets read from the TUN go
 * to every connected peer, and the source rewrite that the nftables copies of
 * limited broadcasts need (see doc/broadcast.md). Pure: libc only. */
#ifndef TUND_OVERLAY_BCAST_H
#define TUND_OVERLAY_BCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/cidr.h"

/* True when pkt is an IPv4 packet to 255.255.255.255, to the broadcast
 * address of overlay4's subnet (our address with its prefix; /31 and /32 have
 * none; overlay4 may be NULL), or to 224.0.0.0/4, or an IPv6 packet to
 * ff00::/8: the packets to send to every connected peer. Anything too short
 * to hold the fixed header is false. */
bool tund_bcast_is_fanout(const uint8_t *pkt, size_t len,
			  const struct tund_cidr *overlay4);

/* Replaces the source address of the IPv4 packet pkt (len bytes; bytes past
 * the header's total length are ignored) with new_src, fixing the IPv4 header
 * checksum and, in an unfragmented packet or the first fragment, the UDP or
 * TCP checksum incrementally (RFC 1624). A UDP checksum of 0 (none) stays 0.
 * Returns false, leaving pkt untouched, when the packet is not IPv4, has a bad
 * IHL or total length, or is a first fragment too short for its UDP or TCP
 * header. */
bool tund_bcast_rewrite_source(uint8_t *pkt, size_t len,
			       const uint8_t new_src[4]);

/* The same for IPv6: the source becomes new_src and the UDP, TCP or ICMPv6
 * checksum right after the fixed header is fixed for it (a broadcast-style
 * send to ff02::1 leaves with the TUN's link-local source, which no peer
 * routes back). False, pkt untouched, for anything else (extension headers,
 * short or malformed packets). */
bool tund_bcast_rewrite_source6(uint8_t *pkt, size_t len, const uint8_t new_src[16]);

#endif
