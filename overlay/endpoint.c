// SPDX-License-Identifier: MIT
#include "overlay/endpoint.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

static bool dns_name_ok(const char *h)
{
	size_t label = 0;

	for (; *h; h++) {
		if (*h == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*h) && *h != '-' && *h != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

bool tund_endpoint_parse(const char *text, char host[TUND_ENDPOINT_HOST_MAX], uint16_t *port)
{
	const char *colon, *hstart, *hend;
	unsigned long p = 0;
	size_t hlen;
	unsigned char tmp[16];

	if (!text)
		return false;
	if (text[0] == '[') {
		hstart = text + 1;
		hend = strchr(hstart, ']');
		if (!hend || hend[1] != ':')
			return false;
		colon = hend + 1;
	} else {
		hstart = text;
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return false; /* bare IPv6 needs brackets */
		hend = colon;
	}
	hlen = (size_t)(hend - hstart);
	if (hlen == 0 || hlen >= TUND_ENDPOINT_HOST_MAX)
		return false;

	const char *d = colon + 1;
	if (!*d || strlen(d) > 5)
		return false;
	for (; *d; d++) {
		if (!isdigit((unsigned char)*d))
			return false;
		p = p * 10 + (unsigned long)(*d - '0');
	}
	if (p == 0 || p > 65535)
		return false;

	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (text[0] == '[') {
		if (inet_pton(AF_INET6, host, tmp) != 1)
			return false;
	} else if (inet_pton(AF_INET, host, tmp) != 1 && !dns_name_ok(host)) {
		return false;
	}
	*port = (uint16_t)p;
	return true;
}
