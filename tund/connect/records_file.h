/* SPDX-License-Identifier: MIT */
/* STATE_DIR/records-<network id>.json: the signed membership records
 * (overlay/record.h) a node holds for one network with an admin, so that
 * after a restart it knows who is a member, who is an admin and which
 * address each holds without waiting for the broker (or with none).
 *   {"version": 1, "records": ["<base64 of the 192-byte record>", ...]}
 * The file holds no secret (records are public statements), but every record
 * read back is checked again like one from the network: a file edited by
 * hand admits nobody without the admin's signature. */
#ifndef TUND_CONNECT_RECORDS_FILE_H
#define TUND_CONNECT_RECORDS_FILE_H

#include <glib.h>
#include <stddef.h>

/* The file's records as GBytes of TUND_RECORD_LEN each. 0; -ENOENT when there
 * is no file; -EINVAL (why says what) when it is not a records file, which the
 * caller leaves as it is; other -errno when it cannot be read. */
int tund_records_file_load(const char *path, GPtrArray **out, char *why, size_t why_len);
/* Writes raws (GBytes of TUND_RECORD_LEN) atomically, 0600. 0 or -errno. */
int tund_records_file_save(const char *path, GPtrArray *raws);

#endif
