/* SPDX-License-Identifier: MIT */
/* WireGuard's per-peer timer rules (whitepaper section 6) as a pure state
 * machine. The data plane reports events with the current time; poll() says
 * which actions are due and when the next one will be. No clocks, no threads,
 * no allocation: time is a caller-supplied monotonic count of milliseconds
 * (e.g. CLOCK_BOOTTIME), so tests drive it with a fake clock.
 *
 * Threads: none inside. A struct tund_timers belongs to one peer and every
 * call on it must hold that peer's lock (or run on the peer's one thread).
 *
 * Contract with the caller:
 *  - After reporting events, call tund_timers_poll(): some events make an
 *    action due at once (a rekey). Otherwise sleep until *next_deadline.
 *  - When poll() returns TUND_TIMER_SEND_INITIATION, send a handshake
 *    initiation and report tund_timers_on_handshake_initiated() (also when the
 *    send failed, e.g. no endpoint yet, so that retries continue).
 *  - When it returns TUND_TIMER_SEND_KEEPALIVE, send an empty transport packet
 *    (which reports any_authenticated_packet_sent/traversal like any other). */
#ifndef TUND_OVERLAY_TIMERS_H
#define TUND_OVERLAY_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

/* Whitepaper constants, in milliseconds or messages. */
enum {
	TUND_TIMER_REKEY_AFTER_TIME_MS = 120000,
	TUND_TIMER_REJECT_AFTER_TIME_MS = 180000,
	TUND_TIMER_REKEY_ATTEMPT_TIME_MS = 90000,
	TUND_TIMER_REKEY_TIMEOUT_MS = 5000,
	TUND_TIMER_KEEPALIVE_TIMEOUT_MS = 10000,
	TUND_TIMER_JITTER_MAX_MS = 333, /* inclusive: jitter is 0..333 ms */
	/* REJECT_AFTER_TIME * 3 with no new session: wipe everything. */
	TUND_TIMER_ZERO_KEYS_AFTER_MS = TUND_TIMER_REJECT_AFTER_TIME_MS * 3,
	/* Initiator's last-chance rekey on receive. */
	TUND_TIMER_REKEY_ON_RECEIVE_MS = TUND_TIMER_REJECT_AFTER_TIME_MS -
					 TUND_TIMER_KEEPALIVE_TIMEOUT_MS -
					 TUND_TIMER_REKEY_TIMEOUT_MS,
};
#define TUND_TIMER_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define TUND_TIMER_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13)) /* 2^64-2^13-1 */

/* Deadline value meaning "not armed"; also poll()'s *next_deadline when
 * nothing is armed. */
#define TUND_TIMER_OFF UINT64_MAX

/* Actions returned by tund_timers_poll(), as a bitmask. */
enum tund_timer_action {
	/* Send a handshake initiation (first try, retry or rekey). */
	TUND_TIMER_SEND_INITIATION = 1u << 0,
	/* Send a keepalive (passive or persistent). */
	TUND_TIMER_SEND_KEEPALIVE = 1u << 1,
	/* The newest keypair reached REJECT_AFTER_TIME (or its send counter
	 * REJECT_AFTER_MESSAGES), so every keypair has: zero them all and
	 * never use them again. The handshake state may stay. */
	TUND_TIMER_EXPIRE_KEYPAIRS = 1u << 2,
	/* REJECT_AFTER_TIME * 3 without a new session: zero all key
	 * material, keypairs and handshake state alike. */
	TUND_TIMER_ZERO_KEYS = 1u << 3,
	/* No handshake for REKEY_ATTEMPT_TIME: stop retrying and drop the
	 * packets queued for this peer. */
	TUND_TIMER_GIVE_UP = 1u << 4,
};

/* Returns a uniform random integer in [0, bound), like
 * libsodium's randombytes_uniform(). */
typedef uint32_t (*tund_timers_rand_fn)(void *ctx, uint32_t bound);

