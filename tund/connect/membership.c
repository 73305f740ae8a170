// SPDX-License-Identifier: MIT
#include "tund/connect/membership.h"
#include "tund/connect/ice_config.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "netlink/addr.h"
#include "tund/connect/addrwatch.h"
#include "tund/connect/invites.h"
#include "tund/connect/beacon.h"
#include "tund/connect/carrier.h"
#include "tund/daemon/state.h"
#include "tund/dataplane/dataplane.h"
#include "tund/daemon/log.h"
#include "tund/daemon/loop.h"
#include "tund/connect/mqtt.h"
#include "tund/connect/networks.h"
#include "tund/connect/old_epochs.h"
#include "tund/connect/records_file.h"
#include "tund/connect/path.h"
#include "tund/host/bcast_rules.h"
#include "overlay/control_proto.h"
#include "overlay/ratelimit.h"
#include "overlay/sigbound.h"

static const char *const drop_names[TUND_SIG_DROP_COUNT] = {
	"malformed", "other_network", "not_for_me", "forged",
	"stale",     "replayed",      "unknown_sender", "blocked",
	"old_version", "not_admitted", "bad_record", "oversize", "rate_limited",
	"join_refused",
	"sender_rate_limited", "address_conflict",
};

/* Indexed by enum tund_signal_type (0 unused). */
static const char *const type_names[] = {
	NULL, "announce", "offer", "answer", "candidate", "restart", "bye", "record", "join",
	"refused", "rekey",
};
enum { TYPE_COUNT = sizeof(type_names) / sizeof(type_names[0]) };

struct tund_membership {
	struct tund_daemon *d;
	struct tund_network net; /* as joined (saved to networks.json) */
	struct tund_network eff; /* with the config's [network NAME] servers */
	uint8_t netid[16];
	struct tund_mqtt *mqtt;
	struct tund_beacon *beacon;
	struct tund_addrwatch *addrwatch; /* renews paths and broker link */
	GHashTable *replay; /* GBytes(pubkey) -> struct tund_signal_replay */
	GHashTable *records; /* GBytes(subject) -> newest struct tund_record (admin networks) */
	GHashTable *orphans; /* GBytes(raw) -> record from a key not (yet) known as an admin */
	char *records_path;  /* records-<id>.json; NULL: not saved (a corrupt one is left) */
	bool loading;        /* reading records-<id>.json: no rekey for old blocks */
	struct tund_sigbound bound; /* size and rate, before any decode */
	GHashTable *sender_rate;    /* GBytes(member key) -> struct tund_ratelimit */
	uint64_t drops[TUND_SIG_DROP_COUNT];
	uint64_t sent, sent_bytes, received;
	uint64_t sent_type[TYPE_COUNT]; /* what the broker is asked to carry, by kind */
	bool has_addr;
	struct tund_cidr addr4, addr6;
	char announce_topic[160], inbox_topic[160], rekey_topic[160];
	guint psk_grace_timer; /* after a rekey: the old PSK still completes handshakes */
	guint rekey_timer;     /* the creator, after another admin's block */
	int64_t rekey_for_others_us; /* the creator's last rekey for another admin's block */
	/* The creator: members still on an old epoch get the current key. */
	struct tund_old_epochs old;
	struct tund_sigbound old_bound;  /* its own, so old topics cannot starve ours */
	GHashTable *old_answered;        /* GBytes(member key) -> uint64 announce time */
	uint64_t old_answers;
	/* Until this timer fires after our first broker connection, announces
	 * come from members who were there before we joined. */
	bool joining;
	guint joining_timer;
	guint reannounce_timer; /* keeps our retained announce fresh */
	/* Open networks with an admin: the admin admits every key that shows
	 * the invite, at a bounded rate; a joiner announces again until it is. */
	struct tund_ratelimit open_admits;
	guint admit_wait_timer;
	int64_t answered_us;    /* last announce sent for a newcomer */
	int64_t lan_join_us;    /* last join sent on hearing the creator's beacon */
	int64_t old_version_logged_us; /* v1 nodes: logged once an hour */
	/* Joined with a limited invite: why the admin refused it (empty: not
	 * refused, or not yet answered). */
	char join_refused[TUND_SIGNAL_REASON_MAX + 1];
};

static uint32_t bcast_group(const struct tund_membership *n)
{
	return tund_dataplane_bcast_group(n->net.name);
}

/* Blocks by other admins heard together make one rekey, and they make at
 * most one a minute: a rogue second admin blocking keys in a loop cannot
 * make the creator rotate the key faster (offline members would fall more
 * than TUND_OLD_EPOCHS behind). The creator's own blocks rekey at once. */
enum { JOINING_WINDOW_S = 15, REKEY_COALESCE_MS = 500, REKEY_MIN_GAP_MS = 60000 };

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_real_time() / 1000);
}

const struct tund_network *tund_membership_network(struct tund_membership *n)
{
	return &n->net;
}

const struct tund_network *tund_membership_effective(struct tund_membership *n)
{
	return &n->eff;
}

static bool is_member_of(struct tund_peer *p, struct tund_membership *n)
{
	return p->network && !strcmp(p->network, n->net.name);
}

/* ---- addresses ---- */

/* Takes our address in this network off the TUN: after a leave, or when it
 * changed, the old one would still answer and source packets peers drop. */
static void remove_own_address(struct tund_membership *n, bool v6_too)
{
	int ret;

	if (!n->has_addr || n->d->ifindex <= 0)
		return;
	ret = tund_addr_del(n->d->ifindex, &n->addr4);
	if (ret && ret != -EADDRNOTAVAIL)
		log_warn("network %s: cannot remove our old address: %s", n->net.name,
			 g_strerror(-ret));
	ret = v6_too ? tund_addr_del(n->d->ifindex, &n->addr6) : 0;
	if (ret && ret != -EADDRNOTAVAIL)
		log_warn("network %s: cannot remove our old IPv6 address: %s", n->net.name,
			 g_strerror(-ret));
}

static void set_own_address(struct tund_membership *n, const uint8_t v4[4], const uint8_t v6[16])
{
	struct tund_cidr a4 = n->net.prefix4, a6 = n->net.prefix6;
	int ret;

	memcpy(a4.addr, v4, 4);
	memcpy(a6.addr, v6, 16);
	if (n->has_addr && !memcmp(a4.addr, n->addr4.addr, 4))
		return;
	if (n->has_addr) {
		log_warn("network %s: our address changed (collision); moving to the new one",
			 n->net.name);
		remove_own_address(n, memcmp(a6.addr, n->addr6.addr, 16) != 0); /* no longer ours */
	}
	n->addr4 = a4;
	n->addr6 = a6;
	n->has_addr = true;
	/* Broadcasts go to our members with these addresses; static peers
	 * get the last network's. */
	if (n->d->dp && n->d->cfg.broadcast) {
		tund_dataplane_set_broadcast(n->d->dp, true, &a4);
		tund_dataplane_set_network(n->d->dp, bcast_group(n), &a4, &a6);
	}
	if (n->d->ifindex <= 0)
		return;
	ret = tund_addr_add(n->d->ifindex, &a4);
	if (ret && ret != -EEXIST)
		log_error("network %s: cannot add address: %s", n->net.name, g_strerror(-ret));
	if (!ret && n->d->bcast_rules) {
		char why[256];

		/* A leave may have taken the TUN's last IPv4 address, and the
		 * kernel the broadcast and multicast routes with it. */
		if ((ret = tund_bcast_rules_routes(n->d->ifname, why, sizeof(why))))
			log_warn("network %s: broadcast routes: %s", n->net.name, why);
	}
	ret = tund_addr_add(n->d->ifindex, &a6);
	if (ret == -EACCES) /* the kernel's answer where disable_ipv6 is set */
		log_info("network %s: no IPv6 address on %s: IPv6 is disabled there "
			 "(net.ipv6.conf.%s.disable_ipv6); the overlay carries IPv4 only",
			 n->net.name, n->d->ifname, n->d->ifname);
	else if (ret && ret != -EEXIST)
		log_warn("network %s: cannot add IPv6 address: %s", n->net.name, g_strerror(-ret));
	char text[TUND_CIDR_STRLEN];
	tund_cidr_format(&a4, text, sizeof(text));
	log_info("network %s: our address is %s", n->net.name, text);
}

/* A member's allowed IPs: its two addresses (pushed to the data plane when
 * they change). */
static void give_addresses(struct tund_daemon *d, struct tund_peer *p, const uint8_t v4[4],
			   const uint8_t v6[16])
{
	struct tund_cidr c4 = { .family = AF_INET, .prefix = 32 };
	struct tund_cidr c6 = { .family = AF_INET6, .prefix = 128 };

	memcpy(c4.addr, v4, 4);
	memcpy(c6.addr, v6, 16);
	if (p->allowed_ips->len == 2 &&
	    !memcmp(&g_array_index(p->allowed_ips, struct tund_cidr, 0), &c4, sizeof(c4)))
		return;
	g_array_set_size(p->allowed_ips, 0);
	g_array_append_val(p->allowed_ips, c4);
	g_array_append_val(p->allowed_ips, c6);
	/* In place: a session over a working path stays up. */
	if (p->state == TUND_PEER_MEMBER && d->dp && p->wg_peer)
		tund_dataplane_peer_update(d->dp, p);
	tund_carrier_sync(d, p->public_key); /* it may carry this address */
}

static void assign_from_records(struct tund_membership *n);

void tund_membership_assign(struct tund_membership *n)
{
	GPtrArray *members;
	struct tund_daemon *d = n->d;
	uint8_t (*keys)[32], (*v4)[4], (*v6)[16];
	size_t count;

	if (n->net.has_admin) {
		assign_from_records(n); /* the admin wrote each member's address */
		return;
	}
	members = g_ptr_array_new();

	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		/* Pending keys hold no address: approval, not an announce, gives one. */
		if (is_member_of(p, n) && p->state == TUND_PEER_MEMBER)
			g_ptr_array_add(members, p);
	}
	count = members->len + 1;
	keys = g_malloc(count * sizeof(*keys));
	v4 = g_malloc(count * sizeof(*v4));
	v6 = g_malloc(count * sizeof(*v6));
	memcpy(keys[0], d->public_key, 32);
	for (guint i = 0; i < members->len; i++)
		memcpy(keys[i + 1], ((struct tund_peer *)g_ptr_array_index(members, i))->public_key,
		       32);
	if (!tund_network_assign(&n->net, (const uint8_t(*)[32])keys, count, v4, v6)) {
		log_error("network %s: cannot assign %zu addresses in its prefix", n->net.name, count);
		goto out;
	}
	set_own_address(n, v4[0], v6[0]);
	for (guint i = 0; i < members->len; i++)
		give_addresses(d, g_ptr_array_index(members, i), v4[i + 1], v6[i + 1]);
out:
	g_free(keys);
	g_free(v4);
	g_free(v6);
	g_ptr_array_unref(members);
}

/* ---- sending ---- */

/* To a key's inbox: a member's, or a joiner's or the admin's before either
 * is a peer. */
/* Publishes a sealed message and counts it. */
static void publish_sealed(struct tund_membership *n, const char *topic, const uint8_t *buf,
			   size_t len, bool retained, uint8_t type)
{
	if (tund_mqtt_publish(n->mqtt, topic, buf, len, retained) == 0) {
		n->sent++;
		n->sent_bytes += len;
		if (type < TYPE_COUNT)
			n->sent_type[type]++;
	}
}

