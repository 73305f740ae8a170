// SPDX-License-Identifier: MIT
#include "tund/daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/pool.h"
#include "tund/daemon/log.h"

struct key_spec {
	const char *group, *key;
	bool (*apply)(struct tund_config *cfg, const char *value, const char **problem);
};

static bool apply_name(struct tund_config *cfg, const char *v, const char **problem)
{
	size_t len = strlen(v);

	if (len == 0 || len >= IFNAMSIZ) {
		*problem = "interface name must be 1-15 characters";
		return false;
	}
	for (const char *p = v; *p; p++) {
		if (*p == '/' || *p == ':' || g_ascii_isspace(*p) || !g_ascii_isprint(*p)) {
			*problem = "interface name has a character Linux does not allow";
			return false;
		}
	}
	if (!strcmp(v, ".") || !strcmp(v, "..")) {
		*problem = "interface name is not allowed";
		return false;
	}
	memcpy(cfg->ifname, v, len + 1);
	return true;
}

static bool apply_address(struct tund_config *cfg, const char *v, const char **problem)
{
	struct tund_cidr c;

	if (!tund_cidr_parse(&c, v, false) || c.family != AF_INET) {
		*problem = "expected an IPv4 address with prefix, like 10.77.0.1/16";
		return false;
	}
	cfg->addr4 = c;
	cfg->has_addr4 = true;
	return true;
}

static bool apply_address6(struct tund_config *cfg, const char *v, const char **problem)
{
	struct tund_cidr c;

	if (!tund_cidr_parse(&c, v, false) || c.family != AF_INET6) {
		*problem = "expected an IPv6 address with prefix, like fd77::1/64";
		return false;
	}
	cfg->addr6 = c;
	cfg->has_addr6 = true;
	return true;
}

static bool parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long n;

	if (!g_ascii_isdigit(*v))
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*out = n;
	return true;
}

static bool apply_mtu(struct tund_config *cfg, const char *v, const char **problem)
{
	unsigned long n;

	/* 1280 is IPv6's minimum; 65535 is the most a TUN frame can carry. */
	if (!parse_uint(v, 576, 65535, &n)) {
		*problem = "expected a number from 576 to 65535";
		return false;
	}
	cfg->mtu = (unsigned)n;
	return true;
}

static bool apply_listen_port(struct tund_config *cfg, const char *v, const char **problem)
{
	unsigned long n;

	if (!parse_uint(v, 0, 65535, &n)) {
		*problem = "expected a port number from 0 to 65535";
		return false;
	}
	cfg->listen_port = (uint16_t)n;
	return true;
}

static bool apply_path(char **slot, const char *v, const char **problem)
{
	if (v[0] != '/') {
		*problem = "expected an absolute path";
		return false;
	}
	g_free(*slot);
	*slot = g_strdup(v);
	return true;
}

static bool apply_state_dir(struct tund_config *cfg, const char *v, const char **problem)
{
	return apply_path(&cfg->state_dir, v, problem);
}

static bool apply_control_socket(struct tund_config *cfg, const char *v, const char **problem)
{
	/* sun_path holds 108 bytes including the NUL. */
	if (strlen(v) >= 108) {
		*problem = "path too long for a Unix socket (max 107 bytes)";
		return false;
	}
	return apply_path(&cfg->control_socket, v, problem);
}

static bool apply_port_range(struct tund_config *cfg, const char *v, const char **problem)
{
	unsigned long lo, hi;
	g_auto(GStrv) parts = g_strsplit(v, "-", 3);

	if (g_strv_length(parts) != 2 || !parse_uint(parts[0], 1, 65535, &lo) ||
	    !parse_uint(parts[1], 1, 65535, &hi) || lo > hi) {
		*problem = "expected a port range like 50000-50100";
		return false;
	}
	cfg->ice_port_min = (uint16_t)lo;
	cfg->ice_port_max = (uint16_t)hi;
	return true;
}

