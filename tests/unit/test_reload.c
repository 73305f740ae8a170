// SPDX-License-Identifier: MIT
/* tund/daemon/reload.c: every setting of the config file either takes effect on
 * reload or is named in needs_restart, with its running value kept; a bad
 * file changes nothing. */
#include <errno.h>
#include <string.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/daemon/log.h"

static char *base_config(struct fx *f, const char *state_dir, const char *socket)
{
	return g_strdup_printf("[paths]\nstate_dir = %s\ncontrol_socket = %s\n",
			       state_dir ? state_dir : f->dir,
			       socket ? socket : f->d.cfg.control_socket);
}

/* Reloads from text; the reply's applied and needs_restart lists joined by
 * "|" (false and err on refusal). */
static bool reload(struct fx *f, const char *text, char **applied, char **restart, char *err)
{
	JsonNode *node = NULL;
	JsonObject *o;

	*applied = *restart = NULL;
	err[0] = '\0';
	CHECK(fx_write(f->d.config_path, text, 0600));
	if (tund_daemon_reload(&f->d, &node, err, TUND_WHY_LEN) < 0)
		return false;
	o = json_node_get_object(node);
	for (int k = 0; k < 2; k++) {
		JsonArray *a = json_object_get_array_member(o, k ? "needs_restart" : "applied");
		GString *s = g_string_new(NULL);

		for (guint i = 0; a && i < json_array_get_length(a); i++)
			g_string_append_printf(s, "%s%s", i ? "|" : "",
					       json_array_get_string_element(a, i));
		*(k ? restart : applied) = g_string_free(s, FALSE);
	}
	CHECK(!g_strcmp0(json_object_get_string_member(o, "config"), f->d.config_path));
	json_node_unref(node);
	return true;
}

struct running {
	struct tund_config cfg; /* the flat part */
	char *state_dir, *socket, *user;
};

static void snapshot(struct fx *f, struct running *r)
{
	r->cfg = f->d.cfg;
	r->state_dir = g_strdup(f->d.cfg.state_dir);
	r->socket = g_strdup(f->d.cfg.control_socket);
	r->user = g_strdup(f->d.cfg.user);
}

static bool unchanged(struct fx *f, const struct running *r)
{
	const struct tund_config *a = &r->cfg, *b = &f->d.cfg;

	return !strcmp(a->ifname, b->ifname) && a->has_addr4 == b->has_addr4 &&
	       !memcmp(&a->addr4, &b->addr4, sizeof(a->addr4)) && a->has_addr6 == b->has_addr6 &&
	       !memcmp(&a->addr6, &b->addr6, sizeof(a->addr6)) && a->mtu == b->mtu &&
	       a->listen_port == b->listen_port && a->broadcast == b->broadcast &&
	       a->offload == b->offload && a->io_uring == b->io_uring &&
	       a->ice_port_min == b->ice_port_min && a->ice_port_max == b->ice_port_max &&
	       a->ice_fast_path == b->ice_fast_path && a->realtime == b->realtime &&
	       a->light_on_one_thread == b->light_on_one_thread && a->aead == b->aead &&
	       !g_strcmp0(r->state_dir, b->state_dir) && !g_strcmp0(r->socket, b->control_socket) &&
	       !g_strcmp0(r->user, b->user);
}

static void running_clear(struct running *r)
{
	g_free(r->state_dir);
	g_free(r->socket);
	g_free(r->user);
}

