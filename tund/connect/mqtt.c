// SPDX-License-Identifier: MIT
#include "tund/connect/mqtt.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "overlay/servers.h"
#include "tund/connect/addrwatch.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"

enum {
	KEEPALIVE_S = 15,
	CONNECT_TIMEOUT_MS = 5000,
	BACKOFF_BASE_MS = 1000,
	BACKOFF_MAX_MS = 30000,
	MISC_INTERVAL_MS = 1000,
	MAX_HOST = 253,
	/* MQTT's remaining-length limit less room for the topic. */
	MAX_PAYLOAD = 268435455 - 65536 - 4,
};

enum state {
	ST_WAIT,       /* backoff timer running (or about to be) */
	ST_RESOLVING,  /* GResolver lookup in flight */
	ST_CONNECTING, /* TCP connect / CONNECT sent, no CONNACK yet */
	ST_CONNECTED,  /* CONNACK accepted */
};

struct tund_mqtt {
	struct mosquitto *mosq;
	char *host;
	uint16_t port;
	char *client_id;
	char *via; /* " (via ADDR)" when host is a name, for the log */
	struct tund_mqtt_callbacks cb;
	void *ctx;

	enum state state;
	unsigned failures; /* consecutive failed attempts, for the backoff */
	char *refused;     /* CONNACK refusal text for the failing attempt */

	GHashTable *subs;    /* filter -> NULL */
	GHashTable *pending; /* topic -> GBytes: retained, not yet sent */

	guint io_watch;
	int watch_fd;
	GIOCondition watch_cond;
	guint misc_timer;
	guint attempt_timer; /* connect timeout */
	guint retry_timer;
	GCancellable *resolving;

	struct tund_mqtt_stats stats;
	bool freeing;
	uint32_t max_packet; /* asked of the broker (MQTT v5); 0: v3.1.1 */
};

/* ---- pure helpers ---- */

int tund_mqtt_parse_url(const char *url, char **host, uint16_t *port, char *why, size_t why_len)
{
	struct tund_broker br;
	const char *bad = NULL;

	*host = NULL;
	if (!tund_parse_broker_url(url, &br, &bad)) {
		tund_why(why, why_len, "%s", bad);
		return -EINVAL;
	}
	if (br.tls) {
		tund_why(why, why_len, "mqtts:// (TLS) is not supported, use mqtt://");
		return -EINVAL;
	}
	if (strlen(br.host) > MAX_HOST) {
		tund_why(why, why_len, "broker URL: overlong host");
		return -EINVAL;
	}
	*host = g_strdup(br.host);
	*port = br.port;
	return 0;
}

unsigned tund_mqtt_backoff_ms(unsigned failures, double rnd)
{
	unsigned ms = BACKOFF_BASE_MS;

	for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	if (rnd < 0 || rnd >= 1)
		rnd = 0;
	/* Jitter only shortens, so the cap stays a cap and clients that lost
	 * the same broker at once spread out. */
	return ms - (unsigned)(ms * 0.2 * rnd);
}

/* ---- glue ---- */

static int mosq_errno(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return 0;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_MALFORMED_UTF8:
		return -EINVAL;
	case MOSQ_ERR_NOMEM:
		return -ENOMEM;
	case MOSQ_ERR_NO_CONN:
	case MOSQ_ERR_CONN_LOST:
		return -ENOTCONN;
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return -EMSGSIZE;
	case MOSQ_ERR_ERRNO:
		return errno ? -errno : -EIO;
	default:
		return -EIO;
	}
}

static const char *mosq_why(int rc, int saved_errno)
{
	switch (rc) {
	case MOSQ_ERR_CONN_LOST:
		return "connection closed by broker";
	case MOSQ_ERR_KEEPALIVE:
		return "no answer from broker within keepalive";
	case MOSQ_ERR_ERRNO:
		return g_strerror(saved_errno);
	default:
		return mosquitto_strerror(rc);
	}
}

static gboolean on_io(gint fd, GIOCondition cond, gpointer data);
static void attempt(struct tund_mqtt *m);

static void unwatch(struct tund_mqtt *m)
{
	if (m->io_watch)
		tund_loop_source_remove(m->io_watch);
	m->io_watch = 0;
	m->watch_fd = -1;
	m->watch_cond = 0;
}

