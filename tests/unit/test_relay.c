// SPDX-License-Identifier: MIT
/* Member relay frames (overlay/relay.c) and the data plane's forwarding
 * rules (tund/dataplane/relay_fwd.c), without sockets: a send callback
 * records what would go out on which path. */
#include <string.h>

#include "overlay/relay.h"
#include "tests/unit/daemon_fixture.h"
#include "tund/connect/member_relay.h"
#include "tund/connect/membership.h"
#include "tund/connect/networks.h"
#include "tund/dataplane/relay_fwd.h"
#include "unit.h"

static const uint8_t KEY_A[32] = { 0xa };
static const uint8_t KEY_B[32] = { 0xb };
static const uint8_t KEY_C[32] = { 0xc };

/* A transport message of the minimum size: type 4, three zero bytes. */
static size_t frame(uint8_t *buf, uint8_t kind, const uint8_t *key)
{
	tund_relay_header(buf, kind, 0, key);
	memset(buf + TUND_RELAY_HEADER, 0, 32);
	buf[TUND_RELAY_HEADER] = 4;
	return TUND_RELAY_HEADER + 32;
}

UNIT_TEST(relay_frame_decode)
{
	uint8_t buf[128];
	struct tund_relay_frame f;
	size_t len = frame(buf, TUND_RELAY_FORWARD, KEY_B);

	CHECK(tund_relay_decode(buf, len, &f));
	CHECK(f.kind == TUND_RELAY_FORWARD && !memcmp(f.key, KEY_B, 32));
	CHECK(f.payload == buf + TUND_RELAY_HEADER && f.payload_len == 32);
	CHECK(!tund_relay_decode(buf, len - 1, &f)); /* payload not a WireGuard message */
	CHECK(!tund_relay_decode(buf, TUND_RELAY_HEADER - 1, &f));
	buf[1] = 2;
	CHECK(!tund_relay_decode(buf, len, &f)); /* unknown version */
	buf[1] = TUND_RELAY_VERSION;
	buf[3] = 1;
	CHECK(!tund_relay_decode(buf, len, &f)); /* reserved byte */
	/* An offer carries nothing; a refusal a known reason. */
	tund_relay_header(buf, TUND_RELAY_OFFER, 0, NULL);
	CHECK(tund_relay_decode(buf, TUND_RELAY_HEADER, &f));
	CHECK(!tund_relay_decode(buf, TUND_RELAY_HEADER + 1, &f));
	buf[5] = 1;
	CHECK(!tund_relay_decode(buf, TUND_RELAY_HEADER, &f));
	tund_relay_header(buf, TUND_RELAY_REFUSE, TUND_RELAY_REFUSED_OFF, KEY_A);
	CHECK(tund_relay_decode(buf, TUND_RELAY_HEADER, &f) && f.reason == TUND_RELAY_REFUSED_OFF);
	buf[2] = 0;
	CHECK(!tund_relay_decode(buf, TUND_RELAY_HEADER, &f));
	/* A WireGuard message is never taken for a frame. */
	buf[0] = 4;
	CHECK(!tund_relay_is_frame(buf, 1));
}

struct sent {
	uint32_t path;
	uint8_t buf[256];
	size_t len;
	unsigned n;
};

static void record(void *ctx, uint32_t path, const uint8_t *buf, size_t len)
{
	struct sent *s = ctx;

	s->path = path;
	s->len = len < sizeof(s->buf) ? len : sizeof(s->buf);
	memcpy(s->buf, buf, s->len);
	s->n++;
}

/* We are c: a on path 1, b on path 2, both members of group 7. */
static struct tund_relay_fwd *relay_c(struct sent *s)
{
	struct tund_relay_fwd *r = tund_relay_fwd_new(record, s);

	tund_relay_fwd_set_peer(r, KEY_A, 7, true, true);
	tund_relay_fwd_set_peer(r, KEY_B, 7, true, true);
	tund_relay_fwd_set_path(r, KEY_A, 1);
	tund_relay_fwd_set_path(r, KEY_B, 2);
	return r;
}

static enum tund_relay_in input(struct tund_relay_fwd *r, uint32_t path, uint8_t *buf, size_t len)
{
	struct tund_wg_endpoint src;
	size_t off;

	return tund_relay_fwd_input(r, path, buf, len, 1000, &src, &off);
}

