// SPDX-License-Identifier: MIT
/* tundctl's pure parts: human formatting, argument checks, reply parsing,
 * and one round trip of the client against an in-process socket server. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/format.h"
#include "tests/unit/unit.h"

static bool dur_is(int64_t s, const char *want)
{
	char buf[64];

	tund_format_duration(buf, sizeof(buf), s);
	return strcmp(buf, want) == 0;
}

UNIT_TEST(ctl_format_duration)
{
	char tiny[4];

	CHECK(dur_is(0, "0s"));
	CHECK(dur_is(-5, "0s"));
	CHECK(dur_is(45, "45s"));
	CHECK(dur_is(192, "3m12s"));
	CHECK(dur_is(60, "1m"));
	CHECK(dur_is(3600, "1h"));
	CHECK(dur_is(3605, "1h5s"));
	CHECK(dur_is(90061, "1d1h1m1s"));
	CHECK(dur_is(86400 * 400, "400d"));
	/* Truncates but stays a string. */
	tund_format_duration(tiny, sizeof(tiny), 90061);
	CHECK(strlen(tiny) < sizeof(tiny));
}

UNIT_TEST(ctl_format_age)
{
	char buf[64];

	tund_format_age(buf, sizeof(buf), 0, 1000);
	CHECK(strcmp(buf, "never") == 0);
	tund_format_age(buf, sizeof(buf), 988, 1000);
	CHECK(strcmp(buf, "12s ago") == 0);
	tund_format_age(buf, sizeof(buf), 1000 - 192, 1000);
	CHECK(strcmp(buf, "3m12s ago") == 0);
	tund_format_age(buf, sizeof(buf), 1005, 1000);
	CHECK(strcmp(buf, "0s ago") == 0);
}

static bool bytes_is(uint64_t n, const char *want)
{
	char buf[32];

	tund_format_bytes(buf, sizeof(buf), n);
	return strcmp(buf, want) == 0;
}

UNIT_TEST(ctl_format_bytes)
{
	CHECK(bytes_is(0, "0 B"));
	CHECK(bytes_is(1023, "1023 B"));
	CHECK(bytes_is(1024, "1.00 KiB"));
	CHECK(bytes_is(1536, "1.50 KiB"));
	CHECK(bytes_is(1048576, "1.00 MiB"));
	CHECK(bytes_is(5ull << 30, "5.00 GiB"));
	CHECK(bytes_is(UINT64_MAX, "16.00 EiB"));
}

UNIT_TEST(ctl_format_key_short)
{
	char buf[64];

	tund_format_key_short(buf, sizeof(buf), "mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=");
	CHECK(strcmp(buf, "mK0uK/75\u2026") == 0);
	tund_format_key_short(buf, sizeof(buf), "abc");
	CHECK(strcmp(buf, "abc") == 0);
	tund_format_key_short(buf, sizeof(buf), "12345678");
	CHECK(strcmp(buf, "12345678") == 0);
}

UNIT_TEST(ctl_format_sanitize)
{
	char *s = tund_format_sanitize("a\nb\x1b[31m\t");

	CHECK(strcmp(s, "a?b?[31m?") == 0);
	g_free(s);
	s = tund_format_sanitize("caf\xc3\xa9 \xff");
	CHECK(g_utf8_validate(s, -1, NULL));
	CHECK(strncmp(s, "caf\xc3\xa9 ", 6) == 0);
	g_free(s);
	s = tund_format_sanitize(NULL);
	CHECK(strcmp(s, "") == 0);
	g_free(s);
}

UNIT_TEST(ctl_format_table)
{
	static const char *const head[] = { "NAME", "KEY", "RX" };
	static const char *const r1[] = { "alice", "mK0uK/75\u2026", "1.00 KiB" };
	static const char *const r2[] = { NULL, "abc", "0 B" };
	struct tund_table *t = tund_table_new(3, head);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	tund_table_add(t, r1);
	tund_table_add(t, r2);
	tund_table_print(t, f);
	fclose(f);
	/* "…" counts as one column; NULL prints as "-"; no trailing blanks. */
	CHECK(strcmp(out, "NAME   KEY        RX\n"
			  "alice  mK0uK/75\u2026  1.00 KiB\n"
			  "-      abc        0 B\n") == 0);
	free(out);
	tund_table_free(t);
}

static bool endpoint_ok(const char *text)
{
	char why[160];

	return tund_args_check_endpoint(text, why, sizeof(why));
}

