// SPDX-License-Identifier: MIT
#include "ctl/ice.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ctl/args.h"

bool tund_ice_check_stun(const char *hostport, char *why, size_t why_len)
{
	return tund_args_check_endpoint(hostport, why, why_len);
}

bool tund_ice_check_broker(const char *url, char *why, size_t why_len)
{
	char inner[160];

	if (!url || strncmp(url, "mqtt://", 7) != 0) {
		if (url && strstr(url, "://"))
			snprintf(why, why_len, "'%s': only mqtt:// brokers are supported", url);
		else
			snprintf(why, why_len, "'%s' is not mqtt://HOST:PORT", url ? url : "");
		return false;
	}
	url += 7;
	if (strchr(url, '/') || strchr(url, '@') || strchr(url, '?')) {
		snprintf(why, why_len, "'mqtt://%s': expected mqtt://HOST:PORT with no path, "
			 "user or query", url);
		return false;
	}
	if (!tund_args_check_endpoint(url, inner, sizeof(inner))) {
		snprintf(why, why_len, "broker %s", inner);
		return false;
	}
	return true;
}

/* Unreserved characters plus %XX escapes, non-empty. */
static bool check_encoded(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len || !g_ascii_isxdigit(s[i + 1]) ||
			    !g_ascii_isxdigit(s[i + 2]))
				return false;
			i += 2;
			continue;
		}
		if (!g_ascii_isalnum(c) && !strchr("-._~!$&'()*+,;=", c))
			return false;
	}
	return true;
}

bool tund_ice_check_turn(const char *url, char *why, size_t why_len)
{
	const char *rest, *at, *colon, *query;
	char hostport[300], inner[160];
	size_t hlen;

	if (url && (strncmp(url, "turns://", 8) == 0 || strncmp(url, "turns:", 6) == 0)) {
		snprintf(why, why_len, "'%s': TURN over TLS (turns:) is not supported; "
			 "use turn://...?transport=tcp", url);
		return false;
	}
	if (!url || strncmp(url, "turn://", 7) != 0) {
		snprintf(why, why_len, "'%s' is not turn://USER:PASS@HOST:PORT", url ? url : "");
		return false;
	}
	rest = url + 7;
	at = strrchr(rest, '@');
	if (!at) {
		snprintf(why, why_len, "'%s': missing USER:PASS@", url);
		return false;
	}
	colon = memchr(rest, ':', (size_t)(at - rest));
	if (!colon || !check_encoded(rest, (size_t)(colon - rest)) ||
	    !check_encoded(colon + 1, (size_t)(at - colon - 1))) {
		snprintf(why, why_len, "'%s': USER:PASS must both be non-empty and "
			 "percent-encoded", url);
		return false;
	}
	query = strchr(at + 1, '?');
	hlen = query ? (size_t)(query - at - 1) : strlen(at + 1);
	if (hlen >= sizeof(hostport)) {
		snprintf(why, why_len, "'%s': host too long", url);
		return false;
	}
	memcpy(hostport, at + 1, hlen);
	hostport[hlen] = '\0';
	if (strchr(hostport, '/')) {
		snprintf(why, why_len, "'%s': no path allowed after HOST:PORT", url);
		return false;
	}
	if (!tund_args_check_endpoint(hostport, inner, sizeof(inner))) {
		snprintf(why, why_len, "TURN server %s", inner);
		return false;
	}
	if (query && strcmp(query, "?transport=udp") != 0 && strcmp(query, "?transport=tcp") != 0) {
		snprintf(why, why_len, "'%s': the only query allowed is ?transport=udp or tcp", url);
		return false;
	}
	return true;
}

char *tund_ice_percent_encode(const char *text)
{
	GString *s = g_string_new(NULL);

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (g_ascii_isalnum(*p) || strchr("-._~", *p))
			g_string_append_c(s, (char)*p);
		else
			g_string_append_printf(s, "%%%02X", *p);
	}
	return g_string_free(s, FALSE);
}

/* "HOST[:PORT]" from an ICE URL (RFC 7064/7065) into "HOST:PORT". */
static char *ice_hostport(const char *body, size_t len)
{
	const char *end = body + len, *close, *colon;

	if (len >= 2 && body[0] == '/' && body[1] == '/') {
		body += 2;
		len -= 2;
	}
	if (len == 0)
		return NULL;
	if (body[0] == '[') {
		close = memchr(body, ']', len);
		if (!close)
			return NULL;
		if (close + 1 == end)
			return g_strdup_printf("%.*s:3478", (int)len, body);
		return g_strndup(body, len);
	}
	colon = memchr(body, ':', len);
	if (!colon)
		return g_strdup_printf("%.*s:3478", (int)len, body);
	return g_strndup(body, len);
}

