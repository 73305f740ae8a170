// SPDX-License-Identifier: MIT
/* Timer rules walked with a simulated clock: no sleeping, jitter from a
 * scripted source. step() also checks that next_deadline is exact: strictly
 * after now, nothing due one millisecond before it. */
#include <string.h>

#include "overlay/timers.h"
#include "tests/unit/unit.h"

#define S(x) ((uint64_t)(x) * 1000)
#define INIT TUND_TIMER_SEND_INITIATION
#define KEEP TUND_TIMER_SEND_KEEPALIVE
#define EXPIRE TUND_TIMER_EXPIRE_KEYPAIRS
#define ZERO TUND_TIMER_ZERO_KEYS
#define GIVE_UP TUND_TIMER_GIVE_UP

struct fake_rand {
	uint32_t value;     /* returned (mod bound) unless use_prng */
	bool use_prng;
	uint64_t state;
	uint32_t last_bound;
	int calls;
};

static uint32_t fake_rand_fn(void *ctx, uint32_t bound)
{
	struct fake_rand *r = ctx;

	r->calls++;
	r->last_bound = bound;
	if (r->use_prng) {
		r->state = r->state * 6364136223846793005ULL + 1442695040888963407ULL;
		return (uint32_t)(r->state >> 33) % bound;
	}
	return r->value % bound;
}

/* Polls at now, then jumps to the reported deadline and polls there. */
static unsigned step(struct tund_timers *t, uint64_t *now)
{
	uint64_t next, again;
	unsigned acts;

	acts = tund_timers_poll(t, *now, &next);
	CHECK(acts == 0); /* the caller handled everything already */
	CHECK(next > *now);
	if (next == TUND_TIMER_OFF)
		return 0;
	CHECK(tund_timers_poll(t, next - 1, &again) == 0);
	CHECK(again == next);
	*now = next;
	acts = tund_timers_poll(t, *now, &next);
	CHECK(next > *now);
	return acts;
}

static uint64_t deadline(struct tund_timers *t, uint64_t now)
{
	uint64_t next;

	CHECK(tund_timers_poll(t, now, &next) == 0);
	return next;
}

UNIT_TEST(timers_retry_every_5s_then_give_up_at_90s)
{
	struct fake_rand r = { .value = 200 };
	struct tund_timers t;
	uint64_t now = S(1), next;
	int initiations = 0;
	unsigned acts;

	tund_timers_init(&t, fake_rand_fn, &r);
	CHECK(deadline(&t, now) == TUND_TIMER_OFF);

	tund_timers_on_handshake_wanted(&t, now);
	CHECK(tund_timers_poll(&t, now, &next) == INIT);
	CHECK(next == TUND_TIMER_OFF);
	for (;;) {
		tund_timers_on_handshake_initiated(&t, now);
		initiations++;
		CHECK(r.last_bound == TUND_TIMER_JITTER_MAX_MS + 1);
		acts = step(&t, &now);
		if (acts != INIT)
			break;
		CHECK((now - S(1)) % 5200 == 0); /* 5 s + 200 ms jitter each */
		CHECK(initiations < 100);
	}
	CHECK(acts == GIVE_UP);
	CHECK(now == S(1) + S(90));
	CHECK(initiations == 18); /* t=0 and retries up to 88.4 s */

	/* Nothing retries afterwards; only the key wipe remains armed. */
	CHECK(deadline(&t, now) == now + S(540));
	CHECK(step(&t, &now) == ZERO);
	CHECK(deadline(&t, now) == TUND_TIMER_OFF);
}

UNIT_TEST(timers_retry_jitter_bounds)
{
	struct fake_rand r = { .value = 333 };
	struct tund_timers t;
	uint64_t now = 0;

	tund_timers_init(&t, fake_rand_fn, &r);
	tund_timers_on_handshake_initiated(&t, now);
	CHECK(deadline(&t, now) == 5333);

	r.value = 334; /* wraps to 0: the bound excludes 334 */
	tund_timers_on_handshake_initiated(&t, now);
	CHECK(deadline(&t, now) == 5000);

	/* With a random source every retry lands in [5000, 5333] ms. */
	r.use_prng = true;
	r.state = 42;
	tund_timers_init(&t, fake_rand_fn, &r);
	tund_timers_on_handshake_initiated(&t, now);
	for (int i = 0; i < 15; i++) {
		uint64_t before = now;

		CHECK(step(&t, &now) == INIT);
		CHECK(now - before >= 5000 && now - before <= 5333);
		tund_timers_on_handshake_initiated(&t, now);
	}

	/* No random source: no jitter. */
	tund_timers_init(&t, NULL, NULL);
	tund_timers_on_handshake_initiated(&t, 7);
	CHECK(deadline(&t, 7) == 5007);
}

