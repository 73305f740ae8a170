// SPDX-License-Identifier: MIT
/* BLAKE2s against RFC 7693 (Appendix B and the Appendix E self-test), and
 * keyed hash, HMAC and KDF values produced independently with Python's
 * hashlib.blake2s and hmac modules. */
#include <string.h>

#include "overlay/blake2s.h"
#include "tests/unit/testutil.h"
#include "tests/unit/unit.h"

UNIT_TEST(blake2s_rfc7693_abc)
{
	uint8_t out[32];

	tund_blake2s(out, 32, (const uint8_t *)"abc", 3, NULL, 0);
	CHECK(tu_hex_eq(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"));
}

UNIT_TEST(blake2s_empty)
{
	uint8_t out[32];

	tund_blake2s(out, 32, NULL, 0, NULL, 0);
	CHECK(tu_hex_eq(out, 32, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"));
}

/* RFC 7693 Appendix E: Fibonacci-style sequence generator. */
static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t t, a = 0xDEAD4BADu * seed, b = 1;

	for (size_t i = 0; i < len; i++) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

UNIT_TEST(blake2s_rfc7693_selftest)
{
	static const size_t md_len[4] = { 16, 20, 28, 32 };
	static const size_t in_len[6] = { 0, 3, 64, 65, 255, 1024 };
	struct tund_blake2s_state ctx;
	uint8_t in[1024], md[32], key[32];

	tund_blake2s_init(&ctx, 32);
	for (int i = 0; i < 4; i++) {
		size_t outlen = md_len[i];

		for (int j = 0; j < 6; j++) {
			size_t inlen = in_len[j];

			selftest_seq(in, inlen, (uint32_t)inlen);
			tund_blake2s(md, outlen, in, inlen, NULL, 0);
			tund_blake2s_update(&ctx, md, outlen);
			selftest_seq(key, outlen, (uint32_t)outlen);
			tund_blake2s(md, outlen, in, inlen, key, outlen);
			tund_blake2s_update(&ctx, md, outlen);
		}
	}
	tund_blake2s_final(&ctx, md);
	CHECK(tu_hex_eq(md, 32, "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe"));
}

UNIT_TEST(blake2s_keyed)
{
	uint8_t key[32], in[255], out[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 255; i++)
		in[i] = (uint8_t)i;
	tund_blake2s(out, 32, NULL, 0, key, 32);
	CHECK(tu_hex_eq(out, 32, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"));
	tund_blake2s(out, 32, in, 64, key, 32);
	CHECK(tu_hex_eq(out, 32, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"));
	tund_blake2s(out, 32, in, 255, key, 32);
	CHECK(tu_hex_eq(out, 32, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd"));
	/* 16-byte outputs, as MAC() and the cookie use. */
	tund_blake2s(out, 16, (const uint8_t *)"abc", 3, NULL, 0);
	CHECK(tu_hex_eq(out, 16, "aa4938119b1dc7b87cbad0ffd200d0ae"));
	tund_blake2s(out, 16, (const uint8_t *)"abc", 3, key, 16);
	CHECK(tu_hex_eq(out, 16, "75296c2d2c0f51210b383f386bc8b1ff"));
}

UNIT_TEST(blake2s_incremental_matches_oneshot)
{
	uint8_t in[300], a[32], b[32];
	struct tund_blake2s_state s;

	tu_fill(in, sizeof(in), 7);
	tund_blake2s(a, 32, in, sizeof(in), NULL, 0);
	/* Split at every block-boundary-ish position. */
	for (size_t cut = 0; cut <= sizeof(in); cut += 17) {
		tund_blake2s_init(&s, 32);
		tund_blake2s_update(&s, in, cut);
		tund_blake2s_update(&s, in + cut, sizeof(in) - cut);
		tund_blake2s_final(&s, b);
		CHECK(memcmp(a, b, 32) == 0);
	}
	tund_blake2s_init(&s, 32);
	for (size_t i = 0; i < sizeof(in); i++)
		tund_blake2s_update(&s, in + i, 1);
	tund_blake2s_final(&s, b);
	CHECK(memcmp(a, b, 32) == 0);
}

UNIT_TEST(blake2s_hmac)
{
	uint8_t key[100], out[32];

	for (int i = 0; i < 100; i++)
		key[i] = (uint8_t)i;
	tund_blake2s_hmac(out, (const uint8_t *)"The quick brown fox", 19, key, 32);
	CHECK(tu_hex_eq(out, 32, "22bcaf49c813868721c17ffc23f598e97283f564a578996cb149fad35ed8d00c"));
	tund_blake2s_hmac(out, (const uint8_t *)"abc", 3, key, 100);
	CHECK(tu_hex_eq(out, 32, "c1b751501db12b753069a918627b623179be55c8cc7ca5c4e14bdf32274ac656"));
}

UNIT_TEST(blake2s_kdf)
{
	uint8_t key[32], t1[32], t2[32], t3[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	tund_blake2s_kdf3(t1, t2, t3, key, (const uint8_t *)"input", 5);
	CHECK(tu_hex_eq(t1, 32, "87b7f70b24183c6db5dc4f6d9f4c47cdb203321aa2a0bef714896adb3107a040"));
	CHECK(tu_hex_eq(t2, 32, "538a02e1eb2e31b7e4d4b82476d1fe2acf50085d3fb584537279195f5d1f5824"));
	CHECK(tu_hex_eq(t3, 32, "9ad858025593be88de0f9442a589cfe84a88dc19e4753d93684d1c5efc4837f9"));
	tund_blake2s_kdf2(t1, t2, key, NULL, 0);
	CHECK(tu_hex_eq(t1, 32, "7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624"));
	CHECK(tu_hex_eq(t2, 32, "1a17621f346abdc520746a9fb64d8eb03231d674fc15687537b0780fd9c060fd"));
	tund_blake2s_kdf1(t1, key, (const uint8_t *)"input", 5);
	CHECK(tu_hex_eq(t1, 32, "87b7f70b24183c6db5dc4f6d9f4c47cdb203321aa2a0bef714896adb3107a040"));
	/* Output aliasing the key, as the chaining key update does. */
	tund_blake2s_kdf2(key, t2, key, NULL, 0);
	CHECK(tu_hex_eq(key, 32, "7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624"));
}
