// SPDX-License-Identifier: MIT
#include "tund/connect/netcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "overlay/stun.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "overlay/control_proto.h"

/* Binding and Allocate retransmissions, in ms after the first send. */
static const unsigned retransmit_at[] = { 500, 1500 };

enum probe_kind { PROBE_STUN, PROBE_TURN, PROBE_BROKER };

struct netcheck;

struct probe {
	struct netcheck *nc;
	enum probe_kind kind;
	char *host;
	uint16_t port;
	bool tcp;
	char *label; /* url or server for the result */
	bool finished, resolving;
	int fd;
	guint io_watch, timer, retx_timer;
	unsigned retx;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	uint8_t txid[TUND_STUN_TXID_LEN];
	uint8_t out[64];
	size_t out_len, out_off;
	uint8_t in[2048];
	size_t in_len;
	bool reachable;
	char *error;
	/* STUN: stage 0 asks the primary address, stage 1 OTHER-ADDRESS. */
	int stage;
	bool got[2];
	struct sockaddr_storage mapped[2];
	bool has_other;
	struct sockaddr_storage other;
};

struct netcheck {
	unsigned timeout_ms;
	void (*done)(void *ctx, JsonNode *result);
	void *ctx;
	struct probe stun, broker;
	struct probe *turn;
	size_t n_turn;
	unsigned pending;   /* probes not finished */
	unsigned resolving; /* lookups still out: they hold the struct */
	bool reported, freeing;
};

static void probe_finish(struct probe *p, bool reachable, const char *error);

static char *format_addr(const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		return g_strdup_printf("%s:%u", ip, ntohs(s->sin_port));
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		return g_strdup_printf("[%s]:%u", ip, ntohs(s->sin6_port));
	}
	return g_strdup("?");
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in);
}

/* ---- result ---- */

static JsonNode *reach_object(const char *name_field, const struct probe *p, bool configured)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *n;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, name_field);
	if (configured)
		json_builder_add_string_value(b, p->label);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, TUND_KEY_REACHABLE);
	json_builder_add_boolean_value(b, configured && p->reachable);
	json_builder_set_member_name(b, TUND_KEY_ERROR);
	if (!configured)
		json_builder_add_string_value(b, "not configured");
	else if (p->error && !p->reachable)
		json_builder_add_string_value(b, p->error);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

static JsonNode *build_result(struct netcheck *nc)
{
	JsonObject *root = json_object_new(), *nat = json_object_new();
	JsonArray *pub = json_array_new(), *turn = json_array_new();
	const struct probe *s = &nc->stun;
	const char *mapping = "unknown";
	JsonNode *node;

	for (int i = 0; i < 2; i++) {
		if (!s->got[i] || (i == 1 && s->got[0] && same_addr(&s->mapped[0], &s->mapped[1])))
			continue;
		char *a = format_addr(&s->mapped[i]);

		json_array_add_string_element(pub, a);
		g_free(a);
	}
	if (s->got[0] && s->got[1])
		mapping = same_addr(&s->mapped[0], &s->mapped[1]) ? "endpoint-independent"
								  : "endpoint-dependent";
	json_object_set_string_member(nat, TUND_KEY_MAPPING, mapping);
	json_object_set_array_member(nat, TUND_KEY_PUBLIC, pub);
	json_object_set_string_member(nat, TUND_KEY_FILTERING, "unknown");
	json_object_set_object_member(root, TUND_KEY_NAT, nat);
	json_object_set_member(root, TUND_KEY_BROKER, reach_object("url", &nc->broker, nc->broker.label));
	json_object_set_member(root, TUND_KEY_STUN, reach_object("server", s, s->label));
	for (size_t i = 0; i < nc->n_turn; i++)
		json_array_add_element(turn, reach_object("url", &nc->turn[i], true));
	json_object_set_array_member(root, TUND_KEY_TURN, turn);
	node = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(node, root);
	return node;
}

