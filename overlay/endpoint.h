/* SPDX-License-Identifier: MIT */
/* "HOST:PORT" and "[IPv6]:PORT" endpoints as people type them. */
#ifndef TUND_OVERLAY_ENDPOINT_H
#define TUND_OVERLAY_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUND_ENDPOINT_HOST_MAX 254

/* Splits text into host (no brackets) and port 1..65535. Host is an IPv4
 * literal, an IPv6 literal in brackets, or a DNS name. */
bool tund_endpoint_parse(const char *text, char host[TUND_ENDPOINT_HOST_MAX],
			 uint16_t *port);

#endif
