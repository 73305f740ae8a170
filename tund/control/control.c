// SPDX-License-Identifier: MIT
#include "tund/control/control.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tund/control/control_codec.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

enum {
	MAX_CLIENTS = 64,
	/* A client that sends half a request and stalls is dropped after this. */
	IDLE_TIMEOUT_S = 10,
	/* A reply the daemon owes (ping, netcheck, a blob) comes within this. */
	DEFERRED_TIMEOUT_S = 90,
	/* A client that does not read its replies is dropped past this backlog. */
	MAX_PENDING_OUTPUT = 1024 * 1024,
};

struct client {
	struct tund_control *server;
	int fd;
	guint io_watch;
	guint idle_timer;
	GString *in;
	GString *out;
	gboolean closing; /* close once out is flushed */
	uint64_t id;
	unsigned deferred; /* replies still owed to this client */
};

struct tund_control {
	char *path;
	int fd;
	guint accept_watch;
	guint accept_pause;
	GList *clients;
	tund_control_handler handler;
	void *ctx;
	uint64_t next_client_id;
	/* The client whose request the handler is running: a reply for it
	 * from inside the handler is only queued (client_io flushes and
	 * re-arms its watch after), and counts as the answer. */
	struct client *busy;
	bool busy_replied;
};

static void client_free(struct client *cl)
{
	struct tund_control *s = cl->server;

	if (cl->io_watch)
		tund_loop_source_remove(cl->io_watch);
	if (cl->idle_timer)
		tund_loop_source_remove(cl->idle_timer);
	close(cl->fd);
	g_string_free(cl->in, TRUE);
	g_string_free(cl->out, TRUE);
	s->clients = g_list_remove(s->clients, cl);
	g_free(cl);
}

static gboolean client_io(gint fd, GIOCondition cond, gpointer data);

static void client_watch(struct client *cl)
{
	GIOCondition cond = G_IO_HUP | G_IO_ERR;

	if (cl->io_watch)
		tund_loop_source_remove(cl->io_watch);
	if (!cl->closing)
		cond |= G_IO_IN;
	if (cl->out->len)
		cond |= G_IO_OUT;
	cl->io_watch = tund_loop_fd_add(cl->fd, cond, client_io, cl);
}

static gboolean client_idle(gpointer data)
{
	struct client *cl = data;

	cl->idle_timer = 0;
	log_debug("control: dropping an idle client");
	client_free(cl);
	return G_SOURCE_REMOVE;
}

static void client_touch(struct client *cl)
{
	if (cl->idle_timer)
		tund_loop_source_remove(cl->idle_timer);
	/* A longer limit while the client waits for a reply we owe it. */
	cl->idle_timer = tund_loop_timeout_add_seconds(cl->deferred ? DEFERRED_TIMEOUT_S : IDLE_TIMEOUT_S,
					       client_idle, cl);
}

/* Returns false when the client is gone. */
static bool client_flush(struct client *cl)
{
	while (cl->out->len) {
		ssize_t n = send(cl->fd, cl->out->str, cl->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			client_free(cl);
			return false;
		}
		g_string_erase(cl->out, 0, n);
	}
	if (cl->out->len > MAX_PENDING_OUTPUT) {
		log_warn("control: dropping a client that does not read its replies");
		client_free(cl);
		return false;
	}
	if (cl->closing && !cl->out->len) {
		client_free(cl);
		return false;
	}
	return true;
}

static void client_queue(struct client *cl, char *reply)
{
	g_string_append(cl->out, reply);
	g_free(reply);
}

static void client_process(struct client *cl)
{
	char *nl;

	while (!cl->closing && (nl = memchr(cl->in->str, '\n', cl->in->len))) {
		size_t len = (size_t)(nl - cl->in->str);

		if (len > TUND_CONTROL_MAX_REQUEST) {
			client_queue(cl, tund_control_encode_error("request too large"));
			cl->closing = TRUE;
			break;
		}
		if (len && nl[-1] == '\r')
			len--;
		if (len) {
			struct tund_control *s = cl->server;
			char *reply;

			s->busy = cl;
			s->busy_replied = false;
			reply = s->handler(s->ctx, cl->id, cl->in->str, len);
			s->busy = NULL;
			if (reply)
				client_queue(cl, reply);
			else if (!s->busy_replied)
				cl->deferred++;
		}
		g_string_erase(cl->in, 0, nl - cl->in->str + 1);
	}
	if (!cl->closing && cl->in->len > TUND_CONTROL_MAX_REQUEST) {
		client_queue(cl, tund_control_encode_error("request too large"));
		cl->closing = TRUE;
	}
}

