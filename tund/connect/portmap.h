/* SPDX-License-Identifier: MIT */
/* Port mapping on the home router (PCP, NAT-PMP or UPnP-IGD, portmap_io.c) for
 * the ports of our ICE host candidates, so that a peer behind any NAT can
 * reach them through the router's public address (doc/paths.md).
 *
 * Threads: one worker thread does every blocking request in order
 * (discovery first); the functions here and every callback run on the
 * context that was thread-default at tund_portmap_new. Mappings are renewed
 * at half their lifetime (UPnP: at least every minute) and removed by
 * tund_portmap_unmap and, for those still held, by tund_portmap_free. A
 * router that lost its mappings (PCP's and NAT-PMP's epoch in any answer or
 * in its announcement to 224.0.0.1:5350; UPnP: the next renewal) gets them
 * again at once. */
#ifndef TUND_PORTMAP_H
#define TUND_PORTMAP_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Asked of the router; it may grant less. */
#define TUND_PORTMAP_LIFETIME_S 1800
/* PCP, NAT-PMP and UPnP discovery each wait this long for an answer. */
#define TUND_PORTMAP_DISCOVER_MS 1500

struct tund_portmap;

struct tund_portmap_mapping {
	char internal_ip[46];
	uint16_t internal_port;
	char external_ip[46];
	uint16_t external_port;
	unsigned lifetime_s; /* 0: permanent */
};

/* One answer per tund_portmap_map: m on success, NULL when it failed; and
 * after a success, again with the new m each time the router moves the
 * mapping's external address or port (a renewal or a re-mapping after the
 * router restarted says so). */
typedef void (*tund_portmap_done_fn)(void *ctx, const struct tund_portmap_mapping *m);

/* Starts discovery on the worker; 0 or -errno (no thread). */
int tund_portmap_new(struct tund_portmap **out);
/* Removes every mapping still held (blocking: the router is asked, each
 * request bounded by a few seconds), stops the worker. NULL is a no-op. */
void tund_portmap_free(struct tund_portmap *pm);
/* Asks for a mapping of ip:port when ip is our address towards the router.
 * Returns its id (> 0; done runs later, see above) or 0 when no mapping can be
 * made (no router answered, or ip is not on the router's side): done is not
 * called then. */
unsigned tund_portmap_map(struct tund_portmap *pm, const char *ip, uint16_t port,
			  tund_portmap_done_fn done, void *ctx);
/* done is not called any more; the mapping is removed from the router. */
void tund_portmap_unmap(struct tund_portmap *pm, unsigned id);
/* {"protocol": "pcp"|"natpmp"|"upnp"|null, "gateway", "external" (null
 *  until known: PCP names it with the first mapping), "error",
 *  "mappings": [{"internal": "IP:PORT", "external": "IP:PORT",
 *  "lifetime": S}]}; "discovering" true until discovery has answered. */
JsonNode *tund_portmap_describe(struct tund_portmap *pm);

/* Pure parts, unit-tested. */
/* Every mapping is asked for again at least this often: UPnP has no epoch
 * and no announcement, and PCP's and NAT-PMP's announcements are single
 * multicast datagrams that can be lost (miniupnpd sends one). The answer's
 * epoch then shows a restart, and the request itself has the mapping back. */
#define TUND_PORTMAP_REASSERT_S 60
/* Seconds until a mapping granted for lifetime_s (0: permanent) is renewed. */
unsigned tund_portmap_renew_after(unsigned lifetime_s);
/* The candidate line for a mapped address: srflx with the host candidate
 * as its base and a foundation starting TUND_PORTMAP_FOUNDATION, so that a
 * tund peer can name it "mapped". 0, or -EINVAL (bad address or port). */
#define TUND_PORTMAP_FOUNDATION "tundmap"
int tund_portmap_candidate_line(char *buf, size_t len, const char *ext_ip, uint16_t ext_port,
				const char *base_ip, uint16_t base_port);

#endif
