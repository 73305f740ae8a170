// SPDX-License-Identifier: MIT
/* Control requests: the line decoder (with its nesting bound), then the peer
 * argument validators on whatever object came in. */
#include <stdint.h>

#include "tund/control/control_codec.h"
#include "tund/daemon/log.h"
#include "tund/daemon/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cmd = NULL;
	char why[TUND_WHY_LEN];
	JsonObject *req = NULL;
	struct tund_peer *p = NULL;

	if (tund_control_decode_request((const char *)data, size, &req, &cmd, why,
					sizeof(why)) < 0)
		return 0;
	/* peer.add's validator, then the state file's (which takes state and
	 * network too) on the same object. */
	if (tund_peer_from_request(req, &p, why, sizeof(why)) == 0)
		tund_peer_free(p);
	p = NULL;
	if (tund_peer_from_json(req, &p, why, sizeof(why)) == 0) {
		JsonNode *n = tund_peer_to_json(p, false);
		g_free(tund_control_encode_ok(n));
		tund_peer_free(p);
	} else {
		g_free(tund_control_encode_error(why));
	}
	json_object_unref(req);
	return 0;
}