UNIT_TEST(ctl_args_endpoint)
{
	char why[160];

	CHECK(endpoint_ok("1.2.3.4:51820"));
	CHECK(endpoint_ok("vpn.example.org:1"));
	CHECK(endpoint_ok("localhost:65535"));
	CHECK(endpoint_ok("[::1]:51820"));
	CHECK(endpoint_ok("[2001:db8::7]:443"));
	CHECK(endpoint_ok("[fe80::1%eth0]:51820"));

	CHECK(!endpoint_ok(""));
	CHECK(!endpoint_ok(NULL));
	CHECK(!endpoint_ok("1.2.3.4"));
	CHECK(!endpoint_ok("1.2.3.4:"));
	CHECK(!endpoint_ok("1.2.3.4:0"));
	CHECK(!endpoint_ok("1.2.3.4:65536"));
	CHECK(!endpoint_ok("1.2.3.4:123456"));
	CHECK(!endpoint_ok("1.2.3.4:+80"));
	CHECK(!endpoint_ok("1.2.3.4:80x"));
	CHECK(!endpoint_ok(":51820"));
	CHECK(!endpoint_ok("300.1.1.1:5"));
	CHECK(!endpoint_ok("a b:1"));
	CHECK(!endpoint_ok("-host:1"));
	CHECK(!endpoint_ok("::1:51820"));
	CHECK(!endpoint_ok("[::1]51820"));
	CHECK(!endpoint_ok("[::1]"));
	CHECK(!endpoint_ok("[1.2.3.4]:80"));
	CHECK(!endpoint_ok("[zz]:1"));
	CHECK(!endpoint_ok("[fe80::1%]:1"));

	CHECK(!tund_args_check_endpoint("1.2.3.4:0", why, sizeof(why)));
	CHECK(strstr(why, "1-65535") != NULL);
	CHECK(!tund_args_check_endpoint("::1:5", why, sizeof(why)));
	CHECK(strstr(why, "[ADDRESS]:PORT") != NULL);
}

UNIT_TEST(ctl_args_cidrs)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	char *bad = NULL;

	CHECK(tund_args_parse_cidrs(a, "10.0.0.1, fd00::/64 ,192.168.0.0/16", &bad));
	CHECK(bad == NULL);
	CHECK(a->len == 3);
	if (a->len == 3) {
		CHECK(strcmp(g_ptr_array_index(a, 0), "10.0.0.1/32") == 0);
		CHECK(strcmp(g_ptr_array_index(a, 1), "fd00::/64") == 0);
		CHECK(strcmp(g_ptr_array_index(a, 2), "192.168.0.0/16") == 0);
	}
	CHECK(tund_args_parse_cidrs(a, "fd00::1", &bad));
	CHECK(strcmp(g_ptr_array_index(a, a->len - 1), "fd00::1/128") == 0);

	CHECK(!tund_args_parse_cidrs(a, "10.0.0.0/33", &bad));
	CHECK(bad && strcmp(bad, "10.0.0.0/33") == 0);
	g_free(bad);
	CHECK(!tund_args_parse_cidrs(a, "10.0.0.0/8,,10.1.0.0/16", &bad));
	CHECK(bad && strcmp(bad, "") == 0);
	g_free(bad);
	CHECK(!tund_args_parse_cidrs(a, "", &bad));
	g_free(bad);
	CHECK(!tund_args_parse_cidrs(a, "example.org", &bad));
	g_free(bad);
	g_ptr_array_free(a, TRUE);
}

UNIT_TEST(ctl_args_name_and_key)
{
	static const char key[] = "mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=";
	char out[TUND_KEY_B64_LEN + 1], why[160];

	CHECK(tund_args_check_name("alice", why, sizeof(why)));
	CHECK(tund_args_check_name("caf\xc3\xa9", why, sizeof(why)));
	CHECK(!tund_args_check_name("", why, sizeof(why)));
	CHECK(!tund_args_check_name("a\nb", why, sizeof(why)));
	CHECK(!tund_args_check_name("\xff", why, sizeof(why)));
	CHECK(!tund_args_check_name(key, why, sizeof(why)));

	CHECK(tund_args_normalise_key(out, "mK0uK/752cklqKYAThVwWcnqV7FvWVnuhRzkJldaHWw=\n"));
	CHECK(strcmp(out, key) == 0);
	CHECK(!tund_args_normalise_key(out, "mK0uK/752ckl"));
	CHECK(!tund_args_normalise_key(out, "alice"));
}

/* 0 from the parser; *remote: it said -EREMOTEIO (tund's own ok:false). */
static bool reply(const char *text, JsonNode **res, char *err, bool *remote)
{
	int ret = tund_client_parse_reply(text, strlen(text), res, err, TUND_CTL_WHY_LEN);

	*remote = ret == -EREMOTEIO;
	return ret == 0;
}