static bool apply_ice_stun(struct tund_config *cfg, const char *v, const char **problem)
{
	struct tund_stun_server s;

	/* Checked as it will be used: a value the daemon cannot use is an
	 * error here, not a server silently left out later. */
	if (!*v || strchr(v, ' ') || !tund_parse_stun(v, &s, problem)) {
		*problem = "expected HOST:PORT";
		return false;
	}
	g_free(cfg->ice_stun);
	cfg->ice_stun = g_strdup(v);
	return true;
}

static bool apply_ice_turn(struct tund_config *cfg, const char *v, const char **problem)
{
	struct tund_turn_server t;
	bool ok = g_str_has_prefix(v, "turn://") && tund_parse_turn_url(v, &t, problem);

	sodium_memzero(&t, sizeof(t)); /* the password */
	if (!ok) {
		*problem = "expected turn://USER:PASS@HOST:PORT?transport=udp|tcp";
		return false;
	}
	g_free(cfg->ice_turn);
	cfg->ice_turn = g_strdup(v);
	return true;
}

static bool parse_switch(const char *v, bool *out, const char **problem)
{
	if (!g_ascii_strcasecmp(v, "on") || !g_ascii_strcasecmp(v, "yes") ||
	    !g_ascii_strcasecmp(v, "true")) {
		*out = true;
	} else if (!g_ascii_strcasecmp(v, "off") || !g_ascii_strcasecmp(v, "no") ||
		   !g_ascii_strcasecmp(v, "false")) {
		*out = false;
	} else {
		*problem = "expected on or off";
		return false;
	}
	return true;
}

static bool apply_broadcast(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->broadcast, problem);
}

static bool apply_beacons(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->beacons, problem);
}

static bool apply_realtime(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->realtime, problem);
}

static bool apply_light_on_one_thread(struct tund_config *cfg, const char *v,
				      const char **problem)
{
	return parse_switch(v, &cfg->light_on_one_thread, problem);
}

static bool apply_ice_fast_path(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->ice_fast_path, problem);
}

static bool apply_ice_portmap(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->ice_portmap, problem);
}

static bool apply_ice_turn_prediction(struct tund_config *cfg, const char *v,
				      const char **problem)
{
	bool on;

	if (!g_ascii_strcasecmp(v, "lean")) {
		cfg->ice_turn_prediction = TUND_TURN_PREDICT_LEAN;
		return true;
	}
	if (!parse_switch(v, &on, problem)) {
		*problem = "expected on, lean or off";
		return false;
	}
	cfg->ice_turn_prediction = on ? TUND_TURN_PREDICT_ON : TUND_TURN_PREDICT_OFF;
	return true;
}

static bool apply_user(struct tund_config *cfg, const char *v, const char **problem)
{
	for (const char *p = v; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.') {
			*problem = "expected a user name (or root to stay root)";
			return false;
		}
	}
	g_free(cfg->user);
	cfg->user = g_strdup(v);
	return true;
}

static bool apply_offload(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->offload, problem);
}

static bool apply_io_uring(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->io_uring, problem);
}

static bool apply_aead(struct tund_config *cfg, const char *v, const char **problem)
{
	if (tund_aead_mode_parse(v, &cfg->aead))
		return true;
	*problem = "expected auto, sodium or openssl";
	return false;
}

static bool apply_crypto_workers(struct tund_config *cfg, const char *v, const char **problem)
{
	if (tund_pool_workers_parse(v, &cfg->crypto_workers))
		return true;
	*problem = "expected auto, off or a number of threads from 0 to 64";
	return false;
}

int tund_config_crypto_workers(const struct tund_config *cfg, char setting[16])
{
	const char *env = getenv("TUND_CRYPTO_WORKERS");
	int n = cfg->crypto_workers;

	if (env && *env && !tund_pool_workers_parse(env, &n))
		return -EINVAL;
	if (n < 0) {
		snprintf(setting, 16, "auto");
		return (int)tund_pool_auto_workers(sysconf(_SC_NPROCESSORS_ONLN));
	}
	if (n == 0)
		snprintf(setting, 16, "off");
	else
		snprintf(setting, 16, "%d", n);
	return n;
}

