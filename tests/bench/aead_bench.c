// SPDX-License-Identifier: MIT
/* The transport AEAD's backends side by side (overlay/aead.h): MB per
 * second of the thread's CPU time (so a busy machine does not count against
 * either) sealing and opening packets of each size with libsodium and with
 * OpenSSL, OpenSSL also keyed afresh for every packet (what its per-thread
 * context saves), and what tund's auto mode chooses on this machine. For
 * `make bench`.
 *
 *   aead_bench [CPU MILLISECONDS per size and backend, default 200] */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/aead.h"

static const size_t sizes[] = { 64, 128, 256, 512, 1024, 1420, 4096, 8192, 65535 };

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* MB per CPU-second of one backend over len-byte packets for ms of CPU
 * time: seal (open false) or open what was sealed (the same packet, so
 * every open authenticates); rekey: a wipe before every packet. Negative if
 * a call failed. */
static double rate(const struct tund_aead_ops *ops, const uint8_t *key, uint8_t *buf,
		   size_t len, unsigned ms, int open, int rekey)
{
	uint8_t tag[TUND_AEAD_TAG_LEN], nonce[TUND_AEAD_NONCE_LEN], *copy = malloc(len + 1);
	uint64_t start, now, n = 0;
	double mbps = -1;

	if (!copy)
		return -1;
	tund_aead_nonce(nonce, 1);
	if (!ops->seal(key, nonce, NULL, 0, buf, len, tag))
		goto out;
	start = cpu_ns();
	do {
		for (int i = 0; i < 32; i++, n++) {
			if (rekey)
				ops->wipe();
			if (open) {
				memcpy(copy, buf, len);
				if (!ops->open(key, nonce, NULL, 0, copy, len, tag))
					goto out;
			} else if (!ops->seal(key, nonce, NULL, 0, buf, len, tag)) {
				goto out;
			}
		}
		now = cpu_ns();
	} while (now - start < (uint64_t)ms * 1000000);
	mbps = (double)(n * len) * 1000.0 / (double)(now - start);
out:
	ops->wipe();
	free(copy);
	return mbps;
}

static void print_choice(void)
{
	struct tund_aead_choice c;
	int err = tund_aead_setup(TUND_AEAD_MODE_AUTO, &c);

	if (err) {
		printf("auto mode: setup failed (%s)\n", strerror(-err));
		return;
	}
	if (c.openssl_from == SIZE_MAX)
		printf("choice (%s): libsodium for every size\n", tund_aead_mode_name(c.mode));
	else
		printf("choice (%s): openssl from %zu bytes, libsodium below\n",
		       tund_aead_mode_name(c.mode), c.openssl_from);
}

int main(int argc, char **argv)
{
	unsigned ms = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
	uint8_t key[TUND_AEAD_KEY_LEN], *buf = malloc(65536);

	if (sodium_init() < 0 || !buf || !ms) {
		fprintf(stderr, "usage: aead_bench [MILLISECONDS]\n");
		return 2;
	}
	randombytes_buf(key, sizeof(key));
	printf("%-6s %12s %12s %12s %12s %12s\n", "bytes", "sodium-seal", "openssl-seal",
	       "sodium-open", "openssl-open", "ossl-rekeyed");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		double r[5];

		randombytes_buf(buf, len);
		r[0] = rate(&tund_aead_sodium, key, buf, len, ms, 0, 0);
		r[1] = rate(&tund_aead_openssl, key, buf, len, ms, 0, 0);
		r[2] = rate(&tund_aead_sodium, key, buf, len, ms, 1, 0);
		r[3] = rate(&tund_aead_openssl, key, buf, len, ms, 1, 0);
		r[4] = rate(&tund_aead_openssl, key, buf, len, ms, 0, 1);
		for (int k = 0; k < 5; k++)
			if (r[k] < 0) {
				fprintf(stderr, "aead_bench: a backend failed at %zu bytes\n", len);
				return 1;
			}
		printf("%-6zu %12.0f %12.0f %12.0f %12.0f %12.0f\n", len, r[0], r[1], r[2], r[3],
		       r[4]);
	}
	print_choice();
	sodium_memzero(key, sizeof(key));
	free(buf);
	return 0;
}