static void send_to_key(struct tund_membership *n, const uint8_t key[32], struct tund_signal *m)
{
	uint8_t buf[8192];
	char topic[160];
	size_t len;

	memcpy(m->netid, n->netid, 16);
	memcpy(m->sender, n->d->public_key, 32);
	memcpy(m->recipient, key, 32);
	m->time_ms = now_ms();
	len = tund_signal_seal(m, n->net.key, n->d->private_key, buf, sizeof(buf));
	if (!len) {
		log_error("network %s: cannot seal a signaling message", n->net.name);
		return;
	}
	/* Membership's own messages also cross the LAN (a broker may be
	 * missing or out of reach there); a path's are for ICE, over a broker. */
	if (n->beacon && (m->type == TUND_SIGNAL_REKEY || m->type == TUND_SIGNAL_JOIN ||
			  m->type == TUND_SIGNAL_REFUSED))
		tund_beacon_send_signal(n->beacon, buf, len);
	if (!n->mqtt) {
		sodium_memzero(buf, sizeof(buf));
		return; /* no broker: only manual blobs carry ICE signaling */
	}
	tund_network_inbox_topic(&n->net, key, topic, sizeof(topic));
	publish_sealed(n, topic, buf, len, false, m->type);
	/* A member offline now finds its new key retained when it returns. */
	if (m->type == TUND_SIGNAL_REKEY &&
	    tund_network_rekey_topic(&n->net, key, topic, sizeof(topic)))
		publish_sealed(n, topic, buf, len, true, m->type);
	sodium_memzero(buf, sizeof(buf));
}

void tund_membership_send(struct tund_membership *n, struct tund_peer *p, struct tund_signal *m)
{
	send_to_key(n, p->public_key, m);
}

static void path_send(struct tund_daemon *d, struct tund_peer *p, struct tund_signal *m)
{
	struct tund_membership *n = tund_membership_find(d, p->network);

	if (n)
		tund_membership_send(n, p, m);
}

static void publish_announce(struct tund_membership *n)
{
	struct tund_signal m = { .type = TUND_SIGNAL_ANNOUNCE };
	uint8_t buf[2048];
	size_t len;

	memcpy(m.netid, n->netid, 16);
	memcpy(m.sender, n->d->public_key, 32);
	m.time_ms = now_ms();
	m.listen_port = n->d->listen_port;
	g_strlcpy(m.name, g_get_host_name(), sizeof(m.name));
	len = tund_signal_seal(&m, n->net.key, n->d->private_key, buf, sizeof(buf));
	if (len && n->mqtt && tund_mqtt_publish(n->mqtt, n->announce_topic, buf, len, true) == 0) {
		n->sent++;
		n->sent_bytes += len;
		n->sent_type[TUND_SIGNAL_ANNOUNCE]++;
	}
}

/* A newcomer learns the members from their retained announces, which the
 * broker may have lost or an attacker overwritten: announce again for it, at
 * most every 5 s so that a burst of newcomers costs one message. */
static void answer_newcomer(struct tund_membership *n)
{
	int64_t now = g_get_monotonic_time();

	if (n->answered_us && now - n->answered_us < 5 * G_USEC_PER_SEC)
		return;
	n->answered_us = now;
	publish_announce(n);
}

/* ---- admin records (networks with an admin: approve admission) ---- */

/* The newest record we hold about one key, with its signed bytes so the
 * admin can publish it again after a broker restart. */
struct held_record {
	struct tund_record r;
	uint8_t raw[TUND_RECORD_LEN];
	int64_t lan_sent_us; /* the admin's last copy of it on the LAN */
	int64_t lan_key_sent_us; /* the creator's last current key to it on the LAN */
};

/* The network's creator: named in the invite, the first admin, the only one
 * that makes or blocks admins, handles limited invites, and sits at its
 * address attempt 0. */
static bool is_creator_key(const struct tund_membership *n, const uint8_t key[32])
{
	return n->net.has_admin && !memcmp(n->net.admin, key, 32);
}

static struct held_record *held_record(const struct tund_membership *n,
				       const uint8_t subject[32]);

/* An admin signs records: the creator, and the members it admitted as admins. */
static bool is_admin_key(const struct tund_membership *n, const uint8_t key[32])
{
	const struct held_record *h;

	if (is_creator_key(n, key))
		return true;
	h = n->net.has_admin ? held_record(n, key) : NULL;
	return h && h->r.kind == TUND_RECORD_ADMIT_ADMIN;
}

bool tund_membership_is_admin(const struct tund_membership *n)
{
	return is_admin_key(n, n->d->public_key);
}

bool tund_membership_key_is_admin(const struct tund_membership *n, const uint8_t key[32])
{
	return is_admin_key(n, key);
}

bool tund_membership_is_creator(const struct tund_membership *n)
{
	return is_creator_key(n, n->d->public_key);
}

bool tund_membership_admin_blocked(const struct tund_membership *n, const uint8_t key[32])
{
	const struct held_record *h = n->net.has_admin ? held_record(n, key) : NULL;

	return h && h->r.kind == TUND_RECORD_BLOCK;
}

bool tund_membership_blocked_us(const struct tund_membership *n)
{
	return tund_membership_admin_blocked(n, n->d->public_key);
}

bool tund_membership_has_admin(const struct tund_membership *n)
{
	return n->net.has_admin;
}

static struct held_record *held_record(const struct tund_membership *n,
				       const uint8_t subject[32])
{
	GBytes *k = g_bytes_new_static(subject, 32);
	struct held_record *h = g_hash_table_lookup(n->records, k);

	g_bytes_unref(k);
	return h;
}

/* Keeps r if it is newer than what we hold; false if it changes nothing (a
 * replayed or repeated record). */
static bool keep_record(struct tund_membership *n, const struct tund_record *r,
			const uint8_t raw[TUND_RECORD_LEN])
{
	struct held_record *h = held_record(n, r->subject);

	if (h && !tund_record_supersedes(r, &h->r))
		return false;
	h = g_new0(struct held_record, 1);
	h->r = *r;
	memcpy(h->raw, raw, TUND_RECORD_LEN);
	g_hash_table_replace(n->records, g_bytes_new(r->subject, 32), h);
	return true;
}

/* After every change: a restart then knows members, admins and addresses
 * without the broker. */
static void save_records(struct tund_membership *n)
{
	GPtrArray *raws;
	GHashTableIter it;
	gpointer v;
	int ret;

	if (!n->records_path)
		return;
	raws = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_hash_table_iter_init(&it, n->records);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(raws, g_bytes_new(((struct held_record *)v)->raw, TUND_RECORD_LEN));
	ret = tund_records_file_save(n->records_path, raws);
	if (ret)
		log_error("network %s: cannot save %s: %s", n->net.name, n->records_path,
			  g_strerror(-ret));
	g_ptr_array_unref(raws);
}

/* Retained, one topic per subject: a member that joins later finds every
 * admit and block without the admin being online. */
/* A record message carrying h: 0 when it cannot be sealed. */
static size_t seal_record(struct tund_membership *n, const struct held_record *h, uint8_t *buf,
			  size_t cap)
{
	struct tund_signal m = { .type = TUND_SIGNAL_RECORD, .has_record = true };

	memcpy(m.sender, n->d->public_key, 32);
	m.time_ms = now_ms();
	memcpy(m.record, h->raw, TUND_RECORD_LEN);
	/* A second admin's record travels with that admin's own record, so a
	 * newcomer takes it in whatever order the broker hands them out. */
	const struct held_record *by = is_creator_key(n, h->r.issuer) ? NULL :
								       held_record(n, h->r.issuer);
	if (by && by->r.kind == TUND_RECORD_ADMIT_ADMIN) {
		memcpy(m.issuer_record, by->raw, TUND_RECORD_LEN);
		m.has_issuer_record = true;
	}
	return tund_signal_seal(&m, n->net.key, n->d->private_key, buf, cap);
}

/* On the LAN, for members that meet there without a broker. */
static void lan_record(struct tund_membership *n, struct held_record *h)
{
	uint8_t buf[1024];
	size_t len;

	if (!n->beacon || !(len = seal_record(n, h, buf, sizeof(buf))))
		return;
	h->lan_sent_us = g_get_monotonic_time();
	tund_beacon_send_signal(n->beacon, buf, len);
}

/* The admin, to a member whose beacon it hears: its record again, at most
 * every LAN_RECORD_EVERY_S, so one that missed it (a lost datagram) gets it. */
enum { LAN_RECORD_EVERY_S = 30, LAN_RECORDS_MAX = 256 };

static void lan_record_again(struct tund_membership *n, const uint8_t key[32])
{
	struct held_record *h = held_record(n, key);

	if (h && tund_membership_is_admin(n) &&
	    g_get_monotonic_time() - h->lan_sent_us > (int64_t)LAN_RECORD_EVERY_S * G_USEC_PER_SEC)
		lan_record(n, h);
}

/* The admin, after an admission while no broker carries the records
 * (none, or out of reach): every record, so the newcomer learns the members
 * and blocks and the members learn it. */
static void lan_all_records(struct tund_membership *n)
{
	struct tund_mqtt_stats st = { 0 };
	GHashTableIter it;
	gpointer v;
	unsigned sent = 0;

	if (n->mqtt)
		tund_mqtt_get_stats(n->mqtt, &st);
	if (!n->beacon || !tund_membership_is_admin(n) || st.connected)
		return;
	g_hash_table_iter_init(&it, n->records);
	while (g_hash_table_iter_next(&it, NULL, &v) && sent++ < LAN_RECORDS_MAX)
		lan_record(n, v);
}

static void publish_record(struct tund_membership *n, const struct held_record *h)
{
	uint8_t buf[1024];
	char topic[160];
	size_t len;

	if (!n->mqtt)
		return;
	len = seal_record(n, h, buf, sizeof(buf));
	if (!len || !tund_network_record_topic(&n->net, h->r.subject, topic, sizeof(topic)))
		return;
	if (tund_mqtt_publish(n->mqtt, topic, buf, len, true) == 0) {
		n->sent++;
		n->sent_bytes += len;
		n->sent_type[TUND_SIGNAL_RECORD]++;
	}
}

static void publish_all_records(struct tund_membership *n)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->records);
	while (g_hash_table_iter_next(&it, NULL, &v))
		publish_record(n, v);
}

/* The admin's own address is its attempt 0: it has no record, and every
 * member computes the same. */
static void admin_address(const struct tund_membership *n, uint8_t v4[4], uint8_t v6[16])
{
	tund_network_address(&n->net, n->net.admin, 0, v4, v6);
}

/* True if v4 is the admin's or in an admit record of another key. */
static bool address_held(struct tund_membership *n, const uint8_t v4[4],
			 const uint8_t subject[32])
{
	uint8_t a4[4], a6[16];
	GHashTableIter it;
	gpointer v;

	admin_address(n, a4, a6);
	if (!memcmp(a4, v4, 4))
		return true;
	g_hash_table_iter_init(&it, n->records);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct held_record *h = v;

		if (tund_record_admits(h->r.kind) && memcmp(h->r.subject, subject, 32) &&
		    !memcmp(h->r.addr4, v4, 4))
			return true;
	}
	return false;
}

/* The admitter picks the address, so a key ground to hash onto a member's
 * address gets another one: collisions never move an existing member. A
 * key admitted again keeps its old address while nobody else holds it. */
static int pick_address(struct tund_membership *n, const uint8_t subject[32], uint8_t v4[4])
{
	struct held_record *old = held_record(n, subject);
	uint8_t v6[16];

	if (old && tund_record_admits(old->r.kind) && !address_held(n, old->r.addr4, subject)) {
		memcpy(v4, old->r.addr4, 4);
		return 0;
	}
	for (uint32_t a = 0; a < TUND_NET_ASSIGN_HASH_TRIES; a++) {
		if (!tund_network_address(&n->net, subject, a, v4, v6))
			return -EINVAL;
		if (!address_held(n, v4, subject))
			return 0;
	}
	return -EADDRINUSE; /* a nearly full prefix */
}

/* The creator blocked an admin: from now on that admin's records count for
 * nothing (or it could go on admitting with back-dated records), so the
 * creator signs again each admit it made, and its members stay members on
 * every node, also on one that joins or restarts later. */
