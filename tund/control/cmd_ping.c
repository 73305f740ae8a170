// SPDX-License-Identifier: MIT
/* tundctl ping: ICMP echo to a peer's overlay address, through the tunnel,
 * answered when the last reply or the timeout arrives. One raw ICMP socket,
 * opened at start (before tund gives up root, so CAP_NET_RAW need not be
 * kept), serves every ping; replies go to the ping whose ident they carry. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "tund/control/commands.h"
#include "tund/control/control.h"
#include "tund/control/control_codec.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/connect/path.h"
#include "overlay/control_proto.h"

enum { PING_INTERVAL_MS = 500, PING_WAIT_MS = 3000, PING_MAX = 20 };

struct ping {
	struct tund_daemon *d;
	uint64_t client;
	uint8_t peer_key[32];
	struct in_addr dst;
	int fd;
	bool shared; /* fd is the shared socket */
	uint16_t ident;
	unsigned count, sent, received;
	gint64 sent_at[PING_MAX];
	double rtt_ms[PING_MAX];
	guint io, send_timer, done_timer;
};

static int shared_fd = -1;
static guint shared_io;
static GHashTable *by_ident; /* ident -> struct ping *, pings on shared_fd */

int tund_ping_open_socket(void)
{
	if (shared_fd >= 0)
		return 0;
	shared_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
	if (shared_fd < 0)
		return -errno;
	by_ident = g_hash_table_new(NULL, NULL);
	return 0;
}

static uint16_t checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void finish(struct ping *pg)
{
	struct tund_daemon *d = pg->d;
	struct tund_peer *p = tund_peer_list_find_key(&d->peers, pg->peer_key);
	g_autoptr(JsonBuilder) b = json_builder_new();
	char addr[INET_ADDRSTRLEN], key[TUND_KEY_B64_LEN + 1];
	const char *kind = p && p->path ? tund_path_kind(p->path) : NULL;

	if (pg->io)
		tund_loop_source_remove(pg->io);
	if (pg->send_timer)
		tund_loop_source_remove(pg->send_timer);
	if (pg->done_timer)
		tund_loop_source_remove(pg->done_timer);
	if (pg->shared)
		g_hash_table_remove(by_ident, GUINT_TO_POINTER(pg->ident));
	else
		close(pg->fd);
	inet_ntop(AF_INET, &pg->dst, addr, sizeof(addr));
	tund_key_encode(key, pg->peer_key);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_PEER);
	json_builder_add_string_value(b, p && p->name ? p->name : key);
	json_builder_set_member_name(b, TUND_KEY_ADDRESS);
	json_builder_add_string_value(b, addr);
	json_builder_set_member_name(b, TUND_KEY_PATH);
	/* A static peer's path is its UDP endpoint: direct. */
	json_builder_add_string_value(b, kind ? kind : p && p->endpoint ? "direct" : "unknown");
	json_builder_set_member_name(b, TUND_KEY_SENT);
	json_builder_add_int_value(b, pg->sent);
	json_builder_set_member_name(b, TUND_KEY_RECEIVED);
	json_builder_add_int_value(b, pg->received);
	json_builder_set_member_name(b, TUND_KEY_RTT_MS);
	json_builder_begin_array(b);
	for (unsigned i = 0; i < pg->count; i++)
		if (pg->rtt_ms[i] >= 0)
			json_builder_add_double_value(b, pg->rtt_ms[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	tund_control_reply(d->control, pg->client, tund_control_encode_ok(json_builder_get_root(b)));
	g_free(pg);
}

static gboolean done_fire(gpointer data)
{
	struct ping *pg = data;

	pg->done_timer = 0;
	finish(pg);
	return G_SOURCE_REMOVE;
}

static gboolean send_one(gpointer data)
{
	struct ping *pg = data;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = pg->dst };
	uint8_t pkt[64] = { 0 };
	struct icmphdr *h = (struct icmphdr *)pkt;

	h->type = ICMP_ECHO;
	h->un.echo.id = htons(pg->ident);
	h->un.echo.sequence = htons((uint16_t)pg->sent);
	h->checksum = checksum(pkt, sizeof(pkt));
	pg->sent_at[pg->sent] = g_get_monotonic_time();
	if (sendto(pg->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		pg->sent_at[pg->sent] = 0;
	pg->sent++;
	if (pg->sent < pg->count)
		return G_SOURCE_CONTINUE;
	pg->send_timer = 0;
	pg->done_timer = tund_loop_timeout_add(PING_WAIT_MS, done_fire, pg);
	return G_SOURCE_REMOVE;
}

/* One ICMP datagram from a raw socket: true if it answered pg. */
static bool take_reply(struct ping *pg, const uint8_t *buf, size_t n,
		       const struct sockaddr_in *from)
{
	const struct iphdr *ip = (const struct iphdr *)buf;
	size_t hl;
	const struct icmphdr *h;
	unsigned seq;

	if (n < sizeof(*ip))
		return false;
	hl = (size_t)ip->ihl * 4;
	if (n < hl + sizeof(*h) || from->sin_addr.s_addr != pg->dst.s_addr)
		return false;
	h = (const struct icmphdr *)(buf + hl);
	seq = ntohs(h->un.echo.sequence);
	if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.id) != pg->ident || seq >= pg->sent ||
	    !pg->sent_at[seq] || pg->rtt_ms[seq] >= 0)
		return false;
	pg->rtt_ms[seq] = (double)(g_get_monotonic_time() - pg->sent_at[seq]) / 1000.0;
	pg->received++;
	return true;
}

