/* SPDX-License-Identifier: MIT */
/* Server URLs for `tundctl network create`: local checks of --broker, --stun
 * and --turn values, and the conversion of a WebRTC iceServers array into
 * tund's "HOST:PORT" STUN and "turn://USER:PASS@HOST:PORT?transport=X" TURN
 * lists. Pure: no sockets, no files. */
#ifndef TUND_CTL_ICE_H
#define TUND_CTL_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* The checks are overlay/servers.h's parsers, which the daemon applies too,
 * so that tundctl refuses what tund would, before sending it; tundctl also
 * wants the port written out. */
/* "mqtt://HOST:PORT"; mqtts:// is refused. */
bool tund_ice_check_broker(const char *url, char *why, size_t why_len);
/* A STUN server "HOST:PORT". */
bool tund_ice_check_stun(const char *hostport, char *why, size_t why_len);
/* "turn://USER:PASS@HOST:PORT" with an optional "?transport=udp|tcp"; USER
 * and PASS non-empty, percent-encoded where needed. "turns:" is refused
 * with a reason (libnice has no TURN over TLS). */
bool tund_ice_check_turn(const char *url, char *why, size_t why_len);
/* Parses a WebRTC iceServers JSON array
 * ([{"urls": ["stun:H:P", "turn:H:P?transport=tcp"] | "URL", "username",
 * "credential"}, ...]) and appends each stun:/turn: URL, converted, to stun
 * or turn (g_free'd strings). A missing port means 3478, a TURN URL without
 * transport means udp. On failure returns -EINVAL with a one-line why
 * naming the entry; turns: URLs are refused that way. */
int tund_ice_parse_servers(const char *json, size_t len, GPtrArray *stun, GPtrArray *turn,
			   char *why, size_t why_len);

#endif
