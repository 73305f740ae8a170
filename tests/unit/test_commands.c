// SPDX-License-Identifier: MIT
/* The control commands (tund/control/commands.c, tund/cmd_*.c) driven as the control
 * socket drives them: one request line into tund_commands_handle, one reply
 * line out, on a daemon built for the test (no interface, no data plane). */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/keys.h"
#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/control/control_codec.h"
#include "tund/daemon/log.h"

static char key_a[TUND_KEY_B64_LEN + 1], key_b[TUND_KEY_B64_LEN + 1];

static void make_keys(void)
{
	uint8_t k[TUND_KEY_LEN];

	tund_key_generate(k);
	tund_key_encode(key_a, k);
	tund_key_generate(k);
	tund_key_encode(key_b, k);
}

/* The request must be answered with {"ok":false,"error":...} naming want. */
static void expect_error(struct fx *f, const char *line, const char *want)
{
	struct fx_reply r;

	fx_call(f, line, &r);
	CHECK(r.parsed && !r.ok);
	CHECK(r.error && strstr(r.error, want));
	if (!r.error || !strstr(r.error, want))
		fprintf(stderr, "  request %.80s: reply %s", line, r.line ? r.line : "(none)\n");
	fx_reply_clear(&r);
}

static bool expect_ok(struct fx *f, const char *line, struct fx_reply *r)
{
	fx_call(f, line, r);
	CHECK(r->parsed && r->ok && r->result);
	if (!r->parsed || !r->ok)
		fprintf(stderr, "  request %.80s: reply %s", line, r->line ? r->line : "(none)\n");
	return r->parsed && r->ok && r->result;
}

UNIT_TEST(commands_malformed_requests)
{
	struct fx f;
	fx_init(&f);

	expect_error(&f, "{", "malformed JSON");
	expect_error(&f, "not json at all", "malformed JSON");
	expect_error(&f, "[\"status\"]", "must be a JSON object");
	expect_error(&f, "null", "must be a JSON object");
	expect_error(&f, "{}", "needs a \"cmd\" string");
	expect_error(&f, "{\"cmd\":5}", "needs a \"cmd\" string");
	expect_error(&f, "{\"cmd\":null}", "needs a \"cmd\" string");
	expect_error(&f, "{\"cmd\":[\"status\"]}", "needs a \"cmd\" string");
	expect_error(&f, "{\"cmd\":\"frobnicate\"}", "unknown command \"frobnicate\"");
	expect_error(&f, "{\"cmd\":\"STATUS\"}", "unknown command");
	/* An error quotes at most 64 characters of what it was sent. */
	g_autofree char *long_cmd = g_strnfill(5000, 'x');
	g_autofree char *req = g_strdup_printf("{\"cmd\":\"%s\"}", long_cmd);
	struct fx_reply r;
	fx_call(&f, req, &r);
	CHECK(r.parsed && !r.ok && r.error && strlen(r.error) < 100);
	fx_reply_clear(&r);
	/* A quote and a newline in the command name stay inside one line. */
	expect_error(&f, "{\"cmd\":\"a\\\"b\\nc\"}", "unknown command \"a\"b\nc\"");
	fx_free(&f);
}

UNIT_TEST(commands_deep_nesting_answered_without_crash)
{
	struct fx f;
	fx_init(&f);
	/* As deep as a request may be long: a recursive parser would run
	 * off the stack here, so the depth is refused before parsing. */
	size_t depth = (TUND_CONTROL_MAX_REQUEST - 64) / 2;
	GString *s = g_string_new("{\"cmd\":\"status\",\"x\":");

	for (size_t i = 0; i < depth; i++)
		g_string_append_c(s, '[');
	for (size_t i = 0; i < depth; i++)
		g_string_append_c(s, ']');
	g_string_append_c(s, '}');
	CHECK(s->len <= TUND_CONTROL_MAX_REQUEST);
	struct fx_reply r;
	fx_call(&f, s->str, &r);
	CHECK(r.parsed && !r.ok);
	fx_reply_clear(&r);
	expect_error(&f, s->str, "nested deeper than");

	/* Unbalanced and shallow: a clean parse error. */
	g_string_truncate(s, 0);
	g_string_append(s, "{\"cmd\":\"status\",\"x\":[[[[}");
	expect_error(&f, s->str, "malformed JSON");
	g_string_free(s, TRUE);

	/* Over the request limit: refused before parsing. */
	g_autofree char *big = g_strnfill(TUND_CONTROL_MAX_REQUEST + 1, ' ');
	r.line = tund_commands_handle(&f.d, 1, big, strlen(big));
	CHECK(r.line && strstr(r.line, "request too large"));
	g_free(r.line);
	fx_free(&f);
}

