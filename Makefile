# jwtx — build, test, run and benchmark.
#
#   make            build lib/libjwtx.a, tools/jwtx and the cgi-bin programs
#   make test       install missing Debian packages, build, run every test suite
#   make run        serve the demo with lighttpd on http://127.0.0.1:$(PORT),
#                   run state (lighttpd.conf, sockets, logs) in $(RUN)
#   make bench      sign/verify throughput against a direct OpenSSL baseline, and
#                   the revocation check with 10^6 entries (per check, end to end)
#
# Objects go under build/<variant>/; the sanitizer variant (SAN=1) builds a
# separate copy of the library and unit tests under build/asan/.

PORT ?= 5000
CONF ?= conf/jwtx.conf
RUN ?= run
PREFIX ?= /usr/local
CC ?= cc

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

.PHONY: all deps test unit unit-asan integration run bench clean install format check-exports fuzz
.DEFAULT_GOAL := all

all: deps $(ARCHIVE) tools/jwtx $(CGI_BIN)

deps:
	@tools/deps.sh

$(O)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(ARCHIVE): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

tools/jwtx: $(TOOL_OBJ) $(ARCHIVE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJ) $(ARCHIVE) $(LDLIBS)

cgi-bin/%.fcgi: $(O)/cgi-bin/%.o $(ARCHIVE)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(ARCHIVE) $(LDLIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(ARCHIVE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $< $(ARCHIVE) -lcunit $(LDLIBS)

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

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/jwtx $(DESTDIR)$(PREFIX)/include/jwtx
	install -m 0755 tools/jwtx $(DESTDIR)$(PREFIX)/bin/jwtx
	install -m 0755 $(CGI_BIN) $(DESTDIR)$(PREFIX)/lib/jwtx/
	install -m 0644 lib/libjwtx.a $(DESTDIR)$(PREFIX)/lib/libjwtx.a
	install -m 0644 include/jwtx/*.h $(DESTDIR)$(PREFIX)/include/jwtx/

format:
	clang-format -i include/jwtx/*.h lib/*.c lib/*.h tools/*.c cgi-bin/*.c tests/unit/*.c tests/unit/*.h 2>/dev/null || true

clean:
	rm -rf build lib/libjwtx.a tools/jwtx cgi-bin/*.fcgi
