/* SPDX-License-Identifier: MIT */
/* netcheck: what the network lets through, found asynchronously on the GLib
 * main loop. One UDP socket asks the STUN server's primary address and then
 * its RFC 5780 OTHER-ADDRESS for the mapped address (equal: the NAT maps
 * endpoint-independently); each TURN server gets an unauthenticated Allocate
 * (any STUN answer, a 401 included, means reachable); the MQTT broker gets a
 * TCP connect and an MQTT 3.1.1 CONNECT and must answer CONNACK. */
#ifndef TUND_NETCHECK_H
#define TUND_NETCHECK_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/servers.h"

#define TUND_NETCHECK_DEFAULT_TIMEOUT_MS 3000

/* A TURN server is checked with a STUN Binding to it (over TCP with RFC 5389
 * 7.2.2 framing when tcp is set); its credentials are not used. */
struct tund_netcheck_config {
	const struct tund_stun_server *stun;  /* or NULL */
	const struct tund_turn_server *turn;  /* n_turn entries */
	size_t n_turn;
	const char *broker;  /* "mqtt://HOST:PORT", or NULL */
	unsigned timeout_ms; /* per step; 0 means TUND_NETCHECK_DEFAULT_TIMEOUT_MS */
};

/* Starts the checks and returns at once; cfg is copied. When every step has
 * answered or timed out (at most about 2 x timeout_ms), calls done on the
 * thread-default main context with a new node (the callee unrefs it):
 *   {"nat": {"mapping": "endpoint-independent" | "endpoint-dependent" |
 *            "unknown", "public": ["IP:PORT", ...], "filtering": "unknown"},
 *    "broker": {"url", "reachable", "error"},
 *    "stun": {"server", "reachable", "error"},
 *    "turn": [{"url", "reachable", "error"}, ...]}
 * "error" is a one-line string or null; an unconfigured broker or STUN
 * server has url/server null, reachable false, error "not configured".
 * Filtering is not probed (it would need CHANGE-REQUEST) and is "unknown". */
void tund_netcheck_run(const struct tund_netcheck_config *cfg,
		       void (*done)(void *ctx, JsonNode *result), void *ctx);

#endif