static void adopt_admits_of(struct tund_membership *n, const uint8_t admin[32])
{
	GPtrArray *subjects = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->records);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct held_record *h = v;

		if (h->r.kind == TUND_RECORD_ADMIT && !memcmp(h->r.issuer, admin, 32))
			g_ptr_array_add(subjects, g_memdup2(h->r.subject, 32));
	}
	for (guint i = 0; i < subjects->len; i++) {
		int ret = tund_membership_sign_record(n, TUND_RECORD_ADMIT,
						      g_ptr_array_index(subjects, i));

		if (ret)
			log_error("network %s: cannot sign again an admit of the blocked admin: %s",
				  n->net.name, g_strerror(-ret));
	}
	if (subjects->len)
		log_info("network %s: signed again %u admit(s) of the blocked admin", n->net.name,
			 subjects->len);
	g_ptr_array_unref(subjects);
}

int tund_membership_sign_record(struct tund_membership *n, uint8_t kind, const uint8_t subject[32])
{
	struct tund_record r = { .kind = kind };
	struct held_record *old = held_record(n, subject);
	uint8_t raw[TUND_RECORD_LEN];

	if (!tund_membership_is_admin(n))
		return -EPERM;
	/* Admins are the creator's to make and to block. */
	if (!tund_membership_is_creator(n) &&
	    (kind == TUND_RECORD_ADMIT_ADMIN || is_admin_key(n, subject)))
		return -EPERM;
	memcpy(r.netid, n->netid, 16);
	memcpy(r.subject, subject, 32);
	memcpy(r.issuer, n->d->public_key, 32);
	r.time_ms = now_ms();
	if (old && r.time_ms <= old->r.time_ms)
		r.time_ms = old->r.time_ms + 1; /* a decision always supersedes the last */
	if (tund_record_admits(kind)) {
		int ret = pick_address(n, subject, r.addr4);

		if (ret)
			return ret;
	}
	if (!tund_record_sign(&r, n->d->private_key, raw))
		return -EINVAL;
	bool was_admin = old && old->r.kind == TUND_RECORD_ADMIT_ADMIN;
	if (!keep_record(n, &r, raw))
		return -EEXIST; /* what we hold is newer (cannot happen with sane clocks) */
	save_records(n);
	publish_record(n, held_record(n, subject));
	if (kind == TUND_RECORD_BLOCK && was_admin)
		adopt_admits_of(n, subject);
	if (tund_record_admits(kind))
		lan_all_records(n);
	else
		lan_record(n, held_record(n, subject));
	return 0;
}

/* A new peer of this network for key, in state; NULL (logged) if the peer
 * list refuses it. */
static struct tund_peer *add_peer(struct tund_membership *n, const uint8_t key[32],
				  enum tund_peer_state state)
{
	struct tund_peer *p;
	char k[TUND_KEY_B64_LEN + 1], why[TUND_WHY_LEN];

	if (tund_peer_list_find_in(&n->d->peers, NULL, key))
		return NULL; /* a static peer of that key keeps it */
	p = tund_peer_new();
	memcpy(p->public_key, key, 32);
	p->network = g_strdup(n->net.name);
	p->state = state;
	if (tund_peer_list_upsert(&n->d->peers, p, why, sizeof(why)) < 0) {
		tund_key_encode(k, key);
		log_error("network %s: cannot add member %s: %s", n->net.name, k, why);
		tund_peer_free(p);
		return NULL;
	}
	return p;
}

/* Our own standing in n changed: members that are in another of our
 * networks too may now be carried there, or here again. */
static void recarry_members(struct tund_membership *n)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		if (is_member_of(p, n))
			g_ptr_array_add(keys, g_memdup2(p->public_key, 32));
	}
	for (guint i = 0; i < keys->len; i++)
		tund_membership_carry(n->d, g_ptr_array_index(keys, i));
	g_ptr_array_unref(keys);
}

/* The admin's word is the member list: an admit makes a member (creating the
 * peer), a block removes it, on every member alike. */
static void apply_record(struct tund_membership *n, const struct tund_record *r)
{
	struct tund_daemon *d = n->d;
	enum tund_peer_state want = tund_record_admits(r->kind) ? TUND_PEER_MEMBER :
								    TUND_PEER_BLOCKED;
	struct tund_peer *p = tund_peer_list_find_in(&d->peers, n->net.name, r->subject);
	char key[TUND_KEY_B64_LEN + 1];

	tund_key_encode(key, r->subject);
	if (!memcmp(r->subject, d->public_key, 32)) {
		if (r->kind == TUND_RECORD_BLOCK)
			log_warn("network %s: its admin blocked this node", n->net.name);
		else
			n->join_refused[0] = '\0'; /* admitted after all */
		tund_membership_assign(n); /* our address is in our admit record */
		recarry_members(n); /* in or out, keys we share elsewhere move */
		return;
	}
	if (p && p->state == want)
		return;
	if (!p && !(p = add_peer(n, r->subject, want)))
		return;
	p->state = want;
	log_info("network %s: member %s %s by the network's admin", n->net.name, key,
		 want == TUND_PEER_MEMBER ? "admitted" : "blocked");
	tund_daemon_save_peers(d);
	tund_membership_member_connect(n, p);
}

/* Networks with an admin: the admin is at its attempt 0, every other member
 * (and we) where its admit record says; a member whose record has not come
 * yet (after a restart) keeps the addresses it had. */
static void assign_from_records(struct tund_membership *n)
{
	struct tund_daemon *d = n->d;
	const struct held_record *h;
	uint8_t v4[4], v6[16];

	if (tund_membership_is_creator(n)) {
		admin_address(n, v4, v6);
		set_own_address(n, v4, v6);
	} else if ((h = held_record(n, d->public_key)) && tund_record_admits(h->r.kind) &&
		   tund_network_address(&n->net, d->public_key, 0, v4, v6)) {
		set_own_address(n, h->r.addr4, v6);
	}
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		if (!is_member_of(p, n) || p->state != TUND_PEER_MEMBER)
			continue;
		if (is_creator_key(n, p->public_key)) {
			admin_address(n, v4, v6);
			give_addresses(d, p, v4, v6);
		} else if ((h = held_record(n, p->public_key)) && tund_record_admits(h->r.kind) &&
			   tund_network_address(&n->net, p->public_key, 0, v4, v6)) {
			give_addresses(d, p, h->r.addr4, v6);
		}
	}
}

/* Even the admin's word is checked: an admit address outside the prefix (or
 * its network or broadcast address) would let a member source any address. */
static bool record_address_ok(const struct tund_membership *n, const struct tund_record *r)
{
	struct tund_cidr net = n->net.prefix4, bcast = n->net.prefix4;
	uint32_t host = 0xffffffffu >> net.prefix, a;

	if (!tund_record_admits(r->kind))
		return true;
	memcpy(&a, bcast.addr, 4);
	a |= htonl(host);
	memcpy(bcast.addr, &a, 4);
	return tund_cidr_contains(&net, r->addr4) && memcmp(r->addr4, net.addr, 4) &&
	       memcmp(r->addr4, bcast.addr, 4);
}

/* Records from a key we do not know as an admin yet: its admin record may
 * come later (the broker keeps one record per subject, in no order). */
enum {
	ORPHANS_MAX = 256,
	ORPHANS_PER_ISSUER = 16,
};

static bool issuer_may(struct tund_membership *n, const struct tund_record *r)
{
	if (!is_admin_key(n, r->issuer))
		return false;
	/* Making, blocking or changing an admin (or the creator) is the creator's. */
	if (r->kind == TUND_RECORD_ADMIT_ADMIN || is_admin_key(n, r->subject))
		return is_creator_key(n, r->issuer);
	return true;
}

static void take_record(struct tund_membership *n, const struct tund_record *r,
			const uint8_t raw[TUND_RECORD_LEN]);

static void retry_orphans(struct tund_membership *n, const uint8_t issuer[32])
{
	GPtrArray *ready = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, n->orphans);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct held_record *h = v;

		if (!memcmp(h->r.issuer, issuer, 32)) {
			g_ptr_array_add(ready, g_memdup2(h, sizeof(*h)));
			g_hash_table_iter_remove(&it);
		}
	}
	for (guint i = 0; i < ready->len; i++) {
		const struct held_record *h = g_ptr_array_index(ready, i);

		take_record(n, &h->r, h->raw);
	}
	g_ptr_array_unref(ready);
}

/* A signed record for this network: kept and applied if its issuer may
 * issue it, held back if the issuer may become an admin later. */
static unsigned orphans_of(struct tund_membership *n, const uint8_t issuer[32])
{
	GHashTableIter it;
	gpointer v;
	unsigned count = 0;

	g_hash_table_iter_init(&it, n->orphans);
	while (g_hash_table_iter_next(&it, NULL, &v))
		count += !memcmp(((struct held_record *)v)->r.issuer, issuer, 32);
	return count;
}

static gboolean rekey_now(gpointer data)
{
	struct tund_membership *n = data;
	int ret;

	n->rekey_timer = 0;
	n->rekey_for_others_us = g_get_monotonic_time();
	ret = tund_membership_rekey(n);
	if (ret)
		log_error("network %s: cannot rotate the key after a block: %s", n->net.name,
			  g_strerror(-ret));
	return G_SOURCE_REMOVE;
}

/* Blocks learnt together (after a reconnect) cost one rotation. */
static void rekey_soon(struct tund_membership *n)
{
	int64_t since_ms = (g_get_monotonic_time() - n->rekey_for_others_us) / 1000;
	guint delay = REKEY_COALESCE_MS;

	if (n->rekey_for_others_us && since_ms < REKEY_MIN_GAP_MS - REKEY_COALESCE_MS)
		delay = (guint)(REKEY_MIN_GAP_MS - since_ms);
	if (!n->rekey_timer)
		n->rekey_timer = tund_loop_timeout_add(delay, rekey_now, n);
}

static void refuse_admit(struct tund_membership *n, const struct tund_record *r, const char *why)
{
	char key[TUND_KEY_B64_LEN + 1], addr[INET_ADDRSTRLEN];

	n->drops[TUND_SIG_DROP_ADDRESS_CONFLICT]++;
	tund_key_encode(key, r->subject);
	inet_ntop(AF_INET, r->addr4, addr, sizeof(addr));
	log_warn("network %s: refused the admit record of %s: %s %s", n->net.name, key, addr, why);
}

static void take_record(struct tund_membership *n, const struct tund_record *r,
			const uint8_t raw[TUND_RECORD_LEN])
{
	const struct held_record *held = held_record(n, r->subject);
	const struct held_record *by = held_record(n, r->issuer);

	/* A time from the future would outlive every later decision (a block
	 * at time + 1 would wrap): refused. */
	if (r->time_ms > now_ms() + TUND_SIGNAL_MAX_SKEW_MS) {
		n->drops[TUND_SIG_DROP_BAD_RECORD]++;
		return;
	}
	if (!issuer_may(n, r)) {
		n->drops[TUND_SIG_DROP_BAD_RECORD]++;
		/* Held back only for admitted members (one may be made admin
		 * later), a few each, so nobody can fill the table. */
		if (!is_admin_key(n, r->issuer) && by && tund_record_admits(by->r.kind) &&
		    orphans_of(n, r->issuer) < ORPHANS_PER_ISSUER &&
		    g_hash_table_size(n->orphans) < ORPHANS_MAX) {
			struct held_record *h = g_new(struct held_record, 1);

			h->r = *r;
			memcpy(h->raw, raw, TUND_RECORD_LEN);
			g_hash_table_replace(n->orphans, g_bytes_new(raw, TUND_RECORD_LEN), h);
		}
		return;
	}
	if (held && !tund_record_supersedes(r, &held->r))
		return; /* old news (a replay) */
	/* Two admins admitting at once may pick one address: the member that
	 * holds it here keeps it, the other record is refused and reported.
	 * Nor does a member's address ever move (a rogue admin's newer admit
	 * would hand the old one to another key). */
	if (tund_record_admits(r->kind) && address_held(n, r->addr4, r->subject)) {
		refuse_admit(n, r, "is another member's address (two admins admitting at once?)");
		return;
	}
	if (held && tund_record_admits(held->r.kind) && tund_record_admits(r->kind) &&
	    memcmp(held->r.addr4, r->addr4, 4)) {
		refuse_admit(n, r, "would move the member off its address");
		return;
	}
	if (!keep_record(n, r, raw))
		return;
	save_records(n);
	apply_record(n, r);
	if (r->kind == TUND_RECORD_ADMIT_ADMIN)
		retry_orphans(n, r->subject);
	/* Another admin blocked a key, and we hear of it now, however long
	 * after (we may have been offline; the key may have been admitted and
	 * blocked meanwhile, holding the current key): the creator rotates it
	 * for everyone. Our records file holds what we already rotated for. */
	if (r->kind == TUND_RECORD_BLOCK && tund_membership_is_creator(n) &&
	    memcmp(r->issuer, n->d->public_key, 32) && !n->loading)
		rekey_soon(n);
}

