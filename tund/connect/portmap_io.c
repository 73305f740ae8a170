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

#include "netlink/route.h"
#include "tund/daemon/log.h"

/* UPnP error codes (UPnP-gw-WANIPConnection-v2, 2.4.16). */
#define UPNP_CONFLICT 718
#define UPNP_ONLY_PERMANENT 725

const char *tund_portmap_proto_name(enum tund_portmap_proto p)
{
	switch (p) {
	case TUND_PORTMAP_UPNP: return "upnp";
	case TUND_PORTMAP_NATPMP: return "natpmp";
	case TUND_PORTMAP_PCP: return "pcp";
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

/* gw_addr: the default gateway when PCP found it (0: libnatpmp finds it). */
static int natpmp_discover(struct tund_portmap_gw *gw, in_addr_t gw_addr, unsigned timeout_ms,
			   char *why, size_t why_len)
{
	natpmp_t n;
	natpmpresp_t resp;
	int r;

	if ((r = initnatpmp(&n, gw_addr != 0, gw_addr)) < 0) {
		tund_why(why, why_len, "NAT-PMP: %s", strnatpmperr(r));
		return -ENOENT;
	}
	r = sendpublicaddressrequest(&n);
	if (r >= 0)
		r = natpmp_wait(&n, &resp, timeout_ms);
	gw->gw_addr = n.gateway;
	closenatpmp(&n);
	if (r < 0 || resp.type != NATPMP_RESPTYPE_PUBLICADDRESS) {
		tund_why(why, why_len, "NAT-PMP: %s",
			 r == NATPMP_TRYAGAIN ? "no answer from the gateway" : strnatpmperr(r));
		return -ENOENT;
	}
	inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, gw->external, sizeof(gw->external));
	inet_ntop(AF_INET, &gw->gw_addr, gw->gateway, sizeof(gw->gateway));
	if ((r = lan_addr_towards(gw->gw_addr, gw->lan_addr, sizeof(gw->lan_addr))) < 0) {
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

	if ((r = initnatpmp(&n, 1, gw->gw_addr)) < 0) {
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

/* ---- PCP (RFC 6887; messages in pcp.c) ---- */

/* The default gateway: the next hop towards an off-link address, asked of
 * the kernel (rtnetlink, in this thread's network namespace). */
static int default_gateway(in_addr_t *gw)
{
	in_addr_t off_link = htonl(0xC0000201); /* 192.0.2.1: never sent to */
	struct tund_route_hop hop;
	char src_s[INET_ADDRSTRLEN];
	struct in_addr src;
	int r;

	if ((r = lan_addr_towards(off_link, src_s, sizeof(src_s))) < 0)
		return r;
	inet_pton(AF_INET, src_s, &src);
	if ((r = tund_route_get(AF_INET, &src, &off_link, &hop)) < 0)
		return r;
	memcpy(gw, hop.gateway, sizeof(*gw));
	return *gw ? 0 : -ENETUNREACH; /* on-link: no router */
}

/* Waits until deadline (monotonic us) for the answer to req: 1 parsed
 * (kind set), 0 at the deadline, or -errno (-ECONNREFUSED: the gateway's
 * ICMP says nothing listens on 5351). Other datagrams are dropped. */
static int pcp_wait(int fd, gint64 deadline, const struct tund_pcp_map *req,
		    struct tund_pcp_answer *ans, enum tund_pcp_parsed *kind)
{
	uint8_t buf[TUND_PCP_MAX_LEN + 4];
	gint64 left;

	while ((left = deadline - g_get_monotonic_time()) > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)((left + 999) / 1000)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		*kind = tund_pcp_parse(buf, (size_t)n, req, ans, NULL);
		if (*kind != TUND_PCP_DROP)
			return 1;
	}
	return 0;
}

/* Sends msg to the gateway's PCP port and waits for its answer,
 * retransmitting on RFC 6887 8.1.1's schedule, for at most bound_ms.
 * The connected socket takes datagrams from gw:5351 only (8.3's source
 * check). 0 with the answer, -ETIMEDOUT, or -errno. */
static int pcp_exchange(in_addr_t gw, const uint8_t *msg, size_t len,
			const struct tund_pcp_map *req, unsigned bound_ms,
			struct tund_pcp_answer *ans, enum tund_pcp_parsed *kind)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TUND_PCP_PORT),
				  .sin_addr.s_addr = gw };
	gint64 end = g_get_monotonic_time() + (gint64)bound_ms * 1000;
	unsigned rt = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -ETIMEDOUT;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		ret = -errno;
		goto out;
	}
	while (g_get_monotonic_time() < end) {
		gint64 next;
		int r;

		if (send(fd, msg, len, 0) < 0 && errno != ECONNREFUSED) {
			ret = -errno;
			break;
		}
		rt = tund_pcp_next_rt_ms(rt, g_random_int_range(-100, 101));
		next = MIN(end, g_get_monotonic_time() + (gint64)rt * 1000);
		if ((r = pcp_wait(fd, next, req, ans, kind)) != 0) {
			ret = r < 0 ? r : 0;
			break;
		}
	}
