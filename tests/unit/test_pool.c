// SPDX-License-Identifier: MIT
/* The crypto worker pool (overlay/pool.h) and the device's batches through
 * it: items completed out of order are released in order, several queues
 * keep their own orders, a stop with items in flight drops them in order,
 * counters stay in order at the sender, packets of a keypair dropped while
 * they were being opened are dropped, and a pool's batches give what the
 * inline path gives. ASan's leak check runs after each test. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/device_priv.h"
#include "overlay/pool.h"
#include "tests/unit/unit.h"

struct item {
	int id;
	atomic_int *completed; /* items worked so far */
	int wait_for;	       /* work waits until this many others completed */
	int *order;	       /* release order, filled by release */
	int *n_released;
	int *worked_flags;
	int done_at; /* when it completed (value of *completed after it) */
};

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static void item_work(void *arg)
{
	struct item *it = arg;

	/* Bounded wait: a broken pool fails the test, it does not hang it. */
	for (int i = 0; i < 5000 && atomic_load(it->completed) < it->wait_for; i++)
		sleep_us(1000);
	it->done_at = atomic_fetch_add(it->completed, 1) + 1;
}

static void item_release(void *arg, bool worked)
{
	struct item *it = arg;

	it->order[(*it->n_released)++] = it->id;
	it->worked_flags[it->id] = worked;
}

UNIT_TEST(pool_releases_out_of_order_completions_in_order)
{
	struct tund_pool *pool;
	struct tund_pool_queue *q;
	atomic_int completed = 0;
	int order[4] = { -1, -1, -1, -1 }, n_released = 0, worked[4] = { 0 };
	struct item items[4];

	CHECK(tund_pool_new(3, &pool) == 0);
	CHECK(tund_pool_queue_new(pool, &q) == 0);
	for (int i = 0; i < 4; i++) {
		items[i] = (struct item){ .id = i, .completed = &completed, .order = order,
					  .n_released = &n_released, .worked_flags = worked };
		/* The first finishes only after the three after it. */
		items[i].wait_for = i == 0 ? 3 : 0;
		CHECK(tund_pool_submit(q, &items[i], item_work, item_release) == 0);
	}
	tund_pool_drain(q);
	CHECK(items[0].done_at == 4); /* it did complete last */
	CHECK(n_released == 4);
	for (int i = 0; i < 4; i++) {
		CHECK(order[i] == i);
		CHECK(worked[i]);
	}
	tund_pool_queue_free(q);
	tund_pool_free(pool);
}

enum { STRESS_ITEMS = 3000, STRESS_QUEUES = 3 };

struct stress {
	struct tund_pool *pool;
	int last, bad, n;
};

struct stress_item {
	struct stress *s;
	int id;
};

static void stress_work(void *arg)
{
	struct stress_item *it = arg;

	if (it->id % 7 == 0)
		sleep_us(it->id % 3 * 50);
}

static void stress_release(void *arg, bool worked)
{
	struct stress_item *it = arg;

	if (!worked || it->id != it->s->last + 1)
		it->s->bad++;
	it->s->last = it->id;
	it->s->n++;
}

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	struct tund_pool_queue *q;
	struct stress_item *items = calloc(STRESS_ITEMS, sizeof(*items));

	if (!items || tund_pool_queue_new(s->pool, &q)) {
		s->bad++;
		free(items);
		return NULL;
	}
	for (int i = 0; i < STRESS_ITEMS; i++) {
		items[i] = (struct stress_item){ .s = s, .id = i };
		if (tund_pool_submit(q, &items[i], stress_work, stress_release))
			s->bad++;
		if (i % 5 == 4) /* batches of five, as a packet thread drains */
			tund_pool_drain(q);
	}
	tund_pool_queue_free(q); /* drains the rest */
	free(items);
	return NULL;
}

