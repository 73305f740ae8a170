// SPDX-License-Identifier: MIT
/* doc/control-protocol.md against overlay/control_proto.h: every command has
 * its row in the request table and every key is named on the page, so the
 * document cannot fall behind what the daemon and tundctl speak. */
#include <glib.h>
#include <string.h>

#include "overlay/control_proto.h"
#include "tests/unit/unit.h"

/* The page of the tree these tests were built from (the Makefile gives
 * TUND_TOP; without it, the current directory is taken as the top). */
#ifndef TUND_TOP
#define TUND_TOP "."
#endif
static char *read_doc(void)
{
	char *text = NULL;

	g_file_get_contents(TUND_TOP "/doc/control-protocol.md", &text, NULL, NULL);
	return text;
}

UNIT_TEST(control_proto_doc_names_every_command)
{
	static const char *const cmds[] = { TUND_CONTROL_COMMANDS };
	g_autofree char *doc = read_doc();

	CHECK(doc != NULL);
	if (!doc)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
		g_autofree char *row = g_strdup_printf("| `%s` |", cmds[i]);

		if (!strstr(doc, row))
			fprintf(stderr, "  doc/control-protocol.md has no row for %s\n", cmds[i]);
		CHECK(strstr(doc, row) != NULL);
	}
}

UNIT_TEST(control_proto_doc_names_every_key)
{
	static const char *const keys[] = { TUND_CONTROL_KEYS };
	g_autofree char *doc = read_doc();

	CHECK(doc != NULL);
	if (!doc)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autofree char *quoted = g_strdup_printf("\"%s\"", keys[i]);
		g_autofree char *code = g_strdup_printf("`%s`", keys[i]);
		bool named = strstr(doc, quoted) || strstr(doc, code);

		if (!named)
			fprintf(stderr, "  doc/control-protocol.md does not name the key %s\n", keys[i]);
		CHECK(named);
	}
}

/* The names are the protocol: a few spelled out, so a slip in the header shows. */
UNIT_TEST(control_proto_spelling)
{
	CHECK(!strcmp(TUND_CMD_NETWORK_CREATE, "network.create"));
	CHECK(!strcmp(TUND_CMD_PEER_ADD, "peer.add"));
	CHECK(!strcmp(TUND_KEY_PUBLIC_KEY, "public_key"));
	CHECK(!strcmp(TUND_KEY_CMD, "cmd"));
}
