// SPDX-License-Identifier: MIT
/* tund/dataplane/dataplane.c end to end in one process: two data planes whose "TUN"
 * is a datagram socketpair, peered over 127.0.0.1. A packet written into
 * one comes out of the other; the peers and status commands show the
 * counters, including the drop reason for a spoofed inner source. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/dataplane/dataplane.h"
#include "tund/dataplane/tun_handoff.h"

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

/* a and b started (a with light traffic on one thread or not), peered, and
 * a packet carried each way: the first handshake is done. */
static bool pair_start(struct node *a, struct node *b, bool a_one_thread)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->tun[0] = a->tun[1] = b->tun[0] = b->tun[1] = -1;
	fx_init(&a->f);
	a->f.d.cfg.light_on_one_thread = a_one_thread;
	tund_key_encode(a->key, a->f.d.public_key);
	return fx_start_dataplane(&a->f, a->tun) && node_start(b) &&
	       add_peer(a, b, "10.0.0.2") && add_peer(b, a, "10.0.0.1") &&
	       carried(a, b, "10.0.0.1", "10.0.0.2", "hello b") &&
	       carried(b, a, "10.0.0.2", "10.0.0.1", "hello a");
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

	bool up = pair_start(&a, &b, true);

	CHECK(up);
	if (!up)
		goto out;
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

/* Light traffic on one thread (tund/dataplane/tun_handoff.h), as status
 * shows it: 1 when the UDP thread reads the TUN now, 0 when the TUN thread
 * does, -1 when status says neither; and how many times a receiving thread
 * took it up. */
static int one_thread_now(struct node *n, gint64 *handoffs)
{
	struct fx_reply r;
	int now = -1;

	fx_call(&n->f, "{\"cmd\":\"status\"}", &r);
	if (r.ok && r.result) {
		JsonObject *io = json_object_get_object_member(json_node_get_object(r.result),
							       "tun_io");
		JsonNode *v = io ? json_object_get_member(io, "one_thread_now") : NULL;

		if (v && JSON_NODE_HOLDS_NULL(v))
			now = 0;
		else if (v && !g_strcmp0(json_node_get_string(v), "udp"))
			now = 1;
		*handoffs = io ? json_object_get_int_member_with_default(io, "handoffs", -1) : -1;
	}
	fx_reply_clear(&r);
	return now;
}

static bool wait_one_thread(struct node *n, int want, gint64 *handoffs)
{
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		if (one_thread_now(n, handoffs) == want)
			return true;
		g_usleep(5000);
	}
	return false;
}

/* Sends count numbered packets from a's side at once, then reads them on b's
 * side: true if each came once and in order. Packets that are not numbered
 * are passed over: pair_start's carried() sends its packet again until one
 * arrives, and on a slow machine a later copy may arrive after it. */
static bool burst_in_order(struct node *a, struct node *b, int first, int count)
{
	uint8_t pkt[256], got[2048];
	int next = first;

	for (int i = first; i < first + count; i++) {
		char payload[16];
		size_t len;

		snprintf(payload, sizeof(payload), "seq %05d", i);
		len = fx_ipv4_packet(pkt, "10.0.0.1", "10.0.0.2", payload);
		/* Never blocks: a TUN nobody reads fails the test, not hangs it. */
		if (send(a->tun[1], pkt, len, MSG_DONTWAIT) != (ssize_t)len)
			return false;
	}
	while (next < first + count) {
		struct pollfd p = { .fd = b->tun[1], .events = POLLIN };
		ssize_t n;
		int seq;

		if (poll(&p, 1, 5000) <= 0)
			return false;
		n = recv(b->tun[1], got, sizeof(got) - 1, 0);
		if (n < 24)
			return false;
		got[n] = 0;
		if (strncmp((char *)got + 20, "seq ", 4) != 0)
			continue;
		if (sscanf((char *)got + 20, "seq %d", &seq) != 1 || seq != next)
			return false;
		next++;
	}
	return true;
}

/* With light traffic the UDP thread reads the TUN; a burst hands it back to
 * the TUN thread, the next light packet after a quiet spell to the UDP
 * thread again, and no packet is lost or reordered on the way. */
UNIT_TEST(dataplane_light_traffic_on_one_thread_order_kept)
{
	struct node a, b;
	gint64 handoffs = -1, before;
	int seq = 0;
	bool went_to_tun_thread = false;

	bool up = pair_start(&a, &b, true);

	CHECK(up);
	if (!up)
		goto out;

	/* Light: one packet at a time. */
	for (int i = 0; i < 20; i++, seq++)
		CHECK(burst_in_order(&a, &b, seq, 1));
	CHECK(wait_one_thread(&a, 1, &handoffs));
	CHECK(handoffs >= 1);
	before = handoffs;

	/* Bursts of 8 (the socketpair queues 10): the first read of four or
	 * more hands the TUN to the TUN thread, which reads the rest. */
	for (int i = 0; i < 50 && !went_to_tun_thread; i++, seq += 8) {
		CHECK(burst_in_order(&a, &b, seq, 8));
		went_to_tun_thread = one_thread_now(&a, &handoffs) == 0;
	}
	CHECK(went_to_tun_thread);

	/* Quiet for longer than TUND_HANDOFF_QUIET_MS, then light again: the
	 * UDP thread takes the TUN up again. */
	g_usleep(3 * TUND_HANDOFF_QUIET_MS * 1000);
	for (int i = 0; i < 5; i++, seq++)
		CHECK(burst_in_order(&a, &b, seq, 1));
	CHECK(wait_one_thread(&a, 1, &handoffs));
	CHECK(handoffs > before);
	/* And everything still arrives in order afterwards. */
	CHECK(burst_in_order(&a, &b, seq, 8));
out:
	node_stop(&a);
	node_stop(&b);
}

/* Off: the TUN thread reads always, and status says so. */
UNIT_TEST(dataplane_light_traffic_on_one_thread_off)
{
	struct node a, b;
	gint64 handoffs = -1;
	bool up = pair_start(&a, &b, false);

	CHECK(up);
	if (!up)
		goto out;
	CHECK(burst_in_order(&a, &b, 0, 1));
	CHECK(one_thread_now(&a, &handoffs) == 0 && handoffs == 0);
out:
	node_stop(&a);
	node_stop(&b);
}
