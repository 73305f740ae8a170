/* SPDX-License-Identifier: MIT */
/* Control command handlers outside commands.c. Each returns 0 with its
 * result node in *out, or 0 with *out NULL when it answers later through
 * tund_control_reply(d->control, d->current_client, ...), or -errno with a
 * one-line why (the error reply's text). */
#ifndef TUND_COMMANDS_H
#define TUND_COMMANDS_H

#include <json-glib/json-glib.h>
#include <stddef.h>
#include <stdint.h>

struct tund_daemon;

typedef int (*tund_command_fn)(struct tund_daemon *d, JsonObject *req, JsonNode **out,
			       char *why, size_t why_len);

/* tund/control/cmd_network.c */
int tund_cmd_network_create(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			    size_t why_len);
int tund_cmd_network_join(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			  size_t why_len);
int tund_cmd_network_leave(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len);
int tund_cmd_network_invite(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			    size_t why_len);
int tund_cmd_network_invites(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			     size_t why_len);
int tund_cmd_network_invite_revoke(struct tund_daemon *d, JsonObject *req, JsonNode **out,
				   char *why, size_t why_len);
int tund_cmd_network_relay(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len);
int tund_cmd_network_rekey(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			   size_t why_len);
int tund_cmd_networks(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		      size_t why_len);
int tund_cmd_peer_approve(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			  size_t why_len);
int tund_cmd_peer_block(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			size_t why_len);
int tund_cmd_peer_unblock(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			  size_t why_len);
/* tund/control/cmd_manual.c */
int tund_cmd_peer_offer(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			size_t why_len);
int tund_cmd_peer_answer(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			 size_t why_len);
int tund_cmd_peer_accept(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
			 size_t why_len);
/* tund/control/cmd_ping.c */
/* Opens the raw ICMP socket every tundctl ping shares (needs CAP_NET_RAW,
 * so before privileges are dropped). 0 or -errno; without it each ping opens
 * its own. */
int tund_ping_open_socket(void);
int tund_cmd_ping(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		  size_t why_len);
/* tund/control/cmd_netcheck.c */
int tund_cmd_netcheck(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		      size_t why_len);

/* tund/daemon/reload.c */
int tund_cmd_reload(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		    size_t why_len);

/* The control handler (tund/control/control.h's callback): one request line
 * in, one reply line out, or NULL when the command answers later. */
char *tund_commands_handle(void *daemon, uint64_t client, const char *line, size_t len);

#endif