/* Per-peer state. Treat as opaque; it is public so it can live inside the
 * peer without allocation. Deadlines are TUND_TIMER_OFF when not armed. */
struct tund_timers {
	uint64_t retransmit_at;    /* retry the initiation */
	uint64_t give_up_at;       /* end of the current attempt series */
	uint64_t new_handshake_at; /* sent data, heard nothing */
	uint64_t keepalive_at;     /* received data, sent nothing */
	uint64_t persistent_at;    /* persistent keepalive */
	uint64_t reject_at;        /* newest keypair birth + REJECT_AFTER_TIME */
	uint64_t zero_at;          /* last session + REJECT_AFTER_TIME * 3 */

	uint64_t keypair_birth;    /* valid while have_keypair */
	uint64_t send_counter;     /* of the current sending keypair */
	uint64_t last_initiation;  /* TUND_TIMER_OFF: never sent */
	uint64_t last_handshake;   /* TUND_TIMER_OFF: never completed */
	uint32_t persistent_interval_ms; /* 0: off */
	unsigned pending;          /* actions made due by events */
	bool have_keypair;
	bool we_initiated;         /* of the newest keypair */
	bool sent_lastminute;      /* receive-side rekey already asked for */

	tund_timers_rand_fn rand;  /* NULL: no jitter */
	void *rand_ctx;
};

/* Sets up an idle peer. rand supplies the retry jitter; pass a wrapper of
 * randombytes_uniform() in the daemon, a fixed sequence in tests. */
void tund_timers_init(struct tund_timers *t, tund_timers_rand_fn rand, void *rand_ctx);
/* Disarms everything and drops pending actions (peer removed or link down). */
void tund_timers_stop(struct tund_timers *t);
/* 0 turns it off. Turning it on from off makes a keepalive due at once. */
void tund_timers_set_persistent_keepalive(struct tund_timers *t, uint64_t now,
					  uint32_t interval_ms);

/* Events, each reported right after it happened. */
/* A transport packet with a non-empty payload was sent. */
void tund_timers_on_data_sent(struct tund_timers *t, uint64_t now);
/* A transport packet with a non-empty payload was received and verified. */
void tund_timers_on_data_received(struct tund_timers *t, uint64_t now);
/* Any verified packet went out: transport, keepalive or handshake. */
void tund_timers_on_any_authenticated_packet_sent(struct tund_timers *t, uint64_t now);
/* Any verified packet came in: transport, keepalive or handshake. */
void tund_timers_on_any_authenticated_packet_received(struct tund_timers *t, uint64_t now);
/* Any verified packet went out or came in (persistent keepalive clock). */
void tund_timers_on_any_authenticated_packet_traversal(struct tund_timers *t, uint64_t now);
/* A handshake initiation was sent (or its send was attempted). */
void tund_timers_on_handshake_initiated(struct tund_timers *t, uint64_t now);
/* A handshake finished: we got the response, or, as responder, the first
 * transport packet under the new keypair. */
void tund_timers_on_handshake_complete(struct tund_timers *t, uint64_t now);
/* A new keypair was derived; we_initiated says whose initiation it was. */
void tund_timers_on_session_derived(struct tund_timers *t, uint64_t now, bool we_initiated);
/* A transport packet (data or keepalive) went out under the current keypair
 * with nonce `counter`; drives the REKEY/REJECT_AFTER_MESSAGES rules. */
void tund_timers_on_send_counter(struct tund_timers *t, uint64_t now, uint64_t counter);
/* Packets are waiting and no keypair can send them: start a handshake now
 * unless one went out less than REKEY_TIMEOUT ago. */
void tund_timers_on_handshake_wanted(struct tund_timers *t, uint64_t now);

/* Returns the actions due at now (clearing them) and stores in
 * *next_deadline (if not NULL) the earliest time > now at which poll() has
 * something to do, or TUND_TIMER_OFF. */
unsigned tund_timers_poll(struct tund_timers *t, uint64_t now, uint64_t *next_deadline);

#endif
