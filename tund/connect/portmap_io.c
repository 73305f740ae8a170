// SPDX-License-Identifier: MIT
#include "tund/connect/portmap_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
/* strnatpmperr is in the library but declared only on request. */
#define ENABLE_STRNATPMPERR
#include <natpmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tund/daemon/log.h"

/* UPnP error codes (UPnP-gw-WANIPConnection-v2, 2.4.16). */
#define UPNP_CONFLICT 718
#define UPNP_ONLY_PERMANENT 725

const char *tund_portmap_proto_name(enum tund_portmap_proto p)
{
	switch (p) {
	case TUND_PORTMAP_UPNP: return "upnp";
	case TUND_PORTMAP_NATPMP: return "natpmp";
	case TUND_PORTMAP_NONE: break;
	}
	return NULL;
}

static int lan_addr_towards(in_addr_t gw, char *out, size_t len);

/* ---- UPnP-IGD ---- */

/* The host part of "http://HOST:PORT/path". */
static void url_host(const char *url, char *out, size_t len)
{
	const char *p = url ? strstr(url, "//") : NULL;
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += 2;
	while (p[n] && p[n] != ':' && p[n] != '/')
		n++;
	if (n < len) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

static int upnp_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, char *why,
			 size_t why_len)
{
	/* miniupnpc waits the whole delay once per type it asks for: two. */
	static const char *const types[] = { "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
					     "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
					     NULL };
	char ifaddr[INET_ADDRSTRLEN];
	int err = 0, r;
	struct UPNPDev *devs;

	/* The search leaves by the default route's interface: tund's own TUN
	 * routes 224.0.0.0/4 for LAN games (tund/host/bcast_rules.c). Any
	 * address off-link finds that route; no packet is sent to it. */
	r = lan_addr_towards(htonl(0xC0000201) /* 192.0.2.1 */, ifaddr, sizeof(ifaddr));
	devs = upnpDiscoverDevices(types, (int)timeout_ms / 2, r == 0 ? ifaddr : NULL, NULL,
				   UPNP_LOCAL_PORT_ANY, 0, 2, &err, 0);

	if (!devs) {
		tund_why(why, why_len, "no UPnP-IGD answered within %u ms", timeout_ms);
		return -ENOENT;
	}
	r = UPNP_GetValidIGD(devs, &gw->urls, &gw->data, gw->lan_addr, sizeof(gw->lan_addr));
	freeUPNPDevlist(devs);
	if (r != 1) {
		if (r != 0)
			FreeUPNPUrls(&gw->urls);
		memset(&gw->urls, 0, sizeof(gw->urls));
		tund_why(why, why_len, "UPnP device found but %s",
			 r == 2 ? "its IGD is not connected" : "it is not an IGD");
		return -ENOENT;
	}
	r = UPNP_GetExternalIPAddress(gw->urls.controlURL, gw->data.first.servicetype,
				      gw->external);
	if (r != 0 || !gw->external[0]) {
		FreeUPNPUrls(&gw->urls);
		memset(&gw->urls, 0, sizeof(gw->urls));
		tund_why(why, why_len, "UPnP-IGD has no external address (%s)", strupnperror(r));
		return -ENOENT;
	}
	url_host(gw->urls.controlURL, gw->gateway, sizeof(gw->gateway));
	gw->proto = TUND_PORTMAP_UPNP;
	return 0;
}

static int upnp_add(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
		    unsigned lifetime_s, unsigned *got_lifetime, char *why, size_t why_len)
{
	char ext[8], in[8], lease[16];
	int r;

	snprintf(ext, sizeof(ext), "%u", ext_port);
	snprintf(in, sizeof(in), "%u", int_port);
	snprintf(lease, sizeof(lease), "%u", lifetime_s);
	*got_lifetime = lifetime_s;
	r = UPNP_AddPortMapping(gw->urls.controlURL, gw->data.first.servicetype, ext, in,
				gw->lan_addr, "tund", "UDP", NULL, lease);
	if (r == UPNP_ONLY_PERMANENT) {
		*got_lifetime = 0;
		r = UPNP_AddPortMapping(gw->urls.controlURL, gw->data.first.servicetype, ext, in,
					gw->lan_addr, "tund", "UDP", NULL, "0");
	}
	if (r != 0) {
		tund_why(why, why_len, "UPnP AddPortMapping %s -> %s:%s: %s", ext, gw->lan_addr, in,
			 strupnperror(r) ? strupnperror(r) : "error");
		return r == UPNP_CONFLICT ? -EADDRINUSE : -EIO;
	}
	return 0;
}

/* ---- NAT-PMP ---- */

/* libnatpmp retries on its own schedule (up to a minute); this stops it at
 * the deadline. */
static int natpmp_wait(natpmp_t *n, natpmpresp_t *resp, unsigned timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	int ret;

	do {
		struct pollfd pfd = { .fd = n->s, .events = POLLIN };
		struct timeval tv;
		gint64 left = end - g_get_monotonic_time(), wait_us = left;

		if (left <= 0)
			return NATPMP_TRYAGAIN;
		if (getnatpmprequesttimeout(n, &tv) == 0) {
			gint64 t = (gint64)tv.tv_sec * 1000000 + tv.tv_usec;

			wait_us = t < 0 ? 0 : t < left ? t : left;
		}
		(void)poll(&pfd, 1, (int)((wait_us + 999) / 1000));
		ret = readnatpmpresponseorretry(n, resp);
	} while (ret == NATPMP_TRYAGAIN);
	return ret;
}

/* Our address on the way to gw: what a connected UDP socket gets. */
static int lan_addr_towards(in_addr_t gw, char *out, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(NATPMP_PORT),
				  .sin_addr.s_addr = gw };
	struct sockaddr_in me;
	socklen_t me_len = sizeof(me);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &me_len) != 0)
		ret = -errno;
	else
		inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)len);
	close(fd);
	return ret;
}

