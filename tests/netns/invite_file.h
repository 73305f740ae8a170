/* SPDX-License-Identifier: MIT */
/* The attack probes read the network key from an invite in a file, never
 * from their command line (it would sit in ps and the shell history). */
#ifndef TUND_TESTS_NETNS_INVITE_FILE_H
#define TUND_TESTS_NETNS_INVITE_FILE_H

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>

#include "overlay/network.h"

/* Decodes the invite in path into net; false with *why on failure. The text
 * read is wiped. */
static inline bool read_invite_file(const char *path, struct tund_network *net, const char **why)
{
	static char text[TUND_INVITE_MAX_TEXT];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	bool ok;

	if (f)
		fclose(f);
	text[n] = '\0';
	ok = tund_invite_decode(text, net, why);
	sodium_memzero(text, sizeof(text));
	return ok;
}

#endif
