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
int network_main(int argc, char **argv, const char *sock);
int networks_main(int argc, char **argv, const char *sock);
int join_main(int argc, char **argv, const char *sock);
int ping_main(int argc, char **argv, const char *sock);
int netcheck_main(int argc, char **argv, const char *sock);
int reload_main(int argc, char **argv, const char *sock);

/* "tundctl: MSG\n" on stderr; returns CTL_EXIT_FAIL or CTL_EXIT_USAGE. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs getopt_long over a subcommand's arguments (permuting, so options may
 * follow operands). Returns the option, -1 at the end, or '?' after printing
 * one line about an unknown option or a missing value. */
int ctl_getopt(int argc, char **argv, const char *cmd, const struct option *longopts);
/* For commands whose only options are --json and --help and that take no
 * arguments: -1 to go on (*json set), else the exit code to return. */
int ctl_parse_json_only(int argc, char **argv, const char *cmd, const char *help, bool *json);
/* The same with short options besides -h (shortopts starts with ':'). */
int ctl_getopt_short(int argc, char **argv, const char *cmd, const char *shortopts,
		     const struct option *longopts);
/* Sends request (consumed) and on success stores the result node; on failure
 * prints the one-line error and returns CTL_EXIT_FAIL. */
int ctl_call(const char *sock, JsonObject *request, JsonNode **result);
/* The same with a longer reply deadline (ping, netcheck). */
int ctl_call_timeout(const char *sock, JsonObject *request, JsonNode **result, int timeout_ms);
/* arg, or with arg "-" one line of stdin, trimmed, into *out (g_free). It
 * must start with prefix (e.g. "tund1:") and hold no spaces or control
 * characters; else one line naming `what` and noun, CTL_EXIT_USAGE (or
 * CTL_EXIT_FAIL when stdin cannot be read). */
int ctl_read_token(const char *arg, const char *what, const char *prefix, const char *noun,
		   char **out);
/* "network NAME" and indented prefix, address, broker, members, admission. */
void ctl_print_network(JsonObject *net);
/* Writes node as indented JSON and a newline to stdout. */
void ctl_print_json(JsonNode *node);
/* The front half of a list command (`peers`, `networks`): --json/--help,
 * the request, and the reply's array member `cmd`. Returns CTL_EXIT_OK with
 * *array set when the caller should print a table; CTL_EXIT_OK with *array
 * NULL when --help or --json already printed everything; else an exit
 * status. *result (json_node_unref it, may be NULL) owns the array. */
int ctl_list(int argc, char **argv, const char *sock, const char *cmd, const char *help,
	     JsonNode **result, JsonArray **array);

#endif