UNIT_TEST(timers_handshake_complete_stops_retries)
{
	struct tund_timers t;
	uint64_t now = S(10);

	tund_timers_init(&t, NULL, NULL);
	tund_timers_on_handshake_initiated(&t, now);
	CHECK(step(&t, &now) == INIT);
	tund_timers_on_handshake_initiated(&t, now);
	now += 120;
	tund_timers_on_handshake_complete(&t, now);
	tund_timers_on_session_derived(&t, now, true);
	CHECK(t.last_handshake == now);
	/* Only the reject and wipe timers remain. */
	CHECK(deadline(&t, now) == now + S(180));
}

UNIT_TEST(timers_wants_keep_a_series_alive)
{
	struct tund_timers t;
	uint64_t now = 0;
	unsigned acts;

	tund_timers_init(&t, NULL, NULL);
	tund_timers_on_handshake_wanted(&t, now);
	CHECK(tund_timers_poll(&t, now, NULL) == INIT);
	tund_timers_on_handshake_initiated(&t, now);
	/* Wanted again 2 s later: rate-limited, the retry covers it. */
	tund_timers_on_handshake_wanted(&t, S(2));
	CHECK(tund_timers_poll(&t, S(2), NULL) == 0);
	/* A queued packet every 60 s pushes the give-up point along. */
	while (now < S(300)) {
		acts = step(&t, &now);
		CHECK(acts == INIT);
		tund_timers_on_handshake_initiated(&t, now);
		if (now % S(60) < 5000)
			tund_timers_on_handshake_wanted(&t, now);
	}
	/* Once the packets stop, give up 90 s after the last want. */
	now = S(300);
	tund_timers_on_handshake_wanted(&t, now);
	acts = tund_timers_poll(&t, now, NULL);
	CHECK(acts == 0 || acts == INIT);
	if (acts == INIT)
		tund_timers_on_handshake_initiated(&t, now);
	do
		acts = step(&t, &now);
	while (acts == INIT && (tund_timers_on_handshake_initiated(&t, now), true));
	CHECK(acts == GIVE_UP);
	CHECK(now == S(390));
}

UNIT_TEST(timers_rate_limit_boundary)
{
	struct tund_timers t;

	/* Wants are dropped for exactly REKEY_TIMEOUT after an initiation. */
	tund_timers_init(&t, NULL, NULL);
	tund_timers_on_handshake_initiated(&t, S(1));
	tund_timers_on_handshake_complete(&t, S(1) + 50);
	tund_timers_on_handshake_wanted(&t, S(6) - 1);
	CHECK(tund_timers_poll(&t, S(6) - 1, NULL) == 0);
	tund_timers_on_handshake_wanted(&t, S(6));
	CHECK(tund_timers_poll(&t, S(6), NULL) == INIT);
}

static void established(struct tund_timers *t, uint64_t now, bool we_initiated)
{
	tund_timers_on_session_derived(t, now, we_initiated);
	tund_timers_on_handshake_complete(t, now);
}

UNIT_TEST(timers_passive_keepalive_after_receive_only)
{
	struct tund_timers t;
	uint64_t now = S(1000);

	tund_timers_init(&t, NULL, NULL);
	established(&t, now, false);
	tund_timers_on_any_authenticated_packet_received(&t, now);
	tund_timers_on_data_received(&t, now);
	now += S(3);
	tund_timers_on_data_received(&t, now); /* does not push it out */
	now -= S(3);
	CHECK(step(&t, &now) == KEEP);
	CHECK(now == S(1010));
	/* The keepalive goes out; nothing else until the keys age. */
	tund_timers_on_any_authenticated_packet_sent(&t, now);
	tund_timers_on_any_authenticated_packet_traversal(&t, now);
	CHECK(deadline(&t, now) == S(1180));

	/* Any packet we send in between cancels the keepalive. */
	tund_timers_on_data_received(&t, S(1020));
	tund_timers_on_any_authenticated_packet_sent(&t, S(1025));
	CHECK(deadline(&t, S(1025)) == S(1180));
}

UNIT_TEST(timers_new_handshake_after_send_only)
{
	struct fake_rand r = { .value = 100 };
	struct tund_timers t;
	uint64_t now = S(50);

	tund_timers_init(&t, fake_rand_fn, &r);
	established(&t, now, false);
	now += S(1);
	tund_timers_on_data_sent(&t, now);
	tund_timers_on_data_sent(&t, now + S(2)); /* does not push it out */
	CHECK(step(&t, &now) == INIT);
	CHECK(now == S(51) + S(15) + 100);

	/* A reply in time cancels it. */
	tund_timers_init(&t, fake_rand_fn, &r);
	established(&t, now, false);
	tund_timers_on_data_sent(&t, now);
	tund_timers_on_any_authenticated_packet_received(&t, now + S(14));
	CHECK(deadline(&t, now + S(14)) == now + S(180));

	/* Rate limit: an initiation 2 s before the timer fires wins. */
	tund_timers_init(&t, NULL, NULL);
	established(&t, S(0), false);
	tund_timers_on_data_sent(&t, S(0));
	tund_timers_on_handshake_initiated(&t, S(13));
	tund_timers_on_handshake_complete(&t, S(14));
	now = S(14);
	CHECK(step(&t, &now) == 0); /* fired at 15 s, dropped */
	CHECK(now == S(15));
}

