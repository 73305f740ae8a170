// SPDX-License-Identifier: MIT
/* tund/dataplane.c end to end in one process: two data planes whose "TUN"
 * is a datagram socketpair, peered over 127.0.0.1. A packet written into
 * one comes out of the other; the peers and status commands show the
 * counters, including the drop reason for a spoofed inner source. */
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/dataplane.h"

struct node {
	struct fx f;
	int tun[2]; /* [0] the data plane's, [1] the test's (the kernel side) */
	char key[TUND_KEY_B64_LEN + 1];
};

static bool node_start(struct node *n)
{
	struct tund_dataplane_opts o = { .mtu = 1420 };

	fx_init(&n->f);
	tund_key_encode(n->key, n->f.d.public_key);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, n->tun) != 0)
		return false;
	o.tun_fd = n->tun[0];
	n->f.d.tun_fd = n->tun[0];
	if (tund_dataplane_start(&o, n->f.d.private_key, &n->f.d.dp) != 0)
		return false;
	n->f.d.listen_port = tund_dataplane_port(n->f.d.dp);
	return true;
}

static void node_stop(struct node *n)
{
	tund_dataplane_stop(n->f.d.dp);
	n->f.d.dp = NULL;
	/* Peers hold data-plane handles no longer valid. */
	for (guint i = 0; i < n->f.d.peers.items->len; i++)
		((struct tund_peer *)g_ptr_array_index(n->f.d.peers.items, i))->wg_peer = NULL;
	close(n->tun[0]);
	close(n->tun[1]);
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

static size_t ipv4_packet(uint8_t *p, const char *src, const char *dst, const char *payload)
{
	size_t plen = strlen(payload), len = 20 + plen;
	uint32_t sum = 0;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 253; /* experimental protocol: nothing parses the payload */
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
	memcpy(p + 20, payload, plen);
	return len;
}

/* Sends from `from`'s kernel side until `to`'s kernel side gets a packet
 * carrying payload, for up to `seconds` (the first needs a handshake). */
static bool carried_within(struct node *from, struct node *to, const char *src, const char *dst,
			   const char *payload, int seconds)
{
	uint8_t pkt[256], got[2048];
	size_t len = ipv4_packet(pkt, src, dst, payload);
	gint64 end = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		struct pollfd p = { .fd = to->tun[1], .events = POLLIN };

		if (send(from->tun[1], pkt, len, 0) != (ssize_t)len)
			return false;
		while (poll(&p, 1, 200) > 0) {
			ssize_t n = recv(to->tun[1], got, sizeof(got), 0);

			if (n == (ssize_t)len && !memcmp(got, pkt, len))
				return true;
		}
	}
	return false;
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
