// SPDX-License-Identifier: MIT
/* The daemon's files in state_dir: private.key and peers.json. */
#include <glib.h>
#include <sodium.h>

#include "tund/daemon/keyfile.h"
#include "tund/daemon/log.h"
#include "tund/daemon/state.h"
#include "tund/daemon/statefile.h"

bool tund_daemon_load_state(struct tund_daemon *d)
{
	g_autofree char *key_path = g_build_filename(d->cfg.state_dir, "private.key", NULL);
	char why[TUND_WHY_LEN] = "";
	char pub[TUND_KEY_B64_LEN + 1];
	bool created;
	int ret;

	ret = tund_statefile_prepare_dir(d->cfg.state_dir);
	if (ret) {
		log_error("%s: [paths] state_dir: cannot use %s: %s", d->config_path,
			  d->cfg.state_dir, g_strerror(-ret));
		return false;
	}
	if (tund_keyfile_load_or_create(key_path, d->private_key, &created, why, sizeof(why)) < 0 ||
	    !tund_key_public(d->public_key, d->private_key)) {
		log_error("%s", why[0] ? why : "private key gives an invalid public key");
		return false;
	}
	tund_key_encode(pub, d->public_key);
	log_info("%s private key %s; public key %s", created ? "created" : "loaded", key_path,
		 pub);
	return tund_daemon_load_peers(d);
}

bool tund_daemon_load_peers(struct tund_daemon *d)
{
	g_autoptr(GError) gerr = NULL;
	char *data = NULL;
	char why[TUND_WHY_LEN];
	gsize len = 0;
	int ret;

	d->peers_path = g_build_filename(d->cfg.state_dir, "peers.json", NULL);
	if (!g_file_get_contents(d->peers_path, &data, &len, &gerr)) {
		if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return true;
		log_error("%s: %s", d->peers_path, gerr->message);
		return false;
	}
	ret = tund_peer_list_parse(&d->peers, data, len, why, sizeof(why));
	/* The text holds pre-shared keys, whether it parsed or not. */
	sodium_memzero(data, len);
	g_free(data);
	if (ret < 0) {
		log_error("%s: %s; refusing to start and leaving the file as it is",
			  d->peers_path, why);
		return false;
	}
	log_info("loaded %u peers from %s", d->peers.items->len, d->peers_path);
	return true;
}

int tund_daemon_save_peers(struct tund_daemon *d)
{
	size_t len;
	char *text = tund_peer_list_serialize(&d->peers, &len);
	int ret = tund_statefile_write(d->peers_path, text, len);

	/* The text holds pre-shared keys. */
	sodium_memzero(text, len);
	g_free(text);
	return ret;
}
