/* SPDX-License-Identifier: MIT */
/* Direct ICE pairs without libnice on the data path. libnice reads one
 * datagram per recvmsg on the GLib loop; for a pair that is not relayed the
 * WireGuard datagrams can instead go through a socket of our own bound to the
 * same local address and port as libnice's (SO_REUSEPORT set on both), with a
 * classic BPF program on the port's reuseport group that hands WireGuard-shaped
 * datagrams (type 1-4, three zero bytes) to our socket and everything else
 * (STUN: consent checks, ICE restarts) to libnice's. The NAT sees one socket;
 * libnice keeps doing ICE; a thread of ours receives in batches.
 *
 * A relayed pair (TURN over UDP) is the same socket trick on the local base
 * of the allocation, whose 5-tuple to the TURN server is the allocation's:
 * the program hands our socket ChannelData (first byte 0x40-0x7F) whose
 * payload starts with a WireGuard type word; everything else (TURN
 * responses, Data indications, ChannelData carrying STUN: consent checks
 * through the relay) stays with libnice, which keeps the allocation, its
 * permissions and channel bindings. The channel number is learnt from
 * ChannelData whose payload then authenticated (deliver sets authentic);
 * until then sends go through libnice, after it they carry a ChannelData
 * header each on our socket to the server.
 *
 * Threads: add/remove/free on the main thread; send from any thread; deliver
 * is called on the fast path's own receive thread. */
#ifndef TUND_FASTPATH_H
#define TUND_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct tund_fastpath;

/* Most datagrams handed to deliver at once. */
#define TUND_FASTPATH_BATCH 128

struct tund_udp_datagram;

/* Datagrams that arrived on path id's socket from its remote address. */
struct tund_fastpath_datagram {
	uint8_t *buf; /* the receive thread's: may be modified, valid during the call */
	size_t len;
	uint16_t channel; /* relayed: the ChannelData's channel (buf is its payload) */
	bool authentic;	  /* deliver's answer: it decrypted as the path's peer's */
};
typedef void (*tund_fastpath_deliver_fn)(void *ctx, uint32_t id, struct tund_fastpath_datagram *d,
					 size_t n);

/* What the receive thread does besides delivering (the data plane reads the
 * TUN there while traffic is light, tund/dataplane/tun_handoff.h): after
 * each wake-up's batches it calls after(fp, ctx, packets, woken), packets:
 * the datagrams it delivered in that wake-up, woken: wake_fd was readable
 * (after reads it empty). It also wakes up for wake_fd, and for the
 * descriptor after asks it to watch (tund_fastpath_watch). */
struct tund_fastpath_hooks {
	void (*after)(struct tund_fastpath *fp, void *ctx, size_t packets, bool woken);
	int wake_fd;
};

struct tund_prio_group;
struct tund_pace_group;
/* Starts the receive thread; prio: the group whose priority it shares
 * (tund/priority.h), NULL: normal priority; pace: whose pacing
 * (tund/pace.h), NULL: none; hooks (copied; NULL: none). NULL on failure
 * (errno set). */
struct tund_fastpath *tund_fastpath_new(tund_fastpath_deliver_fn deliver, void *ctx,
				       struct tund_prio_group *prio, struct tund_pace_group *pace,
				       const struct tund_fastpath_hooks *hooks);
/* From the receive thread (inside hooks.after): it also wakes up when fd is
 * readable (on), or no longer (off). One descriptor at a time. 0 or -errno. */
int tund_fastpath_watch(struct tund_fastpath *fp, int fd, bool on);
/* Stops the thread and closes every socket. */
void tund_fastpath_free(struct tund_fastpath *fp);

/* Takes over path id's data: nice_fd is libnice's socket of the selected
 * pair (borrowed, not closed), remote the pair's remote address; relayed:
 * nice_fd is the allocation's local base and remote the TURN server. turn
 * (NULL: none): on a direct pair, the TURN server of our own allocation on
 * the same local base, whose ChannelData carrying WireGuard is taken too
 * (the peer's selected pair may go through our allocation while ours does
 * not). Replaces an earlier one for id. 0 or -errno (the path then stays on
 * libnice). */
int tund_fastpath_add(struct tund_fastpath *fp, uint32_t id, int nice_fd,
		      const struct sockaddr *remote, socklen_t remote_len, bool relayed,
		      const struct sockaddr *turn, socklen_t turn_len);
/* Gives path id back to libnice (no-op if it has no fast path). */
void tund_fastpath_remove(struct tund_fastpath *fp, uint32_t id);
/* Sends on path id's own socket: true if the path has one (the datagram was
 * sent, or dropped as a full link would drop it); false: use libnice (also
 * a relayed path whose channel is not learnt yet). */
bool tund_fastpath_send(struct tund_fastpath *fp, uint32_t id, const uint8_t *buf, size_t len);
/* The same for d[0..n) (n <= TUND_UDP_SEND_MAX; their addresses are filled
 * in here), with sendmmsg and UDP GSO where the kernel has it. */
bool tund_fastpath_send_batch(struct tund_fastpath *fp, uint32_t id, struct tund_udp_datagram *d,
			      size_t n);

struct tund_fastpath_stats {
	uint64_t paths;     /* paths on their own socket now, relayed ones too */
	uint64_t relayed;   /* of them: relayed, sending on a learnt channel */
	uint64_t received;  /* datagrams delivered */
	uint64_t foreign;   /* dropped: not from the pair's remote address */
	uint64_t malformed; /* dropped: from the TURN server, not ChannelData */
};
/* Whether path id's data goes on its own socket now (a relayed one once
 * its channel is learnt); *relayed: it is a relayed one. */
bool tund_fastpath_state(struct tund_fastpath *fp, uint32_t id, bool *relayed);
void tund_fastpath_get_stats(struct tund_fastpath *fp, struct tund_fastpath_stats *out);

#endif
