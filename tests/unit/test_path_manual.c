// SPDX-License-Identifier: MIT
/* A manual path's context (tund/control/cmd_manual.c keeps a copy of the network key
 * in it) is handed back on every way the path can end before its blob. */
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/connect/path.h"

struct ctx {
	int done, dropped;
};

static void on_done(void *c, const struct tund_signal *m)
{
	(void)m;
	((struct ctx *)c)->done++;
}

static void on_drop(void *c)
{
	((struct ctx *)c)->dropped++;
}

UNIT_TEST(path_manual_ctx_dropped_when_path_goes_first)
{
	struct tund_ice_server_config cfg;
	struct ctx a = { 0 }, b = { 0 };
	struct tund_path *path;

	memset(&cfg, 0, sizeof(cfg));
	/* Freed before gathering finished (peer removed, daemon stopping). */
	path = tund_path_new(NULL, NULL, &cfg, true, NULL);
	tund_path_manual(path, on_done, on_drop, &a);
	tund_path_free(path);
	CHECK(a.dropped == 1 && a.done == 0);

	/* A second manual request on the same path replaces the first. */
	memset(&a, 0, sizeof(a));
	path = tund_path_new(NULL, NULL, &cfg, false, NULL);
	tund_path_manual(path, on_done, on_drop, &a);
	tund_path_manual(path, on_done, on_drop, &b);
	CHECK(a.dropped == 1 && b.dropped == 0);
	tund_path_free(path);
	CHECK(a.dropped == 1 && b.dropped == 1 && a.done == 0 && b.done == 0);
}
