// SPDX-License-Identifier: MIT
/* An attacker who holds the network key K (from an invite) and the broker:
 * it builds the signaling messages of issue 18's attacks, and the namespace
 * tests publish them with mosquitto_pub. One line per message on stdout:
 * "TOPIC HEX".
 *
 *   adversary_probe impersonate INVITE_FILE VICTIM_KEY OFFSET_MS COUNT
 *     announces that claim to come from VICTIM_KEY, sent on the victim's
 *     announce topic, timed now + OFFSET_MS, signed with the attacker's own
 *     key (it has no other): each must be refused as forged.
 *   adversary_probe unicast INVITE_FILE VICTIM_KEY RECIPIENT_KEY COUNT
 *     "restart" messages claiming VICTIM_KEY as sender, sealed by the
 *     attacker to RECIPIENT_KEY's inbox: refused as forged.
 *   adversary_probe topic INVITE_FILE KEY
 *     the announce topic of KEY (to read a real announce off the broker).
 *   adversary_probe selfadmit INVITE_FILE SUBJECT_KEY
 *     two admit records for SUBJECT_KEY on its record topic: one signed by
 *     the attacker as issuer (not the admin), one naming the network's admin
 *     as issuer but signed by the attacker: both must be refused.
 *   adversary_probe grind INVITE_FILE VICTIM_KEY VICTIM_ADDR
 *     makes key pairs until one hashes (attempt 0) onto VICTIM_ADDR, the
 *     victim's overlay IPv4 address, then prints "KEY <base64 public key>"
 *     and a signed announce of that key: a newcomer that would take the
 *     victim's address in the hashed assignment.
 *   adversary_probe flood INVITE_FILE ANY_KEY BROKER_HOST COUNT OVERSIZE HUGE
 *     publishes itself (libmosquitto, QoS 1) COUNT forged announces, each
 *     claiming a fresh random key on that key's announce topic, then
 *     OVERSIZE messages of TUND_SIGNAL_MAX_LEN + 800 bytes and HUGE of
 *     100 KB on the announce topic of ANY_KEY; exits 0 once the broker has
 *     taken all but the 100 KB ones (which a broker may refuse).
 * INVITE_FILE holds the invite text (secrets stay off command lines). */
#include <mosquitto.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "overlay/keys.h"
#include "overlay/network.h"
#include "overlay/signal.h"
#include "tests/netns/invite_file.h"

static uint64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void print_msg(const char *topic, const uint8_t *buf, size_t len)
{
	printf("%s ", topic);
	for (size_t i = 0; i < len; i++)
		printf("%02x", buf[i]);
	putchar('\n');
}

static int die(const char *what)
{
	fprintf(stderr, "adversary_probe: %s\n", what);
	return 2;
}

/* Seals m with priv for the network and prints "TOPIC HEX"; 0, or 2 (and a
 * line on stderr) if it cannot be sealed. */
static int seal_print(const struct tund_network *net, const struct tund_signal *m,
		      const uint8_t priv[32], const char *topic)
{
	static uint8_t buf[TUND_SIGNAL_MAX_LEN];
	size_t len = tund_signal_seal(m, net->key, priv, buf, sizeof(buf));

	if (!len)
		return die("seal");
	print_msg(topic, buf, len);
	return 0;
}

