// SPDX-License-Identifier: MIT
/* tund/daemon/statefile.c, tund/daemon/keyfile.c and the networks.json loader: what
 * state_dir holds is written 0600 and atomically; a file that is corrupt,
 * truncated, of the wrong type or a symlink is refused and left byte for
 * byte as it was. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/keys.h"
#include "overlay/network.h"
#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/daemon/keyfile.h"
#include "tund/daemon/log.h"
#include "tund/daemon/statefile.h"

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- statefile ---- */

UNIT_TEST(statefile_write_is_0600_and_atomic)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "peers.json");
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	size_t len = 0;

	/* Whatever the umask, the file is for us only. */
	mode_t old = umask(0);
	CHECK(tund_statefile_write(path, "{\"a\":1}", 7) == 0);
	umask(old);
	CHECK(fx_mode(path) == 0600);
	g_autofree char *got = fx_read(path, &len);
	CHECK(got && len == 7 && !memcmp(got, "{\"a\":1}", 7));
	CHECK(access(tmp, F_OK) != 0);

	/* A file someone loosened is replaced by a 0600 one. */
	CHECK(chmod(path, 0644) == 0);
	CHECK(tund_statefile_write(path, "{}", 2) == 0);
	CHECK(fx_mode(path) == 0600);
	fx_free(&f);
}

UNIT_TEST(statefile_failed_write_keeps_old_file)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "networks.json");
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	g_autofree char *victim = fx_path(&f, "victim");
	g_autofree char *missing = fx_path(&f, "no-such-dir/peers.json");

	CHECK(fx_write(path, "old contents", 0600));
	/* path.tmp in the way as a directory: the write fails, the old file stays. */
	CHECK(mkdir(tmp, 0700) == 0);
	CHECK(tund_statefile_write(path, "new", 3) == -EISDIR);
	g_autofree char *a = fx_read(path, NULL);
	CHECK(a && !strcmp(a, "old contents"));
	CHECK(rmdir(tmp) == 0);

	/* path.tmp planted as a symlink: never followed, its target untouched. */
	CHECK(fx_write(victim, "victim", 0644));
	CHECK(symlink(victim, tmp) == 0);
	CHECK(tund_statefile_write(path, "new", 3) == -ELOOP);
	g_autofree char *b = fx_read(path, NULL);
	g_autofree char *v = fx_read(victim, NULL);
	CHECK(b && !strcmp(b, "old contents"));
	CHECK(v && !strcmp(v, "victim"));
	CHECK(fx_mode(victim) == 0644);

	CHECK(tund_statefile_write(missing, "x", 1) == -ENOENT);
	fx_free(&f);
}

UNIT_TEST(statefile_prepare_dir)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *deep = fx_path(&f, "a/b/state");
	g_autofree char *loose = fx_path(&f, "loose");
	g_autofree char *file = fx_path(&f, "file");

	CHECK(tund_statefile_prepare_dir(deep) == 0);
	CHECK(fx_mode(deep) == 0700);
	/* An existing directory others can read is tightened. */
	CHECK(mkdir(loose, 0755) == 0);
	CHECK(tund_statefile_prepare_dir(loose) == 0);
	CHECK(fx_mode(loose) == 0700);
	/* A file where the directory should be is refused and left alone. */
	CHECK(fx_write(file, "not a dir", 0644));
	CHECK(tund_statefile_prepare_dir(file) < 0);
	CHECK(fx_mode(file) == 0644);
	fx_free(&f);
}

/* ---- keyfile ---- */

