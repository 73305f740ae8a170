/* SPDX-License-Identifier: MIT */
/* The router's port-mapping protocols, blocking: UPnP-IGD through miniupnpc,
 * NAT-PMP through libnatpmp (both libraries parse the router's answers).
 * Called only from portmap.c's worker thread, never from the main loop:
 * UPnP discovery alone waits up to its timeout. PCP is not spoken (neither
 * packaged library has it). */
#ifndef TUND_PORTMAP_IO_H
#define TUND_PORTMAP_IO_H

#include <miniupnpc/miniupnpc.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tund_portmap_proto { TUND_PORTMAP_NONE, TUND_PORTMAP_UPNP, TUND_PORTMAP_NATPMP };

struct tund_portmap_gw {
	enum tund_portmap_proto proto;
	char lan_addr[INET_ADDRSTRLEN];  /* our address towards the router */
	char external[INET_ADDRSTRLEN];  /* the router's public address */
	char gateway[INET_ADDRSTRLEN];   /* the router (UPnP: its control URL host) */
	struct UPNPUrls urls;            /* UPnP only */
	struct IGDdatas data;
	in_addr_t natpmp_gw;             /* NAT-PMP only */
};

/* "upnp", "natpmp" or NULL. */
const char *tund_portmap_proto_name(enum tund_portmap_proto p);

/* Looks for a router: UPnP-IGD (SSDP, up to timeout_ms), then NAT-PMP to
 * the default gateway (up to timeout_ms). 0 with gw filled, or -ENOENT
 * with why when neither answered. */
int tund_portmap_io_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, char *why,
			     size_t why_len);
/* Maps UDP ext_port (0: same as int_port) on the router to
 * gw->lan_addr:int_port for lifetime_s; fills the port and lifetime the
 * router granted (lifetime 0: permanent, UPnP routers that only do that).
 * 0 or -errno with why. */
int tund_portmap_io_add(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			unsigned lifetime_s, uint16_t *got_port, unsigned *got_lifetime,
			char *why, size_t why_len);
/* Removes the mapping of ext_port (int_port for NAT-PMP). 0 or -errno. */
int tund_portmap_io_delete(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			   char *why, size_t why_len);
/* Releases what discovery allocated; gw is NONE afterwards. */
void tund_portmap_io_clear(struct tund_portmap_gw *gw);

#endif