/* Keeps the fd watch in line with libmosquitto: on the current socket, with
 * G_IO_OUT only while it has something to write. Call after every mosquitto
 * call that may queue, write or close. */
static void sync_watch(struct tund_mqtt *m)
{
	int fd = mosquitto_socket(m->mosq);
	GIOCondition cond = G_IO_IN | G_IO_HUP | G_IO_ERR;

	if (m->freeing || fd < 0 || (m->state != ST_CONNECTING && m->state != ST_CONNECTED)) {
		unwatch(m);
		return;
	}
	if (mosquitto_want_write(m->mosq))
		cond |= G_IO_OUT;
	if (m->io_watch && fd == m->watch_fd && cond == m->watch_cond)
		return;
	unwatch(m);
	m->io_watch = tund_loop_fd_add(fd, cond, on_io, m);
	m->watch_fd = fd;
	m->watch_cond = cond;
}

static gboolean on_retry(gpointer data)
{
	struct tund_mqtt *m = data;

	m->retry_timer = 0;
	attempt(m);
	return G_SOURCE_REMOVE;
}

/* The attempt or the connection is over: stop watching and schedule the next
 * attempt. The socket itself is closed by libmosquitto (on error) or by the
 * next mosquitto_connect_async. */
static void go_down(struct tund_mqtt *m, const char *why)
{
	bool was_up = m->state == ST_CONNECTED;
	unsigned delay;

	if (m->attempt_timer)
		tund_loop_source_remove(m->attempt_timer);
	m->attempt_timer = 0;
	if (m->resolving) {
		g_cancellable_cancel(m->resolving);
		g_clear_object(&m->resolving);
	}
	m->state = ST_WAIT;
	m->stats.connected = false;
	unwatch(m);
	if (m->refused) {
		why = m->refused;
	}
	m->failures++;
	delay = tund_mqtt_backoff_ms(m->failures, g_random_double());
	if (was_up)
		log_info("mqtt: disconnected from %s:%u%s: %s; reconnecting in %.1f s", m->host,
			 m->port, m->via, why, delay / 1000.0);
	else
		log_info("mqtt: connect to %s:%u%s failed: %s; retrying in %.1f s", m->host,
			 m->port, m->via, why, delay / 1000.0);
	if (m->retry_timer)
		tund_loop_source_remove(m->retry_timer);
	m->retry_timer = tund_loop_timeout_add(delay, on_retry, m);
	if (was_up && m->cb.disconnected)
		m->cb.disconnected(m->ctx, why);
	g_free(m->refused);
	m->refused = NULL;
}

static void start_connect(struct tund_mqtt *m, const char *addr)
{
	int rc;

	unwatch(m);
	m->state = ST_CONNECTING;
	g_free(m->via);
	m->via = strcmp(addr, m->host) ? g_strdup_printf(" (via %s)", addr) : g_strdup("");
	/* addr is numeric, so libmosquitto's getaddrinfo does no DNS. */
	errno = 0;
	rc = mosquitto_connect_async(m->mosq, addr, m->port, KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS) {
		go_down(m, mosq_why(rc, errno));
		return;
	}
	sync_watch(m);
}

static void on_resolved(GObject *src, GAsyncResult *res, gpointer data)
{
	GError *error = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, &error);
	struct tund_mqtt *m = data;
	char *text;

	if (!addrs) {
		/* Cancelled means m may be gone: touch nothing. */
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			char *why = g_strdup_printf("cannot resolve %s: %s", m->host, error->message);

			g_clear_object(&m->resolving);
			go_down(m, why);
			g_free(why);
		}
		g_error_free(error);
		return;
	}
	g_clear_object(&m->resolving);
	/* Successive failed attempts walk through all the addresses. */
	text = g_inet_address_to_string(g_list_nth_data(addrs, m->failures % g_list_length(addrs)));
	g_resolver_free_addresses(addrs);
	start_connect(m, text);
	g_free(text);
}

