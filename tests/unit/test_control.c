// SPDX-License-Identifier: MIT
#include <glib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/control/control_codec.h"
#include "tund/daemon/peers.h"

static const char KEY_A[] = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
static const char KEY_B[] = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

UNIT_TEST(control_decode_good)
{
	char *err = NULL;
	const char *cmd = NULL;
	const char line[] = "{\"cmd\":\"status\",\"extra\":1}";
	JsonObject *o = tund_control_decode_request(line, strlen(line), &cmd, &err);

	CHECK(o != NULL);
	CHECK(cmd && !strcmp(cmd, "status"));
	if (o)
		json_object_unref(o);
}

static void expect_bad(const char *line, size_t len, const char *needle)
{
	char *err = NULL;
	const char *cmd = NULL;
	JsonObject *o = tund_control_decode_request(line, len, &cmd, &err);

	CHECK(o == NULL);
	CHECK(err && strstr(err, needle));
	g_free(err);
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

static struct tund_peer *peer_from(const char *json, char **err)
{
	g_autoptr(JsonParser) p = json_parser_new();
	*err = NULL;
	if (!json_parser_load_from_data(p, json, -1, NULL))
		return NULL;
	return tund_peer_from_json(json_node_get_object(json_parser_get_root(p)), err);
}

static char *replace_key(const char *tmpl)
{
	g_auto(GStrv) parts = g_strsplit(tmpl, "KEY", 2);

	return g_strjoinv(KEY_A, parts);
}

UNIT_TEST(peer_json_validation)
{
	char *err;
	g_autofree char *good = g_strdup_printf(
		"{\"public_key\":\"%s\",\"name\":\"alice\",\"endpoint\":\"192.0.2.1:51820\","
		"\"allowed_ips\":[\"10.77.0.2/32\",\"10.1.0.9/24\",\"fd77::2\"]}",
		KEY_A);
	struct tund_peer *p = peer_from(good, &err);

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
		p = peer_from(j, &err);
		CHECK(p == NULL);
		CHECK(err != NULL);
		g_free(err);
		tund_peer_free(p);
	}
}

UNIT_TEST(peer_list_roundtrip_and_names)
{
	struct tund_peer_list l, back;
	char *err = NULL;
	size_t len;
	g_autofree char *ja = g_strdup_printf(
		"{\"public_key\":\"%s\",\"name\":\"alice\",\"psk\":\"%s\",\"allowed_ips\":[\"10.77.0.2\"]}",
		KEY_A, KEY_B);
	g_autofree char *jb = g_strdup_printf("{\"public_key\":\"%s\",\"name\":\"alice\"}", KEY_B);

	tund_peer_list_init(&l);
	tund_peer_list_init(&back);
	struct tund_peer *a = peer_from(ja, &err), *b = peer_from(jb, &err);
	CHECK(a && b);
	CHECK(tund_peer_list_upsert(&l, a, &err));
	/* Another key may not take a name in use. */
	CHECK(!tund_peer_list_upsert(&l, b, &err));
	CHECK(err && strstr(err, "already used"));
	g_free(err);
	tund_peer_free(b);
	CHECK(tund_peer_list_find(&l, "alice") == a);
	CHECK(tund_peer_list_find(&l, KEY_A) == a);
	CHECK(tund_peer_list_find(&l, KEY_B) == NULL);

	g_autofree char *text = tund_peer_list_serialize(&l, &len);
	CHECK(tund_peer_list_parse(&back, text, len, &err));
	CHECK(back.items->len == 1);
	struct tund_peer *a2 = tund_peer_list_find(&back, "alice");
	CHECK(a2 && a2->has_psk && !memcmp(a2->psk, a->psk, 32));
	CHECK(a2 && a2->allowed_ips->len == 1);

	/* A corrupt file is refused whole. */
	struct tund_peer_list c;
	tund_peer_list_init(&c);
	CHECK(!tund_peer_list_parse(&c, text, len / 2, &err));
	g_free(err);
	CHECK(!tund_peer_list_parse(&c, "{\"version\":2,\"peers\":[]}", 24, &err));
	g_free(err);
	CHECK(c.items->len == 0);
	tund_peer_list_clear(&c);
	tund_peer_list_clear(&l);
	tund_peer_list_clear(&back);
}
