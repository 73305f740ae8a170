/* SPDX-License-Identifier: MIT */
/* The WireGuard device: our identity, the peers with their handshakes,
 * keypairs, timers and staged packets, the index table and allowed IPs.
 * It moves bytes between buffers the caller owns and never does I/O: hot-path
 * results come back as return values (the caller sends or writes to TUN),
 * and the rare control messages (handshakes, cookies, keepalives, flushed
 * staged packets) go out through the send callback.
 *
 * Threads: every entry point takes the device lock, so the TUN reader, the
 * UDP receiver and the timer thread may call in concurrently. The send
 * callback runs with the lock held and must not call back into the device. */
#ifndef TUND_OVERLAY_DEVICE_H
#define TUND_OVERLAY_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "overlay/cidr.h"

/* Room in front of a TUN packet for the transport header; after it, room
 * for padding and the tag. */
enum {
	TUND_WG_HEADROOM = 16,
	TUND_WG_TAILROOM = 16 + 16,
	TUND_WG_MAX_STAGED = 128,
	TUND_WG_ENDPOINT_MAX = 32,
};

/* A probe waits this long for a handshake in flight (tund_wg_peer_probe). */
#define TUND_WG_PROBE_GAP_NS 1000000000ull

/* An underlay address, opaque to the device: the socket address bytes, and
 * the bytes that identify it for cookies (address then port). */
struct tund_wg_endpoint {
	uint8_t addr[TUND_WG_ENDPOINT_MAX];
	uint32_t addr_len; /* 0: none */
	uint8_t key[18];
	uint32_t key_len;
};

struct tund_wg_clock {
	uint64_t mono_ns;     /* CLOCK_MONOTONIC */
	struct timespec wall; /* CLOCK_REALTIME, for TAI64N and "latest handshake" */
};

/* Why a datagram or packet was dropped; counted per device and per peer. */
enum tund_wg_drop {
	TUND_WG_DROP_MALFORMED,     /* not a WireGuard message of a valid size */
	TUND_WG_DROP_MAC,           /* handshake message with a wrong MAC1 */
	TUND_WG_DROP_HANDSHAKE,     /* unknown key, replayed or failed handshake */
	TUND_WG_DROP_UNKNOWN_INDEX, /* no session with that receiver index */
	TUND_WG_DROP_AUTH,          /* transport failed authentication or expired */
	TUND_WG_DROP_REPLAY,        /* transport counter already seen or too old */
	TUND_WG_DROP_SOURCE,        /* inner source outside the peer's allowed IPs */
	TUND_WG_DROP_BAD_INNER,     /* decrypted payload is not an IP packet */
	TUND_WG_DROP_NO_ROUTE,      /* TUN packet to an address no peer has */
	TUND_WG_DROP_STAGED,        /* waited for a session too long or queue full */
	TUND_WG_DROP_COUNT
};

const char *tund_wg_drop_name(enum tund_wg_drop d);

enum tund_wg_result {
	TUND_WG_DONE,   /* handled (or queued); nothing for the caller to do */
	TUND_WG_DROP,   /* dropped and counted */
	TUND_WG_SEND,   /* send *out_len bytes of buf to *dst */
	TUND_WG_TO_TUN, /* write buf[*inner_off .. +*inner_len] to TUN */
};

struct tund_wg;
struct tund_wg_peer;

typedef void (*tund_wg_send_fn)(void *ctx, const struct tund_wg_endpoint *dst,
				const uint8_t *buf, size_t len);

struct tund_wg_peer_stats {
	uint64_t rx_bytes, tx_bytes;
	uint64_t bcast_tx, bcast_rx; /* broadcast/multicast copies to and from it */
	int64_t latest_handshake; /* unix seconds, 0: never */
	uint64_t rtt_ns;          /* of the latest handshake, 0: unknown */
	uint64_t drops[TUND_WG_DROP_COUNT];
	struct tund_wg_endpoint endpoint;
	bool has_session;
	/* We answered an initiation and its initiator has not confirmed the
	 * session yet (our response may have been lost). */
	bool answered;
};