static int forge(const struct tund_network *net, const uint8_t victim[32],
		 const uint8_t *recipient, long long offset_ms, int count)
{
	uint8_t priv[32], pub[32];
	char topic[TUND_NET_TOPIC_MAX];
	struct tund_signal m;

	tund_key_generate(priv); /* the attacker's own key: all it can sign with */
	if (!tund_key_public(pub, priv))
		return die("key");
	if (recipient)
		tund_network_inbox_topic(net, recipient, topic, sizeof(topic));
	else
		tund_network_announce_topic(net, victim, topic, sizeof(topic));
	for (int i = 0; i < count; i++) {
		memset(&m, 0, sizeof(m));
		m.type = recipient ? TUND_SIGNAL_RESTART : TUND_SIGNAL_ANNOUNCE;
		memcpy(m.sender, victim, 32);
		if (recipient)
			memcpy(m.recipient, recipient, 32);
		m.time_ms = (uint64_t)((long long)now_ms() + offset_ms) + (uint64_t)i;
		m.listen_port = 51820;
		m.session = 1;
		if (seal_print(net, &m, priv, topic))
			return 2;
	}
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

static int selfadmit(const struct tund_network *net, const uint8_t subject[32])
{
	uint8_t priv[32], pub[32];
	char topic[TUND_NET_TOPIC_MAX];

	if (!net->has_admin)
		return die("the invite names no admin (not an approve network)");
	tund_key_generate(priv);
	if (!tund_key_public(pub, priv))
		return die("key");
	tund_network_record_topic(net, subject, topic, sizeof(topic));
	for (int claim_admin = 0; claim_admin < 2; claim_admin++) {
		struct tund_record r = { .kind = TUND_RECORD_ADMIT, .time_ms = now_ms() };
		struct tund_signal m = { .type = TUND_SIGNAL_RECORD, .has_record = true };

		tund_network_id(net->key, r.netid);
		memcpy(r.subject, subject, 32);
		memcpy(r.issuer, claim_admin ? net->admin : pub, 32);
		if (!tund_record_sign(&r, priv, m.record))
			return die("sign");
		memcpy(m.sender, pub, 32);
		m.time_ms = now_ms();
		if (seal_print(net, &m, priv, topic))
			return 2;
	}
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

/* A fresh random key every time: a sender nobody has seen. */
static size_t forge_random(const struct tund_network *net, const uint8_t priv[32], uint8_t *buf,
			   size_t cap, char *topic, size_t topic_len)
{
	struct tund_signal m;

	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_ANNOUNCE;
	randombytes_buf(m.sender, 32);
	m.time_ms = now_ms();
	m.listen_port = 51820;
	m.session = 1;
	tund_network_announce_topic(net, m.sender, topic, topic_len);
	return tund_signal_seal(&m, net->key, priv, buf, cap);
}

static int acked;

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	(void)mosq;
	(void)obj;
	(void)mid;
	acked++;
}

static int publish(struct mosquitto *mosq, const char *topic, const void *buf, size_t len)
{
	int rc = mosquitto_publish(mosq, NULL, topic, (int)len, buf, 1, false);

	if (rc != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "adversary_probe: publish: %s\n", mosquitto_strerror(rc));
	return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

/* Keeps at most window messages unacknowledged; 0, or -1 when the
 * connection is gone or the acks do not come within wait_ms. A deadline,
 * not a count of loop calls: each call returns as soon as anything arrives. */
static int drain(struct mosquitto *mosq, int sent, int window, uint64_t wait_ms)
{
	uint64_t deadline = now_ms() + wait_ms;

	while (sent - acked > window && now_ms() < deadline) {
		int rc = mosquitto_loop(mosq, 100, 1);

		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "adversary_probe: loop: %s\n", mosquitto_strerror(rc));
			return -1;
		}
	}
	return sent - acked > window ? -1 : 0;
}

