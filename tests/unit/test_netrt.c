// SPDX-License-Identifier: MIT
/* tund/connect/membership.c's decisions on sealed signaling: admission (open, approve,
 * while joining), address assignment, blocking, and the drop reasons
 * (replay, stale, forged, other network, not for us, unknown sender). The
 * network has no broker, so nothing is published; each test runs in a
 * network namespace of its own so the LAN beacons it opens reach nobody. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/keys.h"
#include "overlay/network.h"
#include "overlay/record.h"
#include "overlay/signal.h"
#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/connect/carrier.h"
#include "tund/connect/invites.h"
#include "tund/connect/membership.h"
#include "tund/daemon/log.h"

static int netns_enter(void)
{
	int old = fx_netns_enter();

	CHECK(old >= 0);
	return old;
}

static void netns_leave(int old)
{
	fx_netns_leave(old);
}

struct node {
	uint8_t priv[32], pub[32];
	char b64[TUND_KEY_B64_LEN + 1];
};

static void node_new(struct node *m)
{
	tund_key_generate(m->priv);
	tund_key_public(m->pub, m->priv);
	tund_key_encode(m->b64, m->pub);
}

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_real_time() / 1000);
}

/* A sealed message from `from`; recipient NULL for an announce. */
static size_t seal(const struct node *from, const uint8_t netkey[32], uint8_t type,
		   const uint8_t *recipient, uint64_t time_ms, uint8_t *out, size_t cap)
{
	struct tund_signal m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	memcpy(m.sender, from->pub, 32);
	if (recipient)
		memcpy(m.recipient, recipient, 32);
	m.time_ms = time_ms;
	m.session = 1;
	m.listen_port = 51820;
	g_strlcpy(m.name, "member", sizeof(m.name));
	return tund_signal_seal(&m, netkey, from->priv, out, cap);
}

static void announce(struct tund_membership *n, const struct node *from, const uint8_t netkey[32])
{
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	size_t len = seal(from, netkey, TUND_SIGNAL_ANNOUNCE, NULL, now_ms(), buf, sizeof(buf));

	CHECK(len > 0);
	tund_membership_receive(n, buf, len, false);
}

/* signaling.dropped.NAME, or a member of the summary (-1 if absent). */
static gint64 dropped(struct tund_membership *n, const char *name)
{
	g_autoptr(JsonNode) j = tund_membership_to_json(n);
	JsonObject *sig = json_object_get_object_member(json_node_get_object(j), "signaling");
	JsonObject *d = json_object_get_object_member(sig, "dropped");

	return json_object_get_int_member_with_default(d, name, -1);
}

static gint64 summary_int(struct tund_membership *n, const char *name)
{
	g_autoptr(JsonNode) j = tund_membership_to_json(n);

	return json_object_get_int_member_with_default(json_node_get_object(j), name, -1);
}

static char *summary_string(struct tund_membership *n, const char *name)
{
	g_autoptr(JsonNode) j = tund_membership_to_json(n);
	JsonNode *m = json_object_get_member(json_node_get_object(j), name);

	return m && JSON_NODE_HOLDS_VALUE(m) ? g_strdup(json_node_get_string(m)) : NULL;
}

static struct tund_membership *start(struct fx *f, struct tund_network *net, const char *name,
				enum tund_admission admission, bool joining)
{
	const char *why = NULL;
	struct tund_membership *n;

	CHECK(tund_network_init_new(net, name, &why));
	net->admission = admission;
	n = tund_membership_start(&f->d, net, joining);
	g_ptr_array_add(f->d.networks, n); /* stopped by fx_free */
	return n;
}

/* Each node's allowed IPs are what tund_network_assign gives for the whole
 * member set, the same on every node; ours is the summary's "address". */
static void check_addresses(struct fx *f, struct tund_membership *n, const struct tund_network *net,
			    const struct node *const *members, size_t count)
{
	uint8_t (*keys)[32] = g_malloc((count + 1) * 32);
	uint8_t (*v4)[4] = g_malloc((count + 1) * 4);
	uint8_t (*v6)[16] = g_malloc((count + 1) * 16);

	memcpy(keys[0], f->d.public_key, 32);
	for (size_t i = 0; i < count; i++)
		memcpy(keys[i + 1], members[i]->pub, 32);
	CHECK(tund_network_assign(net, (const uint8_t(*)[32])keys, count + 1, v4, v6));
	g_autofree char *ours = summary_string(n, "address");
	g_autofree char *want = g_strdup_printf("%u.%u.%u.%u/%u", v4[0][0], v4[0][1], v4[0][2],
						 v4[0][3], net->prefix4.prefix);
	CHECK(ours && !strcmp(ours, want));
	for (size_t i = 0; i < count; i++) {
		struct tund_peer *p = tund_peer_list_find(&f->d.peers, members[i]->b64);

		CHECK(p && p->allowed_ips->len == 2);
		if (!p || p->allowed_ips->len != 2)
			continue;
		struct tund_cidr *a4 = &g_array_index(p->allowed_ips, struct tund_cidr, 0);
		struct tund_cidr *a6 = &g_array_index(p->allowed_ips, struct tund_cidr, 1);
		CHECK(a4->family == AF_INET && a4->prefix == 32 && !memcmp(a4->addr, v4[i + 1], 4));
		CHECK(a6->family == AF_INET6 && a6->prefix == 128 &&
		      !memcmp(a6->addr, v6[i + 1], 16));
	}
	g_free(keys);
	g_free(v4);
	g_free(v6);
}

UNIT_TEST(netrt_open_admission_addresses_and_drops)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net, other;
	struct node b, c, stranger;
	uint8_t buf[TUND_SIGNAL_MAX_LEN], psk[32];
	const char *why;
	size_t len;

	node_new(&b);
	node_new(&c);
	node_new(&stranger);
	struct tund_membership *n = start(&f, &net, "lan", TUND_ADMISSION_OPEN, false);
	CHECK(tund_network_init_new(&other, "other", &why));

	/* Alone: we have our address already. */
	check_addresses(&f, n, &net, NULL, 0);

	/* An announce admits a newcomer at once, with the network's psk. */
	announce(n, &b, net.key);
	struct tund_peer *pb = tund_peer_list_find(&f.d.peers, b.b64);
	CHECK(pb && pb->state == TUND_PEER_MEMBER && !g_strcmp0(pb->network, "lan"));
	tund_network_psk(net.key, psk);
	CHECK(pb && pb->has_psk && !memcmp(pb->psk, psk, 32));
	announce(n, &c, net.key);
	const struct node *both[] = { &b, &c };
	check_addresses(&f, n, &net, both, 2);
	CHECK(summary_int(n, "members") == 2 && summary_int(n, "pending") == 0);
	/* Kept across a restart. */
	g_autofree char *saved = fx_read(f.d.peers_path, NULL);
	CHECK(saved && strstr(saved, b.b64) && strstr(saved, c.b64));

	/* The same bytes again: a replay, counted and ignored. */
	len = seal(&b, net.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms(), buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "replayed") == 0);
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "replayed") == 1);

	/* Five minutes old, live: stale. Retained by the broker: what it is for
	 * (members republish every 10 minutes), accepted once. */
	len = seal(&c, net.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms() - 300 * 1000, buf,
		   sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "stale") == 1);
	tund_membership_receive(n, buf, len, true);
	CHECK(dropped(n, "stale") == 1 && dropped(n, "replayed") == 1);
	tund_membership_receive(n, buf, len, true);
	CHECK(dropped(n, "stale") == 1 && dropped(n, "replayed") == 2);
	/* Retained gives no free pass: an hour old, or from the future. */
	len = seal(&c, net.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms() - 3600 * 1000, buf,
		   sizeof(buf));
	tund_membership_receive(n, buf, len, true);
	CHECK(dropped(n, "stale") == 2);
	len = seal(&c, net.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms() + 200 * 1000, buf,
		   sizeof(buf));
	tund_membership_receive(n, buf, len, true);
	CHECK(dropped(n, "stale") == 3);
	/* Announces fill their own window: 70 of them from c, far ahead, do not
	 * make c's unicast messages replays. */
	for (int i = 0; i < 70; i++) {
		len = seal(&c, net.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms() + 110 * 1000 + i,
			   buf, sizeof(buf));
		tund_membership_receive(n, buf, len, true);
	}
	len = seal(&c, net.key, TUND_SIGNAL_RESTART, f.d.public_key, now_ms(), buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "replayed") == 2);

	/* Sealed for another network; damaged; not a message at all. */
	len = seal(&stranger, other.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms(), buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "other_network") == 1);
	len = seal(&stranger, net.key, TUND_SIGNAL_ANNOUNCE, NULL, now_ms(), buf, sizeof(buf));
	buf[len - 1] ^= 1;
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "forged") == 1);
	tund_membership_receive(n, (const uint8_t *)"hello", 5, false);
	CHECK(dropped(n, "malformed") == 1);
	CHECK(tund_peer_list_find(&f.d.peers, stranger.b64) == NULL);

	/* Unicast to someone else, and to us from a non-member. */
	len = seal(&b, net.key, TUND_SIGNAL_BYE, c.pub, now_ms(), buf, sizeof(buf));
	CHECK(len > 0);
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "not_for_me") == 1);
	len = seal(&stranger, net.key, TUND_SIGNAL_BYE, f.d.public_key, now_ms(), buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "unknown_sender") == 1);

	/* Our own announce echoed by the broker: no member for ourselves. */
	struct node self;
	memcpy(self.priv, f.d.private_key, 32);
	memcpy(self.pub, f.d.public_key, 32);
	announce(n, &self, net.key);
	CHECK(f.d.peers.items->len == 2);
	sodium_memzero(&self, sizeof(self));

	g_autoptr(JsonNode) j = tund_membership_to_json(n);
	JsonObject *sig = json_object_get_object_member(json_node_get_object(j), "signaling");
	CHECK(json_object_get_int_member(sig, "received") == 12 + 74);
	CHECK(json_object_get_int_member(sig, "sent") == 0); /* no broker */
	/* Beacons run, but this namespace has no interface to send them on. */
	JsonObject *bea = json_object_get_object_member(json_node_get_object(j), "beacons");
	CHECK(bea && json_object_get_int_member(bea, "sent") == 0);

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

