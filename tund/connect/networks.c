// SPDX-License-Identifier: MIT
/* The joined networks: networks.json, start and stop. */
#include <sodium.h>
#include <string.h>

#include "overlay/network.h"
#include "tund/connect/member_relay.h"
#include "tund/connect/membership.h"
#include "tund/connect/networks.h"
#include "tund/daemon/log.h"
#include "tund/daemon/state.h"
#include "tund/daemon/statefile.h"

/* ---- networks.json: each network is stored as its invite ---- */

/* The entry's "invite" string, or NULL when absent or not a string. */
static const char *invite_of(JsonObject *o)
{
	JsonNode *n = json_object_get_member(o, "invite");

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

int tund_networks_save(struct tund_daemon *d)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "networks");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->networks->len; i++) {
		char invite[TUND_INVITE_MAX_TEXT];

		if (!tund_invite_encode(tund_membership_network(g_ptr_array_index(d->networks, i)),
					invite, sizeof(invite)))
			continue;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "invite");
		json_builder_add_string_value(b, invite);
		tund_member_relay_save(d, tund_membership_network(g_ptr_array_index(d->networks, i))->name, b);
		json_builder_end_object(b);
		sodium_memzero(invite, sizeof(invite));
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return tund_statefile_write_json(d->networks_path, root); /* wipes the keys' text */
}

bool tund_networks_load(struct tund_daemon *d)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) gerr = NULL;
	g_autofree char *data = NULL;
	JsonNode *root, *list;
	GPtrArray *loaded;
	gsize len;

	d->networks = g_ptr_array_new();
	d->networks_path = g_build_filename(d->cfg.state_dir, "networks.json", NULL);
	if (!g_file_get_contents(d->networks_path, &data, &len, &gerr)) {
		if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return true;
		log_error("%s: %s", d->networks_path, gerr->message);
		return false;
	}
	if (!json_parser_load_from_data(parser, data, (gssize)len, NULL) ||
	    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root) ||
	    json_object_get_int_member_with_default(json_node_get_object(root), "version", 0) != 1 ||
	    !(list = json_object_get_member(json_node_get_object(root), "networks")) ||
	    !JSON_NODE_HOLDS_ARRAY(list)) {
		log_error("%s: not a tund networks file; refusing to start and leaving it as it is",
			  d->networks_path);
		sodium_memzero(data, len);
		return false;
	}
	/* Validate everything before starting anything. */
	loaded = g_ptr_array_new_with_free_func(g_free);
	JsonArray *a = json_node_get_array(list);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);
		struct tund_network *net = g_new0(struct tund_network, 1);
		const char *why = "not an object";
		const char *invite = JSON_NODE_HOLDS_OBJECT(e) ? invite_of(json_node_get_object(e)) :
								 NULL;

		g_ptr_array_add(loaded, net);
		if (!invite || !tund_invite_decode(invite, net, &why)) {
			log_error("%s: network %u: %s; refusing to start and leaving the file as "
				  "it is", d->networks_path, i, why);
			for (guint j = 0; j < loaded->len; j++)
				sodium_memzero(g_ptr_array_index(loaded, j), sizeof(*net));
			g_ptr_array_unref(loaded);
			sodium_memzero(data, len);
			return false;
		}
		tund_member_relay_load(d, net->name, json_node_get_object(e));
	}
	sodium_memzero(data, len);
	/* Started later, once the interface and data plane exist. */
	d->pending_networks = loaded;
	return true;
}

void tund_networks_start_pending(struct tund_daemon *d)
{
	for (guint i = 0; d->pending_networks && i < d->pending_networks->len; i++) {
		struct tund_network *net = g_ptr_array_index(d->pending_networks, i);

		g_ptr_array_add(d->networks, tund_membership_start(d, net, false));
		sodium_memzero(net, sizeof(*net));
	}
	g_clear_pointer(&d->pending_networks, g_ptr_array_unref);
}

void tund_networks_stop_all(struct tund_daemon *d)
{
	if (!d->networks)
		return;
	for (guint i = 0; i < d->networks->len; i++)
		tund_membership_stop(g_ptr_array_index(d->networks, i), false);
	g_ptr_array_unref(d->networks);
	d->networks = NULL;
}
