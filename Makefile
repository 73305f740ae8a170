# SPDX-License-Identifier: MIT
# tund build. `make` builds build/tund and build/tundctl; `make check` installs
# dependencies, runs unit tests under ASan+UBSan, fuzzers briefly, then the
# namespace integration tests, each tier held to tests/list (tests/check.sh).

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
PKG_CONFIG ?= pkg-config
CC ?= gcc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 15

PKGS := glib-2.0 gio-2.0 json-glib-1.0 libsodium libcrypto libmnl nice libmosquitto libnftables miniupnpc
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lnatpmp -lpthread
# tundctl needs only these: no libnice, libmosquitto, libnftables or libmnl
# (libcrypto: overlay/aead_openssl.c, linked with the protocol core).
CTL_PKGS := glib-2.0 json-glib-1.0 libsodium libcrypto
CTL_LIBS = $(shell $(PKG_CONFIG) --libs $(CTL_PKGS) 2>/dev/null) -lm -lpthread

CFLAGS ?= -O2 -g
WARN := -std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Werror
HARDEN := -fstack-protector-strong -fPIE
override CFLAGS += $(WARN) $(HARDEN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS ?=
override LDFLAGS += -pie -Wl,-z,relro,-z,now

# Everything but the two mains is library code shared by the daemon, the CLI,
# the unit tests and the fuzz targets.
LIB_SRC := $(wildcard overlay/*.c) $(wildcard netlink/*.c) \
	$(wildcard tund/*/*.c)
CTL_SRC := $(wildcard ctl/*.c)
# tundctl's parts without main(): also linked into the unit tests.
CTL_LIB_SRC := ctl/format.c ctl/args.c ctl/client.c ctl/ice.c
UNIT_SRC := $(wildcard tests/unit/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

B := build
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
OVERLAY_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard overlay/*.c))
SAN_OBJ := $(LIB_SRC:%.c=$(B)/san/%.o)

ifeq ($(V),1)
Q :=
else
Q := @
endif

all: $(B)/tund $(B)/tundctl

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -D_FORTIFY_SOURCE=2 -c -o $@ $<

$(B)/libtund.a: $(LIB_OBJ)
	$(Q)$(AR) rcs $@ $^

$(B)/tund: $(B)/obj/tund/main.o $(B)/libtund.a
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

# The protocol core alone: what tundctl links.
$(B)/liboverlay.a: $(OVERLAY_OBJ)
	$(Q)$(AR) rcs $@ $^

$(B)/tundctl: $(CTL_SRC:%.c=$(B)/obj/%.o) $(B)/liboverlay.a
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(CTL_LIBS)

# Unit tests: one binary, ASan + UBSan, no optimisation surprises.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

# The document check reads doc/ from this tree, wherever the tests run, and the
# error-convention guard its sources.
$(B)/san/tests/unit/test_control_proto.o: CFLAGS += -DTUND_TOP='"$(CURDIR)"'
# And the check that tund/ attaches sources only through daemon/loop.h reads tund/.
$(B)/san/tests/unit/test_loop.o: CFLAGS += -DTUND_TOP='"$(CURDIR)"'
$(B)/san/tests/unit/test_errconv.o: CFLAGS += -DTUND_TOP='"$(CURDIR)"'

$(B)/unit-tests: $(UNIT_SRC:%.c=$(B)/san/%.o) $(SAN_OBJ) $(CTL_LIB_SRC:%.c=$(B)/san/%.o)
	$(Q)$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)

# Helpers the namespace tests run, one program each: tests/netns/NAME_probe.c
# -> build/NAME_probe (nl: netlink/; netcheck, mqtt, ice, beacon, bcast: the
# tund/ module of that name; offload: overlay/offload.c; flood: random
# datagrams and spoofed handshakes; beacon_forge: forged and old beacons). -MMD lists the headers as prerequisites
# too: link only the .c and the library.
$(B)/%_probe: tests/netns/%_probe.c $(B)/libtund.a
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS)

unit: $(B)/unit-tests
	$(B)/unit-tests

# libFuzzer targets: tests/fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
# TUND_FUZZING: the fuzz build's libtund skips MAC, AEAD-tag and signature
# checks (overlay/fuzzing.h), so mutated inputs reach the fields behind them.
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DTUND_FUZZING -I. $(PKG_CFLAGS) $(FUZZ_FLAGS)
$(B)/fz/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/fz/libtund.a: $(LIB_SRC:%.c=$(B)/fz/%.o)
	$(Q)$(AR) rcs $@ $^

$(B)/fuzz/%: $(B)/fz/tests/fuzz/%.o $(B)/fz/libtund.a
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz: $(FUZZ_BIN)

# Regenerates the invite, signal and beacon seeds (sealed with tests/fuzz/signal_keys.h).
$(B)/fuzz-seeds: tests/fuzz/gen_seeds.c $(B)/libtund.a
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

fuzz-seeds: $(B)/fuzz-seeds
	$(B)/fuzz-seeds tests/fuzz/corpus

fuzz-run: fuzz
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

deps:
	packaging/install-deps.sh

# Helper programs the namespace tests run (wg_core_probe is built by its test).
TEST_PROBES := $(patsubst tests/netns/%.c,$(B)/%,$(filter-out tests/netns/wg_core_probe.c,\
	$(wildcard tests/netns/*_probe.c)))

# make bench's latency yardstick (tests/bench/floor_fwd.c); built by check too,
# so that it keeps compiling.
$(B)/floor_fwd: tests/bench/floor_fwd.c
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(PKG_LIBS)

# The transport AEAD's backends per packet size (tests/bench/aead_bench.c),
# for make bench; built by check too.
$(B)/aead_bench: tests/bench/aead_bench.c $(B)/libtund.a
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS)

# The seal/open pipeline with 0, 1 and 2 crypto workers (tests/bench/pool_bench.c),
# for make bench; built by check too.
$(B)/pool_bench: tests/bench/pool_bench.c $(B)/libtund.a
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS)

# coturn's own ceiling for the relay rows of paths.sh (tests/bench/turn_probe.c),
# for make bench; built by check too.
$(B)/turn_probe: tests/bench/turn_probe.c $(B)/libtund.a
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDFLAGS) $(PKG_LIBS)

# make check builds on every core unless given -j itself (make -jN check).
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: deps
	$(MAKE) $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS)) all unit-build fuzz $(TEST_PROBES) $(B)/floor_fwd $(B)/aead_bench $(B)/pool_bench \
		$(B)/turn_probe
	tests/check.sh

unit-build: $(B)/unit-tests

# Compares the tests that exist with tests/list, running none of them.
check-list: $(B)/unit-tests
	tests/check.sh --list

integration: all
	tests/netns/run.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/tund $(DESTDIR)$(SBINDIR)/tund
	install -m 0755 $(B)/tundctl $(DESTDIR)$(BINDIR)/tundctl

# Debian package build/tund_VERSION_ARCH.deb (packaging/deb/build.sh).
deb: all
	packaging/deb/build.sh $(B)

bench: deps
	tests/bench/bench.sh

# N members of one network on one machine (SCALE_N=50, see the script's header).
scale: all
	tests/bench/scale.sh
.PHONY: scale

demo: deps all
	tests/demo.sh

clean:
	rm -rf $(B)

.PHONY: deb bench all unit unit-build check-list fuzz fuzz-run fuzz-seeds deps check integration install demo clean

# build/pkg holds the package test's Debian tree, whose *.d are not ours.
-include $(shell find $(B) -path $(B)/pkg -prune -o -name '*.d' -type f -print 2>/dev/null)
