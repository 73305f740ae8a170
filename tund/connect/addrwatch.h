/* SPDX-License-Identifier: MIT */
/* Notices when the machine's underlay addresses change (rtnetlink address
 * events), so that sockets bound to an address that went away are replaced:
 * libnice and an established TCP connection do not notice by themselves
 * until their own timeouts (10-30 s). Our TUN, loopback, link-local and
 * IPv6 temporary (privacy) addresses are ignored. Events are collected for
 * a short while and reported once. Runs on the thread that iterates the
 * default GMainContext. */
#ifndef TUND_ADDRWATCH_H
#define TUND_ADDRWATCH_H

#include <stdbool.h>
#include <stddef.h>

#define TUND_ADDRWATCH_MAX_REMOVED 8

struct tund_addrwatch;

/* What changed during one settle period. */
struct tund_addrwatch_change {
	bool removed;  /* some address went away (or events were missed) */
	/* Which ones is not known: events were missed, a message named no
	 * address, or more than TUND_ADDRWATCH_MAX_REMOVED went away. */
	bool unknown;
	unsigned n_removed;
	char removed_ip[TUND_ADDRWATCH_MAX_REMOVED][46]; /* as inet_ntop writes them */
};

/* ch->removed false: addresses were only added. */
typedef void (*tund_addrwatch_fn)(void *ctx, const struct tund_addrwatch_change *ch);

/* exclude_ifindex: our TUN (0: none). 0 with *out, or -errno with why. */
int tund_addrwatch_new(int exclude_ifindex, tund_addrwatch_fn cb, void *ctx,
		       struct tund_addrwatch **out, char *why, size_t why_len);
void tund_addrwatch_free(struct tund_addrwatch *w);

/* True if addr (a struct sockaddr_in or _in6) is still one of this machine's
 * addresses: a socket can be bound to it. */
bool tund_addrwatch_is_local(const void *addr, unsigned len);

/* True if a socket bound to ip (IPv4 or IPv6 text, no port) lost its address
 * in ch: ip was removed (or which ones were is unknown) and is not one of
 * ours now. An address that went and came back within the settle period is
 * not gone (the socket works again). An unparsable ip is not gone. */
bool tund_addrwatch_gone(const struct tund_addrwatch_change *ch, const char *ip);

#endif