static void probe_free(struct probe *p)
{
	g_free(p->host);
	g_free(p->label);
	g_free(p->error);
}

static gboolean netcheck_free(gpointer data)
{
	struct netcheck *nc = data;

	probe_free(&nc->stun);
	probe_free(&nc->broker);
	for (size_t i = 0; i < nc->n_turn; i++)
		probe_free(&nc->turn[i]);
	g_free(nc->turn);
	g_free(nc);
	return G_SOURCE_REMOVE;
}

/* Frees from the loop, never under a caller that may still look at a probe. */
static void netcheck_maybe_free(struct netcheck *nc)
{
	if (nc->pending || nc->resolving || nc->freeing)
		return;
	nc->freeing = true;
	tund_loop_idle_add(netcheck_free, nc);
}

/* ---- probes ---- */

static void probe_stop_io(struct probe *p)
{
	g_clear_handle_id(&p->io_watch, tund_loop_source_remove);
	g_clear_handle_id(&p->timer, tund_loop_source_remove);
	g_clear_handle_id(&p->retx_timer, tund_loop_source_remove);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static void probe_finish(struct probe *p, bool reachable, const char *error)
{
	struct netcheck *nc = p->nc;

	if (p->finished)
		return;
	p->finished = true;
	p->reachable = reachable;
	if (error && !p->error)
		p->error = g_strdup(error);
	probe_stop_io(p);
	log_debug("netcheck: %s %s%s%s", p->label, reachable ? "reachable" : "unreachable",
		  error ? ": " : "", error ? error : "");
	if (--nc->pending == 0 && !nc->reported) {
		nc->reported = true;
		nc->done(nc->ctx, build_result(nc));
	}
	netcheck_maybe_free(nc);
}

static void finish_errno(struct probe *p, int err)
{
	probe_finish(p, false, g_strerror(err));
}

static void stun_stage_result(struct probe *p);

static gboolean on_timeout(gpointer data)
{
	struct probe *p = data;
	char msg[64];

	p->timer = 0;
	if (p->kind == PROBE_STUN && p->stage == 1) {
		/* The primary answered: reachable, the mapping stays unknown. */
		stun_stage_result(p);
		return G_SOURCE_REMOVE;
	}
	snprintf(msg, sizeof(msg), "no answer within %u ms", p->nc->timeout_ms);
	probe_finish(p, false, msg);
	return G_SOURCE_REMOVE;
}

static bool udp_send(struct probe *p)
{
	ssize_t n = sendto(p->fd, p->out, p->out_len, MSG_NOSIGNAL, (struct sockaddr *)&p->dst,
			   p->dst_len);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		finish_errno(p, errno);
		return false;
	}
	return true;
}

static gboolean on_retransmit(gpointer data)
{
	struct probe *p = data;
	unsigned prev = retransmit_at[p->retx];

	p->retx_timer = 0;
	if (!udp_send(p))
		return G_SOURCE_REMOVE;
	if (++p->retx < G_N_ELEMENTS(retransmit_at))
		p->retx_timer = tund_loop_timeout_add(retransmit_at[p->retx] - prev, on_retransmit, p);
	return G_SOURCE_REMOVE;
}

/* Sends the request now and schedules its retransmissions and timeout. */
static void udp_start_request(struct probe *p)
{
	g_clear_handle_id(&p->timer, tund_loop_source_remove);
	g_clear_handle_id(&p->retx_timer, tund_loop_source_remove);
	p->retx = 0;
	p->timer = tund_loop_timeout_add(p->nc->timeout_ms, on_timeout, p);
	if (!udp_send(p))
		return;
	p->retx_timer = tund_loop_timeout_add(retransmit_at[0], on_retransmit, p);
}

static void stun_stage_result(struct probe *p)
{
	if (p->stage == 1 && !p->got[1] && !p->error)
		p->error = g_strdup("no answer from the server's OTHER-ADDRESS");
	probe_finish(p, true, NULL);
}