UNIT_TEST(netrt_block_and_unblock_member)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node b, c;
	struct fx_reply r;
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	size_t len;

	node_new(&b);
	node_new(&c);
	struct tund_membership *n = start(&f, &net, "lan", TUND_ADMISSION_OPEN, false);
	announce(n, &b, net.key);
	announce(n, &c, net.key);

	g_autofree char *block = g_strdup_printf("{\"cmd\":\"peer.block\",\"peer\":\"%s\"}", b.b64);
	fx_call(&f, block, &r);
	CHECK(r.ok && !g_strcmp0(fx_result_string(&r, "state"), "blocked"));
	fx_reply_clear(&r);
	CHECK(summary_int(n, "members") == 1);
	/* A blocked member holds no address: the others are assigned without it. */
	const struct node *only_c[] = { &c };
	check_addresses(&f, n, &net, only_c, 1);

	/* Its announces and unicasts are refused as blocked; it stays blocked. */
	announce(n, &b, net.key);
	CHECK(dropped(n, "blocked") == 1);
	len = seal(&b, net.key, TUND_SIGNAL_BYE, f.d.public_key, now_ms(), buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "blocked") == 2);
	struct tund_peer *pb = tund_peer_list_find(&f.d.peers, b.b64);
	CHECK(pb && pb->state == TUND_PEER_BLOCKED);

	/* A member key cannot be re-added by hand as a static peer. */
	g_autofree char *add = g_strdup_printf("{\"cmd\":\"peer.add\",\"public_key\":\"%s\"}", b.b64);
	fx_call(&f, add, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "member of network lan"));
	fx_reply_clear(&r);

	g_autofree char *unblock =
		g_strdup_printf("{\"cmd\":\"peer.unblock\",\"peer\":\"%s\"}", b.b64);
	fx_call(&f, unblock, &r);
	CHECK(r.ok && !g_strcmp0(fx_result_string(&r, "state"), "member"));
	fx_reply_clear(&r);
	const struct node *both[] = { &b, &c };
	check_addresses(&f, n, &net, both, 2);

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

UNIT_TEST(netrt_approve_admission)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net, joined;
	struct node b, old;
	struct fx_reply r;
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	size_t len;

	node_new(&b);
	node_new(&old);
	struct tund_membership *n = start(&f, &net, "club", TUND_ADMISSION_APPROVE, false);
	announce(n, &b, net.key);
	struct tund_peer *pb = tund_peer_list_find(&f.d.peers, b.b64);
	CHECK(pb && pb->state == TUND_PEER_PENDING);
	CHECK(summary_int(n, "pending") == 1 && summary_int(n, "members") == 0);
	/* A pending key holds no address, no WireGuard peer and no path. */
	CHECK(pb && pb->allowed_ips->len == 0 && !pb->wg_peer && !pb->path);
	/* A pending member may not signal yet. */
	len = seal(&b, net.key, TUND_SIGNAL_BYE, f.d.public_key, now_ms(), buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "unknown_sender") == 1);
	/* Announcing again does not admit it. */
	announce(n, &b, net.key);
	CHECK(pb && pb->state == TUND_PEER_PENDING);

	g_autofree char *approve =
		g_strdup_printf("{\"cmd\":\"peer.approve\",\"peer\":\"%s\"}", b.b64);
	fx_call(&f, approve, &r);
	CHECK(r.ok && !g_strcmp0(fx_result_string(&r, "state"), "member"));
	fx_reply_clear(&r);
	CHECK(pb && pb->state == TUND_PEER_MEMBER && pb->has_psk);
	CHECK(pb && pb->allowed_ips->len == 2); /* approved: now it has its addresses */
	fx_call(&f, approve, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "member, not pending"));
	fx_reply_clear(&r);
	g_autofree char *saved = fx_read(f.d.peers_path, NULL);
	CHECK(saved && strstr(saved, b.b64) && strstr(saved, "member"));

	/* We just joined with an invite: who announces now was there first
	 * and is admitted even under approve. */
	const char *why = NULL;
	CHECK(tund_network_init_new(&joined, "joined", &why));
	joined.admission = TUND_ADMISSION_APPROVE;
	struct tund_membership *nj = tund_membership_start(&f.d, &joined, true);
	g_ptr_array_add(f.d.networks, nj);
	announce(nj, &old, joined.key);
	struct tund_peer *po = tund_peer_list_find(&f.d.peers, old.b64);
	CHECK(po && po->state == TUND_PEER_MEMBER && !g_strcmp0(po->network, "joined"));
	/* A member of one network announcing in another becomes a member
	 * there too, on an entry of its own: (network, key). Its entry in
	 * "club" (first by name) carries the session and the other address. */
	announce(nj, &b, joined.key);
	CHECK(dropped(nj, "unknown_sender") == 0);
	struct tund_peer *pbj = tund_peer_list_find_in(&f.d.peers, "joined", b.pub);
	CHECK(pbj && pbj != pb && pbj->state == TUND_PEER_MEMBER && pbj->allowed_ips->len == 2);
	CHECK(pb && !g_strcmp0(pb->network, "club") && pb->state == TUND_PEER_MEMBER);
	CHECK(tund_carrier_of(&f.d, b.pub) == pb);
	CHECK(pb && pbj && pb->shared_ips->len == 2 &&
	      !memcmp(pb->shared_ips->data, pbj->allowed_ips->data, 2 * sizeof(struct tund_cidr)));
	CHECK(pbj && !pbj->path && !pbj->wg_peer);
	/* Blocking it must name the network; then only that entry changes. */
	g_autofree char *block = g_strdup_printf("{\"cmd\":\"peer.block\",\"peer\":\"%s\"}", b.b64);
	fx_call(&f, block, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "networks club, joined: name one"));
	fx_reply_clear(&r);
	g_autofree char *block_j = g_strdup_printf(
		"{\"cmd\":\"peer.block\",\"peer\":\"%s\",\"network\":\"joined\"}", b.b64);
	fx_call(&f, block_j, &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	CHECK(pbj && pbj->state == TUND_PEER_BLOCKED && pb && pb->state == TUND_PEER_MEMBER);
	CHECK(pb && pb->shared_ips->len == 0); /* no longer carries the blocked address */

	sodium_memzero(&net, sizeof(net));
	sodium_memzero(&joined, sizeof(joined));
	fx_free(&f);
	netns_leave(ns);
}

UNIT_TEST(netrt_network_commands_good_path)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct fx_reply r;
	struct node b;
	char invite[TUND_INVITE_MAX_TEXT] = "";

	node_new(&b);
	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"home\",\"prefix\":\"10.99.0.0/24\","
		    "\"admission\":\"approve\",\"stun\":\"192.0.2.7:3478\"}", &r);
	CHECK(r.ok);
	const char *inv = fx_result_string(&r, "invite");
	CHECK(inv && g_str_has_prefix(inv, "tund1:"));
	if (inv)
		g_strlcpy(invite, inv, sizeof(invite));
	CHECK(r.line && strstr(r.line, "\"prefix\":\"10.99.0.0/24\"") &&
	      strstr(r.line, "\"admission\":\"approve\"") && strstr(r.line, "192.0.2.7:3478"));
	fx_reply_clear(&r);
	/* Saved 0600 as its invite. */
	CHECK(fx_mode(f.d.networks_path) == 0600);
	g_autofree char *saved = fx_read(f.d.networks_path, NULL);
	CHECK(saved && invite[0] && strstr(saved, invite));

	fx_call(&f, "{\"cmd\":\"networks\"}", &r);
	CHECK(r.ok && r.line && strstr(r.line, "\"name\":\"home\"") &&
	      strstr(r.line, "\"address\":\"10.99.0."));
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.invite\",\"name\":\"home\"}", &r);
	CHECK(r.ok && !g_strcmp0(fx_result_string(&r, "invite"), invite));
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"home\"}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "already a member of a network called \"home\""));
	fx_reply_clear(&r);
	g_autofree char *join = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}",
						invite);
	fx_call(&f, join, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "already a member"));
	fx_reply_clear(&r);

	/* Leaving takes its members along, from memory and from peers.json. */
	announce(tund_membership_find(&f.d, "home"), &b,
		 tund_membership_network(tund_membership_find(&f.d, "home"))->key);
	CHECK(f.d.peers.items->len == 1);
	fx_call(&f, "{\"cmd\":\"network.leave\",\"name\":\"home\"}", &r);
	CHECK(r.ok && !g_strcmp0(fx_result_string(&r, "left"), "home"));
	fx_reply_clear(&r);
	CHECK(f.d.networks->len == 0 && f.d.peers.items->len == 0);
	g_autofree char *peers = fx_read(f.d.peers_path, NULL);
	CHECK(peers && !strstr(peers, b.b64));
	g_autofree char *nets = fx_read(f.d.networks_path, NULL);
	CHECK(nets && !strstr(nets, invite));

	/* And back in with the invite. */
	fx_call(&f, join, &r);
	CHECK(r.ok && r.line && strstr(r.line, "\"name\":\"home\"") && !fx_result_string(&r, "invite"));
	fx_reply_clear(&r);
	sodium_memzero(invite, sizeof(invite));
	fx_free(&f);
	netns_leave(ns);
}

