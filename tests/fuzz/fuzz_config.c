// SPDX-License-Identifier: MIT
/* The config loader and the peer state file parser: both read files a person
 * may have edited by hand. */
#include <stdint.h>

#include "tund/daemon/config.h"
#include "tund/daemon/log.h"
#include "tund/daemon/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_config cfg;
	struct tund_peer_list peers;
	char why[TUND_WHY_LEN];

	tund_config_init(&cfg);
	tund_config_parse(&cfg, (const char *)data, size, "fuzz", why, sizeof(why));
	tund_config_free(&cfg);

	tund_peer_list_init(&peers);
	tund_peer_list_parse(&peers, (const char *)data, size, why, sizeof(why));
	tund_peer_list_clear(&peers);
	return 0;
}