/* The creator's admit-as-admin record of r's issuer, carried with r: taken
 * first, unless that issuer is an admin here already. */
static void take_issuer_record(struct tund_membership *n, const struct tund_record *r,
			       const uint8_t raw[TUND_RECORD_LEN])
{
	struct tund_record ir;

	if (is_admin_key(n, r->issuer))
		return;
	if (tund_record_open(raw, TUND_RECORD_LEN, n->netid, &ir) != TUND_RECORD_OK ||
	    ir.kind != TUND_RECORD_ADMIT_ADMIN || memcmp(ir.subject, r->issuer, 32) ||
	    !is_creator_key(n, ir.issuer) || !record_address_ok(n, &ir)) {
		n->drops[TUND_SIG_DROP_BAD_RECORD]++;
		return;
	}
	take_record(n, &ir, raw);
}

static void on_record(struct tund_membership *n, const struct tund_signal *m)
{
	struct tund_record r;

	/* Records are public and valid in every epoch: only an admin or the
	 * record's issuer may carry one, so a member cannot replay an old one
	 * (a blocked key's admit) to newcomers. */
	if (!n->net.has_admin ||
	    tund_record_open(m->record, sizeof(m->record), n->netid, &r) != TUND_RECORD_OK ||
	    !record_address_ok(n, &r) ||
	    (!is_admin_key(n, m->sender) && memcmp(m->sender, r.issuer, 32))) {
		n->drops[TUND_SIG_DROP_BAD_RECORD]++;
		return;
	}
	if (m->has_issuer_record)
		take_issuer_record(n, &r, m->issuer_record);
	take_record(n, &r, m->record);
}

/* In a network with an admin, only its records make members: an announce
 * or beacon from any other key that holds no admit costs no state, except
 * on the admin, which keeps it pending for `peer approve`. */
static bool unadmitted(struct tund_membership *n, const uint8_t key[32])
{
	if (!n->net.has_admin || tund_membership_is_admin(n) || is_admin_key(n, key))
		return false;
	n->drops[TUND_SIG_DROP_NOT_ADMITTED]++;
	return true;
}

/* ---- limited invites (networks with an admin) ---- */

static bool own_admitted(struct tund_membership *n)
{
	const struct held_record *h = held_record(n, n->d->public_key);

	return h && tund_record_admits(h->r.kind);
}

/* An open network's joiner before its admit record: the admin may be
 * offline, busy (its admission rate) or have missed our announce. */
static bool waiting_for_admit(struct tund_membership *n)
{
	return n->net.has_admin && n->net.admission == TUND_ADMISSION_OPEN &&
	       !tund_membership_is_admin(n) && !own_admitted(n);
}

/* Joined with a limited invite and not admitted yet: ask the admin, which
 * admits us while the invite has a use left (it must be online for that, so
 * we ask on each broker connection and when it announces itself). */
static void send_join(struct tund_membership *n)
{
	struct tund_signal m = { .type = TUND_SIGNAL_JOIN, .has_token = true };

	if (!n->net.has_token || !n->net.has_admin || tund_membership_is_admin(n) ||
	    own_admitted(n))
		return;
	memcpy(m.token, n->net.invite_token, sizeof(m.token));
	send_to_key(n, n->net.admin, &m);
	sodium_memzero(&m, sizeof(m));
}

/* Joins and refusals have no replay window (the sender may be no member):
 * only their time is checked; a replay changes nothing that the first did
 * not. */
static bool fresh(struct tund_membership *n, const struct tund_signal *m)
{
	uint64_t now = now_ms();
	uint64_t skew = m->time_ms > now ? m->time_ms - now : now - m->time_ms;

	if (skew <= TUND_SIGNAL_MAX_SKEW_MS)
		return true;
	n->drops[TUND_SIG_DROP_STALE]++;
	return false;
}

static void refuse_join(struct tund_membership *n, const uint8_t key[32], const char *reason)
{
	struct tund_signal m = { .type = TUND_SIGNAL_REFUSED };
	char k[TUND_KEY_B64_LEN + 1];

	n->drops[TUND_SIG_DROP_JOIN_REFUSED]++;
	tund_key_encode(k, key);
	log_info("network %s: refused the join of %s: %s", n->net.name, k, reason);
	g_strlcpy(m.reason, reason, sizeof(m.reason));
	send_to_key(n, key, &m);
}

/* The key becomes a member here and, through our admit record, on every
 * member: a limited invite's use is spent, or (open networks) the key showed
 * the network's invite. No record (no address left): no member. */
static void admit_invited(struct tund_membership *n, struct tund_peer *p, const uint8_t key[32],
			  const char *how)
{
	struct tund_daemon *d = n->d;
	char k[TUND_KEY_B64_LEN + 1];
	int ret;

	tund_key_encode(k, key);
	ret = tund_membership_sign_record(n, TUND_RECORD_ADMIT, key);
	if (ret) {
		log_error("network %s: cannot admit %s: cannot sign its admit record: %s",
			  n->net.name, k, g_strerror(-ret));
		return;
	}
	if (!p && !(p = add_peer(n, key, TUND_PEER_MEMBER)))
		return;
	p->state = TUND_PEER_MEMBER;
	log_info("network %s: member %s admitted %s", n->net.name, k, how);
	tund_daemon_save_peers(d);
	tund_membership_member_connect(n, p);
}

/* Open networks with an admin: any key holding the invite is admitted, but
 * each admission is a record every member keeps and an address taken, so
 * they come at a bounded rate (a party's burst, then one a second). A key
 * turned away announces again (admit_wait) and gets in when there is room. */
enum { OPEN_ADMIT_RATE = 1, OPEN_ADMIT_BURST = 32 };

static bool auto_admits(const struct tund_membership *n)
{
	return n->net.has_admin && n->net.admission == TUND_ADMISSION_OPEN &&
	       tund_membership_is_admin(n);
}

/* Approve networks: the keys this node keeps pending for `peer approve`
 * (the admin's, or each node's where there is no admin). Each costs a
 * saved entry: at most PENDING_MAX, at the same rate as open admissions,
 * so a K-holder announcing fresh keys cannot grow peers.json without end. */
enum { PENDING_MAX = 64 };

static bool keeps_pending(const struct tund_membership *n)
{
	if (n->net.admission != TUND_ADMISSION_APPROVE)
		return false;
	return n->net.has_admin ? tund_membership_is_admin(n) : !n->joining;
}

static unsigned pending_count(struct tund_membership *n)
{
	unsigned count = 0;

	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		count += is_member_of(p, n) && p->state == TUND_PEER_PENDING;
	}
	return count;
}

/* A key without an entry here that would get one: admitted (open, we are
 * its admin) or kept pending. */
static bool open_admit_allowed(struct tund_membership *n, const uint8_t key[32])
{
	if (is_admin_key(n, key) || (!auto_admits(n) && !keeps_pending(n)))
		return true;
	if (tund_ratelimit_allow(&n->open_admits, (uint64_t)(g_get_monotonic_time() / 1000)) &&
	    (!keeps_pending(n) || pending_count(n) < PENDING_MAX))
		return true;
	n->drops[TUND_SIG_DROP_RATE_LIMITED]++;
	return false;
}

/* On the admin: a join with a limited invite's token. */
static void on_join(struct tund_membership *n, struct tund_peer *p, const struct tund_signal *m)
{
	struct tund_invites *iv;
	char why[TUND_WHY_LEN];
	int ret;

	if (!tund_membership_is_creator(n) || (p && !is_member_of(p, n))) {
		n->drops[TUND_SIG_DROP_UNKNOWN_SENDER]++;
		return;
	}
	if (!fresh(n, m) || (p && p->state == TUND_PEER_MEMBER))
		return; /* a repeat by a member spends no use */
	ret = tund_invites_get(n->d, &iv, why, sizeof(why));
	if (!ret)
		ret = tund_invites_use(iv, n->net.name, m->token, now_ms(), why, sizeof(why));
	if (ret == -EACCES) {
		refuse_join(n, m->sender, why);
	} else if (ret) {
		log_error("network %s: cannot check an invite: %s", n->net.name, why);
		refuse_join(n, m->sender, "the admin cannot check invites now; try again later");
	} else {
		admit_invited(n, p, m->sender, "with a limited invite");
	}
}

/* On a joiner: the admin refused our invite. Shown in `tundctl networks`. */
static void on_refused(struct tund_membership *n, const struct tund_signal *m)
{
	if (!is_creator_key(n, m->sender) || tund_membership_is_admin(n)) {
		n->drops[TUND_SIG_DROP_UNKNOWN_SENDER]++;
		return;
	}
	if (!fresh(n, m) || own_admitted(n) || !strcmp(n->join_refused, m->reason))
		return;
	g_strlcpy(n->join_refused, m->reason, sizeof(n->join_refused));
	log_warn("network %s: the admin refused our join: %s", n->net.name, m->reason);
}

/* ---- members ---- */

void tund_membership_member_changed(struct tund_membership *n, struct tund_peer *p)
{
	struct tund_daemon *d = n->d;
	struct tund_peer *c;

	tund_membership_assign(n);
	/* Every entry but the carrier gives up its WireGuard peer and path. */
	c = tund_carrier_sync(d, p->public_key);
	if (c != p) { /* another entry carries the key, or it is a member nowhere */
		if (c && c->network && !c->wg_peer)
			tund_membership_carry(d, p->public_key);
		return;
	}
	/* Members share the network's pre-shared key (a stolen node key
	 * alone does not get into the network). A carrier pending or blocked
	 * here lends the session that key and nothing else; a pending one
	 * keeps the key of the epoch it first carried in (it gets no rekey). */
	if (p->state != TUND_PEER_PENDING || !p->has_psk) {
		uint8_t psk[32];

		tund_network_psk(n->net.key, psk);
		/* Approved after a rekey: from the old epoch's key to ours. */
		if (p->has_psk && p->wg_peer && d->dp && memcmp(psk, p->psk, 32))
			tund_wg_peer_rotate_psk(tund_dataplane_wg(d->dp), p->wg_peer, psk);
		memcpy(p->psk, psk, 32);
		sodium_memzero(psk, sizeof(psk));
	}
	p->has_psk = true;
	if (d->dp && !p->wg_peer)
		tund_dataplane_peer_apply(d->dp, p);
	else if (d->dp && tund_dataplane_peer_update(d->dp, p))
		log_error("peer in network %s: cannot update its addresses", n->net.name);
	if (d->dp && p->wg_peer)
		tund_wg_peer_set_broadcast(tund_dataplane_wg(d->dp), p->wg_peer,
					   !n->net.no_broadcast);
	/* ICE needs signaling: with no broker, peers meet by LAN beacon or by
	 * manual blobs (which make their own path). */
	if (!p->path && n->mqtt) {
		struct tund_ice_server_config cfg;

		tund_ice_config_for(d, &n->eff, &cfg);
		p->path = tund_path_new(d, p, &cfg,
					memcmp(d->public_key, p->public_key, 32) > 0, path_send);
		sodium_memzero(&cfg, sizeof(cfg));
	}
	/* Not over a working path: a retained announce seen again after a
	 * broker reconnect would otherwise renegotiate every pair at once. */
	if (p->path && !tund_path_kind(p->path))
		tund_path_start(p->path); /* no-op on the controlled side */
}