static const struct key_spec keys[] = {
	{ "interface", "name", apply_name },
	{ "interface", "address", apply_address },
	{ "interface", "address6", apply_address6 },
	{ "interface", "mtu", apply_mtu },
	{ "interface", "listen_port", apply_listen_port },
	{ "interface", "broadcast", apply_broadcast },
	{ "interface", "beacons", apply_beacons },
	{ "interface", "offload", apply_offload },
	{ "interface", "io_uring", apply_io_uring },
	{ "paths", "state_dir", apply_state_dir },
	{ "paths", "control_socket", apply_control_socket },
	{ "ice", "port_range", apply_port_range },
	{ "ice", "stun", apply_ice_stun },
	{ "ice", "turn", apply_ice_turn },
	{ "ice", "fast_path", apply_ice_fast_path },
	{ "ice", "portmap", apply_ice_portmap },
	{ "ice", "turn_prediction", apply_ice_turn_prediction },
	{ "daemon", "user", apply_user },
	{ "daemon", "realtime", apply_realtime },
	{ "daemon", "light_on_one_thread", apply_light_on_one_thread },
	{ "daemon", "aead", apply_aead },
	{ "daemon", "crypto_workers", apply_crypto_workers },
};

#define NETWORK_GROUP "network "

/* [network NAME] keys: broker, stun (comma-separated), turn (comma-separated). */
static bool apply_network_key(struct tund_config_network *n, const char *key, const char *v,
			      const char **problem)
{
	if (!strcmp(key, "broker")) {
		if (*v && !tund_parse_broker_url(v, NULL, problem))
			return false;
		if (strlen(v) >= sizeof(n->broker)) {
			*problem = "broker URL too long";
			return false;
		}
		g_strlcpy(n->broker, v, sizeof(n->broker));
		n->has_broker = true;
		return true;
	}
	bool stun = !strcmp(key, "stun");
	if (!stun && strcmp(key, "turn")) {
		*problem = "unknown key (expected broker, stun or turn)";
		return false;
	}
	g_auto(GStrv) items = g_strsplit(v, ",", -1);
	unsigned count = 0;

	for (char **it = items; *it; it++) {
		g_strstrip(*it);
		if (!**it)
			continue;
		if (count == (stun ? TUND_NET_MAX_STUN : TUND_NET_MAX_TURN)) {
			*problem = stun ? "at most 2 STUN servers" : "at most 4 TURN servers";
			return false;
		}
		if (stun ? !tund_parse_stun(*it, &n->stun[count], problem) :
			   !tund_parse_turn_url(*it, &n->turn[count], problem))
			return false;
		count++;
	}
	if (stun) {
		n->n_stun = count;
		n->has_stun = true;
	} else {
		n->n_turn = count;
		n->has_turn = true;
	}
	return true;
}

static struct tund_config_network *network_section(struct tund_config *cfg, const char *name,
						   const char **problem)
{
	struct tund_config_network *n;

	if (!tund_network_name_valid(name)) {
		*problem = "expected [network NAME] with NAME of 1-64 letters, digits, . _ -";
		return NULL;
	}
	for (unsigned i = 0; i < cfg->n_networks; i++)
		if (!strcmp(cfg->networks[i].name, name))
			return &cfg->networks[i];
	if (cfg->n_networks == TUND_CONFIG_MAX_NETWORKS) {
		*problem = "too many [network NAME] sections (at most 16)";
		return NULL;
	}
	n = &cfg->networks[cfg->n_networks++];
	memset(n, 0, sizeof(*n));
	g_strlcpy(n->name, name, sizeof(n->name));
	return n;
}

