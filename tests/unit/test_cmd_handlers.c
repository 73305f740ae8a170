// SPDX-License-Identifier: MIT
/* The control command handlers (tund/control/commands.c, cmd_network.c) on a
 * daemon without interface or data plane: what a client reads back, and what
 * lands in peers.json. */
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "overlay/control_proto.h"
#include "tests/unit/unit.h"
#include "tund/control/commands.h"
#include "tund/daemon/state.h"

static const char KEY_A[] = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

struct fixture {
	struct tund_daemon d;
	char *dir;
};

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("tund-cmd-XXXXXX", NULL);
	tund_config_init(&f->d.cfg);
	tund_peer_list_init(&f->d.peers);
	f->d.tun_fd = -1;
	g_strlcpy(f->d.ifname, "tt-unit", sizeof(f->d.ifname));
	randombytes_buf(f->d.private_key, sizeof(f->d.private_key));
	tund_key_public(f->d.public_key, f->d.private_key);
	f->d.peers_path = g_build_filename(f->dir, "peers.json", NULL);
	f->d.networks_path = g_build_filename(f->dir, "networks.json", NULL);
	f->d.networks = g_ptr_array_new();
	f->d.started_us = g_get_monotonic_time();
}

static void teardown(struct fixture *f)
{
	g_unlink(f->d.peers_path);
	g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f->d.peers_path);
	g_free(f->d.networks_path);
	g_ptr_array_unref(f->d.networks);
	tund_peer_list_clear(&f->d.peers);
	tund_config_free(&f->d.cfg);
}

/* Sends one request line; returns the reply's parsed object (unref) and
 * whether it said ok. */
static JsonObject *ask(struct fixture *f, const char *line, bool *ok)
{
	g_autofree char *reply = tund_commands_handle(&f->d, 1, line, strlen(line));
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;

	*ok = false;
	if (!reply || !g_str_has_suffix(reply, "\n") ||
	    !json_parser_load_from_data(p, reply, -1, NULL))
		return NULL;
	o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
	*ok = json_object_get_boolean_member_with_default(o, TUND_KEY_OK, FALSE);
	return o;
}

static bool error_says(JsonObject *o, const char *needle)
{
	const char *e = o ? json_object_get_string_member_with_default(o, TUND_KEY_ERROR, "") : "";

	return strstr(e, needle) != NULL;
}

UNIT_TEST(commands_status_and_unknown)
{
	struct fixture f;
	JsonObject *o, *r;
	bool ok;

	setup(&f);
	o = ask(&f, "{\"cmd\":\"status\"}", &ok);
	CHECK(ok && o);
	r = o ? json_object_get_object_member(o, TUND_KEY_RESULT) : NULL;
	CHECK(r && !strcmp(json_object_get_string_member(r, TUND_KEY_INTERFACE), "tt-unit"));
	CHECK(r && json_object_get_int_member(r, TUND_KEY_PEERS) == 0);
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"frob\"}", &ok);
	CHECK(!ok && error_says(o, "unknown command"));
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":", &ok);
	CHECK(!ok && o);
	if (o)
		json_object_unref(o);
	teardown(&f);
}

UNIT_TEST(commands_peer_add_block_remove)
{
	struct fixture f;
	g_autofree char *add = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"name\":\"alice\","
		"\"allowed_ips\":[\"10.9.0.2/32\"]}", KEY_A);
	g_autofree char *saved = NULL;
	JsonObject *o;
	bool ok;

	setup(&f);
	o = ask(&f, add, &ok);
	CHECK(ok);
	if (o)
		json_object_unref(o);
	CHECK(f.d.peers.items->len == 1);
	CHECK(g_file_get_contents(f.d.peers_path, &saved, NULL, NULL) && strstr(saved, KEY_A));
	/* A static peer is blocked and unblocked back to static. */
	o = ask(&f, "{\"cmd\":\"peer.block\",\"peer\":\"alice\"}", &ok);
	CHECK(ok);
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"peer.unblock\",\"peer\":\"alice\"}", &ok);
	CHECK(ok);
	if (o)
		json_object_unref(o);
	CHECK(((struct tund_peer *)g_ptr_array_index(f.d.peers.items, 0))->state ==
	      TUND_PEER_STATIC);
	/* Only network members wait for approval. */
	o = ask(&f, "{\"cmd\":\"peer.approve\",\"peer\":\"alice\"}", &ok);
	CHECK(!ok && error_says(o, "not pending"));
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"peer.remove\",\"peer\":\"alice\"}", &ok);
	CHECK(ok && f.d.peers.items->len == 0);
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"peer.remove\",\"peer\":\"alice\"}", &ok);
	CHECK(!ok && error_says(o, "no such peer"));
	if (o)
		json_object_unref(o);
	teardown(&f);
}

UNIT_TEST(commands_networks_without_any)
{
	struct fixture f;
	JsonObject *o, *r;
	bool ok;

	setup(&f);
	o = ask(&f, "{\"cmd\":\"networks\"}", &ok);
	r = o ? json_object_get_object_member(o, TUND_KEY_RESULT) : NULL;
	CHECK(ok && r && json_array_get_length(json_object_get_array_member(r, TUND_KEY_NETWORKS)) ==
				 0);
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"network.leave\",\"name\":\"lab\"}", &ok);
	CHECK(!ok && error_says(o, "not a member"));
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"network.invite\",\"name\":\"lab\"}", &ok);
	CHECK(!ok && error_says(o, "not a member"));
	if (o)
		json_object_unref(o);
	/* Refused before anything starts: a bad name, a TLS broker, a bad TURN URL. */
	o = ask(&f, "{\"cmd\":\"network.create\",\"name\":\"a b\"}", &ok);
	CHECK(!ok && error_says(o, "name"));
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"network.create\",\"name\":\"lab\",\"broker\":\"mqtts://h\"}", &ok);
	CHECK(!ok && error_says(o, "TLS"));
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"network.create\",\"name\":\"lab\",\"turn\":[\"turn://u:p@h:0\"]}",
		&ok);
	CHECK(!ok && error_says(o, "turn"));
	if (o)
		json_object_unref(o);
	o = ask(&f, "{\"cmd\":\"network.join\",\"invite\":\"tund1:AAAA\"}", &ok);
	CHECK(!ok && error_says(o, "invite"));
	if (o)
		json_object_unref(o);
	CHECK(f.d.networks->len == 0);
	teardown(&f);
}
