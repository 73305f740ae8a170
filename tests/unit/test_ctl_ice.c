// SPDX-License-Identifier: MIT
/* tundctl's server URL checks and the iceServers conversion (ctl/ice.c). */
#include <string.h>

#include "ctl/args.h"
#include "ctl/client.h"
#include "ctl/ice.h"
#include "tests/unit/unit.h"

static bool broker_ok(const char *url)
{
	char why[256];

	return tund_ice_check_broker(url, why, sizeof(why));
}

static bool turn_ok(const char *url)
{
	char why[256];

	return tund_ice_check_turn(url, why, sizeof(why));
}

UNIT_TEST(ctl_ice_broker)
{
	CHECK(broker_ok("mqtt://198.51.100.10:1883"));
	CHECK(broker_ok("mqtt://broker.example.org:8883"));
	CHECK(broker_ok("mqtt://[2001:db8::1]:1883"));
	CHECK(!broker_ok("mqtt://h"));
	CHECK(!broker_ok("mqtts://h:8883"));
	CHECK(!broker_ok("mqtt://h:0"));
	CHECK(!broker_ok("mqtt://h:1883/path"));
	CHECK(!broker_ok("mqtt://u:p@h:1883"));
	CHECK(!broker_ok("http://h:1883"));
	CHECK(!broker_ok("h:1883"));
	CHECK(!broker_ok(""));
}

UNIT_TEST(ctl_ice_turn)
{
	char why[256];

	CHECK(turn_ok("turn://u:p@h:3478"));
	CHECK(turn_ok("turn://u:p@198.51.100.10:3478?transport=udp"));
	CHECK(turn_ok("turn://u%20x:p%40%3A@h:3478?transport=tcp"));
	CHECK(turn_ok("turn://u:p@[2001:db8::1]:3478"));
	CHECK(!turn_ok("turn://h:3478"));
	CHECK(!turn_ok("turn://:p@h:3478"));
	CHECK(!turn_ok("turn://u:@h:3478"));
	CHECK(!turn_ok("turn://u@h:3478"));
	CHECK(!turn_ok("turn://u:p@h"));
	CHECK(!turn_ok("turn://u:p@h h:3478"));
	CHECK(!turn_ok("turn:h:3478"));
	CHECK(!turn_ok("turn://u:p@h:3478?transport=tls"));
	CHECK(!turn_ok("turn://u:p@h:3478/x"));
	CHECK(!turn_ok("turn://u:p%4@h:3478"));
	CHECK(!turn_ok("turn://u:p%zz@h:3478"));
	CHECK(!tund_ice_check_turn("turns://u:p@h:5349", why, sizeof(why)));
	CHECK(strstr(why, "TLS") != NULL);
}

static bool convert(const char *json, const char *want_stun, const char *want_turn)
{
	GPtrArray *stun = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *turn = g_ptr_array_new_with_free_func(g_free);
	char err[TUND_CTL_WHY_LEN] = "", *s, *t;
	bool ok;

	ok = tund_ice_parse_servers(json, strlen(json), stun, turn, err, sizeof(err)) == 0;
	g_ptr_array_add(stun, NULL);
	g_ptr_array_add(turn, NULL);
	s = g_strjoinv(" ", (char **)stun->pdata);
	t = g_strjoinv(" ", (char **)turn->pdata);
	if (ok)
		ok = strcmp(s, want_stun) == 0 && strcmp(t, want_turn) == 0 && !err[0];
	else
		ok = !want_stun && err[0] && !strchr(err, '\n');
	g_free(s);
	g_free(t);
	g_ptr_array_free(stun, TRUE);
	g_ptr_array_free(turn, TRUE);
	return ok;
}

