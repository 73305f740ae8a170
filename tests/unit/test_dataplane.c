// SPDX-License-Identifier: MIT
/* tund/dataplane/dataplane.c end to end in one process: two data planes whose "TUN"
 * is a datagram socketpair, peered over 127.0.0.1. A packet written into
 * one comes out of the other; the peers and status commands show the
 * counters, including the drop reason for a spoofed inner source. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/dataplane/dataplane.h"

struct node {
	struct fx f;
	int tun[2]; /* [0] the data plane's, [1] the test's (the kernel side) */
	char key[TUND_KEY_B64_LEN + 1];
};

static bool node_start(struct node *n)
{
	fx_init(&n->f);
	tund_key_encode(n->key, n->f.d.public_key);
	return fx_start_dataplane(&n->f, n->tun);
}

static void node_stop(struct node *n)
{
	fx_stop_dataplane(&n->f, n->tun);
	fx_free(&n->f);
}

/* peer.add through the command, as tundctl does. */
static bool add_peer(struct node *n, const struct node *other, const char *ip)
{
	g_autofree char *req = g_strdup_printf(
		"{\"cmd\":\"peer.add\",\"public_key\":\"%s\",\"endpoint\":\"127.0.0.1:%u\","
		"\"allowed_ips\":[\"%s/32\"]}",
		other->key, other->f.d.listen_port, ip);
	struct fx_reply r;
	bool ok;

	fx_call(&n->f, req, &r);
	ok = r.ok;
	fx_reply_clear(&r);
	return ok;
}

static bool carried_within(struct node *from, struct node *to, const char *src, const char *dst,
			   const char *payload, int seconds)
{
	return fx_carried(from->tun[1], to->tun[1], src, dst, payload, seconds);
}

static bool carried(struct node *from, struct node *to, const char *src, const char *dst,
		    const char *payload)
{
	return carried_within(from, to, src, dst, payload, 10);
}

static gint64 peer_counter(struct node *n, const char *member, const char *drop)
{
	struct fx_reply r;
	gint64 v = -1;

	fx_call(&n->f, "{\"cmd\":\"peers\"}", &r);
	if (r.ok && r.result) {
		JsonArray *a = json_object_get_array_member(json_node_get_object(r.result), "peers");
		JsonObject *p = a && json_array_get_length(a) ? json_array_get_object_element(a, 0) :
								NULL;

		if (p && drop && json_object_has_member(p, "drops"))
			v = json_object_get_int_member_with_default(
				json_object_get_object_member(p, "drops"), drop, -1);
		else if (p)
			v = json_object_get_int_member_with_default(p, member, -1);
	}
	fx_reply_clear(&r);
	return v;
}

UNIT_TEST(dataplane_two_nodes_over_loopback)
{
	struct node a, b;
	struct fx_reply r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK(node_start(&a) && node_start(&b));
	if (!a.f.d.dp || !b.f.d.dp)
		goto out;
	CHECK(add_peer(&a, &b, "10.0.0.2") && add_peer(&b, &a, "10.0.0.1"));

	CHECK(carried(&a, &b, "10.0.0.1", "10.0.0.2", "hello b"));
	CHECK(carried(&b, &a, "10.0.0.2", "10.0.0.1", "hello a"));
	CHECK(peer_counter(&a, "rx_bytes", NULL) > 0 && peer_counter(&a, "tx_bytes", NULL) > 0);
	CHECK(peer_counter(&a, "latest_handshake", NULL) > 0);

	/* b claims an inner source outside its allowed IPs: a drops it and
	 * says why. */
	CHECK(!carried_within(&b, &a, "10.0.0.99", "10.0.0.1", "spoofed", 2));
	CHECK(peer_counter(&a, NULL, "source_not_allowed") > 0);
	fx_call(&a.f, "{\"cmd\":\"status\"}", &r);
	CHECK(r.ok && r.line && strstr(r.line, "\"source_not_allowed\":") &&
	      strstr(r.line, "\"reader\":\"read\""));
	fx_reply_clear(&r);

	/* Blocked: nothing more comes through. */
	g_autofree char *block = g_strdup_printf("{\"cmd\":\"peer.block\",\"peer\":\"%s\"}", b.key);
	fx_call(&a.f, block, &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	CHECK(!carried_within(&b, &a, "10.0.0.2", "10.0.0.1", "after block", 2));
	/* Unblocked: it works again. */
	g_autofree char *unblock = g_strdup_printf("{\"cmd\":\"peer.unblock\",\"peer\":\"%s\"}",
						   b.key);
	fx_call(&a.f, unblock, &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	CHECK(carried(&b, &a, "10.0.0.2", "10.0.0.1", "after unblock"));
out:
	node_stop(&a);
	node_stop(&b);
}