UNIT_TEST(commands_status)
{
	struct fx f;
	fx_init(&f);
	char pub[TUND_KEY_B64_LEN + 1];
	struct fx_reply r;

	tund_key_encode(pub, f.d.public_key);
	if (expect_ok(&f, "{\"cmd\":\"status\"}", &r)) {
		CHECK(!g_strcmp0(fx_result_string(&r, "interface"), "tt-unit0"));
		CHECK(!g_strcmp0(fx_result_string(&r, "public_key"), pub));
		CHECK(fx_result_int(&r, "listen_port") == 51820);
		CHECK(fx_result_int(&r, "mtu") == 1420);
		CHECK(fx_result_int(&r, "peers") == 0);
		CHECK(fx_result_int(&r, "uptime") >= 0);
		/* The private key is in no reply. */
		char priv[TUND_KEY_B64_LEN + 1];
		tund_key_encode(priv, f.d.private_key);
		CHECK(!strstr(r.line, priv));
		sodium_memzero(priv, sizeof(priv));
	}
	fx_reply_clear(&r);
	/* Unknown members are ignored. */
	CHECK(expect_ok(&f, "{\"cmd\":\"status\",\"verbose\":[1,{\"a\":null}]}", &r));
	fx_reply_clear(&r);
	fx_free(&f);
}

static JsonArray *result_array(struct fx_reply *r, const char *name)
{
	JsonObject *o = r->result && JSON_NODE_HOLDS_OBJECT(r->result) ?
				json_node_get_object(r->result) : NULL;
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

UNIT_TEST(commands_peer_add_and_remove)
{
	struct fx f;
	fx_init(&f);
	struct fx_reply r;
	char own[TUND_KEY_B64_LEN + 1];

	make_keys();
	tund_key_encode(own, f.d.public_key);
	g_autofree char *add_a = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"alice\","
		"\"endpoint\":\"192.0.2.1:51820\",\"allowed_ips\":[\"10.77.0.2/32\"],\"psk\":\"%s\"}",
		key_a, key_b);

	/* Wrong or missing fields, each with its reason; nothing is added. */
	expect_error(&f, "{\"cmd\":\"peer.add\"}", "public_key");
	expect_error(&f, "{\"cmd\":\"peer.add\",\"public_key\":5}", "public_key");
	expect_error(&f, "{\"cmd\":\"peer.add\",\"public_key\":\"short\"}", "public_key");
	g_autofree char *bad_ips = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"allowed_ips\":\"10.0.0.0/8\"}", key_a);
	expect_error(&f, bad_ips, "allowed_ips");
	g_autofree char *bad_ep = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"endpoint\":\"1.2.3.4\"}", key_a);
	expect_error(&f, bad_ep, "endpoint");
	g_autofree char *self = g_strdup_printf("{\"cmd\":\"peer.add\",\"public_key\":\"%s\"}", own);
	expect_error(&f, self, "this node's own public key");
	CHECK(f.d.peers.items->len == 0);
	CHECK(access(f.d.peers_path, F_OK) != 0);

	/* Added, saved 0600 with its pre-shared key, listed without it. */
	if (expect_ok(&f, add_a, &r))
		CHECK(strstr(r.line, key_a) && !strstr(r.line, key_b));
	fx_reply_clear(&r);
	CHECK(f.d.peers.items->len == 1);
	CHECK(fx_mode(f.d.peers_path) == 0600);
	g_autofree char *saved = fx_read(f.d.peers_path, NULL);
	CHECK(saved && strstr(saved, key_a) && strstr(saved, key_b) && strstr(saved, "alice"));

	if (expect_ok(&f, "{\"cmd\":\"peers\"}", &r)) {
		JsonArray *a = result_array(&r, "peers");

		CHECK(a && json_array_get_length(a) == 1);
		CHECK(strstr(r.line, "\"alice\"") && strstr(r.line, "10.77.0.2/32"));
		CHECK(!strstr(r.line, key_b)); /* the psk */
	}
	fx_reply_clear(&r);

	/* A second key may not take the same name. */
	g_autofree char *dup_name = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"alice\"}", key_b);
	expect_error(&f, dup_name, "already used");
	CHECK(f.d.peers.items->len == 1);

	/* remove: by name; wrong-typed, missing and unknown peers refused. */
	expect_error(&f, "{\"cmd\":\"peer.remove\"}", "needs \"peer\"");
	expect_error(&f, "{\"cmd\":\"peer.remove\",\"peer\":7}", "needs \"peer\"");
	expect_error(&f, "{\"cmd\":\"peer.remove\",\"peer\":[\"alice\"]}", "needs \"peer\"");
	expect_error(&f, "{\"cmd\":\"peer.remove\",\"peer\":\"bob\"}", "no such peer: bob");
	CHECK(f.d.peers.items->len == 1);
	if (expect_ok(&f, "{\"cmd\":\"peer.remove\",\"peer\":\"alice\"}", &r))
		CHECK(!g_strcmp0(fx_result_string(&r, "removed"), key_a));
	fx_reply_clear(&r);
	CHECK(f.d.peers.items->len == 0);
	g_autofree char *after = fx_read(f.d.peers_path, NULL);
	CHECK(after && !strstr(after, key_a) && !strstr(after, key_b));
	fx_free(&f);
}