UNIT_TEST(pool_queues_keep_their_own_order)
{
	struct tund_pool *pool;
	struct stress s[STRESS_QUEUES];
	pthread_t t[STRESS_QUEUES];

	CHECK(tund_pool_new(2, &pool) == 0);
	for (int i = 0; i < STRESS_QUEUES; i++) {
		s[i] = (struct stress){ .pool = pool, .last = -1 };
		CHECK(pthread_create(&t[i], NULL, stress_producer, &s[i]) == 0);
	}
	for (int i = 0; i < STRESS_QUEUES; i++) {
		pthread_join(t[i], NULL);
		CHECK(s[i].bad == 0);
		CHECK(s[i].n == STRESS_ITEMS && s[i].last == STRESS_ITEMS - 1);
	}
	tund_pool_free(pool);
}

struct stopper {
	struct tund_pool_queue *q;
	struct item *items;
	int n;
	int submit_failed;
};

static void *submit_and_drain(void *arg)
{
	struct stopper *st = arg;

	for (int i = 0; i < st->n; i++)
		if (tund_pool_submit(st->q, &st->items[i], item_work, item_release))
			st->submit_failed++;
	tund_pool_drain(st->q); /* returns once the stop released them */
	return NULL;
}

UNIT_TEST(pool_stop_with_items_in_flight_drops_them_in_order)
{
	struct tund_pool *pool;
	struct tund_pool_queue *q;
	atomic_int completed = 0;
	int order[5] = { -1, -1, -1, -1, -1 }, n_released = 0, worked[5] = { 0 };
	struct item items[5];
	struct stopper st = { .items = items, .n = 5 };
	pthread_t t;

	CHECK(tund_pool_new(2, &pool) == 0);
	CHECK(tund_pool_queue_new(pool, &q) == 0);
	st.q = q;
	for (int i = 0; i < 5; i++)
		items[i] = (struct item){ .id = i, .completed = &completed, .order = order,
					  .n_released = &n_released, .worked_flags = worked };
	tund_pool_hold(pool, true); /* nothing starts: all five in flight */
	CHECK(pthread_create(&t, NULL, submit_and_drain, &st) == 0);
	for (int i = 0; i < 5000 && tund_pool_pending(pool) < 5; i++)
		sleep_us(1000);
	CHECK(tund_pool_pending(pool) == 5);
	tund_pool_stop(pool);
	pthread_join(t, NULL);
	CHECK(st.submit_failed == 0);
	CHECK(n_released == 5);
	for (int i = 0; i < 5; i++) {
		CHECK(order[i] == i);
		CHECK(!worked[i]);
	}
	CHECK(atomic_load(&completed) == 0);
	/* Stopped: a submit is refused, a drain returns at once. */
	CHECK(tund_pool_submit(q, &items[0], item_work, item_release) == -ESHUTDOWN);
	tund_pool_drain(q);
	tund_pool_queue_free(q);
	tund_pool_free(pool);
}

UNIT_TEST(pool_workers_setting)
{
	int w;

	CHECK(tund_pool_workers_parse("auto", &w) && w == -1);
	CHECK(tund_pool_workers_parse("off", &w) && w == 0);
	CHECK(tund_pool_workers_parse("0", &w) && w == 0);
	CHECK(tund_pool_workers_parse("3", &w) && w == 3);
	CHECK(tund_pool_workers_parse("64", &w) && w == 64);
	CHECK(!tund_pool_workers_parse("65", &w));
	CHECK(!tund_pool_workers_parse("-1", &w));
	CHECK(!tund_pool_workers_parse("2x", &w));
	CHECK(!tund_pool_workers_parse("", &w));
	CHECK(tund_pool_auto_workers(1) == 0);
	CHECK(tund_pool_auto_workers(2) == 0);
	CHECK(tund_pool_auto_workers(3) == 0);
	CHECK(tund_pool_auto_workers(4) == 3);
	CHECK(tund_pool_auto_workers(64) == 8);
}

/* Two devices with a session between them, as in test_device_batch.c. */
enum { SLOT = 2048, N_PKTS = 48, PKT_LEN = 1400 };

struct wire {
	uint8_t buf[4][SLOT];
	size_t len[4];
	int n;
};

static void to_wire(void *ctx, const struct tund_wg_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct wire *w = ctx;

	(void)dst;
	if (w->n < 4 && len <= SLOT) {
		memcpy(w->buf[w->n], buf, len);
		w->len[w->n++] = len;
	}
}

