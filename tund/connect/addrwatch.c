// SPDX-License-Identifier: MIT
#include "tund/connect/addrwatch.h"

#include <errno.h>
#include <glib-unix.h>
#include <arpa/inet.h>
#include <glib.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tund/connect/netwatch.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

enum {
	/* A move is several events (old address gone, new one, routes): one
	 * report for all of them. */
	SETTLE_MS = 300,
};

struct tund_addrwatch {
	guint timer;
	int exclude;
	struct tund_addrwatch_change ch; /* collected until the report */
	tund_addrwatch_fn cb;
	void *ctx;
};

static gboolean settled(gpointer data)
{
	struct tund_addrwatch *w = data;
	struct tund_addrwatch_change ch = w->ch;

	w->timer = 0;
	memset(&w->ch, 0, sizeof(w->ch));
	w->cb(w->ctx, &ch);
	return G_SOURCE_REMOVE;
}

/* Adds the removed address of ev (NULL: events were lost) to the report. */
static void note_removed(struct tund_addrwatch_change *ch, const struct tund_nl_event *ev)
{
	char ip[INET6_ADDRSTRLEN];

	ch->removed = true;
	if (!ev || !ev->addr_len ||
	    !inet_ntop(ev->family, ev->addr, ip, sizeof(ip))) {
		ch->unknown = true;
		return;
	}
	for (unsigned i = 0; i < ch->n_removed; i++)
		if (!strcmp(ch->removed_ip[i], ip))
			return;
	if (ch->n_removed == TUND_ADDRWATCH_MAX_REMOVED) {
		ch->unknown = true;
		return;
	}
	g_strlcpy(ch->removed_ip[ch->n_removed++], ip, sizeof(ch->removed_ip[0]));
}

static void changed(struct tund_addrwatch *w)
{
	if (w->timer)
		tund_loop_source_remove(w->timer);
	w->timer = tund_loop_timeout_add(SETTLE_MS, settled, w);
}

static void on_event(void *ctx, const struct tund_nl_event *ev)
{
	struct tund_addrwatch *w = ctx;

	if (ev->kind == TUND_NL_LOST) {
		note_removed(&w->ch, NULL); /* events were lost: assume the worst */
		changed(w);
		return;
	}
	if (ev->kind != TUND_NL_ADDR_NEW && ev->kind != TUND_NL_ADDR_DEL)
		return;
	/* Loopback is host scope, IPv6 link-local is link scope: ICE uses neither. */
	if (ev->ifindex == w->exclude || ev->scope >= RT_SCOPE_LINK)
		return;
	/* IPv6 privacy addresses come and go every few hours; renewing every
	 * path each time would cost more than the rare path that used one
	 * (consent loss catches that within about 10 s). */
	if (ev->family == AF_INET6 && (ev->flags & IFA_F_TEMPORARY))
		return;
	if (ev->kind == TUND_NL_ADDR_DEL)
		note_removed(&w->ch, ev);
	changed(w);
}

int tund_addrwatch_new(int exclude_ifindex, tund_addrwatch_fn cb, void *ctx,
		       struct tund_addrwatch **out, char *why, size_t why_len)
{
	struct tund_addrwatch *w = g_new0(struct tund_addrwatch, 1);
	int ret;

	*out = NULL;
	w->exclude = exclude_ifindex;
	w->cb = cb;
	w->ctx = ctx;
	ret = tund_netwatch_subscribe(on_event, w);
	if (ret) {
		tund_why(why, why_len, "rtnetlink: %s", g_strerror(-ret));
		g_free(w);
		return ret;
	}
	*out = w;
	return 0;
}

void tund_addrwatch_free(struct tund_addrwatch *w)
{
	if (!w)
		return;
	tund_netwatch_unsubscribe(on_event, w);
	if (w->timer)
		tund_loop_source_remove(w->timer);
	g_free(w);
}

bool tund_addrwatch_is_local(const void *addr, unsigned len)
{
	const struct sockaddr *sa = addr;
	struct sockaddr_storage ss = { 0 };
	int fd, rc;

	if (len > sizeof(ss) || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return true; /* nothing to check: keep what works */
	memcpy(&ss, addr, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	rc = bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
	close(fd);
	return rc != EADDRNOTAVAIL;
}

/* ip as a socket address (port 0); its length, or 0 if it is no address. */
static unsigned parse_ip(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return sizeof(*sin6);
	}
	return 0;
}

bool tund_addrwatch_gone(const struct tund_addrwatch_change *ch, const char *ip)
{
	struct sockaddr_storage want, other;
	unsigned len;
	bool listed = ch->unknown;

	if (!ch->removed || !ip || !(len = parse_ip(ip, &want)))
		return false;
	/* Compared as addresses: one IPv6 address has several spellings. */
	for (unsigned i = 0; i < ch->n_removed && !listed; i++)
		listed = parse_ip(ch->removed_ip[i], &other) == len && !memcmp(&want, &other, len);
	return listed && !tund_addrwatch_is_local(&want, len);
}
