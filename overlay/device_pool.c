// SPDX-License-Identifier: MIT
/* A batch's seals or opens spread over the crypto pool (overlay/pool.h):
 * the batch is cut into up to TUND_WG_POOL_SLICES runs of about equal
 * bytes, each run worked by whichever thread takes it (the calling packet
 * thread among them), released in the batch's order. */
#include "overlay/device_priv.h"

/* A packet's weight is len: the TUN packet to seal, or the datagram to open. */
static size_t sealed_bytes(const struct tund_wg_packet *pkts, size_t n, size_t *count)
{
	size_t bytes = 0;

	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (pkts[i].sealed) {
			bytes += pkts[i].len;
			(*count)++;
		}
	return bytes;
}

/* Cuts pkts into slices of about bytes / want sealed bytes each. */
static size_t cut(struct tund_wg_slice *slices, size_t want, struct tund_wg *wg,
		  struct tund_wg_packet *pkts, size_t n, size_t bytes,
		  uint8_t (*keys)[TUND_NOISE_SYMMETRIC_KEY_LEN], const struct tund_wg_clock *now)
{
	size_t n_slices = 0, start = 0, acc = 0;

	for (size_t i = 0; i < n; i++) {
		if (pkts[i].sealed)
			acc += pkts[i].len;
		if (i + 1 < n && acc * want < bytes * (n_slices + 1))
			continue;
		if (n_slices + 1 == want && i + 1 < n)
			continue; /* the last slice takes the rest */
		slices[n_slices++] = (struct tund_wg_slice){
			.wg = wg, .pkts = pkts + start, .n = i + 1 - start, .keys = keys, .now = now
		};
		start = i + 1;
	}
	return n_slices;
}

bool tund_wg_pool_batch(struct tund_pool_queue *q, struct tund_wg *wg,
			struct tund_wg_packet *pkts, size_t n,
			uint8_t (*keys)[TUND_NOISE_SYMMETRIC_KEY_LEN],
			const struct tund_wg_clock *now, tund_pool_work_fn work,
			tund_pool_release_fn release)
{
	struct tund_wg_slice slices[TUND_WG_POOL_SLICES];
	size_t count, bytes, want, n_slices, submitted = 0;

	if (!q || n > TUND_WG_BATCH_MAX)
		return false;
	bytes = sealed_bytes(pkts, n, &count);
	if (count < TUND_WG_POOL_MIN || bytes < TUND_WG_POOL_MIN_BYTES)
		return false;
	want = count / (TUND_WG_POOL_MIN / 2);
	if (want > TUND_WG_POOL_SLICES)
		want = TUND_WG_POOL_SLICES;
	n_slices = cut(slices, want, wg, pkts, n, bytes, keys, now);
	while (submitted < n_slices && !tund_pool_submit(q, &slices[submitted], work, release))
		submitted++;
	tund_pool_drain(q);
	/* A stopped pool took no more: the rest is dropped, still in order. */
	for (size_t i = submitted; i < n_slices; i++)
		release(&slices[i], false);
	return true;
}
