// SPDX-License-Identifier: MIT
/* The config loader and the peer state file parser: both read files a person
 * may have edited by hand. */
#include <stdint.h>

#include "tund/daemon/config.h"
#include "tund/daemon/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_config cfg;
	struct tund_peer_list peers;
	char *err = NULL;

	tund_config_init(&cfg);
	if (!tund_config_parse(&cfg, (const char *)data, size, "fuzz", &err))
		g_free(err);
	tund_config_free(&cfg);

	err = NULL;
	tund_peer_list_init(&peers);
	if (!tund_peer_list_parse(&peers, (const char *)data, size, &err))
		g_free(err);
	tund_peer_list_clear(&peers);
	return 0;
}