UNIT_TEST(timers_rekey_after_time_initiator_only)
{
	struct tund_timers t;
	uint64_t t0 = S(7);

	/* Initiator: the first data sent at or after 120 s asks for a rekey. */
	tund_timers_init(&t, NULL, NULL);
	established(&t, t0, true);
	tund_timers_on_handshake_initiated(&t, t0 - 100); /* the one that made it */
	tund_timers_on_handshake_complete(&t, t0);
	tund_timers_on_data_sent(&t, t0 + S(120) - 1);
	tund_timers_on_any_authenticated_packet_received(&t, t0 + S(120) - 1);
	CHECK(tund_timers_poll(&t, t0 + S(120) - 1, NULL) == 0);
	tund_timers_on_data_sent(&t, t0 + S(120));
	CHECK(tund_timers_poll(&t, t0 + S(120), NULL) == INIT);
	/* Idle initiators do not rekey by themselves. */
	tund_timers_init(&t, NULL, NULL);
	established(&t, t0, true);
	CHECK(deadline(&t, t0 + S(150)) == t0 + S(180));

	/* Responder: never by time on send... */
	tund_timers_init(&t, NULL, NULL);
	established(&t, t0, false);
	for (uint64_t s = 100; s < 180; s += 10) {
		tund_timers_on_data_sent(&t, t0 + S(s));
		tund_timers_on_data_received(&t, t0 + S(s));
		tund_timers_on_any_authenticated_packet_received(&t, t0 + S(s));
		tund_timers_on_any_authenticated_packet_sent(&t, t0 + S(s));
		CHECK(tund_timers_poll(&t, t0 + S(s), NULL) == 0);
	}
	/* ...but by message count, whoever initiated. */
	tund_timers_on_send_counter(&t, t0 + S(179), TUND_TIMER_REKEY_AFTER_MESSAGES - 1);
	CHECK(tund_timers_poll(&t, t0 + S(179), NULL) == 0);
	tund_timers_on_send_counter(&t, t0 + S(179), TUND_TIMER_REKEY_AFTER_MESSAGES);
	CHECK(tund_timers_poll(&t, t0 + S(179), NULL) == INIT);
}

UNIT_TEST(timers_rekey_on_receive_at_165s_once)
{
	struct tund_timers t;

	tund_timers_init(&t, NULL, NULL);
	established(&t, 0, true);
	tund_timers_on_data_received(&t, S(165) - 1);
	tund_timers_on_any_authenticated_packet_sent(&t, S(165) - 1);
	CHECK(tund_timers_poll(&t, S(165) - 1, NULL) == 0);
	tund_timers_on_data_received(&t, S(165));
	tund_timers_on_any_authenticated_packet_sent(&t, S(165));
	CHECK(tund_timers_poll(&t, S(165), NULL) == INIT);
	tund_timers_on_data_received(&t, S(172));
	tund_timers_on_any_authenticated_packet_sent(&t, S(172));
	CHECK(tund_timers_poll(&t, S(172), NULL) == 0); /* once per keypair */

	/* The responder never does this. */
	tund_timers_init(&t, NULL, NULL);
	established(&t, 0, false);
	tund_timers_on_data_received(&t, S(170));
	tund_timers_on_any_authenticated_packet_sent(&t, S(170));
	CHECK(tund_timers_poll(&t, S(170), NULL) == 0);
}

UNIT_TEST(timers_reject_at_180s_wipe_at_540s)
{
	struct tund_timers t;
	uint64_t now = S(3);

	tund_timers_init(&t, NULL, NULL);
	established(&t, now, true);
	CHECK(step(&t, &now) == EXPIRE);
	CHECK(now == S(183));
	/* Expired keys never ask for a rekey. */
	tund_timers_on_data_sent(&t, now);
	tund_timers_on_any_authenticated_packet_received(&t, now);
	CHECK(tund_timers_poll(&t, now, NULL) == 0);
	CHECK(step(&t, &now) == ZERO);
	CHECK(now == S(543));
	CHECK(deadline(&t, now) == TUND_TIMER_OFF);

	/* A new session pushes both out. */
	tund_timers_init(&t, NULL, NULL);
	established(&t, S(0), true);
	established(&t, S(100), false);
	now = S(0);
	CHECK(step(&t, &now) == EXPIRE);
	CHECK(now == S(280));
	CHECK(step(&t, &now) == ZERO);
	CHECK(now == S(640));

	/* Send counter exhausted: reject at once and ask for new keys. */
	tund_timers_init(&t, NULL, NULL);
	established(&t, S(0), false);
	tund_timers_on_send_counter(&t, S(1), TUND_TIMER_REJECT_AFTER_MESSAGES);
	CHECK(tund_timers_poll(&t, S(1), NULL) == (EXPIRE | INIT));
	CHECK(deadline(&t, S(1)) == S(540));
}

