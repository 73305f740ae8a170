// SPDX-License-Identifier: MIT
/* PCP answers as they arrive from the gateway (RFC 6887): read as the
 * answer to a MAP request, to a delete and to an ANNOUNCE. What the parser
 * takes must hold what it promises. The request's nonce is the seeds'. */
#include <stdlib.h>
#include <string.h>

#include "tund/connect/pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tund_pcp_map map = {
	.nonce = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 },
	.client_ip = { 10, 1, 0, 10 },
	.int_port = 40000,
	.ext_port = 40000,
	.lifetime = 1800,
};

static void check(const uint8_t *data, size_t size, const struct tund_pcp_map *req)
{
	struct tund_pcp_answer a;
	enum tund_pcp_parsed p = tund_pcp_parse(data, size, req, &a, NULL);

	if (p == TUND_PCP_DROP || p == TUND_PCP_NATPMP_ONLY)
		return;
	if (p != TUND_PCP_ANSWER || size < TUND_PCP_HDR_LEN || size > TUND_PCP_MAX_LEN)
		abort();
	if (a.result != TUND_PCP_SUCCESS || !req)
		return;
	/* A success is a whole MAP answer for our nonce and port. */
	if (size < TUND_PCP_HDR_LEN + TUND_PCP_MAP_LEN ||
	    memcmp(data + TUND_PCP_HDR_LEN, req->nonce, TUND_PCP_NONCE_LEN) != 0)
		abort();
	if (req->lifetime && (!a.lifetime || !a.ext_port || !memcmp(a.ext_ip, "\0\0\0\0", 4)))
		abort();
	if (!req->lifetime && a.lifetime)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tund_pcp_map del = map;

	del.lifetime = 0;
	check(data, size, &map);
	check(data, size, &del);
	check(data, size, NULL);
	return 0;
}
