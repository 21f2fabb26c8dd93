# Switchboard: one GNU Makefile, dependencies through pkg-config.
#   make          optimised build/switchboard and build/libswitchboard-client.a
#   make examples the programs of examples/*.c, built against include/ and the client library
#   make run      install missing packages, build, serve on 127.0.0.1:11200 with ./data
#   make test     install missing packages, run every test (ASan + UBSan build)
#   make bench    measure (bench/run.sh; BENCH_SIZES, BENCH_SECONDS, BENCH_PG_SIZE): build/bench/results.md
#   make fuzz     build the libFuzzer harnesses of fuzz/ (clang) and run each FUZZ_SECONDS (60)
#   make format   clang-format every C file (make test fails on a file it would change)
#   make install  PREFIX (/usr/local), DESTDIR: binary, client library, header, pkg-config file,
#                 man pages, completions, systemd unit, logrotate file, example configuration
#   make uninstall the same files, removed
#   make deb      build/deb/switchboard_VERSION_ARCH.deb with dpkg-deb (scripts/deb.sh)
#   make clean

CC       ?= cc
PKGS     := libmicrohttpd jansson sqlite3 libsodium libpq libmariadb libcurl inih libidn2
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

# the console's files, embedded into the binary by a generated C source
CONSOLE_FILES := $(shell find console -type f | sort)
CONSOLE_GEN   := build/gen/console_files.c
# the store's statements: SQL in src/store/statements.sql, made into the table store_stmts
STMTS_GEN     := build/gen/store_statements.c
SRCS      := $(shell find src -name '*.c' | sort) $(CONSOLE_GEN) $(STMTS_GEN)
# a file removed from console/ must regenerate the source too: the list is a prerequisite
$(shell mkdir -p build/gen && echo '$(CONSOLE_FILES)' | cmp -s - build/gen/console_files.list || \
        echo '$(CONSOLE_FILES)' > build/gen/console_files.list)
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
OBJS      := $(SRCS:%.c=build/obj/%.o)
TEST_OBJS := $(SRCS:%.c=build/test/obj/%.o)
TEST_LIB_OBJS := $(LIB_SRCS:%.c=build/test/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/test/unit/%)