static void new_request(struct probe *p)
{
	randombytes_buf(p->txid, sizeof(p->txid));
	if (p->kind == PROBE_STUN)
		p->out_len = tund_stun_binding_create(p->out, sizeof(p->out), p->txid);
	else
		p->out_len = tund_stun_allocate_create(p->out, sizeof(p->out), p->txid);
	p->out_off = 0;
}

static void on_stun_message(struct probe *p, const uint8_t *buf, size_t len)
{
	struct tund_stun_msg m;

	if (!tund_stun_decode(&m, buf, len) || !tund_stun_is_response_to(&m, p->txid))
		return; /* late answers to an earlier stage, strays */
	if (p->kind == PROBE_TURN) {
		probe_finish(p, true, NULL);
		return;
	}
	if (!m.has_mapped) {
		if (p->stage == 0)
			probe_finish(p, false, m.has_error ? "error response to Binding"
							   : "Binding response without an address");
		else
			stun_stage_result(p);
		return;
	}
	p->got[p->stage] = true;
	p->mapped[p->stage] = m.mapped;
	if (p->stage == 1) {
		stun_stage_result(p);
		return;
	}
	p->has_other = m.has_other && m.other.ss_family == p->dst.ss_family;
	if (!p->has_other) {
		p->error = g_strdup("server gives no OTHER-ADDRESS (RFC 5780)");
		stun_stage_result(p);
		return;
	}
	/* Same socket, the server's other IP and port. */
	p->stage = 1;
	p->dst = m.other;
	p->dst_len = addr_len(&m.other);
	new_request(p);
	udp_start_request(p);
}

static gboolean on_udp_readable(int fd, GIOCondition cond, gpointer data)
{
	struct probe *p = data;

	(void)cond;
	for (;;) {
		ssize_t n = recv(fd, p->in, sizeof(p->in), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return G_SOURCE_CONTINUE;
			/* An ICMP error on a connected socket (TURN over UDP). */
			p->io_watch = 0;
			finish_errno(p, errno);
			return G_SOURCE_REMOVE;
		}
		on_stun_message(p, p->in, (size_t)n);
		if (p->finished) {
			return G_SOURCE_REMOVE; /* probe_stop_io cleared the watch id */
		}
	}
}

/* ---- TCP: TURN over TCP and the MQTT broker ---- */

static gboolean on_tcp_io(int fd, GIOCondition cond, gpointer data);

static void tcp_watch(struct probe *p, GIOCondition cond)
{
	g_clear_handle_id(&p->io_watch, tund_loop_source_remove);
	p->io_watch = tund_loop_fd_add(p->fd, cond, on_tcp_io, p);
}