const struct tund_config_network *tund_config_network(const struct tund_config *cfg,
						      const char *name)
{
	for (unsigned i = 0; i < cfg->n_networks; i++)
		if (!strcmp(cfg->networks[i].name, name))
			return &cfg->networks[i];
	return NULL;
}

void tund_config_ice_servers(const struct tund_config *cfg, struct tund_network *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg->ice_stun && tund_parse_stun(cfg->ice_stun, &out->stun[0], NULL))
		out->n_stun = 1;
	if (cfg->ice_turn && tund_parse_turn_url(cfg->ice_turn, &out->turn[0], NULL))
		out->n_turn = 1;
}

void tund_config_apply_network(const struct tund_config *cfg, struct tund_network *net)
{
	const struct tund_config_network *o = tund_config_network(cfg, net->name);

	if (!o)
		return;
	if (o->has_broker)
		g_strlcpy(net->broker, o->broker, sizeof(net->broker));
	if (o->has_stun) {
		memcpy(net->stun, o->stun, sizeof(net->stun));
		net->n_stun = o->n_stun;
	}
	if (o->has_turn) {
		memcpy(net->turn, o->turn, sizeof(net->turn));
		net->n_turn = o->n_turn;
	}
}

void tund_config_init(struct tund_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	g_strlcpy(cfg->ifname, "tund0", sizeof(cfg->ifname));
	cfg->mtu = 1420;
	cfg->listen_port = 51820;
	cfg->broadcast = true;
	cfg->beacons = true;
	cfg->offload = true;
	cfg->ice_fast_path = true;
	cfg->ice_portmap = true;
	cfg->ice_turn_prediction = TUND_TURN_PREDICT_ON;
	cfg->realtime = true;
	cfg->light_on_one_thread = true;
	cfg->io_uring = true;
	cfg->aead = TUND_AEAD_MODE_AUTO;
	cfg->crypto_workers = -1;
	cfg->state_dir = g_strdup(TUND_DEFAULT_STATE_DIR);
	cfg->control_socket = g_strdup(TUND_DEFAULT_SOCKET);
}

void tund_config_free(struct tund_config *cfg)
{
	g_free(cfg->state_dir);
	g_free(cfg->control_socket);
	g_free(cfg->ice_stun);
	g_free(cfg->ice_turn);
	g_free(cfg->user);
	cfg->state_dir = cfg->control_socket = cfg->ice_stun = cfg->ice_turn = cfg->user = NULL;
	/* TURN passwords */
	sodium_memzero(cfg->networks, sizeof(cfg->networks));
	cfg->n_networks = 0;
}

/* GKeyFile has no inline comments; people write "key = value ; note" anyway,
 * so a ';' or '#' after whitespace ends the value. */
static char *strip_inline_comment(const char *raw)
{
	char *v = g_strdup(raw);

	for (char *p = v; *p; p++) {
		if ((*p == ';' || *p == '#') && p > v && g_ascii_isspace(p[-1])) {
			*p = '\0';
			break;
		}
	}
	return g_strstrip(v);
}

static const struct key_spec *find_key(const char *group, const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(keys[i].group, group) && !strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static bool group_known(const char *group)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!strcmp(keys[i].group, group))
			return true;
	return false;
}

/* GKeyFile does not say where things are: find the line of [group] key (key
 * NULL: the group header) for the message, 0 if not found. A key given twice
 * takes its last value, so the last one is named. */
static unsigned line_of(const char *data, size_t len, const char *group, const char *key)
{
	g_autofree char *text = g_strndup(data, len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	bool in_group = false;
	unsigned found = 0;

	for (unsigned i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);

		if (l[0] == '[') {
			char *end = strrchr(l, ']');

			in_group = end && (size_t)(end - l - 1) == strlen(group) &&
				   !strncmp(l + 1, group, strlen(group));
			if (in_group && !key)
				return i + 1;
			continue;
		}
		if (!in_group || !key || strncmp(l, key, strlen(key)))
			continue;
		const char *rest = l + strlen(key);

		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest == '=')
			found = i + 1;
	}
	return found;
}