UNIT_TEST(timers_persistent_keepalive)
{
	struct tund_timers t;
	uint64_t now = S(5);

	tund_timers_init(&t, NULL, NULL);
	CHECK(deadline(&t, now) == TUND_TIMER_OFF);
	tund_timers_set_persistent_keepalive(&t, now, S(25));
	CHECK(tund_timers_poll(&t, now, NULL) == KEEP); /* on: one right away */
	for (int i = 0; i < 4; i++) {
		uint64_t sent = now;

		tund_timers_on_any_authenticated_packet_sent(&t, now);
		tund_timers_on_any_authenticated_packet_traversal(&t, now);
		CHECK(step(&t, &now) == KEEP);
		CHECK(now == sent + S(25));
	}
	/* Other traffic counts as traversal and pushes it out. */
	tund_timers_on_any_authenticated_packet_traversal(&t, now);
	tund_timers_on_any_authenticated_packet_traversal(&t, now + S(10));
	CHECK(deadline(&t, now + S(10)) == now + S(35));
	/* Changing a running interval does not fire at once. */
	tund_timers_set_persistent_keepalive(&t, now + S(10), S(15));
	CHECK(deadline(&t, now + S(10)) == now + S(35));
	/* Off disarms it, and traversal no longer re-arms. */
	tund_timers_set_persistent_keepalive(&t, now + S(11), 0);
	tund_timers_on_any_authenticated_packet_traversal(&t, now + S(12));
	CHECK(deadline(&t, now + S(12)) == TUND_TIMER_OFF);
}

UNIT_TEST(timers_stop)
{
	struct tund_timers t;

	tund_timers_init(&t, NULL, NULL);
	established(&t, 0, true);
	tund_timers_on_data_sent(&t, 1);
	tund_timers_on_data_received(&t, 1);
	tund_timers_on_handshake_initiated(&t, 1);
	tund_timers_on_handshake_wanted(&t, S(9));
	tund_timers_stop(&t);
	CHECK(deadline(&t, 2) == TUND_TIMER_OFF);
}

/* Random events and clock jumps: the deadline must always lie ahead and be
 * exact, whatever the sequence. */
UNIT_TEST(timers_random_deadlines_exact)
{
	struct fake_rand r = { .use_prng = true, .state = 7 };
	struct tund_timers t;
	uint64_t now = S(1), rng = 99, next;

	tund_timers_init(&t, fake_rand_fn, &r);
	for (int i = 0; i < 20000; i++) {
		unsigned acts;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		switch ((rng >> 40) % 12) {
		case 0: tund_timers_on_data_sent(&t, now); break;
		case 1: tund_timers_on_data_received(&t, now); break;
		case 2: tund_timers_on_any_authenticated_packet_sent(&t, now); break;
		case 3: tund_timers_on_any_authenticated_packet_received(&t, now); break;
		case 4: tund_timers_on_any_authenticated_packet_traversal(&t, now); break;
		case 5: tund_timers_on_handshake_initiated(&t, now); break;
		case 6: tund_timers_on_handshake_complete(&t, now); break;
		case 7: tund_timers_on_session_derived(&t, now, (rng >> 20) & 1); break;
		case 8: tund_timers_on_handshake_wanted(&t, now); break;
		case 9: tund_timers_set_persistent_keepalive(&t, now, (uint32_t)((rng >> 30) % 3) * 7000); break;
		case 10: tund_timers_on_send_counter(&t, now, (rng >> 20) & 1 ? TUND_TIMER_REKEY_AFTER_MESSAGES : 5); break;
		default: break;
		}
		acts = tund_timers_poll(&t, now, &next);
		CHECK(acts <= 0x1f);
		CHECK(next > now);
		if (next != TUND_TIMER_OFF) {
			uint64_t again;

			CHECK(tund_timers_poll(&t, next - 1, &again) == 0);
			CHECK(again == next);
		}
		/* Either jump to the deadline or part of the way. */
		if (next != TUND_TIMER_OFF && (rng >> 10) & 1)
			now = next;
		else
			now += (rng >> 12) % S(20);
	}
}