static bool convert_url(const char *url, const char *user, const char *cred, GPtrArray *stun,
			GPtrArray *turn, char **error)
{
	char why[200];
	const char *body, *query;
	char *hp = NULL, *u = NULL, *c = NULL, *out = NULL;
	const char *transport = "udp";
	bool ok = false;

	if (g_str_has_prefix(url, "turns:")) {
		*error = g_strdup_printf("'%s': TURN over TLS (turns:) is not supported: libnice "
					 "cannot do it; use a turn: URL with transport=tcp", url);
		return false;
	}
	if (g_str_has_prefix(url, "stuns:")) {
		*error = g_strdup_printf("'%s': STUN over TLS (stuns:) is not supported", url);
		return false;
	}
	if (g_str_has_prefix(url, "stun:")) {
		body = url + 5;
		query = strchr(body, '?');
		if (query) {
			*error = g_strdup_printf("'%s': a stun: URL takes no query", url);
			return false;
		}
		hp = ice_hostport(body, strlen(body));
		if (!hp || !tund_ice_check_stun(hp, why, sizeof(why))) {
			*error = g_strdup_printf("'%s': %s", url, hp ? why : "no host");
			goto out;
		}
		g_ptr_array_add(stun, hp);
		return true;
	}
	if (!g_str_has_prefix(url, "turn:")) {
		*error = g_strdup_printf("'%s': not a stun: or turn: URL", url);
		return false;
	}
	body = url + 5;
	query = strchr(body, '?');
	if (query) {
		if (strcmp(query, "?transport=udp") == 0)
			transport = "udp";
		else if (strcmp(query, "?transport=tcp") == 0)
			transport = "tcp";
		else {
			*error = g_strdup_printf("'%s': transport must be udp or tcp", url);
			return false;
		}
	}
	hp = ice_hostport(body, query ? (size_t)(query - body) : strlen(body));
	if (!hp || !tund_ice_check_stun(hp, why, sizeof(why))) {
		*error = g_strdup_printf("'%s': %s", url, hp ? why : "no host");
		goto out;
	}
	if (!user || !*user || !cred || !*cred) {
		*error = g_strdup_printf("'%s': a TURN server needs \"username\" and "
					 "\"credential\"", url);
		goto out;
	}
	u = tund_ice_percent_encode(user);
	c = tund_ice_percent_encode(cred);
	out = g_strdup_printf("turn://%s:%s@%s?transport=%s", u, c, hp, transport);
	g_ptr_array_add(turn, out);
	ok = true;
out:
	g_free(hp);
	g_free(u);
	g_free(c);
	return ok;
}

static const char *string_member(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

bool tund_ice_parse_servers(const char *json, size_t len, GPtrArray *stun, GPtrArray *turn,
			    char **error)
{
	JsonParser *parser = json_parser_new();
	GError *err = NULL;
	JsonNode *root;
	JsonArray *a;
	bool ok = false;

	*error = NULL;
	if (memchr(json, '\0', len)) {
		*error = g_strdup("not JSON: NUL byte");
		goto out;
	}
	if (!json_parser_load_from_data(parser, json, (gssize)len, &err)) {
		*error = g_strdup_printf("not JSON: %s", err->message);
		goto out;
	}
	root = json_parser_get_root(parser);
	if (root && JSON_NODE_HOLDS_OBJECT(root)) {
		/* {"iceServers": [...]} as in an RTCConfiguration. */
		JsonNode *inner = json_object_get_member(json_node_get_object(root), "iceServers");

		root = inner;
	}
	if (!root || !JSON_NODE_HOLDS_ARRAY(root)) {
		*error = g_strdup("expected an iceServers array");
		goto out;
	}
	a = json_node_get_array(root);
	if (json_array_get_length(a) == 0) {
		*error = g_strdup("the iceServers array is empty");
		goto out;
	}
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i), *urls;
		JsonObject *o;
		const char *user, *cred;

		if (!JSON_NODE_HOLDS_OBJECT(e)) {
			*error = g_strdup_printf("entry %u is not an object", i + 1);
			goto out;
		}
		o = json_node_get_object(e);
		user = string_member(o, "username");
		cred = string_member(o, "credential");
		urls = json_object_get_member(o, "urls");
		if (!urls)
			urls = json_object_get_member(o, "url"); /* the old spelling */
		if (urls && JSON_NODE_HOLDS_VALUE(urls) &&
		    json_node_get_value_type(urls) == G_TYPE_STRING) {
			if (!convert_url(json_node_get_string(urls), user, cred, stun, turn, error))
				goto out;
			continue;
		}
		if (!urls || !JSON_NODE_HOLDS_ARRAY(urls) ||
		    json_array_get_length(json_node_get_array(urls)) == 0) {
			*error = g_strdup_printf("entry %u has no \"urls\"", i + 1);
			goto out;
		}
		for (guint j = 0; j < json_array_get_length(json_node_get_array(urls)); j++) {
			JsonNode *u = json_array_get_element(json_node_get_array(urls), j);

			if (!JSON_NODE_HOLDS_VALUE(u) ||
			    json_node_get_value_type(u) != G_TYPE_STRING) {
				*error = g_strdup_printf("entry %u: \"urls\" holds a non-string",
							 i + 1);
				goto out;
			}
			if (!convert_url(json_node_get_string(u), user, cred, stun, turn, error))
				goto out;
		}
	}
	ok = true;
out:
	if (*error) {
		char *one = g_strdelimit(*error, "\r\n", ' ');

		*error = one;
	}
	if (err)
		g_error_free(err);
	g_object_unref(parser);
	return ok;
}
