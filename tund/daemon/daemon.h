/* SPDX-License-Identifier: MIT */
/* The daemon's lifecycle, in start-up order (tund/daemon/daemon.c): main()
 * calls start, installs its signal handlers, runs, and always stops. */
#ifndef TUND_DAEMON_H
#define TUND_DAEMON_H

#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "tund/daemon/state.h"

/* Loads the config at d->config_path and the state, opens the control
 * socket, brings up the interface, drops privileges to user (NULL: the
 * config's [daemon] user), starts the data plane, the static peers and the
 * joined networks. Logs one line for what failed; false then, and
 * tund_daemon_stop undoes what was done. d starts as { .tun_fd = -1 } with
 * config_path set. */
bool tund_daemon_start(struct tund_daemon *d, const char *user);
/* Runs the main loop until g_main_loop_quit(d->loop). */
void tund_daemon_run(struct tund_daemon *d);
/* Leaves the interface, rules and socket gone and the secrets wiped;
 * safe after a failed or partial start. */
void tund_daemon_stop(struct tund_daemon *d);

/* Re-reads config_path and applies what can change at run time (see
 * tund/daemon/reload.c). 0 with the reply object in *out ({config, applied,
 * needs_restart}), or -errno with why (the file:line problem; nothing
 * changed). */
int tund_daemon_reload(struct tund_daemon *d, JsonNode **out, char *why, size_t why_len);

#endif
