/* SPDX-License-Identifier: MIT */
/* rtnetlink address and link events, decoded, on a non-blocking socket the
 * caller polls (so that no libmnl call lives outside netlink/). */
#ifndef TUND_NETLINK_MONITOR_H
#define TUND_NETLINK_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

struct tund_nl_monitor;

enum {
	TUND_NL_WATCH_ADDR = 1, /* IPv4 and IPv6 addresses */
	TUND_NL_WATCH_LINK = 2, /* links */
};

enum tund_nl_event_kind {
	TUND_NL_ADDR_NEW,
	TUND_NL_ADDR_DEL,
	TUND_NL_LINK_NEW, /* also a change of an existing link */
	TUND_NL_LINK_DEL,
	TUND_NL_LOST, /* the socket overflowed: events were missed */
};

struct tund_nl_event {
	enum tund_nl_event_kind kind;
	int ifindex;
	int family;          /* addresses: AF_INET or AF_INET6 */
	unsigned char scope; /* addresses: RT_SCOPE_* */
	unsigned flags;      /* addresses: IFA_F_*; links: IFF_* */
	/* addresses: the address itself (IFA_LOCAL for IPv4, else IFA_ADDRESS),
	 * network order, 4 or 16 bytes; addr_len 0 if the message had none. */
	unsigned char addr[16];
	unsigned addr_len;
};

typedef void (*tund_nl_event_fn)(void *ctx, const struct tund_nl_event *ev);

/* what: TUND_NL_WATCH_* bits. 0 or -errno. */
int tund_nl_monitor_open(unsigned what, struct tund_nl_monitor **out);
/* The socket to poll for reading. */
int tund_nl_monitor_fd(const struct tund_nl_monitor *m);
/* Reads every queued event (never blocks) and calls fn for each. */
void tund_nl_monitor_read(struct tund_nl_monitor *m, tund_nl_event_fn fn, void *ctx);
void tund_nl_monitor_close(struct tund_nl_monitor *m);
/* Decodes one datagram of rtnetlink messages (bytes a local process could
 * also try to send: tund_nl_monitor_read takes only the kernel's) and calls
 * fn for each address or link event with a valid interface index. False if
 * the datagram was malformed (what came before was still delivered): the
 * reader then reports TUND_NL_LOST, as on an overflow. */
bool tund_nl_monitor_parse(const void *buf, size_t len, tund_nl_event_fn fn, void *ctx);

#endif