UNIT_TEST(keyfile_created_when_missing)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "private.key");
	uint8_t priv[TUND_KEY_LEN], again[TUND_KEY_LEN], decoded[TUND_KEY_LEN];
	bool created = false;
	char err[TUND_WHY_LEN] = "";
	size_t len = 0;

	mode_t old = umask(0);
	CHECK(tund_keyfile_load_or_create(path, priv, &created, err, sizeof(err)) == 0);
	umask(old);
	CHECK(created && !err[0]);
	CHECK(fx_mode(path) == 0600);
	/* As `wg genkey` writes it: 44 base64 characters and a newline. */
	g_autofree char *text = fx_read(path, &len);
	CHECK(text && len == TUND_KEY_B64_LEN + 1 && text[TUND_KEY_B64_LEN] == '\n');
	CHECK(text && tund_key_decode(decoded, text) && !memcmp(decoded, priv, TUND_KEY_LEN));
	CHECK(!all_bytes(priv, sizeof(priv), 0));

	/* The next start loads the same key and creates nothing. */
	CHECK(tund_keyfile_load_or_create(path, again, &created, err, sizeof(err)) == 0);
	CHECK(!created && !memcmp(again, priv, TUND_KEY_LEN));
	fx_free(&f);
}

UNIT_TEST(keyfile_loose_mode_is_tightened)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "private.key");
	uint8_t priv[TUND_KEY_LEN], want[TUND_KEY_LEN];
	char text[TUND_KEY_B64_LEN + 2];
	bool created = true;
	char err[TUND_WHY_LEN] = "";

	tund_key_generate(want);
	tund_key_encode(text, want);
	strcat(text, "\n");
	CHECK(fx_write(path, text, 0644));
	CHECK(tund_keyfile_load_or_create(path, priv, &created, err, sizeof(err)) == 0);
	CHECK(!created && !memcmp(priv, want, TUND_KEY_LEN));
	CHECK(fx_mode(path) == 0600);
	fx_free(&f);
}

/* Loading must fail, leave the file byte for byte, create nothing and leave
 * no key material behind in priv. */
static void expect_refused(const char *path, const char *content, const char *why)
{
	uint8_t priv[TUND_KEY_LEN];
	bool created = true;
	char err[TUND_WHY_LEN] = "";
	size_t len = 0;

	memset(priv, 0xa5, sizeof(priv));
	CHECK(tund_keyfile_load_or_create(path, priv, &created, err, sizeof(err)) < 0);
	CHECK(!created);
	CHECK(strstr(err, path) && strstr(err, why));
	if (!strstr(err, why))
		fprintf(stderr, "  got: %s\n", err);
	/* One line for the log. */
	CHECK(!strchr(err, '\n'));
	CHECK(all_bytes(priv, sizeof(priv), 0) || all_bytes(priv, sizeof(priv), 0xa5));
	if (content) {
		g_autofree char *after = fx_read(path, &len);

		CHECK(after && len == strlen(content) && !memcmp(after, content, len));
	}
}

UNIT_TEST(keyfile_corrupt_or_truncated_refused_untouched)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "private.key");
	uint8_t key[TUND_KEY_LEN];
	char good[TUND_KEY_B64_LEN + 1];

	tund_key_generate(key);
	tund_key_encode(good, key);

	g_autofree char *truncated = g_strndup(good, 20);
	g_autofree char *trailing = g_strdup_printf("%s\nsecond line\n", good);
	g_autofree char *bad_char = g_strdup(good);
	bad_char[10] = '*';
	/* A key, then more than the loader reads at once, then garbage. */
	g_autofree char *padded = g_strdup_printf("%s%200sgarbage\n", good, "");
	const char *const contents[] = {
		"", "\n", "hello world\n", truncated, trailing, bad_char, padded,
	};

	for (size_t i = 0; i < G_N_ELEMENTS(contents); i++) {
		/* Loose modes too: a refused file keeps its mode as well. */
		CHECK(fx_write(path, contents[i], i % 2 ? 0644 : 0600));
		expect_refused(path, contents[i], "not a private key");
		CHECK(fx_mode(path) == (i % 2 ? 0644 : 0600));
	}
	sodium_memzero(good, sizeof(good));
	fx_free(&f);
}