out:
	close(fd);
	return ret;
}

static const char *pcp_failure(int r)
{
	return r == -ETIMEDOUT ? "no answer from the gateway"
	       : r == -ECONNREFUSED ? "the gateway refused (nothing listens on port 5351)"
				    : g_strerror(-r);
}

/* 0: a PCP server answered; -EPROTONOSUPPORT: it speaks NAT-PMP only (and
 * *natpmp_only is set); -ENOENT otherwise. why says which. */
static int pcp_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, bool *natpmp_only,
			char *why, size_t why_len)
{
	uint8_t msg[TUND_PCP_HDR_LEN], ip[4];
	struct tund_pcp_answer ans;
	enum tund_pcp_parsed kind;
	char rbuf[16];
	int r;

	if ((r = default_gateway(&gw->gw_addr)) < 0 ||
	    (r = lan_addr_towards(gw->gw_addr, gw->lan_addr, sizeof(gw->lan_addr))) < 0) {
		tund_why(why, why_len, "PCP: no default gateway");
		return -ENOENT;
	}
	inet_ntop(AF_INET, &gw->gw_addr, gw->gateway, sizeof(gw->gateway));
	inet_pton(AF_INET, gw->lan_addr, ip);
	tund_pcp_encode_announce(msg, ip);
	r = pcp_exchange(gw->gw_addr, msg, sizeof(msg), NULL, timeout_ms, &ans, &kind);
	if (r < 0) {
		tund_why(why, why_len, "PCP: %s", pcp_failure(r));
		return -ENOENT;
	}
	if (kind == TUND_PCP_NATPMP_ONLY || ans.result == TUND_PCP_UNSUPP_VERSION) {
		*natpmp_only = kind == TUND_PCP_NATPMP_ONLY;
		tund_why(why, why_len, "PCP: the gateway does not speak version 2");
		return -EPROTONOSUPPORT;
	}
	if (ans.result != TUND_PCP_SUCCESS) {
		tund_why(why, why_len, "PCP: the gateway answered %s",
			 tund_pcp_result_name(ans.result, rbuf, sizeof(rbuf)));
		return -ENOENT;
	}
	gw->proto = TUND_PORTMAP_PCP;
	return 0;
}

static int pcp_result_errno(uint8_t result)
{
	switch (result) {
	case 2: return -EACCES;        /* NOT_AUTHORIZED */
	case 8: case 10: return -ENOSPC; /* NO_RESOURCES, USER_EX_QUOTA */
	case 11: return -EADDRINUSE;   /* CANNOT_PROVIDE_EXTERNAL */
	default: return -EPROTO;
	}
}

/* One MAP request (lifetime 0 deletes it); a success in ans. */
static int pcp_map(struct tund_portmap_gw *gw, const struct tund_pcp_map *req,
		   struct tund_pcp_answer *ans, char *why, size_t why_len)
{
	uint8_t msg[TUND_PCP_HDR_LEN + TUND_PCP_MAP_LEN];
	enum tund_pcp_parsed kind;
	char rbuf[16];
	int r;

	tund_pcp_encode_map(msg, req);
	r = pcp_exchange(gw->gw_addr, msg, sizeof(msg), req, TUND_PORTMAP_PCP_REQUEST_MS, ans,
			 &kind);
	if (r == 0 && kind == TUND_PCP_NATPMP_ONLY)
		ans->result = TUND_PCP_UNSUPP_VERSION;
	if (r < 0 || ans->result != TUND_PCP_SUCCESS) {
		tund_why(why, why_len, "PCP %s of port %u: %s", req->lifetime ? "MAP" : "delete",
			 req->int_port,
			 r < 0 ? pcp_failure(r) : tund_pcp_result_name(ans->result, rbuf, sizeof(rbuf)));
		return r < 0 ? r : pcp_result_errno(ans->result);
	}
	return 0;
}