UNIT_TEST(relay_fwd_forwards_only_when_on_and_both_members)
{
	struct sent s = { 0 };
	struct tund_relay_fwd *r = relay_c(&s);
	struct tund_relay_frame f;
	struct tund_relay_stats st;
	uint8_t buf[128];
	size_t len = frame(buf, TUND_RELAY_FORWARD, KEY_B);

	/* Off: refused, and the sender told why. */
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_DONE);
	CHECK(s.n == 1 && s.path == 1 && tund_relay_decode(s.buf, s.len, &f) &&
	      f.kind == TUND_RELAY_REFUSE && f.reason == TUND_RELAY_REFUSED_OFF);
	/* On: b gets a DELIVER naming a, with the same payload. */
	tund_relay_fwd_serve(r, 7, 100, 0);
	len = frame(buf, TUND_RELAY_FORWARD, KEY_B);
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_DONE);
	CHECK(s.n == 2 && s.path == 2 && tund_relay_decode(s.buf, s.len, &f) &&
	      f.kind == TUND_RELAY_DELIVER && !memcmp(f.key, KEY_A, 32) && f.payload_len == 32);
	/* A target in another network, or one that is not admitted. */
	tund_relay_fwd_set_peer(r, KEY_C, 8, true, true);
	tund_relay_fwd_set_path(r, KEY_C, 3);
	len = frame(buf, TUND_RELAY_FORWARD, KEY_C);
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_DONE && s.path == 1);
	CHECK(tund_relay_decode(s.buf, s.len, &f) && f.reason == TUND_RELAY_REFUSED_NOT_MEMBER);
	tund_relay_fwd_set_peer(r, KEY_B, 7, false, true);
	len = frame(buf, TUND_RELAY_FORWARD, KEY_B);
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_DONE && s.path == 1);
	/* No direct path to b. */
	tund_relay_fwd_set_peer(r, KEY_B, 7, true, false);
	len = frame(buf, TUND_RELAY_FORWARD, KEY_B);
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_DONE && s.path == 1);
	CHECK(tund_relay_decode(s.buf, s.len, &f) && f.reason == TUND_RELAY_REFUSED_NO_PATH);
	/* From a path no member is on: dropped without a word. */
	unsigned n = s.n;
	len = frame(buf, TUND_RELAY_FORWARD, KEY_B);
	CHECK(input(r, 9, buf, len) == TUND_RELAY_IN_DONE && s.n == n);
	/* Malformed: counted. */
	buf[3] = 1;
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_DONE && s.n == n);
	tund_relay_fwd_stats(r, &st);
	CHECK(st.forwarded == 1 && st.drops[TUND_RELAY_DROP_MALFORMED] == 1 &&
	      st.drops[TUND_RELAY_DROP_UNKNOWN] == 1 && st.drops[TUND_RELAY_DROP_OFF] == 1 &&
	      st.drops[TUND_RELAY_DROP_NOT_MEMBER] == 2 && st.drops[TUND_RELAY_DROP_NO_PATH] == 1);
	/* Not a frame at all: WireGuard's. */
	buf[0] = 4;
	CHECK(input(r, 1, buf, len) == TUND_RELAY_IN_NONE);
	tund_relay_fwd_free(r);
}

/* Paths set for many new peers (each makes a slot, which may move the
 * slot array) stay with their peers. */
UNIT_TEST(relay_fwd_many_peers)
{
	struct sent s = { 0 };
	struct tund_relay_fwd *r = tund_relay_fwd_new(record, &s);
	struct tund_wg_endpoint ep;
	uint8_t key[32] = { 0 }, via[32];

	for (unsigned i = 1; i <= 300; i++) {
		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		tund_relay_fwd_set_path(r, key, 1000 + i);
	}
	const uint8_t other[32] = { [31] = 1 };

	key[0] = 7;
	key[1] = 0;
	CHECK(!tund_relay_fwd_endpoint(r, key, other, &ep)); /* other unknown yet */
	tund_relay_fwd_set_peer(r, other, 1, true, false);
	CHECK(tund_relay_fwd_endpoint(r, key, other, &ep));
	CHECK(tund_relay_fwd_endpoint_via(r, &ep, via) && !memcmp(via, key, 32));
	tund_relay_fwd_free(r);
}

UNIT_TEST(relay_fwd_rate_bound)
{
	struct sent s = { 0 };
	struct tund_relay_fwd *r = relay_c(&s);
	struct tund_wg_endpoint src;
	uint64_t dropped = 0;
	unsigned ok = 0;
	uint8_t buf[128];
	size_t off;

	tund_relay_fwd_serve(r, 7, 10, 1000); /* 10 a second, burst 20 */
	for (int i = 0; i < 50; i++) {
		size_t len = frame(buf, TUND_RELAY_FORWARD, KEY_B);

		tund_relay_fwd_input(r, 1, buf, len, 1000, &src, &off);
		ok += s.path == 2;
		s.path = 0;
	}
	CHECK(ok == 20);
	CHECK(tund_relay_fwd_group_forwarded(r, 7, &dropped) == 20 && dropped == 30);
	tund_relay_fwd_free(r);
}