/* One node in several networks: a second network on an overlapping prefix
 * is refused, created or joined; the default prefix avoids the first. */
UNIT_TEST(netrt_network_prefix_overlap_refused)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct fx_reply r;
	struct tund_network other;
	char invite[TUND_INVITE_MAX_TEXT];

	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"a\",\"prefix\":\"10.99.0.0/16\"}", &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"b\",\"prefix\":\"10.99.128.0/17\"}",
		&r);
	CHECK(!r.ok && r.error &&
	      !strcmp(r.error, "prefix 10.99.128.0/17 of network \"b\" overlaps network \"a\" "
			       "(10.99.0.0/16)"));
	fx_reply_clear(&r);
	CHECK(tund_network_init_new(&other, "c", NULL));
	CHECK(tund_network_set_prefix4(&other, "10.0.0.0/8", NULL));
	CHECK(tund_invite_encode(&other, invite, sizeof(invite)) > 0);
	g_autofree char *join = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}",
						invite);
	fx_call(&f, join, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "prefix 10.0.0.0/8 of network \"c\" overlaps "
						  "network \"a\" (10.99.0.0/16)"));
	fx_reply_clear(&r);
	CHECK(f.d.networks->len == 1);
	/* No prefix given: a 10.X.0.0/16 that is not a's. */
	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"d\"}", &r);
	CHECK(r.ok && r.line && strstr(r.line, "\"prefix\":\"10.") &&
	      !strstr(r.line, "\"prefix\":\"10.99.0.0/16\""));
	fx_reply_clear(&r);
	CHECK(f.d.networks->len == 2);
	tund_network_clear(&other);
	sodium_memzero(invite, sizeof(invite));
	fx_free(&f);
	netns_leave(ns);
}

UNIT_TEST(netrt_reload_applies_network_servers)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	char err[TUND_WHY_LEN];
	JsonNode *reply = NULL;

	struct tund_membership *n = start(&f, &net, "lan", TUND_ADMISSION_OPEN, false);
	g_autofree char *base = g_strdup_printf("[paths]\nstate_dir = %s\ncontrol_socket = %s\n",
						f.dir, f.d.cfg.control_socket);
	g_autofree char *text = g_strdup_printf(
		"%s[network lan]\nstun = 192.0.2.7:3478\nturn = turn://u:secret-pw@192.0.2.8:3478"
		"?transport=udp\nbroker = mqtt://127.0.0.1:1\n", base);

	CHECK(fx_write(f.d.config_path, text, 0600));
	fx_capture_begin();
	CHECK(tund_daemon_reload(&f.d, &reply, err, sizeof(err)) == 0);
	g_autofree char *log = fx_capture_end();
	CHECK(reply != NULL);
	if (reply) {
		g_autofree char *json = json_to_string(reply, FALSE);

		CHECK(strstr(json, "network lan: STUN/TURN servers (1 STUN, 1 TURN)"));
		CHECK(strstr(json, "network lan: broker none -> mqtt://127.0.0.1:1"));
		CHECK(strstr(json, "\"needs_restart\":[]"));
		CHECK(!strstr(json, "secret-pw"));
		json_node_unref(reply);
	}
	CHECK(!strstr(log, "secret-pw"));
	/* In use now, and in the invites handed out from now on; the saved
	 * network is the one joined. */
	g_autofree char *broker = summary_string(n, "broker");
	CHECK(!g_strcmp0(broker, "mqtt://127.0.0.1:1"));
	CHECK(tund_membership_effective(n)->n_stun == 1 && tund_membership_effective(n)->n_turn == 1);
	CHECK(tund_membership_network(n)->n_stun == 0 && !tund_membership_network(n)->broker[0]);
	g_autoptr(JsonNode) j = tund_membership_to_json(n);
	g_autofree char *js = json_to_string(j, FALSE);
	CHECK(strstr(js, "turn://u:***@192.0.2.8:3478") && !strstr(js, "secret-pw"));

	/* The section removed: back to the invite's servers. */
	CHECK(fx_write(f.d.config_path, base, 0600));
	reply = NULL;
	CHECK(tund_daemon_reload(&f.d, &reply, err, sizeof(err)) == 0);
	CHECK(reply != NULL);
	if (reply)
		json_node_unref(reply);
	CHECK(tund_membership_effective(n)->n_stun == 0 && !tund_membership_effective(n)->broker[0]);
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A sealed record message: the record signed by `signer` naming `issuer`,
 * carried in a message sealed by `signer`. */
/* A record message signed and carried by signer; issuer_raw, when not NULL,
 * rides along as the issuer's own admit-as-admin record. raw_out, when not
 * NULL, gets the signed record. */
static void send_record_with(struct tund_membership *n, const struct tund_network *net,
			     const struct node *signer, const uint8_t issuer[32], uint8_t kind,
			     const uint8_t subject[32], const uint8_t addr4[4], uint64_t time_ms,
			     const uint8_t *issuer_raw, uint8_t *raw_out)
{
	struct tund_record r = { .kind = kind, .time_ms = time_ms };
	static struct tund_signal m;
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	size_t len;

	tund_network_record_id(net, r.netid);
	memcpy(r.subject, subject, 32);
	memcpy(r.issuer, issuer, 32);
	if (addr4)
		memcpy(r.addr4, addr4, 4);
	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_RECORD;
	m.has_record = true;
	memcpy(m.sender, signer->pub, 32);
	m.time_ms = now_ms();
	CHECK(tund_record_sign(&r, signer->priv, m.record) == TUND_RECORD_LEN);
	if (raw_out)
		memcpy(raw_out, m.record, TUND_RECORD_LEN);
	if (issuer_raw) {
		memcpy(m.issuer_record, issuer_raw, TUND_RECORD_LEN);
		m.has_issuer_record = true;
	}
	len = tund_signal_seal(&m, net->key, signer->priv, buf, sizeof(buf));
	CHECK(len > 0);
	tund_membership_receive(n, buf, len, true);
}

static void send_record(struct tund_membership *n, const struct tund_network *net,
			const struct node *signer, const uint8_t issuer[32], uint8_t kind,
			const uint8_t subject[32], const uint8_t addr4[4], uint64_t time_ms)
{
	send_record_with(n, net, signer, issuer, kind, subject, addr4, time_ms, NULL, NULL);
}

/* A daemon restart of network n, started again from net (its records file
 * is read back); forget_peers: peers.json is gone too. */
static struct tund_membership *restart(struct fx *f, struct tund_membership *n,
				       const struct tund_network *net, bool forget_peers)
{
	g_ptr_array_remove(f->d.networks, n);
	tund_membership_stop(n, false);
	if (forget_peers) {
		tund_peer_list_clear(&f->d.peers);
		tund_peer_list_init(&f->d.peers);
	}
	n = tund_membership_start(&f->d, net, false);
	g_ptr_array_add(f->d.networks, n);
	return n;
}

static bool holds_v4(const struct tund_peer *p, const uint8_t v4[4])
{
	return p && p->allowed_ips->len == 2 &&
	       !memcmp(g_array_index(p->allowed_ips, struct tund_cidr, 0).addr, v4, 4);
}

/* A member (not the admin) of a network with an admin: only the admin's
 * records make members, at the address the record names; records by anyone
 * else, with an address outside the prefix, or older than what we hold
 * change nothing; announces of unadmitted keys leave no state. */
