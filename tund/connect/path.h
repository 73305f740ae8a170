/* SPDX-License-Identifier: MIT */
/* A peer's ICE path: the libnice sessions that carry its WireGuard messages,
 * negotiated over signaling (MQTT or manual blobs). The side with the larger
 * public key is controlling: it offers, picks, and keeps trying for a direct
 * pair while the path is relayed (make-before-break: a probe session runs
 * next to the active one and takes over only if it is direct). */
#ifndef TUND_PATH_H
#define TUND_PATH_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "overlay/signal.h"
#include "tund/connect/addrwatch.h"
#include "tund/connect/ice.h"

struct tund_daemon;
struct tund_peer;
struct tund_path;

/* Sends one signaling message to the path's peer; the daemon fills in the
 * network, sender and time, seals and delivers it. */
typedef void (*tund_path_send_fn)(struct tund_daemon *d, struct tund_peer *p,
				  struct tund_signal *m);

struct tund_path *tund_path_new(struct tund_daemon *d, struct tund_peer *p,
				const struct tund_ice_server_config *cfg, bool controlling,
				tund_path_send_fn send);
void tund_path_free(struct tund_path *path);
/* New STUN/TURN servers: used by the sessions opened from now on; the
 * current ones (and the traffic they carry) are left alone. */
void tund_path_set_servers(struct tund_path *path, const struct tund_ice_server_config *cfg);
bool tund_path_controlling(struct tund_path *path);
/* Controlling side: opens a session now unless one is up or being made. */
void tund_path_start(struct tund_path *path);
/* Controlling side: the signaling channel is (back) up, so a session that
 * is not connected starts afresh now. */
void tund_path_kick(struct tund_path *path);
/* Our underlay addresses changed (see tund/connect/addrwatch.h). Some went
 * away: a connected path whose own local address (its selected candidate's
 * base, or its TURN allocation's) is still ours is left alone; any other
 * starts afresh (the controlling side offers, the controlled side asks for a
 * restart). Only added: only a path that does not work yet is retried. */
void tund_path_underlay_changed(struct tund_path *path, const struct tund_addrwatch_change *ch);
/* Handles OFFER, ANSWER, CANDIDATE, RESTART and BYE for this peer. */
void tund_path_on_signal(struct tund_path *path, const struct tund_signal *m);
/* Manual signaling: the next OFFER (controlling) or ANSWER (controlled) is
 * not sent but handed to done() once gathering has finished, with every
 * candidate inside. If the path is freed before that, gone(ctx) is called
 * instead (may be NULL). */
void tund_path_manual(struct tund_path *path, void (*done)(void *ctx, const struct tund_signal *m),
		      void (*gone)(void *ctx), void *ctx);
/* path, candidates, local_addr, remote_addr, ice_state, last_error. */
void tund_path_describe(struct tund_path *path, JsonObject *o);
/* "direct", "relay" or NULL. */
const char *tund_path_kind(struct tund_path *path);
/* The id of the session being negotiated (not connected yet), or 0: what a
 * controlled side's RESTART names, so that the controlling side keeps a
 * session both sides are still working on. */
uint32_t tund_path_pending_session(struct tund_path *path);
/* Why the path failed last ("" when it has not, or since connected). */
const char *tund_path_last_error(struct tund_path *path);

#endif
