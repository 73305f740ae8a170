// SPDX-License-Identifier: MIT
#include "tund/connect/records_file.h"

#include <errno.h>
#include <json-glib/json-glib.h>

#include "overlay/record.h"
#include "tund/daemon/log.h"
#include "tund/daemon/statefile.h"

/* A network holds one record per subject: members plus blocked keys. */
enum { RECORDS_FILE_MAX = 100000 };

int tund_records_file_load(const char *path, GPtrArray **out, char *why, size_t why_len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) gerr = NULL;
	g_autofree char *data = NULL;
	GPtrArray *raws;
	JsonNode *root, *list;
	JsonArray *a;
	gsize len;

	*out = NULL;
	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return -ENOENT;
		tund_why(why, why_len, "%s", gerr->message);
		return -EIO;
	}
	if (!json_parser_load_from_data(parser, data, (gssize)len, NULL) ||
	    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root) ||
	    json_object_get_int_member_with_default(json_node_get_object(root), "version", 0) != 1 ||
	    !(list = json_object_get_member(json_node_get_object(root), "records")) ||
	    !JSON_NODE_HOLDS_ARRAY(list)) {
		tund_why(why, why_len, "not a tund records file");
		return -EINVAL;
	}
	a = json_node_get_array(list);
	if (json_array_get_length(a) > RECORDS_FILE_MAX) {
		tund_why(why, why_len, "more than %d records", RECORDS_FILE_MAX);
		return -EINVAL;
	}
	raws = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);
		const char *text = JSON_NODE_HOLDS_VALUE(e) &&
						   json_node_get_value_type(e) == G_TYPE_STRING ?
					   json_node_get_string(e) :
					   NULL;
		gsize n = 0;
		guchar *raw = text ? g_base64_decode(text, &n) : NULL;

		if (!raw || n != TUND_RECORD_LEN) {
			g_free(raw);
			g_ptr_array_unref(raws);
			tund_why(why, why_len, "record %u: expected the base64 of %d bytes", i,
				 TUND_RECORD_LEN);
			return -EINVAL;
		}
		g_ptr_array_add(raws, g_bytes_new_take(raw, n));
	}
	*out = raws;
	return 0;
}

int tund_records_file_save(const char *path, GPtrArray *raws)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "records");
	json_builder_begin_array(b);
	for (guint i = 0; i < raws->len; i++) {
		gsize n;
		const guchar *raw = g_bytes_get_data(g_ptr_array_index(raws, i), &n);
		g_autofree char *enc = g_base64_encode(raw, n);

		json_builder_add_string_value(b, enc);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return tund_statefile_write_json(path, root);
}
