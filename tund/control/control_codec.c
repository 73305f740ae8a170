// SPDX-License-Identifier: MIT
#include "tund/control/control_codec.h"
#include "overlay/control_proto.h"

#include <errno.h>
#include <string.h>

#include "tund/daemon/log.h"

/* Deepest nesting of objects and arrays in the text, counted in one pass
 * without recursion; brackets inside strings do not count. Stops early
 * once past TUND_CONTROL_MAX_DEPTH. */
static unsigned nesting_depth(const char *s, size_t len)
{
	unsigned depth = 0, max = 0;
	bool in_string = false;

	for (size_t i = 0; i < len && max <= TUND_CONTROL_MAX_DEPTH; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\')
				i++; /* the escaped character cannot end the string */
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

int tund_control_decode_request(const char *line, size_t len, JsonObject **out,
				const char **cmd, char *why, size_t why_len)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) gerr = NULL;
	JsonNode *root, *c;
	JsonObject *obj;

	if (len > TUND_CONTROL_MAX_REQUEST) {
		tund_why(why, why_len, "request too large");
		return -EMSGSIZE;
	}
	if (memchr(line, '\0', len) || !g_utf8_validate(line, (gssize)len, NULL)) {
		tund_why(why, why_len, "request is not UTF-8 text");
		return -EINVAL;
	}
	if (nesting_depth(line, len) > TUND_CONTROL_MAX_DEPTH) {
		tund_why(why, why_len, "request nested deeper than %d levels",
			 TUND_CONTROL_MAX_DEPTH);
		return -EINVAL;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, line, (gssize)len, &gerr)) {
		tund_why(why, why_len, "malformed JSON: %s", gerr->message);
		return -EINVAL;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		tund_why(why, why_len, "request must be a JSON object");
		return -EINVAL;
	}
	obj = json_node_get_object(root);
	c = json_object_get_member(obj, TUND_KEY_CMD);
	if (!c || !JSON_NODE_HOLDS_VALUE(c) || json_node_get_value_type(c) != G_TYPE_STRING) {
		tund_why(why, why_len, "request needs a \"cmd\" string");
		return -EINVAL;
	}
	*cmd = json_node_get_string(c);
	/* The parser owns the tree; the reference keeps the object alive after. */
	*out = json_object_ref(obj);
	return 0;
}

static char *encode(JsonNode *root)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;

	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	return g_strconcat(text, "\n", NULL);
}

char *tund_control_encode_ok(JsonNode *result)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_OK);
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, TUND_KEY_RESULT);
	if (result)
		json_builder_add_value(b, result);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return encode(root);
}

char *tund_control_encode_error(const char *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, TUND_KEY_OK);
	json_builder_add_boolean_value(b, FALSE);
	json_builder_set_member_name(b, TUND_KEY_ERROR);
	json_builder_add_string_value(b, msg);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return encode(root);
}

const char *tund_req_string(JsonObject *req, const char *name)
{
	JsonNode *n = json_object_get_member(req, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}
