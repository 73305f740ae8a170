/* SPDX-License-Identifier: MIT */
/* The signaling transport: one MQTT client (libmosquitto, MQTT 3.1.1, QoS 1)
 * driven entirely by the GLib main loop of the calling thread. No thread of
 * its own, no blocking call: connects are non-blocking, host names are
 * resolved with GResolver, a connect that has no CONNACK within 5 s fails.
 * It reconnects by itself with exponential backoff (1 s doubling to 30 s,
 * jittered), re-sends its subscriptions and the retained publishes made while
 * it was down. Keepalive 15 s: a silently dead broker is noticed within ~30 s.
 *
 * Callbacks run from the main loop; they may publish, subscribe and set the
 * will, but must not call tund_mqtt_free. */
#ifndef TUND_MQTT_H
#define TUND_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tund_mqtt;

struct tund_mqtt_callbacks {
	/* After CONNACK; subscriptions already re-sent. */
	void (*connected)(void *ctx);
	/* A connection that had been up is gone; why is one line, for the log.
	 * Failed connect attempts are only logged. */
	void (*disconnected)(void *ctx, const char *why);
	void (*message)(void *ctx, const char *topic, const uint8_t *payload, size_t len,
			bool retained);
};

struct tund_mqtt_stats {
	uint64_t msgs_in, msgs_out, bytes_in, bytes_out, dropped_out, connects;
	bool connected;
};

/* url: "mqtt://HOST:PORT" (port defaults to 1883; IPv6 as [addr]). Starts
 * connecting at once, in the background (from the main loop's next
 * iteration: a will set right after this is in the first CONNECT). 0 with
 * *out, or -EINVAL (bad URL or client id) or -errno with why. Any callback
 * may be NULL. */
int tund_mqtt_new(const char *url, const char *client_id, const struct tund_mqtt_callbacks *cb,
		  void *ctx, struct tund_mqtt **out, char *why, size_t why_len);
/* Remembered; sent now if connected and again on every reconnect.
 * 0, -EINVAL (bad filter), -ENOMEM or -EIO. */
/* Speaks MQTT v5 and asks the broker (CONNECT's Maximum Packet Size) never
 * to send a packet over max bytes; call before the first connect (the next
 * main loop iteration after tund_mqtt_new). A broker that refuses v5 gets
 * 3.1.1 from the next attempt on. */
int tund_mqtt_set_max_packet(struct tund_mqtt *m, uint32_t max);
int tund_mqtt_subscribe(struct tund_mqtt *m, const char *filter);
int tund_mqtt_unsubscribe(struct tund_mqtt *m, const char *filter);
/* QoS 1. While disconnected: retained publishes are remembered (latest per
 * topic) and sent on reconnect (0); others are dropped and counted
 * (-ENOTCONN). -EINVAL for a bad topic, -EMSGSIZE for a huge payload. */
int tund_mqtt_publish(struct tund_mqtt *m, const char *topic, const void *payload, size_t len,
		      bool retain);
/* Last will, QoS 1; applies from the next connect. topic NULL clears it. */
int tund_mqtt_set_will(struct tund_mqtt *m, const char *topic, const void *payload, size_t len,
		       bool retain);
/* The machine's addresses changed: a connection from an address that is gone
 * is dead although TCP does not know it yet; it is dropped and made again
 * now instead of after the keepalive (up to 30 s). */
void tund_mqtt_underlay_changed(struct tund_mqtt *m);
void tund_mqtt_get_stats(struct tund_mqtt *m, struct tund_mqtt_stats *out);
/* Sends a clean DISCONNECT if connected (so no will), then frees. NULL ok. */
void tund_mqtt_free(struct tund_mqtt *m);

/* Pure helpers, exported for the unit tests. */
/* "mqtt://HOST[:PORT]" -> host (g_free; brackets stripped) and port; or
 * -EINVAL with why. */
int tund_mqtt_parse_url(const char *url, char **host, uint16_t *port, char *why, size_t why_len);
/* Reconnect delay in ms after `failures` consecutive failures (>= 1):
 * base 1 s doubling, capped at 30 s; rnd in [0,1) takes up to 20 % off. */
unsigned tund_mqtt_backoff_ms(unsigned failures, double rnd);

#endif
