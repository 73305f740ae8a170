// SPDX-License-Identifier: MIT
#include "tund/daemon/peers.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "overlay/endpoint.h"
#include "tund/daemon/log.h"

const char *tund_peer_state_name(enum tund_peer_state s)
{
	switch (s) {
	case TUND_PEER_STATIC:
		return "static";
	case TUND_PEER_MEMBER:
		return "member";
	case TUND_PEER_PENDING:
		return "pending";
	case TUND_PEER_BLOCKED:
		return "blocked";
	}
	return "unknown";
}

static bool state_from_name(const char *n, enum tund_peer_state *out)
{
	for (int s = TUND_PEER_STATIC; s <= TUND_PEER_BLOCKED; s++) {
		if (!strcmp(n, tund_peer_state_name(s))) {
			*out = s;
			return true;
		}
	}
	return false;
}

bool tund_peer_on_lan(const struct tund_peer *p)
{
	return p->lan_seen_us &&
	       g_get_monotonic_time() - p->lan_seen_us < TUND_LAN_FRESH_S * G_USEC_PER_SEC;
}

struct tund_peer *tund_peer_new(void)
{
	struct tund_peer *p = g_new0(struct tund_peer, 1);

	p->allowed_ips = g_array_new(FALSE, TRUE, sizeof(struct tund_cidr));
	p->shared_ips = g_array_new(FALSE, TRUE, sizeof(struct tund_cidr));
	p->shared_groups = g_array_new(FALSE, TRUE, sizeof(uint32_t));
	return p;
}

void tund_peer_free(struct tund_peer *p)
{
	if (!p)
		return;
	g_free(p->name);
	g_free(p->network);
	g_free(p->endpoint);
	g_array_unref(p->allowed_ips);
	g_array_unref(p->shared_ips);
	g_array_unref(p->shared_groups);
	sodium_memzero(p->psk, sizeof(p->psk));
	g_free(p);
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > TUND_PEER_NAME_MAX)
		return false;
	for (const char *c = n; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
			return false;
	/* A name that could be read as a key would make "peer remove X" ambiguous. */
	return len != TUND_KEY_B64_LEN;
}

/* Gets an optional string member; false if present but not a string. */
static bool get_string(JsonObject *obj, const char *member, const char **out)
{
	JsonNode *n = json_object_get_member(obj, member);

	*out = NULL;
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return false;
	*out = json_node_get_string(n);
	return true;
}

static bool parse_allowed_ips(struct tund_peer *p, JsonNode *n, char *why, size_t why_len)
{
	JsonArray *a;
	guint len;

	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_ARRAY(n)) {
		tund_why(why, why_len, "allowed_ips must be a list of CIDR strings");
		return false;
	}
	a = json_node_get_array(n);
	len = json_array_get_length(a);
	if (len > TUND_PEER_MAX_ALLOWED_IPS) {
		tund_why(why, why_len, "too many allowed_ips (max %d)", TUND_PEER_MAX_ALLOWED_IPS);
		return false;
	}
	for (guint i = 0; i < len; i++) {
		JsonNode *e = json_array_get_element(a, i);
		struct tund_cidr c;

		if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING ||
		    !tund_cidr_parse(&c, json_node_get_string(e), true)) {
			tund_why(why, why_len, "allowed_ips: each entry must be an address or CIDR "
				 "like 10.77.0.2/32");
			return false;
		}
		tund_cidr_mask(&c);
		g_array_append_val(p->allowed_ips, c);
	}
	return true;
}

int tund_peer_from_json(JsonObject *obj, struct tund_peer **out, char *why, size_t why_len)
{
	struct tund_peer *p = tund_peer_new();
	const char *key = NULL, *name = NULL, *endpoint = NULL, *psk = NULL;
	const char *network = NULL, *state = NULL;
	char host[TUND_ENDPOINT_HOST_MAX];
	uint16_t port;

	if (!get_string(obj, "public_key", &key) || !key || !tund_key_decode(p->public_key, key)) {
		tund_why(why, why_len, "public_key: expected a base64 key of 44 characters");
		goto fail;
	}
	if (!get_string(obj, "name", &name) || (name && !name_ok(name))) {
		tund_why(why, why_len, "name: 1-%d letters, digits, '-', '_' or '.'",
			 TUND_PEER_NAME_MAX);
		goto fail;
	}
	if (!get_string(obj, "endpoint", &endpoint) ||
	    (endpoint && !tund_endpoint_parse(endpoint, host, &port))) {
		tund_why(why, why_len, "endpoint: expected HOST:PORT or [IPv6]:PORT");
		goto fail;
	}
	if (!get_string(obj, "psk", &psk) || (psk && !tund_key_decode(p->psk, psk))) {
		tund_why(why, why_len, "psk: expected a base64 key of 44 characters");
		goto fail;
	}
	if (!parse_allowed_ips(p, json_object_get_member(obj, "allowed_ips"), why, why_len))
		goto fail;
	if (!get_string(obj, "network", &network) || (network && !name_ok(network))) {
		tund_why(why, why_len, "network: expected a network name");
		goto fail;
	}
	if (!get_string(obj, "state", &state) || (state && !state_from_name(state, &p->state))) {
		tund_why(why, why_len, "state: expected static, member, pending or blocked");
		goto fail;
	}
	if (!network && (p->state == TUND_PEER_MEMBER || p->state == TUND_PEER_PENDING)) {
		tund_why(why, why_len, "state: only network members can be member or pending");
		goto fail;
	}
	p->network = g_strdup(network);
	p->has_psk = psk != NULL;
	p->name = g_strdup(name);
	p->endpoint = g_strdup(endpoint);
	*out = p;
	return 0;
fail:
	tund_peer_free(p);
	return -EINVAL;
}

