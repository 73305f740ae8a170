/* SPDX-License-Identifier: MIT */
/* A key that is a member of several of our networks: one peer entry per
 * (network, key), each with its own state and address, but one WireGuard
 * peer and one ICE path, on the carrier entry (tund_peer_list_carrier in
 * tund/daemon/peers.h). The carrier also lets the key source its addresses
 * in the other networks where it is a member, and gets their broadcasts;
 * its network's pre-shared key is the session's. */
#ifndef TUND_CONNECT_CARRIER_H
#define TUND_CONNECT_CARRIER_H

#include <stdint.h>

struct tund_daemon;

/* Key's carrier entry: tund_peer_list_carrier over its entries in the
 * networks we are still in (not those whose admin blocked this node: the
 * others there moved to a key we do not have), leaving out entries an
 * admin's record blocked (the same, seen from the other end). The carrier
 * may be pending or blocked by this node alone while the key is a member in
 * another network: the other end picks it all the same. */
struct tund_peer *tund_carrier_of(struct tund_daemon *d, const uint8_t key[32]);

/* After an entry of key changed (state, addresses) or went away: the other
 * entries give up their WireGuard peer and path, and the carrier's shared
 * addresses and groups are brought up to date (its session restarts only
 * if they changed). Returns the carrier, or NULL. */
struct tund_peer *tund_carrier_sync(struct tund_daemon *d, const uint8_t key[32]);

#endif
