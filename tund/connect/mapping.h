/* SPDX-License-Identifier: MIT */
/* This node's own NAT mapping behaviour, kept as daemon state for the
 * choice of gathering TURN relay candidates (turn_policy.h, doc/paths.md
 * "TURN only when needed"). One STUN check (tund/connect/netcheck.c, STUN
 * only) against the first ICE server a path is given: the network's STUN
 * server, or else its first TURN server over UDP asked as a STUN server.
 * The mapped address equal to one of our addresses is "none" (no NAT); two
 * equal answers from the server's two addresses (RFC 5780 OTHER-ADDRESS)
 * "endpoint-independent", two different ones "endpoint-dependent"; anything
 * else "unknown". Run when the first path is made and again after every
 * underlay change (tund_path_underlay_changed). One daemon, one thread: the
 * state is per process, like path.c's start limit. */
#ifndef TUND_MAPPING_H
#define TUND_MAPPING_H

#include <stdbool.h>
#include <stdint.h>

#include "tund/connect/ice.h"

/* A path waits at most this long for a check under way before it starts
 * its session with TURN anyway (as "unknown"). */
#define TUND_MAPPING_WAIT_MS 700
/* Per STUN step; a server that does not answer leaves "unknown". */
#define TUND_MAPPING_STEP_MS 1000

/* Starts a check with cfg's server if none was made or is under way. */
void tund_mapping_ensure(const struct tund_ice_server_config *cfg);
/* The underlay changed: "unknown" until a new check (with cfg's server) says. */
void tund_mapping_invalidate(const struct tund_ice_server_config *cfg);
/* enum tund_signal_mapping: NONE, EIM, DEPENDENT or UNKNOWN (also while a
 * check is under way). */
uint8_t tund_mapping_get(void);
/* A check is under way and has not run TUND_MAPPING_WAIT_MS yet. */
bool tund_mapping_pending(void);
/* Calls fn(ctx) once, when the pending check ends or its wait is over.
 * tund_mapping_unwait(ctx) cancels (safe when not waiting). */
void tund_mapping_wait(void (*fn)(void *ctx), void *ctx);
void tund_mapping_unwait(void *ctx);
/* "none", "endpoint-independent", "endpoint-dependent", "unknown", "not
 * said" (0), "failed without TURN" (FAILED); other values "unknown". */
const char *tund_mapping_name(uint8_t mapping);
/* The server of the last check ("HOST:PORT"), "" if none. */
const char *tund_mapping_server(void);
/* Tests: forget everything (no check may be under way). */
void tund_mapping_reset(void);

#endif
