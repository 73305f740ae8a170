/* SPDX-License-Identifier: MIT */
/* IPv4/IPv6 addresses with a prefix length, parsed from and printed as text. */
#ifndef TUND_OVERLAY_CIDR_H
#define TUND_OVERLAY_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tund_cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network byte order; IPv4 uses the first 4 bytes */
	uint8_t prefix;    /* 0..32 or 0..128 */
};

/* Longest text form: an IPv6 address, '/', three digits, NUL. */
#define TUND_CIDR_STRLEN 50

/* Parses "A.B.C.D/N", "X::Y/N", or a bare address (full-length prefix when
 * allow_bare is true). Returns false on anything else. Host bits are kept, so
 * "10.77.0.1/16" means address 10.77.0.1 on a /16. */
bool tund_cidr_parse(struct tund_cidr *out, const char *text, bool allow_bare);
/* Writes "addr/prefix" into buf (at least TUND_CIDR_STRLEN bytes). */
void tund_cidr_format(const struct tund_cidr *c, char *buf, size_t len);
/* Clears the host bits so that the value names a network. */
void tund_cidr_mask(struct tund_cidr *c);
/* True when addr (of c->family) lies inside c. */
bool tund_cidr_contains(const struct tund_cidr *c, const uint8_t *addr);

#endif
