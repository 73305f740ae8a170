/* SPDX-License-Identifier: MIT */
/* The fuzzing build switch. The fuzz targets' copy of the code is compiled
 * with -DTUND_FUZZING (Makefile), and there every authentication check of a
 * parser of network bytes (MAC, AEAD tag, signature) passes, so libFuzzer's
 * mutations reach the fields behind them instead of dying at the check.
 * Never defined in the daemon, tundctl or the unit tests. */
#ifndef TUND_OVERLAY_FUZZING_H
#define TUND_OVERLAY_FUZZING_H

#ifdef TUND_FUZZING
#define TUND_FUZZING_BUILD 1
#else
#define TUND_FUZZING_BUILD 0
#endif

#endif