UNIT_TEST(netrt_admin_records_decide_membership)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node admin, y, z, w;
	uint8_t in4[4], out4[4] = { 192, 0, 2, 1 }, bcast4[4];
	uint64_t t = now_ms();

	node_new(&admin);
	node_new(&y);
	node_new(&z);
	node_new(&w);
	const char *why = NULL;
	CHECK(tund_network_init_new(&net, "club", &why));
	CHECK(tund_network_set_prefix4(&net, "10.61.0.0/16", &why));
	net.admission = TUND_ADMISSION_APPROVE;
	memcpy(net.admin, admin.pub, 32);
	net.has_admin = true;
	struct tund_membership *n = tund_membership_start(&f.d, &net, true);
	g_ptr_array_add(f.d.networks, n);
	memcpy(in4, (uint8_t[4]){ 10, 61, 7, 9 }, 4);
	memcpy(bcast4, (uint8_t[4]){ 10, 61, 255, 255 }, 4);

	/* An unadmitted key's announce: no peer, counted; even during joining. */
	announce(n, &w, net.key);
	CHECK(!tund_peer_list_find(&f.d.peers, w.b64) && dropped(n, "not_admitted") == 1);
	/* The admin announces: a member (it needs no record). */
	announce(n, &admin, net.key);
	struct tund_peer *pa = tund_peer_list_find(&f.d.peers, admin.b64);
	CHECK(pa && pa->state == TUND_PEER_MEMBER);

	/* The admin admits y at 10.61.7.9. */
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_ADMIT, y.pub, in4, t);
	struct tund_peer *py = tund_peer_list_find(&f.d.peers, y.b64);
	CHECK(py && py->state == TUND_PEER_MEMBER && holds_v4(py, in4));
	/* y signs an admit for z as itself, and one claiming the admin's key. */
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z.pub, in4, t);
	send_record(n, &net, &y, admin.pub, TUND_RECORD_ADMIT, z.pub, in4, t);
	CHECK(!tund_peer_list_find(&f.d.peers, z.b64) && dropped(n, "bad_record") == 2);
	/* The admin's own record with an address outside the prefix, or its
	 * broadcast address: refused. */
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_ADMIT, z.pub, out4, t);
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_ADMIT, z.pub, bcast4, t);
	CHECK(!tund_peer_list_find(&f.d.peers, z.b64) && dropped(n, "bad_record") == 4);
	/* The admin blocks y; an older admit (a replay) does not undo it. */
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_BLOCK, y.pub, NULL, t + 1);
	CHECK(py && py->state == TUND_PEER_BLOCKED);
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_ADMIT, y.pub, in4, t);
	CHECK(py && py->state == TUND_PEER_BLOCKED);
	/* A newer admit does. */
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_ADMIT, y.pub, in4, t + 2);
	CHECK(py && py->state == TUND_PEER_MEMBER && holds_v4(py, in4));
	/* Our own admit gives us our address. */
	uint8_t mine[4] = { 10, 61, 3, 4 };
	send_record(n, &net, &admin, admin.pub, TUND_RECORD_ADMIT, f.d.public_key, mine, t);
	g_autofree char *ours = summary_string(n, "address");
	CHECK(ours && !strcmp(ours, "10.61.3.4/16"));

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A network with an admin (creator) and a broker-less membership of it on
 * f's daemon, with the given admission. */
static struct tund_membership *admin_network_as(struct fx *f, struct tund_network *net,
						const uint8_t creator[32], const char *prefix,
						enum tund_admission admission)
{
	const char *why = NULL;
	struct tund_membership *n;

	CHECK(tund_network_init_new(net, "club", &why));
	CHECK(tund_network_set_prefix4(net, prefix, &why));
	net->admission = admission;
	memcpy(net->admin, creator, 32);
	net->has_admin = true;
	n = tund_membership_start(&f->d, net, true);
	g_ptr_array_add(f->d.networks, n);
	return n;
}

static struct tund_membership *admin_network(struct fx *f, struct tund_network *net,
					     const uint8_t creator[32], const char *prefix)
{
	return admin_network_as(f, net, creator, prefix, TUND_ADMISSION_APPROVE);
}

/* A second admin: the creator's admit-as-admin record makes y one; y's
 * records then count, except about admins; a record from a key not yet an
 * admin waits for its admin record; two admits for one address: the second
 * is refused as address_conflict. */
UNIT_TEST(netrt_second_admin_and_address_conflict)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node creator, y, z, v, w, u;
	uint8_t ay[4] = { 10, 62, 1, 1 }, az[4] = { 10, 62, 1, 2 }, av[4] = { 10, 62, 1, 3 },
		aw[4] = { 10, 62, 1, 4 };
	uint64_t t = now_ms();

	node_new(&creator);
	node_new(&y);
	node_new(&z);
	node_new(&v);
	node_new(&w);
	node_new(&u);
	struct tund_membership *n = admin_network(&f, &net, creator.pub, "10.62.0.0/16");

	/* A non-member's records are refused and not even held back. */
	send_record(n, &net, &u, u.pub, TUND_RECORD_ADMIT, w.pub, aw, t);
	CHECK(!tund_peer_list_find(&f.d.peers, w.b64) && dropped(n, "bad_record") == 1);
	/* y, a plain member: its admit of z is refused (and held back, as y
	 * may be made admin), and so is y signing itself admin. */
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT, y.pub, ay, t);
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z.pub, az, t);
	CHECK(!tund_peer_list_find(&f.d.peers, z.b64) && dropped(n, "bad_record") == 2);
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT_ADMIN, y.pub, ay, t);
	CHECK(dropped(n, "bad_record") == 3);
	/* The creator makes y an admin: y's held-back admit of z now counts. */
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT_ADMIN, y.pub, ay, t + 1);
	struct tund_peer *py = tund_peer_list_find(&f.d.peers, y.b64);
	struct tund_peer *pz = tund_peer_list_find(&f.d.peers, z.b64);
	CHECK(py && py->state == TUND_PEER_MEMBER && holds_v4(py, ay));
	CHECK(pz && pz->state == TUND_PEER_MEMBER && holds_v4(pz, az));
	/* (y's self-made admin record, held back too, is refused again.) */
	CHECK(dropped(n, "bad_record") == 4);
	/* y admits v directly. */
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, v.pub, av, t);
	struct tund_peer *pv = tund_peer_list_find(&f.d.peers, v.b64);
	CHECK(pv && pv->state == TUND_PEER_MEMBER && holds_v4(pv, av));
	/* y may not make admins, nor block the creator. */
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT_ADMIN, w.pub, aw, t);
	CHECK(!tund_peer_list_find(&f.d.peers, w.b64) && dropped(n, "bad_record") == 5);
	send_record(n, &net, &y, y.pub, TUND_RECORD_BLOCK, creator.pub, NULL, t + 1);
	CHECK(dropped(n, "bad_record") == 6);
	/* y admits u at z's address: refused, reported, z keeps it. */
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, u.pub, az, t + 1);
	CHECK(!tund_peer_list_find(&f.d.peers, u.b64) && dropped(n, "address_conflict") == 1);
	CHECK(holds_v4(pz, az));
	/* y blocks v (a plain member): done. */
	send_record(n, &net, &y, y.pub, TUND_RECORD_BLOCK, v.pub, NULL, t + 2);
	CHECK(pv->state == TUND_PEER_BLOCKED);
	/* A record from the future (it would outlive any later block): refused. */
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT, w.pub, aw,
		    t + 3600 * 1000);
	CHECK(!tund_peer_list_find(&f.d.peers, w.b64) && dropped(n, "bad_record") == 7);
	/* The creator blocks y: y's later records no longer count. */
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_BLOCK, y.pub, NULL, t + 3);
	CHECK(py->state == TUND_PEER_BLOCKED);
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, w.pub, aw, t + 4);
	CHECK(!tund_peer_list_find(&f.d.peers, w.b64));

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* The records file: after a restart of the network (no broker here) our
 * address and the admin made by record come back from records-<id>.json;
 * a corrupt file is not used and not overwritten. */
UNIT_TEST(netrt_records_file_survives_restart)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node creator, y, z;
	uint8_t ay[4] = { 10, 63, 1, 1 }, az[4] = { 10, 63, 1, 2 }, mine[4] = { 10, 63, 3, 4 };
	uint64_t t = now_ms();
	char hex[33];
	struct stat st;

	node_new(&creator);
	node_new(&y);
	node_new(&z);
	struct tund_membership *n = admin_network(&f, &net, creator.pub, "10.63.0.0/16");
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT_ADMIN, y.pub, ay, t);
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT, f.d.public_key, mine, t);
	uint8_t id[16];
	tund_network_record_id(&net, id);
	sodium_bin2hex(hex, sizeof(hex), id, 16);
	g_autofree char *path = g_strdup_printf("%s/records-%s.json", f.dir, hex);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* Restart the network: our address comes from the file, and y is still
	 * an admin (its record of z counts at once). */
	n = restart(&f, n, &net, false);
	g_autofree char *ours = summary_string(n, "address");
	CHECK(ours && !strcmp(ours, "10.63.3.4/16"));
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z.pub, az, t);
	struct tund_peer *pz = tund_peer_list_find(&f.d.peers, z.b64);
	CHECK(pz && pz->state == TUND_PEER_MEMBER && holds_v4(pz, az));

	/* A corrupt file: not used, and left as it is when records change. */
	g_ptr_array_remove(f.d.networks, n);
	tund_membership_stop(n, false);
	CHECK(g_file_set_contents(path, "{\"version\":1,\"records\":[\"AAAA\"]}", -1, NULL));
	n = tund_membership_start(&f.d, &net, false);
	g_ptr_array_add(f.d.networks, n);
	g_autofree char *none = summary_string(n, "address");
	CHECK(!none);
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT, f.d.public_key, mine, t + 1);
	g_autofree char *after = NULL;
	CHECK(g_file_get_contents(path, &after, NULL, NULL));
	CHECK(!strcmp(after, "{\"version\":1,\"records\":[\"AAAA\"]}"));

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A join from `from` to the admin `to` showing token. */
static void send_join(struct tund_membership *n, const struct tund_network *net,
		      const struct node *from, const uint8_t to[32], const uint8_t token[16])
{
	static struct tund_signal m;
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_JOIN;
	memcpy(m.sender, from->pub, 32);
	memcpy(m.recipient, to, 32);
	m.time_ms = now_ms();
	memcpy(m.token, token, 16);
	m.has_token = true;
	len = tund_signal_seal(&m, net->key, from->priv, buf, sizeof(buf));
	CHECK(len > 0);
	tund_membership_receive(n, buf, len, false);
	sodium_memzero(&m, sizeof(m));
}