static gboolean on_attempt_timeout(gpointer data)
{
	struct tund_mqtt *m = data;
	int fd = mosquitto_socket(m->mosq);

	m->attempt_timer = 0;
	/* Abort the half-open TCP connect (no more SYNs); the fd itself is
	 * closed by the next mosquitto_connect_async. */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	go_down(m, m->state == ST_RESOLVING ? "name lookup timed out" : "connect timed out");
	return G_SOURCE_REMOVE;
}

static void attempt(struct tund_mqtt *m)
{
	GResolver *resolver;

	m->attempt_timer = tund_loop_timeout_add(CONNECT_TIMEOUT_MS, on_attempt_timeout, m);
	if (g_hostname_is_ip_address(m->host)) {
		start_connect(m, m->host);
		return;
	}
	resolver = g_resolver_get_default();
	m->state = ST_RESOLVING;
	m->resolving = g_cancellable_new();
	/* The lookup holds its own reference on the resolver. */
	g_resolver_lookup_by_name_async(resolver, m->host, m->resolving, on_resolved, m);
	g_object_unref(resolver);
}

static gboolean on_io(gint fd, GIOCondition cond, gpointer data)
{
	struct tund_mqtt *m = data;
	int rc = MOSQ_ERR_SUCCESS;

	(void)fd;
	/* This source goes away when we return; sync_watch adds the next one. */
	m->io_watch = 0;
	m->watch_fd = -1;
	if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		rc = mosquitto_loop_read(m->mosq, 1);
	/* On error libmosquitto closed the socket and on_disconnect ran. */
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0 &&
	    (cond & G_IO_OUT) && mosquitto_want_write(m->mosq))
		mosquitto_loop_write(m->mosq, 1);
	sync_watch(m);
	return G_SOURCE_REMOVE;
}

static gboolean on_misc(gpointer data)
{
	struct tund_mqtt *m = data;

	/* Keepalive: PINGREQ when idle; closes (and on_disconnect) when the
	 * broker stays silent. Only with a live socket of ours. */
	if ((m->state == ST_CONNECTING || m->state == ST_CONNECTED) &&
	    mosquitto_socket(m->mosq) >= 0) {
		mosquitto_loop_misc(m->mosq);
		sync_watch(m);
	}
	return G_SOURCE_CONTINUE;
}

static void send_pending(struct tund_mqtt *m)
{
	GHashTableIter it;
	gpointer key, value;

	g_hash_table_iter_init(&it, m->pending);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		gsize len;
		const void *data = g_bytes_get_data(value, &len);

		if (mosquitto_publish(m->mosq, NULL, key, (int)len, data, 1, true) !=
		    MOSQ_ERR_SUCCESS)
			continue; /* keep it for the next connect */
		m->stats.msgs_out++;
		m->stats.bytes_out += len;
		g_hash_table_iter_remove(&it);
	}
}

/* libmosquitto 2 has no asynchronous v5 connect: mosquitto_connect_bind_v5
 * keeps its CONNECT properties for every later connect, the asynchronous one
 * included, and with no host it stops right there (MOSQ_ERR_INVAL), before it
 * would connect and block the loop. props NULL clears them. */
static int store_connect_properties(struct tund_mqtt *m, const mosquitto_property *props)
{
	int rc = mosquitto_connect_bind_v5(m->mosq, NULL, m->port, KEEPALIVE_S, NULL, props);

	return rc == MOSQ_ERR_INVAL ? 0 : -EPROTO;
}

/* A broker that speaks only MQTT 3.1.1 refused v5: no size request then;
 * tund_membership_receive's own bound still holds. */
static void use_v311(struct tund_mqtt *m)
{
	log_warn("mqtt: %s:%u does not speak MQTT v5; using 3.1.1 (no packet size limit asked)",
		 m->host, m->port);
	m->max_packet = 0;
	store_connect_properties(m, NULL);
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
}

