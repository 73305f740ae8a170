// SPDX-License-Identifier: MIT
/* The creator's epoch keys (overlay/network.c) and its watch on old epochs'
 * topics (tund/connect/old_epochs.c). */
#include <sodium.h>
#include <string.h>

#include "overlay/keys.h"
#include "overlay/network.h"
#include "tests/unit/unit.h"
#include "tund/connect/old_epochs.h"

/* Epoch 0's key is the root; later ones differ per epoch and per creator,
 * and the creator makes the same one again. */
UNIT_TEST(network_epoch_key_is_the_creators)
{
	struct tund_network net;
	const char *why = NULL;
	uint8_t priv[32], other[32], k0[32], k1[32], k1b[32], k2[32], k1o[32];

	CHECK(tund_network_init_new(&net, "club", &why));
	tund_key_generate(priv);
	tund_key_generate(other);
	tund_network_epoch_key(&net, priv, 0, k0);
	tund_network_epoch_key(&net, priv, 1, k1);
	tund_network_epoch_key(&net, priv, 1, k1b);
	tund_network_epoch_key(&net, priv, 2, k2);
	tund_network_epoch_key(&net, other, 1, k1o);
	CHECK(!memcmp(k0, net.root, 32));
	CHECK(!memcmp(k1, k1b, 32) && memcmp(k1, k2, 32) && memcmp(k1, k1o, 32));
	CHECK(memcmp(k1, net.root, 32) && !sodium_is_zero(k1, 32));
	sodium_memzero(&net, sizeof(net));
	sodium_memzero(priv, sizeof(priv));
}

/* At epoch 10 the creator listens on epochs 2..9, each under its own key's
 * topics; at epoch 0 on none. */
UNIT_TEST(old_epochs_watch_the_last_eight)
{
	struct tund_network net;
	struct tund_old_epochs w;
	const char *why = NULL;
	uint8_t priv[32], k[32];
	char prefix[TUND_NET_TOPIC_MAX], topic[TUND_NET_TOPIC_MAX + 40];

	CHECK(tund_network_init_new(&net, "club", &why));
	tund_key_generate(priv);
	tund_old_epochs_set(&w, &net, priv);
	CHECK(w.n == 0);
	tund_network_epoch_key(&net, priv, 10, k);
	CHECK(tund_network_rekey(&net, 10, k));
	tund_old_epochs_set(&w, &net, priv);
	CHECK(w.n == TUND_OLD_EPOCHS && w.e[0].net.epoch == 2 && w.e[7].net.epoch == 9);
	for (unsigned i = 0; i < w.n; i++) {
		struct tund_network at = net;

		at.epoch = w.e[i].net.epoch;
		tund_network_epoch_key(&net, priv, at.epoch, at.key);
		CHECK(!memcmp(at.key, w.e[i].net.key, 32));
		CHECK(tund_network_topic_prefix(&at, prefix, sizeof(prefix)));
		snprintf(topic, sizeof(topic), "%s/a/00ff", prefix);
		CHECK(tund_old_epochs_match(&w, topic) == &w.e[i]);
		sodium_memzero(&at, sizeof(at));
	}
	/* The current epoch's topics and look-alikes are not old ones. */
	CHECK(tund_network_topic_prefix(&net, prefix, sizeof(prefix)));
	snprintf(topic, sizeof(topic), "%s/a/00ff", prefix);
	CHECK(!tund_old_epochs_match(&w, topic));
	snprintf(topic, sizeof(topic), "%sx/a/00ff", w.e[3].prefix);
	CHECK(!tund_old_epochs_match(&w, topic) && !tund_old_epochs_match(&w, w.e[3].prefix));
	CHECK(!tund_old_epochs_match(&w, NULL));
	tund_old_epochs_clear(&w);
	CHECK(w.n == 0);
	sodium_memzero(&net, sizeof(net));
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(k, sizeof(k));
}