UNIT_TEST(ctl_client_parse_reply)
{
	JsonNode *res;
	char err[TUND_CTL_WHY_LEN] = "";
	bool remote;
	int64_t v;

	CHECK(reply("{\"ok\":true,\"result\":{\"mtu\":1420,\"new_field\":[1,2]}}\n", &res, err,
		    &remote));
	CHECK(res && JSON_NODE_HOLDS_OBJECT(res));
	if (res) {
		JsonObject *o = json_node_get_object(res);

		CHECK(tund_client_get_int(o, "mtu", &v) && v == 1420);
		CHECK(!tund_client_get_int(o, "missing", &v));
		CHECK(tund_client_get_string(o, "mtu") == NULL);
		json_node_unref(res);
	}

	CHECK(reply("{\"ok\":true}", &res, err, &remote));
	CHECK(res && JSON_NODE_HOLDS_OBJECT(res));
	if (res)
		json_node_unref(res);

	CHECK(!reply("{\"ok\":false,\"error\":\"no such peer\"}\n", &res, err, &remote));
	CHECK(remote && res == NULL && strcmp(err, "no such peer") == 0);

	/* An error message that would add a line to stderr is flattened. */
	CHECK(!reply("{\"ok\":false,\"error\":\"two\\nlines\"}", &res, err, &remote));
	CHECK(remote && strcmp(err, "two?lines") == 0);

	CHECK(!reply("{\"ok\":false}", &res, err, &remote));
	CHECK(remote && *err);

	static const char *const malformed[] = {
		"", "not json", "[]", "{\"ok\":\"yes\"}", "{\"result\":{}}", "{\"ok\":true",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(malformed); i++) {
		CHECK(!reply(malformed[i], &res, err, &remote));
		CHECK(!remote && strncmp(err, "malformed reply", 15) == 0);
	}
	CHECK(tund_client_parse_reply("{\"ok\":true}\0x", 13, &res, err, sizeof(err)) == -EPROTO);
}

UNIT_TEST(ctl_client_fields)
{
	JsonNode *res;
	char err[TUND_CTL_WHY_LEN] = "";
	bool remote;
	int64_t v = 0;

	CHECK(reply("{\"ok\":true,\"result\":{\"a\":192.0,\"b\":1.5,\"c\":null,\"d\":\"x\","
		    "\"e\":-3}}",
		    &res, err, &remote));
	if (!res)
		return;
	JsonObject *o = json_node_get_object(res);

	CHECK(tund_client_get_int(o, "a", &v) && v == 192);
	CHECK(!tund_client_get_int(o, "b", &v));
	CHECK(!tund_client_get_int(o, "c", &v));
	CHECK(!tund_client_get_int(o, "d", &v));
	CHECK(tund_client_get_int(o, "e", &v) && v == -3);
	CHECK(tund_client_get_string(o, "c") == NULL);
	CHECK(strcmp(tund_client_get_string(o, "d"), "x") == 0);
	CHECK(tund_client_has_null(o, "c"));
	CHECK(!tund_client_has_null(o, "d"));
	CHECK(!tund_client_has_null(o, "missing"));
	CHECK(tund_client_get_string(NULL, "d") == NULL);
	json_node_unref(res);
}

UNIT_TEST(ctl_client_unreachable)
{
	char path[200], err[TUND_CTL_WHY_LEN] = "";
	JsonObject *req = json_object_new();
	JsonNode *res = NULL;
	int ret;

	snprintf(path, sizeof(path), "/tmp/tund-unit-%d-none.sock", (int)getpid());
	ret = tund_client_call(path, req, &res, err, sizeof(err));
	json_object_unref(req);
	CHECK(ret == -ENOENT);
	CHECK(res == NULL);
	CHECK(strncmp(err, "cannot reach tund at /tmp/tund-unit-", 36) == 0);
	CHECK(strstr(err, ": No such file or directory") != NULL);
}

struct fake {
	int listen_fd;
	const char *reply;
	char request[512];
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->listen_fd, NULL, NULL);
	size_t len = 0;

	if (fd < 0)
		return NULL;
	while (len < sizeof(f->request) - 1) {
		ssize_t n = read(fd, f->request + len, 1);

		if (n <= 0 || f->request[len] == '\n')
			break;
		len += (size_t)n;
	}
	f->request[len] = '\0';
	if (write(fd, f->reply, strlen(f->reply)) < 0)
		f->request[0] = '\0';
	close(fd);
	return NULL;
}

UNIT_TEST(ctl_client_round_trip)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake f = { .reply = "{\"ok\":true,\"result\":{\"removed\":\"k\"}}\n" };
	JsonObject *req = json_object_new();
	JsonNode *res = NULL;
	pthread_t th;
	char err[TUND_CTL_WHY_LEN] = "";
	int ret;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/tund-unit-%d.sock", (int)getpid());
	unlink(sa.sun_path);
	f.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(f.listen_fd >= 0);
	CHECK(bind(f.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(f.listen_fd, 1) == 0);
	CHECK(pthread_create(&th, NULL, fake_serve, &f) == 0);

	json_object_set_string_member(req, "cmd", "peer.remove");
	json_object_set_string_member(req, "peer", "line\nbreak");
	ret = tund_client_call(sa.sun_path, req, &res, err, sizeof(err));
	pthread_join(th, NULL);
	CHECK(ret == 0 && err[0] == '\0');
	CHECK(res && strcmp(tund_client_get_string(json_node_get_object(res), "removed"),
			    "k") == 0);
	/* One line on the wire: the newline inside the value is escaped. */
	CHECK(strcmp(f.request, "{\"cmd\":\"peer.remove\",\"peer\":\"line\\nbreak\"}") == 0);
	if (res)
		json_node_unref(res);
	json_object_unref(req);
	close(f.listen_fd);
	unlink(sa.sun_path);
}
