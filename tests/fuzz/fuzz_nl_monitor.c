// SPDX-License-Identifier: MIT
/* rtnetlink datagrams as netlink/monitor.c decodes them: every event it
 * hands on names an interface and a known kind, and no header length, however
 * large, takes the walk past the datagram (ASan); an address it decodes has
 * its family's size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *ctx, const struct tund_nl_event *ev)
{
	(void)ctx;
	if (ev->ifindex <= 0 || ev->kind > TUND_NL_LINK_DEL)
		abort();
	/* An address only on address events, of its family's size. */
	if (ev->addr_len && (ev->kind > TUND_NL_ADDR_DEL ||
			     ev->addr_len != (ev->family == 2 /* AF_INET */ ? 4u : 16u)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the datagram's size, aligned as the reader's buffer is. */
	uint64_t *buf = malloc(size / 8 * 8 + 8);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	(void)tund_nl_monitor_parse(buf, size, check, NULL);
	free(buf);
	return 0;
}
