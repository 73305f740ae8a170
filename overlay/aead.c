// SPDX-License-Identifier: MIT
/* Which backend seals and opens a packet of a given length, and the
 * measurement at start-up that decides it (overlay/aead.h). */
#include "overlay/aead.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/messages.h"

const size_t tund_aead_probe_sizes[TUND_AEAD_PROBE_SIZES] = { 64, 256, 512, 1024, 1420, 8192 };

/* Each size and backend runs for this much of the thread's CPU time (not
 * wall time: a thread preempted on a busy machine is not counted slower),
 * REPS times, interleaved, and the best rate counts. */
#define PROBE_NS 2000000ULL
#define PROBE_REPS 3
/* OpenSSL must win by this factor: a near tie stays with libsodium, so that
 * noise does not decide. */
#define WIN_BY 1.05

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tund_aead_choice choice; /* under lock */
static atomic_bool set_up;
static atomic_size_t openssl_from = SIZE_MAX;

void tund_aead_nonce(uint8_t nonce[TUND_AEAD_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	tund_le64_put(nonce + 4, counter);
}

const struct tund_aead_ops *tund_aead_ops(enum tund_aead_backend b)
{
	return b == TUND_AEAD_OPENSSL ? &tund_aead_openssl : &tund_aead_sodium;
}

static const char *const mode_names[] = {
	[TUND_AEAD_MODE_AUTO] = "auto",
	[TUND_AEAD_MODE_SODIUM] = "sodium",
	[TUND_AEAD_MODE_OPENSSL] = "openssl",
};

bool tund_aead_mode_parse(const char *s, enum tund_aead_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum tund_aead_mode)i;
			return true;
		}
	}
	return false;
}