void tund_membership_carry(struct tund_daemon *d, const uint8_t key[32])
{
	struct tund_peer *c = tund_carrier_sync(d, key);
	struct tund_membership *cn;

	if (c && c->network && !c->wg_peer && (cn = tund_membership_find(d, c->network)))
		tund_membership_member_changed(cn, c);
}

/* member_connect; fresh: the session under way is not named (its messages
 * may have been lost while the broker was away), so a new one is made. */
static void connect_member(struct tund_membership *n, struct tund_peer *p, bool fresh)
{
	tund_membership_member_changed(n, p);
	if (p->state != TUND_PEER_MEMBER || !p->path || tund_path_controlling(p->path) ||
	    tund_path_kind(p->path))
		return;
	/* We cannot offer: ask the controlling side for a fresh session (it
	 * may have offered while we had not admitted it yet), naming the one
	 * we are negotiating, if any, which it then keeps. */
	struct tund_signal m = { .type = TUND_SIGNAL_RESTART,
				 .session = fresh ? 0 : tund_path_pending_session(p->path) };
	tund_membership_send(n, p, &m);
}

void tund_membership_member_connect(struct tund_membership *n, struct tund_peer *p)
{
	connect_member(n, p, false);
}

static struct tund_peer *admit(struct tund_membership *n, const struct tund_signal *m);

/* Path signaling through the network of p, the carrier entry of a key that
 * is a member of another of our networks while pending (or blocked by this
 * node alone) here: the other end counts us a member here and negotiates
 * the pair's one path here (tund/connect/carrier.h). */
static bool path_from_carrier(struct tund_daemon *d, struct tund_peer *p,
			      const struct tund_signal *m)
{
	switch (m->type) {
	case TUND_SIGNAL_OFFER:
	case TUND_SIGNAL_ANSWER:
	case TUND_SIGNAL_CANDIDATE:
	case TUND_SIGNAL_RESTART:
	case TUND_SIGNAL_BYE:
		return tund_carrier_of(d, p->public_key) == p;
	default:
		return false;
	}
}

/* A member (or newcomer) announced itself on our LAN. */
static void on_beacon(void *ctx, const uint8_t pubkey[32], const struct sockaddr *src,
		      socklen_t srclen, uint16_t listen_port)
{
	struct tund_membership *n = ctx;
	struct tund_daemon *d = n->d;
	struct tund_peer *p = tund_peer_list_find_in(&d->peers, n->net.name, pubkey);

	if (!p) {
		struct tund_signal m = { .type = TUND_SIGNAL_ANNOUNCE };

		if (unadmitted(n, pubkey) || !open_admit_allowed(n, pubkey))
			return;
		memcpy(m.sender, pubkey, 32);
		g_strlcpy(m.name, "lan", sizeof(m.name));
		p = admit(n, &m);
	}
	lan_record_again(n, pubkey); /* the admin: it may lack its record */
	/* With a limited invite, not admitted yet: ask the creator here (its
	 * beacons come several at a time, one per address family and group). */
	if (is_creator_key(n, pubkey) &&
	    g_get_monotonic_time() - n->lan_join_us > (int64_t)2 * G_USEC_PER_SEC) {
		n->lan_join_us = g_get_monotonic_time();
		send_join(n);
	}
	if (!p || p->state != TUND_PEER_MEMBER || !d->dp)
		return;
	/* Its session may be carried by its entry in another of our networks. */
	struct tund_peer *c = tund_carrier_of(d, pubkey);

	if (!c || !c->wg_peer) {
		tund_membership_member_changed(n, p);
		c = tund_carrier_of(d, pubkey);
	}
	if (!c || !c->wg_peer)
		return;
	p = c;
	/* The beacon proves the member is on our LAN, not at src: anyone can
	 * resend it. So src is only probed; the endpoint moves if the member
	 * answers from there (overlay/receive.c, roaming). */
	p->lan_seen_us = g_get_monotonic_time();
	if (tund_dataplane_peer_probe_lan(d->dp, p, src, srclen, listen_port)) {
		char key[TUND_KEY_B64_LEN + 1];

		tund_key_encode(key, p->public_key);
		log_debug("network %s: %s is on the LAN; probing its LAN address", n->net.name,
			  key);
	}
}

/* Records and rekeys from the LAN: checked as from the broker. */
static void on_lan_signal(void *ctx, const uint8_t *msg, size_t len)
{
	tund_membership_receive(ctx, msg, len, false);
}

/* LAN beacons for n, unless [interface] beacons = off; a failure leaves the
 * network without them (ICE still finds LAN members by host candidates). */
static void start_beacons(struct tund_membership *n)
{
	struct tund_daemon *d = n->d;
	char why[TUND_WHY_LEN];

	if (!d->cfg.beacons) {
		log_info("network %s: LAN beacons off ([interface] beacons = off)", n->net.name);
		return;
	}
	if (tund_beacon_start(n->net.key, d->private_key, d->public_key, d->listen_port, d->ifname,
			      n->net.name, on_beacon, n, &n->beacon, why, sizeof(why)) < 0)
		log_warn("network %s: no LAN beacons: %s", n->net.name, why);
	else
		tund_beacon_on_signal(n->beacon, on_lan_signal);
}

static struct tund_peer *admit(struct tund_membership *n, const struct tund_signal *m)
{
	struct tund_daemon *d = n->d;
	enum tund_peer_state state;
	struct tund_peer *p;

	if (auto_admits(n) && !is_admin_key(n, m->sender)) {
		admit_invited(n, NULL, m->sender, "with the network's invite");
		return tund_peer_list_find_in(&d->peers, n->net.name, m->sender);
	}
	if (n->net.has_admin) /* only the admin gets here for keys it has not admitted */
		state = is_admin_key(n, m->sender) ? TUND_PEER_MEMBER : TUND_PEER_PENDING;
	else
		state = n->net.admission == TUND_ADMISSION_APPROVE && !n->joining ?
				TUND_PEER_PENDING :
				TUND_PEER_MEMBER;
	if (!(p = add_peer(n, m->sender, state)))
		return NULL;
	char key[TUND_KEY_B64_LEN + 1];
	tund_key_encode(key, p->public_key);
	log_info("network %s: member %s (%s) %s", n->net.name, key, m->name,
		 p->state == TUND_PEER_PENDING ? "is waiting for approval" : "admitted");
	tund_daemon_save_peers(d);
	tund_membership_member_connect(n, p);
	return p;
}

/* Replay windows are per sender and per kind (announce, unicast), and made
 * only for messages whose sender proved its key: an announce cannot spend
 * the window of the sender's offers, and unknown keys cost no state. */
static struct tund_signal_replay *replay_window(struct tund_membership *n,
						const struct tund_signal *m)
{
	uint8_t id[33];
	GBytes *key;
	struct tund_signal_replay *r;

	memcpy(id, m->sender, 32);
	id[32] = m->type == TUND_SIGNAL_ANNOUNCE ? 'a' : 'u';
	key = g_bytes_new(id, sizeof(id));
	r = g_hash_table_lookup(n->replay, key);
	if (!r) {
		r = g_new0(struct tund_signal_replay, 1);
		tund_signal_replay_init(r);
		g_hash_table_insert(n->replay, g_bytes_ref(key), r);
	}
	g_bytes_unref(key);
	return r;
}

/* Live messages must be within the skew of now. A retained announce is old
 * by design, but no older than TUND_SIGNAL_RETAINED_MAX_AGE_MS (members
 * republish theirs) and never from the future beyond the skew. */
static bool check_replay(struct tund_membership *n, const struct tund_signal *m, bool retained)
{
	uint64_t now = now_ms(), check_now = now;
	enum tund_signal_replay_verdict v;

	if (retained) {
		if (m->time_ms > now + TUND_SIGNAL_MAX_SKEW_MS ||
		    m->time_ms + TUND_SIGNAL_RETAINED_MAX_AGE_MS < now) {
			n->drops[TUND_SIG_DROP_STALE]++;
			return false;
		}
		check_now = m->time_ms < now ? m->time_ms : now;
	}
	v = tund_signal_replay_check(replay_window(n, m), m->time_ms, m->nonce, check_now);
	if (v == TUND_SIGNAL_REPLAY_STALE)
		n->drops[TUND_SIG_DROP_STALE]++;
	else if (v == TUND_SIGNAL_REPLAY_REPLAY)
		n->drops[TUND_SIG_DROP_REPLAYED]++;
	return v == TUND_SIGNAL_REPLAY_OK;
}

static void count_old_version(struct tund_membership *n)
{
	int64_t now = g_get_monotonic_time();

	n->drops[TUND_SIG_DROP_OLD_VERSION]++;
	if (n->old_version_logged_us && now - n->old_version_logged_us < (int64_t)3600 * G_USEC_PER_SEC)
		return;
	n->old_version_logged_us = now;
	log_warn("network %s: a node speaks signaling v1; upgrade it (v2 nodes ignore v1)",
		 n->net.name);
}

static void on_announce(struct tund_membership *n, struct tund_peer *p,
			const struct tund_signal *m, bool retained)
{
	if (!p && (unadmitted(n, m->sender) || !open_admit_allowed(n, m->sender)))
		return; /* before any replay state */
	if (!check_replay(n, m, retained))
		return;
	if (!p) {
		if (admit(n, m) && !retained)
			answer_newcomer(n);
	} else if (p->state == TUND_PEER_MEMBER && !retained) {
		tund_membership_member_connect(n, p); /* it (re)started: try now */
	} else if (p->state == TUND_PEER_MEMBER) {
		tund_membership_member_changed(n, p);
	}
	if (!retained && is_creator_key(n, m->sender)) { /* the admin is (back) online */
		send_join(n);
		if (waiting_for_admit(n))
			answer_newcomer(n);
	}
}

/* After the network's gate, each member has a budget of its own: one member
 * flooding (a member holds the network key and its own key, so it passes
 * every proof) cannot use up the network's rate and silence the others.
 * Buckets exist only for keys that are our members, so they are bounded by
 * admission. */
enum { SENDER_RATE = 20, SENDER_BURST = 100 };

static bool sender_allowed(struct tund_membership *n, const uint8_t key[32])
{
	uint64_t now = (uint64_t)(g_get_monotonic_time() / 1000);
	GBytes *k = g_bytes_new(key, 32);
	struct tund_ratelimit *rl = g_hash_table_lookup(n->sender_rate, k);

	if (!rl) {
		rl = g_new(struct tund_ratelimit, 1);
		tund_ratelimit_init(rl, SENDER_RATE, SENDER_BURST, now);
		g_hash_table_insert(n->sender_rate, g_bytes_ref(k), rl);
	}
	g_bytes_unref(k);
	return tund_ratelimit_allow(rl, now);
}

static void on_rekey(struct tund_membership *n, const struct tund_signal *m);
static void watch_old_epochs(struct tund_membership *n);

/* Counts a refused verdict; true for TUND_SIGNAL_OK. */
static bool count_verdict(struct tund_membership *n, enum tund_signal_verdict v)
{
	switch (v) {
	case TUND_SIGNAL_OK:
		return true;
	case TUND_SIGNAL_OTHER_NETWORK:
		n->drops[TUND_SIG_DROP_OTHER_NETWORK]++;
		return false;
	case TUND_SIGNAL_NOT_FOR_ME:
		n->drops[TUND_SIG_DROP_NOT_FOR_ME]++;
		return false;
	case TUND_SIGNAL_FORGED:
		n->drops[TUND_SIG_DROP_FORGED]++;
		return false;
	case TUND_SIGNAL_OLD_VERSION:
		count_old_version(n);
		return false;
	default:
		n->drops[TUND_SIG_DROP_MALFORMED]++;
		return false;
	}
}

static bool count_bound(struct tund_membership *n, enum tund_sigbound_verdict v)
{
	if (v == TUND_SIGBOUND_OVERSIZE)
		n->drops[TUND_SIG_DROP_OVERSIZE]++;
	else if (v == TUND_SIGBOUND_RATE_LIMITED)
		n->drops[TUND_SIG_DROP_RATE_LIMITED]++;
	return v == TUND_SIGBOUND_OK;
}