/* The ident an ICMP datagram carries, or -1. */
static int reply_ident(const uint8_t *buf, size_t n)
{
	const struct iphdr *ip = (const struct iphdr *)buf;
	size_t hl;

	if (n < sizeof(*ip))
		return -1;
	hl = (size_t)ip->ihl * 4;
	if (n < hl + sizeof(struct icmphdr))
		return -1;
	return ntohs(((const struct icmphdr *)(buf + hl))->un.echo.id);
}

static gboolean on_shared(gint fd, GIOCondition cond, gpointer data)
{
	uint8_t buf[1500];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	(void)cond;
	(void)data;
	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen)) >
	       0) {
		int ident = reply_ident(buf, (size_t)n);
		struct ping *pg = ident < 0 ? NULL :
				  g_hash_table_lookup(by_ident, GUINT_TO_POINTER(ident));

		flen = sizeof(from);
		if (pg && take_reply(pg, buf, (size_t)n, &from) && pg->received == pg->count)
			finish(pg);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_reply(gint fd, GIOCondition cond, gpointer data)
{
	struct ping *pg = data;
	uint8_t buf[1500];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	(void)cond;
	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen)) >
	       0) {
		take_reply(pg, buf, (size_t)n, &from);
		flen = sizeof(from);
	}
	if (pg->received == pg->count) {
		pg->io = 0;
		finish(pg);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

int tund_cmd_ping(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		  size_t why_len)
{
	const char *which = tund_req_string(req, TUND_KEY_PEER);
	struct tund_peer *p = which ? tund_peer_list_find(&d->peers, which) : NULL;
	gint64 count = json_object_get_int_member_with_default(req, TUND_KEY_COUNT, 3);
	struct ping *pg;
	bool found = false;
	int e;

	(void)out; /* answered by finish() */
	if (!p) {
		tund_why(why, why_len, "no such peer: %s", which ? which : "(none given)");
		return -ENOENT;
	}
	if (count < 1 || count > PING_MAX) {
		tund_why(why, why_len, "count: 1 to %d", PING_MAX);
		return -EINVAL;
	}
	pg = g_new0(struct ping, 1);
	for (guint i = 0; i < p->allowed_ips->len && !found; i++) {
		struct tund_cidr *c = &g_array_index(p->allowed_ips, struct tund_cidr, i);

		if (c->family == AF_INET && c->prefix == 32) {
			memcpy(&pg->dst, c->addr, 4);
			found = true;
		}
	}
	if (!found) {
		g_free(pg);
		tund_why(why, why_len,
			 "the peer has no IPv4 overlay address (a /32 in its allowed IPs)");
		return -EADDRNOTAVAIL;
	}
	pg->shared = shared_fd >= 0;
	pg->fd = pg->shared ? shared_fd :
			      socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
	if (pg->fd < 0) {
		e = errno;
		tund_why(why, why_len, "cannot open an ICMP socket: %s", g_strerror(e));
		g_free(pg);
		return -e;
	}
	pg->d = d;
	pg->client = d->current_client;
	memcpy(pg->peer_key, p->public_key, 32);
	pg->count = (unsigned)count;
	do
		pg->ident = (uint16_t)randombytes_uniform(65536);
	while (pg->shared && g_hash_table_contains(by_ident, GUINT_TO_POINTER(pg->ident)));
	for (unsigned i = 0; i < PING_MAX; i++)
		pg->rtt_ms[i] = -1;
	if (pg->shared) {
		g_hash_table_insert(by_ident, GUINT_TO_POINTER(pg->ident), pg);
		if (!shared_io)
			shared_io = tund_loop_fd_add(shared_fd, G_IO_IN, on_shared, NULL);
	} else {
		pg->io = tund_loop_fd_add(pg->fd, G_IO_IN, on_reply, pg);
	}
	/* With one request, send_one arms the done timer itself. */
	send_one(pg);
	if (pg->count > 1)
		pg->send_timer = tund_loop_timeout_add(PING_INTERVAL_MS, send_one, pg);
	return 0; /* answered by finish() */
}