/* network.invite with the given limits on f's network; the token of the
 * invite it answers (false if refused). */
static bool limited_invite(struct fx *f, const char *limits, uint8_t token[16], char *id)
{
	g_autofree char *req = g_strdup_printf("{\"cmd\":\"network.invite\",\"name\":\"club\",%s}",
					       limits);
	struct tund_network inv;
	struct fx_reply r;
	bool ok;

	fx_call(f, req, &r);
	ok = r.ok && fx_result_string(&r, "invite") &&
	     tund_invite_decode(fx_result_string(&r, "invite"), &inv, NULL) && inv.has_token;
	if (ok) {
		memcpy(token, inv.invite_token, 16);
		g_strlcpy(id, fx_result_string(&r, "id"), 9);
	}
	fx_reply_clear(&r);
	sodium_memzero(&inv, sizeof(inv));
	return ok;
}

static bool is_member(struct fx *f, const struct node *k)
{
	struct tund_peer *p = tund_peer_list_find(&f->d.peers, k->b64);

	return p && p->state == TUND_PEER_MEMBER;
}

/* The creator (we) blocks an admin: the members that admin admitted stay
 * members, now on the creator's signature, also after a restart from the
 * records file; a back-dated admit the blocked admin signs is refused. */
UNIT_TEST(netrt_blocked_admins_admits_outlive_it)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, z, w;
	uint8_t az[4] = { 10, 64, 1, 2 }, aw[4] = { 10, 64, 1, 3 };
	uint64_t t = now_ms();

	node_new(&y);
	node_new(&z);
	node_new(&w);
	struct tund_membership *n = admin_network(&f, &net, f.d.public_key, "10.64.0.0/16");

	struct fx_reply r;
	announce(n, &y, net.key); /* pending */
	g_autofree char *approve = g_strdup_printf(
		"{\"cmd\":\"peer.approve\",\"peer\":\"%s\",\"admin\":true}", y.b64);
	fx_call(&f, approve, &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	CHECK(tund_membership_key_is_admin(n, y.pub));
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z.pub, az, t);
	CHECK(is_member(&f, &z));
	g_autofree char *block =
		g_strdup_printf("{\"cmd\":\"peer.block\",\"peer\":\"%s\"}", y.b64);
	fx_capture_begin();
	fx_call(&f, block, &r);
	g_autofree char *log = fx_capture_end();
	CHECK(r.ok);
	fx_reply_clear(&r);
	CHECK(log && strstr(log, "signed again 1 admit(s) of the blocked admin"));
	struct tund_peer *py = tund_peer_list_find(&f.d.peers, y.b64);
	CHECK(py && py->state == TUND_PEER_BLOCKED && is_member(&f, &z));
	/* z keeps the address y gave it. */
	CHECK(holds_v4(tund_peer_list_find(&f.d.peers, z.b64), az));
	/* The block moved the network to epoch 1, whose key only the creator
	 * can make. */
	struct tund_network cur = *tund_membership_network(n);
	uint8_t k1[32];
	tund_network_epoch_key(&net, f.d.private_key, 1, k1);
	CHECK(cur.epoch == 1 && !memcmp(cur.key, k1, 32) && memcmp(cur.key, net.key, 32));
	send_record(n, &cur, &y, y.pub, TUND_RECORD_ADMIT, w.pub, aw, t);
	CHECK(!is_member(&f, &w) && dropped(n, "bad_record") == 1);

	/* After a restart, the records file alone says the same. */
	n = restart(&f, n, &cur, true);
	CHECK(is_member(&f, &z) && holds_v4(tund_peer_list_find(&f.d.peers, z.b64), az));
	py = tund_peer_list_find(&f.d.peers, y.b64);
	CHECK(py && py->state == TUND_PEER_BLOCKED && !is_member(&f, &w));

	sodium_memzero(&cur, sizeof(cur));
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* An open network with an admin: the creator admits each key that shows
 * the invite with a record (32 at once, then one a second; the rest are
 * rate_limited and keep nothing), each at an address nobody holds; a plain
 * member keeps nothing for a key without a record, joining window or not. */
UNIT_TEST(netrt_open_network_admits_by_record_at_a_bounded_rate)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net, net2;
	struct node k[40], creator;

	struct tund_membership *n = admin_network_as(&f, &net, f.d.public_key, "10.65.0.0/16",
						     TUND_ADMISSION_OPEN);
	for (int i = 0; i < 40; i++) {
		node_new(&k[i]);
		announce(n, &k[i], net.key);
	}
	CHECK(summary_int(n, "members") == 32 && summary_int(n, "pending") == 0);
	CHECK(dropped(n, "rate_limited") == 8);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < 40; i++) {
		struct tund_peer *p = tund_peer_list_find(&f.d.peers, k[i].b64);
		char a[TUND_CIDR_STRLEN];

		if (i >= 32) {
			CHECK(!p); /* turned away: no state at all */
			continue;
		}
		CHECK(p && p->state == TUND_PEER_MEMBER && p->allowed_ips->len == 2);
		if (!p || p->allowed_ips->len != 2)
			continue;
		tund_cidr_format(&g_array_index(p->allowed_ips, struct tund_cidr, 0), a, sizeof(a));
		CHECK(g_hash_table_add(seen, g_strdup(a))); /* every address a different one */
	}
	g_hash_table_unref(seen);
	/* The records file holds each admission: after a restart, the same
	 * 32 members. */
	struct tund_network cur = *tund_membership_network(n);
	n = restart(&f, n, &cur, true);
	CHECK(summary_int(n, "members") == 32);
	CHECK(tund_peer_list_find(&f.d.peers, k[31].b64) &&
	      !tund_peer_list_find(&f.d.peers, k[32].b64));
	sodium_memzero(&cur, sizeof(cur));

	/* A plain member of an open network with an admin keeps nothing for a
	 * key the admin has not admitted, even while joining. */
	node_new(&creator);
	struct tund_membership *m = admin_network_as(&f, &net2, creator.pub, "10.66.0.0/16",
						     TUND_ADMISSION_OPEN);
	struct node x;
	node_new(&x);
	announce(m, &x, net2.key);
	CHECK(!tund_peer_list_find(&f.d.peers, x.b64) && dropped(m, "not_admitted") == 1);
	CHECK(summary_string(m, "address") == NULL); /* no record of our own yet */

	sodium_memzero(&net, sizeof(net));
	sodium_memzero(&net2, sizeof(net2));
	fx_free(&f);
	netns_leave(ns);
}

/* The creator, offline while another admin admitted a key and blocked it
 * long ago, hears only the block (the broker keeps the newest record per
 * key): the key held the network key, so the creator rotates it anyway,
 * once for several blocks heard together. */
UNIT_TEST(netrt_creator_rekeys_for_a_late_block)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, z1, z2;
	uint64_t long_ago = now_ms() - 3600 * 1000;

	node_new(&y);
	node_new(&z1);
	node_new(&z2);
	struct tund_membership *n = admin_network(&f, &net, f.d.public_key, "10.69.0.0/16");
	CHECK(tund_membership_sign_record(n, TUND_RECORD_ADMIT_ADMIN, y.pub) == 0);
	send_record(n, &net, &y, y.pub, TUND_RECORD_BLOCK, z1.pub, NULL, long_ago);
	send_record(n, &net, &y, y.pub, TUND_RECORD_BLOCK, z2.pub, NULL, long_ago + 1);
	CHECK(tund_membership_network(n)->epoch == 0); /* not yet: blocks coalesce */
	gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (tund_membership_network(n)->epoch == 0 && g_get_monotonic_time() < deadline)
		if (!unit_iterate(false))
			g_usleep(10000);
	CHECK(tund_membership_network(n)->epoch == 1);
	/* The same records heard again (a broker reconnect) change nothing. */
	send_record(n, &net, &y, y.pub, TUND_RECORD_BLOCK, z1.pub, NULL, long_ago);
	deadline = g_get_monotonic_time() + G_USEC_PER_SEC;
	while (g_get_monotonic_time() < deadline)
		if (!unit_iterate(false))
			g_usleep(10000);
	CHECK(tund_membership_network(n)->epoch == 1);

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A key in two of our networks is carried by its entry in the first by
 * name; once that network's admin blocks this node, the pair must use the
 * other (the members there moved to a key we never get), and the carrier
 * moves. */
