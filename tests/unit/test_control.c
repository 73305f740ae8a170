// SPDX-License-Identifier: MIT
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/control/control_codec.h"
#include "tund/daemon/log.h"
#include "tund/daemon/peers.h"

static const char KEY_A[] = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
static const char KEY_B[] = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

/* The request object, or NULL with err set. */
static JsonObject *decode(const char *line, size_t len, const char **cmd, char *err)
{
	JsonObject *o = NULL;

	err[0] = '\0';
	if (tund_control_decode_request(line, len, &o, cmd, err, TUND_WHY_LEN) < 0)
		return NULL;
	return o;
}

UNIT_TEST(control_decode_good)
{
	char err[TUND_WHY_LEN] = "";
	const char *cmd = NULL;
	const char line[] = "{\"cmd\":\"status\",\"extra\":1}";
	JsonObject *o = decode(line, strlen(line), &cmd, err);

	CHECK(o != NULL);
	CHECK(cmd && !strcmp(cmd, "status"));
	if (o)
		json_object_unref(o);
}

static void expect_bad(const char *line, size_t len, const char *needle)
{
	char err[TUND_WHY_LEN] = "";
	const char *cmd = NULL;
	JsonObject *o = decode(line, len, &cmd, err);

	CHECK(o == NULL);
	CHECK(strstr(err, needle));
	if (o)
		json_object_unref(o);
}

UNIT_TEST(control_decode_bad)
{
	expect_bad("{", 1, "malformed JSON");
	expect_bad("[1,2]", 5, "must be a JSON object");
	expect_bad("\"status\"", 8, "must be a JSON object");
	expect_bad("{\"cmd\":5}", 9, "\"cmd\" string");
	expect_bad("{\"command\":\"status\"}", 20, "\"cmd\" string");
	expect_bad("{\"cmd\":\"st\0\"}", 12, "not UTF-8");
	expect_bad("\xff\xfe", 2, "not UTF-8");

	size_t big = TUND_CONTROL_MAX_REQUEST + 1;
	char *line = g_malloc(big);
	memset(line, ' ', big);
	expect_bad(line, big, "too large");
	g_free(line);
}

UNIT_TEST(control_encode_replies)
{
	g_autofree char *ok = tund_control_encode_ok(json_node_init_int(json_node_alloc(), 7));
	g_autofree char *bad = tund_control_encode_error("no such peer: \"x\"\n");

	CHECK(!strcmp(ok, "{\"ok\":true,\"result\":7}\n"));
	/* The message is escaped: one reply is always one line. */
	CHECK(g_str_has_suffix(bad, "\n") && strchr(bad, '\n') == bad + strlen(bad) - 1);
	CHECK(strstr(bad, "\"ok\":false") && strstr(bad, "no such peer"));
}

static struct tund_peer *peer_from(const char *json, char *err)
{
	g_autoptr(JsonParser) p = json_parser_new();
	struct tund_peer *peer = NULL;

	err[0] = '\0';
	if (!json_parser_load_from_data(p, json, -1, NULL))
		return NULL;
	tund_peer_from_json(json_node_get_object(json_parser_get_root(p)), &peer, err,
			    TUND_WHY_LEN);
	return peer;
}

/* As peer_from for a peer.add request. */
static struct tund_peer *request_peer(JsonParser *jp, char *err)
{
	struct tund_peer *peer = NULL;

	err[0] = '\0';
	tund_peer_from_request(json_node_get_object(json_parser_get_root(jp)), &peer, err,
			       TUND_WHY_LEN);
	return peer;
}

static char *replace_key(const char *tmpl)
{
	g_auto(GStrv) parts = g_strsplit(tmpl, "KEY", 2);

	return g_strjoinv(KEY_A, parts);
}

UNIT_TEST(peer_json_validation)
{
	char err[TUND_WHY_LEN] = "";
	g_autofree char *good = g_strdup_printf(
		"{\"public_key\":\"%s\",\"name\":\"alice\",\"endpoint\":\"192.0.2.1:51820\","
		"\"allowed_ips\":[\"10.77.0.2/32\",\"10.1.0.9/24\",\"fd77::2\"]}",
		KEY_A);
	struct tund_peer *p = peer_from(good, err);

	CHECK(p != NULL);
	if (p) {
		CHECK(!strcmp(p->name, "alice"));
		CHECK(p->allowed_ips->len == 3);
		/* Host bits are cleared: 10.1.0.9/24 names the network. */
		CHECK(g_array_index(p->allowed_ips, struct tund_cidr, 1).addr[3] == 0);
		tund_peer_free(p);
	}

	static const char *const bad[] = {
		"{}",
		"{\"public_key\":\"nope\"}",
		"{\"public_key\":5}",
		"{\"public_key\":\"KEY\",\"name\":\"has space\"}",
		"{\"public_key\":\"KEY\",\"endpoint\":\"1.2.3.4\"}",
		"{\"public_key\":\"KEY\",\"allowed_ips\":\"10.0.0.0/8\"}",
		"{\"public_key\":\"KEY\",\"allowed_ips\":[\"10.0.0.0/33\"]}",
		"{\"public_key\":\"KEY\",\"allowed_ips\":[7]}",
		"{\"public_key\":\"KEY\",\"psk\":\"short\"}",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *j = replace_key(bad[i]);
		p = peer_from(j, err);
		CHECK(p == NULL);
		CHECK(err[0] != '\0');
		tund_peer_free(p);
	}
}

