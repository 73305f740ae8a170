// SPDX-License-Identifier: MIT
#include "overlay/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_prefix(const char *s, unsigned max, uint8_t *out)
{
	unsigned v = 0;

	if (!*s || strlen(s) > 3)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*out = (uint8_t)v;
	return true;
}

bool tund_cidr_parse(struct tund_cidr *out, const char *text, bool allow_bare)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	struct tund_cidr c;

	if (!text)
		return false;
	memset(&c, 0, sizeof(c));
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return false;
	memcpy(buf, text, alen);
	buf[alen] = '\0';

	if (inet_pton(AF_INET, buf, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, c.addr) == 1)
		c.family = AF_INET6;
	else
		return false;

	unsigned max = c.family == AF_INET ? 32 : 128;
	if (slash) {
		if (!parse_prefix(slash + 1, max, &c.prefix))
			return false;
	} else {
		if (!allow_bare)
			return false;
		c.prefix = (uint8_t)max;
	}
	*out = c;
	return true;
}

void tund_cidr_format(const struct tund_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefix);
}

void tund_cidr_mask(struct tund_cidr *c)
{
	unsigned bytes = c->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned bit = i * 8;
		if (bit >= c->prefix)
			c->addr[i] = 0;
		else if (c->prefix - bit < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->prefix - bit)));
	}
}

bool tund_cidr_contains(const struct tund_cidr *c, const uint8_t *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));
		if ((c->addr[full] & m) != (addr[full] & m))
			return false;
	}
	return true;
}
