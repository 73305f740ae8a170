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

struct tund_addrwatch;

/* removed: some address went away (or events were missed); otherwise
 * addresses were only added. */
typedef void (*tund_addrwatch_fn)(void *ctx, bool removed);

/* exclude_ifindex: our TUN (0: none). 0 with *out, or -errno with why. */
int tund_addrwatch_new(int exclude_ifindex, tund_addrwatch_fn cb, void *ctx,
		       struct tund_addrwatch **out, char *why, size_t why_len);
void tund_addrwatch_free(struct tund_addrwatch *w);

/* True if addr (a struct sockaddr_in or _in6) is still one of this machine's
 * addresses: a socket can be bound to it. */
bool tund_addrwatch_is_local(const void *addr, unsigned len);

#endif
