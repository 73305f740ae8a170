/* SPDX-License-Identifier: MIT */
/* Local checks of command-line values before anything is sent to tund, so a
 * typo is reported with the offending token and never reaches the daemon. */
#ifndef TUND_CTL_ARGS_H
#define TUND_CTL_ARGS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "overlay/keys.h"

/* "HOST:PORT" or "[IPV6]:PORT" with port 1-65535. HOST is an IPv4 address or
 * a DNS name; a bare IPv6 address is refused because its last colon would be
 * ambiguous. On failure writes the reason into why. */
bool tund_args_check_endpoint(const char *text, char *why, size_t why_len);
/* Splits "CIDR[,CIDR...]" (spaces around commas allowed) and appends each
 * entry in canonical "addr/prefix" form (g_free) to out; a bare address gets
 * its full-length prefix. On failure *bad is a copy of the offending entry
 * (g_free) and out holds what was appended before it. */
bool tund_args_parse_cidrs(GPtrArray *out, const char *list, char **bad);
/* A peer name: non-empty valid UTF-8 without control characters, and not
 * something that would be read as a public key by `peer remove`. */
bool tund_args_check_name(const char *name, char *why, size_t why_len);
/* A network name: 1-63 characters of letters, digits, '.', '_' and '-',
 * starting with a letter or digit. */
bool tund_args_check_network(const char *name, char *why, size_t why_len);
/* A positive decimal integer in [min, max] without sign or spaces. */
bool tund_args_parse_uint(const char *text, unsigned min, unsigned max, unsigned *out);
/* A duration: a positive decimal number and a unit, s, m, h or d ("30s",
 * "10m", "24h", "7d"), at most max_s seconds, into *out_s. */
bool tund_args_parse_duration(const char *text, unsigned max_s, unsigned *out_s);
/* Canonical text of a public key given in any form tund_key_decode accepts
 * (e.g. with a trailing newline); false if it is not a key. */
bool tund_args_normalise_key(char out[TUND_KEY_B64_LEN + 1], const char *text);

#endif