UNIT_TEST(commands_failed_save_changes_nothing)
{
	struct fx f;
	fx_init(&f);
	struct fx_reply r;

	make_keys();
	g_autofree char *add_a = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"alice\"}", key_a);
	g_autofree char *add_b = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"bob\"}", key_b);
	CHECK(expect_ok(&f, add_a, &r));
	fx_reply_clear(&r);
	g_autofree char *before = fx_read(f.d.peers_path, NULL);

	/* peers.json.tmp in the way: every change must fail and undo itself. */
	g_autofree char *tmp = g_strdup_printf("%s.tmp", f.d.peers_path);
	CHECK(mkdir(tmp, 0700) == 0);
	expect_error(&f, add_b, "cannot save peers");
	CHECK(f.d.peers.items->len == 1);
	expect_error(&f, "{\"cmd\":\"peer.remove\",\"peer\":\"alice\"}", "cannot save peers");
	CHECK(f.d.peers.items->len == 1 && tund_peer_list_find(&f.d.peers, "alice"));
	expect_error(&f, "{\"cmd\":\"peer.block\",\"peer\":\"alice\"}", "cannot save peers");
	struct tund_peer *p = tund_peer_list_find(&f.d.peers, "alice");
	CHECK(p && p->state == TUND_PEER_STATIC);
	g_autofree char *after = fx_read(f.d.peers_path, NULL);
	CHECK(before && after && !strcmp(before, after));
	CHECK(rmdir(tmp) == 0);
	fx_free(&f);
}

UNIT_TEST(commands_block_unblock_approve)
{
	struct fx f;
	fx_init(&f);
	struct fx_reply r;

	make_keys();
	g_autofree char *add_a = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"alice\"}", key_a);
	CHECK(expect_ok(&f, add_a, &r));
	fx_reply_clear(&r);

	expect_error(&f, "{\"cmd\":\"peer.block\"}", "no such peer: (none given)");
	expect_error(&f, "{\"cmd\":\"peer.block\",\"peer\":true}", "no such peer");
	expect_error(&f, "{\"cmd\":\"peer.block\",\"peer\":\"carol\"}", "no such peer: carol");
	expect_error(&f, "{\"cmd\":\"peer.unblock\",\"peer\":\"alice\"}", "not blocked");
	/* Only network members wait for approval. */
	expect_error(&f, "{\"cmd\":\"peer.approve\",\"peer\":\"alice\"}", "static, not pending");

	if (expect_ok(&f, "{\"cmd\":\"peer.block\",\"peer\":\"alice\"}", &r)) {
		CHECK(!g_strcmp0(fx_result_string(&r, "state"), "blocked"));
		CHECK(!g_strcmp0(fx_result_string(&r, "peer"), key_a));
	}
	fx_reply_clear(&r);
	g_autofree char *saved = fx_read(f.d.peers_path, NULL);
	CHECK(saved && strstr(saved, "blocked"));
	/* Blocked is kept across a restart: the saved list says so. */
	struct tund_peer_list back;
	char err[TUND_WHY_LEN];
	tund_peer_list_init(&back);
	CHECK(saved && tund_peer_list_parse(&back, saved, strlen(saved), err, sizeof(err)) == 0);
	struct tund_peer *p = tund_peer_list_find(&back, "alice");
	CHECK(p && p->state == TUND_PEER_BLOCKED);
	tund_peer_list_clear(&back);

	/* peer.add may not quietly unblock it either... but a static peer
	 * unblocked is static again. */
	if (expect_ok(&f, "{\"cmd\":\"peer.unblock\",\"peer\":\"alice\"}", &r))
		CHECK(!g_strcmp0(fx_result_string(&r, "state"), "static"));
	fx_reply_clear(&r);
	fx_free(&f);
}

