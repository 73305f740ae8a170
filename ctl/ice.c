// SPDX-License-Identifier: MIT
#include "ctl/ice.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "overlay/servers.h"

/* tundctl asks for the port where tund would default it: a server named
 * without one is more often a slip than a wish for 1883 or 3478. */
static bool port_given(const char *hostport, size_t len, char *why, size_t why_len)
{
	char text[300], host[256];
	const char *w = NULL;
	uint16_t port;

	if (len >= sizeof(text)) {
		snprintf(why, why_len, "host too long");
		return false;
	}
	memcpy(text, hostport, len);
	text[len] = '\0';
	if (!tund_parse_hostport(text, host, &port, 0, &w)) {
		snprintf(why, why_len, "'%s': %s", text, w);
		return false;
	}
	return true;
}

bool tund_ice_check_stun(const char *hostport, char *why, size_t why_len)
{
	return port_given(hostport ? hostport : "", hostport ? strlen(hostport) : 0, why, why_len);
}

bool tund_ice_check_broker(const char *url, char *why, size_t why_len)
{
	struct tund_broker br;
	const char *w = NULL;

	if (!tund_parse_broker_url(url, &br, &w)) {
		snprintf(why, why_len, "'%s': %s", url ? url : "", w);
		return false;
	}
	if (br.tls) {
		snprintf(why, why_len, "'%s': only mqtt:// brokers are supported (no TLS yet)", url);
		return false;
	}
	return port_given(url + 7, strlen(url + 7), why, why_len);
}

bool tund_ice_check_turn(const char *url, char *why, size_t why_len)
{
	struct tund_turn_server t;
	const char *w = NULL, *at, *query;
	bool ok = false;

	if (!url || strncmp(url, "turn://", 7) != 0) {
		if (url && strncmp(url, "turns:", 6) == 0)
			snprintf(why, why_len, "'%s': TURN over TLS (turns:) is not supported; "
				 "use turn://...?transport=tcp", url);
		else
			snprintf(why, why_len, "'%s' is not turn://USER:PASS@HOST:PORT",
				 url ? url : "");
		return false;
	}
	if (!tund_parse_turn_url(url, &t, &w)) {
		snprintf(why, why_len, "'%s': %s", url, w);
	} else if (!t.user[0] || !t.pass[0]) {
		snprintf(why, why_len, "'%s': USER:PASS@ must both be non-empty "
			 "(percent-encoded)", url);
	} else {
		/* Parsed, so the host starts after the last '@' before any '?'. */
		query = strchr(url, '?');
		at = memrchr(url, '@', query ? (size_t)(query - url) : strlen(url));
		ok = port_given(at + 1, query ? (size_t)(query - at - 1) : strlen(at + 1), why,
				why_len);
	}
	sodium_memzero(&t, sizeof(t));
	return ok;
}

/* One stun: or turn: URL of an iceServers entry, in tund's form. */
static bool convert_url(const char *url, const char *user, const char *cred, GPtrArray *stun,
			GPtrArray *turn, char *why, size_t why_len)
{
	const char *w = NULL;

	if (g_str_has_prefix(url, "turns:")) {
		snprintf(why, why_len, "'%s': TURN over TLS (turns:) is not supported: libnice "
			 "cannot do it; use a turn: URL with transport=tcp", url);
		return false;
	}
	if (g_str_has_prefix(url, "stuns:")) {
		snprintf(why, why_len, "'%s': STUN over TLS (stuns:) is not supported", url);
		return false;
	}
	if (g_str_has_prefix(url, "stun:")) {
		struct tund_stun_server s;
		char text[300];

		if (strchr(url, '?')) {
			snprintf(why, why_len, "'%s': a stun: URL takes no query", url);
			return false;
		}
		if (!tund_parse_stun(url, &s, &w) || !tund_format_stun(&s, text, sizeof(text))) {
			snprintf(why, why_len, "'%s': %s", url, w ? w : "too long");
			return false;
		}
		g_ptr_array_add(stun, g_strdup(text));
		return true;
	}
	if (!g_str_has_prefix(url, "turn:")) {
		snprintf(why, why_len, "'%s': not a stun: or turn: URL", url);
		return false;
	}
	if (!user || !*user || !cred || !*cred) {
		snprintf(why, why_len, "'%s': a TURN server needs \"username\" and "
			 "\"credential\"", url);
		return false;
	}
	struct tund_turn_server t;
	char text[1024];
	bool ok = tund_parse_turn_url_creds(url, user, cred, &t, &w) &&
		  tund_format_turn_url(&t, TUND_TURN_FULL, text, sizeof(text));

	if (ok)
		g_ptr_array_add(turn, g_strdup(text));
	else
		snprintf(why, why_len, "'%s': %s", url, w ? w : "too long");
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(text, sizeof(text));
	return ok;
}

