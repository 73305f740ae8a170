// SPDX-License-Identifier: MIT
/* tund_addrwatch_is_local: the check that tells a dead socket address from a
 * live one (loopback is always there; TEST-NET-1 is never ours). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/unit/unit.h"
#include "tund/connect/addrwatch.h"

UNIT_TEST(addrwatch_is_local)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(1883) };
	struct sockaddr_in gone = lo;

	inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
	inet_pton(AF_INET, "192.0.2.123", &gone.sin_addr);
	CHECK(tund_addrwatch_is_local(&lo, sizeof(lo)));
	CHECK(!tund_addrwatch_is_local(&gone, sizeof(gone)));
}
