// SPDX-License-Identifier: MIT
#include "ctl/client.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/format.h"
#include "overlay/control_proto.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TUND_CLIENT_TIMEOUT_MS / 1000 };
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Bounds a connect() that waits on a full backlog, and every send. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	} while (ret == -EINTR);
	if (ret == -EAGAIN)
		ret = -ETIMEDOUT;
out:
	if (ret)
		close(fd);
	else
		*out = fd;
	return ret;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to and including the first '\n' (dropped) or EOF into line. */
static int read_line(int fd, int64_t deadline, GString *line)
{
	char chunk[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		char *nl;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return line->len ? 0 : -ECONNRESET;
		nl = memchr(chunk, '\n', (size_t)n);
		g_string_append_len(line, chunk, nl ? nl - chunk : n);
		if (line->len > TUND_CLIENT_MAX_REPLY)
			return -EMSGSIZE;
		if (nl)
			return 0;
	}
}

int tund_client_call(const char *path, JsonObject *request, JsonNode **result, char *why,
		     size_t why_len)
{
	return tund_client_call_timeout(path, request, result, why, why_len,
					TUND_CLIENT_TIMEOUT_MS);
}

int tund_client_call_timeout(const char *path, JsonObject *request, JsonNode **result,
			     char *why, size_t why_len, int timeout_ms)
{
	JsonGenerator *gen = json_generator_new();
	JsonNode *root = NULL;
	GString *line = g_string_new(NULL);
	gchar *text = NULL;
	gsize text_len = 0;
	int fd = -1, ret;

	*result = NULL;
	ret = connect_to(path, &fd);
	if (ret) {
		snprintf(why, why_len, "cannot reach tund at %s: %s", path, g_strerror(-ret));
		goto out;
	}

	root = json_node_init_object(json_node_alloc(), request);
	json_generator_set_root(gen, root);
	/* Compact output has no raw newlines: strings escape theirs. */
	text = json_generator_to_data(gen, &text_len);
	ret = send_all(fd, text, text_len);
	if (!ret)
		ret = send_all(fd, "\n", 1);
	if (ret) {
		snprintf(why, why_len, "lost connection to tund at %s: %s", path, g_strerror(-ret));
		goto out;
	}

	ret = read_line(fd, now_ms() + timeout_ms, line);
	if (ret == -ETIMEDOUT)
		snprintf(why, why_len, "no reply from tund at %s within %d s", path,
			 timeout_ms / 1000);
	else if (ret == -EMSGSIZE)
		snprintf(why, why_len, "reply from tund exceeds %u bytes", TUND_CLIENT_MAX_REPLY);
	else if (ret == -ECONNRESET)
		snprintf(why, why_len, "tund at %s closed the connection without replying", path);
	else if (ret)
		snprintf(why, why_len, "reading from tund at %s: %s", path, g_strerror(-ret));
	if (ret)
		goto out;

	ret = tund_client_parse_reply(line->str, line->len, result, why, why_len);
out:
	/* The request may carry a preshared key. */
	if (text)
		sodium_memzero(text, text_len);
	g_free(text);
	if (fd >= 0)
		close(fd);
	g_string_free(line, TRUE);
	if (root)
		json_node_unref(root);
	g_object_unref(gen);
	return ret;
}

int tund_client_parse_reply(const char *text, size_t len, JsonNode **result, char *why,
			    size_t why_len)
{
	JsonParser *parser = json_parser_new();
	GError *err = NULL;
	JsonObject *obj;
	JsonNode *root, *ok, *res;
	g_autofree char *clean = NULL;
	int ret = -EPROTO;

	*result = NULL;
	if (memchr(text, '\0', len)) {
		snprintf(why, why_len, "malformed reply from tund: NUL byte");
		goto out;
	}
	if (!json_parser_load_from_data(parser, text, (gssize)len, &err)) {
		clean = tund_format_sanitize(err->message);
		snprintf(why, why_len, "malformed reply from tund: %s", clean);
		goto out;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		snprintf(why, why_len, "malformed reply from tund: not a JSON object");
		goto out;
	}
	obj = json_node_get_object(root);
	ok = json_object_get_member(obj, TUND_KEY_OK);
	if (!ok || !JSON_NODE_HOLDS_VALUE(ok) || json_node_get_value_type(ok) != G_TYPE_BOOLEAN) {
		snprintf(why, why_len, "malformed reply from tund: no \"ok\" member");
		goto out;
	}
	if (!json_node_get_boolean(ok)) {
		const char *msg = tund_client_get_string(obj, TUND_KEY_ERROR);

		clean = tund_format_sanitize(msg && *msg ? msg : "tund reported an unnamed error");
		snprintf(why, why_len, "%s", clean);
		ret = -EREMOTEIO;
		goto out;
	}
	res = json_object_get_member(obj, TUND_KEY_RESULT);
	if (res && !JSON_NODE_HOLDS_NULL(res)) {
		*result = json_node_copy(res);
	} else {
		*result = json_node_new(JSON_NODE_OBJECT);
		json_node_take_object(*result, json_object_new());
	}
	ret = 0;
out:
	if (err)
		g_error_free(err);
	g_object_unref(parser);
	return ret;
}

const char *tund_client_get_string(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

bool tund_client_get_int(JsonObject *o, const char *name, int64_t *out)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	double d;

	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return false;
	switch (json_node_get_value_type(n)) {
	case G_TYPE_INT64:
		*out = json_node_get_int(n);
		return true;
	case G_TYPE_DOUBLE:
		/* "uptime": 192.0 from a daemon that counts in floats. */
		d = json_node_get_double(n);
		if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
			return false;
		*out = (int64_t)d;
		return true;
	default:
		return false;
	}
}

bool tund_client_has_null(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_NULL(n);
}
