/* SPDX-License-Identifier: MIT */
/* What the subcommands of tundctl share: their entry points for the dispatch
 * table in tundctl.c, exit codes and the one-line error helpers. */
#ifndef TUND_CTL_CTL_H
#define TUND_CTL_CTL_H

#include <getopt.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,  /* tund unreachable, ok:false, bad key on stdin, I/O */
	CTL_EXIT_USAGE = 2, /* unknown command, bad option or argument */
};

/* Each gets argv[0] = its own name and the socket path chosen by the top
 * level; it returns the process exit code. */
int status_main(int argc, char **argv, const char *sock);
int peers_main(int argc, char **argv, const char *sock);
int peer_main(int argc, char **argv, const char *sock);
int genkey_main(int argc, char **argv, const char *sock);
int pubkey_main(int argc, char **argv, const char *sock);

/* "tundctl: MSG\n" on stderr; returns CTL_EXIT_FAIL or CTL_EXIT_USAGE. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs getopt_long over a subcommand's arguments (permuting, so options may
 * follow operands). Returns the option, -1 at the end, or '?' after printing
 * one line about an unknown option or a missing value. */
int ctl_getopt(int argc, char **argv, const char *cmd, const struct option *longopts);
/* Sends request (consumed) and on success stores the result node; on failure
 * prints the one-line error and returns CTL_EXIT_FAIL. */
int ctl_call(const char *sock, JsonObject *request, JsonNode **result);
/* Writes node as indented JSON and a newline to stdout. */
void ctl_print_json(JsonNode *node);

#endif
