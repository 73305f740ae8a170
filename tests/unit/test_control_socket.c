// SPDX-License-Identifier: MIT
/* tund/control/control.c over a real Unix socket in a temporary directory, with the
 * command handler of a daemon built for the test. control.c attaches its
 * sources to the default main context (as the daemon runs it), which only
 * these tests iterate in this binary. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/control/control.h"
#include "tund/control/control_codec.h"

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			unit_iterate(false);
			continue;
		}
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Runs the main context until want lines (or EOF) arrived from fd, at most
 * 10 s; returns what came, *eof set when the server closed. */
static GString *read_lines(int fd, unsigned want, bool *eof)
{
	GString *got = g_string_new(NULL);
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	unsigned lines = 0;

	*eof = false;
	while (lines < want && !*eof && g_get_monotonic_time() < end) {
		char buf[4096];
		ssize_t n;

		unit_iterate(false);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			*eof = true;
		} else if (n > 0) {
			g_string_append_len(got, buf, n);
			lines = 0;
			for (size_t i = 0; i < got->len; i++)
				lines += got->str[i] == '\n';
		} else {
			g_usleep(1000);
		}
	}
	return got;
}

UNIT_TEST(control_socket_replies_line_by_line)
{
	struct fx f;
	fx_init(&f);
	struct tund_control *c = NULL;
	bool eof;

	CHECK(tund_control_open(f.d.cfg.control_socket, tund_commands_handle, &f.d, &c) == 0);
	if (!c)
		goto out;
	/* Group members may connect, nobody else. */
	CHECK((fx_mode(f.d.cfg.control_socket) & 0777) == 0660);
	int fd = connect_to(f.d.cfg.control_socket);
	CHECK(fd >= 0);
	/* Several requests in one write, CRLF, an empty line, and a request
	 * split across writes: one reply per request, in order. */
	const char *part1 = "{\"cmd\":\"status\"}\n{\"cmd\":\"nope\"}\r\n\n{\"cmd\":";
	CHECK(send_all(fd, part1, strlen(part1)));
	GString *got = read_lines(fd, 2, &eof);
	CHECK(send_all(fd, "\"peers\"}\n{oops\n", 15));
	GString *more = read_lines(fd, 2, &eof);
	g_string_append(got, more->str);
	g_string_free(more, TRUE);
	g_auto(GStrv) lines = g_strsplit(got->str, "\n", -1);
	CHECK(g_strv_length(lines) == 5 && !lines[4][0]);
	if (g_strv_length(lines) == 5) {
		CHECK(g_str_has_prefix(lines[0], "{\"ok\":true") && strstr(lines[0], "\"interface\""));
		CHECK(strstr(lines[1], "\"ok\":false") && strstr(lines[1], "unknown command \\\"nope\\\""));
		CHECK(g_str_has_prefix(lines[2], "{\"ok\":true") && strstr(lines[2], "\"peers\":[]"));
		CHECK(strstr(lines[3], "\"ok\":false") && strstr(lines[3], "malformed JSON"));
	} else {
		fprintf(stderr, "  got: %s\n", got->str);
	}
	/* The client is still served after errors. */
	CHECK(!eof);
	g_string_free(got, TRUE);
	close(fd);

	/* A second daemon on the same socket is refused; the first keeps it. */
	struct tund_control *c2 = NULL;
	CHECK(tund_control_open(f.d.cfg.control_socket, tund_commands_handle, &f.d, &c2) ==
	      -EADDRINUSE);
	CHECK(c2 == NULL);
	tund_control_close(c);
	CHECK(access(f.d.cfg.control_socket, F_OK) != 0);
out:
	fx_free(&f);
}

UNIT_TEST(control_socket_too_large_request_closes)
{
	struct fx f;
	fx_init(&f);
	struct tund_control *c = NULL;
	bool eof;

	CHECK(tund_control_open(f.d.cfg.control_socket, tund_commands_handle, &f.d, &c) == 0);
	if (!c)
		goto out;
	int fd = connect_to(f.d.cfg.control_socket);
	CHECK(fd >= 0);
	/* No newline within the limit: refused, then disconnected. */
	size_t big = TUND_CONTROL_MAX_REQUEST + 100;
	char *junk = g_malloc(big);
	memset(junk, 'a', big);
	CHECK(send_all(fd, junk, big));
	g_free(junk);
	GString *got = read_lines(fd, 2, &eof);
	CHECK(strstr(got->str, "request too large") != NULL);
	CHECK(strchr(got->str, '\n') == got->str + got->len - 1);
	CHECK(eof);
	g_string_free(got, TRUE);
	close(fd);
	tund_control_close(c);
out:
	fx_free(&f);
}

