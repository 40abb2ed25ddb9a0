# jwtx — build, test, run and benchmark.
#
#   make            build lib/libjwtx.a, tools/jwtx and the cgi-bin programs
#   make install    install them, jwtx.pc, the recipes, the man pages and the
#                   systemd units under PREFIX (DESTDIR= for a staging root)
#   make deb        build the Debian packages (debhelper) into build/deb/
#   make test       install missing Debian packages, build, run every test suite
#   make run        serve the demo with lighttpd on http://127.0.0.1:$(PORT),
#                   run state (lighttpd.conf, sockets, logs) in $(RUN)
#   make bench      sign/verify throughput against a direct OpenSSL baseline,
#                   the revocation check with 10^6 entries (per check, end to
#                   end, refresh-token rotation off and on) and a protected
#                   route under a /login flood
#
# Objects go under build/<variant>/; the sanitizer variant (SAN=1) builds a
# separate copy of the library and unit tests under build/asan/.

PORT ?= 5000
CONF ?= conf/jwtx.conf
RUN ?= run
PREFIX ?= /usr/local
# The install layout; every directory can be overridden (debian/rules does).
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
PROGDIR ?= $(PREFIX)/lib/jwtx
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share/jwtx
# The JSON bodies of the web servers' own error answers, which the recipes
# point at (var.jwtx_errors, JWTX_ERRORS, @ERRORS@).
ERRORSDIR ?= $(DATADIR)/errors
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
CC ?= cc
# The one place the version is written: VERSION (jwtx --version, jwtx.pc,
# debian/changelog is checked against it by the deb suite).
VERSION := $(shell cat VERSION)

PKGS_CFLAGS :=
LDLIBS := -lssl -lcrypto -ljansson -lfcgi -lsqlite3 -lhiredis -lcrypt -lm

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) $(HARDEN)

