/* SPDX-License-Identifier: MIT */
/* Least privilege when started as root: once the TUN device, the control
 * socket and the state files are set up, become an unprivileged user that
 * keeps only CAP_NET_ADMIN (addresses, routes, nftables, the TUN link);
 * tundctl ping's raw socket is opened before (tund_ping_open_socket). */
#ifndef TUND_PRIVDROP_H
#define TUND_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tund_privdrop {
	bool drop;      /* false: stay as we are (not root, or told to stay root) */
	char *user;     /* g_free */
	uid_t uid;
	gid_t gid;
	bool keep_bind; /* also keep CAP_NET_BIND_SERVICE (a port below 1024) */
};

/* Decides from the [daemon] user value (NULL: the default user if it
 * exists, "" or "root": stay root). Only a root process drops: a process
 * started unprivileged (e.g. systemd's User= with AmbientCapabilities) keeps
 * what it was given. -ENOENT (or getpwnam's errno) with why when a named
 * user does not exist. */
int tund_privdrop_plan(const char *user, struct tund_privdrop *pd, char *why, size_t why_len);
/* Makes state_dir (and the files directly in it) owned by the user, the
 * control socket owned by the user and its group (mode stays 0660), and the
 * socket's directory the user's if tund created it (so the socket can be
 * removed at exit). 0 or -errno; *what names the path that failed. */
int tund_privdrop_hand_over(const struct tund_privdrop *pd, const char *state_dir,
			    const char *socket_path, bool socket_dir_created, const char **what);
/* Switches to the user: supplementary groups = its group, real/effective/saved
 * gid and uid, then permitted and effective capabilities = CAP_NET_ADMIN (and
 * CAP_NET_BIND_SERVICE if keep_bind), inheritable and ambient empty, the
 * bounding set reduced to the same, no_new_privs set. Must run before any
 * thread starts (capabilities are per thread; threads created later inherit
 * them), and not dumpable. Refuses with -EBUSY if other threads exist. 0 or
 * -errno with why. */
int tund_privdrop_apply(const struct tund_privdrop *pd, char *why, size_t why_len);
/* Makes the process not dumpable: no core file (which would hold the keys),
 * no ptrace or /proc/PID/mem, environ, fd by processes of the same user.
 * main() calls it before any key is read, tund_privdrop_apply() again after
 * the uid change (which resets it). 0 or -errno. */
int tund_privdrop_no_dumps(void);
void tund_privdrop_clear(struct tund_privdrop *pd);

#endif