UNIT_TEST(reload_names_every_restart_setting)
{
	struct fx f;
	fx_init(&f);
	char *applied, *restart, err[TUND_WHY_LEN];
	struct running before;
	static const struct {
		const char *group, *key, *value, *label;
	} settings[] = {
		{ "interface", "name", "tt-other", "[interface] name" },
		{ "interface", "address", "10.9.0.1/24", "[interface] address" },
		{ "interface", "address6", "fd09::1/64", "[interface] address6" },
		{ "interface", "mtu", "1300", "[interface] mtu" },
		{ "interface", "listen_port", "40000", "[interface] listen_port" },
		{ "interface", "broadcast", "off", "[interface] broadcast" },
		{ "interface", "offload", "off", "[interface] offload" },
		{ "interface", "io_uring", "off", "[interface] io_uring" },
		{ "ice", "port_range", "50000-50100", "[ice] port_range" },
		{ "ice", "fast_path", "off", "[ice] fast_path" },
		{ "daemon", "user", "nobody", "[daemon] user" },
		{ "daemon", "realtime", "off", "[daemon] realtime" },
		{ "daemon", "light_on_one_thread", "off", "[daemon] light_on_one_thread" },
		{ "daemon", "aead", "openssl", "[daemon] aead" },
	};

	g_autofree char *base = base_config(&f, NULL, NULL);
	/* Unchanged file: nothing to do. */
	CHECK(reload(&f, base, &applied, &restart, err));
	CHECK(!g_strcmp0(applied, "") && !g_strcmp0(restart, ""));
	g_free(applied);
	g_free(restart);

	snapshot(&f, &before);
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
		g_autofree char *text = g_strdup_printf("%s[%s]\n%s = %s\n", base, settings[i].group,
							settings[i].key, settings[i].value);

		CHECK(reload(&f, text, &applied, &restart, err));
		CHECK(!g_strcmp0(restart, settings[i].label));
		CHECK(!g_strcmp0(applied, ""));
		if (g_strcmp0(restart, settings[i].label))
			fprintf(stderr, "  %s changed: needs_restart \"%s\"\n", settings[i].label,
				restart ? restart : "(refused)");
		/* The running value stays. */
		CHECK(unchanged(&f, &before));
		g_free(applied);
		g_free(restart);
	}
	/* [paths]. */
	g_autofree char *sub = fx_path(&f, "sub");
	g_autofree char *sock = fx_path(&f, "other.sock");
	g_autofree char *paths = base_config(&f, sub, sock);
	CHECK(reload(&f, paths, &applied, &restart, err));
	CHECK(!g_strcmp0(restart, "[paths] state_dir|[paths] control_socket"));
	CHECK(unchanged(&f, &before));
	g_free(applied);
	g_free(restart);
	running_clear(&before);
	fx_free(&f);
}

UNIT_TEST(reload_applies_ice_servers_without_logging_secrets)
{
	struct fx f;
	fx_init(&f);
	char *applied, *restart, err[TUND_WHY_LEN];
	g_autofree char *base = base_config(&f, NULL, NULL);
	g_autofree char *text = g_strdup_printf(
		"%s[ice]\nstun = 192.0.2.1:3478\nturn = turn://alice:s3cr3t-pw@192.0.2.1:3478?"
		"transport=udp\n", base);

	fx_capture_begin();
	CHECK(reload(&f, text, &applied, &restart, err));
	g_autofree char *log = fx_capture_end();
	CHECK(!g_strcmp0(applied, "[ice] stun/turn") && !g_strcmp0(restart, ""));
	CHECK(!g_strcmp0(f.d.cfg.ice_stun, "192.0.2.1:3478"));
	CHECK(f.d.cfg.ice_turn && strstr(f.d.cfg.ice_turn, "alice"));
	CHECK(!strstr(log, "s3cr3t-pw"));
	g_free(applied);
	g_free(restart);
	/* Back to none. */
	CHECK(reload(&f, base, &applied, &restart, err));
	CHECK(!g_strcmp0(applied, "[ice] stun/turn"));
	CHECK(f.d.cfg.ice_stun == NULL && f.d.cfg.ice_turn == NULL);
	g_free(applied);
	g_free(restart);
	fx_free(&f);
}

UNIT_TEST(reload_refuses_bad_file_and_keeps_running_config)
{
	struct fx f;
	fx_init(&f);
	char *applied, *restart, err[TUND_WHY_LEN];
	JsonNode *node = NULL;
	struct running before;
	g_autofree char *base = base_config(&f, NULL, NULL);
	g_autofree char *bad = g_strdup_printf("%s[interface]\nmtu = 1300\nnonsense = 1\n", base);
	g_autofree char *bad_turn = g_strdup_printf(
		"%s[ice]\nstun = 192.0.2.9:3478\nturn = turn://alice:pw-xyz@:0\n", base);

	snapshot(&f, &before);
	CHECK(!reload(&f, bad, &applied, &restart, err));
	CHECK(strstr(err, f.d.config_path) && strstr(err, "nonsense"));
	CHECK(unchanged(&f, &before));
	/* Nothing of a refused file is half-applied. */
	CHECK(!reload(&f, bad_turn, &applied, &restart, err));
	CHECK(f.d.cfg.ice_stun == NULL);
	CHECK(!strstr(err, "pw-xyz"));
	/* A missing file. */
	CHECK(unlink(f.d.config_path) == 0);
	CHECK(tund_daemon_reload(&f.d, &node, err, sizeof(err)) == -ENOENT && !node);
	CHECK(strstr(err, f.d.config_path));
	running_clear(&before);
	fx_free(&f);
}