UNIT_TEST(ctl_ice_servers)
{
	CHECK(convert("[{\"urls\":[\"stun:h:3478\",\"turn:h:3479?transport=tcp\"],"
		      "\"username\":\"u\",\"credential\":\"c\"}]",
		      "h:3478", "turn://u:c@h:3479?transport=tcp"));
	/* urls as a string, default ports and transport, credentials encoded. */
	CHECK(convert("[{\"urls\":\"stun:stun.example.org\"},"
		      "{\"urls\":\"turn:198.51.100.1\",\"username\":\"a b\",\"credential\":\"p@s\"}]",
		      "stun.example.org:3478", "turn://a%20b:p%40s@198.51.100.1:3478?transport=udp"));
	CHECK(convert("[{\"urls\":[\"stun:[2001:db8::1]\",\"stun:[2001:db8::2]:19302\"]}]",
		      "[2001:db8::1]:3478 [2001:db8::2]:19302", ""));
	CHECK(convert("{\"iceServers\":[{\"urls\":\"stun:h:1\"}]}", "h:1", ""));
	/* Refusals: TLS, no credentials, bad shapes. */
	CHECK(convert("[{\"urls\":[\"turns:h:5349\"],\"username\":\"u\",\"credential\":\"c\"}]",
		      NULL, NULL));
	CHECK(convert("[{\"urls\":[\"stuns:h:5349\"]}]", NULL, NULL));
	CHECK(convert("[{\"urls\":\"turn:h:3478\"}]", NULL, NULL));
	CHECK(convert("[{\"urls\":\"turn:h:3478?transport=sctp\",\"username\":\"u\","
		      "\"credential\":\"c\"}]", NULL, NULL));
	CHECK(convert("[{\"urls\":\"http://h\"}]", NULL, NULL));
	CHECK(convert("[{\"urls\":\"stun:\"}]", NULL, NULL));
	CHECK(convert("[{\"urls\":\"stun:h:99999\"}]", NULL, NULL));
	CHECK(convert("[{\"urls\":[1]}]", NULL, NULL));
	CHECK(convert("[{\"urls\":[]}]", NULL, NULL));
	CHECK(convert("[{}]", NULL, NULL));
	CHECK(convert("[1]", NULL, NULL));
	CHECK(convert("[]", NULL, NULL));
	CHECK(convert("{}", NULL, NULL));
	CHECK(convert("[{\"urls\":", NULL, NULL));
	CHECK(convert("", NULL, NULL));
}

UNIT_TEST(ctl_args_network_and_uint)
{
	char why[160];
	unsigned v = 0;

	CHECK(tund_args_check_network("lab", why, sizeof(why)));
	CHECK(tund_args_check_network("home-2.lan_x", why, sizeof(why)));
	CHECK(!tund_args_check_network("", why, sizeof(why)));
	CHECK(!tund_args_check_network("-x", why, sizeof(why)));
	CHECK(!tund_args_check_network("a b", why, sizeof(why)));
	CHECK(!tund_args_check_network("a/b", why, sizeof(why)));
	CHECK(!tund_args_check_network(
		"0123456789012345678901234567890123456789012345678901234567890123", why,
		sizeof(why)));
	CHECK(tund_args_parse_uint("4", 1, 100, &v) && v == 4);
	CHECK(tund_args_parse_uint("100", 1, 100, &v) && v == 100);
	CHECK(!tund_args_parse_uint("0", 1, 100, &v));
	CHECK(!tund_args_parse_uint("101", 1, 100, &v));
	CHECK(!tund_args_parse_uint("-1", 1, 100, &v));
	CHECK(!tund_args_parse_uint("", 1, 100, &v));
	CHECK(!tund_args_parse_uint("1x", 1, 100, &v));
	CHECK(!tund_args_parse_uint("99999999999", 1, 100, &v));
}

UNIT_TEST(ctl_args_duration)
{
	unsigned v = 0;

	CHECK(tund_args_parse_duration("30s", 1000000, &v) && v == 30);
	CHECK(tund_args_parse_duration("10m", 1000000, &v) && v == 600);
	CHECK(tund_args_parse_duration("24h", 1000000, &v) && v == 86400);
	CHECK(tund_args_parse_duration("7d", 1000000, &v) && v == 604800);
	CHECK(tund_args_parse_duration("366d", 366 * 86400, &v) && v == 366 * 86400);
	CHECK(!tund_args_parse_duration("367d", 366 * 86400, &v));
	CHECK(!tund_args_parse_duration("99999999d", 366 * 86400, &v));
	CHECK(!tund_args_parse_duration("0s", 100, &v));
	CHECK(!tund_args_parse_duration("24", 100000, &v));
	CHECK(!tund_args_parse_duration("1w", 100000000, &v));
	CHECK(!tund_args_parse_duration("h", 100, &v));
	CHECK(!tund_args_parse_duration("-1h", 100000, &v));
	CHECK(!tund_args_parse_duration(" 1h", 100000, &v));
	CHECK(!tund_args_parse_duration(NULL, 100, &v));
}