UNIT_TEST(keyfile_partial_decode_leaves_no_key_bytes)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "private.key");
	uint8_t key[TUND_KEY_LEN], priv[TUND_KEY_LEN];
	char text[TUND_KEY_B64_LEN + 2];
	bool created;
	char err[TUND_WHY_LEN] = "";

	/* Valid base64 up to the last group: the decoder has written most of
	 * the key into priv before it finds the fault. */
	tund_key_generate(key);
	tund_key_encode(text, key);
	text[41] = '!';
	strcat(text, "\n");
	CHECK(fx_write(path, text, 0600));
	memset(priv, 0xa5, sizeof(priv));
	CHECK(tund_keyfile_load_or_create(path, priv, &created, err, sizeof(err)) < 0);
	CHECK(all_bytes(priv, sizeof(priv), 0));
	fx_free(&f);
}

UNIT_TEST(keyfile_symlink_refused_target_untouched)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "private.key");
	g_autofree char *target = fx_path(&f, "elsewhere.key");
	g_autofree char *dangling = fx_path(&f, "not-there.key");
	uint8_t key[TUND_KEY_LEN];
	char text[TUND_KEY_B64_LEN + 2];

	tund_key_generate(key);
	tund_key_encode(text, key);
	strcat(text, "\n");
	/* A symlink to a good key: refused (an attacker's link into
	 * state_dir must not choose our key), and not chmod'ed through. */
	CHECK(fx_write(target, text, 0644));
	CHECK(symlink(target, path) == 0);
	expect_refused(path, NULL, "cannot open");
	CHECK(fx_mode(target) == 0644);
	g_autofree char *t = fx_read(target, NULL);
	CHECK(t && !strcmp(t, text));

	/* A dangling symlink: no key is written through it. */
	CHECK(unlink(path) == 0);
	CHECK(symlink(dangling, path) == 0);
	expect_refused(path, NULL, "cannot open");
	CHECK(access(dangling, F_OK) != 0);
	sodium_memzero(text, sizeof(text));
	fx_free(&f);
}

UNIT_TEST(keyfile_not_a_regular_file_refused)
{
	struct fx f;
	fx_init(&f);
	g_autofree char *path = fx_path(&f, "private.key");

	/* A directory. */
	CHECK(mkdir(path, 0700) == 0);
	expect_refused(path, NULL, "not a regular file");
	CHECK(rmdir(path) == 0);
	/* A FIFO: must not block the start-up waiting for a writer. */
	CHECK(mkfifo(path, 0600) == 0);
	expect_refused(path, NULL, "not a regular file");
	fx_free(&f);
}

/* ---- networks.json ---- */

static void expect_networks_refused(struct fx *f, const char *content)
{
	size_t len = 0;

	CHECK(fx_write(f->d.networks_path, content, 0600));
	g_ptr_array_unref(f->d.networks);
	f->d.networks = NULL;
	g_clear_pointer(&f->d.networks_path, g_free);
	fx_capture_begin();
	CHECK(!tund_networks_load(&f->d));
	g_autofree char *log = fx_capture_end();
	CHECK(strstr(log, "refusing to start and leaving") != NULL);
	CHECK(f->d.pending_networks == NULL);
	g_autofree char *after = fx_read(f->d.networks_path, &len);
	CHECK(after && len == strlen(content) && !memcmp(after, content, len));
}

