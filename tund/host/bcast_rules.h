/* SPDX-License-Identifier: MIT */
/* Host plumbing that makes applications' broadcasts and multicasts reach the
 * TUN device, so that the data plane can fan them out (doc/broadcast.md):
 *   - a main-table route 224.0.0.0/4 out of the TUN, and a local-table
 *     "multicast ff00::/8" route on it with metric 128, which beats the
 *     kernel's metric-256 one on every IPv6 interface (a main-table ff00::/8
 *     route would never be consulted: the local table is looked up first);
 *   - nftables table "ip tund_IFNAME" whose output rule copies every limited
 *     broadcast (255.255.255.255) leaving by another interface to the TUN:
 *       ip daddr 255.255.255.255 oifname != "IFNAME"
 *           dup to 255.255.255.255 device "IFNAME"
 *     The copy keeps the LAN source address; the data plane rewrites it with
 *     tund_bcast_rewrite_source before sending it to peers.
 *   - for hosts without a default route, where sending to 255.255.255.255
 *     fails with ENETUNREACH before netfilter sees it: a route
 *     "255.255.255.255/32 dev IFNAME" in a table of its own
 *     (tund_bcast_rules_rt_table) and the rule "to 255.255.255.255 lookup
 *     THAT pref 32767", after main, so it applies only when main has no
 *     route (then limited broadcasts go to the overlay only).
 * Broadcasts to the overlay subnet's own broadcast address need nothing: the
 * address's prefix route already points at the TUN. */
#ifndef TUND_TUND_BCAST_RULES_H
#define TUND_TUND_BCAST_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Installs the routes and the table for the existing, up TUN ifname (letters,
 * digits, '-', '_', '.'). Idempotent: existing routes are kept, and a table
 * left by an earlier run is replaced in the same nftables transaction.
 * Returns 0, or -errno with why (why_len bytes; may be 0) set to a message
 * for the log (nftables' own error text when it refused the ruleset);
 * nothing is left installed on failure. */
int tund_bcast_rules_install(const char *ifname, char *why, size_t why_len);

/* Puts back the IPv4 routes (224.0.0.0/4 and the limited-broadcast one) on
 * ifname: the kernel flushes them with the TUN's last IPv4 address, so the
 * daemon calls this after adding one. Idempotent; 0 or -errno with why. */
int tund_bcast_rules_routes(const char *ifname, char *why, size_t why_len);

/* The routing table holding the fallback limited-broadcast route for
 * ifname: 0x7475xxxx, the low half a hash of the name. */
uint32_t tund_bcast_rules_rt_table(const char *ifname);

/* Deletes the nftables table, the rule and, when the device still exists,
 * the three routes. Absent pieces are fine; other tables, rules and routes
 * are never touched. */
void tund_bcast_rules_remove(const char *ifname);

/* The nftables table name for ifname ("tund_" + ifname), for tests and
 * messages; buf needs 5 + IFNAMSIZ bytes. Returns false for an invalid
 * ifname. */
bool tund_bcast_rules_table(const char *ifname, char *buf, size_t len);

#endif
