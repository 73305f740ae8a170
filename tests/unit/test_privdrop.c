// SPDX-License-Identifier: MIT
#include <glib.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/host/privdrop.h"

UNIT_TEST(privdrop_plan)
{
	struct tund_privdrop pd;
	struct passwd *nobody = getpwnam("nobody");
	char *err = NULL;

	CHECK(tund_privdrop_plan("root", &pd, &err) && !pd.drop);
	CHECK(tund_privdrop_plan("", &pd, &err) && !pd.drop);
	if (geteuid() != 0) {
		/* Not root: nothing to drop, whatever the config says. */
		CHECK(tund_privdrop_plan("no-such-user-tund", &pd, &err) && !pd.drop);
		return;
	}
	CHECK(!tund_privdrop_plan("no-such-user-tund", &pd, &err));
	CHECK(err && strstr(err, "[daemon] user") && strstr(err, "no-such-user-tund"));
	g_free(err);
	err = NULL;
	if (nobody) {
		CHECK(tund_privdrop_plan("nobody", &pd, &err) && pd.drop);
		CHECK(pd.uid == nobody->pw_uid && pd.gid == nobody->pw_gid);
		CHECK(pd.user && !strcmp(pd.user, "nobody"));
		tund_privdrop_clear(&pd);
	}
}
