// SPDX-License-Identifier: MIT
/* Every timer rule of a peer lives here; other modules only report events.
 * Times are milliseconds on the caller's monotonic clock. "jitter" is a
 * fresh uniform draw from 0..TUND_TIMER_JITTER_MAX_MS. A "want" is a
 * non-retry request for an initiation (see want_initiation()).
 *
 * 1. Retransmit: handshake_initiated arms a retry at now + REKEY_TIMEOUT +
 *    jitter. handshake_complete disarms it. When it fires: SEND_INITIATION.
 * 2. Give up: the first initiation of a series sets give_up_at = now +
 *    REKEY_ATTEMPT_TIME; every want while the series runs moves it to
 *    now + REKEY_ATTEMPT_TIME again (the kernel resets its attempt counter on
 *    non-retry requests, so a peer that keeps sending keeps trying). When it
 *    fires before handshake_complete: GIVE_UP (drop queued packets), stop
 *    retrying, disarm the passive keepalive, and arm the zero-keys timer if
 *    it is not armed. The kernel counts 18 attempts instead and so gives up
 *    near 100 s; we give up at exactly REKEY_ATTEMPT_TIME.
 * 3. Rate limit: a want is dropped when an initiation went out less than
 *    REKEY_TIMEOUT ago (an armed retransmit will cover it).
 * 4. Passive keepalive: data_received arms now + KEEPALIVE_TIMEOUT unless
 *    already armed; any_authenticated_packet_sent disarms it. When it fires:
 *    SEND_KEEPALIVE. (The kernel's need_another_keepalive re-arm is dropped:
 *    the keepalive it sends disarms that re-arm again in this model.)
 * 5. New handshake: data_sent arms now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT +
 *    jitter unless already armed; any_authenticated_packet_received disarms
 *    it. When it fires: a want.
 * 6. Persistent keepalive: any_authenticated_packet_traversal re-arms
 *    now + interval when the interval is not 0. When it fires: SEND_KEEPALIVE.
 *    Turning the interval on from 0 makes one due at once.
 * 7. Rekey on send (data_sent, send_counter): with a live keypair, a want if
 *    we initiated it and it is REKEY_AFTER_TIME old, or if its send counter
 *    reached REKEY_AFTER_MESSAGES.
 * 8. Rekey on receive (data_received): once per keypair, a want if we
 *    initiated it and it is REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT -
 *    REKEY_TIMEOUT old, so the session is renewed before it is rejected even
 *    when we only receive.
 * 9. Reject: session_derived arms birth + REJECT_AFTER_TIME. When it fires,
 *    or when the send counter reaches REJECT_AFTER_MESSAGES: EXPIRE_KEYPAIRS
 *    (the newest keypair is dead, so all older ones are too).
 * 10. Zero keys: session_derived (re)arms now + REJECT_AFTER_TIME * 3. When
 *    it fires: ZERO_KEYS, wiping keypairs and handshake state.
 */
#include "overlay/timers.h"

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > TUND_TIMER_OFF - 1 - b ? TUND_TIMER_OFF - 1 : a + b;
}

static uint64_t jitter(struct tund_timers *t)
{
	uint32_t j;

	if (!t->rand)
		return 0;
	j = t->rand(t->rand_ctx, TUND_TIMER_JITTER_MAX_MS + 1);
	return j <= TUND_TIMER_JITTER_MAX_MS ? j : TUND_TIMER_JITTER_MAX_MS;
}

static bool due(uint64_t at, uint64_t now)
{
	return at != TUND_TIMER_OFF && now >= at;
}

void tund_timers_init(struct tund_timers *t, tund_timers_rand_fn rand, void *rand_ctx)
{
	*t = (struct tund_timers){
		.last_initiation = TUND_TIMER_OFF,
		.last_handshake = TUND_TIMER_OFF,
		.rand = rand,
		.rand_ctx = rand_ctx,
	};
	tund_timers_stop(t);
}

void tund_timers_stop(struct tund_timers *t)
{
	t->retransmit_at = TUND_TIMER_OFF;
	t->give_up_at = TUND_TIMER_OFF;
	t->new_handshake_at = TUND_TIMER_OFF;
	t->keepalive_at = TUND_TIMER_OFF;
	t->persistent_at = TUND_TIMER_OFF;
	t->reject_at = TUND_TIMER_OFF;
	t->zero_at = TUND_TIMER_OFF;
	t->pending = 0;
}

void tund_timers_set_persistent_keepalive(struct tund_timers *t, uint64_t now,
					  uint32_t interval_ms)
{
	bool was_off = !t->persistent_interval_ms;

	t->persistent_interval_ms = interval_ms;
	if (!interval_ms)
		t->persistent_at = TUND_TIMER_OFF;
	else if (was_off)
		t->persistent_at = now;
}

/* Rules 2 and 3. */
static void want_initiation(struct tund_timers *t, uint64_t now)
{
	if (t->give_up_at != TUND_TIMER_OFF)
		t->give_up_at = add_sat(now, TUND_TIMER_REKEY_ATTEMPT_TIME_MS);
	if (t->last_initiation != TUND_TIMER_OFF &&
	    now < add_sat(t->last_initiation, TUND_TIMER_REKEY_TIMEOUT_MS))
		return;
	t->pending |= TUND_TIMER_SEND_INITIATION;
}

/* Rule 7. */
static void keep_fresh_on_send(struct tund_timers *t, uint64_t now)
{
	if (!t->have_keypair)
		return;
	if (t->send_counter >= TUND_TIMER_REKEY_AFTER_MESSAGES ||
	    (t->we_initiated &&
	     now >= add_sat(t->keypair_birth, TUND_TIMER_REKEY_AFTER_TIME_MS)))
		want_initiation(t, now);
}