/* The gate before a message is opened (overlay/sigbound.h): the size; the
 * checks that cost a MAC, on their own budget, so junk from those without
 * the key (netkey) cannot spend the main one; then a token of the main
 * budget for the signature or DH checks. Counts what it refuses. */
static bool gate(struct tund_membership *n, struct tund_sigbound *g, const uint8_t *buf,
		 size_t len, const uint8_t netkey[32])
{
	uint64_t now = (uint64_t)(g_get_monotonic_time() / 1000);

	return count_bound(n, tund_sigbound_precheck(g, len, now)) &&
	       count_verdict(n, tund_signal_precheck(buf, len, netkey)) &&
	       count_bound(n, tund_sigbound_check(g, len, now));
}

void tund_membership_receive(struct tund_membership *n, const uint8_t *buf, size_t len,
			     bool retained)
{
	struct tund_daemon *d = n->d;
	struct tund_signal *m;
	struct tund_peer *p, *c;

	n->received++;
	if (!gate(n, &n->bound, buf, len, n->net.key))
		return;
	m = g_new0(struct tund_signal, 1);
	if (!count_verdict(n, tund_signal_open(buf, len, n->net.key, d->private_key,
					       d->public_key, m)))
		goto out;
	p = tund_peer_list_find_in(&d->peers, n->net.name, m->sender);
	/* The admin republishes every record at once on a reconnect: exempt. */
	if (p && is_member_of(p, n) && !is_admin_key(n, m->sender) &&
	    !sender_allowed(n, m->sender)) {
		n->drops[TUND_SIG_DROP_SENDER_RATE]++;
		goto out;
	}
	if (m->type == TUND_SIGNAL_RECORD) {
		on_record(n, m); /* ours too: the admin relearns its records after a restart */
		goto out;
	}
	if (!memcmp(m->sender, d->public_key, 32))
		goto out; /* our own announce, echoed by the broker */
	if (p && p->state == TUND_PEER_BLOCKED && !path_from_carrier(d, p, m)) {
		n->drops[TUND_SIG_DROP_BLOCKED]++;
		goto out;
	}
	if (m->type == TUND_SIGNAL_ANNOUNCE) {
		on_announce(n, p, m, retained);
		goto out;
	}
	/* From keys that are no members yet: a joiner, or the admin answering
	 * one before we hold its announce. */
	if (m->type == TUND_SIGNAL_JOIN) {
		on_join(n, p, m);
		goto out;
	}
	if (m->type == TUND_SIGNAL_REFUSED) {
		on_refused(n, m);
		goto out;
	}
	if (m->type == TUND_SIGNAL_REKEY) {
		on_rekey(n, m);
		goto out;
	}
	/* Unicast from a key that is not our member costs no replay state. */
	if (!p || !is_member_of(p, n) ||
	    (p->state != TUND_PEER_MEMBER && !path_from_carrier(d, p, m))) {
		n->drops[TUND_SIG_DROP_UNKNOWN_SENDER]++;
		goto out;
	}
	if (!check_replay(n, m, false))
		goto out;
	/* One path per key: a member of several of our networks negotiates
	 * on its carrier entry, whichever network the message came through. */
	c = tund_carrier_of(d, m->sender);
	if (c == p && !p->path)
		tund_membership_member_changed(n, p);
	if (c && c->path)
		tund_path_on_signal(c->path, m);
out:
	sodium_memzero(m, sizeof(*m));
	g_free(m);
}

/* ---- rekey (networks with an admin): a block gives the rest a new key ---- */

enum { PSK_GRACE_S = 600 }; /* the old PSK completes our handshakes this long */

static void set_topics(struct tund_membership *n)
{
	const uint8_t *me = n->d->public_key;

	tund_network_announce_topic(&n->net, me, n->announce_topic, sizeof(n->announce_topic));
	tund_network_inbox_topic(&n->net, me, n->inbox_topic, sizeof(n->inbox_topic));
	tund_network_rekey_topic(&n->net, me, n->rekey_topic, sizeof(n->rekey_topic));
}

static void subscribe_all(struct tund_membership *n, bool on)
{
	char prefix[128], filter[160];

	tund_network_topic_prefix(&n->net, prefix, sizeof(prefix));
	snprintf(filter, sizeof(filter), "%s/a/+", prefix);
	if (on) {
		tund_mqtt_subscribe(n->mqtt, filter);
		tund_mqtt_subscribe(n->mqtt, n->inbox_topic);
		tund_mqtt_subscribe(n->mqtt, n->rekey_topic);
	} else {
		tund_mqtt_unsubscribe(n->mqtt, filter);
		tund_mqtt_unsubscribe(n->mqtt, n->inbox_topic);
		tund_mqtt_unsubscribe(n->mqtt, n->rekey_topic);
	}
}

static gboolean psk_grace_over(gpointer data)
{
	struct tund_membership *n = data;

	n->psk_grace_timer = 0;
	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		if (is_member_of(p, n) && p->wg_peer && n->d->dp)
			tund_wg_peer_forget_previous_psk(tund_dataplane_wg(n->d->dp), p->wg_peer);
	}
	return G_SOURCE_REMOVE;
}

/* Moves this node to the network's next epoch: new key, PSK, topics and
 * beacons. Tunnels keep their sessions (a session's keys come from its
 * handshake, not the PSK), and the old PSK still completes handshakes we
 * start for PSK_GRACE_S, while the others switch too. */
static void apply_rekey(struct tund_membership *n, uint32_t epoch, const uint8_t key[32])
{
	struct tund_daemon *d = n->d;
	uint8_t psk[32];
	int ret;

	if (epoch <= n->net.epoch) /* callers check; never leave the old topics for nothing */
		return;
	char old_rekey_topic[sizeof(n->rekey_topic)];
	g_strlcpy(old_rekey_topic, n->rekey_topic, sizeof(old_rekey_topic));
	if (n->mqtt) { /* nobody reads the old topics: take our announce off them */
		tund_mqtt_publish(n->mqtt, n->announce_topic, "", 0, true);
		subscribe_all(n, false);
	}
	tund_network_rekey(&n->net, epoch, key);
	tund_network_rekey(&n->eff, epoch, key);
	tund_network_psk(key, psk);
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		/* A pending key gets no new key, so a session it carries
		 * (pending here, a member of another of our networks) keeps
		 * the key it has, or the pair would split until the admin
		 * decides. */
		if (!is_member_of(p, n) || p->state == TUND_PEER_PENDING)
			continue;
		memcpy(p->psk, psk, 32);
		p->has_psk = true;
		if (p->wg_peer && d->dp)
			tund_wg_peer_rotate_psk(tund_dataplane_wg(d->dp), p->wg_peer, psk);
	}
	sodium_memzero(psk, sizeof(psk));
	if (n->psk_grace_timer)
		tund_loop_source_remove(n->psk_grace_timer);
	if (n->rekey_timer)
		tund_loop_source_remove(n->rekey_timer);
	n->psk_grace_timer = tund_loop_timeout_add_seconds(PSK_GRACE_S, psk_grace_over, n);
	ret = tund_networks_save(d);
	if (ret)
		log_error("network %s: cannot save the new network key: %s", n->net.name,
			  g_strerror(-ret));
	else if (n->mqtt) /* saved: the copy the creator left for us is spent */
		tund_mqtt_publish(n->mqtt, old_rekey_topic, "", 0, true);
	tund_daemon_save_peers(d);
	set_topics(n);
	tund_beacon_stop(n->beacon);
	n->beacon = NULL;
	start_beacons(n);
	if (n->mqtt) {
		subscribe_all(n, true);
		publish_announce(n);
		if (tund_membership_is_admin(n))
			publish_all_records(n);
	}
	watch_old_epochs(n);
	log_info("network %s: new network key (epoch %u)", n->net.name, epoch);
}

/* The creator's new key for us (the DH proves the sender). Only the creator
 * rotates the key, so two admins blocking at once cannot split the network
 * between two keys. A member back from several epochs away takes the
 * current one at once (old_epochs.h); an epoch not newer is a replay. */
static void on_rekey(struct tund_membership *n, const struct tund_signal *m)
{
	if (!n->net.has_admin || !is_creator_key(n, m->sender) || tund_membership_is_creator(n)) {
		n->drops[TUND_SIG_DROP_UNKNOWN_SENDER]++;
		return;
	}
	if (m->new_epoch <= n->net.epoch) {
		n->drops[TUND_SIG_DROP_REPLAYED]++;
		return;
	}
	apply_rekey(n, m->new_epoch, m->new_key);
}

/* ---- the creator answers members still on an old epoch ---- */

/* The creator listens on the last epochs' announce topics and LAN beacons
 * (again after each rekey and broker change). */
static void lan_old_epochs(struct tund_membership *n);

static void watch_old_epochs(struct tund_membership *n)
{
	if (!n->net.has_admin || !tund_membership_is_creator(n))
		return;
	if (n->mqtt)
		tund_old_epochs_subscribe(&n->old, n->mqtt, false);
	tund_old_epochs_set(&n->old, &n->net, n->d->private_key);
	if (n->mqtt)
		tund_old_epochs_subscribe(&n->old, n->mqtt, true);
	lan_old_epochs(n);
}

/* True once per announce: a replayed one (anybody can replay it) gets no
 * second answer, and the table holds admitted members only. */
static bool first_answer(struct tund_membership *n, const struct tund_signal *m)
{
	GBytes *k = g_bytes_new(m->sender, 32);
	uint64_t *last = g_hash_table_lookup(n->old_answered, k);

	if (last && *last >= m->time_ms) {
		g_bytes_unref(k);
		return false;
	}
	if (!last) {
		last = g_new(uint64_t, 1);
		g_hash_table_insert(n->old_answered, g_bytes_ref(k), last);
	}
	*last = m->time_ms;
	g_bytes_unref(k);
	return true;
}

/* The current key to an admitted member still on old epoch o, sealed to it
 * by DH under o's key (what it can open): on o's inbox on the broker, or
 * on the LAN. */
static void send_current_key(struct tund_membership *n, const struct tund_old_epoch *o,
			     const uint8_t member[32], bool lan)
{
	struct tund_signal r = { .type = TUND_SIGNAL_REKEY, .has_new_key = true };
	uint8_t out[1024];
	char topic[160];
	size_t out_len;
	bool sent = false;

	memcpy(r.sender, n->d->public_key, 32);
	memcpy(r.recipient, member, 32);
	r.time_ms = now_ms();
	r.new_epoch = n->net.epoch;
	memcpy(r.new_key, n->net.key, 32);
	out_len = tund_signal_seal(&r, o->net.key, n->d->private_key, out, sizeof(out));
	sodium_memzero(&r, sizeof(r));
	if (out_len && lan && n->beacon)
		sent = !tund_beacon_send_signal(n->beacon, out, out_len);
	else if (out_len && !lan && tund_network_inbox_topic(&o->net, member, topic, sizeof(topic))) {
		publish_sealed(n, topic, out, out_len, false, TUND_SIGNAL_REKEY);
		sent = true;
	}
	sodium_memzero(out, sizeof(out));
	if (!sent)
		return;
	n->old_answers++;
	log_info("network %s: sent the key of epoch %u to a member still on epoch %u (%s)",
		 n->net.name, n->net.epoch, o->net.epoch, lan ? "LAN" : "broker");
}

/* An announce under an old epoch's key: if it comes from a member the
 * records admit, the current key goes to that epoch's inbox of it, sealed to
 * it by DH. Anything else there is dropped (a blocked member's fresh key with
 * an old invite is heard here too, and gets nothing). */
