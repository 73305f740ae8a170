// SPDX-License-Identifier: MIT
/* The creator's watch on old epochs' topics (see old_epochs.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tund/connect/mqtt.h"
#include "tund/connect/old_epochs.h"

void tund_old_epochs_set(struct tund_old_epochs *w, const struct tund_network *net,
			 const uint8_t creator_priv[32])
{
	uint32_t first = net->epoch > TUND_OLD_EPOCHS ? net->epoch - TUND_OLD_EPOCHS : 0;

	tund_old_epochs_clear(w);
	for (uint32_t e = first; e < net->epoch; e++) {
		struct tund_old_epoch *o = &w->e[w->n];

		o->net = *net;
		o->net.epoch = e;
		tund_network_epoch_key(net, creator_priv, e, o->net.key);
		if (!tund_network_topic_prefix(&o->net, o->prefix, sizeof(o->prefix))) {
			sodium_memzero(o, sizeof(*o));
			continue;
		}
		w->n++;
	}
}

void tund_old_epochs_subscribe(const struct tund_old_epochs *w, struct tund_mqtt *m, bool on)
{
	char filter[TUND_NET_TOPIC_MAX + 8];

	for (unsigned i = 0; m && i < w->n; i++) {
		snprintf(filter, sizeof(filter), "%s/a/+", w->e[i].prefix);
		if (on)
			tund_mqtt_subscribe(m, filter);
		else
			tund_mqtt_unsubscribe(m, filter);
	}
}

const struct tund_old_epoch *tund_old_epochs_match(const struct tund_old_epochs *w,
						   const char *topic)
{
	for (unsigned i = 0; topic && i < w->n; i++) {
		size_t len = strlen(w->e[i].prefix);

		if (!strncmp(topic, w->e[i].prefix, len) && topic[len] == '/')
			return &w->e[i];
	}
	return NULL;
}

void tund_old_epochs_clear(struct tund_old_epochs *w)
{
	sodium_memzero(w, sizeof(*w));
}