UNIT_TEST(control_socket_stale_file_replaced)
{
	struct fx f;
	fx_init(&f);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct tund_control *c = NULL;

	/* A socket file left by a crashed daemon: bound, never listened on. */
	g_strlcpy(sun.sun_path, f.d.cfg.control_socket, sizeof(sun.sun_path));
	int old = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(old >= 0 && bind(old, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(old);
	CHECK(access(f.d.cfg.control_socket, F_OK) == 0);
	CHECK(tund_control_open(f.d.cfg.control_socket, tund_commands_handle, &f.d, &c) == 0);
	int fd = c ? connect_to(f.d.cfg.control_socket) : -1;
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	tund_control_close(c);
	fx_free(&f);
}

/* A handler that answers "later" only through tund_control_reply. */
static uint64_t deferred_client;
static unsigned deferred_calls;

static char *deferring_handler(void *ctx, uint64_t client, const char *line, size_t len)
{
	(void)ctx;
	deferred_calls++;
	if (len == 5 && !memcmp(line, "later", 5)) {
		deferred_client = client;
		return NULL;
	}
	return tund_control_encode_error("now");
}

UNIT_TEST(control_socket_deferred_reply)
{
	struct fx f;
	fx_init(&f);
	struct tund_control *c = NULL;
	bool eof;

	deferred_client = 0;
	deferred_calls = 0;
	CHECK(tund_control_open(f.d.cfg.control_socket, deferring_handler, NULL, &c) == 0);
	if (!c)
		goto out;
	int fd = connect_to(f.d.cfg.control_socket);
	CHECK(send_all(fd, "later\n", 6));
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!deferred_client && g_get_monotonic_time() < end)
		unit_iterate(false);
	CHECK(deferred_client != 0);
	tund_control_reply(c, deferred_client, tund_control_encode_error("done later"));
	GString *got = read_lines(fd, 1, &eof);
	CHECK(strstr(got->str, "done later") && !eof);
	g_string_free(got, TRUE);
	/* A reply for a client that has gone is dropped (and freed). */
	CHECK(send_all(fd, "later\n", 6));
	deferred_client = 0;
	end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!deferred_client && g_get_monotonic_time() < end)
		unit_iterate(false);
	close(fd);
	/* Let the server see the hang-up. */
	for (int i = 0; i < 50; i++) {
		unit_iterate(false);
		g_usleep(1000);
	}
	tund_control_reply(c, deferred_client, tund_control_encode_error("too late"));
	tund_control_reply(c, 999999, tund_control_encode_error("nobody"));
	CHECK(deferred_calls == 2);
	tund_control_close(c);
out:
	fx_free(&f);
}

/* A handler whose deferred reply is ready before it returns (manual
 * signaling gathers synchronously when there is no STUN/TURN server). */
static struct tund_control *inline_server;

static char *inline_handler(void *ctx, uint64_t client, const char *line, size_t len)
{
	(void)ctx;
	(void)line;
	(void)len;
	tund_control_reply(inline_server, client, tund_control_encode_error("answered inline"));
	return NULL;
}

UNIT_TEST(control_socket_reply_from_inside_the_handler)
{
	struct fx f;
	fx_init(&f);
	bool eof;

	CHECK(tund_control_open(f.d.cfg.control_socket, inline_handler, NULL, &inline_server) == 0);
	if (!inline_server)
		goto out;
	for (int round = 0; round < 3; round++) {
		int fd = connect_to(f.d.cfg.control_socket);

		CHECK(send_all(fd, "x\nx\n", 4));
		GString *got = read_lines(fd, 2, &eof);
		CHECK(!strcmp(got->str, "{\"ok\":false,\"error\":\"answered inline\"}\n"
					"{\"ok\":false,\"error\":\"answered inline\"}\n"));
		g_string_free(got, TRUE);
		/* Hanging up must leave no watch behind on the freed client. */
		close(fd);
		for (int i = 0; i < 50; i++) {
			unit_iterate(false);
			g_usleep(1000);
		}
	}
	tund_control_close(inline_server);
	inline_server = NULL;
out:
	fx_free(&f);
}
