// SPDX-License-Identifier: MIT
/* PCP (RFC 6887) messages: what tund sends, byte for byte, and which answers
 * it takes. The answers are built here as a PCP server would send them. */
#include <arpa/inet.h>
#include <glib.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/connect/pcp.h"
#include "tund/connect/portmap_io.h"

static const struct tund_pcp_map req = {
	.nonce = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 },
	.client_ip = { 10, 1, 0, 10 },
	.int_port = 40000,
	.ext_port = 40000,
	.ext_ip = { 0, 0, 0, 0 },
	.lifetime = 1800,
};

/* A server's answer to req: result, lifetime, external 11.22.33.11:40001. */
static size_t answer(uint8_t *b, uint8_t result, uint32_t lifetime)
{
	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 0x80 | 1;
	b[3] = result;
	b[4] = (uint8_t)(lifetime >> 24);
	b[5] = (uint8_t)(lifetime >> 16);
	b[6] = (uint8_t)(lifetime >> 8);
	b[7] = (uint8_t)lifetime;
	b[11] = 77; /* epoch */
	memcpy(b + 24, req.nonce, 12);
	b[36] = 17;
	b[40] = 40000 >> 8;
	b[41] = 40000 & 0xff;
	b[42] = 40001 >> 8;
	b[43] = 40001 & 0xff;
	b[54] = b[55] = 0xff;
	b[56] = 11, b[57] = 22, b[58] = 33, b[59] = 11;
	return 60;
}

UNIT_TEST(pcp_map_request_is_rfc6887s_layout)
{
	uint8_t b[60];
	static const uint8_t want[60] = {
		2, 1, 0, 0, 0, 0, 0x07, 0x08, /* version, MAP, lifetime 1800 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 10, /* ::ffff:10.1.0.10 */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, /* nonce */
		17, 0, 0, 0, 0x9c, 0x40, 0x9c, 0x40, /* UDP, ports 40000 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, /* no preference */
	};

	CHECK(tund_pcp_encode_map(b, &req) == 60);
	CHECK(memcmp(b, want, sizeof(want)) == 0);
	CHECK(tund_pcp_encode_announce(b, req.client_ip) == 24);
	CHECK(b[0] == 2 && b[1] == 0 && b[4] == 0 && b[7] == 0 && b[18] == 0xff && b[20] == 10);
}

UNIT_TEST(pcp_takes_a_good_map_answer)
{
	uint8_t b[64];
	struct tund_pcp_answer a;
	size_t n = answer(b, 0, 1200);

	CHECK(tund_pcp_parse(b, n, &req, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == TUND_PCP_SUCCESS && a.lifetime == 1200 && a.epoch == 77);
	CHECK(a.ext_port == 40001);
	CHECK(a.ext_ip[0] == 11 && a.ext_ip[3] == 11);
	/* Options after the body are allowed (RFC 6887 7.3). */
	memset(b + 60, 0, 4);
	CHECK(tund_pcp_parse(b, 64, &req, &a, NULL) == TUND_PCP_ANSWER);
}

UNIT_TEST(pcp_drops_an_answer_with_another_nonce)
{
	uint8_t b[60];
	struct tund_pcp_answer a;
	const char *why;

	answer(b, 0, 1200);
	b[30] ^= 1;
	CHECK(tund_pcp_parse(b, 60, &req, &a, &why) == TUND_PCP_DROP);
	CHECK(why && strstr(why, "nonce"));
	/* An error answer with another nonce is not ours either. */
	answer(b, 2, 0);
	b[24] ^= 1;
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
}

UNIT_TEST(pcp_drops_wrong_opcode_version_or_direction)
{
	uint8_t b[60];
	struct tund_pcp_answer a;

	answer(b, 0, 1200);
	b[1] = 0x80 | 2; /* PEER */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	b[1] = 0x80 | 0; /* ANNOUNCE, to a MAP */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	b[1] = 1; /* no R bit: a request */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, 0, 1200);
	b[36] = 6; /* TCP */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, 0, 1200);
	b[41] ^= 1; /* another internal port */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, 0, 1200);
	b[0] = 3;
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	/* A MAP answer to our ANNOUNCE. */
	answer(b, 0, 1200);
	CHECK(tund_pcp_parse(b, 24, NULL, &a, NULL) == TUND_PCP_DROP);
}

