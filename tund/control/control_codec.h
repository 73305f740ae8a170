/* SPDX-License-Identifier: MIT */
/* Control protocol framing (doc/control-protocol.md): one JSON object per line. */
#ifndef TUND_CONTROL_CODEC_H
#define TUND_CONTROL_CODEC_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>

#define TUND_CONTROL_MAX_REQUEST (64 * 1024)
/* Objects and arrays nested deeper than this are refused before parsing:
 * no request needs more than 3, and the JSON parser recurses per level. */
#define TUND_CONTROL_MAX_DEPTH 16

/* Parses one request line (without the newline) into a new reference to the
 * request object *out and its command name. 0, or -EMSGSIZE (too large) or
 * -EINVAL with a one-line why. */
int tund_control_decode_request(const char *line, size_t len, JsonObject **out,
				const char **cmd, char *why, size_t why_len);
/* Builds `{"ok":true,"result":RESULT}\n`; takes ownership of result. */
char *tund_control_encode_ok(JsonNode *result);
/* Builds `{"ok":false,"error":MSG}\n`. */
char *tund_control_encode_error(const char *msg);
/* A request's string member, or NULL when absent or not a string. */
const char *tund_req_string(JsonObject *req, const char *name);

#endif
