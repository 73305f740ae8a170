// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "tund/daemon/config.h"
#include "tund/daemon/log.h"

static bool parse(struct tund_config *cfg, const char *text, char err[TUND_WHY_LEN])
{
	tund_config_init(cfg);
	err[0] = '\0';
	return tund_config_parse(cfg, text, strlen(text), "test.conf", err, TUND_WHY_LEN) == 0;
}

UNIT_TEST(config_full_example)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];
	const char *text = "[interface]\n"
			   "name = tund7\n"
			   "address = 10.77.0.1/16\n"
			   "address6 = fd77::1/64        ; optional\n"
			   "mtu = 1380\n"
			   "listen_port = 51821\n"
			   "# a comment\n"
			   "[paths]\n"
			   "state_dir = /tmp/x/state\n"
			   "control_socket = /tmp/x/tund.sock\n";

	CHECK(parse(&cfg, text, err));
	CHECK(err[0] == '\0');
	CHECK(!strcmp(cfg.ifname, "tund7"));
	CHECK(cfg.has_addr4 && cfg.addr4.family == AF_INET && cfg.addr4.prefix == 16);
	CHECK(cfg.addr4.addr[0] == 10 && cfg.addr4.addr[3] == 1);
	CHECK(cfg.has_addr6 && cfg.addr6.family == AF_INET6 && cfg.addr6.prefix == 64);
	CHECK(cfg.mtu == 1380);
	CHECK(cfg.listen_port == 51821);
	CHECK(!strcmp(cfg.state_dir, "/tmp/x/state"));
	CHECK(!strcmp(cfg.control_socket, "/tmp/x/tund.sock"));
	tund_config_free(&cfg);
}

UNIT_TEST(config_defaults)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	CHECK(parse(&cfg, "", err));
	CHECK(!strcmp(cfg.ifname, "tund0"));
	CHECK(cfg.mtu == 1420 && cfg.listen_port == 51820);
	CHECK(!cfg.has_addr4 && !cfg.has_addr6);
	CHECK(!strcmp(cfg.state_dir, TUND_DEFAULT_STATE_DIR));
	tund_config_free(&cfg);
}

/* Each bad config must fail with a message naming the file, section and key. */
static void expect_error(const char *text, const char *must_contain)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	CHECK(!parse(&cfg, text, err));
	CHECK(err[0] != '\0');
	if (err[0]) {
		CHECK(strstr(err, "test.conf") != NULL);
		CHECK(strstr(err, must_contain) != NULL);
		CHECK(strchr(err, '\n') == NULL);
		if (!strstr(err, must_contain))
			fprintf(stderr, "  got: %s\n", err);
	}
	tund_config_free(&cfg);
}

UNIT_TEST(config_rejects_bad_input)
{
	expect_error("[interface]\nnmae = x\n", "[interface] nmae: unknown key");
	expect_error("[interfaces]\nname = x\n", "[interfaces]: unknown section");
	expect_error("[interface]\naddress = 10.77.0.300/16\n", "[interface] address");
	expect_error("[interface]\naddress = 10.77.0.1\n", "[interface] address");
	expect_error("[interface]\naddress = fd77::1/64\n", "[interface] address");
	expect_error("[interface]\naddress6 = 10.0.0.1/8\n", "[interface] address6");
	expect_error("[interface]\naddress = 10.77.0.1/33\n", "[interface] address");
	expect_error("[interface]\nmtu = 100\n", "[interface] mtu");
	expect_error("[interface]\nmtu = 1420x\n", "[interface] mtu");
	expect_error("[interface]\nmtu = -1\n", "[interface] mtu");
	expect_error("[interface]\nlisten_port = 70000\n", "[interface] listen_port");
	expect_error("[interface]\nname = averyveryverylongname\n", "[interface] name");
	expect_error("[interface]\nname = a/b\n", "[interface] name");
	expect_error("[paths]\nstate_dir = relative/dir\n", "[paths] state_dir");
	expect_error("key = value\n", "test.conf");
	expect_error("[interface\nname=x\n", "test.conf");
}