UNIT_TEST(netrt_carrier_leaves_a_network_that_blocked_us)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network na, nb;
	struct node x, y, b;
	uint8_t me_a[4] = { 10, 67, 1, 1 }, b_a[4] = { 10, 67, 1, 2 }, me_b[4] = { 10, 68, 1, 1 },
		b_b[4] = { 10, 68, 1, 2 };
	uint64_t t = now_ms();
	const char *why = NULL;

	node_new(&x);
	node_new(&y);
	node_new(&b);
	CHECK(tund_network_init_new(&na, "alpha", &why) && tund_network_init_new(&nb, "beta", &why));
	CHECK(tund_network_set_prefix4(&na, "10.67.0.0/16", &why) &&
	      tund_network_set_prefix4(&nb, "10.68.0.0/16", &why));
	memcpy(na.admin, x.pub, 32);
	memcpy(nb.admin, y.pub, 32);
	na.has_admin = nb.has_admin = true;
	struct tund_membership *ma = tund_membership_start(&f.d, &na, false);
	g_ptr_array_add(f.d.networks, ma);
	struct tund_membership *mb = tund_membership_start(&f.d, &nb, false);
	g_ptr_array_add(f.d.networks, mb);
	send_record(ma, &na, &x, x.pub, TUND_RECORD_ADMIT, f.d.public_key, me_a, t);
	send_record(ma, &na, &x, x.pub, TUND_RECORD_ADMIT, b.pub, b_a, t);
	send_record(mb, &nb, &y, y.pub, TUND_RECORD_ADMIT, f.d.public_key, me_b, t);
	send_record(mb, &nb, &y, y.pub, TUND_RECORD_ADMIT, b.pub, b_b, t);
	struct tund_peer *ba = tund_peer_list_find_in(&f.d.peers, "alpha", b.pub);
	struct tund_peer *bb = tund_peer_list_find_in(&f.d.peers, "beta", b.pub);
	CHECK(ba && bb && ba->state == TUND_PEER_MEMBER && bb->state == TUND_PEER_MEMBER);
	CHECK(tund_carrier_of(&f.d, b.pub) == ba && ba && ba->shared_ips->len == 2);
	CHECK(!tund_membership_blocked_us(ma));
	send_record(ma, &na, &x, x.pub, TUND_RECORD_BLOCK, f.d.public_key, NULL, t + 1);
	CHECK(tund_membership_blocked_us(ma));
	CHECK(tund_carrier_of(&f.d, b.pub) == bb);
	CHECK(bb && ba && bb->shared_ips->len == 0 && !ba->path && !ba->wg_peer);

	sodium_memzero(&na, sizeof(na));
	sodium_memzero(&nb, sizeof(nb));
	fx_free(&f);
	netns_leave(ns);
}

/* A key pending in the network that sorts first (we are its admin) and a
 * member of another: the other end counts us a member in both and picks the
 * first, so we must too, or the two ends use different pre-shared keys and
 * the pair has no session at all. The pending entry carries the session
 * with the other network's addresses only, and path signaling through the
 * first network is heard. */
UNIT_TEST(netrt_pending_entry_carries_a_member_of_another_network)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network na, nb;
	struct node y, b;
	uint8_t me_b[4] = { 10, 70, 1, 1 }, b_b[4] = { 10, 70, 1, 2 };
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	const char *why = NULL;
	uint64_t t = now_ms();

	node_new(&y);
	node_new(&b);
	CHECK(tund_network_init_new(&na, "alpha", &why) && tund_network_init_new(&nb, "beta", &why));
	CHECK(tund_network_set_prefix4(&na, "10.69.0.0/16", &why) &&
	      tund_network_set_prefix4(&nb, "10.70.0.0/16", &why));
	na.admission = TUND_ADMISSION_APPROVE;
	memcpy(na.admin, f.d.public_key, 32);
	memcpy(nb.admin, y.pub, 32);
	na.has_admin = nb.has_admin = true;
	struct tund_membership *ma = tund_membership_start(&f.d, &na, false);
	g_ptr_array_add(f.d.networks, ma);
	struct tund_membership *mb = tund_membership_start(&f.d, &nb, false);
	g_ptr_array_add(f.d.networks, mb);
	send_record(mb, &nb, &y, y.pub, TUND_RECORD_ADMIT, f.d.public_key, me_b, t);
	send_record(mb, &nb, &y, y.pub, TUND_RECORD_ADMIT, b.pub, b_b, t);
	struct tund_peer *bb = tund_peer_list_find_in(&f.d.peers, "beta", b.pub);
	CHECK(bb && bb->state == TUND_PEER_MEMBER && tund_carrier_of(&f.d, b.pub) == bb);
	announce(ma, &b, na.key);
	struct tund_peer *ba = tund_peer_list_find_in(&f.d.peers, "alpha", b.pub);
	CHECK(ba && ba->state == TUND_PEER_PENDING && !tund_peer_owns_addresses(ba));
	CHECK(tund_carrier_of(&f.d, b.pub) == ba);
	CHECK(ba && ba->has_psk && ba->shared_ips->len == 2 && ba->allowed_ips->len == 0);
	CHECK(bb && ba && !memcmp(ba->shared_ips->data, bb->allowed_ips->data,
				  2 * sizeof(struct tund_cidr)));
	CHECK(bb && !bb->path && !bb->wg_peer);
	/* b's path signaling comes through alpha, where it is pending here. */
	size_t len = seal(&b, na.key, TUND_SIGNAL_RESTART, f.d.public_key, now_ms(), buf,
			  sizeof(buf));
	CHECK(len > 0);
	tund_membership_receive(ma, buf, len, false);
	CHECK(dropped(ma, "unknown_sender") == 0 && dropped(ma, "blocked") == 0);
	/* A key pending here and a member nowhere has no carrier. */
	struct node z;
	node_new(&z);
	announce(ma, &z, na.key);
	struct tund_peer *za = tund_peer_list_find_in(&f.d.peers, "alpha", z.pub);
	CHECK(za && za->state == TUND_PEER_PENDING && !tund_carrier_of(&f.d, z.pub));
	len = seal(&z, na.key, TUND_SIGNAL_RESTART, f.d.public_key, now_ms(), buf, sizeof(buf));
	tund_membership_receive(ma, buf, len, false);
	CHECK(dropped(ma, "unknown_sender") == 1);

	sodium_memzero(&na, sizeof(na));
	sodium_memzero(&nb, sizeof(nb));
	fx_free(&f);
	netns_leave(ns);
}

/* The admin of a network with an admin, on joins with limited invites: a
 * single-use invite admits one key once (a repeat by it spends nothing), a
 * second key is refused "already used"; expired, revoked and unknown tokens
 * are refused; only the admin issues them. */
