// SPDX-License-Identifier: MIT
/* Broker, STUN and TURN servers: parse, check and format. */
#include "overlay/servers.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SET_WHY(msg)                 \
	do {                         \
		if (why)             \
			*why = (msg); \
	} while (0)

static bool hostname_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* A DNS name or IPv4 literal (by charset), or a bare IPv6 literal. */
bool tund_server_host_valid(const char *h, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t a6[16];

	if (len == 0 || len > 255)
		return false;
	if (memchr(h, ':', len)) {
		if (len >= sizeof(buf))
			return false;
		memcpy(buf, h, len);
		buf[len] = '\0';
		return inet_pton(AF_INET6, buf, a6) == 1;
	}
	if (h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!hostname_char(h[i]))
			return false;
	return true;
}

static bool parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* "host", "host:port", "[v6]" or "[v6]:port" in s[0..len); default_port 0:
 * the port is required. */
static bool parse_hostport(const char *s, size_t len, char host[256], uint16_t *port,
			   uint16_t default_port, const char **why)
{
	const char *h, *p = NULL;
	size_t hlen, plen = 0;

	if (len == 0) {
		SET_WHY("missing host");
		return false;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close) {
			SET_WHY("missing ']' after IPv6 address");
			return false;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		if (hlen == 0 || !memchr(h, ':', hlen)) {
			SET_WHY("only IPv6 addresses go in brackets");
			return false;
		}
		if (close + 1 < s + len) {
			if (close[1] != ':') {
				SET_WHY("unexpected characters after ']'");
				return false;
			}
			p = close + 2;
			plen = (size_t)(s + len - p);
		}
	} else {
		const char *colon = memchr(s, ':', len);
		h = s;
		hlen = colon ? (size_t)(colon - s) : len;
		if (colon) {
			p = colon + 1;
			plen = (size_t)(s + len - p);
			if (memchr(p, ':', plen)) {
				SET_WHY("IPv6 addresses must be written in brackets");
				return false;
			}
		}
	}
	if (!tund_server_host_valid(h, hlen)) {
		SET_WHY("invalid host name");
		return false;
	}
	if (p) {
		if (!parse_port(p, plen, port)) {
			SET_WHY("invalid port (1-65535)");
			return false;
		}
	} else if (default_port) {
		*port = default_port;
	} else {
		SET_WHY("missing port (HOST:PORT)");
		return false;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return true;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool tund_parse_broker_url(const char *url, struct tund_broker *out, const char **why)
{
	struct tund_broker b;
	const char *rest;

	if (!url) {
		SET_WHY("broker: missing URL");
		return false;
	}
	memset(&b, 0, sizeof(b));
	if (starts_with(url, "mqtt://")) {
		rest = url + 7;
	} else if (starts_with(url, "mqtts://")) {
		rest = url + 8;
		b.tls = true;
	} else {
		SET_WHY("broker: expected mqtt://HOST:PORT");
		return false;
	}
	if (strchr(rest, '@') || strchr(rest, '/') || strchr(rest, '?')) {
		SET_WHY("broker: expected only HOST:PORT after mqtt://");
		return false;
	}
	if (!parse_hostport(rest, strlen(rest), b.host, &b.port,
			    b.tls ? TUND_NET_DEFAULT_MQTTS_PORT : TUND_NET_DEFAULT_MQTT_PORT, why))
		return false;
	if (out)
		*out = b;
	return true;
}

bool tund_parse_hostport(const char *text, char host[256], uint16_t *port, uint16_t default_port,
			 const char **why)
{
	if (!text) {
		SET_WHY("missing host");
		return false;
	}
	return parse_hostport(text, strlen(text), host, port, default_port, why);
}

bool tund_parse_stun(const char *text, struct tund_stun_server *out, const char **why)
{
	struct tund_stun_server s;

	if (!text) {
		SET_WHY("stun: missing server");
		return false;
	}
	if (starts_with(text, "stun:"))
		text += 5;
	memset(&s, 0, sizeof(s));
	if (!parse_hostport(text, strlen(text), s.host, &s.port, TUND_NET_DEFAULT_STUN_PORT, why))
		return false;
	*out = s;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Bytes allowed in credentials once decoded: no NUL or other controls. */
bool tund_server_cred_byte_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

static bool percent_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return false;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (!tund_server_cred_byte_ok(c) || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

bool tund_server_cred_valid(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	if (len == cap)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!tund_server_cred_byte_ok((unsigned char)s[i]))
			return false;
	return true;
}

bool tund_parse_turn_url(const char *url, struct tund_turn_server *out, const char **why)
{
	return tund_parse_turn_url_creds(url, NULL, NULL, out, why);
}

/* user and pass (verbatim; NULL keeps what the URL gave) replace t's. */
static bool set_creds(struct tund_turn_server *t, const char *user, const char *pass,
		      const char **why)
{
	if (user) {
		if (strlen(user) >= sizeof(t->user) || !tund_server_cred_valid(user, sizeof(t->user))) {
			SET_WHY("turn: bad user (at most 127 printable bytes)");
			return false;
		}
		memcpy(t->user, user, strlen(user) + 1);
	}
	if (pass) {
		if (strlen(pass) >= sizeof(t->pass) || !tund_server_cred_valid(pass, sizeof(t->pass))) {
			SET_WHY("turn: bad password (at most 127 printable bytes)");
			return false;
		}
		memcpy(t->pass, pass, strlen(pass) + 1);
	}
	return true;
}

bool tund_parse_turn_url_creds(const char *url, const char *user, const char *pass,
			       struct tund_turn_server *out, const char **why)
{
	struct tund_turn_server t;
	const char *rest, *q, *at, *hp;
	size_t alen;
	bool ok = false;

	memset(&t, 0, sizeof(t));
	if (!url) {
		SET_WHY("turn: missing URL");
		goto out;
	}
	if (starts_with(url, "turns:")) {
		SET_WHY("turn: TURN over TLS (turns:) is not supported; use transport=tcp");
		goto out;
	}
	if (starts_with(url, "turn://"))
		rest = url + 7;
	else if (starts_with(url, "turn:"))
		rest = url + 5;
	else {
		SET_WHY("turn: expected turn://USER:PASS@HOST:PORT?transport=udp|tcp");
		goto out;
	}
	q = strchr(rest, '?');
	alen = q ? (size_t)(q - rest) : strlen(rest);
	at = NULL;
	for (const char *p = rest; p < rest + alen; p++)
		if (*p == '@')
			at = p;
	hp = rest;
	if (at) {
		const char *colon;
		size_t ulen = (size_t)(at - rest);

		if (rest == url + 5) {
			SET_WHY("turn: credentials in the URL need the turn:// form");
			goto out;
		}
		colon = memchr(rest, ':', ulen);
		if (!percent_decode(rest, colon ? (size_t)(colon - rest) : ulen, t.user,
				    sizeof(t.user)) ||
		    (colon && !percent_decode(colon + 1, (size_t)(at - colon - 1), t.pass,
					      sizeof(t.pass)))) {
			SET_WHY("turn: bad user or password (too long or bad % escape)");
			goto out;
		}
		hp = at + 1;
	}
	if (!parse_hostport(hp, (size_t)(rest + alen - hp), t.host, &t.port,
			    TUND_NET_DEFAULT_TURN_PORT, why))
		goto out;
	if (q) {
		if (!strcmp(q, "?transport=udp"))
			t.tcp = false;
		else if (!strcmp(q, "?transport=tcp"))
			t.tcp = true;
		else {
			SET_WHY("turn: only ?transport=udp or ?transport=tcp is understood");
			goto out;
		}
	}
	if (!set_creds(&t, user, pass, why))
		goto out;
	*out = t;
	ok = true;
out:
	sodium_memzero(&t, sizeof(t));
	return ok;
}

/* Appends s[0..len) percent-encoded (RFC 3986 unreserved kept). */
static bool append_escaped(char *buf, size_t cap, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			if (*pos + 1 >= cap)
				return false;
			buf[(*pos)++] = (char)c;
		} else {
			if (*pos + 3 >= cap)
				return false;
			buf[(*pos)++] = '%';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 15];
		}
	}
	buf[*pos] = '\0';
	return true;
}

