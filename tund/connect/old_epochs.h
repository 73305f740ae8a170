/* SPDX-License-Identifier: MIT */
/* The creator's ear on the last few epochs' topics. A member that was offline
 * through a rekey finds its new key retained on its rekey topic, but anyone on
 * the broker can clear a retained message (an empty retained publish), and a
 * blocked member knows the old topics. So the creator also listens for
 * announces under the keys of the last TUND_OLD_EPOCHS epochs (it can make
 * each again, tund_network_epoch_key) and answers an admitted member heard
 * there with the current key, sealed to it by DH, on that epoch's inbox. */
#ifndef TUND_CONNECT_OLD_EPOCHS_H
#define TUND_CONNECT_OLD_EPOCHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/network.h"
#include "overlay/signal.h"

struct tund_mqtt;

enum { TUND_OLD_EPOCHS = 8 };

struct tund_old_epoch {
	struct tund_network net; /* the network as it was in that epoch */
	char prefix[TUND_NET_TOPIC_MAX];
};

struct tund_old_epochs {
	struct tund_old_epoch e[TUND_OLD_EPOCHS];
	unsigned n;
};

/* Fills w with the epochs before net's (up to TUND_OLD_EPOCHS of them);
 * none at epoch 0. */
void tund_old_epochs_set(struct tund_old_epochs *w, const struct tund_network *net,
			 const uint8_t creator_priv[32]);
/* Subscribes to (or leaves) each old epoch's announces. */
void tund_old_epochs_subscribe(const struct tund_old_epochs *w, struct tund_mqtt *m, bool on);
/* The old epoch whose topics topic is under, or NULL. */
const struct tund_old_epoch *tund_old_epochs_match(const struct tund_old_epochs *w,
						   const char *topic);
/* Wipes the keys. */
void tund_old_epochs_clear(struct tund_old_epochs *w);

#endif
