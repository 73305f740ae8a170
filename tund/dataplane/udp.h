/* SPDX-License-Identifier: MIT */
/* The underlay UDP socket (listen_port): dual-stack where the host has IPv6,
 * IPv4 only where it does not. Endpoints are kept as sockaddr_storage. */
#ifndef TUND_UDP_H
#define TUND_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct tund_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
	socklen_t len; /* 0: no endpoint */
};

/* Opens and binds the socket; port 0 picks one. Returns fd or -errno, and
 * the bound port in *bound_port. */
int tund_udp_open(uint16_t port, uint16_t *bound_port);
/* Resolves "host:port" (tund_endpoint_parse syntax) for a socket of the
 * family fd has. 0 or -errno / EAI error as -EHOSTUNREACH. */
int tund_udp_resolve(int fd, const char *text, struct tund_endpoint *out);
/* Writes the bytes that identify an endpoint (address then port) for cookie
 * MACs into buf (at least 18 bytes); returns the length. v4-mapped IPv6 is
 * written as IPv4 so that both forms give one cookie. */
size_t tund_endpoint_key(const struct tund_endpoint *ep, uint8_t buf[18]);
/* "1.2.3.4:5" or "[v6]:5"; v4-mapped shown as IPv4. buf at least 64 bytes. */
void tund_endpoint_format(const struct tund_endpoint *ep, char *buf, size_t len);
bool tund_endpoint_equal(const struct tund_endpoint *a, const struct tund_endpoint *b);

#endif
