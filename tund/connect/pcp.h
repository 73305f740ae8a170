/* SPDX-License-Identifier: MIT */
/* PCP (RFC 6887), the few parts tund uses: the ANNOUNCE request (is there a
 * PCP server?) and the MAP request for one UDP port (lifetime 0 deletes),
 * and a strict parser of the server's answer. Pure: no sockets, no clock;
 * portmap_io.c sends and waits. No Debian library speaks PCP (libnatpmp and
 * miniupnpc do not), hence this one. IPv4 only, as the rest of portmap. */
#ifndef TUND_PCP_H
#define TUND_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUND_PCP_PORT 5351
#define TUND_PCP_VERSION 2
#define TUND_PCP_HDR_LEN 24     /* request and response header */
#define TUND_PCP_MAP_LEN 36     /* MAP opcode body, request and response */
#define TUND_PCP_MAX_LEN 1100   /* RFC 6887 7: no PCP message is longer */
#define TUND_PCP_NONCE_LEN 12
#define TUND_PCP_OP_ANNOUNCE 0
#define TUND_PCP_OP_MAP 1
#define TUND_PCP_PROTO_UDP 17

/* Result codes (RFC 6887 7.4) tund reads by name. */
#define TUND_PCP_SUCCESS 0
#define TUND_PCP_UNSUPP_VERSION 1

/* Retransmission (RFC 6887 8.1.1): IRT 3 s, MRT 1024 s. */
#define TUND_PCP_IRT_MS 3000
#define TUND_PCP_MRT_MS 1024000

/* A MAP request for one UDP port; also what its answer must echo. */
struct tund_pcp_map {
	uint8_t nonce[TUND_PCP_NONCE_LEN];
	uint8_t client_ip[4];  /* ours towards the server (its source check) */
	uint16_t int_port;
	uint16_t ext_port;     /* suggested; 0: no preference */
	uint8_t ext_ip[4];     /* suggested; 0.0.0.0: no preference */
	uint32_t lifetime;     /* 0: delete */
};

/* What a valid answer says. ext_* and the lifetime are the server's grant. */
struct tund_pcp_answer {
	uint8_t opcode;
	uint8_t result;
	uint32_t lifetime;
	uint32_t epoch;
	uint16_t ext_port;     /* MAP only */
	uint8_t ext_ip[4];     /* MAP only */
};

enum tund_pcp_parsed {
	TUND_PCP_DROP,        /* not an answer to our request: keep waiting */
	TUND_PCP_ANSWER,      /* ours; answer->result may be an error code */
	TUND_PCP_NATPMP_ONLY, /* a NAT-PMP (version 0) server: "unsupported version" */
};

/* The 24-byte ANNOUNCE request; returns its length. */
size_t tund_pcp_encode_announce(uint8_t out[TUND_PCP_HDR_LEN], const uint8_t client_ip[4]);
/* The 60-byte MAP request (header + body); returns its length. */
size_t tund_pcp_encode_map(uint8_t out[TUND_PCP_HDR_LEN + TUND_PCP_MAP_LEN],
			   const struct tund_pcp_map *req);
/* Reads a datagram from the server as the answer to req (NULL: to our
 * ANNOUNCE). RFC 6887 8.3: version 2, the R bit, our opcode, a length the
 * RFC allows; for MAP the nonce, protocol and internal port must be ours and
 * a success names an IPv4-mapped external address, a non-zero port and
 * lifetime (zero when req deleted). An error may come as a bare header only
 * when it is UNSUPP_VERSION. why (may be NULL) says why it was dropped. */
enum tund_pcp_parsed tund_pcp_parse(const uint8_t *buf, size_t len, const struct tund_pcp_map *req,
				    struct tund_pcp_answer *out, const char **why);
/* "NOT_AUTHORIZED" etc.; "result N" for an unknown one (buf holds it). */
const char *tund_pcp_result_name(uint8_t result, char *buf, size_t len);
/* The wait before the next transmission (RFC 6887 8.1.1): prev_ms 0 for
 * the first, rand_permille in [-100, 100] the RAND factor in thousandths. */
unsigned tund_pcp_next_rt_ms(unsigned prev_ms, int rand_permille);

#endif