static const struct tund_wg_endpoint EP_A = { .addr = { 1 }, .addr_len = 16, .key = { 1 }, .key_len = 6 };
static const struct tund_wg_endpoint EP_B = { .addr = { 2 }, .addr_len = 16, .key = { 2 }, .key_len = 6 };

struct pair {
	struct tund_wg *a, *b;
	struct tund_wg_peer *a_b, *b_a;
	struct wire wa, wb;
	struct tund_wg_clock now;
};

static size_t ipv4_packet(uint8_t *p, size_t len, uint8_t mark)
{
	memset(p, mark, len);
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	inet_pton(AF_INET, "10.0.0.1", p + 12);
	inet_pton(AF_INET, "10.0.0.2", p + 16);
	return len;
}

static int wire_to(struct wire *w, struct tund_wg *to, const struct tund_wg_endpoint *src,
		   const struct tund_wg_clock *now)
{
	int tun = 0;

	for (int i = 0; i < w->n; i++) {
		size_t off, inner;

		tun += tund_wg_receive(to, w->buf[i], w->len[i], src, now, &off, &inner) ==
		       TUND_WG_TO_TUN;
	}
	w->n = 0;
	return tun;
}

static void pair_up(struct pair *p)
{
	uint8_t ka[32], kb[32], pa[32], pb[32], buf[SLOT];
	struct tund_cidr c;
	size_t out_len;
	struct tund_wg_endpoint dst;

	CHECK(sodium_init() >= 0);
	memset(p, 0, sizeof(*p));
	p->now.mono_ns = 1000000000ull;
	p->now.wall.tv_sec = 1700000000;
	randombytes_buf(ka, 32);
	randombytes_buf(kb, 32);
	crypto_scalarmult_base(pa, ka);
	crypto_scalarmult_base(pb, kb);
	p->a = tund_wg_new(ka, 1420, to_wire, &p->wa);
	p->b = tund_wg_new(kb, 1420, to_wire, &p->wb);
	p->a_b = tund_wg_peer_add(p->a, pb, NULL, NULL);
	p->b_a = tund_wg_peer_add(p->b, pa, NULL, NULL);
	tund_cidr_parse(&c, "10.0.0.2/32", false);
	tund_wg_peer_allow(p->a, p->a_b, &c);
	tund_cidr_parse(&c, "10.0.0.1/32", false);
	tund_wg_peer_allow(p->b, p->b_a, &c);
	tund_wg_peer_set_endpoint(p->a, p->a_b, &EP_B);
	/* One staged packet: initiation, response, then the packet itself. */
	size_t len = ipv4_packet(buf + TUND_WG_HEADROOM, 60, 1);
	CHECK(tund_wg_encrypt(p->a, buf, sizeof(buf), len, &p->now, &out_len, &dst) ==
	      TUND_WG_DONE);
	wire_to(&p->wa, p->b, &EP_A, &p->now);
	wire_to(&p->wb, p->a, &EP_B, &p->now);
	CHECK(wire_to(&p->wa, p->b, &EP_A, &p->now) == 1);
}

static void pair_free(struct pair *p)
{
	tund_wg_free(p->a);
	tund_wg_free(p->b);
}

/* N_PKTS packets of PKT_LEN, marked with their number, sealed by a through
 * q (NULL: inline) into bufs; then made ready for b's receive in rx. */
static void seal_all(struct pair *p, struct tund_pool_queue *q, uint8_t (*bufs)[SLOT],
		     struct tund_wg_packet *rx)
{
	struct tund_wg_packet tx[N_PKTS];

	for (int i = 0; i < N_PKTS; i++) {
		size_t len = ipv4_packet(bufs[i] + TUND_WG_HEADROOM, PKT_LEN, (uint8_t)(i + 10));
		tx[i] = (struct tund_wg_packet){ .buf = bufs[i], .cap = SLOT, .len = len };
	}
	tund_wg_encrypt_batch_pool(p->a, q, tx, N_PKTS, &p->now);
	for (int i = 0; i < N_PKTS; i++) {
		uint64_t counter;

		CHECK(tx[i].res == TUND_WG_SEND);
		/* Counters in the packets' order: 0 went with the handshake. */
		memcpy(&counter, bufs[i] + 8, 8);
		CHECK(le64toh(counter) == (uint64_t)i + 1);
		rx[i] = (struct tund_wg_packet){ .buf = bufs[i], .len = tx[i].out_len, .src = &EP_A };
	}
}

