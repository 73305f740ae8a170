// SPDX-License-Identifier: MIT
#include "tund/connect/addrwatch.h"

#include <errno.h>
#include <glib-unix.h>
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
	bool removed;
	tund_addrwatch_fn cb;
	void *ctx;
};

static gboolean settled(gpointer data)
{
	struct tund_addrwatch *w = data;
	bool removed = w->removed;

	w->timer = 0;
	w->removed = false;
	w->cb(w->ctx, removed);
	return G_SOURCE_REMOVE;
}

static void changed(struct tund_addrwatch *w, bool removed)
{
	w->removed |= removed;
	if (w->timer)
		tund_loop_source_remove(w->timer);
	w->timer = tund_loop_timeout_add(SETTLE_MS, settled, w);
}

static void on_event(void *ctx, const struct tund_nl_event *ev)
{
	struct tund_addrwatch *w = ctx;

	if (ev->kind == TUND_NL_LOST) {
		changed(w, true); /* events were lost: assume the worst */
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
	changed(w, ev->kind == TUND_NL_ADDR_DEL);
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
