# sluice - build, run, stop, test, bench, install.
#
#   make run      install what is missing, build, start the local stack
#   make stop     stop everything `make run` started
#   make test     install what is missing, build, run every test
#   make bench    benchmarks (tests/bench/)
#   make install  PREFIX=/usr/local DESTDIR=...
#   make asan     the same binaries and unit tests under ASan/UBSan

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
OPT      ?= -O2
SAN      ?=

PKGS     := libpq jansson libsodium libcurl libmariadb
CPPFLAGS += -D_GNU_SOURCE -Iapp -Iapp/core $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
            -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CFLAGS   += -std=c11 $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing $(SAN)
LDFLAGS  += $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpq -ljansson -lsodium -lcurl) \
            -lfcgi -lmariadb -lcsv -lm -lpthread

VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GITREV   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPPFLAGS += -DSLUICE_VERSION='"$(VERSION)"' -DSLUICE_GITREV='"$(GITREV)"'

CORE_SRC := $(wildcard app/core/*.c) $(wildcard app/sync/*.c)
WEB_SRC  := $(filter-out app/web/main.c,$(wildcard app/web/*.c))
CLI_SRC  := $(filter-out app/cli/main.c,$(wildcard app/cli/*.c))

CORE_LIB := $(BUILD)/libsluice-core.a
WEB_LIB  := $(BUILD)/libsluice-web.a
CLI_LIB  := $(BUILD)/libsluice-cli.a
BINS     := bin/sluice-web bin/sluice

UNIT_SRC := $(wildcard tests/unit/check_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

.PHONY: all run stop test unit integration e2e fuzz bench install clean asan deps format
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(WEB_LIB): $(call obj,$(WEB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(CLI_LIB): $(call obj,$(CLI_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

bin/sluice-web: $(call obj,app/web/main.c) $(WEB_LIB) $(CORE_LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bin/sluice: $(call obj,app/cli/main.c) $(CLI_LIB) $(CORE_LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests may #include the .c they test; they link against every library.
$(BUILD)/tests/check_%: tests/unit/check_%.c $(WEB_LIB) $(CLI_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
	    -Wl,--start-group $(WEB_LIB) $(CLI_LIB) $(CORE_LIB) -Wl,--end-group \
	    $(LDLIBS) $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt)

.PHONY: units
units: $(UNIT_BIN)

deps:
	@scripts/deps.sh

run: deps all
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

test: deps all units
	@tests/run.sh

unit: all units
	@tests/run.sh unit

integration: all units
	@tests/run.sh integration

e2e: all
	@tests/run.sh e2e

fuzz:
	@tests/fuzz/run.sh $${FUZZ_SECONDS:-60}

bench: deps all
	@tests/bench/run.sh

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -Wno-format-truncation" \
	    all units
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    SLUICE_UNIT_DIR=build-asan/tests tests/run.sh unit

format:
	clang-format -i app/*/*.c app/*/*.h tests/unit/*.c tests/fuzz/*.c

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/sluice \
	    $(DESTDIR)$(PREFIX)/share/doc/sluice/examples
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	cp -R templates static sql $(DESTDIR)$(PREFIX)/share/sluice/
	install -m 0644 nginx/sluice.conf $(DESTDIR)$(PREFIX)/share/doc/sluice/examples/nginx-sluice.conf
	install -m 0644 docker/cron.d/sluice examples/sluice.conf \
	    $(DESTDIR)$(PREFIX)/share/doc/sluice/examples/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/sluice/

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
