// SPDX-License-Identifier: MIT
/* Limited invites an admin issued: invites.json, issue, use, revoke, list. */
#include "tund/connect/invites.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "overlay/blake2s.h"
#include "overlay/control_proto.h"
#include "tund/daemon/log.h" /* tund_why */
#include "tund/daemon/state.h"
#include "tund/daemon/statefile.h"

enum { HASH_LEN = 32 };

struct entry {
	char network[TUND_NET_NAME_MAX + 1];
	uint8_t hash[HASH_LEN]; /* of the token: the file admits nobody */
	uint64_t expires_ms;
	uint32_t uses_left;
	bool revoked;
};

struct tund_invites {
	char *path;
	GArray *items; /* struct entry */
};

static const char hash_label[] = "tund invite token v1";

/* Keyed with the token: only its holder can make the hash we compare. */
static void token_hash(const uint8_t token[TUND_NET_TOKEN_LEN], uint8_t out[HASH_LEN])
{
	tund_blake2s(out, HASH_LEN, (const uint8_t *)hash_label, sizeof(hash_label), token,
		     TUND_NET_TOKEN_LEN);
}

static void hash_id(const uint8_t hash[HASH_LEN], char id[TUND_INVITE_ID_LEN + 1])
{
	sodium_bin2hex(id, TUND_INVITE_ID_LEN + 1, hash, TUND_INVITE_ID_LEN / 2);
}

void tund_invites_id(const uint8_t token[TUND_NET_TOKEN_LEN], char id[TUND_INVITE_ID_LEN + 1])
{
	uint8_t h[HASH_LEN];

	token_hash(token, h);
	hash_id(h, id);
}

void tund_invites_format_time(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		g_strlcpy(buf, "?", len);
}

/* ---- the file ---- */

static char *encode(const struct tund_invites *iv, gsize *len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "invites");
	json_builder_begin_array(b);
	for (guint i = 0; i < iv->items->len; i++) {
		const struct entry *e = &g_array_index(iv->items, struct entry, i);
		char hex[2 * HASH_LEN + 1];

		sodium_bin2hex(hex, sizeof(hex), e->hash, HASH_LEN);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "network");
		json_builder_add_string_value(b, e->network);
		json_builder_set_member_name(b, "hash");
		json_builder_add_string_value(b, hex);
		json_builder_set_member_name(b, "expires_ms");
		json_builder_add_int_value(b, (gint64)e->expires_ms);
		json_builder_set_member_name(b, "uses_left");
		json_builder_add_int_value(b, e->uses_left);
		json_builder_set_member_name(b, "revoked");
		json_builder_add_boolean_value(b, e->revoked);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, len);
}

static int save(struct tund_invites *iv)
{
	gsize len;
	g_autofree char *text = encode(iv, &len);

	return tund_statefile_write(iv->path, text, len);
}

static bool member_type(JsonObject *o, const char *name, GType type)
{
	JsonNode *n = json_object_get_member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

/* One entry of the file; false if anything in it is off. */
static bool decode_entry(JsonNode *node, struct entry *e)
{
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	const char *net, *hex;
	gint64 exp, uses;
	size_t hl = 0;

	memset(e, 0, sizeof(*e));
	if (!o || !member_type(o, "network", G_TYPE_STRING) ||
	    !member_type(o, "hash", G_TYPE_STRING) || !member_type(o, "expires_ms", G_TYPE_INT64) ||
	    !member_type(o, "uses_left", G_TYPE_INT64) || !member_type(o, "revoked", G_TYPE_BOOLEAN))
		return false;
	net = json_object_get_string_member(o, "network");
	hex = json_object_get_string_member(o, "hash");
	exp = json_object_get_int_member(o, "expires_ms");
	uses = json_object_get_int_member(o, "uses_left");
	if (!tund_network_name_valid(net) || strlen(hex) != 2 * HASH_LEN ||
	    sodium_hex2bin(e->hash, HASH_LEN, hex, strlen(hex), NULL, &hl, NULL) || hl != HASH_LEN ||
	    exp <= 0 || uses < 0 || uses > TUND_INVITE_MAX_USES)
		return false;
	g_strlcpy(e->network, net, sizeof(e->network));
	e->expires_ms = (uint64_t)exp;
	e->uses_left = (uint32_t)uses;
	e->revoked = json_object_get_boolean_member(o, "revoked");
	return true;
}

/* The whole file, or false (items untouched beyond what was added). */
static bool decode(const char *data, gsize len, GArray *items, const char **bad)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root, *list;
	JsonObject *o;

	*bad = "not a tund invites file";
	if (!json_parser_load_from_data(parser, data, (gssize)len, NULL) ||
	    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root))
		return false;
	o = json_node_get_object(root);
	if (json_object_get_int_member_with_default(o, "version", 0) != 1 ||
	    !(list = json_object_get_member(o, "invites")) || !JSON_NODE_HOLDS_ARRAY(list))
		return false;
	JsonArray *a = json_node_get_array(list);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		struct entry e;

		if (!decode_entry(json_array_get_element(a, i), &e)) {
			*bad = "an invite entry is malformed";
			return false;
		}
		g_array_append_val(items, e);
	}
	return true;
}