static gboolean client_io(gint fd, GIOCondition cond, gpointer data)
{
	struct client *cl = data;
	char buf[16384];

	(void)fd;
	if (cond & G_IO_IN) {
		ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			cl->io_watch = 0;
			client_free(cl);
			return G_SOURCE_REMOVE;
		}
		if (n > 0) {
			g_string_append_len(cl->in, buf, n);
			client_process(cl);
			client_touch(cl);
		}
	} else if (cond & (G_IO_HUP | G_IO_ERR) && !(cond & G_IO_OUT)) {
		cl->io_watch = 0;
		client_free(cl);
		return G_SOURCE_REMOVE;
	}
	/* Re-arm from scratch: the wanted conditions depend on pending output. */
	cl->io_watch = 0;
	if (!client_flush(cl))
		return G_SOURCE_REMOVE;
	client_watch(cl);
	return G_SOURCE_REMOVE;
}

static gboolean accept_resume(gpointer data);

static gboolean server_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct tund_control *s = data;
	struct client *cl;
	int cfd;

	(void)cond;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: pause instead of spinning on a ready socket. */
			log_warn("control: accept: %s; pausing for 1 s", g_strerror(errno));
			s->accept_watch = 0;
			s->accept_pause = tund_loop_timeout_add_seconds(1, accept_resume, s);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	}
	if (g_list_length(s->clients) >= MAX_CLIENTS) {
		static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";

		if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control: could not tell a client we are busy");
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	cl = g_new0(struct client, 1);
	cl->server = s;
	cl->id = ++s->next_client_id;
	cl->fd = cfd;
	cl->in = g_string_new(NULL);
	cl->out = g_string_new(NULL);
	s->clients = g_list_prepend(s->clients, cl);
	client_touch(cl);
	client_watch(cl);
	return G_SOURCE_CONTINUE;
}

static gboolean accept_resume(gpointer data)
{
	struct tund_control *s = data;

	s->accept_pause = 0;
	s->accept_watch = tund_loop_fd_add(s->fd, G_IO_IN, server_accept, s);
	return G_SOURCE_REMOVE;
}

/* A socket file nobody accepts on is left over from a crash; a live one
 * means another tund owns this path. */
static int clear_stale(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	if (errno == ENOENT)
		return 0;
	if (errno != ECONNREFUSED)
		return -errno;
	return unlink(sun->sun_path) == 0 ? 0 : -errno;
}

int tund_control_open(const char *path, tund_control_handler handler, void *ctx,
		      struct tund_control **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	g_autofree char *dir = g_path_get_dirname(path);
	struct tund_control *s;
	mode_t old_mask;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	if (g_mkdir_with_parents(dir, 0755) != 0)
		return -errno;
	ret = clear_stale(&sun);
	if (ret)
		return ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* umask around bind so the file is never briefly world-writable. */
	old_mask = umask(0117);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (ret != 0 || chmod(path, 0660) != 0 || listen(fd, 16) != 0) {
		ret = -errno;
		close(fd);
		unlink(path);
		return ret;
	}
	s = g_new0(struct tund_control, 1);
	s->path = g_strdup(path);
	s->fd = fd;
	s->handler = handler;
	s->ctx = ctx;
	s->accept_watch = tund_loop_fd_add(fd, G_IO_IN, server_accept, s);
	*out = s;
	return 0;
}

void tund_control_reply(struct tund_control *s, uint64_t client, char *reply)
{
	for (GList *l = s->clients; l; l = l->next) {
		struct client *cl = l->data;

		if (cl->id != client)
			continue;
		if (cl == s->busy) {
			s->busy_replied = true;
			client_queue(cl, reply);
			return;
		}
		if (cl->deferred)
			cl->deferred--;
		client_queue(cl, reply);
		client_touch(cl);
		if (client_flush(cl))
			client_watch(cl);
		return;
	}
	g_free(reply);
}

void tund_control_close(struct tund_control *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s->clients->data);
	if (s->accept_watch)
		tund_loop_source_remove(s->accept_watch);
	if (s->accept_pause)
		tund_loop_source_remove(s->accept_pause);
	close(s->fd);
	unlink(s->path);
	g_free(s->path);
	g_free(s);
}
