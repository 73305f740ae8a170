// SPDX-License-Identifier: MIT
/* Writes valid seeds for fuzz_invite, fuzz_signal, fuzz_record and
 * fuzz_beacon into DIR/invite, DIR/signal, DIR/record and DIR/beacon (`make
 * fuzz-seeds`). Signal, record and beacon seeds are sealed and signed with
 * the fixed keys of signal_keys.h, so the fuzz targets open them. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "overlay/beacon.h"
#include "overlay/keys.h"
#include "overlay/network.h"
#include "overlay/record.h"
#include "overlay/signal.h"
#include "tests/fuzz/signal_keys.h"

static int write_file(const char *dir, const char *sub, const char *name, const void *data,
		      size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

static int invites(const char *dir)
{
	static struct tund_network n;
	static char text[TUND_INVITE_MAX_TEXT];
	int err = 0;

	if (!tund_network_init_new(&n, "lan", NULL))
		return 1;
	memset(n.key, 0x42, 32);
	memcpy(n.root, n.key, 32);
	tund_network_derive_prefix6(&n);
	err |= !tund_invite_encode(&n, text, sizeof(text));
	err |= write_file(dir, "invite", "minimal", text, strlen(text));

	err |= !tund_network_set_prefix4(&n, "10.9.0.0/24", NULL);
	strcpy(n.broker, "mqtt://[2001:db8::1]:1883");
	err |= !tund_parse_stun("stun.example.org:19302", &n.stun[0], NULL);
	err |= !tund_parse_stun("[2001:db8::2]", &n.stun[1], NULL);
	n.n_stun = 2;
	err |= !tund_parse_turn_url("turn://u%40x:p%3Aw@turn.example.org:3479", &n.turn[0], NULL);
	err |= !tund_parse_turn_url("turn://u:p@192.0.2.7?transport=tcp", &n.turn[1], NULL);
	n.n_turn = 2;
	n.admission = TUND_ADMISSION_APPROVE;
	memset(n.admin, 0x5a, 32);
	n.has_admin = true;
	err |= !tund_invite_encode(&n, text, sizeof(text));
	err |= write_file(dir, "invite", "full", text, strlen(text));
	memset(n.invite_token, 0x3c, sizeof(n.invite_token));
	n.has_token = true;
	n.invite_expires_ms = FUZZ_SIGNAL_NOW_MS + 86400000;
	err |= !tund_invite_encode(&n, text, sizeof(text));
	err |= write_file(dir, "invite", "limited", text, strlen(text));
	n.has_token = false;
	memset(n.key, 0x6b, sizeof(n.key));
	n.epoch = 1; /* after a rekey: root key and epoch */
	err |= !tund_invite_encode(&n, text, sizeof(text));
	err |= write_file(dir, "invite", "rekeyed", text, strlen(text));
	return err;
}