int tund_invites_load(const char *path, struct tund_invites **out, char *why, size_t why_len)
{
	struct tund_invites *iv = g_new0(struct tund_invites, 1);
	g_autoptr(GError) gerr = NULL;
	g_autofree char *data = NULL;
	const char *bad = NULL;
	gsize len = 0;

	iv->path = g_strdup(path);
	iv->items = g_array_new(FALSE, TRUE, sizeof(struct entry));
	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			*out = iv;
			return 0;
		}
		tund_why(why, why_len, "%s: %s", path, gerr->message);
		tund_invites_free(iv);
		return -EIO;
	}
	if (!decode(data, len, iv->items, &bad)) {
		tund_why(why, why_len, "%s: %s; limited invites are off until it is fixed or "
			 "removed (it is left as it is)", path, bad);
		tund_invites_free(iv);
		return -EINVAL;
	}
	*out = iv;
	return 0;
}

int tund_invites_get(struct tund_daemon *d, struct tund_invites **out, char *why, size_t why_len)
{
	g_autofree char *path = NULL;
	int ret;

	if (!d->invites) {
		path = g_build_filename(d->cfg.state_dir, "invites.json", NULL);
		ret = tund_invites_load(path, &d->invites, why, why_len);
		if (ret)
			return ret;
	}
	*out = d->invites;
	return 0;
}

void tund_invites_free(struct tund_invites *iv)
{
	if (!iv)
		return;
	sodium_memzero(iv->items->data, iv->items->len * sizeof(struct entry));
	g_array_unref(iv->items);
	g_free(iv->path);
	g_free(iv);
}

/* ---- operations ---- */

int tund_invites_issue(struct tund_invites *iv, const char *network, uint64_t expires_ms,
		       uint32_t uses, uint8_t token[TUND_NET_TOKEN_LEN], char *why, size_t why_len)
{
	struct entry e = { .expires_ms = expires_ms, .uses_left = uses };
	int ret;

	if (!tund_network_name_valid(network) || !uses || uses > TUND_INVITE_MAX_USES ||
	    !expires_ms) {
		tund_why(why, why_len, "bad invite limits");
		return -EINVAL;
	}
	g_strlcpy(e.network, network, sizeof(e.network));
	randombytes_buf(token, TUND_NET_TOKEN_LEN);
	token_hash(token, e.hash);
	g_array_append_val(iv->items, e);
	ret = save(iv);
	if (ret) {
		g_array_set_size(iv->items, iv->items->len - 1);
		sodium_memzero(token, TUND_NET_TOKEN_LEN);
		tund_why(why, why_len, "cannot save %s: %s", iv->path, g_strerror(-ret));
	}
	return ret;
}

static struct entry *find_hash(struct tund_invites *iv, const char *network,
			       const uint8_t hash[HASH_LEN])
{
	for (guint i = 0; i < iv->items->len; i++) {
		struct entry *e = &g_array_index(iv->items, struct entry, i);

		if (!strcmp(e->network, network) && !sodium_memcmp(e->hash, hash, HASH_LEN))
			return e;
	}
	return NULL;
}