int tund_peer_from_request(JsonObject *obj, struct tund_peer **out, char *why, size_t why_len)
{
	static const char *const daemon_only[] = { "state", "network" };

	for (size_t i = 0; i < G_N_ELEMENTS(daemon_only); i++) {
		if (json_object_has_member(obj, daemon_only[i])) {
			tund_why(why, why_len, "%s: set by the daemon, not by peer.add (network "
				 "members come from admission)", daemon_only[i]);
			return -EINVAL;
		}
	}
	return tund_peer_from_json(obj, out, why, why_len);
}

JsonNode *tund_peer_to_json(const struct tund_peer *p, bool with_secrets)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	char key[TUND_KEY_B64_LEN + 1];

	json_builder_begin_object(b);
	tund_key_encode(key, p->public_key);
	json_builder_set_member_name(b, "public_key");
	json_builder_add_string_value(b, key);
	json_builder_set_member_name(b, "name");
	if (p->name)
		json_builder_add_string_value(b, p->name);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "endpoint");
	if (p->endpoint)
		json_builder_add_string_value(b, p->endpoint);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, tund_peer_state_name(p->state));
	json_builder_set_member_name(b, "network");
	if (p->network)
		json_builder_add_string_value(b, p->network);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "allowed_ips");
	json_builder_begin_array(b);
	for (guint i = 0; i < p->allowed_ips->len; i++) {
		char buf[TUND_CIDR_STRLEN];

		tund_cidr_format(&g_array_index(p->allowed_ips, struct tund_cidr, i), buf,
				 sizeof(buf));
		json_builder_add_string_value(b, buf);
	}
	json_builder_end_array(b);
	if (with_secrets) {
		if (p->has_psk) {
			char psk[TUND_KEY_B64_LEN + 1];

			tund_key_encode(psk, p->psk);
			json_builder_set_member_name(b, "psk");
			json_builder_add_string_value(b, psk);
			sodium_memzero(psk, sizeof(psk));
		}
	} else {
		json_builder_set_member_name(b, "has_psk");
		json_builder_add_boolean_value(b, p->has_psk);
		json_builder_set_member_name(b, "path");
		json_builder_add_null_value(b);
		json_builder_set_member_name(b, "latest_handshake");
		if (p->latest_handshake)
			json_builder_add_int_value(b, p->latest_handshake);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "rx_bytes");
		json_builder_add_int_value(b, (gint64)p->rx_bytes);
		json_builder_set_member_name(b, "tx_bytes");
		json_builder_add_int_value(b, (gint64)p->tx_bytes);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

void tund_peer_list_init(struct tund_peer_list *l)
{
	l->items = g_ptr_array_new_with_free_func((GDestroyNotify)tund_peer_free);
}

void tund_peer_list_clear(struct tund_peer_list *l)
{
	if (l->items)
		g_ptr_array_unref(l->items);
	l->items = NULL;
}

struct tund_peer *tund_peer_list_find_key(struct tund_peer_list *l,
					  const uint8_t key[TUND_KEY_LEN])
{
	for (guint i = 0; i < l->items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(l->items, i);

		if (!memcmp(p->public_key, key, TUND_KEY_LEN))
			return p;
	}
	return NULL;
}

struct tund_peer *tund_peer_list_find_in(struct tund_peer_list *l, const char *network,
					 const uint8_t key[TUND_KEY_LEN])
{
	for (guint i = 0; i < l->items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(l->items, i);

		if (!memcmp(p->public_key, key, TUND_KEY_LEN) &&
		    (network ? p->network && !strcmp(p->network, network) : !p->network))
			return p;
	}
	return NULL;
}