UNIT_TEST(pcp_drops_short_or_odd_lengths)
{
	uint8_t b[1200];
	struct tund_pcp_answer a;

	memset(b, 0, sizeof(b));
	answer(b, 0, 1200);
	CHECK(tund_pcp_parse(b, 0, &req, &a, NULL) == TUND_PCP_DROP);
	CHECK(tund_pcp_parse(b, 3, &req, &a, NULL) == TUND_PCP_DROP);
	CHECK(tund_pcp_parse(b, 20, &req, &a, NULL) == TUND_PCP_DROP);
	CHECK(tund_pcp_parse(b, 24, &req, &a, NULL) == TUND_PCP_DROP); /* no body */
	CHECK(tund_pcp_parse(b, 56, &req, &a, NULL) == TUND_PCP_DROP);
	CHECK(tund_pcp_parse(b, 59, &req, &a, NULL) == TUND_PCP_DROP); /* not 4n */
	CHECK(tund_pcp_parse(b, 1104, &req, &a, NULL) == TUND_PCP_DROP); /* > 1100 */
	CHECK(tund_pcp_parse(NULL, 60, &req, &a, NULL) == TUND_PCP_DROP);
}

UNIT_TEST(pcp_success_must_name_a_mapping)
{
	uint8_t b[60];
	struct tund_pcp_answer a;
	struct tund_pcp_map del = req;

	answer(b, 0, 0); /* success without lifetime */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, 0, 1200);
	b[42] = b[43] = 0; /* no external port */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, 0, 1200);
	b[54] = 0; /* not IPv4-mapped */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, 0, 1200);
	memset(b + 56, 0, 4); /* ::ffff:0.0.0.0 */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_DROP);
	/* A delete's success has lifetime 0, and only that. */
	del.lifetime = 0;
	answer(b, 0, 0);
	CHECK(tund_pcp_parse(b, 60, &del, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == TUND_PCP_SUCCESS);
	answer(b, 0, 1200);
	CHECK(tund_pcp_parse(b, 60, &del, &a, NULL) == TUND_PCP_DROP);
}