static bool append(char *buf, size_t cap, size_t *pos, const char *s)
{
	size_t len = strlen(s);

	if (*pos + len >= cap)
		return false;
	memcpy(buf + *pos, s, len + 1);
	*pos += len;
	return true;
}

static bool append_hostport(char *buf, size_t cap, size_t *pos, const char *host, uint16_t port)
{
	char p[8];
	bool v6 = strchr(host, ':') != NULL;

	snprintf(p, sizeof(p), ":%u", port);
	return (!v6 || append(buf, cap, pos, "[")) && append(buf, cap, pos, host) &&
	       (!v6 || append(buf, cap, pos, "]")) && append(buf, cap, pos, p);
}

bool tund_format_turn_url(const struct tund_turn_server *t, enum tund_turn_form form, char *buf,
			  size_t cap)
{
	bool creds = form != TUND_TURN_NO_CREDS && (form == TUND_TURN_MASKED ? t->user[0] :
								    t->user[0] || t->pass[0]);
	size_t pos = 0;

	if (cap == 0)
		return false;
	buf[0] = '\0';
	if (!append(buf, cap, &pos, "turn://"))
		return false;
	if (creds) {
		if (!append_escaped(buf, cap, &pos, t->user) || !append(buf, cap, &pos, ":") ||
		    !(form == TUND_TURN_MASKED ? append(buf, cap, &pos, "***")
					       : append_escaped(buf, cap, &pos, t->pass)) ||
		    !append(buf, cap, &pos, "@"))
			return false;
	}
	return append_hostport(buf, cap, &pos, t->host, t->port) &&
	       append(buf, cap, &pos, t->tcp ? "?transport=tcp" : "?transport=udp");
}

bool tund_format_hostport(const char *host, uint16_t port, char *buf, size_t cap)
{
	size_t pos = 0;

	if (cap == 0)
		return false;
	buf[0] = '\0';
	return append_hostport(buf, cap, &pos, host, port);
}

bool tund_format_stun(const struct tund_stun_server *s, char *buf, size_t cap)
{
	return tund_format_hostport(s->host, s->port, buf, cap);
}
