/* SPDX-License-Identifier: MIT */
/* Files under state_dir: directory 0700, files 0600, replaced atomically. */
#ifndef TUND_STATEFILE_H
#define TUND_STATEFILE_H

#include <json-glib/json-glib.h>
#include <stddef.h>

/* Creates dir (and parents) if missing and makes it 0700. 0 or -errno. */
int tund_statefile_prepare_dir(const char *dir);
/* Writes data to path through path.tmp: write, fsync, rename, fsync dir.
 * The old file stays intact if anything fails. 0 or -errno. */
int tund_statefile_write(const char *path, const void *data, size_t len);
/* Writes root as pretty JSON the same way; the text is wiped afterwards (it
 * may hold keys). 0 or -errno. */
int tund_statefile_write_json(const char *path, JsonNode *root);

#endif