static void pcp_request(struct tund_pcp_map *req, const struct tund_portmap_gw *gw,
			uint16_t int_port, uint16_t ext_port,
			const uint8_t nonce[TUND_PCP_NONCE_LEN], unsigned lifetime_s)
{
	memset(req, 0, sizeof(*req));
	memcpy(req->nonce, nonce, TUND_PCP_NONCE_LEN);
	inet_pton(AF_INET, gw->lan_addr, req->client_ip);
	req->int_port = int_port;
	req->ext_port = ext_port;
	/* The address granted before, when known (RFC 6887 11.2). */
	if (!gw->external[0] || inet_pton(AF_INET, gw->external, req->ext_ip) != 1)
		memset(req->ext_ip, 0, sizeof(req->ext_ip));
	req->lifetime = lifetime_s;
}

static int pcp_add(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
		   const uint8_t nonce[TUND_PCP_NONCE_LEN], unsigned lifetime_s,
		   uint16_t *got_port, unsigned *got_lifetime, char *why, size_t why_len)
{
	struct tund_pcp_map req;
	struct tund_pcp_answer ans;
	int r;

	pcp_request(&req, gw, int_port, ext_port, nonce, lifetime_s);
	if ((r = pcp_map(gw, &req, &ans, why, why_len)) < 0)
		return r;
	*got_port = ans.ext_port;
	*got_lifetime = ans.lifetime;
	inet_ntop(AF_INET, ans.ext_ip, gw->external, sizeof(gw->external));
	return 0;
}

/* ---- any ---- */

int tund_portmap_io_discover(struct tund_portmap_gw *gw, unsigned timeout_ms, char *why,
			     size_t why_len)
{
	char pcp_why[160] = "", pmp_why[160] = "", upnp_why[160] = "";
	bool natpmp_only = false;
	in_addr_t router;

	memset(gw, 0, sizeof(*gw));
	if (pcp_discover(gw, timeout_ms, &natpmp_only, pcp_why, sizeof(pcp_why)) == 0)
		return 0;
	router = gw->gw_addr;
	memset(gw, 0, sizeof(*gw));
	/* A NAT-PMP server answered PCP already: it is there, so it gets a
	 * little longer than an unknown gateway. */
	if (natpmp_discover(gw, router, natpmp_only ? 2000 : timeout_ms, pmp_why,
			    sizeof(pmp_why)) == 0)
		return 0;
	memset(gw, 0, sizeof(*gw));
	if (upnp_discover(gw, timeout_ms, upnp_why, sizeof(upnp_why)) == 0)
		return 0;
	/* Every reason: any may be the one a person needs. */
	tund_why(why, why_len, "%s; %s; %s", pcp_why, pmp_why, upnp_why);
	memset(gw, 0, sizeof(*gw));
	return -ENOENT;
}

int tund_portmap_io_add(struct tund_portmap_gw *gw, uint16_t int_port, uint16_t ext_port,
			const uint8_t nonce[TUND_PCP_NONCE_LEN], unsigned lifetime_s,
			uint16_t *got_port, unsigned *got_lifetime, char *why, size_t why_len)
{
	natpmpresp_t resp;
	int ret;

	if (!ext_port)
		ext_port = int_port;
	switch (gw->proto) {
	case TUND_PORTMAP_PCP:
		return pcp_add(gw, int_port, ext_port, nonce, lifetime_s, got_port, got_lifetime,
			       why, why_len);
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
			   const uint8_t nonce[TUND_PCP_NONCE_LEN], char *why, size_t why_len)
{
	struct tund_pcp_map req;
	struct tund_pcp_answer ans;
	natpmpresp_t resp;
	char ext[8];
	int r;

	switch (gw->proto) {
	case TUND_PORTMAP_PCP:
		/* RFC 6887 15: the same nonce, protocol and port, lifetime 0. */
		pcp_request(&req, gw, int_port, ext_port, nonce, 0);
		return pcp_map(gw, &req, &ans, why, why_len);
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
