// SPDX-License-Identifier: MIT
/* overlay/servers.c: the one parser and formatter of broker, STUN and TURN
 * servers, and what the daemon and tundctl build on it. */
#include <string.h>

#include "ctl/ice.h"
#include "overlay/servers.h"
#include "tests/unit/unit.h"
#include "tund/daemon/config.h"

UNIT_TEST(servers_hostport)
{
	char host[256], buf[300];
	const char *why;
	uint16_t port;

	CHECK(tund_parse_hostport("h.example:1", host, &port, 0, NULL));
	CHECK(!strcmp(host, "h.example") && port == 1);
	CHECK(tund_parse_hostport("[2001:db8::1]:443", host, &port, 0, NULL));
	CHECK(!strcmp(host, "2001:db8::1") && port == 443);
	CHECK(tund_parse_hostport("h", host, &port, 3478, NULL) && port == 3478);
	why = NULL;
	CHECK(!tund_parse_hostport("h", host, &port, 0, &why) && why && strstr(why, "port"));
	CHECK(!tund_parse_hostport(NULL, host, &port, 1, &why));
	CHECK(!tund_parse_hostport("2001:db8::1:443", host, &port, 0, &why));
	CHECK(!tund_parse_hostport("h:65536", host, &port, 0, &why));
	CHECK(tund_format_hostport("2001:db8::1", 443, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "[2001:db8::1]:443"));
	CHECK(tund_format_hostport("10.0.0.1", 1, buf, sizeof(buf)) && !strcmp(buf, "10.0.0.1:1"));
	CHECK(!tund_format_hostport("10.0.0.1", 1, buf, 5));
}

UNIT_TEST(servers_turn_forms)
{
	struct tund_turn_server t;
	char buf[1024];

	CHECK(tund_parse_turn_url("turn://us%40er:s%3Acret@[fd00::7]:3479?transport=tcp", &t, NULL));
	CHECK(tund_format_turn_url(&t, TUND_TURN_FULL, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "turn://us%40er:s%3Acret@[fd00::7]:3479?transport=tcp"));
	/* For display: the user escaped (an '@' in it cannot fake a host), no password. */
	CHECK(tund_format_turn_url(&t, TUND_TURN_MASKED, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "turn://us%40er:***@[fd00::7]:3479?transport=tcp"));
	CHECK(!strstr(buf, "cret"));
	CHECK(tund_format_turn_url(&t, TUND_TURN_NO_CREDS, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "turn://[fd00::7]:3479?transport=tcp"));
	/* Without a user there is nothing to mask. */
	CHECK(tund_parse_turn_url("turn:h", &t, NULL));
	CHECK(tund_format_turn_url(&t, TUND_TURN_MASKED, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "turn://h:3478?transport=udp"));
}

/* tundctl accepts only what the daemon's parser accepts; it also wants the
 * port written out and a TURN server's credentials. */
UNIT_TEST(servers_ctl_agrees_with_daemon)
{
	static const char *const brokers[] = {
		"mqtt://h:1883", "mqtt://h", "mqtt://[fd00::1]:1", "mqtt://h/x", "mqtt://u@h",
		"mqtts://h", "http://h", "", "mqtt://h:0",
	};
	static const char *const turns[] = {
		"turn://u:p@h:3478", "turn://u:p@h", "turn://u:p@h?transport=tcp",
		"turn://u:p@h?transport=tls", "turn://u%zz:p@h", "turn://u:p@fd00::1",
		"turn://u:p@[fd00::1]:1",
	};
	struct tund_broker br;
	struct tund_turn_server t;
	char why[256];

	for (size_t i = 0; i < G_N_ELEMENTS(brokers); i++)
		CHECK(!tund_ice_check_broker(brokers[i], why, sizeof(why)) ||
		      (tund_parse_broker_url(brokers[i], &br, NULL) && !br.tls));
	for (size_t i = 0; i < G_N_ELEMENTS(turns); i++)
		CHECK(!tund_ice_check_turn(turns[i], why, sizeof(why)) ||
		      tund_parse_turn_url(turns[i], &t, NULL));
	CHECK(tund_parse_broker_url("mqtt://h", &br, NULL) && br.port == 1883);
	CHECK(!tund_ice_check_broker("mqtt://h", why, sizeof(why)) && strstr(why, "port"));
	CHECK(tund_ice_check_turn("turn://u:p@[fd00::1]:1?transport=tcp", why, sizeof(why)));
	CHECK(!tund_ice_check_turn("turn://u:p@[fd00::1]?transport=tcp", why, sizeof(why)));
	CHECK(!tund_ice_check_turn("turn://h:3478", why, sizeof(why)));
	CHECK(tund_ice_check_stun("[fd00::1]:3478", why, sizeof(why)));
	CHECK(!tund_ice_check_stun("h", why, sizeof(why)));
}

/* [ice] stun and turn as the server list of peers outside networks. */
UNIT_TEST(servers_config_ice)
{
	struct tund_config cfg;
	struct tund_network net;

	tund_config_init(&cfg);
	cfg.ice_stun = g_strdup("stun.example.org:19302");
	cfg.ice_turn = g_strdup("turn://u:p@198.51.100.1?transport=tcp");
	tund_config_ice_servers(&cfg, &net);
	CHECK(net.n_stun == 1 && !strcmp(net.stun[0].host, "stun.example.org"));
	CHECK(net.stun[0].port == 19302);
	CHECK(net.n_turn == 1 && net.turn[0].tcp && net.turn[0].port == 3478);
	CHECK(!strcmp(net.turn[0].user, "u") && !strcmp(net.turn[0].pass, "p"));
	CHECK(!net.broker[0]);
	g_free(cfg.ice_turn);
	cfg.ice_turn = g_strdup("turn://u:p@h:0");
	tund_config_ice_servers(&cfg, &net);
	CHECK(net.n_stun == 1 && net.n_turn == 0);
	tund_config_free(&cfg);
}
