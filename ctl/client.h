/* SPDX-License-Identifier: MIT */
/* The client half of doc/control-protocol.md: one JSON request line out, one
 * JSON reply line back, with a deadline and a cap on the reply size. */
#ifndef TUND_CTL_CLIENT_H
#define TUND_CTL_CLIENT_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUND_CLIENT_DEFAULT_SOCKET "/run/tund/tund.sock"
#define TUND_CLIENT_TIMEOUT_MS 10000
#define TUND_CLIENT_MAX_REPLY (8u << 20)
/* tundctl's message buffers: the daemon's longest error (512 bytes) and then
 * some for the escapes tund_format_sanitize adds, or a long URL quoted. */
#define TUND_CTL_WHY_LEN 1024

/* Connects to path, sends request and waits for the reply. Returns 0 and
 * stores the reply's "result" (a new node, json_node_unref) in *result, or a
 * negative errno with a one-line message for a person in why (why_len bytes):
 * -ECONNREFUSED etc. when tund cannot be reached ("cannot reach tund at
 * PATH: ..."), -ETIMEDOUT, -EMSGSIZE, -EPROTO for a malformed reply and
 * -EREMOTEIO when tund answered ok:false (the message is its error text). */
int tund_client_call(const char *path, JsonObject *request, JsonNode **result, char *why,
		     size_t why_len);
/* The same with a reply deadline of timeout_ms instead of the default, for
 * requests the daemon needs long to answer (ping, netcheck). */
int tund_client_call_timeout(const char *path, JsonObject *request, JsonNode **result,
			     char *why, size_t why_len, int timeout_ms);
/* Parses one reply line (without or with its '\n'). 0 for ok:true with
 * *result set (an empty object if the reply had none); with why set,
 * -EREMOTEIO for ok:false (why is tund's error text) or -EPROTO for anything
 * malformed. */
int tund_client_parse_reply(const char *text, size_t len, JsonNode **result, char *why,
			    size_t why_len);

/* Field access that treats a missing member, a JSON null and a wrong type
 * alike, so that callers can print "-" and ignore what they do not know. */
const char *tund_client_get_string(JsonObject *o, const char *name);
bool tund_client_get_int(JsonObject *o, const char *name, int64_t *out);
bool tund_client_has_null(JsonObject *o, const char *name);

#endif
