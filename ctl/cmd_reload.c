// SPDX-License-Identifier: MIT
/* tundctl reload: tund re-reads its config file. */
#include <stdio.h>

#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/format.h"
#include "overlay/control_proto.h"

static const char usage[] =
	"Usage: tundctl reload [--json]\n"
	"\n"
	"Makes tund re-read its config file (as SIGHUP does) and apply the STUN/TURN\n"
	"and broker settings ([ice] stun, [ice] turn, [network NAME] broker, stun,\n"
	"turn) at once: new ICE sessions use the new servers, a changed broker is\n"
	"reconnected and announced to; paths that work keep working. Settings used\n"
	"only at start (interface, addresses, MTU, listen_port, paths, port_range,\n"
	"fast_path, user) are listed as needing a restart and keep their running values.\n"
	"A config that does not parse is refused with its file:line problem (exit\n"
	"status 1) and the running config stays in force.\n"
	"\n"
	"  --json   print the daemon's result object as JSON\n"
	"  --help   show this help\n";

static void print_list(const char *title, JsonObject *o, const char *member)
{
	JsonNode *node = json_object_get_member(o, member);
	JsonArray *a = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;

	if (!a || !json_array_get_length(a))
		return;
	printf("%s:\n", title);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		char *clean;

		if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
			continue;
		clean = tund_format_sanitize(json_node_get_string(n));
		printf("  %s\n", clean);
		g_free(clean);
	}
}

int reload_main(int argc, char **argv, const char *sock)
{
	JsonNode *result = NULL;
	JsonObject *req, *o;
	bool json;
	char *path;
	int ret;

	if ((ret = ctl_parse_json_only(argc, argv, "reload", usage, &json)) >= 0)
		return ret;
	req = json_object_new();
	json_object_set_string_member(req, TUND_KEY_CMD, TUND_CMD_RELOAD);
	ret = ctl_call(sock, req, &result);
	if (ret)
		return ret;
	if (!JSON_NODE_HOLDS_OBJECT(result)) {
		json_node_unref(result);
		return ctl_fail("malformed reply from tund");
	}
	if (json) {
		ctl_print_json(result);
		json_node_unref(result);
		return CTL_EXIT_OK;
	}
	o = json_node_get_object(result);
	path = tund_format_sanitize(tund_client_get_string(o, TUND_KEY_CONFIG) ?
					    tund_client_get_string(o, TUND_KEY_CONFIG) : "-");
	printf("reloaded %s\n", path);
	g_free(path);
	print_list("applied", o, TUND_KEY_APPLIED);
	print_list("changed but needs a restart (running values kept)", o, TUND_KEY_NEEDS_RESTART);
	json_node_unref(result);
	return CTL_EXIT_OK;
}