struct tund_peer *tund_peer_list_carrier(struct tund_peer_list *l, const uint8_t key[TUND_KEY_LEN],
					 bool (*usable)(const struct tund_peer *p, void *ctx),
					 void *ctx)
{
	struct tund_peer *best = NULL;
	bool member = false;

	for (guint i = 0; i < l->items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(l->items, i);

		if (memcmp(p->public_key, key, TUND_KEY_LEN))
			continue;
		if (!p->network)
			return p; /* a static peer: members of that key are refused */
		if (usable && !usable(p, ctx))
			continue;
		member |= p->state == TUND_PEER_MEMBER;
		if (!best || strcmp(p->network, best->network) < 0)
			best = p;
	}
	return member ? best : NULL;
}

bool tund_peer_owns_addresses(const struct tund_peer *p)
{
	return p->state == TUND_PEER_STATIC || p->state == TUND_PEER_MEMBER;
}

struct tund_peer *tund_peer_list_find(struct tund_peer_list *l, const char *key_or_name)
{
	uint8_t key[TUND_KEY_LEN];

	if (tund_key_decode(key, key_or_name))
		return tund_peer_list_find_key(l, key);
	for (guint i = 0; i < l->items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(l->items, i);

		if (p->name && !strcmp(p->name, key_or_name))
			return p;
	}
	return NULL;
}

int tund_peer_list_upsert(struct tund_peer_list *l, struct tund_peer *p, char *why, size_t why_len)
{
	struct tund_peer *old = tund_peer_list_find_in(l, p->network, p->public_key);

	if (p->name) {
		struct tund_peer *named = tund_peer_list_find(l, p->name);

		if (named && named != old) {
			tund_why(why, why_len, "name \"%s\" is already used by another peer",
				 p->name);
			return -EEXIST;
		}
	}
	if (old) {
		/* Keep what we observed about the peer across a reconfiguration. */
		p->rx_bytes = old->rx_bytes;
		p->tx_bytes = old->tx_bytes;
		p->latest_handshake = old->latest_handshake;
		tund_peer_list_remove(l, old);
	}
	g_ptr_array_add(l->items, p);
	return 0;
}

bool tund_peer_list_remove(struct tund_peer_list *l, struct tund_peer *p)
{
	return g_ptr_array_remove(l->items, p);
}

char *tund_peer_list_serialize(struct tund_peer_list *l, size_t *len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	char *text;
	gsize n;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "peers");
	json_builder_begin_array(b);
	for (guint i = 0; i < l->items->len; i++)
		json_builder_add_value(b, tund_peer_to_json(g_ptr_array_index(l->items, i), true));
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, &n);
	*len = n;
	return text;
}

int tund_peer_list_parse(struct tund_peer_list *l, const char *data, size_t len, char *why,
			 size_t why_len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) gerr = NULL;
	JsonNode *root, *peers;
	JsonObject *obj;
	JsonArray *arr;

	if (!json_parser_load_from_data(parser, data, (gssize)len, &gerr)) {
		tund_why(why, why_len, "not valid JSON: %s", gerr->message);
		return -EINVAL;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		tund_why(why, why_len, "expected a JSON object");
		return -EINVAL;
	}
	obj = json_node_get_object(root);
	if (json_object_get_int_member_with_default(obj, "version", 0) != 1) {
		tund_why(why, why_len, "unsupported or missing \"version\" (expected 1)");
		return -EINVAL;
	}
	peers = json_object_get_member(obj, "peers");
	if (!peers || !JSON_NODE_HOLDS_ARRAY(peers)) {
		tund_why(why, why_len, "\"peers\" must be a list");
		return -EINVAL;
	}
	arr = json_node_get_array(peers);
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *e = json_array_get_element(arr, i);
		struct tund_peer *p = NULL;
		char perr[TUND_WHY_LEN];

		if (!JSON_NODE_HOLDS_OBJECT(e)) {
			tund_why(why, why_len, "peer %u: expected an object", i);
			goto fail;
		}
		if (tund_peer_from_json(json_node_get_object(e), &p, perr, sizeof(perr)) < 0) {
			tund_why(why, why_len, "peer %u: %s", i, perr);
			goto fail;
		}
		if (tund_peer_list_find_key(l, p->public_key)) {
			tund_why(why, why_len, "peer %u: duplicate public key", i);
			tund_peer_free(p);
			goto fail;
		}
		if (tund_peer_list_upsert(l, p, perr, sizeof(perr)) < 0) {
			tund_why(why, why_len, "peer %u: %s", i, perr);
			tund_peer_free(p);
			goto fail;
		}
	}
	return 0;
fail:
	g_ptr_array_set_size(l->items, 0);
	return -EINVAL;
}
