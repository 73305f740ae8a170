/* SPDX-License-Identifier: MIT */
/* The control socket server on the GLib main loop: accepts clients, splits
 * their input into lines and writes back whatever the handler returns. */
#ifndef TUND_CONTROL_H
#define TUND_CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct tund_control;

/* Returns a newly allocated reply line (ending in '\n'), g_free'd by the
 * server, or NULL to answer later with tund_control_reply(client, ...): a
 * client waiting for such a reply is not timed out. */
typedef char *(*tund_control_handler)(void *ctx, uint64_t client, const char *line, size_t len);

/* Binds path (mode 0660), replacing a stale socket file but never a live one.
 * Returns 0 or -errno; *out is set on success. */
int tund_control_open(const char *path, tund_control_handler handler, void *ctx,
		      struct tund_control **out);
/* Delivers a deferred reply (taking ownership of it); dropped if the
 * client has gone meanwhile. */
void tund_control_reply(struct tund_control *c, uint64_t client, char *reply);
/* Disconnects every client, closes the socket and unlinks the file. */
void tund_control_close(struct tund_control *c);

#endif
