// SPDX-License-Identifier: MIT
/* Packets read from the TUN: classification, then the source rewrite on a
 * copy. A rewrite that succeeds must keep the length fields and the payload
 * past the transport checksum as they were. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "overlay/bcast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t src[4] = { 10, 77, 0, 1 };
	static const uint8_t src6[16] = { 0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct tund_cidr o = { .family = AF_INET, .addr = { 10, 77, 0, 1 } };
	uint8_t *copy;

	if (size > 0)
		o.prefix = data[0] % 33;
	(void)tund_bcast_is_fanout(data, size, NULL);
	(void)tund_bcast_is_fanout(data, size, &o);

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (tund_bcast_rewrite_source(copy, size, src)) {
		if (size < 20 || memcmp(copy + 12, src, 4) ||
		    memcmp(copy, data, 10) || memcmp(copy + 16, data + 16, 4))
			abort();
	} else if (size && memcmp(copy, data, size)) {
		abort(); /* a refused packet is left untouched */
	}
	memcpy(copy, data, size);
	if (tund_bcast_rewrite_source6(copy, size, src6)) {
		if (size < 40 || memcmp(copy + 8, src6, 16) || memcmp(copy, data, 8) ||
		    memcmp(copy + 24, data + 24, 16))
			abort();
	} else if (size && memcmp(copy, data, size)) {
		abort();
	}
	free(copy);
	return 0;
}
