// SPDX-License-Identifier: MIT
/* tundctl netcheck: what the network between this node and its servers lets
 * through, as found by tund (tund/connect/netcheck.c). */
#include <stdio.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "overlay/control_proto.h"

/* The daemon's steps run in parallel with 3 s timeouts; leave ample room. */
#define NETCHECK_TIMEOUT_MS 30000

static const char usage[] =
	"Usage: tundctl netcheck [--json]\n"
	"\n"
	"Has tund probe the network (takes up to about 10 s): the NAT's mapping\n"
	"behaviour and public address from STUN, whether the MQTT broker, the STUN\n"
	"server and each TURN server answer; which router port-mapping protocol\n"
	"(PCP, NAT-PMP, UPnP-IGD) answered and the addresses mapped for ICE.\n"
	"\n"
	"  --json   print the daemon's result object as JSON\n"
	"  --help   show this help\n";

static JsonObject *object_member(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static void print_clean(const char *fmt_label, const char *value)
{
	char *clean = tund_format_sanitize(value ? value : "-");

	printf("%s%s\n", fmt_label, clean);
	g_free(clean);
}

/* "  LABEL URL: reachable" or "unreachable (ERROR)" or "not configured". */
static void reach_line(const char *label, JsonObject *o, const char *name_field)
{
	const char *what = tund_client_get_string(o, name_field);
	const char *error = tund_client_get_string(o, TUND_KEY_ERROR);
	JsonNode *r = o ? json_object_get_member(o, TUND_KEY_REACHABLE) : NULL;
	char *cwhat = tund_format_sanitize(what ? what : "-");
	char *cerr = tund_format_sanitize(error ? error : "");

	if (!o || !what)
		printf("%s: not configured\n", label);
	else if (!r || !JSON_NODE_HOLDS_VALUE(r) ||
		 json_node_get_value_type(r) != G_TYPE_BOOLEAN)
		printf("%s %s: -\n", label, cwhat);
	else if (json_node_get_boolean(r))
		printf("%s %s: reachable\n", label, cwhat);
	else if (*cerr)
		printf("%s %s: unreachable (%s)\n", label, cwhat, cerr);
	else
		printf("%s %s: unreachable\n", label, cwhat);
	g_free(cwhat);
	g_free(cerr);
}

/* "port mapping: upnp on GW, external IP" and the mapped addresses. */
static void portmap_lines(JsonObject *pm)
{
	const char *proto = tund_client_get_string(pm, TUND_KEY_PROTOCOL);
	const char *error = tund_client_get_string(pm, TUND_KEY_ERROR);
	JsonNode *maps = pm ? json_object_get_member(pm, TUND_KEY_MAPPINGS) : NULL;
	GString *line = g_string_new(NULL);

	if (proto)
		g_string_printf(line, "%s on %s, external address %s", proto,
				tund_client_get_string(pm, TUND_KEY_GATEWAY) ?: "-",
				tund_client_get_string(pm, TUND_KEY_EXTERNAL) ?: "-");
	else if (pm && json_object_get_boolean_member_with_default(pm, TUND_KEY_DISCOVERING, FALSE))
		g_string_assign(line, "looking for a router");
	else
		g_string_printf(line, "none (%s)", error ? error : "no router offers it");
	print_clean("port mapping: ", line->str);
	g_string_truncate(line, 0);
	if (maps && JSON_NODE_HOLDS_ARRAY(maps)) {
		JsonArray *a = json_node_get_array(maps);

		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *n = json_array_get_element(a, i);
			JsonObject *m = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
			const char *ext = tund_client_get_string(m, TUND_KEY_EXTERNAL);
			const char *in = tund_client_get_string(m, TUND_KEY_INTERNAL);

			if (ext && in)
				g_string_append_printf(line, "%s%s -> %s", line->len ? ", " : "", ext, in);
		}
	}
	print_clean("mapped address: ", line->len ? line->str : NULL);
	g_string_free(line, TRUE);
}

/* "IPv6: ADDR, ..." (global addresses ICE offers) or "IPv6: none". Not
 * printed by a daemon that does not report it. */
static void ipv6_line(JsonNode *v6)
{
	GString *list = g_string_new(NULL);

	if (!v6 || !JSON_NODE_HOLDS_ARRAY(v6)) {
		g_string_free(list, TRUE);
		return;
	}
	JsonArray *a = json_node_get_array(v6);

	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);

		if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
			g_string_append_printf(list, "%s%s", list->len ? ", " : "",
					       json_node_get_string(n));
	}
	print_clean("IPv6: ", list->len ? list->str : "none (no global address)");
	g_string_free(list, TRUE);
}

static void print_netcheck(JsonObject *o)
{
	JsonObject *nat = object_member(o, TUND_KEY_NAT);
	JsonNode *pub = nat ? json_object_get_member(nat, TUND_KEY_PUBLIC) : NULL;
	JsonNode *turn = json_object_get_member(o, TUND_KEY_TURN);
	GString *list = g_string_new(NULL);

	print_clean("NAT mapping:   ", tund_client_get_string(nat, TUND_KEY_MAPPING));
	print_clean("NAT filtering: ", tund_client_get_string(nat, TUND_KEY_FILTERING));
	if (pub && JSON_NODE_HOLDS_ARRAY(pub)) {
		JsonArray *a = json_node_get_array(pub);

		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *n = json_array_get_element(a, i);

			if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
				continue;
			g_string_append_printf(list, "%s%s", list->len ? ", " : "",
					       json_node_get_string(n));
		}
	}
	print_clean("public address: ", list->len ? list->str : NULL);
	g_string_free(list, TRUE);
	reach_line("broker", object_member(o, TUND_KEY_BROKER), TUND_KEY_URL);
	reach_line("STUN", object_member(o, TUND_KEY_STUN), TUND_KEY_SERVER);
	if (turn && JSON_NODE_HOLDS_ARRAY(turn) && json_array_get_length(json_node_get_array(turn))) {
		JsonArray *a = json_node_get_array(turn);

		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *n = json_array_get_element(a, i);

			if (JSON_NODE_HOLDS_OBJECT(n))
				reach_line("TURN", json_node_get_object(n), TUND_KEY_URL);
		}
	} else {
		puts("TURN: not configured");
	}
	portmap_lines(object_member(o, TUND_KEY_PORTMAP));
	ipv6_line(json_object_get_member(o, TUND_KEY_IPV6));
}

int netcheck_main(int argc, char **argv, const char *sock)
{
	JsonNode *result = NULL;
	JsonObject *req;
	bool json;
	int ret;

	if ((ret = ctl_parse_json_only(argc, argv, "netcheck", usage, &json)) >= 0)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_NETCHECK);
	ret = ctl_call_timeout(sock, req, &result, NETCHECK_TIMEOUT_MS);
	if (ret)
		return ret;
	if (!JSON_NODE_HOLDS_OBJECT(result))
		ret = ctl_fail("malformed reply from tund: result is not an object");
	else if (json)
		ctl_print_json(result);
	else
		print_netcheck(json_node_get_object(result));
	json_node_unref(result);
	return ret;
}