static void receive_old_epoch(struct tund_membership *n, const struct tund_old_epoch *o,
			      const uint8_t *buf, size_t len)
{
	struct tund_signal *m = g_new0(struct tund_signal, 1);
	const struct held_record *h;

	if (gate(n, &n->old_bound, buf, len, o->net.key) &&
	    tund_signal_open(buf, len, o->net.key, n->d->private_key, n->d->public_key, m) ==
		    TUND_SIGNAL_OK &&
	    m->type == TUND_SIGNAL_ANNOUNCE && memcmp(m->sender, n->d->public_key, 32) &&
	    (h = held_record(n, m->sender)) && tund_record_admits(h->r.kind) && first_answer(n, m))
		send_current_key(n, o, m->sender, false);
	sodium_memzero(m, sizeof(*m));
	g_free(m);
}

/* The creator hears a proven beacon under an old epoch's key (one a member
 * away through a rekey still sends; tund/connect/beacon.h): an admitted
 * member gets the current key on the LAN, at most every
 * LAN_KEY_EVERY_S (a lost datagram is made good by its next beacons); a
 * blocked one, or a key with no record, gets nothing. */
enum { LAN_KEY_EVERY_S = 5 };

static void on_old_beacon(void *ctx, unsigned idx, const uint8_t pubkey[32])
{
	struct tund_membership *n = ctx;
	struct held_record *h = held_record(n, pubkey);
	int64_t now = g_get_monotonic_time();

	if (idx >= n->old.n || !h || !tund_record_admits(h->r.kind) ||
	    !memcmp(pubkey, n->d->public_key, 32) ||
	    now - h->lan_key_sent_us < (int64_t)LAN_KEY_EVERY_S * G_USEC_PER_SEC)
		return;
	h->lan_key_sent_us = now;
	send_current_key(n, &n->old.e[idx], pubkey, true);
}

/* The last epochs' keys to our LAN beacons (the creator, with beacons on). */
static void lan_old_epochs(struct tund_membership *n)
{
	uint8_t keys[TUND_OLD_EPOCHS][32];

	if (!n->beacon || !n->net.has_admin || !tund_membership_is_creator(n))
		return;
	for (unsigned i = 0; i < n->old.n; i++)
		memcpy(keys[i], n->old.e[i].net.key, 32);
	tund_beacon_set_old_keys(n->beacon, (const uint8_t(*)[32])keys, n->old.n, on_old_beacon);
	sodium_memzero(keys, sizeof(keys));
}

int tund_membership_rekey(struct tund_membership *n)
{
	struct tund_signal m = { .type = TUND_SIGNAL_REKEY, .has_new_key = true };
	GHashTableIter it;
	gpointer v;
	unsigned sent = 0;

	if (!tund_membership_is_creator(n))
		return -EPERM;
	if (n->net.epoch == UINT32_MAX)
		return -EOVERFLOW;
	m.new_epoch = n->net.epoch + 1;
	tund_network_epoch_key(&n->net, n->d->private_key, m.new_epoch, m.new_key);
	/* Every admitted member but us gets it sealed to its own key; a blocked
	 * one gets nothing. */
	g_hash_table_iter_init(&it, n->records);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct held_record *h = v;

		if (!tund_record_admits(h->r.kind) || !memcmp(h->r.subject, n->d->public_key, 32))
			continue;
		send_to_key(n, h->r.subject, &m);
		sent++;
	}
	apply_rekey(n, m.new_epoch, m.new_key);
	log_info("network %s: sent the new key to %u member(s)", n->net.name, sent);
	sodium_memzero(&m, sizeof(m));
	return 0;
}

/* ---- broker ---- */

enum { ADMIT_WAIT_S = 5 };

static gboolean admit_wait(gpointer data)
{
	struct tund_membership *n = data;

	if (!waiting_for_admit(n)) {
		n->admit_wait_timer = 0;
		return G_SOURCE_REMOVE;
	}
	publish_announce(n);
	return G_SOURCE_CONTINUE;
}

static gboolean joining_over(gpointer data)
{
	struct tund_membership *n = data;

	n->joining = false;
	n->joining_timer = 0;
	return G_SOURCE_REMOVE;
}

static gboolean reannounce(gpointer data)
{
	publish_announce(data);
	return G_SOURCE_CONTINUE;
}

static void on_connected(void *ctx)
{
	struct tund_membership *n = ctx;

	publish_announce(n);
	if (tund_membership_is_admin(n))
		publish_all_records(n); /* the broker may have lost them */
	send_join(n);
	if (waiting_for_admit(n) && !n->admit_wait_timer)
		n->admit_wait_timer = tund_loop_timeout_add_seconds(ADMIT_WAIT_S, admit_wait, n);
	if (!n->reannounce_timer)
		n->reannounce_timer = tund_loop_timeout_add_seconds(TUND_SIGNAL_REANNOUNCE_MS / 1000,
							    reannounce, n);
	/* Messages sent while the broker was away are lost: renegotiate every
	 * member that has no working path. */
	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		if (!is_member_of(p, n) || p->state != TUND_PEER_MEMBER)
			continue;
		if (p->path && tund_path_controlling(p->path))
			tund_path_kick(p->path);
		else
			connect_member(n, p, true);
	}
	if (n->joining && !n->joining_timer)
		n->joining_timer = tund_loop_timeout_add_seconds(JOINING_WINDOW_S, joining_over, n);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct tund_membership *n = ctx;

	log_warn("network %s: broker disconnected: %s", n->net.name, why);
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len,
		       bool retained)
{
	struct tund_membership *n = ctx;
	const struct tund_old_epoch *o;

	if (len == 0)
		return; /* a cleared retained announce */
	if ((o = tund_old_epochs_match(&n->old, topic)))
		receive_old_epoch(n, o, payload, len);
	else
		tund_membership_receive(n, payload, len, retained);
}

/* Our underlay addresses changed: the broker connection and the ICE paths may
 * sit on an address that is gone. */
static void on_underlay_changed(void *ctx, const struct tund_addrwatch_change *ch)
{
	struct tund_membership *n = ctx;

	if (n->mqtt)
		tund_mqtt_underlay_changed(n->mqtt);
	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		if (is_member_of(p, n) && p->state == TUND_PEER_MEMBER && p->path)
			tund_path_underlay_changed(p->path, ch);
	}
}

static const struct tund_mqtt_callbacks mqtt_callbacks = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.message = on_message,
};

/* Starts the MQTT client for n->eff.broker (none: LAN and manual only). */
static void connect_broker(struct tund_membership *n)
{
	char client_id[40];
	char why[TUND_WHY_LEN];

	if (!n->eff.broker[0]) {
		log_info("network %s: no broker; LAN beacons and manual signaling only",
			 n->net.name);
		return;
	}
	/* Random per start: nothing of our key or the network for the broker
	 * to link (reconnects of this client reuse it). */
	uint8_t rnd[8];
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(client_id, sizeof(client_id), "tund-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
		 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (tund_mqtt_new(n->eff.broker, client_id, &mqtt_callbacks, n, &n->mqtt, why,
			  sizeof(why)) < 0) {
		log_error("network %s: broker %s: %s", n->net.name, n->eff.broker, why);
		return;
	}
	/* The broker keeps what is too big for us (MQTT v5); sigbound drops
	 * it here too, for a broker that does not. */
	if (tund_mqtt_set_max_packet(n->mqtt, TUND_SIGBOUND_MAX_PACKET))
		log_warn("network %s: cannot ask the broker for a packet size limit",
			 n->net.name);
	subscribe_all(n, true);
	watch_old_epochs(n);
}

struct tund_membership *tund_membership_find(struct tund_daemon *d, const char *name)
{
	if (!name || !d->networks)
		return NULL;
	for (guint i = 0; i < d->networks->len; i++) {
		struct tund_membership *n = g_ptr_array_index(d->networks, i);

		if (!strcmp(tund_membership_network(n)->name, name))
			return n;
	}
	return NULL;
}

/* The records saved before a restart, each checked as if it came from the
 * broker. A file that is not ours is left as it is and not written. */
/* Takes the records in raws (GBytes) issued by the creator, or all of them
 * when !creators_only; returns those left (a new array sharing the GBytes). */
static GPtrArray *take_loaded(struct tund_membership *n, GPtrArray *raws, bool creators_only)
{
	GPtrArray *left = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	struct tund_record r;

	for (guint i = 0; i < raws->len; i++) {
		GBytes *b = g_ptr_array_index(raws, i);
		gsize len;
		const uint8_t *raw = g_bytes_get_data(b, &len);

		if (tund_record_open(raw, len, n->netid, &r) != TUND_RECORD_OK ||
		    !record_address_ok(n, &r))
			n->drops[TUND_SIG_DROP_BAD_RECORD]++;
		else if (creators_only && !is_creator_key(n, r.issuer))
			g_ptr_array_add(left, g_bytes_ref(b));
		else
			take_record(n, &r, raw);
	}
	return left;
}

static void load_records(struct tund_membership *n)
{
	char hex[2 * sizeof(n->netid) + 1], name[64], why[TUND_WHY_LEN];
	GPtrArray *raws = NULL;
	int ret;

	sodium_bin2hex(hex, sizeof(hex), n->netid, sizeof(n->netid));
	snprintf(name, sizeof(name), "records-%s.json", hex);
	n->records_path = g_build_filename(n->d->cfg.state_dir, name, NULL);
	ret = tund_records_file_load(n->records_path, &raws, why, sizeof(why));
	if (ret == -ENOENT)
		return;
	if (ret) {
		log_error("network %s: %s: %s; not using it and leaving it as it is",
			  n->net.name, n->records_path, why);
		g_clear_pointer(&n->records_path, g_free);
		return;
	}
	char *path = n->records_path;

	n->records_path = NULL; /* it holds these already: no rewrite per record */
	n->loading = true;
	/* The file is in no order: the creator's records first, so a second
	 * admin (whom only the creator makes) is one before its records. */
	GPtrArray *later = take_loaded(n, raws, true);

	g_ptr_array_unref(take_loaded(n, later, false));
	g_ptr_array_unref(later);
	n->records_path = path;
	n->loading = false;
	log_info("network %s: %u membership record(s) from %s", n->net.name, raws->len,
		 n->records_path);
	g_ptr_array_unref(raws);
}

struct tund_membership *tund_membership_start(struct tund_daemon *d, const struct tund_network *net,
				    bool joining)
{
	struct tund_membership *n = g_new0(struct tund_membership, 1);
	char why[TUND_WHY_LEN];

	n->d = d;
	n->net = *net;
	n->eff = *net;
	tund_config_apply_network(&d->cfg, &n->eff);
	n->joining = joining;
	tund_network_record_id(net, n->netid);
	n->records = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					   (GDestroyNotify)g_bytes_unref, g_free);
	n->orphans = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					   (GDestroyNotify)g_bytes_unref, g_free);
	n->sender_rate = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					       (GDestroyNotify)g_bytes_unref, g_free);
	tund_sigbound_init(&n->bound, (uint64_t)(g_get_monotonic_time() / 1000));
	tund_sigbound_init(&n->old_bound, (uint64_t)(g_get_monotonic_time() / 1000));
	tund_ratelimit_init(&n->open_admits, OPEN_ADMIT_RATE, OPEN_ADMIT_BURST,
			    (uint64_t)(g_get_monotonic_time() / 1000));
	n->old_answered = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
						(GDestroyNotify)g_bytes_unref, g_free);
	n->replay = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
					  (GDestroyNotify)g_bytes_unref, g_free);
	set_topics(n);
	if (net->has_admin)
		load_records(n);
	tund_membership_assign(n);
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);

		if (is_member_of(p, n) && p->state == TUND_PEER_MEMBER)
			tund_membership_member_changed(n, p);
	}
	start_beacons(n);
	connect_broker(n);
	if (!n->mqtt) /* else connect_broker did */
		watch_old_epochs(n);
	/* ICE paths and the broker connection need renewing when an address
	 * goes away (also after a reload adds a broker). */
	if (tund_addrwatch_new(d->ifindex, on_underlay_changed, n, &n->addrwatch, why,
			       sizeof(why)) < 0)
		log_warn("network %s: address changes go unnoticed: %s", net->name, why);
	return n;
}