UNIT_TEST(commands_networks_and_their_errors)
{
	struct fx f;
	fx_init(&f);
	struct fx_reply r;

	if (expect_ok(&f, "{\"cmd\":\"networks\"}", &r)) {
		JsonArray *a = result_array(&r, "networks");

		CHECK(a && json_array_get_length(a) == 0);
	}
	fx_reply_clear(&r);

	/* Refused before anything starts: bad or wrong-typed fields. */
	expect_error(&f, "{\"cmd\":\"network.create\"}", "name: required");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":5}", "name: required");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"has space\"}", "name:");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"n\",\"prefix\":\"10.0.0.0/33\"}",
		     "prefix:");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"n\",\"broker\":\"http://x\"}",
		     "broker:");
	expect_error(&f,
		     "{\"cmd\":\"network.create\",\"name\":\"n\",\"broker\":\"mqtts://b:8883\"}",
		     "not supported");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"n\",\"stun\":5}",
		     "stun: expected a list of strings");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"n\",\"turn\":[\"x\",3]}",
		     "turn: expected a list of strings");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"n\",\"stun\":[\"::::\"]}",
		     "stun:");
	expect_error(&f, "{\"cmd\":\"network.create\",\"name\":\"n\",\"admission\":\"closed\"}",
		     "admission: expected open or approve");
	expect_error(&f, "{\"cmd\":\"network.join\"}", "invite: required");
	expect_error(&f, "{\"cmd\":\"network.join\",\"invite\":[]}", "invite: required");
	expect_error(&f, "{\"cmd\":\"network.join\",\"invite\":\"tund1:AAAA\"}", "invite:");
	expect_error(&f, "{\"cmd\":\"network.join\",\"invite\":\"tund9:AAAA\"}", "version");
	expect_error(&f, "{\"cmd\":\"network.leave\",\"name\":\"nope\"}",
		     "not a member of a network called \"nope\"");
	expect_error(&f, "{\"cmd\":\"network.leave\"}", "not a member of a network called \"\"");
	expect_error(&f, "{\"cmd\":\"network.invite\",\"name\":\"nope\"}", "not a member");
	CHECK(f.d.networks->len == 0);
	CHECK(access(f.d.networks_path, F_OK) != 0);
	fx_free(&f);
}

UNIT_TEST(commands_manual_ping_netcheck_errors)
{
	struct fx f;
	fx_init(&f);
	struct fx_reply r;

	make_keys();
	expect_error(&f, "{\"cmd\":\"peer.offer\",\"peer\":\"x\"}", "no such peer: x");
	expect_error(&f, "{\"cmd\":\"peer.offer\"}", "no such peer: (none given)");
	expect_error(&f, "{\"cmd\":\"peer.answer\"}", "not a tund-sig2: blob");
	expect_error(&f, "{\"cmd\":\"peer.answer\",\"blob\":42}", "not a tund-sig2: blob");
	expect_error(&f, "{\"cmd\":\"peer.answer\",\"blob\":\"tund-sig2:AAAA\"}", "blob:");
	expect_error(&f, "{\"cmd\":\"peer.accept\",\"blob\":\"garbage\"}", "not a tund-sig2: blob");
	expect_error(&f, "{\"cmd\":\"ping\",\"peer\":\"x\"}", "no such peer: x");

	g_autofree char *add_a = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"alice\"}", key_a);
	CHECK(expect_ok(&f, add_a, &r));
	fx_reply_clear(&r);
	expect_error(&f, "{\"cmd\":\"ping\",\"peer\":\"alice\",\"count\":0}", "count: 1 to");
	expect_error(&f, "{\"cmd\":\"ping\",\"peer\":\"alice\",\"count\":100000}", "count: 1 to");
	expect_error(&f, "{\"cmd\":\"ping\",\"peer\":\"alice\"}", "no IPv4 overlay address");
	expect_error(&f, "{\"cmd\":\"peer.offer\",\"peer\":\"alice\",\"network\":\"nope\"}",
		     "no network called \"nope\"");
	expect_error(&f, "{\"cmd\":\"netcheck\",\"network\":\"nope\"}", "no network called");
	expect_error(&f, "{\"cmd\":\"netcheck\"}", "nothing to check");
	fx_free(&f);
}
