// SPDX-License-Identifier: MIT
/* PCP messages (RFC 6887 7, 11): encoded and checked byte by byte. */
#include "tund/connect/pcp.h"

#include <stdio.h>
#include <string.h>

#define R_BIT 0x80
/* NAT-PMP (RFC 6886 3.5): version 0, opcode 128 + n, result 1 unsupported. */
#define NATPMP_MIN_LEN 8

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* An IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d), RFC 6887 5. */
static void put_mapped(uint8_t *p, const uint8_t ip[4])
{
	memset(p, 0, 10);
	p[10] = p[11] = 0xff;
	memcpy(p + 12, ip, 4);
}

static bool is_mapped(const uint8_t *p)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(p, prefix, sizeof(prefix)) == 0;
}

static void put_header(uint8_t *out, uint8_t opcode, uint32_t lifetime, const uint8_t ip[4])
{
	out[0] = TUND_PCP_VERSION;
	out[1] = opcode; /* R bit clear: a request */
	out[2] = out[3] = 0;
	put32(out + 4, lifetime);
	put_mapped(out + 8, ip);
}

size_t tund_pcp_encode_announce(uint8_t out[TUND_PCP_HDR_LEN], const uint8_t client_ip[4])
{
	put_header(out, TUND_PCP_OP_ANNOUNCE, 0, client_ip);
	return TUND_PCP_HDR_LEN;
}

size_t tund_pcp_encode_map(uint8_t out[TUND_PCP_HDR_LEN + TUND_PCP_MAP_LEN],
			   const struct tund_pcp_map *req)
{
	uint8_t *b = out + TUND_PCP_HDR_LEN;

	put_header(out, TUND_PCP_OP_MAP, req->lifetime, req->client_ip);
	memcpy(b, req->nonce, TUND_PCP_NONCE_LEN);
	b[12] = TUND_PCP_PROTO_UDP;
	b[13] = b[14] = b[15] = 0;
	put16(b + 16, req->int_port);
	put16(b + 18, req->ext_port);
	put_mapped(b + 20, req->ext_ip);
	return TUND_PCP_HDR_LEN + TUND_PCP_MAP_LEN;
}

static enum tund_pcp_parsed drop(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return TUND_PCP_DROP;
}

/* A datagram that is not PCP version 2: a NAT-PMP server's "unsupported
 * version", or a PCP server of another version saying the same. */
static enum tund_pcp_parsed other_version(const uint8_t *buf, size_t len, uint8_t opcode,
					  struct tund_pcp_answer *out, const char **why)
{
	if (buf[0] == 0) {
		if (len < NATPMP_MIN_LEN || !(buf[1] & R_BIT) || get16(buf + 2) != 1)
			return drop(why, "a NAT-PMP datagram that is not \"unsupported version\"");
		return TUND_PCP_NATPMP_ONLY;
	}
	if (len < TUND_PCP_HDR_LEN || buf[1] != (R_BIT | opcode) ||
	    buf[3] != TUND_PCP_UNSUPP_VERSION)
		return drop(why, "not PCP version 2");
	out->opcode = opcode;
	out->result = TUND_PCP_UNSUPP_VERSION;
	return TUND_PCP_ANSWER;
}

/* The MAP body of an answer (RFC 6887 11.2, 11.4). */
static enum tund_pcp_parsed map_body(const uint8_t *buf, size_t len, const struct tund_pcp_map *req,
				     struct tund_pcp_answer *out, const char **why)
{
	const uint8_t *b = buf + TUND_PCP_HDR_LEN;

	if (len < TUND_PCP_HDR_LEN + TUND_PCP_MAP_LEN) {
		/* A server that cannot parse the request may answer with its
		 * header alone; only "unsupported version" is read so. */
		if (out->result == TUND_PCP_UNSUPP_VERSION)
			return TUND_PCP_ANSWER;
		return drop(why, "MAP answer shorter than 60 bytes");
	}
	if (memcmp(b, req->nonce, TUND_PCP_NONCE_LEN) != 0)
		return drop(why, "nonce is not ours");
	if (b[12] != TUND_PCP_PROTO_UDP || get16(b + 16) != req->int_port)
		return drop(why, "protocol or internal port is not ours");
	out->ext_port = get16(b + 18);
	memcpy(out->ext_ip, b + 32, 4);
	if (out->result != TUND_PCP_SUCCESS)
		return TUND_PCP_ANSWER;
	if (req->lifetime == 0)
		return out->lifetime == 0 ? TUND_PCP_ANSWER
					  : drop(why, "delete answered with a lifetime");
	if (!out->lifetime || !out->ext_port)
		return drop(why, "success without a lifetime or external port");
	if (!is_mapped(b + 20) || get32(b + 32) == 0)
		return drop(why, "external address is not an IPv4 address");
	return TUND_PCP_ANSWER;
}

enum tund_pcp_parsed tund_pcp_parse(const uint8_t *buf, size_t len, const struct tund_pcp_map *req,
				    struct tund_pcp_answer *out, const char **why)
{
	uint8_t opcode = req ? TUND_PCP_OP_MAP : TUND_PCP_OP_ANNOUNCE;

	memset(out, 0, sizeof(*out));
	if (why)
		*why = NULL;
	if (!buf || len < 4 || len > TUND_PCP_MAX_LEN)
		return drop(why, "length out of range");
	if (buf[0] != TUND_PCP_VERSION)
		return other_version(buf, len, opcode, out, why);
	/* RFC 6887 8.3: at least a header, a multiple of 4 bytes. */
	if (len < TUND_PCP_HDR_LEN || len % 4)
		return drop(why, "not a whole PCP header");
	if (!(buf[1] & R_BIT))
		return drop(why, "a request, not a response");
	if ((buf[1] & ~R_BIT) != opcode)
		return drop(why, "answer to another opcode");
	out->opcode = opcode;
	out->result = buf[3];
	out->lifetime = get32(buf + 4);
	out->epoch = get32(buf + 8);
	if (!req)
		return TUND_PCP_ANSWER;
	return map_body(buf, len, req, out, why);
}

const char *tund_pcp_result_name(uint8_t result, char *buf, size_t len)
{
	static const char *const names[] = {
		"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST",
		"UNSUPP_OPCODE", "UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE",
		"NO_RESOURCES", "UNSUPP_PROTOCOL", "USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL",
		"ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
	};

	if (result < sizeof(names) / sizeof(names[0]))
		return names[result];
	snprintf(buf, len, "result %u", result);
	return buf;
}

unsigned tund_pcp_next_rt_ms(unsigned prev_ms, int rand_permille)
{
	long long rt;

	if (rand_permille < -100)
		rand_permille = -100;
	if (rand_permille > 100)
		rand_permille = 100;
	/* RT = (1 + RAND) * IRT, then (2 + RAND) * RTprev, then past MRT
	 * MRT + RAND * MRT. */
	if (prev_ms == 0)
		rt = (long long)TUND_PCP_IRT_MS * (1000 + rand_permille) / 1000;
	else
		rt = (long long)prev_ms * (2000 + rand_permille) / 1000;
	if (rt > TUND_PCP_MRT_MS)
		rt = (long long)TUND_PCP_MRT_MS * (1000 + rand_permille) / 1000;
	return (unsigned)rt;
}