UNIT_TEST(config_rejects_nul_bytes)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];
	const char text[] = "[interface]\nname = a\0b\n";

	tund_config_init(&cfg);
	CHECK(tund_config_parse(&cfg, text, sizeof(text) - 1, "test.conf", err, sizeof(err)) < 0);
	tund_config_free(&cfg);
}

UNIT_TEST(config_load_missing_file)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	tund_config_init(&cfg);
	CHECK(tund_config_load(&cfg, "/nonexistent/tund.conf", err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "/nonexistent/tund.conf") && strstr(err, "cannot read"));
	tund_config_free(&cfg);
}

UNIT_TEST(config_errors_name_the_line)
{
	expect_error("[interface]\nname = tund0\n\nmtu = 12\n", "test.conf:4: [interface] mtu");
	expect_error("# c\n[interface]\nname = x\nnot a key\n", "test.conf:4:");
	expect_error("\n[bogus]\n", "test.conf:2: [bogus]: unknown section");
	/* A TURN URL that does not parse is refused without repeating it. */
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	CHECK(!parse(&cfg, "[ice]\nturn = stun://u:secretpw@h\n", err));
	CHECK(!strstr(err, "secretpw"));
	tund_config_free(&cfg);
}

UNIT_TEST(config_daemon_user)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	CHECK(parse(&cfg, "", err));
	CHECK(cfg.user == NULL); /* the default user if it exists */
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[daemon]\nuser = tund-x_1\n", err));
	CHECK(cfg.user && !strcmp(cfg.user, "tund-x_1"));
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[daemon]\nuser =\n", err));
	CHECK(cfg.user && !strcmp(cfg.user, "")); /* stay root */
	tund_config_free(&cfg);
	expect_error("[daemon]\nuser = a b\n", "test.conf:2: [daemon] user");
	expect_error("[daemon]\nuser = ../x\n", "[daemon] user");
	expect_error("[daemon]\ngroup = x\n", "[daemon] group: unknown key");
}

UNIT_TEST(config_network_servers)
{
	struct tund_config cfg;
	struct tund_network net = { .name = "friends", .broker = "mqtt://old:1883", .n_stun = 1 };
	char err[TUND_WHY_LEN];

	CHECK(parse(&cfg,
		    "[network friends]\n"
		    "broker = mqtt://10.0.0.2:1884\n"
		    "turn = turn://u:p@10.0.0.3:3478?transport=udp, turn://u:p@10.0.0.3?transport=tcp\n"
		    "[network other]\nbroker =\n",
		    err));
	CHECK(cfg.n_networks == 2);
	CHECK(tund_config_network(&cfg, "nope") == NULL);
	tund_config_apply_network(&cfg, &net);
	CHECK(!strcmp(net.broker, "mqtt://10.0.0.2:1884"));
	CHECK(net.n_stun == 1); /* not set in the section: the invite's stays */
	CHECK(net.n_turn == 2 && !net.turn[0].tcp && net.turn[1].tcp);
	CHECK(!strcmp(net.turn[1].host, "10.0.0.3") && net.turn[1].port == 3478);
	CHECK(!strcmp(net.turn[0].pass, "p"));
	g_strlcpy(net.name, "other", sizeof(net.name));
	tund_config_apply_network(&cfg, &net);
	CHECK(net.broker[0] == '\0'); /* empty: no broker */
	tund_config_free(&cfg);

	expect_error("[network friends]\nbroker = http://x\n", "test.conf:2: [network friends] broker");
	expect_error("[network friends]\nstun = a:1,b:2,c:3\n", "at most 2 STUN");
	expect_error("[network friends]\nrelay = x\n", "[network friends] relay");
	expect_error("[network bad name]\nbroker =\n", "[network bad name]");
	CHECK(!parse(&cfg, "[network n]\nturn = turn://u:hunter2@\n", err));
	CHECK(!strstr(err, "hunter2"));
	tund_config_free(&cfg);
}