/* The first line GKeyFile would refuse: not blank, a comment, a group or a
 * key=value. */
static unsigned first_bad_line(const char *data, size_t len)
{
	g_autofree char *text = g_strndup(data, len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (unsigned i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);

		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[' ? !strchr(l, ']') : !strchr(l, '='))
			return i + 1;
	}
	return 0;
}

static char *where(const char *label, unsigned line)
{
	return line ? g_strdup_printf("%s:%u", label, line) : g_strdup(label);
}

int tund_config_parse(struct tund_config *cfg, const char *data, size_t len,
		      const char *label, char *why, size_t why_len)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) gerr = NULL;
	g_auto(GStrv) groups = NULL;

	if (memchr(data, '\0', len)) {
		tund_why(why, why_len, "%s: not a text file (NUL byte)", label);
		return -EINVAL;
	}
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
		g_autofree char *at = where(label, first_bad_line(data, len));

		tund_why(why, why_len, "%s: %s", at, gerr->message);
		return -EINVAL;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g; g++) {
		g_auto(GStrv) names = NULL;
		struct tund_config_network *net = NULL;
		bool is_net = g_str_has_prefix(*g, NETWORK_GROUP);

		if (is_net) {
			const char *problem = NULL;

			net = network_section(cfg, *g + strlen(NETWORK_GROUP), &problem);
			if (!net) {
				g_autofree char *at = where(label, line_of(data, len, *g, NULL));

				tund_why(why, why_len, "%s: [%s]: %s", at, *g, problem);
				return -EINVAL;
			}
		} else if (!group_known(*g)) {
			g_autofree char *at = where(label, line_of(data, len, *g, NULL));

			tund_why(why, why_len, "%s: [%s]: unknown section", at, *g);
			return -EINVAL;
		}
		names = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (char **k = names; k && *k; k++) {
			const struct key_spec *spec = is_net ? NULL : find_key(*g, *k);
			const char *problem = "invalid value";
			g_autofree char *raw = NULL, *value = NULL;
			g_autofree char *at = where(label, line_of(data, len, *g, *k));

			if (!is_net && !spec) {
				tund_why(why, why_len, "%s: [%s] %s: unknown key", at, *g, *k);
				return -EINVAL;
			}
			raw = g_key_file_get_value(kf, *g, *k, NULL);
			value = strip_inline_comment(raw ? raw : "");
			if (is_net) {
				/* The value may hold a TURN password: not repeated. */
				bool ok = apply_network_key(net, *k, value, &problem);

				sodium_memzero(value, strlen(value));
				sodium_memzero(raw, raw ? strlen(raw) : 0);
				if (!ok) {
					tund_why(why, why_len, "%s: [%s] %s: %s", at, *g, *k,
						 problem);
					return -EINVAL;
				}
			} else if (!spec->apply(cfg, value, &problem)) {
				bool secret = spec->apply == apply_ice_turn;

				tund_why(why, why_len, "%s: [%s] %s: %s (got \"%s\")", at, *g,
					 *k, problem, secret ? "(not shown)" : value);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* The errno behind a GFileError, for the caller's return value. */
static int file_errno(const GError *gerr)
{
	switch (gerr->code) {
	case G_FILE_ERROR_NOENT:
		return ENOENT;
	case G_FILE_ERROR_ACCES:
	case G_FILE_ERROR_PERM:
		return EACCES;
	case G_FILE_ERROR_ISDIR:
		return EISDIR;
	case G_FILE_ERROR_NOMEM:
		return ENOMEM;
	default:
		return EIO;
	}
}

int tund_config_load(struct tund_config *cfg, const char *path, char *why, size_t why_len)
{
	g_autoptr(GError) gerr = NULL;
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		tund_why(why, why_len, "%s: cannot read: %s", path, gerr->message);
		return -file_errno(gerr);
	}
	return tund_config_parse(cfg, data, len, path, why, why_len);
}
