/* SPDX-License-Identifier: MIT */
/* A struct tund_daemon built for a unit test: defaults, a fresh key pair and a
 * state_dir of its own under $TMPDIR; no interface, no data plane, no socket.
 * Helpers drive the control handler exactly as the socket does (one request
 * line in, one reply line out) and read the reply back. */
#ifndef TUND_TESTS_DAEMON_FIXTURE_H
#define TUND_TESTS_DAEMON_FIXTURE_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tund/daemon/daemon.h"
#include "tund/daemon/state.h"
#include "tund/connect/networks.h"
#include "tund/control/commands.h"

struct fx {
	struct tund_daemon d;
	char *dir; /* state_dir, removed with everything in it by fx_free */
};

void fx_init(struct fx *f);
void fx_free(struct fx *f);

/* A file under the fixture's directory (g_free it). */
char *fx_path(struct fx *f, const char *name);

struct fx_reply {
	char *line;        /* the raw reply line */
	bool parsed;       /* one JSON object ending in exactly one '\n' */
	bool ok;           /* "ok": true */
	char *error;       /* "error" when not ok */
	JsonNode *result;  /* "result" when ok (a copy) */
};

/* Sends line through tund_commands_handle, as client 1. */
void fx_call(struct fx *f, const char *line, struct fx_reply *r);
void fx_reply_clear(struct fx_reply *r);
/* The result's member name as a string / int, NULL / -1 when absent. */
const char *fx_result_string(const struct fx_reply *r, const char *name);
gint64 fx_result_int(const struct fx_reply *r, const char *name);

/* Whole-file helpers: contents (NULL if unreadable) and mode bits (-1). */
char *fx_read(const char *path, size_t *len);
int fx_mode(const char *path);
bool fx_write(const char *path, const char *data, int mode);

/* Over a control socket at path, as tundctl does: connects, sends line and
 * a newline, runs the default main context until one reply line came (at
 * most `seconds`); the reply without its newline, or NULL. */
char *fx_socket_request(const char *path, const char *line, int seconds);

/* Moves this thread into a new network namespace (root only); returns the
 * old one's fd for fx_netns_leave, or -1 with the reason on stderr. */
int fx_netns_enter(void);
void fx_netns_leave(int old);

/* A data plane for f whose "TUN" is a datagram socketpair: tun[0] is the
 * data plane's, tun[1] the test's (the kernel side). fx_stop_dataplane
 * stops it and closes both. */
bool fx_start_dataplane(struct fx *f, int tun[2]);
void fx_stop_dataplane(struct fx *f, int tun[2]);
/* An IPv4 packet src -> dst (protocol 253) carrying payload; its length. */
size_t fx_ipv4_packet(uint8_t *p, const char *src, const char *dst, const char *payload);
/* Writes such a packet into from_tun until to_tun reads it back, at most
 * `seconds` (the first one waits for a handshake). */
bool fx_carried(int from_tun, int to_tun, const char *src, const char *dst, const char *payload,
		int seconds);

/* Captures what the code under test writes to stderr (its log lines). */
void fx_capture_begin(void);
char *fx_capture_end(void);

#endif
