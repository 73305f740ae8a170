/* SPDX-License-Identifier: MIT */
/* STUN (RFC 5389) for netcheck: Binding requests, an unauthenticated TURN
 * Allocate (RFC 5766) and a strict response parser that finds the mapped
 * address, RFC 5780's OTHER-ADDRESS and RESPONSE-ORIGIN, ERROR-CODE with
 * REALM and NONCE (a TURN server's 401), and TURN's relayed and peer
 * addresses (for make bench's TURN probe, tests/bench/turn_probe.c). Pure: no sockets, no clock; the
 * caller supplies the random transaction id. */
#ifndef TUND_OVERLAY_STUN_H
#define TUND_OVERLAY_STUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TUND_STUN_HEADER_LEN 20
#define TUND_STUN_TXID_LEN 12
#define TUND_STUN_MAGIC 0x2112A442u
/* Requests built here fit in this many bytes. */
#define TUND_STUN_REQUEST_MAX 28

enum {
	TUND_STUN_BINDING_REQUEST = 0x0001,
	TUND_STUN_BINDING_SUCCESS = 0x0101,
	TUND_STUN_BINDING_ERROR = 0x0111,
	TUND_STUN_ALLOCATE_REQUEST = 0x0003,
	TUND_STUN_ALLOCATE_SUCCESS = 0x0103,
	TUND_STUN_ALLOCATE_ERROR = 0x0113,
	TUND_STUN_DATA_INDICATION = 0x0017,
};

#define TUND_STUN_TEXT_MAX 128

struct tund_stun_msg {
	uint16_t type;
	uint8_t txid[TUND_STUN_TXID_LEN];
	/* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS. */
	bool has_mapped;
	struct sockaddr_storage mapped;
	/* OTHER-ADDRESS, else the RFC 3489 CHANGED-ADDRESS. */
	bool has_other;
	struct sockaddr_storage other;
	bool has_relayed; /* XOR-RELAYED-ADDRESS (a TURN Allocate success) */
	struct sockaddr_storage relayed;
	bool has_peer; /* XOR-PEER-ADDRESS (a TURN Data indication) */
	struct sockaddr_storage peer;
	bool has_origin; /* RESPONSE-ORIGIN */
	struct sockaddr_storage origin;
	bool has_error;
	uint16_t error_code; /* 300-699 */
	char reason[TUND_STUN_TEXT_MAX];
	bool has_realm, has_nonce;
	char realm[TUND_STUN_TEXT_MAX];
	char nonce[TUND_STUN_TEXT_MAX];
	bool has_fingerprint; /* present and correct (a wrong one fails decode) */
};

/* Writes a Binding request with no attributes; returns its length (20) or 0
 * when len is too small. */
size_t tund_stun_binding_create(uint8_t *buf, size_t len, const uint8_t txid[TUND_STUN_TXID_LEN]);
/* Writes a TURN Allocate request with REQUESTED-TRANSPORT UDP and no
 * credentials (a server with long-term credentials answers 401 with REALM
 * and NONCE); returns its length (28) or 0. */
size_t tund_stun_allocate_create(uint8_t *buf, size_t len,
				 const uint8_t txid[TUND_STUN_TXID_LEN]);
/* The length of the STUN message starting at buf as announced by its
 * header (20 + message length), or 0 when buf holds less than a header or
 * the header is not STUN (for framing STUN over TCP, RFC 5389 7.2.2). */
size_t tund_stun_frame_len(const uint8_t *buf, size_t len);
/* Parses exactly one message of len bytes. false for anything malformed:
 * short, top bits set, bad cookie, length not matching, attributes running
 * past the end, bad address families or lengths, a wrong FINGERPRINT. */
bool tund_stun_decode(struct tund_stun_msg *m, const uint8_t *buf, size_t len);
/* True when m is a response (success or error) to a request with txid. */
bool tund_stun_is_response_to(const struct tund_stun_msg *m,
			      const uint8_t txid[TUND_STUN_TXID_LEN]);

#endif
