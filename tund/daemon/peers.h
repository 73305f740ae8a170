/* SPDX-License-Identifier: MIT */
/* The daemon's peer list: what the user configured plus what we observed.
 * One JSON form serves the state file, control replies and peer.add. */
#ifndef TUND_PEERS_H
#define TUND_PEERS_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "overlay/cidr.h"
#include "overlay/keys.h"

struct tund_wg_peer;

#define TUND_PEER_NAME_MAX 64
#define TUND_PEER_MAX_ALLOWED_IPS 256

enum tund_peer_state {
	TUND_PEER_STATIC,  /* added by hand: key, endpoint, allowed IPs */
	TUND_PEER_MEMBER,  /* a member of one of our networks, admitted */
	TUND_PEER_PENDING, /* a member waiting for `tundctl peer approve` */
	TUND_PEER_BLOCKED, /* shut out: no session, its messages are ignored */
};

const char *tund_peer_state_name(enum tund_peer_state s);

struct tund_path;

struct tund_peer {
	uint8_t public_key[TUND_KEY_LEN];
	enum tund_peer_state state;
	char *network;        /* the network it belongs to, NULL for static peers */
	char *name;           /* NULL when unnamed */
	char *endpoint;       /* "host:port" as configured, or NULL */
	GArray *allowed_ips;  /* struct tund_cidr */
	bool has_psk;
	uint8_t psk[TUND_KEY_LEN];

	/* The data plane's handle, NULL until it is applied. */
	struct tund_wg_peer *wg_peer;
	/* The ICE session to it, NULL when there is none (tund/path.c). */
	struct tund_path *path;
	/* Monotonic time of its latest LAN beacon (signed by it): while recent
	 * and it answered on the LAN, the LAN path wins over ICE (path.c). */
	gint64 lan_seen_us;

	/* The carrier of a key that is a member of several of our networks
	 * (tund_peer_list_carrier) holds the key's one WireGuard peer and ICE
	 * path; these are the other networks' addresses and broadcast groups
	 * it carries too. Not persisted. */
	GArray *shared_ips;    /* struct tund_cidr */
	GArray *shared_groups; /* uint32_t, tund_dataplane_bcast_group */

	/* Observed, not persisted. */
	uint64_t rx_bytes, tx_bytes;
	int64_t latest_handshake; /* unix seconds, 0 = never */
};

/* Seconds a LAN beacon keeps the LAN path preferred. */
#define TUND_LAN_FRESH_S 15
bool tund_peer_on_lan(const struct tund_peer *p);

struct tund_peer *tund_peer_new(void);
void tund_peer_free(struct tund_peer *p);

/* Validates a JSON peer object (from a request or the state file) into a new
 * peer *out. Only public_key is required. -EINVAL and a one-line why on
 * failure. */
int tund_peer_from_json(JsonObject *obj, struct tund_peer **out, char *why, size_t why_len);
/* As tund_peer_from_json for a peer.add request: "state" and "network" are
 * refused, since only admission sets them (a request naming them would add
 * a network member nobody admitted). */
int tund_peer_from_request(JsonObject *obj, struct tund_peer **out, char *why, size_t why_len);
/* Builds the JSON object; secrets (psk) only when with_secrets is true. */
JsonNode *tund_peer_to_json(const struct tund_peer *p, bool with_secrets);

struct tund_peer_list {
	GPtrArray *items; /* struct tund_peer *, owned */
};

void tund_peer_list_init(struct tund_peer_list *l);
void tund_peer_list_clear(struct tund_peer_list *l);
/* Finds a peer by base64 public key or by name. */
struct tund_peer *tund_peer_list_find(struct tund_peer_list *l, const char *key_or_name);
struct tund_peer *tund_peer_list_find_key(struct tund_peer_list *l,
					  const uint8_t key[TUND_KEY_LEN]);
/* The entry of key in network (NULL: the static peer): a key is a member
 * of each of our networks on its own (network, key) entry. */
struct tund_peer *tund_peer_list_find_in(struct tund_peer_list *l, const char *network,
					 const uint8_t key[TUND_KEY_LEN]);
/* The entry that holds key's WireGuard peer and path: its static peer, else
 * its entry, in any state, in the network whose name sorts first among the
 * entries where usable(entry, ctx) holds (NULL: all), provided the key is a
 * member in one of them. States are each node's own view and the two ends
 * of a pair may differ (a newcomer still pending here, a block by one node
 * alone), but both hold an entry in each network they share: so both pick
 * the same network and agree on the pre-shared key. NULL when it is a
 * member nowhere. tund/connect/carrier.h says which entries are usable. */
struct tund_peer *tund_peer_list_carrier(struct tund_peer_list *l, const uint8_t key[TUND_KEY_LEN],
					 bool (*usable)(const struct tund_peer *p, void *ctx),
					 void *ctx);
/* Whether p's own addresses and broadcast group are its WireGuard peer's: a
 * static peer or a member. A pending or blocked entry that carries the key
 * for its memberships elsewhere lends the session its network's pre-shared
 * key only. */
bool tund_peer_owns_addresses(const struct tund_peer *p);
/* Adds p, or replaces the peer with the same (network, key). Refuses a name that
 * another peer already has (-EEXIST, with why). Takes ownership of p on
 * success only. */
int tund_peer_list_upsert(struct tund_peer_list *l, struct tund_peer *p, char *why, size_t why_len);
/* Removes and frees. False if absent. */
bool tund_peer_list_remove(struct tund_peer_list *l, struct tund_peer *p);

/* State file text: {"version":1,"peers":[...]} with secrets. */
char *tund_peer_list_serialize(struct tund_peer_list *l, size_t *len);
/* Parses state file text into l (which must be empty). Refuses anything
 * malformed as a whole (-EINVAL, with why), so a corrupt file is never
 * half-loaded. */
int tund_peer_list_parse(struct tund_peer_list *l, const char *data, size_t len, char *why,
			 size_t why_len);

#endif