UNIT_TEST(pool_device_batches_in_order_through_two_workers)
{
	static uint8_t bufs[N_PKTS][SLOT];
	struct tund_wg_packet rx[N_PKTS];
	struct tund_pool *pool;
	struct tund_pool_queue *tx_q, *rx_q;
	struct pair p;

	pair_up(&p);
	CHECK(tund_pool_new(2, &pool) == 0);
	CHECK(tund_pool_queue_new(pool, &tx_q) == 0);
	CHECK(tund_pool_queue_new(pool, &rx_q) == 0);
	static uint8_t copy[N_PKTS][SLOT];
	struct tund_wg_peer_stats st;

	seal_all(&p, tx_q, bufs, rx);
	memcpy(copy, bufs, sizeof(copy));
	tund_wg_receive_batch_pool(p.b, rx_q, rx, N_PKTS, &p.now);
	for (int i = 0; i < N_PKTS; i++) {
		CHECK(rx[i].res == TUND_WG_TO_TUN && rx[i].inner_len == PKT_LEN);
		CHECK(rx[i].buf[rx[i].inner_off + PKT_LEN - 1] == i + 10);
		rx[i] = (struct tund_wg_packet){ .buf = copy[i], .len = rx[i].len, .src = &EP_A };
	}
	/* The same datagrams again: each a replay, caught after its open. */
	tund_wg_receive_batch_pool(p.b, rx_q, rx, N_PKTS, &p.now);
	tund_wg_peer_get_stats(p.b, p.b_a, &st);
	for (int i = 0; i < N_PKTS; i++)
		CHECK(rx[i].res == TUND_WG_DROP);
	CHECK(st.drops[TUND_WG_DROP_REPLAY] == N_PKTS);
	tund_pool_queue_free(tx_q);
	tund_pool_queue_free(rx_q);
	tund_pool_free(pool);
	pair_free(&p);
}

struct receiver {
	struct tund_wg *wg;
	struct tund_pool_queue *q;
	struct tund_wg_packet *rx;
	const struct tund_wg_clock *now;
};

static void *receive_thread(void *arg)
{
	struct receiver *r = arg;

	tund_wg_receive_batch_pool(r->wg, r->q, r->rx, N_PKTS, r->now);
	return NULL;
}

UNIT_TEST(pool_drops_packets_of_a_keypair_dropped_in_flight)
{
	static uint8_t bufs[N_PKTS][SLOT];
	struct tund_wg_packet rx[N_PKTS];
	struct tund_pool *pool;
	struct tund_pool_queue *q;
	struct pair p;
	uint64_t drops[TUND_WG_DROP_COUNT];
	pthread_t t;

	pair_up(&p);
	CHECK(tund_pool_new(1, &pool) == 0);
	CHECK(tund_pool_queue_new(pool, &q) == 0);
	seal_all(&p, NULL, bufs, rx);
	struct receiver r = { .wg = p.b, .q = q, .rx = rx, .now = &p.now };
	/* Checked and handed to the pool, but not opened yet ... */
	tund_pool_hold(pool, true);
	CHECK(pthread_create(&t, NULL, receive_thread, &r) == 0);
	for (int i = 0; i < 5000 && tund_pool_pending(pool) == 0; i++)
		sleep_us(1000);
	CHECK(tund_pool_pending(pool) > 0);
	/* ... when the session's keys go (a new session, expiry). */
	pthread_mutex_lock(&p.b->lock);
	tund_wg_keypairs_drop_all(p.b, p.b_a);
	pthread_mutex_unlock(&p.b->lock);
	tund_pool_hold(pool, false);
	pthread_join(t, NULL);
	for (int i = 0; i < N_PKTS; i++)
		CHECK(rx[i].res == TUND_WG_DROP);
	tund_wg_get_drops(p.b, drops);
	CHECK(drops[TUND_WG_DROP_UNKNOWN_INDEX] == N_PKTS);
	tund_pool_queue_free(q);
	tund_pool_free(pool);
	pair_free(&p);
}
