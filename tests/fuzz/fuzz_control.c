// SPDX-License-Identifier: MIT
/* Control requests: the line decoder (with its nesting bound), then the peer
 * argument validators on whatever object came in. */
#include <stdint.h>

#include "tund/control/control_codec.h"
#include "tund/daemon/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cmd = NULL;
	char *err = NULL;
	JsonObject *req = tund_control_decode_request((const char *)data, size, &cmd, &err);

	if (!req) {
		g_free(err);
		return 0;
	}
	/* peer.add's validator, then the state file's (which takes state and
	 * network too) on the same object. */
	struct tund_peer *p = tund_peer_from_request(req, &err);
	tund_peer_free(p);
	g_free(err);
	err = NULL;
	p = tund_peer_from_json(req, &err);
	if (p) {
		JsonNode *n = tund_peer_to_json(p, false);
		g_free(tund_control_encode_ok(n));
		tund_peer_free(p);
	} else {
		g_free(tund_control_encode_error(err));
		g_free(err);
	}
	json_object_unref(req);
	return 0;
}