UNIT_TEST(peer_list_roundtrip_and_names)
{
	struct tund_peer_list l, back;
	char err[TUND_WHY_LEN] = "";
	size_t len;
	g_autofree char *ja = g_strdup_printf(
		"{\"public_key\":\"%s\",\"name\":\"alice\",\"psk\":\"%s\",\"allowed_ips\":[\"10.77.0.2\"]}",
		KEY_A, KEY_B);
	g_autofree char *jb = g_strdup_printf("{\"public_key\":\"%s\",\"name\":\"alice\"}", KEY_B);

	tund_peer_list_init(&l);
	tund_peer_list_init(&back);
	struct tund_peer *a = peer_from(ja, err), *b = peer_from(jb, err);
	CHECK(a && b);
	CHECK(tund_peer_list_upsert(&l, a, err, sizeof(err)) == 0);
	/* Another key may not take a name in use. */
	CHECK(tund_peer_list_upsert(&l, b, err, sizeof(err)) == -EEXIST);
	CHECK(strstr(err, "already used"));
	tund_peer_free(b);
	CHECK(tund_peer_list_find(&l, "alice") == a);
	CHECK(tund_peer_list_find(&l, KEY_A) == a);
	CHECK(tund_peer_list_find(&l, KEY_B) == NULL);

	g_autofree char *text = tund_peer_list_serialize(&l, &len);
	CHECK(tund_peer_list_parse(&back, text, len, err, sizeof(err)) == 0);
	CHECK(back.items->len == 1);
	struct tund_peer *a2 = tund_peer_list_find(&back, "alice");
	CHECK(a2 && a2->has_psk && !memcmp(a2->psk, a->psk, 32));
	CHECK(a2 && a2->allowed_ips->len == 1);

	/* A corrupt file is refused whole. */
	struct tund_peer_list c;
	tund_peer_list_init(&c);
	CHECK(tund_peer_list_parse(&c, text, len / 2, err, sizeof(err)) == -EINVAL);
	CHECK(tund_peer_list_parse(&c, "{\"version\":2,\"peers\":[]}", 24, err, sizeof(err)) < 0);
	CHECK(c.items->len == 0);
	tund_peer_list_clear(&c);
	tund_peer_list_clear(&l);
	tund_peer_list_clear(&back);
}

/* A status request whose "x" is a value nested `levels` deep in all. */
static char *nested(int levels)
{
	GString *s = g_string_new("{\"cmd\":\"status\",\"x\":");

	for (int i = 0; i < levels - 1; i++)
		g_string_append(s, i % 2 ? "{\"a\":" : "[");
	g_string_append(s, "1");
	for (int i = levels - 2; i >= 0; i--)
		g_string_append_c(s, i % 2 ? '}' : ']');
	g_string_append_c(s, '}');
	return g_string_free(s, FALSE);
}

UNIT_TEST(control_decode_bounds_nesting)
{
	char err[TUND_WHY_LEN] = "";
	const char *cmd = NULL;
	JsonObject *o;
	g_autofree char *ok = nested(TUND_CONTROL_MAX_DEPTH);
	g_autofree char *deep = nested(TUND_CONTROL_MAX_DEPTH + 1);
	g_autofree char *in_str = NULL;
	char *huge;

	o = decode(ok, strlen(ok), &cmd, err);
	CHECK(o != NULL && err[0] == '\0');
	if (o)
		json_object_unref(o);
	expect_bad(deep, strlen(deep), "nested deeper than 16 levels");

	/* Brackets inside a string (escaped quote included) are not nesting. */
	in_str = g_strdup_printf("{\"cmd\":\"status\",\"s\":\"\\\"%s\"}",
				 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{");
	o = decode(in_str, strlen(in_str), &cmd, err);
	CHECK(o != NULL && err[0] == '\0');
	if (o)
		json_object_unref(o);

	/* Nearly 64 KiB of brackets: refused by the scan, never parsed. */
	huge = g_malloc(TUND_CONTROL_MAX_REQUEST);
	memset(huge, '[', TUND_CONTROL_MAX_REQUEST);
	expect_bad(huge, TUND_CONTROL_MAX_REQUEST, "nested deeper");
	memset(huge, '{', TUND_CONTROL_MAX_REQUEST);
	expect_bad(huge, TUND_CONTROL_MAX_REQUEST, "nested deeper");
	g_free(huge);
}

UNIT_TEST(peer_add_refuses_daemon_fields)
{
	char err[TUND_WHY_LEN] = "";
	struct tund_peer *p;
	static const char *const forbidden[] = {
		"{\"public_key\":\"KEY\",\"state\":\"member\",\"network\":\"friends\"}",
		"{\"public_key\":\"KEY\",\"network\":\"friends\"}",
		"{\"public_key\":\"KEY\",\"state\":\"static\"}",
		"{\"public_key\":\"KEY\",\"state\":null}",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(forbidden); i++) {
		g_autofree char *j = replace_key(forbidden[i]);
		g_autoptr(JsonParser) jp = json_parser_new();

		CHECK(json_parser_load_from_data(jp, j, -1, NULL));
		p = request_peer(jp, err);
		CHECK(p == NULL);
		CHECK(strstr(err, "set by the daemon, not by peer.add"));
		tund_peer_free(p);
	}

	/* The state file still carries both (its loader is tund_peer_from_json),
	 * and an ordinary peer.add still works. */
	g_autofree char *state = replace_key(forbidden[0]);
	p = peer_from(state, err);
	CHECK(p && p->network && !strcmp(p->network, "friends"));
	tund_peer_free(p);
	g_autofree char *plain = replace_key("{\"public_key\":\"KEY\",\"name\":\"bob\"}");
	g_autoptr(JsonParser) jp = json_parser_new();
	CHECK(json_parser_load_from_data(jp, plain, -1, NULL));
	p = request_peer(jp, err);
	CHECK(p && !p->network && err[0] == '\0');
	tund_peer_free(p);
}