UNIT_TEST(netrt_invite_join_decisions)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, z, w, v;
	struct fx_reply r;
	uint8_t tok[16], tok2[16], bogus[16];
	char id[9], id2[9];

	node_new(&y);
	node_new(&z);
	node_new(&w);
	node_new(&v);
	const char *why = NULL;
	CHECK(tund_network_init_new(&net, "club", &why));
	net.admission = TUND_ADMISSION_APPROVE;
	memcpy(net.admin, f.d.public_key, 32);
	net.has_admin = true;
	struct tund_membership *n = tund_membership_start(&f.d, &net, false);
	g_ptr_array_add(f.d.networks, n);

	/* Single use: y gets in, once; y again spends nothing; z is refused. */
	CHECK(limited_invite(&f, "\"uses\":1", tok, id));
	fx_capture_begin();
	send_join(n, &net, &y, f.d.public_key, tok);
	CHECK(is_member(&f, &y));
	send_join(n, &net, &y, f.d.public_key, tok);
	send_join(n, &net, &z, f.d.public_key, tok);
	g_autofree char *log = fx_capture_end();
	CHECK(!is_member(&f, &z) && dropped(n, "join_refused") == 1);
	CHECK(log && strstr(log, "invite already used"));
	g_autofree char *list = NULL;
	fx_call(&f, "{\"cmd\":\"network.invites\",\"name\":\"club\"}", &r);
	CHECK(r.ok && r.line && strstr(r.line, id) && strstr(r.line, "\"uses_left\":0"));
	fx_reply_clear(&r);
	/* The file holds the token's hash, not the token. */
	g_autofree char *path = fx_path(&f, "invites.json");
	g_autofree char *file = fx_read(path, NULL);
	char hex[33];
	sodium_bin2hex(hex, sizeof(hex), tok, 16);
	CHECK(file && !strstr(file, hex) && fx_mode(path) == 0600);

	/* Expired: issued for a time already past. */
	struct tund_invites *iv = NULL;
	char ewhy[256];
	CHECK(tund_invites_get(&f.d, &iv, ewhy, sizeof(ewhy)) == 0);
	CHECK(iv && tund_invites_issue(iv, "club", now_ms() - 1000, 5, tok2, ewhy,
				       sizeof(ewhy)) == 0);
	fx_capture_begin();
	send_join(n, &net, &w, f.d.public_key, tok2);
	g_autofree char *log2 = fx_capture_end();
	CHECK(!is_member(&f, &w) && log2 && strstr(log2, "invite expired at "));
	/* Revoked. */
	CHECK(limited_invite(&f, "\"uses\":3,\"expires_s\":600", tok2, id2));
	g_autofree char *revoke = g_strdup_printf(
		"{\"cmd\":\"network.invite_revoke\",\"name\":\"club\",\"id\":\"%s\"}", id2);
	fx_call(&f, revoke, &r);
	CHECK(r.ok && !g_strcmp0(fx_result_string(&r, "revoked"), id2));
	fx_reply_clear(&r);
	fx_capture_begin();
	send_join(n, &net, &w, f.d.public_key, tok2);
	randombytes_buf(bogus, sizeof(bogus));
	send_join(n, &net, &v, f.d.public_key, bogus);
	g_autofree char *log3 = fx_capture_end();
	CHECK(!is_member(&f, &w) && log3 && strstr(log3, "invite revoked"));
	CHECK(!is_member(&f, &v) && log3 && strstr(log3, "unknown invite"));
	CHECK(dropped(n, "join_refused") == 4);
	/* Bad limits are refused. */
	fx_call(&f, "{\"cmd\":\"network.invite\",\"name\":\"club\",\"uses\":0}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "uses"));
	fx_reply_clear(&r);

	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(tok2, sizeof(tok2));
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A node that is not the admin issues no limited invites, and takes a
 * refusal only from the admin: it shows as join_refused. A limited invite
 * that has expired is refused at join. */
UNIT_TEST(netrt_invite_joiner_side)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node admin, other;
	struct fx_reply r;
	static struct tund_signal m;
	uint8_t buf[TUND_SIGNAL_MAX_LEN];
	char text[TUND_INVITE_MAX_TEXT];
	size_t len;

	node_new(&admin);
	node_new(&other);
	const char *why = NULL;
	CHECK(tund_network_init_new(&net, "club", &why));
	net.admission = TUND_ADMISSION_APPROVE;
	memcpy(net.admin, admin.pub, 32);
	net.has_admin = true;
	net.has_token = true;
	randombytes_buf(net.invite_token, 16);
	/* Expired: refused at once, with the time. */
	net.invite_expires_ms = 1765054800000ull; /* 2025-12-06 21:00:00 UTC */
	CHECK(tund_invite_encode(&net, text, sizeof(text)) > 0);
	g_autofree char *join = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}",
						text);
	fx_call(&f, join, &r);
	CHECK(!r.ok && r.error && !strcmp(r.error, "invite expired at 2025-12-06 21:00:00 UTC"));
	fx_reply_clear(&r);
	CHECK(f.d.networks->len == 0);

	net.invite_expires_ms = now_ms() + 3600000;
	CHECK(tund_invite_encode(&net, text, sizeof(text)) > 0);
	g_autofree char *join2 = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}",
						 text);
	fx_call(&f, join2, &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	struct tund_membership *n = tund_membership_find(&f.d, "club");
	CHECK(n != NULL);
	if (!n)
		goto out;
	/* Not the admin: no limited invites; a plain one carries no token. */
	fx_call(&f, "{\"cmd\":\"network.invite\",\"name\":\"club\",\"uses\":1}", &r);
	CHECK(!r.ok && r.error &&
	      !strcmp(r.error, "only the creator of network club issues limited invites (it counts their uses)"));
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.invite\",\"name\":\"club\"}", &r);
	struct tund_network plain;
	CHECK(r.ok && tund_invite_decode(fx_result_string(&r, "invite"), &plain, NULL) &&
	      !plain.has_token);
	fx_reply_clear(&r);

	/* A refusal from another key is dropped; the admin's is shown. */
	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_REFUSED;
	memcpy(m.recipient, f.d.public_key, 32);
	m.time_ms = now_ms();
	strcpy(m.reason, "invite already used");
	memcpy(m.sender, other.pub, 32);
	len = tund_signal_seal(&m, net.key, other.priv, buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	CHECK(dropped(n, "unknown_sender") == 1);
	g_autofree char *none = summary_string(n, "join_refused");
	CHECK(none == NULL);
	memcpy(m.sender, admin.pub, 32);
	len = tund_signal_seal(&m, net.key, admin.priv, buf, sizeof(buf));
	tund_membership_receive(n, buf, len, false);
	g_autofree char *shown = summary_string(n, "join_refused");
	CHECK(shown && !strcmp(shown, "invite already used"));
out:
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* One member's flood is cut at its own budget (after its proof), and
 * another member's messages still get through. */
UNIT_TEST(netrt_sender_rate_after_proof)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, z;

	node_new(&y);
	node_new(&z);
	struct tund_membership *n = start(&f, &net, "open", TUND_ADMISSION_OPEN, false);
	announce(n, &y, net.key);
	announce(n, &z, net.key);
	CHECK(summary_int(n, "members") == 2);
	for (int i = 0; i < 150; i++)
		announce(n, &y, net.key);
	gint64 cut = dropped(n, "sender_rate_limited");
	CHECK(cut >= 40 && cut <= 60); /* burst 100 (one spent above), 20/s */
	CHECK(dropped(n, "replayed") == 0);
	announce(n, &z, net.key);
	CHECK(dropped(n, "sender_rate_limited") == cut);

	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* ---- attacks from a review of the records (issue 18) ---- */

/* We are the creator; y is a second admin and admits 12 keys. After a
 * restart with only the records file (no broker), all are members: the
 * file's records are taken in no order unless the creator's come first. */
UNIT_TEST(netrt_restart_keeps_a_second_admins_members)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, z[12];
	uint64_t t = now_ms();

	node_new(&y);
	struct tund_membership *n = admin_network(&f, &net, f.d.public_key, "10.70.0.0/16");
	CHECK(tund_membership_sign_record(n, TUND_RECORD_ADMIT_ADMIN, y.pub) == 0);
	for (int i = 0; i < 12; i++) {
		uint8_t a[4] = { 10, 70, 1, (uint8_t)(i + 1) };
		node_new(&z[i]);
		send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z[i].pub, a, t);
	}
	int before = 0, after = 0;
	for (int i = 0; i < 12; i++)
		before += is_member(&f, &z[i]);
	n = restart(&f, n, &net, true);
	for (int i = 0; i < 12; i++)
		after += is_member(&f, &z[i]);
	CHECK(before == 12);
	CHECK(after == 12 && dropped(n, "bad_record") == 0);
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* We are the creator; y (admin) blocked 12 keys long ago; we rotated once.
 * After a restart, the same retained blocks from the broker must not make
 * us rotate again. */
UNIT_TEST(netrt_restart_does_not_rotate_again_for_old_blocks)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, w[12];
	uint64_t long_ago = now_ms() - 3600 * 1000;

	node_new(&y);
	struct tund_membership *n = admin_network(&f, &net, f.d.public_key, "10.71.0.0/16");
	CHECK(tund_membership_sign_record(n, TUND_RECORD_ADMIT_ADMIN, y.pub) == 0);
	for (int i = 0; i < 12; i++) {
		node_new(&w[i]);
		send_record(n, &net, &y, y.pub, TUND_RECORD_BLOCK, w[i].pub, NULL, long_ago + i);
	}
	gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (tund_membership_network(n)->epoch == 0 && g_get_monotonic_time() < deadline)
		if (!unit_iterate(false))
			g_usleep(10000);
	CHECK(tund_membership_network(n)->epoch == 1);
	struct tund_network cur = *tund_membership_network(n);
	n = restart(&f, n, &cur, false);
	CHECK(dropped(n, "bad_record") == 0); /* the file's records all taken */
	/* The broker hands back the retained records (sealed under the current key). */
	for (int i = 0; i < 12; i++)
		send_record(n, &cur, &y, y.pub, TUND_RECORD_BLOCK, w[i].pub, NULL, long_ago + i);
	deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < deadline)
		if (!unit_iterate(false))
			g_usleep(10000);
	CHECK(tund_membership_network(n)->epoch == 1);
	sodium_memzero(&cur, sizeof(cur));
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* Open network, we are the creator; y (second admin) admitted z[i]. The
 * attacker W[i] (any invite holder) is ground so that its first hashed
 * address is z[i]'s. After a restart of the creator (peers.json keeps z),
 * W[i] announces: none gets z's address. */