UNIT_TEST(relay_fwd_deliver_and_send_back)
{
	struct sent s = { 0 };
	struct tund_relay_fwd *r = tund_relay_fwd_new(record, &s);
	struct tund_wg_endpoint src, ep;
	struct tund_relay_frame f;
	uint8_t buf[128], via[32];
	size_t off, len;

	/* We are b: c (the relay) on path 5, a known but unreachable. */
	tund_relay_fwd_set_peer(r, KEY_C, 7, true, true);
	tund_relay_fwd_set_peer(r, KEY_A, 7, true, false);
	tund_relay_fwd_set_path(r, KEY_C, 5);
	len = frame(buf, TUND_RELAY_DELIVER, KEY_A);
	CHECK(tund_relay_fwd_input(r, 5, buf, len, 1, &src, &off) == TUND_RELAY_IN_INNER);
	CHECK(off == TUND_RELAY_HEADER && buf[off] == 4);
	CHECK(tund_relay_fwd_endpoint_via(r, &src, via) && !memcmp(via, KEY_C, 32));
	/* Our answer to that endpoint goes to c as a FORWARD to a. */
	tund_relay_fwd_send(r, &src, buf + off, len - off);
	CHECK(s.path == 5 && tund_relay_decode(s.buf, s.len, &f) &&
	      f.kind == TUND_RELAY_FORWARD && !memcmp(f.key, KEY_A, 32));
	/* The endpoint the main thread would probe is the same. */
	CHECK(tund_relay_fwd_endpoint(r, KEY_C, KEY_A, &ep) && ep.addr_len == src.addr_len &&
	      !memcmp(ep.addr, src.addr, ep.addr_len));
	/* From a source we do not know, or through a path no member is on. */
	len = frame(buf, TUND_RELAY_DELIVER, KEY_B);
	CHECK(tund_relay_fwd_input(r, 5, buf, len, 1, &src, &off) == TUND_RELAY_IN_DONE);
	len = frame(buf, TUND_RELAY_DELIVER, KEY_A);
	CHECK(tund_relay_fwd_input(r, 6, buf, len, 1, &src, &off) == TUND_RELAY_IN_DONE);
	/* Offers and refusals are noted against the relay. */
	tund_relay_header(buf, TUND_RELAY_OFFER, 0, NULL);
	CHECK(tund_relay_fwd_input(r, 5, buf, TUND_RELAY_HEADER, 77, &src, &off) ==
	      TUND_RELAY_IN_DONE);
	CHECK(tund_relay_fwd_offered(r, KEY_C) == 77);
	tund_relay_header(buf, TUND_RELAY_REFUSE, TUND_RELAY_REFUSED_OFF, KEY_A);
	tund_relay_fwd_input(r, 5, buf, TUND_RELAY_HEADER, 88, &src, &off);
	uint64_t when = 0;
	CHECK(tund_relay_fwd_refused(r, KEY_A, via, &when) == TUND_RELAY_REFUSED_OFF &&
	      !memcmp(via, KEY_C, 32) && when == 88);
	/* The relay's path goes: the endpoint names no relay any more. */
	tund_relay_fwd_path_gone(r, 5);
	CHECK(!tund_relay_fwd_endpoint(r, KEY_C, KEY_A, &ep));
	tund_relay_fwd_free(r);
}

/* `tundctl network relay`: on and off with a rate, kept in networks.json
 * and read back at start; bad requests refused with the reason. */
UNIT_TEST(relay_command_persists)
{
	struct fx f;
	struct fx_reply r = { 0 };
	uint32_t rate = 0;

	fx_init(&f);
	fx_call(&f, "{\"cmd\":\"network.create\",\"name\":\"club\"}", &r);
	CHECK(r.ok);
	fx_reply_clear(&r);
	CHECK(!tund_member_relay_get(&f.d, "club", &rate) && rate == TUND_MEMBER_RELAY_RATE);
	fx_call(&f, "{\"cmd\":\"network.relay\",\"name\":\"club\",\"relay\":true,\"rate\":500}", &r);
	CHECK(r.ok && fx_result_int(&r, "rate") == 500);
	fx_reply_clear(&r);
	g_autofree char *path = fx_path(&f, "networks.json");
	g_autofree char *text = fx_read(path, NULL);
	CHECK(text && strstr(text, "\"relay\"") && strstr(text, "\"rate\"") && strstr(text, "500"));
	fx_call(&f, "{\"cmd\":\"network.relay\",\"name\":\"club\",\"relay\":\"yes\"}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "relay: expected true or false"));
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.relay\",\"name\":\"club\",\"relay\":true,\"rate\":0}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "rate: expected a whole number"));
	fx_reply_clear(&r);
	fx_call(&f, "{\"cmd\":\"network.relay\",\"name\":\"nope\",\"relay\":true}", &r);
	CHECK(!r.ok && r.error && strstr(r.error, "nope"));
	fx_reply_clear(&r);
	/* A restart reads it back. */
	tund_member_relay_stop(&f.d);
	tund_networks_stop_all(&f.d);
	g_free(f.d.networks_path);
	CHECK(tund_networks_load(&f.d));
	CHECK(tund_member_relay_get(&f.d, "club", &rate) && rate == 500);
	fx_call(&f, "{\"cmd\":\"network.relay\",\"name\":\"club\",\"relay\":false}", &r);
	CHECK(!r.ok); /* loaded, not started: no such network yet */
	fx_reply_clear(&r);
	tund_networks_start_pending(&f.d);
	fx_call(&f, "{\"cmd\":\"network.relay\",\"name\":\"club\",\"relay\":false}", &r);
	CHECK(r.ok && fx_result_int(&r, "rate") == 500);
	fx_reply_clear(&r);
	CHECK(!tund_member_relay_get(&f.d, "club", &rate));
	fx_free(&f);
}
