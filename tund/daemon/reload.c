// SPDX-License-Identifier: MIT
/* Config reload (SIGHUP or the "reload" control command): the STUN/TURN and
 * broker settings take effect at once without touching working paths; the
 * settings bound at start (interface, ports, paths, user) are reported as
 * needing a restart and keep their running values. */
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "tund/control/commands.h"
#include "tund/daemon/state.h"
#include "tund/daemon/log.h"
#include "tund/connect/membership.h"
#include "tund/connect/ice_config.h"
#include "tund/daemon/daemon.h"
#include "tund/connect/path.h"
#include "overlay/control_proto.h"

static bool same_str(const char *a, const char *b)
{
	return g_strcmp0(a, b) == 0;
}

/* Settings used only at start-up. */
static void needs_restart(const struct tund_config *old, const struct tund_config *cfg,
			  GPtrArray *out)
{
	if (strcmp(old->ifname, cfg->ifname))
		g_ptr_array_add(out, g_strdup("[interface] name"));
	if (old->has_addr4 != cfg->has_addr4 || memcmp(&old->addr4, &cfg->addr4, sizeof(cfg->addr4)))
		g_ptr_array_add(out, g_strdup("[interface] address"));
	if (old->has_addr6 != cfg->has_addr6 || memcmp(&old->addr6, &cfg->addr6, sizeof(cfg->addr6)))
		g_ptr_array_add(out, g_strdup("[interface] address6"));
	if (old->mtu != cfg->mtu)
		g_ptr_array_add(out, g_strdup("[interface] mtu"));
	if (old->listen_port != cfg->listen_port)
		g_ptr_array_add(out, g_strdup("[interface] listen_port"));
	if (old->broadcast != cfg->broadcast)
		g_ptr_array_add(out, g_strdup("[interface] broadcast"));
	if (old->beacons != cfg->beacons)
		g_ptr_array_add(out, g_strdup("[interface] beacons"));
	if (!same_str(old->state_dir, cfg->state_dir))
		g_ptr_array_add(out, g_strdup("[paths] state_dir"));
	if (!same_str(old->control_socket, cfg->control_socket))
		g_ptr_array_add(out, g_strdup("[paths] control_socket"));
	if (old->ice_port_min != cfg->ice_port_min || old->ice_port_max != cfg->ice_port_max)
		g_ptr_array_add(out, g_strdup("[ice] port_range"));
	if (old->offload != cfg->offload)
		g_ptr_array_add(out, g_strdup("[interface] offload"));
	if (old->io_uring != cfg->io_uring)
		g_ptr_array_add(out, g_strdup("[interface] io_uring"));
	if (old->ice_fast_path != cfg->ice_fast_path)
		g_ptr_array_add(out, g_strdup("[ice] fast_path"));
	if (old->ice_portmap != cfg->ice_portmap)
		g_ptr_array_add(out, g_strdup("[ice] portmap"));
	if (old->ice_turn_prediction != cfg->ice_turn_prediction)
		g_ptr_array_add(out, g_strdup("[ice] turn_prediction"));
	if (!same_str(old->user, cfg->user))
		g_ptr_array_add(out, g_strdup("[daemon] user"));
	if (old->realtime != cfg->realtime)
		g_ptr_array_add(out, g_strdup("[daemon] realtime"));
	if (old->light_on_one_thread != cfg->light_on_one_thread)
		g_ptr_array_add(out, g_strdup("[daemon] light_on_one_thread"));
	if (old->aead != cfg->aead)
		g_ptr_array_add(out, g_strdup("[daemon] aead"));
	if (old->crypto_workers != cfg->crypto_workers)
		g_ptr_array_add(out, g_strdup("[daemon] crypto_workers"));
}

static JsonNode *string_array(GPtrArray *items)
{
	JsonArray *a = json_array_new();
	JsonNode *node = json_node_new(JSON_NODE_ARRAY);

	for (guint i = 0; i < items->len; i++)
		json_array_add_string_element(a, g_ptr_array_index(items, i));
	json_node_take_array(node, a);
	return node;
}

