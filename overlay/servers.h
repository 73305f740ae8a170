/* SPDX-License-Identifier: MIT */
/* Rendezvous servers: an MQTT broker, STUN and TURN servers. The one place
 * that parses, checks and formats them (host:port and URLs, with a masked
 * form for display); used by the daemon, its config, invites and tundctl.
 * Pure: libc and libsodium only; no I/O. Errors are a static string in *why
 * (why may be NULL). */
#ifndef TUND_SERVERS_H
#define TUND_SERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TUND_NET_DEFAULT_STUN_PORT = 3478,
	TUND_NET_DEFAULT_TURN_PORT = 3478,
	TUND_NET_DEFAULT_MQTT_PORT = 1883,
	TUND_NET_DEFAULT_MQTTS_PORT = 8883,
};

struct tund_turn_server {
	char host[256]; /* hostname or IP; IPv6 without brackets */
	uint16_t port;
	char user[128]; /* decoded (no percent escapes) */
	char pass[128];
	bool tcp;       /* transport=tcp; default udp */
};

struct tund_stun_server {
	char host[256];
	uint16_t port;
};

struct tund_broker {
	char host[256];
	uint16_t port;
	bool tls; /* mqtts:// */
};

/* "HOST[:PORT]" or "[V6][:PORT]"; default_port 0 makes the port required.
 * HOST is a DNS name or IPv4 literal (by charset) or an IPv6 literal. */
bool tund_parse_hostport(const char *text, char host[256], uint16_t *port, uint16_t default_port,
			 const char **why);
/* "mqtt://HOST[:PORT]" (1883) or "mqtts://HOST[:PORT]" (8883); out may be NULL
 * to validate only. */
bool tund_parse_broker_url(const char *url, struct tund_broker *out, const char **why);
/* "HOST[:PORT]" or "stun:HOST[:PORT]" (3478); IPv6 as "[addr]". */
bool tund_parse_stun(const char *text, struct tund_stun_server *out, const char **why);
/* "turn://[USER:PASS@]HOST[:PORT][?transport=udp|tcp]" (user and pass
 * percent-decoded) or WebRTC style "turn:HOST[:PORT][?transport=udp|tcp]". */
bool tund_parse_turn_url(const char *url, struct tund_turn_server *out, const char **why);
/* As above, then user and pass (taken verbatim, NULL keeps the URL's) replace
 * any credentials in the URL. */
bool tund_parse_turn_url_creds(const char *url, const char *user, const char *pass,
			       struct tund_turn_server *out, const char **why);
enum tund_turn_form {
	TUND_TURN_FULL,     /* turn://USER:PASS@HOST:PORT?transport=X (with the password) */
	TUND_TURN_MASKED,   /* turn://USER:***@HOST:PORT?transport=X (for display) */
	TUND_TURN_NO_CREDS, /* turn://HOST:PORT?transport=X */
};
/* Writes the URL in that form, user and password percent-escaped; false if
 * it does not fit. */
bool tund_format_turn_url(const struct tund_turn_server *t, enum tund_turn_form form, char *buf,
			  size_t cap);
/* Writes "HOST:PORT" ("[v6]:PORT"); false if it does not fit. */
bool tund_format_hostport(const char *host, uint16_t port, char *buf, size_t cap);
bool tund_format_stun(const struct tund_stun_server *s, char *buf, size_t cap);

/* For invites: a host as tund_parse_hostport takes it (s[0..len)); a TURN
 * user or password: shorter than cap, printable bytes only. */
bool tund_server_host_valid(const char *h, size_t len);
bool tund_server_cred_byte_ok(unsigned char c);
bool tund_server_cred_valid(const char *s, size_t cap);

#endif
