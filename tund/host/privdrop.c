// SPDX-License-Identifier: MIT
#include "tund/host/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tund/daemon/config.h"
#include "tund/daemon/log.h"

int tund_privdrop_plan(const char *user, struct tund_privdrop *pd, char *why, size_t why_len)
{
	struct passwd *pw;
	int e;
	bool by_default = user == NULL;

	memset(pd, 0, sizeof(*pd));
	if (geteuid() != 0)
		return 0; /* already unprivileged: keep what we were given */
	if (by_default)
		user = TUND_DEFAULT_USER;
	if (!*user || !strcmp(user, "root"))
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		if (by_default)
			return 0; /* no tund user on this machine: stay root */
		e = errno;
		tund_why(why, why_len, "[daemon] user: no user \"%s\"%s%s", user,
			 e ? ": " : "", e ? g_strerror(e) : "");
		return e ? -e : -ENOENT;
	}
	if (pw->pw_uid == 0)
		return 0;
	pd->drop = true;
	pd->user = g_strdup(user);
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	return 0;
}

void tund_privdrop_clear(struct tund_privdrop *pd)
{
	g_free(pd->user);
	memset(pd, 0, sizeof(*pd));
}

/* chown without following a symlink someone may have planted. */
static int give(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int tund_privdrop_hand_over(const struct tund_privdrop *pd, const char *state_dir,
			    const char *socket_path, bool socket_dir_created, const char **what)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;
	int ret;

	if (!pd->drop)
		return 0;
	*what = state_dir;
	ret = give(state_dir, pd->uid, pd->gid);
	if (ret)
		return ret;
	dir = g_dir_open(state_dir, 0, NULL);
	if (!dir)
		return -EACCES;
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename(state_dir, name, NULL);
		struct stat st;

		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		ret = give(path, pd->uid, pd->gid);
		if (ret) {
			*what = "a file in state_dir";
			return ret;
		}
	}
	/* The group may use the socket (0660); others may not. */
	*what = socket_path;
	ret = give(socket_path, pd->uid, pd->gid);
	if (ret)
		return ret;
	if (socket_dir_created) {
		g_autofree char *sdir = g_path_get_dirname(socket_path);

		*what = "the control socket's directory";
		ret = give(sdir, pd->uid, pd->gid);
		if (ret)
			return ret;
	}
	return 0;
}

int tund_privdrop_no_dumps(void)
{
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -errno;
}

static unsigned count_threads(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
	unsigned n = 0;

	if (!dir)
		return 0;
	while (g_dir_read_name(dir))
		n++;
	return n;
}

static int fail(char *why, size_t why_len, const char *step)
{
	int ret = -errno;

	tund_why(why, why_len, "%s: %s", step, g_strerror(errno));
	return ret ? ret : -EPERM;
}

int tund_privdrop_apply(const struct tund_privdrop *pd, char *why, size_t why_len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t keep = 1ULL << CAP_NET_ADMIN;
	gid_t gid = pd->gid;
	uid_t r, e, s;

	if (!pd->drop)
		return 0;
	if (pd->keep_bind)
		keep |= 1ULL << CAP_NET_BIND_SERVICE;
	if (count_threads() != 1) {
		tund_why(why, why_len, "other threads are running (capabilities are per thread)");
		return -EBUSY;
	}
	/* Keep permitted capabilities across the uid change; the bounding set
	 * is reduced while we still hold CAP_SETPCAP. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return fail(why, why_len, "PR_SET_KEEPCAPS");
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the last capability this kernel knows */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return fail(why, why_len, "PR_CAPBSET_DROP");
	}
	if (setgroups(1, &gid) != 0)
		return fail(why, why_len, "setgroups");
	if (setresgid(pd->gid, pd->gid, pd->gid) != 0)
		return fail(why, why_len, "setresgid");
	if (setresuid(pd->uid, pd->uid, pd->uid) != 0)
		return fail(why, why_len, "setresuid");
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)keep;
	data[1].permitted = data[1].effective = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return fail(why, why_len, "capset");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return fail(why, why_len, "PR_SET_KEEPCAPS");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return fail(why, why_len, "PR_CAP_AMBIENT_CLEAR_ALL");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail(why, why_len, "PR_SET_NO_NEW_PRIVS");
	/* The uid change reset "dumpable" to fs.suid_dumpable, which may be 1. */
	if (tund_privdrop_no_dumps() != 0)
		return fail(why, why_len, "PR_SET_DUMPABLE");
	/* The way back must be closed. */
	if (getresuid(&r, &e, &s) != 0 || r != pd->uid || e != pd->uid || s != pd->uid ||
	    setuid(0) == 0) {
		tund_why(why, why_len, "still able to become root after the switch");
		return -EPERM;
	}
	return 0;
}