static char *join(GPtrArray *items)
{
	g_ptr_array_add(items, NULL);
	char *text = g_strjoinv(", ", (char **)items->pdata);
	g_ptr_array_remove_index(items, items->len - 1);
	return text;
}

/* New [ice] stun/turn go to the paths of peers outside networks (for their
 * next session). Whether they changed. */
static bool apply_ice(struct tund_daemon *d, const struct tund_config *cfg)
{
	if (same_str(d->cfg.ice_stun, cfg->ice_stun) && same_str(d->cfg.ice_turn, cfg->ice_turn))
		return false;
	g_free(d->cfg.ice_stun);
	d->cfg.ice_stun = g_strdup(cfg->ice_stun);
	if (d->cfg.ice_turn)
		sodium_memzero(d->cfg.ice_turn, strlen(d->cfg.ice_turn));
	g_free(d->cfg.ice_turn);
	d->cfg.ice_turn = g_strdup(cfg->ice_turn);
	for (guint i = 0; i < d->peers.items->len; i++) {
		struct tund_peer *p = g_ptr_array_index(d->peers.items, i);
		struct tund_ice_server_config ice;

		if (p->network || !p->path)
			continue;
		tund_ice_config_for(d, NULL, &ice);
		tund_path_set_servers(p->path, &ice);
		sodium_memzero(&ice, sizeof(ice));
	}
	return true;
}

int tund_daemon_reload(struct tund_daemon *d, JsonNode **out, char *why, size_t why_len)
{
	g_autoptr(GPtrArray) applied = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) restart = g_ptr_array_new_with_free_func(g_free);
	struct tund_config *cfg = g_new0(struct tund_config, 1);
	char problem[TUND_WHY_LEN];
	JsonObject *o;
	JsonNode *node;
	int ret;

	tund_config_init(cfg);
	ret = tund_config_load(cfg, d->config_path, problem, sizeof(problem));
	if (ret) {
		if (geteuid() != 0 && access(d->config_path, R_OK) != 0 && errno == EACCES)
			tund_why(why, why_len, "%s (tund runs as uid %u: make the file "
				 "readable by it or its group)", problem, (unsigned)geteuid());
		else
			tund_why(why, why_len, "%s", problem);
		log_error("reload refused, the running config stays: %s", why_len ? why : problem);
		tund_config_free(cfg);
		g_free(cfg);
		return ret;
	}
	needs_restart(&d->cfg, cfg, restart);

	/* [ice] stun/turn: peers outside networks (manual signaling). */
	if (apply_ice(d, cfg))
		g_ptr_array_add(applied, g_strdup("[ice] stun/turn"));

	/* [network NAME]: servers per joined network. */
	memcpy(d->cfg.networks, cfg->networks, sizeof(cfg->networks));
	d->cfg.n_networks = cfg->n_networks;
	for (guint i = 0; d->networks && i < d->networks->len; i++)
		tund_membership_reconfigure(g_ptr_array_index(d->networks, i), applied);
	for (unsigned i = 0; i < cfg->n_networks; i++)
		if (!tund_membership_find(d, cfg->networks[i].name))
			log_warn("reload: [network %s]: not a joined network; kept for when it is",
				 cfg->networks[i].name);

	if (applied->len) {
		g_autofree char *text = join(applied);

		log_info("reload: applied %s", text);
	} else {
		log_info("reload: no STUN/TURN or broker setting changed");
	}
	if (restart->len) {
		g_autofree char *text = join(restart);

		log_warn("reload: changed settings that need a restart (the running values stay): %s",
			 text);
	}
	tund_config_free(cfg);
	g_free(cfg);

	node = json_node_new(JSON_NODE_OBJECT);
	o = json_object_new();
	json_object_set_string_member(o, TUND_KEY_CONFIG, d->config_path);
	json_object_set_member(o, TUND_KEY_APPLIED, string_array(applied));
	json_object_set_member(o, TUND_KEY_NEEDS_RESTART, string_array(restart));
	json_node_take_object(node, o);
	*out = node;
	return 0;
}

int tund_cmd_reload(struct tund_daemon *d, JsonObject *req, JsonNode **out, char *why,
		    size_t why_len)
{
	(void)req;
	return tund_daemon_reload(d, out, why, why_len);
}
