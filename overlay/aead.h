/* SPDX-License-Identifier: MIT */
/* The transport AEAD: ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce
 * (4 zero bytes, then the 64-bit little-endian counter) and no additional
 * data, through one of two backends that compute the same function:
 * libsodium, cheap per call, and OpenSSL's libcrypto, quicker in bulk on
 * some CPUs but slower per call. tund_aead_seal/open pick per packet by
 * length: OpenSSL from a threshold up (tund_aead_setup measures it), or
 * never.
 *
 * Keys are passed per call, as the packet threads copy them out of the
 * keypair under the device lock. A backend may keep the last key of the
 * calling thread set up (OpenSSL: a keyed EVP_CIPHER_CTX per thread), so a
 * caller that is done with a batch calls tund_aead_wipe() and no copy of a
 * key outlives its batch. */
#ifndef TUND_OVERLAY_AEAD_H
#define TUND_OVERLAY_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUND_AEAD_KEY_LEN 32
#define TUND_AEAD_TAG_LEN 16
#define TUND_AEAD_NONCE_LEN 12

enum tund_aead_backend {
	TUND_AEAD_SODIUM,
	TUND_AEAD_OPENSSL,
	TUND_AEAD_BACKENDS,
};

/* What tund_aead_setup was asked for: measure (auto) or one backend. */
enum tund_aead_mode {
	TUND_AEAD_MODE_AUTO,
	TUND_AEAD_MODE_SODIUM,
	TUND_AEAD_MODE_OPENSSL,
};

/* The sizes tund_aead_setup measures in auto mode. */
#define TUND_AEAD_PROBE_SIZES 6
extern const size_t tund_aead_probe_sizes[TUND_AEAD_PROBE_SIZES];

struct tund_aead_choice {
	enum tund_aead_mode mode;
	/* Packets of this length or longer go to OpenSSL; SIZE_MAX: never. */
	size_t openssl_from;
	/* Auto mode: MB per second of CPU time sealing tund_aead_probe_sizes[i]
	 * bytes, per backend (0 when not measured). */
	double mbps[TUND_AEAD_BACKENDS][TUND_AEAD_PROBE_SIZES];
};

/* One backend, general ChaCha20-Poly1305 (the known-answer tests need a
 * nonce and additional data of their own): seal encrypts len bytes of data
 * in place and writes the tag; open checks the tag and, if authentic,
 * leaves the plaintext in data (on false data is unspecified and must be
 * dropped). False from seal: the backend failed (OpenSSL: no memory) and
 * data must be dropped, never sealed again (part of it may be encrypted). */
struct tund_aead_ops {
	const char *name;
	bool (*seal)(const uint8_t key[TUND_AEAD_KEY_LEN], const uint8_t nonce[TUND_AEAD_NONCE_LEN],
		     const uint8_t *ad, size_t ad_len, uint8_t *data, size_t len,
		     uint8_t tag[TUND_AEAD_TAG_LEN]);
	bool (*open)(const uint8_t key[TUND_AEAD_KEY_LEN], const uint8_t nonce[TUND_AEAD_NONCE_LEN],
		     const uint8_t *ad, size_t ad_len, uint8_t *data, size_t len,
		     const uint8_t tag[TUND_AEAD_TAG_LEN]);
	/* Forgets whatever key the calling thread has set up. */
	void (*wipe)(void);
};

extern const struct tund_aead_ops tund_aead_sodium;
extern const struct tund_aead_ops tund_aead_openssl;

const struct tund_aead_ops *tund_aead_ops(enum tund_aead_backend b);

/* WireGuard's 96-bit nonce for counter: 4 zero bytes, then counter (LE). */
void tund_aead_nonce(uint8_t nonce[TUND_AEAD_NONCE_LEN], uint64_t counter);

/* Parses "auto", "sodium" or "openssl"; false for anything else. */
bool tund_aead_mode_parse(const char *s, enum tund_aead_mode *mode);
const char *tund_aead_mode_name(enum tund_aead_mode mode);

/* Sets the backend per length for the whole process: in auto mode times
 * both backends sealing each of tund_aead_probe_sizes (a few ms each) and
 * uses OpenSSL from the smallest size above which it won every time. The
 * environment's TUND_AEAD (auto|sodium|openssl), when set, wins over mode.
 * Returns -EINVAL for a bad TUND_AEAD, and what it chose in *out (may be
 * NULL). Without a call, the first seal or open sets up in auto mode. */
int tund_aead_setup(enum tund_aead_mode mode, struct tund_aead_choice *out);
/* What the process uses (after setting up in auto mode if nothing has). */
void tund_aead_get_choice(struct tund_aead_choice *out);

/* Seal and open a transport payload with WireGuard's nonce for counter and
 * no additional data, with the backend chosen for len (false: as above). */
bool tund_aead_seal(const uint8_t key[TUND_AEAD_KEY_LEN], uint64_t counter, uint8_t *data,
		    size_t len, uint8_t tag[TUND_AEAD_TAG_LEN]);
bool tund_aead_open(const uint8_t key[TUND_AEAD_KEY_LEN], uint64_t counter, uint8_t *data,
		    size_t len, const uint8_t tag[TUND_AEAD_TAG_LEN]);
/* Every backend forgets the calling thread's keys. */
void tund_aead_wipe(void);

#endif