# the client library: the public header include/switchboard/client.h and what implements it
CLIENT_PKGS     := libcurl jansson
CLIENT_LIB      := build/libswitchboard-client.a
CLIENT_LIB_OBJS := build/obj/src/client/client.o
EXAMPLE_SRCS    := $(wildcard examples/*.c)
EXAMPLE_BINS    := $(EXAMPLE_SRCS:examples/%.c=build/examples/%)

VERSION  := $(shell sed -n 's/^\#define SB_VERSION "\(.*\)"/\1/p' src/usage.h)

.PHONY: format-check all run test bench unit-bins test-bin examples clean format deps fuzz fuzz-bins \
        install uninstall man deb

all: build/switchboard $(CLIENT_LIB) man

$(CLIENT_LIB): $(CLIENT_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

examples: $(EXAMPLE_BINS)

# only the public header and the library: what a program outside this repository would use
build/examples/%: examples/%.c $(CLIENT_LIB) include/switchboard/client.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -Iinclude $(OPT_CFLAGS) $(shell pkg-config --cflags $(CLIENT_PKGS)) \
	    -o $@ $< $(CLIENT_LIB) $(shell pkg-config --libs $(CLIENT_PKGS))

$(CONSOLE_GEN): $(CONSOLE_FILES) build/gen/console_files.list scripts/embed_console.sh
	scripts/embed_console.sh $@ $(CONSOLE_FILES)

# (a statement without an id of enum stmt_id, or an id without its statement, fails here)
$(STMTS_GEN): src/store/statements.sql src/store/backend.h scripts/statements.awk
	@mkdir -p $(dir $@)
	awk -f scripts/statements.awk src/store/backend.h src/store/statements.sql >$@.tmp || \
	    { rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

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
unit-bins: $(UNIT_BINS) build/test/powercut.so

# the power-cut shim of the durability tests (tests/powercut.c), preloaded into the server
build/test/powercut.so: tests/powercut.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -fPIC -shared -o $@ $< -ldl -lpthread

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build/switchboard
	mkdir -p -m 700 data
	exec build/switchboard serve --listen 127.0.0.1:11200 --data-dir ./data

test: deps
	@tests/run.sh

bench: deps
	@bench/run.sh

build/bench/sqlite_commit: bench/sqlite_commit.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -O2 $(shell pkg-config --cflags sqlite3) -o $@ $< $(shell pkg-config --libs sqlite3)

build/bench/mhd_bare: bench/mhd_bare.c src/util/limits.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -Isrc -O2 $(shell pkg-config --cflags libmicrohttpd) -o $@ $< $(shell pkg-config --libs libmicrohttpd) -lpthread

# libFuzzer harnesses: src/ compiled by clang with the sanitizers and coverage, without main.c;
# fuzz/run.sh runs them (crashes land in fuzz/crashes/NAME/)
FUZZ_CC       := clang
FUZZ_SECONDS  ?= 60
FUZZ_CFLAGS   := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SRCS     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS     := $(FUZZ_SRCS:fuzz/%.c=build/fuzz/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)

# (the objects are named here so that make keeps them: not intermediate files)
fuzz-bins: $(FUZZ_BINS) $(FUZZ_LIB_OBJS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-bins
	@fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# src/ is held to -Werror by the gcc builds; clang's own extra warnings do not stop fuzzing
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) -Wno-error $(DEFS) $(INCS) $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/fuzz/%: fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(DEFS) $(INCS) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_OBJS) $(PKG_LIBS)

# ---- installation ----
# The man pages are printed by the binary from the same tables as --help (src/usage.c).
MAN_PAGES := build/man/switchboard.1 build/man/switchboard.conf.5
man: $(MAN_PAGES)

build/man/%: build/switchboard
	@mkdir -p $(dir $@)
	build/switchboard manpage $* >$@.tmp && mv $@.tmp $@

build/switchboard-client.pc: Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	    'Name: switchboard-client' \
	    'Description: C client library of the Switchboard connections server' \
	    'Version: $(VERSION)' 'Requires: $(CLIENT_PKGS)' \
	    'Libs: -L$${libdir} -lswitchboard-client' 'Cflags: -I$${includedir}' >$@

build/completion/switchboard.bash build/completion/_switchboard: build/switchboard
	@mkdir -p $(dir $@)
	build/switchboard completion bash >build/completion/switchboard.bash
	build/switchboard completion zsh >build/completion/_switchboard

PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
BINDIR      := $(PREFIX)/bin
LIBDIR      := $(PREFIX)/lib
INCLUDEDIR  := $(PREFIX)/include
MANDIR      := $(PREFIX)/share/man
DOCDIR      := $(PREFIX)/share/doc/switchboard
UNITDIR     ?= $(PREFIX)/lib/systemd/system
INSTALLED := $(BINDIR)/switchboard $(LIBDIR)/libswitchboard-client.a \
             $(INCLUDEDIR)/switchboard/client.h $(LIBDIR)/pkgconfig/switchboard-client.pc \
             $(MANDIR)/man1/switchboard.1 $(MANDIR)/man5/switchboard.conf.5 \
             $(PREFIX)/share/bash-completion/completions/switchboard \
             $(PREFIX)/share/zsh/site-functions/_switchboard \
             $(UNITDIR)/switchboard.service $(SYSCONFDIR)/logrotate.d/switchboard \
             $(DOCDIR)/switchboard.conf.example $(DOCDIR)/DEPLOYMENT.md $(DOCDIR)/UPGRADING.md

# (the pkg-config file names PREFIX: it is made again for each install)
install: all build/completion/switchboard.bash build/completion/_switchboard
	@rm -f build/switchboard-client.pc
	@$(MAKE) --no-print-directory build/switchboard-client.pc PREFIX=$(PREFIX)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/switchboard \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 build/switchboard $(DESTDIR)$(BINDIR)/switchboard
	install -m 0644 $(CLIENT_LIB) $(DESTDIR)$(LIBDIR)/libswitchboard-client.a
	install -m 0644 include/switchboard/client.h $(DESTDIR)$(INCLUDEDIR)/switchboard/client.h
	install -m 0644 build/switchboard-client.pc $(DESTDIR)$(LIBDIR)/pkgconfig/switchboard-client.pc
	install -m 0644 build/man/switchboard.1 $(DESTDIR)$(MANDIR)/man1/switchboard.1
	install -m 0644 build/man/switchboard.conf.5 $(DESTDIR)$(MANDIR)/man5/switchboard.conf.5
	install -m 0644 build/completion/switchboard.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/switchboard
	install -m 0644 build/completion/_switchboard $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_switchboard
	sed -e 's|/usr/local/bin/switchboard|$(BINDIR)/switchboard|' \
	    -e 's|/usr/local/share/doc/switchboard|$(DOCDIR)|' contrib/switchboard.service \
	    >$(DESTDIR)$(UNITDIR)/switchboard.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/switchboard.service
	install -m 0644 contrib/switchboard.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/switchboard
	install -m 0644 contrib/switchboard.conf $(DESTDIR)$(DOCDIR)/switchboard.conf.example
	install -m 0644 docs/DEPLOYMENT.md docs/UPGRADING.md $(DESTDIR)$(DOCDIR)

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/switchboard $(DESTDIR)$(DOCDIR) 2>/dev/null

deb: all build/completion/switchboard.bash build/completion/_switchboard
	scripts/deb.sh

FORMAT_FILES = $(sort $(shell find src tests include examples -name node_modules -prune -o \( -name '*.h' -o -name '*.c' \) -print))

format:
	clang-format -i $(FORMAT_FILES)

# what make test checks: every C file as clang-format would write it (make format fixes it)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d)
