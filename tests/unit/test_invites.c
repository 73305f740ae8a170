// SPDX-License-Identifier: MIT
/* tund/connect/invites.c: the admin's limited invites and invites.json. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/connect/invites.h"

enum { T0 = 1000000 }; /* a time in ms; the tests pass their own clock */

/* Uses are spent and saved: after a reload the spent ones stay spent; the
 * reasons come in the order revoked, expired, used. */
UNIT_TEST(invites_use_expire_revoke_persist)
{
	struct fx f;
	struct tund_invites *iv = NULL, *again = NULL;
	uint8_t tok[16], other[16];
	char why[256], id[TUND_INVITE_ID_LEN + 1];

	fx_init(&f);
	g_autofree char *path = fx_path(&f, "invites.json");
	CHECK(tund_invites_load(path, &iv, why, sizeof(why)) == 0 && iv);
	if (!iv)
		goto out;
	CHECK(tund_invites_issue(iv, "club", T0 + 5000, 2, tok, why, sizeof(why)) == 0);
	CHECK(tund_invites_use(iv, "club", tok, T0, why, sizeof(why)) == 0);
	CHECK(tund_invites_use(iv, "other", tok, T0, why, sizeof(why)) == -EACCES &&
	      !strcmp(why, "unknown invite"));
	CHECK(tund_invites_load(path, &again, why, sizeof(why)) == 0 && again);
	CHECK(again && tund_invites_use(again, "club", tok, T0, why, sizeof(why)) == 0);
	CHECK(again && tund_invites_use(again, "club", tok, T0, why, sizeof(why)) == -EACCES &&
	      !strcmp(why, "invite already used"));
	CHECK(tund_invites_use(iv, "club", tok, T0 + 5000, why, sizeof(why)) == -EACCES &&
	      g_str_has_prefix(why, "invite expired at 1970-01-01 00:16:45 UTC"));
	tund_invites_id(tok, id);
	CHECK(strlen(id) == TUND_INVITE_ID_LEN);
	CHECK(tund_invites_revoke(iv, "club", "00000000", why, sizeof(why)) == -ENOENT);
	CHECK(tund_invites_revoke(iv, "club", id, why, sizeof(why)) == 0);
	CHECK(tund_invites_use(iv, "club", tok, T0, why, sizeof(why)) == -EACCES &&
	      !strcmp(why, "invite revoked"));
	randombytes_buf(other, sizeof(other));
	CHECK(tund_invites_use(iv, "club", other, T0, why, sizeof(why)) == -EACCES &&
	      !strcmp(why, "unknown invite"));
	g_autoptr(JsonNode) list = tund_invites_list(iv, "club", T0);
	CHECK(list && JSON_NODE_HOLDS_ARRAY(list) &&
	      json_array_get_length(json_node_get_array(list)) == 1);
	CHECK(tund_invites_forget(iv, "club") == 0);
	g_autoptr(JsonNode) empty = tund_invites_list(iv, "club", T0);
	CHECK(json_array_get_length(json_node_get_array(empty)) == 0);
	/* Limits out of range are refused. */
	CHECK(tund_invites_issue(iv, "club", T0, 0, tok, why, sizeof(why)) == -EINVAL);
out:
	tund_invites_free(iv);
	tund_invites_free(again);
	fx_free(&f);
}

/* A corrupt invites.json is refused, by the store and by the commands that
 * need it, and left exactly as it is. */
UNIT_TEST(invites_file_corrupt_refused_untouched)
{
	static const char *const bad[] = {
		"{not json",
		"{\"version\":2,\"invites\":[]}",
		"{\"version\":1,\"invites\":[{\"network\":\"club\",\"hash\":\"00\","
		"\"expires_ms\":5,\"uses_left\":1,\"revoked\":false}]}",
		"{\"version\":1,\"invites\":[{\"network\":\"club\",\"hash\":\"" /* 64 hex */
		"00000000000000000000000000000000000000000000000000000000000000000\","
		"\"expires_ms\":5,\"uses_left\":-1,\"revoked\":false}]}",
	};
	struct fx f;
	struct fx_reply r;
	struct tund_invites *iv = NULL;
	char why[512];

	fx_init(&f);
	g_autofree char *path = fx_path(&f, "invites.json");
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		CHECK(fx_write(path, bad[i], 0600));
		CHECK(tund_invites_load(path, &iv, why, sizeof(why)) == -EINVAL && !iv);
		CHECK(strstr(why, "invites.json") && strstr(why, "left as it is"));
		g_autofree char *still = fx_read(path, NULL);
		CHECK(still && !strcmp(still, bad[i]));
	}
	/* Through the daemon: network.invite with limits on our own admin
	 * network fails with the reason, and the file stays. */
	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"club\",\"admission\":\"approve\","
		    "\"broker\":\"mqtt://127.0.0.1:9\"}", &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.invite\",\"name\":\"club\",\"uses\":1}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "invites.json"));
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.invites\",\"name\":\"club\"}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "invites.json"));
	fx_reply_clear(&r);
	g_autofree char *kept = fx_read(path, NULL);
	CHECK(kept && !strcmp(kept, bad[G_N_ELEMENTS(bad) - 1]));
	/* Fixed (removed): the next request works without a restart. */
	CHECK(unlink(path) == 0);
	fx_call(&f, "{\"cmd\":\"network.invite\",\"name\":\"club\",\"uses\":1}", &r);
	CHECK(r.ok && fx_result_string(&r, "id"));
	fx_reply_clear(&r);
	CHECK(fx_mode(path) == 0600);
	fx_free(&f);
}