UNIT_TEST(pcp_error_results_are_answers_with_their_code)
{
	uint8_t b[60];
	struct tund_pcp_answer a;
	char buf[16];

	answer(b, 2, 0); /* NOT_AUTHORIZED */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == 2);
	CHECK(strcmp(tund_pcp_result_name(a.result, buf, sizeof(buf)), "NOT_AUTHORIZED") == 0);
	answer(b, 8, 30); /* NO_RESOURCES, retry in 30 s */
	CHECK(tund_pcp_parse(b, 60, &req, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == 8 && a.lifetime == 30);
	CHECK(strcmp(tund_pcp_result_name(12, buf, sizeof(buf)), "ADDRESS_MISMATCH") == 0);
	CHECK(strcmp(tund_pcp_result_name(200, buf, sizeof(buf)), "result 200") == 0);
	/* Only "unsupported version" may come as a bare header. */
	answer(b, 2, 0);
	CHECK(tund_pcp_parse(b, 24, &req, &a, NULL) == TUND_PCP_DROP);
	answer(b, TUND_PCP_UNSUPP_VERSION, 0);
	CHECK(tund_pcp_parse(b, 24, &req, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == TUND_PCP_UNSUPP_VERSION);
	/* A PCP version 1 server says the same with its own version. */
	b[0] = 1;
	CHECK(tund_pcp_parse(b, 24, &req, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == TUND_PCP_UNSUPP_VERSION);
}

/* RFC 6887 9 / RFC 6886 3.5: a NAT-PMP-only server answers version 0,
 * result 1; anything else of version 0 is dropped. */
UNIT_TEST(pcp_recognises_a_natpmp_only_server)
{
	uint8_t b[12] = { 0, 128 + 1, 0, 1, 0, 0, 0, 9 };
	struct tund_pcp_answer a;

	CHECK(tund_pcp_parse(b, 8, &req, &a, NULL) == TUND_PCP_NATPMP_ONLY);
	CHECK(tund_pcp_parse(b, 8, NULL, &a, NULL) == TUND_PCP_NATPMP_ONLY);
	CHECK(tund_pcp_parse(b, 4, &req, &a, NULL) == TUND_PCP_DROP);
	b[3] = 0; /* a success of NAT-PMP's: not an answer to PCP */
	CHECK(tund_pcp_parse(b, 12, &req, &a, NULL) == TUND_PCP_DROP);
}

UNIT_TEST(pcp_takes_an_announce_answer)
{
	uint8_t b[24] = { 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct tund_pcp_answer a;

	CHECK(tund_pcp_parse(b, 24, NULL, &a, NULL) == TUND_PCP_ANSWER);
	CHECK(a.result == TUND_PCP_SUCCESS && a.epoch == 256);
	b[1] = 0x81;
	CHECK(tund_pcp_parse(b, 24, NULL, &a, NULL) == TUND_PCP_DROP);
}

/* RFC 6887 8.1.1: 3 s (+-10%), then doubling (+-10%), at most 1024 s. */
UNIT_TEST(pcp_retransmits_on_rfc6887s_schedule)
{
	unsigned rt;

	CHECK(tund_pcp_next_rt_ms(0, 0) == 3000);
	CHECK(tund_pcp_next_rt_ms(0, -100) == 2700);
	CHECK(tund_pcp_next_rt_ms(0, 100) == 3300);
	CHECK(tund_pcp_next_rt_ms(0, 500) == 3300); /* RAND is clamped */
	CHECK(tund_pcp_next_rt_ms(3000, 0) == 6000);
	CHECK(tund_pcp_next_rt_ms(3000, 100) == 6300);
	CHECK(tund_pcp_next_rt_ms(800000, 0) == 1024000);
	CHECK(tund_pcp_next_rt_ms(1024000, -100) == 921600);
	rt = 0;
	for (int i = 0; i < 20; i++)
		rt = tund_pcp_next_rt_ms(rt, 100);
	CHECK(rt <= 1024000 + 102400);
}

/* ---- portmap_io.c against a PCP server of the test's own ----
 * In a network namespace of the thread's own: a veth link 10.77.0.2/24 with
 * the default route via 10.77.0.1, and 10.77.0.1 also on lo, so the
 * "router" is a socket of this process on 10.77.0.1:5351. */

enum fake_mode {
	FAKE_PCP,         /* answers as a PCP server, first with a wrong nonce */
	FAKE_NATPMP_ONLY, /* answers PCP with NAT-PMP's "unsupported version" */
	FAKE_LOSSY_PCP,   /* ignores the first MAP request */
};

struct fake {
	int fd;
	enum fake_mode mode;
	volatile bool stop;
	GThread *thread;
	/* what it saw */
	unsigned announces, maps, deletes, natpmp;
	uint8_t first_nonce[12], delete_nonce[12];
	uint8_t last_map[60];
};

/* A PCP MAP answer to the request in q (60 bytes). */
static size_t fake_map_answer(uint8_t *b, const uint8_t *q, bool wrong_nonce)
{
	bool del = !(q[4] | q[5] | q[6] | q[7]);

	memset(b, 0, 60);
	b[0] = 2;
	b[1] = 0x80 | 1;
	b[6] = del ? 0 : 600 >> 8, b[7] = del ? 0 : 600 & 0xff;
	memcpy(b + 24, q + 24, 20); /* nonce, protocol, internal port */
	b[24] ^= wrong_nonce;
	b[42] = q[40], b[43] = (uint8_t)(q[41] + 1); /* external: internal + 1 */
	b[54] = b[55] = 0xff;
	b[56] = 11, b[57] = 22, b[58] = 33, b[59] = 11;
	return 60;
}

static size_t fake_answer(struct fake *f, const uint8_t *q, size_t n, uint8_t *b)
{
	static const uint8_t unsupp[8] = { 0, 128, 0, 1, 0, 0, 0, 1 };
	static const uint8_t pmp_addr[12] = { 0, 128, 0, 0, 0, 0, 0, 1, 11, 22, 33, 12 };

	if (n >= 2 && q[0] == 0 && q[1] == 0) { /* NAT-PMP public address */
		f->natpmp++;
		memcpy(b, pmp_addr, sizeof(pmp_addr));
		return sizeof(pmp_addr);
	}
	if (f->mode == FAKE_NATPMP_ONLY) {
		f->announces += n == 24;
		memcpy(b, unsupp, sizeof(unsupp));
		return sizeof(unsupp);
	}
	if (n == 24 && q[1] == 0) {
		f->announces++;
		memcpy(b, q, 24);
		b[1] = 0x80;
		memset(b + 4, 0, 20);
		return 24;
	}
	if (n != 60 || q[1] != 1)
		return 0;
	if (!(q[4] | q[5] | q[6] | q[7])) {
		f->deletes++;
		memcpy(f->delete_nonce, q + 24, 12);
		return fake_map_answer(b, q, false);
	}
	if (f->maps++ == 0)
		memcpy(f->first_nonce, q + 24, 12);
	memcpy(f->last_map, q, 60);
	if (f->mode == FAKE_LOSSY_PCP && f->maps == 1)
		return 0;
	return fake_map_answer(b, q, false);
}

static gpointer fake_run(gpointer data)
{
	struct fake *f = data;
	uint8_t q[1100], b[64];
	struct sockaddr_in from;

	while (!f->stop) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		socklen_t fl = sizeof(from);
		ssize_t n;
		size_t len;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		/* A MAP first gets an answer with another nonce (to be dropped). */
		if (f->mode == FAKE_PCP && n == 60 && q[0] == 2 && (q[4] | q[5] | q[6] | q[7]) &&
		    (len = fake_map_answer(b, q, true)))
			(void)sendto(f->fd, b, len, 0, (struct sockaddr *)&from, fl);
		if ((len = fake_answer(f, q, (size_t)n, b)))
			(void)sendto(f->fd, b, len, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

/* Enters the namespace and starts the router; old < 0: skip. */
static int fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5351) };
	int old = fx_netns_enter();

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (old < 0)
		return old;
	CHECK(system("ip link set lo up && ip link add tt-pcp0 type veth peer name tt-pcp1 && "
		     "ip addr add 10.77.0.2/24 dev tt-pcp0 && ip link set tt-pcp0 up && "
		     "ip link set tt-pcp1 up && "
		     "ip route add default via 10.77.0.1 && ip addr add 10.77.0.1/32 dev lo") == 0);
	inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(f->fd >= 0 && bind(f->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	f->mode = mode;
	f->thread = g_thread_new("fake-pcp", fake_run, f);
	return old;
}

static void fake_stop(struct fake *f, int old)
{
	f->stop = true;
	if (f->thread)
		g_thread_join(f->thread);
	if (f->fd >= 0)
		close(f->fd);
	fx_netns_leave(old);
}

UNIT_TEST(pcp_maps_renews_and_deletes_with_one_nonce)
{
	struct tund_portmap_gw gw;
	struct fake f;
	uint8_t nonce[12] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };
	char why[512];
	uint16_t port = 0;
	unsigned life = 0;
	int old = fake_start(&f, FAKE_PCP);

	if (old < 0)
		UNIT_SKIP("netns", "needs a network namespace of its own");
	CHECK(tund_portmap_io_discover(&gw, 1500, why, sizeof(why)) == 0);
	CHECK(gw.proto == TUND_PORTMAP_PCP);
	CHECK(strcmp(gw.gateway, "10.77.0.1") == 0);
	CHECK(gw.external[0] == '\0'); /* not named before a MAP */
	CHECK(f.announces == 1);
	/* The wrong-nonce answer comes first and is dropped. */
	CHECK(tund_portmap_io_add(&gw, 40000, 0, nonce, 1800, &port, &life, why, sizeof(why)) == 0);
	CHECK(port == 40001 && life == 600);
	CHECK(strcmp(gw.external, "11.22.33.11") == 0);
	CHECK(f.maps == 1);
	/* The renewal: same nonce, the granted address suggested. */
	CHECK(tund_portmap_io_add(&gw, 40000, port, nonce, 1800, &port, &life, why, sizeof(why)) == 0);
	CHECK(f.maps == 2 && memcmp(f.first_nonce, nonce, 12) == 0);
	CHECK(memcmp(f.last_map + 24, nonce, 12) == 0);
	CHECK(f.last_map[42] == 40001 >> 8 && f.last_map[43] == (40001 & 0xff));
	CHECK(f.last_map[56] == 11 && f.last_map[59] == 11);
	CHECK(tund_portmap_io_delete(&gw, 40000, port, nonce, why, sizeof(why)) == 0);
	CHECK(f.deletes == 1 && memcmp(f.delete_nonce, nonce, 12) == 0);
	tund_portmap_io_clear(&gw);
	fake_stop(&f, old);
}

/* RFC 6887 9: the gateway answers PCP with NAT-PMP's "unsupported version";
 * tund goes on to NAT-PMP at the same gateway, after one PCP request. */
UNIT_TEST(pcp_natpmp_only_gateway_gets_natpmp)
{
	struct tund_portmap_gw gw;
	struct fake f;
	char why[512];
	int old = fake_start(&f, FAKE_NATPMP_ONLY);

	if (old < 0)
		UNIT_SKIP("netns", "needs a network namespace of its own");
	CHECK(tund_portmap_io_discover(&gw, 1500, why, sizeof(why)) == 0);
	CHECK(gw.proto == TUND_PORTMAP_NATPMP);
	CHECK(strcmp(gw.external, "11.22.33.12") == 0);
	CHECK(strcmp(gw.gateway, "10.77.0.1") == 0);
	CHECK(f.announces == 1 && f.natpmp >= 1);
	tund_portmap_io_clear(&gw);
	fake_stop(&f, old);
}

/* RFC 6887 8.1.1: an unanswered MAP is sent again after about 3 s, the
 * same bytes; its answer is taken. */
UNIT_TEST(pcp_retransmits_an_unanswered_map)
{
	struct tund_portmap_gw gw;
	struct fake f;
	uint8_t nonce[12] = { 7 };
	char why[512];
	uint16_t port = 0;
	unsigned life = 0;
	int old = fake_start(&f, FAKE_LOSSY_PCP);

	if (old < 0)
		UNIT_SKIP("netns", "needs a network namespace of its own");
	CHECK(tund_portmap_io_discover(&gw, 1500, why, sizeof(why)) == 0);
	CHECK(tund_portmap_io_add(&gw, 40000, 0, nonce, 1800, &port, &life, why, sizeof(why)) == 0);
	CHECK(f.maps == 2 && port == 40001);
	CHECK(memcmp(f.first_nonce, f.last_map + 24, 12) == 0);
	tund_portmap_io_clear(&gw);
	fake_stop(&f, old);
}