static int signals(const char *dir)
{
	static const uint8_t zero[32];
	static const char *const names[] = { "", "announce", "offer", "answer", "candidate",
					     "restart", "bye", "record", "join", "refused",
					     "rekey" };
	static struct tund_signal m;
	static uint8_t buf[TUND_SIGNAL_MAX_LEN];
	static char text[TUND_SIGNAL_TEXT_MAX];
	uint8_t netkey[32], rpriv[32], rpub[32], spriv[32], spub[32];
	size_t len;
	int err = 0;

	fuzz_signal_keys(netkey, rpriv, spriv);
	if (!tund_key_public(rpub, rpriv) || !tund_key_public(spub, spriv))
		return 1;
	for (uint8_t t = TUND_SIGNAL_ANNOUNCE; t <= TUND_SIGNAL_REKEY; t++) {
		if (t == TUND_SIGNAL_RECORD)
			continue; /* below */
		memset(&m, 0, sizeof(m));
		m.type = t;
		memcpy(m.sender, spub, 32);
		if (t != TUND_SIGNAL_ANNOUNCE)
			memcpy(m.recipient, rpub, 32);
		m.time_ms = FUZZ_SIGNAL_NOW_MS;
		m.session = 7;
		if (t == TUND_SIGNAL_ANNOUNCE) {
			strcpy(m.name, "laptop");
			m.listen_port = 51820;
		}
		if (t == TUND_SIGNAL_OFFER || t == TUND_SIGNAL_ANSWER || t == TUND_SIGNAL_RESTART) {
			strcpy(m.ufrag, "Ab3x");
			strcpy(m.pwd, "0123456789abcdefghijkl");
		}
		if (t == TUND_SIGNAL_OFFER)
			m.mapping = TUND_SIGNAL_MAPPING_EIM; /* tag 13 */
		if (t == TUND_SIGNAL_ANSWER)
			m.mapping = TUND_SIGNAL_MAPPING_DEPENDENT;
		if (t == TUND_SIGNAL_OFFER || t == TUND_SIGNAL_CANDIDATE) {
			strcpy(m.candidates[0],
			       "a=candidate:1 1 UDP 2130706431 192.0.2.1 50000 typ host");
			strcpy(m.candidates[1], "a=candidate:2 1 UDP 1694498815 198.51.100.1 "
						"40000 typ srflx raddr 192.0.2.1 rport 50000");
			m.n_candidates = 2;
			m.end_of_candidates = t == TUND_SIGNAL_CANDIDATE;
		}
		if (t == TUND_SIGNAL_JOIN) {
			memset(m.token, 0x3c, sizeof(m.token));
			m.has_token = true;
		}
		if (t == TUND_SIGNAL_REFUSED)
			strcpy(m.reason, "invite already used");
		if (t == TUND_SIGNAL_REKEY) {
			memset(m.new_key, 0x6b, sizeof(m.new_key));
			m.new_epoch = 1;
			m.has_new_key = true;
		}
		len = tund_signal_seal(&m, netkey, spriv, buf, sizeof(buf));
		err |= !len;
		err |= write_file(dir, "signal", names[t], buf, len);
		if (t == TUND_SIGNAL_OFFER) {
			len = tund_signal_seal(&m, zero, spriv, buf, sizeof(buf));
			err |= !len;
			err |= write_file(dir, "signal", "manual_offer", buf, len);
			err |= !tund_signal_to_text(buf, len, text, sizeof(text));
			err |= write_file(dir, "signal", "manual_offer_text", text, strlen(text));
		}
	}
	/* A record message: the admin (the sender key here) admits the recipient. */
	struct tund_record r = { .kind = TUND_RECORD_ADMIT, .time_ms = FUZZ_SIGNAL_NOW_MS };
	memset(&m, 0, sizeof(m));
	m.type = TUND_SIGNAL_RECORD;
	m.has_record = true;
	memcpy(m.sender, spub, 32);
	m.time_ms = FUZZ_SIGNAL_NOW_MS;
	tund_network_id(netkey, r.netid);
	memcpy(r.subject, rpub, 32);
	memcpy(r.issuer, spub, 32);
	err |= tund_record_sign(&r, spriv, m.record) != TUND_RECORD_LEN;
	err |= write_file(dir, "record", "admit", m.record, TUND_RECORD_LEN);
	len = tund_signal_seal(&m, netkey, spriv, buf, sizeof(buf));
	err |= !len;
	err |= write_file(dir, "signal", "record", buf, len);
	r.kind = TUND_RECORD_BLOCK;
	err |= tund_record_sign(&r, spriv, m.record) != TUND_RECORD_LEN;
	err |= write_file(dir, "record", "block", m.record, TUND_RECORD_LEN);
	return err;
}

/* A valid beacon, one from another network, one whose signature is not the
 * claimed key's, a version 1 header and a truncated one. */
static int beacons(const char *dir)
{
	uint8_t netkey[32], recv_priv[32], send_priv[32], other[32], buf[TUND_BEACON_LEN];
	struct tund_beacon_msg b = { .listen_port = 51820, .time_ms = FUZZ_SIGNAL_NOW_MS };
	int err = 0;

	fuzz_signal_keys(netkey, recv_priv, send_priv);
	crypto_scalarmult_base(b.pubkey, send_priv);
	memset(b.nonce, 0x33, sizeof(b.nonce));
	err |= tund_beacon_encode(&b, netkey, send_priv, buf, sizeof(buf)) != TUND_BEACON_LEN;
	err |= write_file(dir, "beacon", "valid", buf, sizeof(buf));
	err |= write_file(dir, "beacon", "truncated", buf, 100);
	buf[2] = 1;
	err |= write_file(dir, "beacon", "old_version", buf, 85);
	err |= tund_beacon_encode(&b, netkey, recv_priv, buf, sizeof(buf)) != TUND_BEACON_LEN;
	err |= write_file(dir, "beacon", "forged", buf, sizeof(buf));
	memset(other, 0x24, sizeof(other));
	err |= tund_beacon_encode(&b, other, send_priv, buf, sizeof(buf)) != TUND_BEACON_LEN;
	err |= write_file(dir, "beacon", "other_network", buf, sizeof(buf));
	sodium_memzero(recv_priv, sizeof(recv_priv));
	sodium_memzero(send_priv, sizeof(send_priv));
	return err;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	return invites(argv[1]) | signals(argv[1]) | beacons(argv[1]);
}