static void mqtt_connect_packet(struct probe *p)
{
	static const uint8_t head[] = { 0x10, 28, 0x00, 0x04, 'M', 'Q', 'T', 'T',
					0x04, 0x02 /* clean session */, 0x00, 0x3c };
	uint8_t rnd[4];
	char id[17];

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(id, sizeof(id), "tund-nc-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	memcpy(p->out, head, sizeof(head));
	p->out[sizeof(head)] = 0;
	p->out[sizeof(head) + 1] = 16;
	memcpy(p->out + sizeof(head) + 2, id, 16);
	p->out_len = sizeof(head) + 2 + 16;
	p->out_off = 0;
}

static void on_tcp_data(struct probe *p)
{
	size_t frame;
	char msg[80];

	if (p->kind == PROBE_BROKER) {
		if (p->in_len < 1)
			return;
		if (p->in[0] != 0x20) {
			snprintf(msg, sizeof(msg), "not an MQTT CONNACK (first byte 0x%02x)", p->in[0]);
			probe_finish(p, false, msg);
			return;
		}
		if (p->in_len < 4)
			return;
		/* Polite DISCONNECT; a refusal code still proves the broker is there. */
		(void)send(p->fd, "\xe0\x00", 2, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (p->in[3] != 0) {
			snprintf(msg, sizeof(msg), "broker refused the session (CONNACK code %u)",
				 p->in[3]);
			p->error = g_strdup(msg);
		}
		probe_finish(p, true, NULL);
		return;
	}
	if (p->in_len < TUND_STUN_HEADER_LEN)
		return;
	frame = tund_stun_frame_len(p->in, p->in_len);
	if (!frame || frame > sizeof(p->in)) {
		probe_finish(p, false, "answer is not STUN");
		return;
	}
	if (p->in_len >= frame) {
		struct tund_stun_msg m;

		if (tund_stun_decode(&m, p->in, frame) && tund_stun_is_response_to(&m, p->txid))
			probe_finish(p, true, NULL);
		else
			probe_finish(p, false, "malformed STUN answer");
	}
}

static gboolean on_tcp_io(int fd, GIOCondition cond, gpointer data)
{
	struct probe *p = data;
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	(void)cond;
	if (p->out_off < p->out_len) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			p->io_watch = 0;
			finish_errno(p, err);
			return G_SOURCE_REMOVE;
		}
		n = send(fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			p->io_watch = 0;
			finish_errno(p, errno);
			return G_SOURCE_REMOVE;
		}
		if (n > 0)
			p->out_off += (size_t)n;
		if (p->out_off == p->out_len) {
			p->io_watch = 0;
			tcp_watch(p, G_IO_IN);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	}
	n = recv(fd, p->in + p->in_len, sizeof(p->in) - p->in_len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return G_SOURCE_CONTINUE;
		p->io_watch = 0;
		finish_errno(p, errno);
		return G_SOURCE_REMOVE;
	}
	if (n == 0) {
		p->io_watch = 0;
		probe_finish(p, false, "connection closed without an answer");
		return G_SOURCE_REMOVE;
	}
	p->in_len += (size_t)n;
	on_tcp_data(p);
	if (!p->finished && p->in_len == sizeof(p->in)) {
		p->io_watch = 0;
		probe_finish(p, false, "answer too long");
		return G_SOURCE_REMOVE;
	}
	if (p->finished)
		return G_SOURCE_REMOVE;
	return G_SOURCE_CONTINUE;
}

/* The destination is known: open the socket and send. */
static void probe_go(struct probe *p)
{
	bool stream = p->kind == PROBE_BROKER || p->tcp;
	int fd = socket(p->dst.ss_family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
						  SOCK_CLOEXEC, 0);

	if (fd < 0) {
		finish_errno(p, errno);
		return;
	}
	p->fd = fd;
	if (p->kind == PROBE_BROKER)
		mqtt_connect_packet(p);
	else
		new_request(p);
	if (stream) {
		if (connect(fd, (struct sockaddr *)&p->dst, p->dst_len) < 0 &&
		    errno != EINPROGRESS) {
			finish_errno(p, errno);
			return;
		}
		p->timer = tund_loop_timeout_add(p->nc->timeout_ms, on_timeout, p);
		tcp_watch(p, G_IO_OUT);
		return;
	}
	/* TURN over UDP talks to one address: connect it so that an ICMP
	 * port unreachable shows up as ECONNREFUSED. The STUN probe must
	 * stay unconnected to reach OTHER-ADDRESS from the same port. */
	if (p->kind == PROBE_TURN && connect(fd, (struct sockaddr *)&p->dst, p->dst_len) < 0) {
		finish_errno(p, errno);
		return;
	}
	p->io_watch = tund_loop_fd_add(fd, G_IO_IN, on_udp_readable, p);
	udp_start_request(p);
}

static void on_resolved(GObject *src, GAsyncResult *res, gpointer data)
{
	struct probe *p = data;
	struct netcheck *nc = p->nc;
	GError *err = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, &err);

	/* nc->resolving still holds nc through whatever finishes below. */
	p->resolving = false;
	if (p->finished) {
		/* Timed out meanwhile. */
	} else if (!addrs) {
		char *msg = g_strdup_printf("cannot resolve %s: %s", p->host,
					    err ? err->message : "no address");

		probe_finish(p, false, msg);
		g_free(msg);
	} else {
		GSocketAddress *sa = g_inet_socket_address_new(addrs->data, p->port);

		g_clear_handle_id(&p->timer, tund_loop_source_remove);
		p->dst_len = (socklen_t)g_socket_address_get_native_size(sa);
		if (!g_socket_address_to_native(sa, &p->dst, sizeof(p->dst), NULL))
			probe_finish(p, false, "unusable address");
		else
			probe_go(p);
		g_object_unref(sa);
	}
	if (addrs)
		g_resolver_free_addresses(addrs);
	if (err)
		g_error_free(err);
	nc->resolving--;
	netcheck_maybe_free(nc);
}