ifeq ($(SAN),1)
O := build/asan
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
ARCHIVE := $(O)/libjwtx.a
else
O := build/rel
OPT := -O2 -g
ARCHIVE := lib/libjwtx.a
endif
CFLAGS ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
ALL_LDFLAGS := $(OPT) $(LDFLAGS)

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOL_OBJ := $(TOOL_SRC:%.c=$(O)/%.o)
CGI_SRC := $(sort $(wildcard cgi-bin/*.c))
CGI_BIN := $(CGI_SRC:%.c=%.fcgi)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
HEADERS := $(wildcard include/jwtx/*.h) $(wildcard lib/*.h) $(wildcard tests/unit/*.h)

.PHONY: all build deps test unit unit-asan integration run bench clean install format check-exports fuzz deb
.DEFAULT_GOAL := all

all: deps build

# The build alone, without installing Debian packages (what install and the
# Debian package build use).
build: $(ARCHIVE) tools/jwtx $(CGI_BIN)

deps:
	@tools/deps.sh

$(O)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(ARCHIVE): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The version reaches the tool through one object.
$(O)/tools/jwtx.o: VERSION
$(O)/tools/jwtx.o: ALL_CFLAGS += -DJWTX_VERSION='"$(VERSION)"'

tools/jwtx: $(TOOL_OBJ) $(ARCHIVE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJ) $(ARCHIVE) $(LDLIBS)

cgi-bin/%.fcgi: $(O)/cgi-bin/%.o $(ARCHIVE)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(ARCHIVE) $(LDLIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(ARCHIVE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $< $(ARCHIVE) -lcunit $(LDLIBS)

# The store conformance driver (tests/suites/41-sessions-store.sh): the same
# session-family scenarios against any store URL, public API only.
$(O)/tests/store_conformance: tests/integration/store_conformance.c $(ARCHIVE) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(ARCHIVE) $(LDLIBS)

# test_wipe looks into every block the library frees: its free() calls go
# through the test's __wrap_free.
$(O)/tests/test_wipe: TEST_LDFLAGS := -Wl,--wrap=free

# Unit tests: one CUnit program per module.
unit: $(UNIT_BIN)
	@tests/run-unit.sh $(O)/tests $(UNIT_BIN)

unit-asan:
	@$(MAKE) --no-print-directory SAN=1 unit

check-exports: $(ARCHIVE)
	@tests/check-exports.sh $(ARCHIVE)

test: all
	@tests/run-all.sh

integration: all
	@tests/run-integration.sh

run: all
	@exec tools/run-demo.sh "$(CONF)" "$(PORT)" "$(RUN)"

bench: all
	@$(MAKE) --no-print-directory -C tests/bench ARCHIVE=$(CURDIR)/lib/libjwtx.a

# libFuzzer targets (clang, ASan+UBSan), each run FUZZ_SECONDS (60); see tests/fuzz/Makefile.
fuzz: deps
	@$(MAKE) --no-print-directory -C tests/fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs in PROGDIR, the
# tool, the library, headers and jwtx.pc, the recipes (the fail2ban filter and
# jails too) and the example conf in
# DATADIR (with the JSON error files in ERRORSDIR, the demo site, www/: the login page, the protected folders the
# recipes name and the example CGI program), the man pages, and the systemd units (with the install paths filled
# in). The recipes are templates: their @...@ placeholders and Define/var
# lines are for the reader to fill in (see docs), except jwtx-authorizer.sh,
# whose two paths are known here and are filled in.
SUBST = sed -e 's|@PROGDIR@|$(PROGDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g' -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@LIBS@|$(LDLIBS)|g'
RECIPES := $(wildcard conf/apache/*.conf conf/apache/*.htaccess conf/apache/*.sh.in \
	conf/lighttpd/jwtx.conf conf/lighttpd/jwtx-cgi.conf conf/nginx/*.conf conf/nginx/*.conf.in \
	conf/fail2ban/filter.d/jwtx.conf conf/fail2ban/jail.d/jwtx.local)
MAN_PAGES := man/jwtx.1 man/jwtx.conf.5 man/jwtx-fcgi.8

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PROGDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/jwtx $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(DATADIR)/apache $(DESTDIR)$(DATADIR)/lighttpd $(DESTDIR)$(DATADIR)/nginx \
		$(DESTDIR)$(DATADIR)/fail2ban/filter.d $(DESTDIR)$(DATADIR)/fail2ban/jail.d \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 tools/jwtx $(DESTDIR)$(BINDIR)/jwtx
	install -m 0755 $(CGI_BIN) $(DESTDIR)$(PROGDIR)/
	$(SUBST) tools/jwtx-serve > $(DESTDIR)$(PROGDIR)/jwtx-serve
	chmod 0755 $(DESTDIR)$(PROGDIR)/jwtx-serve
	install -m 0644 $(ARCHIVE) $(DESTDIR)$(LIBDIR)/libjwtx.a
	install -m 0644 include/jwtx/*.h $(DESTDIR)$(INCLUDEDIR)/jwtx/
	$(SUBST) jwtx.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/jwtx.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/jwtx.pc
	for f in $(RECIPES); do install -m 0644 $$f $(DESTDIR)$(DATADIR)/$${f#conf/}; done
	sed -e "s|@CONF@|$(SYSCONFDIR)/jwtx/jwtx.conf|g" -e "s|@BIN@|$(PROGDIR)|g" \
		conf/apache/jwtx-authorizer.sh.in > $(DESTDIR)$(DATADIR)/apache/jwtx-authorizer.sh
	chmod 0755 $(DESTDIR)$(DATADIR)/apache/jwtx-authorizer.sh
	install -m 0644 conf/jwtx.conf.example $(DESTDIR)$(DATADIR)/jwtx.conf.example
	install -d $(DESTDIR)$(ERRORSDIR)
	install -m 0644 conf/errors/*.html conf/errors/README.md $(DESTDIR)$(ERRORSDIR)/
	cd conf/demo-www && find . -type f | while read -r f; do \
		install -D -m $$(if [ -x "$$f" ]; then echo 0755; else echo 0644; fi) \
			"$$f" "$(DESTDIR)$(DATADIR)/www/$$f" || exit 1; done
	install -m 0644 man/jwtx.1 $(DESTDIR)$(MANDIR)/man1/jwtx.1
	install -m 0644 man/jwtx.conf.5 $(DESTDIR)$(MANDIR)/man5/jwtx.conf.5
	install -m 0644 man/jwtx-fcgi.8 $(DESTDIR)$(MANDIR)/man8/jwtx-fcgi.8
	$(SUBST) systemd/jwtx@.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/jwtx@.service
	$(SUBST) systemd/jwtx@.socket.in > $(DESTDIR)$(SYSTEMDUNITDIR)/jwtx@.socket
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/jwtx@.service $(DESTDIR)$(SYSTEMDUNITDIR)/jwtx@.socket

# The Debian packages jwtx and libjwtx-dev (debian/), built from a copy of the
# sources into build/deb/.
deb: deps
	@tools/make-deb.sh

format:
	clang-format -i include/jwtx/*.h lib/*.c lib/*.h tools/*.c cgi-bin/*.c tests/unit/*.c tests/unit/*.h 2>/dev/null || true

clean:
	rm -rf build lib/libjwtx.a tools/jwtx cgi-bin/*.fcgi