UNIT_TEST(netrt_restart_leaves_no_member_address_to_take)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node y, z[12], w[12];
	uint8_t a[12][4], v6[16];
	uint64_t t = now_ms();

	node_new(&y);
	struct tund_membership *n = admin_network_as(&f, &net, f.d.public_key, "10.72.0.0/16",
						     TUND_ADMISSION_OPEN);
	CHECK(tund_membership_sign_record(n, TUND_RECORD_ADMIT_ADMIN, y.pub) == 0);
	for (int i = 0; i < 12; i++) {
		node_new(&z[i]);
		node_new(&w[i]);
		CHECK(tund_network_address(&net, w[i].pub, 0, a[i], v6));
		send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z[i].pub, a[i], t);
		CHECK(is_member(&f, &z[i]));
	}
	struct tund_network cur = *tund_membership_network(n);
	n = restart(&f, n, &cur, false); /* peers (peers.json) kept */
	int taken = 0;
	for (int i = 0; i < 12; i++) {
		announce(n, &w[i], cur.key);
		struct tund_peer *pz = tund_peer_list_find(&f.d.peers, z[i].b64);
		struct tund_peer *pw = tund_peer_list_find(&f.d.peers, w[i].b64);
		if (pz && pw && pz->state == TUND_PEER_MEMBER && pw->state == TUND_PEER_MEMBER &&
		    holds_v4(pz, a[i]) && holds_v4(pw, a[i]))
			taken++;
	}
	/* Then the broker hands back y's retained admits of z. */
	for (int i = 0; i < 12; i++)
		send_record(n, &cur, &y, y.pub, TUND_RECORD_ADMIT, z[i].pub, a[i], t);
	CHECK(taken == 0);
	sodium_memzero(&cur, sizeof(cur));
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A newcomer hears the retained records in the broker's order: y's admit of
 * z before the creator's admit-admin record of y. The message carries that
 * record (only a creator-signed one counts), so z is a member at once. */
UNIT_TEST(netrt_second_admins_record_carries_its_admin_record)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node creator, y, z, v;
	uint8_t ay[4] = { 10, 73, 1, 1 }, az[4] = { 10, 73, 1, 2 }, av[4] = { 10, 73, 1, 3 };
	uint8_t y_admin[TUND_RECORD_LEN], forged[TUND_RECORD_LEN];
	uint64_t t = now_ms();

	node_new(&creator);
	node_new(&y);
	node_new(&z);
	node_new(&v);
	/* The creator's admit-as-admin of y, as the creator's node signs it. */
	struct tund_membership *n = admin_network(&f, &net, creator.pub, "10.73.0.0/16");
	struct tund_record r = { .kind = TUND_RECORD_ADMIT_ADMIN, .time_ms = t };
	tund_network_record_id(&net, r.netid);
	memcpy(r.subject, y.pub, 32);
	memcpy(r.issuer, creator.pub, 32);
	memcpy(r.addr4, ay, 4);
	CHECK(tund_record_sign(&r, creator.priv, y_admin) == TUND_RECORD_LEN);
	/* The same claim signed by y itself is no creator's record. */
	memcpy(r.subject, y.pub, 32);
	memcpy(r.issuer, y.pub, 32);
	CHECK(tund_record_sign(&r, y.priv, forged) == TUND_RECORD_LEN);
	/* y's admit of v carrying a self-made admin record: refused. */
	send_record_with(n, &net, &y, y.pub, TUND_RECORD_ADMIT, v.pub, av, t, forged, NULL);
	CHECK(!tund_membership_key_is_admin(n, y.pub) && !is_member(&f, &v));
	/* A newcomer hears y's admit of z before the creator's record of y
	 * (retained messages come in no order): the record carries it. */
	send_record_with(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z.pub, az, t, y_admin, NULL);
	CHECK(tund_membership_key_is_admin(n, y.pub) && is_member(&f, &z));
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT_ADMIN, y.pub, ay, t);
	CHECK(tund_membership_key_is_admin(n, y.pub) && is_member(&f, &z));
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* Approve network, we are the admin: an invite holder announcing fresh keys
 * gets at most PENDING_MAX saved pending entries, at the admission rate. */
UNIT_TEST(netrt_pending_keys_are_bounded_on_the_admin)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct tund_membership *n = admin_network(&f, &net, f.d.public_key, "10.74.0.0/16");
	for (int i = 0; i < 480; i++) {
		struct node k;
		node_new(&k);
		announce(n, &k, net.key);
	}
	struct stat st;
	g_autofree char *pj = g_build_filename(f.d.cfg.state_dir, "peers.json", NULL);
	CHECK(stat(pj, &st) == 0 && st.st_size < 16384);
	CHECK(summary_int(n, "pending") >= 32 && summary_int(n, "pending") <= 64);
	CHECK(dropped(n, "rate_limited") >= 480 - 64);
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* An invite (unsigned: anyone can make or edit one) whose prefix is a
 * public range, with the sender as admin: refused, or its admin's record
 * would route 8.8.8.8 into the tunnel. */
UNIT_TEST(netrt_join_refuses_a_public_prefix)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node m;
	const char *why = NULL;
	char text[TUND_INVITE_MAX_TEXT];
	struct fx_reply r;

	node_new(&m);
	CHECK(tund_network_init_new(&net, "friends", &why));
	CHECK(tund_network_set_prefix4(&net, "8.0.0.0/8", &why));
	net.admission = TUND_ADMISSION_OPEN;
	memcpy(net.admin, m.pub, 32);
	net.has_admin = true;
	CHECK(tund_invite_encode(&net, text, sizeof(text)) > 0);
	g_autofree char *join = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}", text);
	fx_call(&f, join, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "prefix 8.0.0.0/8 of network \"friends\" is not "
					   "a private range"));
	fx_reply_clear(&r);
	CHECK(!tund_membership_find(&f.d, "friends"));
	/* 100.64.0.0/10 (shared address space) is one. */
	CHECK(tund_network_set_prefix4(&net, "100.100.0.0/16", &why));
	CHECK(tund_invite_encode(&net, text, sizeof(text)) > 0);
	g_autofree char *join2 = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}", text);
	fx_call(&f, join2, &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	/* The same network again under another name (an edited invite): it
	 * would share the first one's records file. */
	g_strlcpy(net.name, "friends2", sizeof(net.name));
	CHECK(tund_network_set_prefix4(&net, "10.98.0.0/16", &why));
	CHECK(tund_invite_encode(&net, text, sizeof(text)) > 0);
	g_autofree char *join3 = g_strdup_printf("{\"cmd\":\"network.join\",\"invite\":\"%s\"}", text);
	fx_call(&f, join3, &r);
	CHECK(!r.ok && r.error && strstr(r.error, "network \"friends2\" has the root key of "
					   "network \"friends\""));
	fx_reply_clear(&r);
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}

/* A limited invite's token must not outlive `network leave`, also when
 * invites.json was not read since the daemon started: a later network of
 * the same name would honour it (entries are keyed by name). */
UNIT_TEST(netrt_leave_forgets_invites_not_yet_read)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net, net2;
	struct node x;
	struct fx_reply r;
	uint8_t tok[16];
	char id[9];
	const char *why = NULL;

	node_new(&x);
	CHECK(tund_network_init_new(&net, "club", &why));
	net.admission = TUND_ADMISSION_APPROVE;
	memcpy(net.admin, f.d.public_key, 32);
	net.has_admin = true;
	struct tund_membership *n = tund_membership_start(&f.d, &net, false);
	g_ptr_array_add(f.d.networks, n);
	CHECK(limited_invite(&f, "\"uses\":1,\"expires\":\"30d\"", tok, id) ||
	      limited_invite(&f, "\"uses\":1", tok, id));
	/* A daemon restart: invites.json is read lazily. */
	tund_invites_free(f.d.invites);
	f.d.invites = NULL;
	fx_call(&f, "{\"cmd\":\"network.leave\",\"name\":\"club\"}", &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	/* A new network that happens to have the same name. */
	CHECK(tund_network_init_new(&net2, "club", &why));
	net2.admission = TUND_ADMISSION_APPROVE;
	memcpy(net2.admin, f.d.public_key, 32);
	net2.has_admin = true;
	n = tund_membership_start(&f.d, &net2, false);
	g_ptr_array_add(f.d.networks, n);
	send_join(n, &net2, &x, f.d.public_key, tok);
	CHECK(!is_member(&f, &x));
	sodium_memzero(&net, sizeof(net));
	sodium_memzero(&net2, sizeof(net2));
	fx_free(&f);
	netns_leave(ns);
}

/* A second admin's newer admit would move member z off its address and
 * give that to w: both refused, z keeps its address. */
UNIT_TEST(netrt_no_admin_moves_a_members_address)
{
	int ns = netns_enter();
	if (ns < 0)
		return;
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	struct node creator, y, z, w;
	uint8_t ay[4] = { 10, 76, 1, 1 }, a[4] = { 10, 76, 1, 2 }, b[4] = { 10, 76, 1, 3 };
	uint64_t t = now_ms();

	node_new(&creator);
	node_new(&y);
	node_new(&z);
	node_new(&w);
	struct tund_membership *n = admin_network(&f, &net, creator.pub, "10.76.0.0/16");
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT_ADMIN, y.pub, ay, t);
	send_record(n, &net, &creator, creator.pub, TUND_RECORD_ADMIT, z.pub, a, t);
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, z.pub, b, t + 1);
	send_record(n, &net, &y, y.pub, TUND_RECORD_ADMIT, w.pub, a, t + 2);
	struct tund_peer *pz = tund_peer_list_find(&f.d.peers, z.b64);
	struct tund_peer *pw = tund_peer_list_find(&f.d.peers, w.b64);
	CHECK(holds_v4(pz, a) && !pw);
	sodium_memzero(&net, sizeof(net));
	fx_free(&f);
	netns_leave(ns);
}
