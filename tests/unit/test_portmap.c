// SPDX-License-Identifier: MIT
#include <agent.h>
#include <errno.h>
#include <string.h>

#include "overlay/control_proto.h"
#include "tests/unit/daemon_fixture.h"
#include "tests/unit/unit.h"
#include "tund/connect/ice.h"
#include "tund/connect/portmap.h"

UNIT_TEST(portmap_renews_at_half_the_lifetime_or_every_minute)
{
	/* A permanent or long mapping is asked again every minute: a router
	 * that restarted unheard (a lost announcement) has it back by then. */
	CHECK(tund_portmap_renew_after(0) == 60);
	CHECK(tund_portmap_renew_after(1800) == 60);
	CHECK(tund_portmap_renew_after(7200) == 60);
	CHECK(tund_portmap_renew_after(121) == 60);
	CHECK(tund_portmap_renew_after(120) == 60);
	CHECK(tund_portmap_renew_after(61) == 30);
	/* A router granting almost nothing is still asked again before the end. */
	CHECK(tund_portmap_renew_after(10) == 5);
	CHECK(tund_portmap_renew_after(3) == 1);
	CHECK(tund_portmap_renew_after(1) == 1);
}

/* The line libnice reads back on the peer: a srflx candidate at the mapped
 * address with the host candidate as its base, and tund's foundation. */
UNIT_TEST(portmap_candidate_line_is_a_srflx_libnice_reads)
{
	char line[TUND_ICE_MAX_LINE];
	NiceAgent *agent;
	NiceCandidate *c;
	guint stream;
	char ip[NICE_ADDRESS_STRING_LEN];

	CHECK(tund_portmap_candidate_line(line, sizeof(line), "11.22.33.11", 40123, "10.1.0.10",
					  50321) == 0);
	CHECK(strcmp(line, "a=candidate:tundmap1 1 udp 1694498815 11.22.33.11 40123 typ srflx "
			   "raddr 10.1.0.10 rport 50321") == 0);
	agent = nice_agent_new(g_main_context_get_thread_default(), NICE_COMPATIBILITY_RFC5245);
	stream = nice_agent_add_stream(agent, 1);
	c = nice_agent_parse_remote_candidate_sdp(agent, stream, line);
	CHECK(c != NULL);
	if (c) {
		CHECK(c->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE);
		CHECK(c->transport == NICE_CANDIDATE_TRANSPORT_UDP);
		CHECK(c->component_id == 1);
		nice_address_to_string(&c->addr, ip);
		CHECK(strcmp(ip, "11.22.33.11") == 0 && nice_address_get_port(&c->addr) == 40123);
		nice_address_to_string(&c->base_addr, ip);
		CHECK(strcmp(ip, "10.1.0.10") == 0 && nice_address_get_port(&c->base_addr) == 50321);
		CHECK(strncmp(c->foundation, TUND_PORTMAP_FOUNDATION,
			      strlen(TUND_PORTMAP_FOUNDATION)) == 0);
		nice_candidate_free(c);
	}
	g_object_unref(agent);
}

UNIT_TEST(portmap_candidate_line_refuses_bad_input)
{
	char line[TUND_ICE_MAX_LINE], tiny[20];

	CHECK(tund_portmap_candidate_line(line, sizeof(line), "::1", 1, "10.0.0.1", 1) == -EINVAL);
	CHECK(tund_portmap_candidate_line(line, sizeof(line), "1.2.3.4", 0, "10.0.0.1", 1) == -EINVAL);
	CHECK(tund_portmap_candidate_line(line, sizeof(line), "1.2.3.4", 1, "10.0.0.1", 0) == -EINVAL);
	CHECK(tund_portmap_candidate_line(line, sizeof(line), "1.2.3", 1, "10.0.0.1", 1) == -EINVAL);
	CHECK(tund_portmap_candidate_line(line, sizeof(line), NULL, 1, "10.0.0.1", 1) == -EINVAL);
	CHECK(tund_portmap_candidate_line(tiny, sizeof(tiny), "1.2.3.4", 1, "10.0.0.1", 1) ==
	      -EINVAL);
}

static JsonObject *described(struct tund_portmap *pm, JsonNode **node)
{
	*node = tund_portmap_describe(pm);
	return json_node_get_object(*node);
}

UNIT_TEST(portmap_off_describes_itself)
{
	JsonNode *n;
	JsonObject *o = described(NULL, &n);

	CHECK(!json_object_get_boolean_member(o, TUND_KEY_ENABLED));
	CHECK(json_object_get_string_member(o, TUND_KEY_PROTOCOL) == NULL);
	CHECK(strstr(json_object_get_string_member(o, TUND_KEY_ERROR), "portmap = off") != NULL);
	CHECK(json_array_get_length(json_object_get_array_member(o, TUND_KEY_MAPPINGS)) == 0);
	CHECK(tund_portmap_map(NULL, "10.0.0.1", 1000, NULL, NULL) == 0);
	json_node_unref(n);
}

static void answered(void *ctx, const struct tund_portmap_mapping *m)
{
	(void)m;
	*(bool *)ctx = true;
}

/* Discovery runs on the worker, the main context keeps turning, and with no
 * router at all the answer is "none" with the reasons, and no mapping is
 * taken on afterwards. A request made while discovering gets its answer. */
UNIT_TEST(portmap_without_router_answers_none)
{
	struct tund_portmap *pm = NULL;
	int old = fx_netns_enter();
	bool early_answered = false, late_called = false;
	unsigned early;
	gint64 end;
	JsonNode *n;
	JsonObject *o;

	if (old < 0)
		UNIT_SKIP("netns", "needs a network namespace of its own");
	CHECK(tund_portmap_new(&pm) == 0);
	if (!pm) {
		fx_netns_leave(old);
		return;
	}
	o = described(pm, &n);
	CHECK(json_object_get_boolean_member(o, TUND_KEY_DISCOVERING));
	json_node_unref(n);
	early = tund_portmap_map(pm, "10.9.9.9", 4000, answered, &early_answered);
	CHECK(early != 0); /* queued behind discovery */
	end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	while (!early_answered && g_get_monotonic_time() < end)
		if (!unit_iterate(false))
			g_usleep(10000);
	CHECK(early_answered);
	o = described(pm, &n);
	CHECK(!json_object_get_boolean_member(o, TUND_KEY_DISCOVERING));
	CHECK(json_object_get_string_member(o, TUND_KEY_PROTOCOL) == NULL);
	CHECK(json_object_get_string_member(o, TUND_KEY_ERROR) != NULL);
	CHECK(json_array_get_length(json_object_get_array_member(o, TUND_KEY_MAPPINGS)) == 0);
	json_node_unref(n);
	CHECK(tund_portmap_map(pm, "10.9.9.9", 4000, answered, &late_called) == 0);
	tund_portmap_free(pm);
	while (unit_iterate(false))
		;
	CHECK(!late_called);
	fx_netns_leave(old);
}
