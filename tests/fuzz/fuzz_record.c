// SPDX-License-Identifier: MIT
/* Membership records, as they arrive inside record messages from the broker:
 * open against the fixed network's id and against the id they carry (so a
 * mutated id still reaches the fields behind it; the fuzzing build passes
 * the signature check), then the ordering rule must be a strict order. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/network.h"
#include "overlay/record.h"
#include "tests/fuzz/signal_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t netkey[32], rpriv[32], spriv[32], netid[16];
	static int ready;
	struct tund_record a, b;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		fuzz_signal_keys(netkey, rpriv, spriv);
		tund_network_id(netkey, netid);
		ready = 1;
	}
	if (tund_record_open(data, size, netid, &a) != TUND_RECORD_OK)
		memset(&a, 0, sizeof(a));
	if (size >= 20 && tund_record_open(data, size, data + 4, &b) == TUND_RECORD_OK) {
		if (tund_record_supersedes(&b, &b))
			abort(); /* irreflexive */
		if (a.kind && tund_record_supersedes(&a, &b) && tund_record_supersedes(&b, &a))
			abort(); /* antisymmetric */
		if (!tund_record_kind_str(b.kind)[0])
			abort();
	}
	return 0;
}