static void probe_start(struct netcheck *nc, struct probe *p)
{
	GResolver *r;

	p->nc = nc;
	p->fd = -1;
	nc->pending++;
	if (!p->host) {
		probe_finish(p, false, p->error ? p->error : "bad address");
		return;
	}
	/* The lookup counts against the step's timeout too. */
	p->timer = tund_loop_timeout_add(nc->timeout_ms, on_timeout, p);
	p->resolving = true;
	nc->resolving++;
	r = g_resolver_get_default();
	g_resolver_lookup_by_name_async(r, p->host, NULL, on_resolved, p);
	g_object_unref(r);
}

static gboolean report_idle(gpointer data)
{
	struct netcheck *nc = data;

	nc->pending = 0;
	nc->reported = true;
	nc->done(nc->ctx, build_result(nc));
	netcheck_maybe_free(nc);
	return G_SOURCE_REMOVE;
}

void tund_netcheck_run(const struct tund_netcheck_config *cfg,
		       void (*done)(void *ctx, JsonNode *result), void *ctx)
{
	struct netcheck *nc = g_new0(struct netcheck, 1);

	nc->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : TUND_NETCHECK_DEFAULT_TIMEOUT_MS;
	nc->done = done;
	nc->ctx = ctx;
	nc->stun.kind = PROBE_STUN;
	nc->broker.kind = PROBE_BROKER;
	nc->turn = g_new0(struct probe, cfg->n_turn ? cfg->n_turn : 1);
	nc->n_turn = cfg->n_turn;
	/* Keep the count above zero until every probe has started, so that
	 * one failing at once cannot report early. */
	nc->pending = 1;

	if (cfg->stun) {
		char label[300];

		tund_format_stun(cfg->stun, label, sizeof(label));
		nc->stun.label = g_strdup(label);
		nc->stun.host = g_strdup(cfg->stun->host);
		nc->stun.port = cfg->stun->port;
		probe_start(nc, &nc->stun);
	}
	if (cfg->broker) {
		struct tund_broker br;

		nc->broker.label = g_strdup(cfg->broker);
		if (tund_parse_broker_url(cfg->broker, &br, NULL) && !br.tls) {
			nc->broker.host = g_strdup(br.host);
			nc->broker.port = br.port;
		} else {
			nc->broker.error = g_strdup("not mqtt://HOST:PORT");
		}
		probe_start(nc, &nc->broker);
	}
	for (size_t i = 0; i < cfg->n_turn; i++) {
		const struct tund_turn_server *t = &cfg->turn[i];
		struct probe *p = &nc->turn[i];
		char label[600];

		p->kind = PROBE_TURN;
		p->tcp = t->tcp;
		p->host = t->host[0] && t->port ? g_strdup(t->host) : NULL;
		p->port = t->port;
		tund_format_turn_url(t, TUND_TURN_NO_CREDS, label, sizeof(label));
		p->label = g_strdup(label);
		probe_start(nc, p);
	}
	if (--nc->pending == 0) {
		/* Nothing to wait for (none configured, or all failed at once):
		 * report from the loop, never from inside this call. */
		nc->pending = 1;
		tund_loop_idle_add(report_idle, nc);
	}
}