/* NULL if the private key gives no valid public key. mtu caps padding. */
struct tund_wg *tund_wg_new(const uint8_t private_key[32], size_t mtu, tund_wg_send_fn send,
			    void *send_ctx);
void tund_wg_free(struct tund_wg *wg);

/* Adds a peer (or returns the existing one with that key, updating its psk).
 * user is the caller's handle, returned by tund_wg_peer_user(). */
struct tund_wg_peer *tund_wg_peer_add(struct tund_wg *wg, const uint8_t public_key[32],
				      const uint8_t *psk, void *user);
void tund_wg_peer_remove(struct tund_wg *wg, struct tund_wg_peer *peer);
/* A network rekey: psk becomes the peer's key and the old one is tried on
 * responses until tund_wg_peer_forget_previous_psk (overlay/noise.h). */
void tund_wg_peer_rotate_psk(struct tund_wg *wg, struct tund_wg_peer *peer, const uint8_t psk[32]);
void tund_wg_peer_forget_previous_psk(struct tund_wg *wg, struct tund_wg_peer *peer);
void *tund_wg_peer_user(struct tund_wg_peer *peer);
/* Routes a prefix to the peer (and accepts it as an inner source). 0/-errno. */
/* Replaces all of the peer's allowed IPs at once (its session stays up);
 * on an error the peer may hold only some of them. */
int tund_wg_peer_set_allowed(struct tund_wg *wg, struct tund_wg_peer *peer,
			     const struct tund_cidr *cidrs, size_t n);
int tund_wg_peer_allow(struct tund_wg *wg, struct tund_wg_peer *peer,
		       const struct tund_cidr *c);
void tund_wg_peer_set_endpoint(struct tund_wg *wg, struct tund_wg_peer *peer,
			       const struct tund_wg_endpoint *ep);
/* Starts a handshake now unless a session or a recent attempt exists, or,
 * with a session, sends a keepalive: used when a peer gets a new endpoint or
 * path, so a restarted node reaches its peers without waiting for their
 * timers and a peer learns (roams to) the new path at once. */
void tund_wg_peer_connect(struct tund_wg *wg, struct tund_wg_peer *peer,
			  const struct tund_wg_clock *now);
void tund_wg_peer_set_keepalive(struct tund_wg *wg, struct tund_wg_peer *peer,
				unsigned seconds, const struct tund_wg_clock *now);
void tund_wg_peer_get_stats(struct tund_wg *wg, struct tund_wg_peer *peer,
			    struct tund_wg_peer_stats *out);
/* Device-wide drop counters. */
void tund_wg_get_drops(struct tund_wg *wg, uint64_t out[TUND_WG_DROP_COUNT]);

/* A packet read from TUN sits at buf + TUND_WG_HEADROOM, len bytes; cap is
 * the buffer size (len + HEADROOM + TAILROOM suffices). On TUND_WG_SEND the
 * datagram is buf[0 .. *out_len] for *dst. */
enum tund_wg_result tund_wg_encrypt(struct tund_wg *wg, uint8_t *buf, size_t cap, size_t len,
				    const struct tund_wg_clock *now, size_t *out_len,
				    struct tund_wg_endpoint *dst);
/* Tries an unauthenticated hint (a LAN beacon's source): sends a handshake
 * initiation to addr without touching the peer's endpoint. The endpoint
 * moves only when an authenticated packet (this handshake's response, or
 * any other) comes from there: WireGuard's roaming, in overlay/receive.c.
 * None while a handshake sent less than TUND_WG_PROBE_GAP_NS ago is in
 * flight (a hint comes in several copies); false when none was sent. */
bool tund_wg_peer_probe(struct tund_wg *wg, struct tund_wg_peer *peer,
			const struct tund_wg_endpoint *addr, const struct tund_wg_clock *now);
/* Our overlay IPv4 subnet (NULL or family 0: none), for counting the
 * broadcasts received from peers. */
void tund_wg_set_overlay4(struct tund_wg *wg, const struct tund_cidr *overlay4);
/* The peer's broadcast group (its network; 0: none, the default). */
void tund_wg_peer_set_bcast_group(struct tund_wg *wg, struct tund_wg_peer *peer, uint32_t group);
/* A peer in several of our networks gets each one's broadcasts (at most
 * TUND_WG_MAX_BCAST_GROUPS; more are ignored). */
