// SPDX-License-Identifier: MIT
#include "tund/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

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
	if (!*v || strchr(v, ' ')) {
		*problem = "expected HOST:PORT";
		return false;
	}
	g_free(cfg->ice_stun);
	cfg->ice_stun = g_strdup(v);
	return true;
}

static bool apply_ice_turn(struct tund_config *cfg, const char *v, const char **problem)
{
	if (!g_str_has_prefix(v, "turn://")) {
		*problem = "expected turn://USER:PASS@HOST:PORT?transport=udp|tcp";
		return false;
	}
	g_free(cfg->ice_turn);
	cfg->ice_turn = g_strdup(v);
	return true;
}

/* on/yes/true or off/no/false. */
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

static bool apply_offload(struct tund_config *cfg, const char *v, const char **problem)
{
	return parse_switch(v, &cfg->offload, problem);
}

static const struct key_spec keys[] = {
	{ "interface", "name", apply_name },
	{ "interface", "address", apply_address },
	{ "interface", "address6", apply_address6 },
	{ "interface", "mtu", apply_mtu },
	{ "interface", "listen_port", apply_listen_port },
	{ "interface", "broadcast", apply_broadcast },
	{ "interface", "offload", apply_offload },
	{ "paths", "state_dir", apply_state_dir },
	{ "paths", "control_socket", apply_control_socket },
	{ "ice", "port_range", apply_port_range },
	{ "ice", "stun", apply_ice_stun },
	{ "ice", "turn", apply_ice_turn },
};

void tund_config_init(struct tund_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	g_strlcpy(cfg->ifname, "tund0", sizeof(cfg->ifname));
	cfg->mtu = 1420;
	cfg->listen_port = 51820;
	cfg->broadcast = true;
	cfg->offload = true;
	cfg->state_dir = g_strdup(TUND_DEFAULT_STATE_DIR);
	cfg->control_socket = g_strdup(TUND_DEFAULT_SOCKET);
}

void tund_config_free(struct tund_config *cfg)
{
	g_free(cfg->state_dir);
	g_free(cfg->control_socket);
	g_free(cfg->ice_stun);
	g_free(cfg->ice_turn);
	cfg->state_dir = cfg->control_socket = cfg->ice_stun = cfg->ice_turn = NULL;
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

bool tund_config_parse(struct tund_config *cfg, const char *data, size_t len,
		       const char *label, char **err)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) gerr = NULL;
	g_auto(GStrv) groups = NULL;
	bool ok = false;

	if (memchr(data, '\0', len)) {
		*err = g_strdup_printf("%s: not a text file (NUL byte)", label);
		return false;
	}
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
		*err = g_strdup_printf("%s: %s", label, gerr->message);
		return false;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g; g++) {
		g_auto(GStrv) names = NULL;

		if (!group_known(*g)) {
			*err = g_strdup_printf("%s: [%s]: unknown section", label, *g);
			return false;
		}
		names = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (char **k = names; k && *k; k++) {
			const struct key_spec *spec = find_key(*g, *k);
			const char *problem = "invalid value";
			g_autofree char *raw = NULL, *value = NULL;

			if (!spec) {
				*err = g_strdup_printf("%s: [%s] %s: unknown key", label, *g, *k);
				return false;
			}
			raw = g_key_file_get_value(kf, *g, *k, NULL);
			value = strip_inline_comment(raw ? raw : "");
			if (!spec->apply(cfg, value, &problem)) {
				*err = g_strdup_printf("%s: [%s] %s: %s (got \"%s\")", label, *g,
						       *k, problem, value);
				return false;
			}
		}
	}
	ok = true;
	return ok;
}

bool tund_config_load(struct tund_config *cfg, const char *path, char **err)
{
	g_autoptr(GError) gerr = NULL;
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		*err = g_strdup_printf("%s: cannot read: %s", path, gerr->message);
		return false;
	}
	return tund_config_parse(cfg, data, len, path, err);
}
