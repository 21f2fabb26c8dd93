# Switchboard: one GNU Makefile, dependencies through pkg-config.
#   make          optimised build/switchboard and build/libswitchboard-client.a
#   make examples the programs of examples/*.c, built against include/ and the client library
#   make run      install missing packages, build, serve on 127.0.0.1:11200 with ./data
#   make test     install missing packages, run every test (ASan + UBSan build)
#   make bench    measure (bench/run.sh; BENCH_SIZES, BENCH_SECONDS): table in build/bench/results.md
#   make format   clang-format every C file
#   make clean

CC       ?= cc
PKGS     := libmicrohttpd jansson sqlite3 libsodium libpq libmariadb libcurl
WARN     := -std=c11 -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wvla -Werror
DEFS     := -D_GNU_SOURCE
INCS     := -Isrc -Iinclude
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread

OPT_CFLAGS  := -O2 -g -DNDEBUG
TEST_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
TEST_LDFLAGS := -fsanitize=address,undefined

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
OBJS      := $(SRCS:%.c=build/obj/%.o)
TEST_OBJS := $(SRCS:%.c=build/test/obj/%.o)
TEST_LIB_OBJS := $(LIB_SRCS:%.c=build/test/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/test/unit/%)

# the client library: the public header include/switchboard/client.h and what implements it
CLIENT_PKGS     := libcurl jansson
CLIENT_LIB      := build/libswitchboard-client.a
CLIENT_LIB_OBJS := build/obj/src/client/client.o build/obj/src/util/mem.o
EXAMPLE_SRCS    := $(wildcard examples/*.c)
EXAMPLE_BINS    := $(EXAMPLE_SRCS:examples/%.c=build/examples/%)

.PHONY: all run test bench unit-bins test-bin examples clean format deps

all: build/switchboard $(CLIENT_LIB)

$(CLIENT_LIB): $(CLIENT_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

examples: $(EXAMPLE_BINS)

# only the public header and the library: what a program outside this repository would use
build/examples/%: examples/%.c $(CLIENT_LIB) include/switchboard/client.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -Iinclude $(OPT_CFLAGS) $(shell pkg-config --cflags $(CLIENT_PKGS)) \
	    -o $@ $< $(CLIENT_LIB) $(shell pkg-config --libs $(CLIENT_PKGS))

build/switchboard: $(OBJS)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(INCS) $(OPT_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/test/switchboard: $(TEST_OBJS)
	$(CC) $(TEST_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/test/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(INCS) $(TEST_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/test/unit/%: tests/unit/%.c $(TEST_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(INCS) $(TEST_CFLAGS) $(PKG_CFLAGS) \
	    $(shell pkg-config --cflags cmocka) -o $@ $< $(TEST_LIB_OBJS) \
	    $(TEST_LDFLAGS) $(PKG_LIBS) $(shell pkg-config --libs cmocka)

test-bin: build/test/switchboard
unit-bins: $(UNIT_BINS)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build/switchboard
	mkdir -p data
	exec build/switchboard serve --listen 127.0.0.1:11200 --data-dir ./data

test: deps
	@tests/run.sh

bench: deps
	@bench/run.sh

build/bench/sqlite_commit: bench/sqlite_commit.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -O2 $(shell pkg-config --cflags sqlite3) -o $@ $< $(shell pkg-config --libs sqlite3)

format:
	clang-format -i $(SRCS) $(shell find src tests include examples -name '*.h' -o -name '*.c' | sort -u)

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d)