int tund_mqtt_set_max_packet(struct tund_mqtt *m, uint32_t max)
{
	mosquitto_property *props = NULL;
	int ret;

	if (mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) !=
	    MOSQ_ERR_SUCCESS)
		return -EINVAL;
	if (mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, max) !=
	    MOSQ_ERR_SUCCESS)
		return -ENOMEM;
	ret = store_connect_properties(m, props);
	mosquitto_property_free_all(&props);
	if (ret) {
		mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
		return ret;
	}
	m->max_packet = max;
	return 0;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct tund_mqtt *m = obj;
	GHashTableIter it;
	gpointer key;

	(void)mosq;
	if (m->freeing || m->state != ST_CONNECTING)
		return;
	if (rc != 0) {
		/* libmosquitto closes the socket next and calls on_disconnect. */
		g_free(m->refused);
		m->refused = g_strdup_printf("refused: %s", rc >= 128 ? mosquitto_reason_string(rc) :
								  mosquitto_connack_string(rc));
		if (m->max_packet && (rc == CONNACK_REFUSED_PROTOCOL_VERSION ||
				      rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION))
			use_v311(m);
		return;
	}
	if (m->attempt_timer)
		tund_loop_source_remove(m->attempt_timer);
	m->attempt_timer = 0;
	m->state = ST_CONNECTED;
	m->failures = 0;
	m->stats.connected = true;
	m->stats.connects++;
	log_info("mqtt: connected to %s:%u%s", m->host, m->port, m->via);
	g_hash_table_iter_init(&it, m->subs);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (mosquitto_subscribe(m->mosq, NULL, key, 1) != MOSQ_ERR_SUCCESS)
			log_warn("mqtt: could not subscribe to %s", (const char *)key);
	}
	send_pending(m);
	if (m->cb.connected)
		m->cb.connected(m->ctx);
	/* Called inside mosquitto_loop_read: packets are queued, on_io's
	 * sync_watch adds G_IO_OUT. */
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct tund_mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	if (m->freeing || (m->state != ST_CONNECTING && m->state != ST_CONNECTED))
		return;
	go_down(m, rc == MOSQ_ERR_SUCCESS ? "disconnected" : mosq_why(rc, saved));
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct tund_mqtt *m = obj;

	(void)mosq;
	if (m->freeing || msg->payloadlen < 0)
		return;
	m->stats.msgs_in++;
	m->stats.bytes_in += (uint64_t)msg->payloadlen;
	if (m->cb.message)
		m->cb.message(m->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain);
}

static gpointer lib_init(gpointer unused)
{
	(void)unused;
	mosquitto_lib_init();
	return NULL;
}

int tund_mqtt_new(const char *url, const char *client_id, const struct tund_mqtt_callbacks *cb,
		  void *ctx, struct tund_mqtt **out, char *why, size_t why_len)
{
	static GOnce once = G_ONCE_INIT;
	struct tund_mqtt *m;
	char *host;
	uint16_t port;
	int ret;

	*out = NULL;
	ret = tund_mqtt_parse_url(url, &host, &port, why, why_len);
	if (ret)
		return ret;
	if (!client_id || !*client_id || strlen(client_id) > 65535 ||
	    !g_utf8_validate(client_id, -1, NULL)) {
		tund_why(why, why_len, "MQTT client id must be non-empty UTF-8");
		g_free(host);
		return -EINVAL;
	}
	g_once(&once, lib_init, NULL);

	m = g_new0(struct tund_mqtt, 1);
	m->host = host;
	m->port = port;
	m->client_id = g_strdup(client_id);
	if (cb)
		m->cb = *cb;
	m->ctx = ctx;
	m->watch_fd = -1;
	m->via = g_strdup("");
	m->subs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	m->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   (GDestroyNotify)g_bytes_unref);
	/* Clean session: subscriptions are ours to restore on reconnect. */
	m->mosq = mosquitto_new(client_id, true, m);
	if (!m->mosq) {
		ret = errno ? -errno : -ENOMEM;
		tund_why(why, why_len, "mosquitto_new: %s", g_strerror(-ret));
		tund_mqtt_free(m);
		return ret;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_message_callback_set(m->mosq, on_message);
	m->misc_timer = tund_loop_timeout_add(MISC_INTERVAL_MS, on_misc, m);
	/* First attempt from the loop, so that a will or subscriptions set
	 * right after this already go into the first CONNECT. */
	m->retry_timer = tund_loop_idle_add(on_retry, m);
	*out = m;
	return 0;
}

