// SPDX-License-Identifier: MIT
#include <glib.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/daemon/log.h"
#include "tund/host/privdrop.h"

UNIT_TEST(privdrop_plan)
{
	struct tund_privdrop pd;
	struct passwd *nobody = getpwnam("nobody");
	char err[TUND_WHY_LEN] = "";

	CHECK(tund_privdrop_plan("root", &pd, err, sizeof(err)) == 0 && !pd.drop);
	CHECK(tund_privdrop_plan("", &pd, err, sizeof(err)) == 0 && !pd.drop);
	if (geteuid() != 0) {
		/* Not root: nothing to drop, whatever the config says. */
		CHECK(tund_privdrop_plan("no-such-user-tund", &pd, err, sizeof(err)) == 0 && !pd.drop);
		UNIT_SKIP("root", "not root: the plans that drop to a user are not checked");
	}
	CHECK(tund_privdrop_plan("no-such-user-tund", &pd, err, sizeof(err)) < 0);
	CHECK(strstr(err, "[daemon] user") && strstr(err, "no-such-user-tund"));
	if (nobody) {
		CHECK(tund_privdrop_plan("nobody", &pd, err, sizeof(err)) == 0 && pd.drop);
		CHECK(pd.uid == nobody->pw_uid && pd.gid == nobody->pw_gid);
		CHECK(pd.user && !strcmp(pd.user, "nobody"));
		tund_privdrop_clear(&pd);
	}
}

UNIT_TEST(privdrop_no_dumps)
{
	int status = -1;
	pid_t pid = fork();

	/* In a child: the test runner itself stays as it was. */
	if (pid == 0) {
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 || prctl(PR_GET_DUMPABLE) != 1)
			_exit(10);
		if (tund_privdrop_no_dumps() != 0)
			_exit(11);
		_exit(prctl(PR_GET_DUMPABLE) == 0 ? 0 : 12);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
