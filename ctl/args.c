// SPDX-License-Identifier: MIT
#include "ctl/args.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "overlay/cidr.h"
#include "overlay/keys.h"

static bool parse_port(const char *s, char *why, size_t why_len)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5) {
			snprintf(why, why_len, "bad port '%s'", s);
			return false;
		}
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0) {
		snprintf(why, why_len, "missing port");
		return false;
	}
	if (v < 1 || v > 65535) {
		snprintf(why, why_len, "port %lu out of range 1-65535", v);
		return false;
	}
	return true;
}

static bool check_v6(const char *host, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	uint8_t addr[16];
	const char *zone = memchr(host, '%', len);
	size_t alen = zone ? (size_t)(zone - host) : len;

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	if (zone) {
		/* Link-local with a zone: "[fe80::1%eth0]:51820". */
		if (zone + 1 == host + len)
			return false;
		for (const char *p = zone + 1; p < host + len; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
				return false;
	}
	memcpy(buf, host, alen);
	buf[alen] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

static bool check_host(const char *host, size_t len)
{
	char buf[256];
	uint8_t addr[4];
	bool numeric = true;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
		if (!isdigit(c) && c != '.')
			numeric = false;
	}
	if (host[0] == '.' || host[0] == '-')
		return false;
	/* All digits and dots: must be a real IPv4 address, not "300.1.1.1". */
	if (numeric) {
		memcpy(buf, host, len);
		buf[len] = '\0';
		return inet_pton(AF_INET, buf, addr) == 1;
	}
	return true;
}

bool tund_args_check_endpoint(const char *text, char *why, size_t why_len)
{
	const char *colon;

	if (!text || !*text) {
		snprintf(why, why_len, "empty endpoint");
		return false;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || !check_v6(text + 1, (size_t)(close - text - 1))) {
			snprintf(why, why_len, "bad IPv6 address in '%s'", text);
			return false;
		}
		if (close[1] != ':') {
			snprintf(why, why_len, "'%s' is not [ADDRESS]:PORT", text);
			return false;
		}
		return parse_port(close + 2, why, why_len);
	}
	colon = strrchr(text, ':');
	if (!colon) {
		snprintf(why, why_len, "'%s' is not HOST:PORT", text);
		return false;
	}
	if (memchr(text, ':', (size_t)(colon - text))) {
		snprintf(why, why_len, "'%s': write IPv6 endpoints as [ADDRESS]:PORT", text);
		return false;
	}
	if (!check_host(text, (size_t)(colon - text))) {
		snprintf(why, why_len, "bad host in '%s'", text);
		return false;
	}
	return parse_port(colon + 1, why, why_len);
}

bool tund_args_parse_cidrs(GPtrArray *out, const char *list, char **bad)
{
	char **parts = g_strsplit(list ? list : "", ",", -1);
	bool ok = true;

	*bad = NULL;
	for (char **p = parts; *p; p++) {
		struct tund_cidr c;
		char buf[TUND_CIDR_STRLEN];
		char *item = g_strstrip(*p);

		if (!tund_cidr_parse(&c, item, true)) {
			*bad = g_strdup(item);
			ok = false;
			goto out;
		}
		tund_cidr_format(&c, buf, sizeof(buf));
		g_ptr_array_add(out, g_strdup(buf));
	}
	if (!parts[0]) {
		*bad = g_strdup("");
		ok = false;
	}
out:
	g_strfreev(parts);
	return ok;
}

bool tund_args_check_name(const char *name, char *why, size_t why_len)
{
	char key[TUND_KEY_B64_LEN + 1];

	if (!name || !*name) {
		snprintf(why, why_len, "empty peer name");
		return false;
	}
	if (!g_utf8_validate(name, -1, NULL)) {
		snprintf(why, why_len, "peer name is not valid UTF-8");
		return false;
	}
	for (const char *p = name; *p; p = g_utf8_next_char(p)) {
		if (g_unichar_iscntrl(g_utf8_get_char(p))) {
			snprintf(why, why_len, "peer name contains a control character");
			return false;
		}
	}
	if (tund_args_normalise_key(key, name)) {
		snprintf(why, why_len, "peer name '%s' looks like a public key", name);
		return false;
	}
	return true;
}

bool tund_args_check_network(const char *name, char *why, size_t why_len)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0) {
		snprintf(why, why_len, "empty network name");
		return false;
	}
	if (len > 63) {
		snprintf(why, why_len, "network name longer than 63 characters");
		return false;
	}
	if (!isalnum((unsigned char)name[0])) {
		snprintf(why, why_len, "network name '%s' must start with a letter or digit",
			 name);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			snprintf(why, why_len, "network name '%s': only letters, digits, '.', "
				 "'_' and '-' allowed", name);
			return false;
		}
	}
	return true;
}

bool tund_args_parse_uint(const char *text, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; text && text[n]; n++) {
		if (text[n] < '0' || text[n] > '9' || n >= 9)
			return false;
		v = v * 10 + (unsigned long)(text[n] - '0');
	}
	if (n == 0 || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

bool tund_args_parse_duration(const char *text, unsigned max_s, unsigned *out_s)
{
	static const struct {
		char unit;
		unsigned s;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	size_t len = text ? strlen(text) : 0;
	char num[16];
	unsigned v;

	if (len < 2 || len > sizeof(num))
		return false;
	memcpy(num, text, len - 1);
	num[len - 1] = '\0';
	if (!tund_args_parse_uint(num, 1, max_s, &v))
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
		if (text[len - 1] == units[i].unit) {
			if (v > max_s / units[i].s)
				return false;
			*out_s = v * units[i].s;
			return true;
		}
	return false;
}

bool tund_args_normalise_key(char out[TUND_KEY_B64_LEN + 1], const char *text)
{
	uint8_t key[TUND_KEY_LEN];

	if (!tund_key_decode(key, text))
		return false;
	tund_key_encode(out, key);
	return true;
}