int tund_mqtt_subscribe(struct tund_mqtt *m, const char *filter)
{
	int rc;

	if (!filter || mosquitto_sub_topic_check(filter) != MOSQ_ERR_SUCCESS)
		return -EINVAL;
	g_hash_table_add(m->subs, g_strdup(filter));
	if (m->state != ST_CONNECTED)
		return 0;
	rc = mosquitto_subscribe(m->mosq, NULL, filter, 1);
	sync_watch(m);
	/* Remembered either way: the next connect sends it. */
	return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? 0 : mosq_errno(rc);
}

int tund_mqtt_unsubscribe(struct tund_mqtt *m, const char *filter)
{
	int rc;

	if (!filter || mosquitto_sub_topic_check(filter) != MOSQ_ERR_SUCCESS)
		return -EINVAL;
	g_hash_table_remove(m->subs, filter);
	if (m->state != ST_CONNECTED)
		return 0;
	rc = mosquitto_unsubscribe(m->mosq, NULL, filter);
	sync_watch(m);
	return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? 0 : mosq_errno(rc);
}

static void remember(struct tund_mqtt *m, const char *topic, const void *payload, size_t len)
{
	g_hash_table_replace(m->pending, g_strdup(topic), g_bytes_new(payload, len));
}

int tund_mqtt_publish(struct tund_mqtt *m, const char *topic, const void *payload, size_t len,
		      bool retain)
{
	int rc;

	if (!topic || mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS)
		return -EINVAL;
	if (len > MAX_PAYLOAD)
		return -EMSGSIZE;
	if (m->state != ST_CONNECTED) {
		if (retain) {
			remember(m, topic, payload, len);
			return 0;
		}
		m->stats.dropped_out++;
		return -ENOTCONN;
	}
	errno = 0;
	rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, 1, retain);
	sync_watch(m);
	if (rc != MOSQ_ERR_SUCCESS) {
		if (retain) {
			remember(m, topic, payload, len);
			return 0;
		}
		m->stats.dropped_out++;
		return mosq_errno(rc);
	}
	/* A newer value supersedes one still waiting for a connect. */
	if (retain)
		g_hash_table_remove(m->pending, topic);
	m->stats.msgs_out++;
	m->stats.bytes_out += len;
	return 0;
}

int tund_mqtt_set_will(struct tund_mqtt *m, const char *topic, const void *payload, size_t len,
		       bool retain)
{
	if (!topic)
		return mosq_errno(mosquitto_will_clear(m->mosq));
	if (mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS)
		return -EINVAL;
	if (len > MAX_PAYLOAD)
		return -EMSGSIZE;
	return mosq_errno(mosquitto_will_set(m->mosq, topic, (int)len, payload, 1, retain));
}

void tund_mqtt_get_stats(struct tund_mqtt *m, struct tund_mqtt_stats *out)
{
	*out = m->stats;
}

void tund_mqtt_underlay_changed(struct tund_mqtt *m)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int fd;

	if (m->state != ST_CONNECTING && m->state != ST_CONNECTED)
		return;
	fd = mosquitto_socket(m->mosq);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&local, &len) < 0 ||
	    tund_addrwatch_is_local(&local, len))
		return;
	/* The next attempt comes after the shortest backoff (about 1 s). */
	m->failures = 0;
	go_down(m, "our local address went away");
}

void tund_mqtt_free(struct tund_mqtt *m)
{
	if (!m)
		return;
	m->freeing = true;
	if (m->state == ST_CONNECTED) {
		/* Queued and written at once; the socket buffer is empty enough in
		 * all but a wedged connection, where the broker sends the will. */
		mosquitto_disconnect(m->mosq);
		log_info("mqtt: disconnected from %s:%u (closing)", m->host, m->port);
	}
	unwatch(m);
	if (m->misc_timer)
		tund_loop_source_remove(m->misc_timer);
	if (m->attempt_timer)
		tund_loop_source_remove(m->attempt_timer);
	if (m->retry_timer)
		tund_loop_source_remove(m->retry_timer);
	if (m->resolving) {
		g_cancellable_cancel(m->resolving);
		g_object_unref(m->resolving);
	}
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	g_hash_table_destroy(m->subs);
	g_hash_table_destroy(m->pending);
	g_free(m->refused);
	g_free(m->via);
	g_free(m->host);
	g_free(m->client_id);
	g_free(m);
}