int tund_invites_use(struct tund_invites *iv, const char *network,
		     const uint8_t token[TUND_NET_TOKEN_LEN], uint64_t now_ms, char *why,
		     size_t why_len)
{
	uint8_t h[HASH_LEN];
	struct entry *e;
	int ret;

	token_hash(token, h);
	e = find_hash(iv, network, h);
	if (!e) {
		tund_why(why, why_len, "unknown invite");
		return -EACCES;
	}
	if (e->revoked) {
		tund_why(why, why_len, "invite revoked");
		return -EACCES;
	}
	if (now_ms >= e->expires_ms) {
		char at[40];

		tund_invites_format_time(e->expires_ms, at, sizeof(at));
		tund_why(why, why_len, "invite expired at %s", at);
		return -EACCES;
	}
	if (!e->uses_left) {
		tund_why(why, why_len, "invite already used");
		return -EACCES;
	}
	e->uses_left--;
	ret = save(iv);
	if (ret) {
		e->uses_left++; /* a use we cannot record would be spent again after a restart */
		tund_why(why, why_len, "the admin cannot record the use: %s", g_strerror(-ret));
	}
	return ret;
}

int tund_invites_revoke(struct tund_invites *iv, const char *network, const char *id, char *why,
			size_t why_len)
{
	bool found = false;
	int ret;

	for (guint i = 0; id && i < iv->items->len; i++) {
		struct entry *e = &g_array_index(iv->items, struct entry, i);
		char eid[TUND_INVITE_ID_LEN + 1];

		hash_id(e->hash, eid);
		if (!strcmp(e->network, network) && !g_ascii_strcasecmp(eid, id) && !e->revoked) {
			e->revoked = found = true;
		}
	}
	if (!found) {
		tund_why(why, why_len, "network %s has no outstanding invite %s", network,
			 id ? id : "");
		return -ENOENT;
	}
	ret = save(iv);
	if (ret)
		tund_why(why, why_len, "cannot save %s: %s", iv->path, g_strerror(-ret));
	return ret;
}

static void add_entry(JsonBuilder *b, const struct entry *e, uint64_t now_ms)
{
	char id[TUND_INVITE_ID_LEN + 1], at[40];

	hash_id(e->hash, id);
	tund_invites_format_time(e->expires_ms, at, sizeof(at));
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_ID);
	json_builder_add_string_value(b, id);
	json_builder_set_member_name(b, TUND_KEY_EXPIRES);
	json_builder_add_int_value(b, (gint64)(e->expires_ms / 1000));
	json_builder_set_member_name(b, TUND_KEY_EXPIRES_AT);
	json_builder_add_string_value(b, at);
	json_builder_set_member_name(b, TUND_KEY_EXPIRED);
	json_builder_add_boolean_value(b, now_ms >= e->expires_ms);
	json_builder_set_member_name(b, TUND_KEY_USES_LEFT);
	json_builder_add_int_value(b, e->uses_left);
	json_builder_set_member_name(b, TUND_KEY_REVOKED);
	json_builder_add_boolean_value(b, e->revoked);
	json_builder_end_object(b);
}

JsonNode *tund_invites_list(struct tund_invites *iv, const char *network, uint64_t now_ms)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_array(b);
	for (guint i = 0; i < iv->items->len; i++) {
		const struct entry *e = &g_array_index(iv->items, struct entry, i);

		if (!strcmp(e->network, network))
			add_entry(b, e, now_ms);
	}
	json_builder_end_array(b);
	return json_builder_get_root(b);
}

int tund_invites_forget(struct tund_invites *iv, const char *network)
{
	guint before = iv->items->len;

	for (guint i = iv->items->len; i-- > 0;)
		if (!strcmp(g_array_index(iv->items, struct entry, i).network, network))
			g_array_remove_index(iv->items, i);
	return iv->items->len == before ? 0 : save(iv);
}
