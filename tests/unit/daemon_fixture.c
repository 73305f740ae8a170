// SPDX-License-Identifier: MIT
#include "tests/unit/daemon_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/keys.h"
#include "tests/unit/unit.h"
#include "tund/dataplane/dataplane.h"
#include "tund/connect/membership.h"
#include "tund/connect/invites.h"
#include "tund/connect/member_relay.h"
#include "tund/connect/path.h"

void fx_init(struct fx *f)
{
	struct tund_daemon *d = &f->d;

	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("tund-unit-XXXXXX", NULL);
	tund_config_init(&d->cfg);
	g_free(d->cfg.state_dir);
	d->cfg.state_dir = g_strdup(f->dir);
	g_free(d->cfg.control_socket);
	d->cfg.control_socket = g_build_filename(f->dir, "tund.sock", NULL);
	d->config_path = g_build_filename(f->dir, "tund.conf", NULL);
	tund_key_generate(d->private_key);
	tund_key_public(d->public_key, d->private_key);
	g_strlcpy(d->ifname, "tt-unit0", sizeof(d->ifname));
	d->tun_fd = -1;
	d->started_us = g_get_monotonic_time();
	d->listen_port = 51820;
	tund_peer_list_init(&d->peers);
	d->peers_path = g_build_filename(f->dir, "peers.json", NULL);
	d->networks = g_ptr_array_new();
	d->networks_path = g_build_filename(f->dir, "networks.json", NULL);
}

static void remove_tree(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;

	if (dir) {
		while ((name = g_dir_read_name(dir))) {
			g_autofree char *sub = g_build_filename(path, name, NULL);
			struct stat st;

			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
				chmod(sub, 0700);
				remove_tree(sub);
			} else {
				unlink(sub);
			}
		}
		g_dir_close(dir);
	}
	rmdir(path);
}

void fx_free(struct fx *f)
{
	struct tund_daemon *d = &f->d;

	tund_member_relay_stop(d);
	tund_networks_stop_all(d);
	if (d->pending_networks)
		g_ptr_array_unref(d->pending_networks);
	tund_peer_list_clear(&d->peers);
	tund_config_free(&d->cfg);
	g_free(d->config_path);
	g_free(d->peers_path);
	g_free(d->networks_path);
	tund_invites_free(d->invites);
	sodium_memzero(d->private_key, sizeof(d->private_key));
	if (f->dir)
		remove_tree(f->dir);
	g_free(f->dir);
	memset(f, 0, sizeof(*f));
}

char *fx_path(struct fx *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}

void fx_call(struct fx *f, const char *line, struct fx_reply *r)
{
	g_autoptr(JsonParser) p = json_parser_new();
	JsonNode *root;
	JsonObject *o;
	size_t len;

	memset(r, 0, sizeof(*r));
	r->line = tund_commands_handle(&f->d, 1, line, strlen(line));
	if (!r->line)
		return;
	len = strlen(r->line);
	/* One reply is one line: a newline at the end and nowhere else. */
	if (!len || r->line[len - 1] != '\n' || memchr(r->line, '\n', len - 1))
		return;
	if (!json_parser_load_from_data(p, r->line, (gssize)len, NULL))
		return;
	root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return;
	o = json_node_get_object(root);
	if (!json_object_has_member(o, "ok"))
		return;
	r->parsed = true;
	r->ok = json_object_get_boolean_member(o, "ok");
	if (r->ok && json_object_has_member(o, "result"))
		r->result = json_node_copy(json_object_get_member(o, "result"));
	if (!r->ok && json_object_has_member(o, "error"))
		r->error = g_strdup(json_object_get_string_member(o, "error"));
}

void fx_reply_clear(struct fx_reply *r)
{
	g_free(r->line);
	g_free(r->error);
	if (r->result)
		json_node_unref(r->result);
	memset(r, 0, sizeof(*r));
}

static JsonNode *result_member(const struct fx_reply *r, const char *name)
{
	if (!r->result || !JSON_NODE_HOLDS_OBJECT(r->result))
		return NULL;
	return json_object_get_member(json_node_get_object(r->result), name);
}

