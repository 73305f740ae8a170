// SPDX-License-Identifier: MIT
/* tund/dataplane/udp.c: the underlay socket (dual-stack, port 0 picks one), endpoint
 * resolution for it, and the endpoint forms cookies and replies use. Only
 * loopback addresses; no name lookups. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tund/dataplane/udp.h"

UNIT_TEST(udp_open_dual_stack_and_port_in_use)
{
	uint16_t port = 0, port2 = 0;
	int fd = tund_udp_open(0, &port);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int v6only = -1;
	socklen_t olen = sizeof(v6only);

	CHECK(fd >= 0 && port != 0);
	if (fd < 0)
		return;
	CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
	if (ss.ss_family == AF_INET6) {
		/* One socket for both families. */
		CHECK(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0);
		CHECK(v6only == 0);
	}
	/* The configured port taken by someone else: a clear error, no fd. */
	CHECK(tund_udp_open(port, &port2) == -EADDRINUSE);

	/* IPv4 traffic reaches it, from a v4-mapped source formatted as IPv4. */
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct tund_endpoint from = { 0 };
	char buf[16], text[80];

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(sendto(tx, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)) == 2);
	from.len = sizeof(from.in6);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, &from.sa, &from.len);
	CHECK(n == 2 && !memcmp(buf, "hi", 2));
	tund_endpoint_format(&from, text, sizeof(text));
	CHECK(g_str_has_prefix(text, "127.0.0.1:"));
	close(tx);
	close(fd);
}

UNIT_TEST(udp_resolve_and_endpoint_forms)
{
	uint16_t port = 0;
	int fd6 = tund_udp_open(0, &port);
	int fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct tund_endpoint m = { 0 }, v4 = { 0 }, v6 = { 0 }, none = { 0 };
	uint8_t km[18], k4[18], k6[18];
	char text[80];

	CHECK(fd6 >= 0 && fd4 >= 0);
	CHECK(tund_udp_resolve(fd6, "127.0.0.1:51820", &m) == 0);
	CHECK(tund_udp_resolve(fd4, "127.0.0.1:51820", &v4) == 0);
	CHECK(v4.sa.sa_family == AF_INET && v4.len == sizeof(v4.in4));
	/* A dual-stack socket gets the v4-mapped form. */
	CHECK(m.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&m.in6.sin6_addr));
	tund_endpoint_format(&m, text, sizeof(text));
	CHECK(!strcmp(text, "127.0.0.1:51820"));
	tund_endpoint_format(&v4, text, sizeof(text));
	CHECK(!strcmp(text, "127.0.0.1:51820"));
	/* Both forms are one endpoint for cookies. */
	size_t lm = tund_endpoint_key(&m, km), l4 = tund_endpoint_key(&v4, k4);
	CHECK(lm == 6 && l4 == 6 && !memcmp(km, k4, 6));
	CHECK(km[0] == 127 && km[3] == 1 && km[4] == 51820 >> 8 && km[5] == (51820 & 0xff));

	CHECK(tund_udp_resolve(fd6, "[::1]:9", &v6) == 0);
	tund_endpoint_format(&v6, text, sizeof(text));
	CHECK(!strcmp(text, "[::1]:9"));
	CHECK(tund_endpoint_key(&v6, k6) == 18 && k6[15] == 1 && k6[17] == 9);
	/* An IPv6 address cannot be reached from an IPv4-only socket. */
	CHECK(tund_udp_resolve(fd4, "[::1]:9", &none) < 0);

	CHECK(tund_endpoint_equal(&m, &m));
	CHECK(!tund_endpoint_equal(&m, &v6));
	CHECK(!tund_endpoint_equal(&none, &none)); /* no endpoint equals nothing */
	none.len = 0;
	tund_endpoint_format(&none, text, sizeof(text));
	CHECK(!strcmp(text, "-"));

	/* Not host:port. */
	CHECK(tund_udp_resolve(fd6, "127.0.0.1", &none) == -EINVAL);
	CHECK(tund_udp_resolve(fd6, "127.0.0.1:0", &none) == -EINVAL);
	CHECK(tund_udp_resolve(fd6, "127.0.0.1:70000", &none) == -EINVAL);
	CHECK(tund_udp_resolve(fd6, "", &none) == -EINVAL);
	close(fd6);
	close(fd4);
}
