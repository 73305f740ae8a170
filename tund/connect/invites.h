/* SPDX-License-Identifier: MIT */
/* Limited invites a network's admin issued (`network invite NAME --expires
 * --uses`): per invite its network, the hash of its token, expiry, uses left
 * and whether it was revoked. Kept in state_dir/invites.json (0600, written
 * atomically). The token itself is never stored: a joiner shows it, and the
 * admin compares hashes, so the file admits nobody. A corrupt file is
 * refused (every operation fails and says so) and never overwritten. */
#ifndef TUND_INVITES_H
#define TUND_INVITES_H

#include <json-glib/json-glib.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/network.h"

struct tund_daemon;
struct tund_invites;

enum {
	TUND_INVITE_ID_LEN = 8, /* hex characters: the start of the token's hash */
	TUND_INVITE_MAX_USES = 1000000,
	TUND_INVITE_MAX_EXPIRES_S = 366 * 86400,
};

/* The daemon's store (state_dir/invites.json), read on first use and kept in
 * d->invites; a missing file is an empty store. -errno with why when the file
 * cannot be read or is corrupt (then nothing is kept, so the next call reads
 * it again, e.g. after someone fixed it). */
int tund_invites_get(struct tund_daemon *d, struct tund_invites **out, char *why, size_t why_len);
/* The same for any path (tests). */
int tund_invites_load(const char *path, struct tund_invites **out, char *why, size_t why_len);
void tund_invites_free(struct tund_invites *iv);

/* A new invite of network: a random token (written to token), expiring at
 * expires_ms, good for uses joins; saved before it is handed out. */
int tund_invites_issue(struct tund_invites *iv, const char *network, uint64_t expires_ms,
		       uint32_t uses, uint8_t token[TUND_NET_TOKEN_LEN], char *why, size_t why_len);
/* A joiner showed token: spends one use and saves. -EACCES with the reason
 * for the joiner in why ("unknown invite", "invite revoked", "invite expired
 * at 2026-12-06 21:00:00 UTC", "invite already used"); another -errno when
 * the use cannot be saved (nothing spent). */
int tund_invites_use(struct tund_invites *iv, const char *network,
		     const uint8_t token[TUND_NET_TOKEN_LEN], uint64_t now_ms, char *why,
		     size_t why_len);
/* Revokes the invite of network whose id starts id (TUND_INVITE_ID_LEN hex
 * characters). -ENOENT when there is none. */
int tund_invites_revoke(struct tund_invites *iv, const char *network, const char *id, char *why,
			size_t why_len);
/* The network's invites: [{"id", "expires" (unix s), "expires_at" (UTC
 * text), "expired", "uses_left", "revoked"}...]. */
JsonNode *tund_invites_list(struct tund_invites *iv, const char *network, uint64_t now_ms);
/* After a leave: its invites go (and are saved). */
int tund_invites_forget(struct tund_invites *iv, const char *network);
/* The id of a token, TUND_INVITE_ID_LEN hex characters and a NUL. */
void tund_invites_id(const uint8_t token[TUND_NET_TOKEN_LEN], char id[TUND_INVITE_ID_LEN + 1]);
/* "2026-12-06 21:00:00 UTC" */
void tund_invites_format_time(uint64_t ms, char *buf, size_t len);

#endif
