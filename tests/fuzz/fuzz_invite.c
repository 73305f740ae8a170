// SPDX-License-Identifier: MIT
/* Invite decoding (text pasted by a person or received from anyone), and the
 * URL parsers it relies on. A decoded invite must re-encode to an invite that
 * decodes to the same network. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tund_network a, b;
	static char again[TUND_INVITE_MAX_TEXT];
	struct tund_broker br;
	struct tund_stun_server st;
	struct tund_turn_server tu;
	char *text;
	const char *why = NULL;

	if (size > 2 * TUND_INVITE_MAX_TEXT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (tund_invite_decode(text, &a, &why)) {
		size_t n = tund_invite_encode(&a, again, sizeof(again));
		if (!n || !tund_invite_decode(again, &b, &why) ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		for (unsigned i = 0; i < 16; i++) {
			uint8_t pk[32] = { (uint8_t)i }, v4[4], v6[16];
			if (!tund_network_address(&a, pk, i, v4, v6) ||
			    !tund_cidr_contains(&a.prefix4, v4))
				abort();
		}
	} else if (!why) {
		abort();
	}
	tund_parse_broker_url(text, &br, &why);
	tund_parse_stun(text, &st, &why);
	if (tund_parse_turn_url(text, &tu, &why)) {
		char url[1024];
		struct tund_turn_server tu2;
		if (!tund_format_turn_url(&tu, TUND_TURN_FULL, url, sizeof(url)) ||
		    !tund_parse_turn_url(url, &tu2, &why) || strcmp(tu.user, tu2.user) ||
		    strcmp(tu.pass, tu2.pass) || strcmp(tu.host, tu2.host) || tu.port != tu2.port ||
		    tu.tcp != tu2.tcp)
			abort();
	}
	free(text);
	return 0;
}