static const char *string_member(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

/* Entry number nr of the iceServers array: {"urls" (or "url"): a URL or a
 * list of them, "username", "credential"}. */
static bool convert_entry(JsonNode *e, guint nr, GPtrArray *stun, GPtrArray *turn,
			  char *why, size_t why_len)
{
	const char *user, *cred;
	JsonNode *urls;
	JsonObject *o;

	if (!JSON_NODE_HOLDS_OBJECT(e)) {
		snprintf(why, why_len, "entry %u is not an object", nr);
		return false;
	}
	o = json_node_get_object(e);
	user = string_member(o, "username");
	cred = string_member(o, "credential");
	urls = json_object_get_member(o, "urls");
	if (!urls)
		urls = json_object_get_member(o, "url"); /* the old spelling */
	if (urls && JSON_NODE_HOLDS_VALUE(urls) && json_node_get_value_type(urls) == G_TYPE_STRING)
		return convert_url(json_node_get_string(urls), user, cred, stun, turn, why, why_len);
	if (!urls || !JSON_NODE_HOLDS_ARRAY(urls) ||
	    json_array_get_length(json_node_get_array(urls)) == 0) {
		snprintf(why, why_len, "entry %u has no \"urls\"", nr);
		return false;
	}
	for (guint j = 0; j < json_array_get_length(json_node_get_array(urls)); j++) {
		JsonNode *u = json_array_get_element(json_node_get_array(urls), j);

		if (!JSON_NODE_HOLDS_VALUE(u) || json_node_get_value_type(u) != G_TYPE_STRING) {
			snprintf(why, why_len, "entry %u: \"urls\" holds a non-string", nr);
			return false;
		}
		if (!convert_url(json_node_get_string(u), user, cred, stun, turn, why, why_len))
			return false;
	}
	return true;
}

int tund_ice_parse_servers(const char *json, size_t len, GPtrArray *stun, GPtrArray *turn,
			   char *why, size_t why_len)
{
	JsonParser *parser = json_parser_new();
	GError *err = NULL;
	JsonNode *root;
	JsonArray *a;
	bool ok = false;

	if (memchr(json, '\0', len)) {
		snprintf(why, why_len, "not JSON: NUL byte");
		goto out;
	}
	if (!json_parser_load_from_data(parser, json, (gssize)len, &err)) {
		snprintf(why, why_len, "not JSON: %s", err->message);
		goto out;
	}
	root = json_parser_get_root(parser);
	if (root && JSON_NODE_HOLDS_OBJECT(root)) {
		/* {"iceServers": [...]} as in an RTCConfiguration. */
		JsonNode *inner = json_object_get_member(json_node_get_object(root), "iceServers");

		root = inner;
	}
	if (!root || !JSON_NODE_HOLDS_ARRAY(root)) {
		snprintf(why, why_len, "expected an iceServers array");
		goto out;
	}
	a = json_node_get_array(root);
	if (json_array_get_length(a) == 0) {
		snprintf(why, why_len, "the iceServers array is empty");
		goto out;
	}
	for (guint i = 0; i < json_array_get_length(a); i++)
		if (!convert_entry(json_array_get_element(a, i), i + 1, stun, turn, why, why_len))
			goto out;
	ok = true;
out:
	/* One line, whatever the file held. */
	if (!ok && why && why_len)
		g_strdelimit(why, "\r\n", ' ');
	if (err)
		g_error_free(err);
	g_object_unref(parser);
	return ok ? 0 : -EINVAL;
}