const char *fx_result_string(const struct fx_reply *r, const char *name)
{
	JsonNode *n = result_member(r, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

gint64 fx_result_int(const struct fx_reply *r, const char *name)
{
	JsonNode *n = result_member(r, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return -1;
	return json_node_get_int(n);
}

char *fx_read(const char *path, size_t *len)
{
	char *data = NULL;
	gsize n = 0;

	if (!g_file_get_contents(path, &data, &n, NULL))
		return NULL;
	if (len)
		*len = n;
	return data;
}

int fx_mode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

bool fx_write(const char *path, const char *data, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(data);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0;
	close(fd);
	return ok;
}

static int saved_stderr = -1;
static char capture_path[256];

void fx_capture_begin(void)
{
	int fd;

	g_snprintf(capture_path, sizeof(capture_path), "%s/tund-unit-log-XXXXXX", g_get_tmp_dir());
	fd = mkstemp(capture_path);
	if (fd < 0)
		return;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

char *fx_capture_end(void)
{
	char *text;

	if (saved_stderr < 0)
		return g_strdup("");
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	text = fx_read(capture_path, NULL);
	unlink(capture_path);
	/* Shown as well, so a failing test still has its log. */
	if (text)
		fputs(text, stderr);
	return text ? text : g_strdup("");
}

char *fx_socket_request(const char *path, const char *line, int seconds)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g_autofree char *req = g_strconcat(line, "\n", NULL);
	gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	GString *got = g_string_new(NULL);
	size_t off = 0, len = strlen(req);
	char *nl = NULL;

	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		goto out;
	while (!nl && g_get_monotonic_time() < end) {
		char buf[4096];
		ssize_t n;

		if (off < len) {
			n = send(fd, req + off, len - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (errno != EAGAIN)
				break;
		}
		unit_iterate(false);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {
			g_string_append_len(got, buf, n);
			nl = strchr(got->str, '\n');
		} else {
			g_usleep(1000);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (!nl) {
		g_string_free(got, TRUE);
		return NULL;
	}
	g_string_truncate(got, (gsize)(nl - got->str));
	return g_string_free(got, FALSE);
}

int fx_netns_enter(void)
{
	int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (old < 0)
		return -1;
	/* Per thread: the rest of the process (GLib's workers) stays put. */
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "  this test needs a network namespace of its own "
				"(root or CAP_SYS_ADMIN): %s\n", strerror(errno));
		close(old);
		return -1;
	}
	return old;
}

void fx_netns_leave(int old)
{
	if (old < 0)
		return;
	if (setns(old, CLONE_NEWNET) != 0)
		fprintf(stderr, "  cannot go back to the original network namespace: %s\n",
			strerror(errno));
	close(old);
}

bool fx_start_dataplane(struct fx *f, int tun[2])
{
	struct tund_dataplane_opts o = { .mtu = 1420, .light_on_one_thread = f->d.cfg.light_on_one_thread };

	tun[0] = tun[1] = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, tun) != 0)
		return false;
	o.tun_fd = tun[0];
	f->d.tun_fd = tun[0];
	if (tund_dataplane_start(&o, f->d.private_key, &f->d.dp) != 0)
		return false;
	f->d.listen_port = tund_dataplane_port(f->d.dp);
	return true;
}

void fx_stop_dataplane(struct fx *f, int tun[2])
{
	/* Paths first: their sessions are registered with the data plane. */
	for (guint i = 0; i < f->d.peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(f->d.peers.items, i);

		tund_path_free(p->path);
		p->path = NULL;
	}
	tund_dataplane_stop(f->d.dp);
	f->d.dp = NULL;
	/* The peers' handles went with it. */
	for (guint i = 0; i < f->d.peers.items->len; i++)
		((struct tund_peer *)g_ptr_array_index(f->d.peers.items, i))->wg_peer = NULL;
	for (int i = 0; i < 2; i++)
		if (tun[i] >= 0)
			close(tun[i]);
	f->d.tun_fd = -1;
}

size_t fx_ipv4_packet(uint8_t *p, const char *src, const char *dst, const char *payload)
{
	size_t plen = strlen(payload), len = 20 + plen;
	uint32_t sum = 0;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 253; /* experimental protocol: nothing parses the payload */
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
	memcpy(p + 20, payload, plen);
	return len;
}

bool fx_carried(int from_tun, int to_tun, const char *src, const char *dst, const char *payload,
		int seconds)
{
	uint8_t pkt[256], got[2048];
	size_t len = fx_ipv4_packet(pkt, src, dst, payload);
	gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		struct pollfd p = { .fd = to_tun, .events = POLLIN };

		if (send(from_tun, pkt, len, 0) != (ssize_t)len)
			return false;
		/* ICE paths live on the main loop: keep it running. */
		for (int i = 0; i < 20; i++) {
			unit_iterate(false);
			while (poll(&p, 1, 10) > 0) {
				ssize_t n = recv(to_tun, got, sizeof(got), 0);

				if (n == (ssize_t)len && !memcmp(got, pkt, len))
					return true;
			}
		}
	}
	return false;
}