static void expire_keypairs(struct tund_timers *t)
{
	t->pending |= TUND_TIMER_EXPIRE_KEYPAIRS;
	t->have_keypair = false;
	t->reject_at = TUND_TIMER_OFF;
}

void tund_timers_on_data_sent(struct tund_timers *t, uint64_t now)
{
	if (t->new_handshake_at == TUND_TIMER_OFF)
		t->new_handshake_at = add_sat(now, TUND_TIMER_KEEPALIVE_TIMEOUT_MS +
						   TUND_TIMER_REKEY_TIMEOUT_MS + jitter(t));
	keep_fresh_on_send(t, now);
}

void tund_timers_on_send_counter(struct tund_timers *t, uint64_t now, uint64_t counter)
{
	if (!t->have_keypair)
		return;
	t->send_counter = counter;
	if (counter >= TUND_TIMER_REJECT_AFTER_MESSAGES) {
		expire_keypairs(t);
		want_initiation(t, now);
		return;
	}
	keep_fresh_on_send(t, now);
}

void tund_timers_on_data_received(struct tund_timers *t, uint64_t now)
{
	if (t->keepalive_at == TUND_TIMER_OFF)
		t->keepalive_at = add_sat(now, TUND_TIMER_KEEPALIVE_TIMEOUT_MS);
	/* Rule 8. */
	if (t->have_keypair && t->we_initiated && !t->sent_lastminute &&
	    now >= add_sat(t->keypair_birth, TUND_TIMER_REKEY_ON_RECEIVE_MS)) {
		t->sent_lastminute = true;
		want_initiation(t, now);
	}
}

void tund_timers_on_any_authenticated_packet_sent(struct tund_timers *t, uint64_t now)
{
	(void)now;
	t->keepalive_at = TUND_TIMER_OFF;
}

void tund_timers_on_any_authenticated_packet_received(struct tund_timers *t, uint64_t now)
{
	(void)now;
	t->new_handshake_at = TUND_TIMER_OFF;
}

void tund_timers_on_any_authenticated_packet_traversal(struct tund_timers *t, uint64_t now)
{
	if (t->persistent_interval_ms)
		t->persistent_at = add_sat(now, t->persistent_interval_ms);
}

void tund_timers_on_handshake_initiated(struct tund_timers *t, uint64_t now)
{
	t->last_initiation = now;
	if (t->give_up_at == TUND_TIMER_OFF)
		t->give_up_at = add_sat(now, TUND_TIMER_REKEY_ATTEMPT_TIME_MS);
	t->retransmit_at = add_sat(now, TUND_TIMER_REKEY_TIMEOUT_MS + jitter(t));
}

void tund_timers_on_handshake_complete(struct tund_timers *t, uint64_t now)
{
	t->retransmit_at = TUND_TIMER_OFF;
	t->give_up_at = TUND_TIMER_OFF;
	t->sent_lastminute = false;
	t->last_handshake = now;
}

void tund_timers_on_session_derived(struct tund_timers *t, uint64_t now, bool we_initiated)
{
	t->have_keypair = true;
	t->we_initiated = we_initiated;
	t->keypair_birth = now;
	t->send_counter = 0;
	t->sent_lastminute = false;
	t->reject_at = add_sat(now, TUND_TIMER_REJECT_AFTER_TIME_MS);
	t->zero_at = add_sat(now, TUND_TIMER_ZERO_KEYS_AFTER_MS);
}

void tund_timers_on_handshake_wanted(struct tund_timers *t, uint64_t now)
{
	want_initiation(t, now);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

unsigned tund_timers_poll(struct tund_timers *t, uint64_t now, uint64_t *next_deadline)
{
	unsigned acts = 0;

	if (due(t->give_up_at, now)) {
		acts |= TUND_TIMER_GIVE_UP;
		t->give_up_at = TUND_TIMER_OFF;
		t->retransmit_at = TUND_TIMER_OFF;
		t->keepalive_at = TUND_TIMER_OFF;
		if (t->zero_at == TUND_TIMER_OFF)
			t->zero_at = add_sat(now, TUND_TIMER_ZERO_KEYS_AFTER_MS);
	} else if (due(t->retransmit_at, now)) {
		/* Re-armed by the on_handshake_initiated() that answers this. */
		t->retransmit_at = TUND_TIMER_OFF;
		acts |= TUND_TIMER_SEND_INITIATION;
	}
	if (due(t->new_handshake_at, now)) {
		t->new_handshake_at = TUND_TIMER_OFF;
		want_initiation(t, now);
	}
	if (due(t->keepalive_at, now)) {
		t->keepalive_at = TUND_TIMER_OFF;
		acts |= TUND_TIMER_SEND_KEEPALIVE;
	}
	if (due(t->persistent_at, now)) {
		/* Re-armed by the traversal of the keepalive sent now. */
		t->persistent_at = TUND_TIMER_OFF;
		acts |= TUND_TIMER_SEND_KEEPALIVE;
	}
	if (due(t->reject_at, now))
		expire_keypairs(t);
	if (due(t->zero_at, now)) {
		t->zero_at = TUND_TIMER_OFF;
		t->have_keypair = false;
		t->reject_at = TUND_TIMER_OFF;
		acts |= TUND_TIMER_ZERO_KEYS;
	}
	acts |= t->pending;
	t->pending = 0;

	if (next_deadline) {
		uint64_t next = t->retransmit_at;

		next = min_u64(next, t->give_up_at);
		next = min_u64(next, t->new_handshake_at);
		next = min_u64(next, t->keepalive_at);
		next = min_u64(next, t->persistent_at);
		next = min_u64(next, t->reject_at);
		next = min_u64(next, t->zero_at);
		*next_deadline = next;
	}
	return acts;
}
