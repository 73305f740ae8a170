/* SPDX-License-Identifier: MIT */
/* LAN beacons on the GLib main loop (no threads): sends a beacon (overlay/
 * beacon.h) at start, every 5 s +-20 %, and soon after an interface comes up
 * or gets an address (rtnetlink, at most once a second), on every up,
 * non-loopback interface but exclude_ifname:
 *   IPv4 to 239.255.77.77:51821 (IP_MULTICAST_IF, TTL 1) and to
 *   255.255.255.255:51821 from a socket bound to the device (works with no
 *   route at all), IPv6 to [ff02::7475:6e64]:51821 (IPV6_MULTICAST_IF).
 * Every datagram carries a fresh nonce, so a receiver accepts each copy.
 * Receives on port 51821 (groups joined on every interface, again on link
 * changes); drops our own beacons silently, then rate limits (per source
 * address and overall, before any crypto), decodes (the network MAC, then the
 * sender's signature), and only for a proven sender checks staleness and
 * replay, and calls cb for each accepted beacon with the source IP and the
 * beacon's listen port. The source address is not authenticated (anyone can
 * resend a beacon): cb may only probe it, never trust it. */
#ifndef TUND_BEACON_H
#define TUND_BEACON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct tund_beacon_stats {
	uint64_t sent, received, accepted, dropped_other_network, dropped_forged, dropped_stale,
		dropped_replay, dropped_malformed, dropped_ratelimited, dropped_old_version,
		old_epoch; /* proven beacons under an old epoch's key (the creator) */
};

typedef void (*tund_beacon_peer_fn)(void *ctx, const uint8_t pubkey[32], const struct sockaddr *src,
				    socklen_t srclen, uint16_t listen_port);
/* A sealed signaling message (overlay/signal.h) of this network that came
 * over the LAN: unproven, the membership opens and checks it as one from the
 * broker. */
typedef void (*tund_beacon_signal_fn)(void *ctx, const uint8_t *msg, size_t len);

/* The largest signal sent or read on the LAN: a record or rekey message
 * is well under it. */
enum { TUND_BEACON_SIGNAL_MAX = 2048 };

struct tund_beacon;

/* Opens the sockets on the thread-default main context and sends the first
 * beacon. my_priv is the node key beacons are signed with (copied; the copy
 * is wiped by stop). name is the network's, for log lines. 0 with *out, or
 * -errno with why. exclude_ifname may be NULL. */
int tund_beacon_start(const uint8_t netkey[32], const uint8_t my_priv[32], const uint8_t my_pub[32],
		      uint16_t my_listen_port, const char *exclude_ifname, const char *name,
		      tund_beacon_peer_fn cb, void *ctx, struct tund_beacon **out, char *why,
		      size_t why_len);
void tund_beacon_get_stats(struct tund_beacon *b, struct tund_beacon_stats *out);
/* Signaling over the LAN, for networks whose members meet there with no
 * broker (or none reachable): membership records and rekeys, sealed as for
 * the broker, sent as one datagram per interface to the beacon port (IPv4
 * broadcast, or the IPv6 group on links without IPv4); those received with
 * our network id, past the same rate limits as beacons, go to fn (ctx is
 * the beacon's). -EMSGSIZE over TUND_BEACON_SIGNAL_MAX. */
int tund_beacon_send_signal(struct tund_beacon *b, const uint8_t *msg, size_t len);
void tund_beacon_on_signal(struct tund_beacon *b, tund_beacon_signal_fn fn);
/* The network's creator only: beacons sealed under the keys of the last
 * epochs (a member that was away through a rekey still beacons under its
 * old key) are proven as ours are, then given to fn with the index of the
 * key in keys; never a LAN probe. Copies up to TUND_BEACON_OLD_KEYS keys
 * (the old ones are wiped); n = 0 stops it. */
enum { TUND_BEACON_OLD_KEYS = 8 };
typedef void (*tund_beacon_old_fn)(void *ctx, unsigned idx, const uint8_t pubkey[32]);
void tund_beacon_set_old_keys(struct tund_beacon *b, const uint8_t (*keys)[32], unsigned n,
			      tund_beacon_old_fn fn);
/* Closes everything and wipes the keys; b may be NULL. One of b's own
 * callbacks may call it (b is freed once that callback has returned; a
 * second call from there does nothing). */
void tund_beacon_stop(struct tund_beacon *b);

#endif
