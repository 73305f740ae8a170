// SPDX-License-Identifier: MIT
/* tund_addrwatch_is_local: the check that tells a dead socket address from a
 * live one (loopback is always there; TEST-NET-1 is never ours). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <glib.h>

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

/* tund_addrwatch_gone: the decision a path makes on an address loss. */
UNIT_TEST(addrwatch_gone_only_for_a_lost_address)
{
	struct tund_addrwatch_change ch = { .removed = true, .n_removed = 2,
					    .removed_ip = { "192.0.2.123", "2001:db8::1" } };

	/* Listed and not ours: gone, IPv6 in any spelling. */
	CHECK(tund_addrwatch_gone(&ch, "192.0.2.123"));
	CHECK(tund_addrwatch_gone(&ch, "2001:db8:0::1"));
	/* Not listed: another address went; this one is left alone. */
	CHECK(!tund_addrwatch_gone(&ch, "192.0.2.124"));
	/* Listed but ours again (it went and came back): not gone. */
	g_strlcpy(ch.removed_ip[1], "127.0.0.1", sizeof(ch.removed_ip[1]));
	CHECK(!tund_addrwatch_gone(&ch, "127.0.0.1"));
	/* Which went is unknown: every address not ours is gone. */
	ch.unknown = true;
	CHECK(tund_addrwatch_gone(&ch, "192.0.2.124"));
	CHECK(!tund_addrwatch_gone(&ch, "127.0.0.1"));
	/* Nothing unparsable or empty is gone, nor anything when only
	 * addresses were added. */
	CHECK(!tund_addrwatch_gone(&ch, ""));
	CHECK(!tund_addrwatch_gone(&ch, "not-an-ip"));
	ch.removed = false;
	CHECK(!tund_addrwatch_gone(&ch, "192.0.2.123"));
}
