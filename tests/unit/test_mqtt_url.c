// SPDX-License-Identifier: MIT
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/connect/mqtt.h"
#include "tund/daemon/log.h"

static bool parse(const char *url, char **host, uint16_t *port)
{
	char err[TUND_WHY_LEN] = "";
	bool ok = tund_mqtt_parse_url(url, host, port, err, sizeof(err)) == 0;

	/* Exactly one of the two outputs is set. */
	CHECK(ok == (err[0] == '\0'));
	CHECK(ok == (*host != NULL));
	return ok;
}

UNIT_TEST(mqtt_url_ok)
{
	char *host;
	uint16_t port;

	CHECK(parse("mqtt://127.0.0.1:1883", &host, &port));
	CHECK(!strcmp(host, "127.0.0.1") && port == 1883);
	g_free(host);
	CHECK(parse("mqtt://broker.example.org:8883", &host, &port));
	CHECK(!strcmp(host, "broker.example.org") && port == 8883);
	g_free(host);
	CHECK(parse("mqtt://localhost", &host, &port));
	CHECK(!strcmp(host, "localhost") && port == 1883);
	g_free(host);
	CHECK(parse("mqtt://[fd00::1]:65535", &host, &port));
	CHECK(!strcmp(host, "fd00::1") && port == 65535);
	g_free(host);
	CHECK(parse("mqtt://[::1]", &host, &port));
	CHECK(!strcmp(host, "::1") && port == 1883);
	g_free(host);
}

UNIT_TEST(mqtt_url_bad)
{
	static const char *const bad[] = {
		"",
		"127.0.0.1:1883",
		"http://127.0.0.1:1883",
		"mqtts://127.0.0.1:8883",
		"mqtt://",
		"mqtt://:1883",
		"mqtt://host:",
		"mqtt://host:0",
		"mqtt://host:65536",
		"mqtt://host:99999999999999999999",
		"mqtt://host:-1",
		"mqtt://host:12ab",
		"mqtt://host:1883/path",
		"mqtt://user@host:1883",
		"mqtt://ho st:1883",
		"mqtt://[::1:1883",
		"mqtt://[::1]x",
		"mqtt://host:1883?x=1",
		"mqtt://host:1883/", /* what tund_parse_broker_url refuses at create or join */
	};
	char *host;
	uint16_t port;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		CHECK(!parse(bad[i], &host, &port));
	CHECK(!parse(NULL, &host, &port));
}

UNIT_TEST(mqtt_url_overlong_host)
{
	char url[400], *host;
	uint16_t port;

	strcpy(url, "mqtt://");
	memset(url + 7, 'a', 254);
	strcpy(url + 7 + 254, ":1883");
	CHECK(!parse(url, &host, &port));
	strcpy(url + 7 + 253, ":1883");
	CHECK(parse(url, &host, &port));
	CHECK(strlen(host) == 253);
	g_free(host);
}

UNIT_TEST(mqtt_backoff)
{
	CHECK(tund_mqtt_backoff_ms(1, 0) == 1000);
	CHECK(tund_mqtt_backoff_ms(2, 0) == 2000);
	CHECK(tund_mqtt_backoff_ms(3, 0) == 4000);
	CHECK(tund_mqtt_backoff_ms(5, 0) == 16000);
	CHECK(tund_mqtt_backoff_ms(6, 0) == 30000);
	CHECK(tund_mqtt_backoff_ms(7, 0) == 30000);
	CHECK(tund_mqtt_backoff_ms(1000000, 0) == 30000);
	CHECK(tund_mqtt_backoff_ms(0, 0) == 1000);
	/* Jitter takes at most 20 % off and never adds. */
	CHECK(tund_mqtt_backoff_ms(1, 0.999) >= 800 && tund_mqtt_backoff_ms(1, 0.999) < 1000);
	CHECK(tund_mqtt_backoff_ms(9, 0.5) == 27000);
	CHECK(tund_mqtt_backoff_ms(3, -1) == 4000);
	CHECK(tund_mqtt_backoff_ms(3, 1) == 4000);
}

/* Offline: no main loop iteration, so no connect attempt is made yet. */
UNIT_TEST(mqtt_offline_publish_semantics)
{
	struct tund_mqtt_stats st;
	struct tund_mqtt *m;
	char err[TUND_WHY_LEN] = "";

	CHECK(tund_mqtt_new("mqtt://127.0.0.1:1883", "", NULL, NULL, &m, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(!m && err[0] != '\0');
	err[0] = '\0';
	CHECK(tund_mqtt_new("tcp://x", "id", NULL, NULL, &m, err, sizeof(err)) == -EINVAL);
	CHECK(!m && err[0] != '\0');
	err[0] = '\0';

	CHECK(tund_mqtt_new("mqtt://127.0.0.1:1", "unit", NULL, NULL, &m, err, sizeof(err)) == 0);
	CHECK(m != NULL && err[0] == '\0');
	if (!m)
		return;
	CHECK(tund_mqtt_subscribe(m, "a/#") == 0);
	CHECK(tund_mqtt_subscribe(m, "a/#/b") == -EINVAL);
	CHECK(tund_mqtt_unsubscribe(m, "a/#") == 0);
	CHECK(tund_mqtt_publish(m, "a/+", "x", 1, false) == -EINVAL);
	CHECK(tund_mqtt_publish(m, "a/b", "x", 1, false) == -ENOTCONN);
	CHECK(tund_mqtt_publish(m, "a/b", "x", 1, true) == 0);
	CHECK(tund_mqtt_publish(m, "a/b", "yy", 2, true) == 0);
	CHECK(tund_mqtt_publish(m, "a/b", NULL, 0, true) == 0);
	CHECK(tund_mqtt_set_will(m, "a/#", "", 0, true) == -EINVAL);
	CHECK(tund_mqtt_set_will(m, "a/b", "", 0, true) == 0);
	CHECK(tund_mqtt_set_will(m, NULL, NULL, 0, false) == 0);
	tund_mqtt_get_stats(m, &st);
	CHECK(!st.connected && st.connects == 0);
	CHECK(st.dropped_out == 1 && st.msgs_out == 0);
	tund_mqtt_free(m);
	tund_mqtt_free(NULL);
}

/* The v5 size request is stored without connecting (no main loop here), so
 * it cannot block; the flood test checks that a broker honours it. */
UNIT_TEST(mqtt_max_packet_v5)
{
	struct tund_mqtt_stats st;
	struct tund_mqtt *m = NULL;
	char why[TUND_WHY_LEN] = "";

	CHECK(tund_mqtt_new("mqtt://127.0.0.1:1", "unit", NULL, NULL, &m, why, sizeof(why)) == 0);
	CHECK(m != NULL && why[0] == '\0');
	if (!m)
		return;
	CHECK(tund_mqtt_set_max_packet(m, 9216) == 0);
	CHECK(tund_mqtt_set_max_packet(m, 9216) == 0); /* again: replaces it */
	tund_mqtt_get_stats(m, &st);
	CHECK(!st.connected && st.connects == 0);
	tund_mqtt_free(m);
}