static int natpmp_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, char *why,
			   size_t why_len)
{
	natpmp_t n;
	natpmpresp_t resp;
	int r;

	if ((r = initnatpmp(&n, 0, 0)) < 0) {
		tund_why(why, why_len, "NAT-PMP: %s", strnatpmperr(r));
		return -ENOENT;
	}
	r = sendpublicaddressrequest(&n);
	if (r >= 0)
		r = natpmp_wait(&n, &resp, timeout_ms);
	gw->natpmp_gw = n.gateway;
	closenatpmp(&n);
	if (r < 0 || resp.type != NATPMP_RESPTYPE_PUBLICADDRESS) {
		tund_why(why, why_len, "NAT-PMP: %s",
			 r == NATPMP_TRYAGAIN ? "no answer from the gateway" : strnatpmperr(r));
		return -ENOENT;
	}
	inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, gw->external, sizeof(gw->external));
	inet_ntop(AF_INET, &gw->natpmp_gw, gw->gateway, sizeof(gw->gateway));
	if ((r = lan_addr_towards(gw->natpmp_gw, gw->lan_addr, sizeof(gw->lan_addr))) < 0) {
		tund_why(why, why_len, "NAT-PMP: no route to %s: %s", gw->gateway, g_strerror(-r));
		return -ENOENT;
	}
	gw->proto = TUND_PORTMAP_NATPMP;
	return 0;
}

/* One mapping request (lifetime 0 removes it); the answer in resp. */
static int natpmp_map(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
		      unsigned lifetime_s, natpmpresp_t *resp, char *why, size_t why_len)
{
	natpmp_t n;
	int r;

	if ((r = initnatpmp(&n, 1, gw->natpmp_gw)) < 0) {
		tund_why(why, why_len, "NAT-PMP: %s", strnatpmperr(r));
		return -EIO;
	}
	r = sendnewportmappingrequest(&n, NATPMP_PROTOCOL_UDP, int_port, ext_port, lifetime_s);
	if (r >= 0)
		r = natpmp_wait(&n, resp, 2000);
	closenatpmp(&n);
	if (r < 0) {
		tund_why(why, why_len, "NAT-PMP mapping of port %u: %s", int_port,
			 r == NATPMP_TRYAGAIN ? "no answer from the gateway" : strnatpmperr(r));
		return r == NATPMP_TRYAGAIN ? -ETIMEDOUT : -EIO;
	}
	return 0;
}

/* ---- either ---- */

int tund_portmap_io_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, char *why,
			     size_t why_len)
{
	char upnp_why[256] = "";

	memset(gw, 0, sizeof(*gw));
	if (upnp_discover(gw, timeout_ms, upnp_why, sizeof(upnp_why)) == 0)
		return 0;
	if (natpmp_discover(gw, timeout_ms, why, why_len) == 0)
		return 0;
	/* Both reasons: either may be the one a person needs. */
	char pmp_why[256];

	g_strlcpy(pmp_why, why_len ? why : "", sizeof(pmp_why));
	tund_why(why, why_len, "%s; %s", upnp_why, pmp_why);
	memset(gw, 0, sizeof(*gw));
	return -ENOENT;
}

int tund_portmap_io_add(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			unsigned lifetime_s, uint16_t *got_port, unsigned *got_lifetime,
			char *why, size_t why_len)
{
	natpmpresp_t resp;
	int ret;

	if (!ext_port)
		ext_port = int_port;
	switch (gw->proto) {
	case TUND_PORTMAP_UPNP:
		ret = upnp_add(gw, int_port, ext_port, lifetime_s, got_lifetime, why, why_len);
		if (ret == 0)
			*got_port = ext_port;
		return ret;
	case TUND_PORTMAP_NATPMP:
		ret = natpmp_map(gw, int_port, ext_port, lifetime_s, &resp, why, why_len);
		if (ret)
			return ret;
		if (resp.type != NATPMP_RESPTYPE_UDPPORTMAPPING ||
		    !resp.pnu.newportmapping.mappedpublicport) {
			tund_why(why, why_len, "NAT-PMP: unexpected answer to a mapping request");
			return -EPROTO;
		}
		*got_port = resp.pnu.newportmapping.mappedpublicport;
		*got_lifetime = resp.pnu.newportmapping.lifetime;
		return 0;
	case TUND_PORTMAP_NONE:
		break;
	}
	tund_why(why, why_len, "no port-mapping router");
	return -ENOENT;
}

int tund_portmap_io_delete(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			   char *why, size_t why_len)
{
	natpmpresp_t resp;
	char ext[8];
	int r;

	switch (gw->proto) {
	case TUND_PORTMAP_UPNP:
		snprintf(ext, sizeof(ext), "%u", ext_port);
		r = UPNP_DeletePortMapping(gw->urls.controlURL, gw->data.first.servicetype, ext,
					   "UDP", NULL);
		if (r != 0) {
			tund_why(why, why_len, "UPnP DeletePortMapping %s: %s", ext,
				 strupnperror(r) ? strupnperror(r) : "error");
			return -EIO;
		}
		return 0;
	case TUND_PORTMAP_NATPMP:
		/* RFC 6886 3.4: lifetime 0 deletes; the external port is ignored. */
		return natpmp_map(gw, int_port, 0, 0, &resp, why, why_len);
	case TUND_PORTMAP_NONE:
		break;
	}
	return -ENOENT;
}

void tund_portmap_io_clear(struct tund_portmap_gw *gw)
{
	if (gw->proto == TUND_PORTMAP_UPNP)
		FreeUPNPUrls(&gw->urls);
	memset(gw, 0, sizeof(*gw));
}