UNIT_TEST(networks_file_corrupt_refused_untouched)
{
	struct fx f;
	fx_init(&f);
	struct tund_network net;
	const char *why = NULL;
	char invite[TUND_INVITE_MAX_TEXT];

	CHECK(tund_network_init_new(&net, "lan", &why));
	CHECK(tund_invite_encode(&net, invite, sizeof(invite)) > 0);
	g_autofree char *good = g_strdup_printf(
		"{\"version\":1,\"networks\":[{\"invite\":\"%s\"}]}", invite);
	g_autofree char *truncated = g_strndup(good, strlen(good) / 2);
	g_autofree char *bad_invite = g_strdup(good);
	/* One character of the invite changed: its checksum fails. */
	char *inv = strstr(bad_invite, invite) + strlen(invite) - 5;
	*inv = *inv == 'A' ? 'B' : 'A';
	const char *const bad[] = {
		"", "{", "[]", "{\"version\":2,\"networks\":[]}", "{\"version\":1}",
		"{\"version\":1,\"networks\":{}}", "{\"version\":1,\"networks\":[7]}",
		"{\"version\":1,\"networks\":[{\"invite\":5}]}", truncated, bad_invite,
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		expect_networks_refused(&f, bad[i]);

	/* Missing: a first start, nothing to load. */
	CHECK(unlink(f.d.networks_path) == 0);
	g_ptr_array_unref(f.d.networks);
	g_free(f.d.networks_path);
	CHECK(tund_networks_load(&f.d));
	CHECK(f.d.pending_networks == NULL && f.d.networks && f.d.networks->len == 0);
	/* The good file loads one network, started later. */
	CHECK(fx_write(f.d.networks_path, good, 0600));
	g_ptr_array_unref(f.d.networks);
	g_free(f.d.networks_path);
	CHECK(tund_networks_load(&f.d));
	CHECK(f.d.pending_networks && f.d.pending_networks->len == 1);
	if (f.d.pending_networks && f.d.pending_networks->len == 1) {
		struct tund_network *got = g_ptr_array_index(f.d.pending_networks, 0);

		CHECK(!strcmp(got->name, "lan") && !memcmp(got->key, net.key, sizeof(net.key)));
	}
	sodium_memzero(&net, sizeof(net));
	sodium_memzero(invite, sizeof(invite));
	fx_free(&f);
}

/* ---- peers.json ---- */

static bool load_peers(struct fx *f)
{
	g_clear_pointer(&f->d.peers_path, g_free);
	return tund_daemon_load_peers(&f->d);
}

UNIT_TEST(peers_file_corrupt_refused_untouched)
{
	struct fx f;
	fx_init(&f);
	uint8_t k[TUND_KEY_LEN];
	char key[TUND_KEY_B64_LEN + 1], psk[TUND_KEY_B64_LEN + 1];
	size_t len = 0;

	tund_key_generate(k);
	tund_key_encode(key, k);
	tund_key_generate(k);
	tund_key_encode(psk, k);
	g_autofree char *good = g_strdup_printf(
		"{\"version\":1,\"peers\":[{\"public_key\":\"%s\",\"name\":\"alice\",\"psk\":\"%s\","
		"\"allowed_ips\":[\"10.77.0.2/32\"]}]}", key, psk);
	g_autofree char *truncated = g_strndup(good, strlen(good) - 10);
	g_autofree char *bad_psk = g_strdup(good);
	memcpy(strstr(bad_psk, psk), "!!", 2);
	const char *const bad[] = {
		"", "{", "null", "[]", "{\"version\":2,\"peers\":[]}", "{\"version\":1,\"peers\":5}",
		"{\"version\":1,\"peers\":[{}]}", truncated, bad_psk,
	};

	/* Missing: a first start. */
	CHECK(load_peers(&f) && f.d.peers.items->len == 0);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		CHECK(fx_write(f.d.peers_path, bad[i], 0600));
		fx_capture_begin();
		CHECK(!load_peers(&f));
		g_autofree char *log = fx_capture_end();
		/* One line naming the file; no secret in it. */
		CHECK(strstr(log, f.d.peers_path) && strstr(log, "leaving the file as it is"));
		CHECK(!strstr(log, psk));
		CHECK(f.d.peers.items->len == 0);
		g_autofree char *after = fx_read(f.d.peers_path, &len);
		CHECK(after && len == strlen(bad[i]) && !memcmp(after, bad[i], len));
	}
	CHECK(fx_write(f.d.peers_path, good, 0600));
	CHECK(load_peers(&f) && f.d.peers.items->len == 1);
	struct tund_peer *p = tund_peer_list_find(&f.d.peers, "alice");
	CHECK(p && p->has_psk);
	/* A directory in its place. */
	CHECK(unlink(f.d.peers_path) == 0 && mkdir(f.d.peers_path, 0700) == 0);
	tund_peer_list_clear(&f.d.peers);
	tund_peer_list_init(&f.d.peers);
	CHECK(!load_peers(&f));
	sodium_memzero(psk, sizeof(psk));
	fx_free(&f);
}