UNIT_TEST(config_error_names_the_value_in_force)
{
	/* GKeyFile merges a repeated section and keeps a key's last value. */
	expect_error("[interface]\nmtu = 1300\n[paths]\n[interface]\nmtu = 12\n",
		     "test.conf:5: [interface] mtu");
}

/* The on/off switches: on by default; "off" turns off that one alone (every
 * other switch stays on); "yes" is on; anything else is refused with the
 * key's name. */
static const struct {
	const char *section, *key;
	size_t field;
} bool_switches[] = {
	{ "interface", "offload", offsetof(struct tund_config, offload) },
	{ "interface", "beacons", offsetof(struct tund_config, beacons) },
	{ "interface", "io_uring", offsetof(struct tund_config, io_uring) },
	{ "interface", "broadcast", offsetof(struct tund_config, broadcast) },
	{ "daemon", "realtime", offsetof(struct tund_config, realtime) },
	{ "daemon", "light_on_one_thread", offsetof(struct tund_config, light_on_one_thread) },
	{ "ice", "fast_path", offsetof(struct tund_config, ice_fast_path) },
};

static bool switch_on(const struct tund_config *cfg, size_t i)
{
	return *(const bool *)((const char *)cfg + bool_switches[i].field);
}

UNIT_TEST(config_on_off_switches)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bool_switches); i++) {
		const char *sec = bool_switches[i].section, *key = bool_switches[i].key;
		g_autofree char *off = g_strdup_printf("[%s]\n%s = off\n", sec, key);
		g_autofree char *yes = g_strdup_printf("[%s]\n%s = yes\n", sec, key);
		g_autofree char *bad = g_strdup_printf("[%s]\n%s = maybe\n", sec, key);
		g_autofree char *why = g_strdup_printf("[%s] %s: expected on or off", sec, key);
		struct tund_config cfg;
		char err[TUND_WHY_LEN];

		CHECK(parse(&cfg, "", err));
		CHECK(switch_on(&cfg, i));
		tund_config_free(&cfg);
		CHECK(parse(&cfg, off, err));
		for (size_t j = 0; j < G_N_ELEMENTS(bool_switches); j++)
			CHECK(switch_on(&cfg, j) == (j != i));
		tund_config_free(&cfg);
		CHECK(parse(&cfg, yes, err));
		CHECK(switch_on(&cfg, i));
		tund_config_free(&cfg);
		expect_error(bad, why);
	}
}

UNIT_TEST(config_aead_backend)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	CHECK(parse(&cfg, "", err));
	CHECK(cfg.aead == TUND_AEAD_MODE_AUTO); /* measured at start by default */
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[daemon]\naead = openssl\n", err));
	CHECK(cfg.aead == TUND_AEAD_MODE_OPENSSL);
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[daemon]\naead = sodium\n", err));
	CHECK(cfg.aead == TUND_AEAD_MODE_SODIUM);
	tund_config_free(&cfg);
	expect_error("[daemon]\naead = fastest\n", "[daemon] aead: expected auto, sodium or openssl");
}

UNIT_TEST(config_turn_prediction_switch)
{
	struct tund_config cfg;
	char err[TUND_WHY_LEN];

	CHECK(parse(&cfg, "", err));
	CHECK(cfg.ice_turn_prediction == TUND_TURN_PREDICT_ON); /* by default */
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[ice]\nturn_prediction = off\n", err));
	CHECK(cfg.ice_turn_prediction == TUND_TURN_PREDICT_OFF && cfg.ice_fast_path);
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[ice]\nturn_prediction = Lean\n", err));
	CHECK(cfg.ice_turn_prediction == TUND_TURN_PREDICT_LEAN);
	tund_config_free(&cfg);
	CHECK(parse(&cfg, "[ice]\nturn_prediction = yes\n", err));
	CHECK(cfg.ice_turn_prediction == TUND_TURN_PREDICT_ON);
	tund_config_free(&cfg);
	expect_error("[ice]\nturn_prediction = maybe\n",
		     "[ice] turn_prediction: expected on, lean or off");
}