#define TUND_WG_MAX_BCAST_GROUPS 8
void tund_wg_peer_set_bcast_groups(struct tund_wg *wg, struct tund_wg_peer *peer,
				   const uint32_t *groups, unsigned n);
/* tund_wg_broadcast() to the peers of one broadcast group only. */
unsigned tund_wg_broadcast_group(struct tund_wg *wg, uint32_t group, const uint8_t *pkt,
				 size_t len, uint8_t *scratch, size_t cap,
				 const struct tund_wg_clock *now);
/* Whether the peer gets copies of broadcasts (default: yes). */
void tund_wg_peer_set_broadcast(struct tund_wg *wg, struct tund_wg_peer *peer, bool on);
/* Sends a copy of a broadcast or multicast packet (len bytes at pkt) to
 * every peer with a session that takes broadcasts, through the send
 * callback, sealing each copy in scratch (cap bytes, caller-owned, at least
 * len + HEADROOM + TAILROOM). Returns how many copies went out. */
unsigned tund_wg_broadcast(struct tund_wg *wg, const uint8_t *pkt, size_t len, uint8_t *scratch,
			   size_t cap, const struct tund_wg_clock *now);
/* A datagram from src, decrypted in place. */
enum tund_wg_result tund_wg_receive(struct tund_wg *wg, uint8_t *buf, size_t len,
				    const struct tund_wg_endpoint *src,
				    const struct tund_wg_clock *now, size_t *inner_off,
				    size_t *inner_len);
/* Batches: one packet of a batch and its result. The device takes its lock
 * once per batch (twice on receive) rather than once per packet, looks the
 * peer up once per run of packets to one destination, and runs the AEAD
 * outside the lock on a copy of the key. Results and side effects (timers,
 * handshakes, staging, roaming, counters) are those of calling
 * tund_wg_encrypt / tund_wg_receive on each packet in order. */
enum { TUND_WG_BATCH_MAX = 64 };

struct tund_wg_packet {
	uint8_t *buf;
	size_t cap; /* encrypt: buffer size (len + HEADROOM + TAILROOM suffices) */
	size_t len; /* encrypt: TUN packet at buf + HEADROOM; receive: datagram */
	const struct tund_wg_endpoint *src; /* receive: where it came from */
	/* Results. */
	enum tund_wg_result res;
	size_t out_len;		     /* SEND: datagram is buf[0 .. out_len] */
	struct tund_wg_endpoint dst; /* SEND */
	size_t inner_off, inner_len; /* TO_TUN */
	/* The device's scratch between its phases. */
	uint64_t counter;
	uint32_t index;
	uint16_t key;
	bool sealed;
};

/* Encrypts n packets read from TUN (each as for tund_wg_encrypt). */
void tund_wg_encrypt_batch(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
			   const struct tund_wg_clock *now);
/* Handles n datagrams (each as for tund_wg_receive), decrypting in place. */
void tund_wg_receive_batch(struct tund_wg *wg, struct tund_wg_packet *pkts, size_t n,
			   const struct tund_wg_clock *now);

/* The same with the AEAD of a large enough batch spread over the crypto
 * pool that q belongs to (overlay/pool.h; one queue per calling thread),
 * the calling thread working too; q NULL: as above. Counters are reserved
 * in order before the pool sees a packet; the replay window is applied
 * after the open, slice by slice in the batch's order. Results are those
 * of the functions above. */
struct tund_pool_queue;
void tund_wg_encrypt_batch_pool(struct tund_wg *wg, struct tund_pool_queue *q,
				struct tund_wg_packet *pkts, size_t n,
				const struct tund_wg_clock *now);
void tund_wg_receive_batch_pool(struct tund_wg *wg, struct tund_pool_queue *q,
				struct tund_wg_packet *pkts, size_t n,
				const struct tund_wg_clock *now);

/* Runs due timers for every peer; returns the next deadline (mono ns). */
uint64_t tund_wg_tick(struct tund_wg *wg, const struct tund_wg_clock *now);

#endif
