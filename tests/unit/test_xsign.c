// SPDX-License-Identifier: MIT
#include <sodium.h>
#include <string.h>

#include "overlay/keys.h"
#include "overlay/xsign.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

static void keypair(uint8_t priv[32], uint8_t pub[32], uint32_t seed)
{
	tu_fill(priv, 32, seed);
	CHECK(tund_key_public(pub, priv));
}

/* Signs, verifies, and refuses every one-bit change of message, signature and key. */
UNIT_TEST(xsign_roundtrip_and_tamper)
{
	uint8_t priv[32], pub[32], sig[TUND_XSIGN_LEN], bad[TUND_XSIGN_LEN];
	uint8_t msg[100], pub2[32];

	for (uint32_t seed = 1; seed <= 20; seed++) {
		keypair(priv, pub, seed);
		tu_fill(msg, sizeof(msg), seed * 7);
		CHECK(tund_xsign(sig, msg, sizeof(msg), priv));
		CHECK(tund_xsign_verify(sig, msg, sizeof(msg), pub));
		/* Deterministic: the same message gives the same signature. */
		CHECK(tund_xsign(bad, msg, sizeof(msg), priv));
		CHECK(!memcmp(bad, sig, sizeof(sig)));
		msg[seed % sizeof(msg)] ^= 1;
		CHECK(!tund_xsign_verify(sig, msg, sizeof(msg), pub));
		msg[seed % sizeof(msg)] ^= 1;
		for (unsigned i = 0; i < sizeof(sig); i += 7) {
			memcpy(bad, sig, sizeof(sig));
			bad[i] ^= 0x10;
			CHECK(!tund_xsign_verify(bad, msg, sizeof(msg), pub));
		}
		memcpy(pub2, pub, 32);
		pub2[3] ^= 1;
		CHECK(!tund_xsign_verify(sig, msg, sizeof(msg), pub2));
		CHECK(tund_xsign(sig, msg, 0, priv));
		CHECK(tund_xsign_verify(sig, msg, 0, pub));
	}
}

/* The carried Edwards key is the node key's, and R || s is a plain Ed25519
 * signature under it (libsodium's verification, nothing of ours). */
UNIT_TEST(xsign_is_ed25519_under_the_node_key)
{
	uint8_t priv[32], pub[32], sig[TUND_XSIGN_LEN], u[32];
	static const uint8_t msg[] = "tund";

	keypair(priv, pub, 99);
	CHECK(tund_xsign(sig, msg, sizeof(msg), priv));
	CHECK(crypto_sign_ed25519_pk_to_curve25519(u, sig) == 0);
	CHECK(!memcmp(u, pub, 32));
	CHECK(crypto_sign_ed25519_verify_detached(sig + 32, msg, sizeof(msg), sig) == 0);
}

/* Another key's signature, with our key in front, does not pass: A must map to pub. */
UNIT_TEST(xsign_other_key_refused)
{
	uint8_t pa[32], qa[32], pb[32], qb[32], sig[TUND_XSIGN_LEN];
	static const uint8_t msg[] = "announce";

	keypair(pa, qa, 5);
	keypair(pb, qb, 6);
	CHECK(tund_xsign(sig, msg, sizeof(msg), pb));
	CHECK(!tund_xsign_verify(sig, msg, sizeof(msg), qa));
	CHECK(tund_xsign_verify(sig, msg, sizeof(msg), qb));
}