static int flood(const struct tund_network *net, const uint8_t victim[32], const char *host,
		 int count, int oversize, int huge)
{
	static uint8_t buf[100 * 1024];
	char topic[TUND_NET_TOPIC_MAX];
	uint8_t priv[32];
	struct mosquitto *mosq;
	int sent = 0, ret = 0;

	tund_key_generate(priv);
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	if (!mosq || mosquitto_connect(mosq, host, 1883, 30) != MOSQ_ERR_SUCCESS)
		return die("cannot connect to the broker");
	mosquitto_publish_callback_set(mosq, on_publish);
	for (int i = 0; i < count && !ret; i++, sent++) {
		size_t len = forge_random(net, priv, buf, TUND_SIGNAL_MAX_LEN, topic, sizeof(topic));

		ret = len ? publish(mosq, topic, buf, len) : -1;
		if (!ret)
			ret = drain(mosq, sent + 1, 100, 30000);
	}
	tund_network_announce_topic(net, victim, topic, sizeof(topic));
	randombytes_buf(buf, sizeof(buf));
	for (int i = 0; i < oversize && !ret; i++, sent++)
		ret = publish(mosq, topic, buf, TUND_SIGNAL_MAX_LEN + 800);
	/* Everything but the 100 KB ones is taken before those go out: a broker
	 * may refuse them, or end the connection over them, losing acks. */
	if (!ret)
		ret = drain(mosq, sent, 0, 30000);
	for (int i = 0; i < huge && !ret; i++)
		(void)publish(mosq, topic, buf, sizeof(buf));
	if (!ret)
		(void)drain(mosq, sent + huge, 0, 3000); /* sends them; acks may never come */
	sodium_memzero(priv, sizeof(priv));
	if (ret || acked < sent) {
		fprintf(stderr, "adversary_probe: %d of %d published\n", acked, sent);
		ret = 2;
	}
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	return ret;
}

static int grind(const struct tund_network *net, const char *addr_text)
{
	uint8_t priv[32], pub[32], want[4], v4[4], v6[16];
	char topic[TUND_NET_TOPIC_MAX], b64[TUND_KEY_B64_LEN + 1];
	struct tund_signal m;
	unsigned long tries = 0;
	int ret;

	if (inet_pton(AF_INET, addr_text, want) != 1)
		return die("bad address");
	do {
		if (++tries > 50ul * 1000 * 1000)
			return die("no key found");
		tund_key_generate(priv);
		if (!tund_key_public(pub, priv) || !tund_network_address(net, pub, 0, v4, v6))
			return die("key");
	} while (memcmp(v4, want, 4));
	tund_key_encode(b64, pub);
	printf("KEY %s\n", b64);
	fprintf(stderr, "adversary_probe: %lu keys tried\n", tries);
	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_ANNOUNCE;
	memcpy(m.sender, pub, 32);
	m.time_ms = now_ms();
	m.listen_port = 51820;
	m.session = 1;
	strcpy(m.name, "ground");
	tund_network_announce_topic(net, pub, topic, sizeof(topic));
	ret = seal_print(net, &m, priv, topic);
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

int main(int argc, char **argv)
{
	struct tund_network net;
	uint8_t victim[32], other[32];
	const char *why = NULL;
	int ret;

	if (sodium_init() < 0 || argc < 4)
		return die("usage: impersonate|unicast|topic|selfadmit|grind|flood INVITE KEY ...");
	if (!read_invite_file(argv[2], &net, &why))
		return die(why ? why : "invite");
	if (!tund_key_decode(victim, argv[3]))
		return die("bad key");
	if (!strcmp(argv[1], "topic")) {
		char topic[TUND_NET_TOPIC_MAX];

		tund_network_announce_topic(&net, victim, topic, sizeof(topic));
		puts(topic);
		ret = 0;
	} else if (!strcmp(argv[1], "selfadmit") && argc == 4) {
		ret = selfadmit(&net, victim);
	} else if (!strcmp(argv[1], "impersonate") && argc == 6) {
		ret = forge(&net, victim, NULL, atoll(argv[4]), atoi(argv[5]));
	} else if (!strcmp(argv[1], "unicast") && argc == 6 && tund_key_decode(other, argv[4])) {
		ret = forge(&net, victim, other, 0, atoi(argv[5]));
	} else if (!strcmp(argv[1], "grind") && argc == 5) {
		ret = grind(&net, argv[4]);
	} else if (!strcmp(argv[1], "flood") && argc == 8) {
		ret = flood(&net, victim, argv[4], atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
	} else {
		ret = die("bad arguments");
	}
	tund_network_clear(&net);
	return ret;
}