const char *tund_aead_mode_name(enum tund_aead_mode mode)
{
	return mode_names[mode];
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* MB per CPU-second of ops sealing len bytes for PROBE_NS; 0 if it failed. */
static double seal_rate(const struct tund_aead_ops *ops, const uint8_t *key, uint8_t *buf,
			size_t len)
{
	uint8_t tag[TUND_AEAD_TAG_LEN], nonce[TUND_AEAD_NONCE_LEN];
	uint64_t start = cpu_ns(), now, n = 0;

	do {
		for (int i = 0; i < 16; i++, n++) {
			tund_aead_nonce(nonce, n);
			if (!ops->seal(key, nonce, NULL, 0, buf, len, tag))
				return 0;
		}
		now = cpu_ns();
	} while (now - start < PROBE_NS);
	return (double)(n * len) * 1000.0 / (double)(now - start);
}

/* Both backends seal the same bytes alike: OpenSSL is used only if so. */
static bool openssl_agrees(const uint8_t *key)
{
	uint8_t a[1420], b[1420], ta[TUND_AEAD_TAG_LEN], tb[TUND_AEAD_TAG_LEN];
	uint8_t nonce[TUND_AEAD_NONCE_LEN];

	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	tund_aead_nonce(nonce, 7);
	tund_aead_sodium.seal(key, nonce, NULL, 0, a, sizeof(a), ta);
	return tund_aead_openssl.seal(key, nonce, NULL, 0, b, sizeof(b), tb) &&
	       memcmp(a, b, sizeof(a)) == 0 && memcmp(ta, tb, sizeof(ta)) == 0;
}

/* Fills c->mbps and returns the length OpenSSL is used from. */
static size_t measure(const uint8_t *key, struct tund_aead_choice *c)
{
	size_t from = SIZE_MAX;
	uint8_t *buf = malloc(tund_aead_probe_sizes[TUND_AEAD_PROBE_SIZES - 1]);

	if (!buf)
		return SIZE_MAX;
	for (int s = 0; s < TUND_AEAD_PROBE_SIZES; s++) {
		size_t len = tund_aead_probe_sizes[s];

		randombytes_buf(buf, len);
		for (int r = 0; r < PROBE_REPS; r++) {
			for (int b = 0; b < TUND_AEAD_BACKENDS; b++) {
				double v = seal_rate(tund_aead_ops(b), key, buf, len);

				if (v > c->mbps[b][s])
					c->mbps[b][s] = v;
			}
		}
	}
	free(buf);
	/* From the largest size down, as long as OpenSSL wins. */
	for (int s = TUND_AEAD_PROBE_SIZES - 1; s >= 0; s--) {
		if (c->mbps[TUND_AEAD_OPENSSL][s] < WIN_BY * c->mbps[TUND_AEAD_SODIUM][s])
			break;
		from = tund_aead_probe_sizes[s];
	}
	return from;
}

/* Decides under lock; the caller has checked the mode. */
static int decide(enum tund_aead_mode mode, struct tund_aead_choice *c)
{
	uint8_t key[TUND_AEAD_KEY_LEN];
	int err = 0;

	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->openssl_from = SIZE_MAX;
	if (mode == TUND_AEAD_MODE_SODIUM)
		return 0;
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(key, sizeof(key));
	if (!openssl_agrees(key))
		err = mode == TUND_AEAD_MODE_OPENSSL ? -ENOTSUP : 0;
	else if (mode == TUND_AEAD_MODE_OPENSSL)
		c->openssl_from = 0;
	else
		c->openssl_from = measure(key, c);
	tund_aead_wipe();
	sodium_memzero(key, sizeof(key));
	return err;
}

int tund_aead_setup(enum tund_aead_mode mode, struct tund_aead_choice *out)
{
	const char *env = getenv("TUND_AEAD");
	struct tund_aead_choice c;
	int err;

	if (env && *env && !tund_aead_mode_parse(env, &mode))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	err = decide(mode, &c);
	choice = c;
	atomic_store(&openssl_from, c.openssl_from);
	atomic_store(&set_up, true);
	pthread_mutex_unlock(&lock);
	if (out)
		*out = c;
	return err;
}

/* The first seal or open of a process that did not call tund_aead_setup. */
static void set_up_on_first_use(void)
{
	if (atomic_load_explicit(&set_up, memory_order_acquire))
		return;
	if (tund_aead_setup(TUND_AEAD_MODE_AUTO, NULL) == -EINVAL)
		tund_aead_setup(TUND_AEAD_MODE_SODIUM, NULL);
}

void tund_aead_get_choice(struct tund_aead_choice *out)
{
	set_up_on_first_use();
	pthread_mutex_lock(&lock);
	*out = choice;
	pthread_mutex_unlock(&lock);
}

static const struct tund_aead_ops *backend_for(size_t len)
{
	if (len >= atomic_load_explicit(&openssl_from, memory_order_relaxed))
		return &tund_aead_openssl;
	return &tund_aead_sodium;
}

bool tund_aead_seal(const uint8_t key[TUND_AEAD_KEY_LEN], uint64_t counter, uint8_t *data,
		    size_t len, uint8_t tag[TUND_AEAD_TAG_LEN])
{
	uint8_t nonce[TUND_AEAD_NONCE_LEN];

	set_up_on_first_use();
	tund_aead_nonce(nonce, counter);
	return backend_for(len)->seal(key, nonce, NULL, 0, data, len, tag);
}

bool tund_aead_open(const uint8_t key[TUND_AEAD_KEY_LEN], uint64_t counter, uint8_t *data,
		    size_t len, const uint8_t tag[TUND_AEAD_TAG_LEN])
{
	uint8_t nonce[TUND_AEAD_NONCE_LEN];

	set_up_on_first_use();
	tund_aead_nonce(nonce, counter);
	return backend_for(len)->open(key, nonce, NULL, 0, data, len, tag);
}

void tund_aead_wipe(void)
{
	tund_aead_sodium.wipe();
	tund_aead_openssl.wipe();
}
