// SPDX-License-Identifier: MIT
/* TURN only when needed: the rule of tund_turn_wanted (turn_policy.h). */
#include <string.h>

#include "overlay/signal.h"
#include "tund/connect/mapping.h"
#include "tund/connect/turn_policy.h"
#include "tests/unit/unit.h"

enum { N = TUND_SIGNAL_MAPPING_NONE, E = TUND_SIGNAL_MAPPING_EIM,
       D = TUND_SIGNAL_MAPPING_DEPENDENT, U = TUND_SIGNAL_MAPPING_UNKNOWN,
       F = TUND_SIGNAL_MAPPING_FAILED, S = TUND_SIGNAL_MAPPING_UNSAID };
#define ON TUND_TURN_PREDICT_ON
#define LEAN TUND_TURN_PREDICT_LEAN
#define OFF TUND_TURN_PREDICT_OFF

UNIT_TEST(turn_policy_rule)
{
	static const struct {
		enum tund_turn_prediction mode;
		bool forced, offering;
		uint8_t own, peer;
		bool want;
		const char *why;
	} cases[] = {
		/* The answering side knows both: when both are sure it keeps
		 * a standby allocation (on), or none (lean). */
		{ ON, false, false, E, E, true, "standby (both endpoint-independent)" },
		{ ON, false, false, N, N, true, "standby (both none)" },
		{ ON, false, false, N, E, true,
		  "standby (ours none, the peer's endpoint-independent)" },
		{ LEAN, false, false, E, E, false, "skipped (both endpoint-independent)" },
		{ LEAN, false, false, N, N, false, "skipped (both none)" },
		{ LEAN, false, false, N, E, false,
		  "skipped (ours none, the peer's endpoint-independent)" },
		{ LEAN, false, false, E, D, true, "gathered (the peer's mapping endpoint-dependent)" },
		{ LEAN, false, true, E, S, false,
		  "skipped (our mapping endpoint-independent; the answering side decides for its own)" },
		{ LEAN, true, true, E, S, true, "gathered (a session without TURN failed)" },
		{ ON, false, false, E, D, true, "gathered (the peer's mapping endpoint-dependent)" },
		{ ON, false, false, E, U, true, "gathered (the peer's mapping unknown)" },
		{ ON, false, false, E, F, true, "gathered (the peer's mapping failed without TURN)" },
		{ ON, false, false, E, S, true,
		  "gathered (the peer's tund does not say its mapping)" },
		{ ON, false, false, E, 77, true, "gathered (the peer's mapping unknown)" },
		{ ON, false, false, D, E, true, "gathered (our mapping endpoint-dependent)" },
		{ ON, false, false, U, E, true, "gathered (our mapping unknown)" },
		/* The offering side decides on its own mapping alone. */
		{ ON, false, true, E, S, false,
		  "skipped (our mapping endpoint-independent; the answering side decides for its own)" },
		{ ON, false, true, N, S, false,
		  "skipped (our mapping none; the answering side decides for its own)" },
		{ ON, false, true, D, S, true, "gathered (our mapping endpoint-dependent)" },
		{ ON, false, true, U, S, true, "gathered (our mapping unknown)" },
		/* A failure without TURN, and the switch, win over everything. */
		{ ON, true, true, E, S, true, "gathered (a session without TURN failed)" },
		{ ON, true, false, N, N, true, "gathered (a session without TURN failed)" },
		{ OFF, false, false, E, E, true, "gathered ([ice] turn_prediction = off)" },
		{ OFF, false, true, N, S, true, "gathered ([ice] turn_prediction = off)" },
	};
	char why[112];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(why, 0, sizeof(why));
		CHECK(tund_turn_wanted(cases[i].mode, cases[i].forced, cases[i].offering,
				       cases[i].own, cases[i].peer, why, sizeof(why)) == cases[i].want);
		CHECK(!strcmp(why, cases[i].why));
	}
}

UNIT_TEST(turn_policy_mapping_names)
{
	CHECK(!strcmp(tund_mapping_name(S), "not said"));
	CHECK(!strcmp(tund_mapping_name(N), "none"));
	CHECK(!strcmp(tund_mapping_name(E), "endpoint-independent"));
	CHECK(!strcmp(tund_mapping_name(D), "endpoint-dependent"));
	CHECK(!strcmp(tund_mapping_name(U), "unknown"));
	CHECK(!strcmp(tund_mapping_name(200), "unknown"));
	/* Nothing checked yet: unknown, nothing pending. */
	tund_mapping_reset();
	CHECK(tund_mapping_get() == U);
	CHECK(!tund_mapping_pending());
}