static bool same_servers(const struct tund_network *a, const struct tund_network *b)
{
	return a->n_stun == b->n_stun && a->n_turn == b->n_turn &&
	       !memcmp(a->stun, b->stun, a->n_stun * sizeof(a->stun[0])) &&
	       !memcmp(a->turn, b->turn, a->n_turn * sizeof(a->turn[0]));
}

unsigned tund_membership_reconfigure(struct tund_membership *n, GPtrArray *applied)
{
	struct tund_daemon *d = n->d;
	struct tund_network eff = n->net;
	unsigned changes = 0;

	tund_config_apply_network(&d->cfg, &eff);
	if (!same_servers(&eff, &n->eff)) {
		memcpy(n->eff.stun, eff.stun, sizeof(eff.stun));
		n->eff.n_stun = eff.n_stun;
		memcpy(n->eff.turn, eff.turn, sizeof(eff.turn));
		n->eff.n_turn = eff.n_turn;
		/* Working sessions stay as they are; the next session a path
		 * opens (retry, restart, relay-to-direct probe) uses these. */
		for (guint i = 0; i < d->peers.items->len; i++) {
			struct tund_peer *p = g_ptr_array_index(d->peers.items, i);
			struct tund_ice_server_config cfg;

			if (!is_member_of(p, n) || !p->path)
				continue;
			tund_ice_config_for(d, &n->eff, &cfg);
			tund_path_set_servers(p->path, &cfg);
			sodium_memzero(&cfg, sizeof(cfg));
		}
		g_ptr_array_add(applied, g_strdup_printf("network %s: STUN/TURN servers (%u STUN, "
							 "%u TURN)", n->net.name, eff.n_stun,
							 eff.n_turn));
		changes++;
	}
	if (strcmp(eff.broker, n->eff.broker)) {
		g_ptr_array_add(applied, g_strdup_printf("network %s: broker %s -> %s", n->net.name,
							 n->eff.broker[0] ? n->eff.broker : "none",
							 eff.broker[0] ? eff.broker : "none"));
		if (n->mqtt) {
			/* Our retained announce would point newcomers at a broker we
			 * no longer read. */
			tund_mqtt_publish(n->mqtt, n->announce_topic, "", 0, true);
			tund_mqtt_free(n->mqtt);
			n->mqtt = NULL;
		}
		g_strlcpy(n->eff.broker, eff.broker, sizeof(n->eff.broker));
		/* on_connected re-announces and renegotiates members without a
		 * working path; the paths that work are left alone. */
		connect_broker(n);
		changes++;
	}
	sodium_memzero(&eff, sizeof(eff));
	return changes;
}

void tund_membership_stop(struct tund_membership *n, bool leaving)
{
	if (!n)
		return;
	if (n->joining_timer)
		tund_loop_source_remove(n->joining_timer);
	if (n->reannounce_timer)
		tund_loop_source_remove(n->reannounce_timer);
	if (n->admit_wait_timer)
		tund_loop_source_remove(n->admit_wait_timer);
	if (n->psk_grace_timer)
		tund_loop_source_remove(n->psk_grace_timer);
	tund_beacon_stop(n->beacon);
	tund_addrwatch_free(n->addrwatch);
	if (leaving && n->d->dp)
		tund_dataplane_drop_network(n->d->dp, bcast_group(n));
	if (leaving)
		remove_own_address(n, true);
	if (leaving && n->records_path) /* the members are forgotten too */
		g_unlink(n->records_path);
	if (n->mqtt) {
		if (leaving) /* an empty retained message removes our announce */
			tund_mqtt_publish(n->mqtt, n->announce_topic, "", 0, true);
		tund_mqtt_free(n->mqtt);
	}
	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		if (is_member_of(p, n)) {
			tund_path_free(p->path);
			p->path = NULL;
		}
	}
	g_hash_table_unref(n->replay);
	g_hash_table_unref(n->records);
	g_hash_table_unref(n->orphans);
	g_free(n->records_path);
	g_hash_table_unref(n->sender_rate);
	g_hash_table_unref(n->old_answered);
	tund_old_epochs_clear(&n->old);
	sodium_memzero(&n->net, sizeof(n->net));
	sodium_memzero(&n->eff, sizeof(n->eff));
	g_free(n);
}

/* The servers in use (after the config's [network NAME] section); TURN
 * passwords are not shown. */
static void add_servers(JsonBuilder *b, struct tund_membership *n)
{
	json_builder_set_member_name(b, TUND_KEY_STUN);
	json_builder_begin_array(b);
	for (unsigned i = 0; i < n->eff.n_stun; i++) {
		char text[300];

		if (tund_format_stun(&n->eff.stun[i], text, sizeof(text)))
			json_builder_add_string_value(b, text);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, TUND_KEY_TURN);
	json_builder_begin_array(b);
	for (unsigned i = 0; i < n->eff.n_turn; i++) {
		char text[1024];

		if (tund_format_turn_url(&n->eff.turn[i], TUND_TURN_MASKED, text, sizeof(text)))
			json_builder_add_string_value(b, text);
	}
	json_builder_end_array(b);
}

/* LAN beacons: sent, accepted, dropped by reason. */
static void add_beacons(JsonBuilder *b, struct tund_beacon *beacon)
{
	struct tund_beacon_stats bs;

	tund_beacon_get_stats(beacon, &bs);
	json_builder_set_member_name(b, TUND_KEY_BEACONS);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_SENT);
	json_builder_add_int_value(b, (gint64)bs.sent);
	json_builder_set_member_name(b, TUND_KEY_ACCEPTED);
	json_builder_add_int_value(b, (gint64)bs.accepted);
	json_builder_set_member_name(b, TUND_KEY_OLD_EPOCH);
	json_builder_add_int_value(b, (gint64)bs.old_epoch);
	json_builder_set_member_name(b, TUND_KEY_DROPPED);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_OTHER_NETWORK);
	json_builder_add_int_value(b, (gint64)bs.dropped_other_network);
	json_builder_set_member_name(b, TUND_KEY_FORGED);
	json_builder_add_int_value(b, (gint64)bs.dropped_forged);
	json_builder_set_member_name(b, TUND_KEY_STALE);
	json_builder_add_int_value(b, (gint64)bs.dropped_stale);
	json_builder_set_member_name(b, TUND_KEY_REPLAYED);
	json_builder_add_int_value(b, (gint64)bs.dropped_replay);
	json_builder_set_member_name(b, TUND_KEY_MALFORMED);
	json_builder_add_int_value(b, (gint64)bs.dropped_malformed);
	json_builder_set_member_name(b, TUND_KEY_RATE_LIMITED);
	json_builder_add_int_value(b, (gint64)bs.dropped_ratelimited);
	json_builder_set_member_name(b, TUND_KEY_OLD_VERSION);
	json_builder_add_int_value(b, (gint64)bs.dropped_old_version);
	json_builder_end_object(b);
	json_builder_end_object(b);
}

/* Signaling: sent (by type), received, dropped by reason. */
static void add_signaling(JsonBuilder *b, struct tund_membership *n)
{
	json_builder_set_member_name(b, TUND_KEY_SIGNALING);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_SENT);
	json_builder_add_int_value(b, (gint64)n->sent);
	json_builder_set_member_name(b, TUND_KEY_SENT_BYTES);
	json_builder_add_int_value(b, (gint64)n->sent_bytes);
	json_builder_set_member_name(b, TUND_KEY_SENT_BY_TYPE);
	json_builder_begin_object(b);
	for (size_t i = 1; i < TYPE_COUNT; i++) {
		json_builder_set_member_name(b, type_names[i]);
		json_builder_add_int_value(b, (gint64)n->sent_type[i]);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, TUND_KEY_RECEIVED);
	json_builder_add_int_value(b, (gint64)n->received);
	json_builder_set_member_name(b, TUND_KEY_OLD_EPOCH_ANSWERS);
	json_builder_add_int_value(b, (gint64)n->old_answers);
	json_builder_set_member_name(b, TUND_KEY_DROPPED);
	json_builder_begin_object(b);
	for (int i = 0; i < TUND_SIG_DROP_COUNT; i++) {
		json_builder_set_member_name(b, drop_names[i]);
		json_builder_add_int_value(b, (gint64)n->drops[i]);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
}

/* Admission mode, the admin's key, and why the admin refused our join. */
static void add_admission(JsonBuilder *b, struct tund_membership *n)
{
	json_builder_set_member_name(b, TUND_KEY_ADMISSION);
	json_builder_add_string_value(b, n->net.admission == TUND_ADMISSION_APPROVE ? "approve" :
										       "open");
	json_builder_set_member_name(b, TUND_KEY_ADMIN);
	if (n->net.has_admin) {
		char admin[TUND_KEY_B64_LEN + 1];

		tund_key_encode(admin, n->net.admin);
		json_builder_add_string_value(b, admin);
	} else {
		json_builder_add_null_value(b);
	}
	/* What this node may decide in the network: what its records say. */
	json_builder_set_member_name(b, TUND_KEY_ROLE);
	if (!n->net.has_admin)
		json_builder_add_null_value(b);
	else
		json_builder_add_string_value(b, tund_membership_is_creator(n) ? "creator" :
						 tund_membership_is_admin(n)   ? "admin" :
										 "member");
	json_builder_set_member_name(b, TUND_KEY_EPOCH);
	json_builder_add_int_value(b, n->net.epoch);
	json_builder_set_member_name(b, TUND_KEY_JOIN_REFUSED);
	if (n->join_refused[0])
		json_builder_add_string_value(b, n->join_refused);
	else
		json_builder_add_null_value(b);
}

JsonNode *tund_membership_to_json(struct tund_membership *n)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	char buf[TUND_CIDR_STRLEN], id[33];
	unsigned members = 0, pending = 0;

	for (guint i = 0; i < n->d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(n->d->peers.items, i);

		if (!is_member_of(p, n))
			continue;
		members += p->state == TUND_PEER_MEMBER;
		pending += p->state == TUND_PEER_PENDING;
	}
	sodium_bin2hex(id, sizeof(id), n->netid, sizeof(n->netid));
	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_NAME);
	json_builder_add_string_value(b, n->net.name);
	json_builder_set_member_name(b, TUND_KEY_ID);
	json_builder_add_string_value(b, id);
	json_builder_set_member_name(b, TUND_KEY_PREFIX);
	tund_cidr_format(&n->net.prefix4, buf, sizeof(buf));
	json_builder_add_string_value(b, buf);
	json_builder_set_member_name(b, TUND_KEY_PREFIX6);
	tund_cidr_format(&n->net.prefix6, buf, sizeof(buf));
	json_builder_add_string_value(b, buf);
	json_builder_set_member_name(b, TUND_KEY_ADDRESS);
	if (n->has_addr) {
		tund_cidr_format(&n->addr4, buf, sizeof(buf));
		json_builder_add_string_value(b, buf);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, TUND_KEY_ADDRESS6);
	if (n->has_addr) {
		tund_cidr_format(&n->addr6, buf, sizeof(buf));
		json_builder_add_string_value(b, buf);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, TUND_KEY_BROKER);
	if (n->eff.broker[0])
		json_builder_add_string_value(b, n->eff.broker);
	else
		json_builder_add_null_value(b);
	add_servers(b, n);
	json_builder_set_member_name(b, TUND_KEY_BROKER_CONNECTED);
	if (n->mqtt) {
		struct tund_mqtt_stats st;

		tund_mqtt_get_stats(n->mqtt, &st);
		json_builder_add_boolean_value(b, st.connected);
	} else {
		json_builder_add_null_value(b);
	}
	add_admission(b, n);
	json_builder_set_member_name(b, TUND_KEY_BROADCAST);
	json_builder_add_boolean_value(b, !n->net.no_broadcast);
	json_builder_set_member_name(b, TUND_KEY_MEMBERS);
	json_builder_add_int_value(b, members);
	json_builder_set_member_name(b, TUND_KEY_PENDING);
	json_builder_add_int_value(b, pending);
	if (n->beacon)
		add_beacons(b, n->beacon);
	add_signaling(b, n);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}
