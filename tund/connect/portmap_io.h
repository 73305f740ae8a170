/* SPDX-License-Identifier: MIT */
/* The router's port-mapping protocols, blocking: PCP through our own client
 * (pcp.c builds and checks its messages; no Debian library has PCP),
 * NAT-PMP through libnatpmp and UPnP-IGD through miniupnpc (both libraries
 * parse the router's answers). Called only from portmap.c's worker thread,
 * never from the main loop: discovery waits up to its timeout. */
#ifndef TUND_PORTMAP_IO_H
#define TUND_PORTMAP_IO_H

#include <miniupnpc/miniupnpc.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tund/connect/pcp.h"

enum tund_portmap_proto { TUND_PORTMAP_NONE, TUND_PORTMAP_UPNP, TUND_PORTMAP_NATPMP, TUND_PORTMAP_PCP };

/* A PCP MAP or delete waits this long for the answer: the first request
 * and, after RFC 6887's 3 s (+-10%), one retransmission. */
#define TUND_PORTMAP_PCP_REQUEST_MS 4000

struct tund_portmap_gw {
	enum tund_portmap_proto proto;
	char lan_addr[INET_ADDRSTRLEN];  /* our address towards the router */
	char external[INET_ADDRSTRLEN];  /* the router's public address (PCP: once
					  * a MAP answer named it) */
	char gateway[INET_ADDRSTRLEN];   /* the router (UPnP: its control URL host) */
	struct UPNPUrls urls;            /* UPnP only */
	struct IGDdatas data;
	in_addr_t gw_addr;               /* PCP and NAT-PMP: the default gateway */
};

/* "upnp", "natpmp", "pcp" or NULL. */
const char *tund_portmap_proto_name(enum tund_portmap_proto p);

/* Looks for a router: PCP ANNOUNCE to the default gateway, then NAT-PMP to
 * it (skipped when PCP already got NAT-PMP's "unsupported version"), then
 * UPnP-IGD (SSDP), each up to timeout_ms (doc/paths.md says why in this
 * order). 0 with gw filled, or -ENOENT with why when none answered. */
int tund_portmap_io_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, char *why,
			     size_t why_len);
/* Maps UDP ext_port (0: same as int_port) on the router to
 * gw->lan_addr:int_port for lifetime_s; fills the port and lifetime the
 * router granted (lifetime 0: permanent, UPnP routers that only do that).
 * nonce: the mapping's PCP nonce, the same for its renewals and its
 * removal (unused by the others). 0 or -errno with why. */
int tund_portmap_io_add(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			const uint8_t nonce[TUND_PCP_NONCE_LEN], unsigned lifetime_s,
			uint16_t *got_port, unsigned *got_lifetime, char *why, size_t why_len);
/* Removes the mapping of ext_port (int_port and nonce for PCP and NAT-PMP).
 * 0 or -errno. */
int tund_portmap_io_delete(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			   const uint8_t nonce[TUND_PCP_NONCE_LEN], char *why, size_t why_len);
/* Releases what discovery allocated; gw is NONE afterwards. */
void tund_portmap_io_clear(struct tund_portmap_gw *gw);

#endif
