# promptpix: see README.md. `make run` for a demo, `make test` for the suite.

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c17 -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes \
	   -Wshadow -Wwrite-strings -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE $(shell pkg-config --cflags libmariadb json-c)
CPPFLAGS += $(shell pkg-config --cflags libcurl)
LIBS	 = -lfcgi $(shell pkg-config --libs libmariadb) -lcrypto \
	   $(shell pkg-config --libs json-c) -linih -lgd -lpthread -lm
LIBS	+= $(shell pkg-config --libs libcurl)
ifneq ($(WERROR),)
WARN	+= -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS	+= -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=$(SANITIZE)
endif

BUILD	?= build
PORT	?= 8080
# The demo's web server: nginx, apache (mod_proxy_fcgi) or fcgid (mod_fcgid).
FRONT	?= nginx
# An INI file whose settings the demo lays over its own (make run CONF=...).
CONF	?=
# The demo's backend: placeholder, or fal-standin (the fal.ai code path
# against the local stand-in of the tests: no key, no network).
BACKEND	?= placeholder
# Where the demo keeps images: local ([store] dir), or s3 (a bucket of
# the local S3 server the tests use, Swift with s3api, under var/).
STORE	?= local

# The sources under fcgi/, a family a folder (see the source layout in
# HACKING.md): the request path and the generation workers at the top;
# db/ the database; backend/ the image generators and what they fetch
# and store; pages/ the pages for people and the stats; cli/ the
# commands; lib/ the pure code below them all: helpers, and the tables
# that threads and processes share in memory. Every folder is on the
# include path, so a header is named by its file name alone.
FAMILIES = . db backend pages cli lib
# The pure modules: no network, no database, no threads of their own
# but the parked requests' (files, yes: cfg.c reads the config, store.c
# writes the image store), so each is unit-tested on its own.
PURE	 = lib/util.c lib/log.c lib/text.c lib/req.c lib/hash.c lib/cfg.c \
	   lib/cfgcheck.c lib/ratelimit.c lib/metrics.c lib/token.c \
	   lib/result.c lib/outcome.c lib/uri.c lib/sign.c lib/s3sign.c \
	   lib/hbuf.c lib/schema.c lib/similar.c lib/flight.c lib/park.c \
	   lib/hitcache.c lib/statcache.c lib/counts.c lib/rollup.c \
	   lib/hostwait.c backend/store.c backend/falparse.c \
	   backend/urlpolicy.c cli/warmlist.c cli/progress.c pages/html.c \
	   pages/svg.c pages/form.c
SRCS	 = $(PURE) \
	   main.c accept.c supervise.c request.c page.c image.c access.c \
	   gen.c alias.c runner.c calls.c leaser.c waker.c \
	   db/db.c db/dbsql.c db/dbrow.c db/dbqueue.c db/dbstats.c \
	   db/dbkeys.c db/dbbudget.c db/dbsimilar.c db/dbcalls.c \
	   db/dbhistory.c db/dbcheck.c db/dbpool.c db/ballot.c \
	   backend/backend.c backend/placeholder.c backend/fal.c \
	   backend/falapi.c backend/falwait.c backend/httpc.c backend/s3.c \
	   backend/imgstore.c \
	   pages/home.c pages/dashboard.c pages/dashauth.c \
	   pages/dashcharts.c pages/history.c pages/stats.c pages/layout.c \
	   pages/pageutil.c pages/jsonout.c \
	   cli/cli.c cli/keycmd.c cli/warmcmd.c cli/simcmd.c cli/storecmd.c
HDRS	 = $(wildcard $(FAMILIES:%=fcgi/%/*.h))
CPPFLAGS += $(FAMILIES:%=-Ifcgi/%)
OBJS	 = $(SRCS:%.c=$(BUILD)/obj/%.o)
PURE_OBJS = $(PURE:%.c=$(BUILD)/obj/%.o)
UNIT	 = $(BUILD)/unit_tests

all: $(BUILD)/promptpix sql/install.sql $(BUILD)/s3cli

# The whole schema in one file for a hosting panel's import, made from
# the numbered migrations by the same script that applies them
# (tests/e2e/test_deploy.py checks the committed file is current).
MIGRATIONS = $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))
ROUTINES = $(sort $(wildcard sql/R__*.sql))
sql/install.sql: sql/migrate.sh $(MIGRATIONS) $(ROUTINES)
	sh sql/migrate.sh --one-file > $@.tmp && mv $@.tmp $@

# make test, check, run and start install what is missing first
# (.ci/deps.sh), so that each works alone on a fresh Debian 12: the
# compiler and the libraries come from there, so with these goals every
# compile waits for deps (order-only: it never makes a file out of date,
# and it keeps its place under make -j). Plain make installs nothing.
DEPS_GOALS = test check run start
ifneq ($(filter $(DEPS_GOALS),$(MAKECMDGOALS)),)
DEPS_FIRST = deps
endif

$(BUILD)/obj/%.o: fcgi/%.c $(HDRS) | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/promptpix: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(UNIT): tests/unit/*.c tests/unit/*.h $(PURE_OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-field-initializers \
	    -o $@ tests/unit/*.c \
	    $(PURE_OBJS) $(LDFLAGS) $(LIBS)

# A test helper, not a command of the product: the S3 client driven
# from the command line (tests/s3cli.c) by tests/e2e/test_s3client.py.
S3CLI_OBJS = $(PURE_OBJS) $(BUILD)/obj/backend/httpc.o $(BUILD)/obj/backend/s3.o
$(BUILD)/s3cli: tests/s3cli.c $(S3CLI_OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ tests/s3cli.c \
	    $(S3CLI_OBJS) $(LDFLAGS) $(LIBS)

$(BUILD)/bare: tests/bench/bare.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ tests/bench/bare.c -lfcgi -lpthread

unit: $(UNIT)
	$(UNIT)

# make test: the whole suite on the plain build, then again on an
# ASan+UBSan build in $(SAN_BUILD) (see "Sanitizers" below). Both
# install what is missing first (deps, above).
ifeq ($(SANITIZE),)
test: check
	$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CC=$(SAN_CC) \
	    SANITIZE=address,undefined check
else
test: check
endif

# One pass of the suite on $(BUILD): unit tests, fuzz corpus replay,
# FastCGI-wire tests (tests/wire/), end-to-end tests (tests/e2e/), the
# modules of the last two in TEST_JOBS worker processes at once.
TEST_JOBS ?= 4
check: deps $(BUILD)/promptpix $(BUILD)/s3cli $(UNIT) fuzz-replay
	python3 tests/run.py --build $(BUILD) -j $(TEST_JOBS)

# Figures and ratios measured in one run (a few minutes); see README.
bench: $(BUILD)/promptpix $(BUILD)/bare
	python3 tests/bench/bench.py --build $(BUILD)

# A bounded soak of mixed traffic (SOAK_SECONDS, default 120).
soak: $(BUILD)/promptpix
	python3 tests/soak.py --build $(BUILD)

# The demo (tools/demo.py): a private MariaDB under var/, the
# responders and FRONT on 127.0.0.1:$(PORT).
run: deps $(BUILD)/promptpix
	python3 tools/demo.py run --port $(PORT) --build $(BUILD) --front $(FRONT) \
	    --backend $(BACKEND) --store $(STORE) --conf "$(CONF)"

start: deps $(BUILD)/promptpix
	python3 tools/demo.py start --port $(PORT) --build $(BUILD) --front $(FRONT) \
	    --backend $(BACKEND) --store $(STORE) --conf "$(CONF)"

stop:
	python3 tools/demo.py stop

sql:
	@python3 tools/demo.py sql

deps:
	@sh .ci/deps.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the program, the start
# script, the schema, the setup steps (setup.sh) and the web servers'
# files under $(PREFIX) (install-program, which the Debian package uses
# too); then the files the operator edits, each installed once and never
# overwritten (conf/install-once.sh: a changed one goes beside it as
# .dist, with a line that says so): the config, the systemd unit, the
# nginx site and the Apache vhost; and the state and store directories
# owned by the service's account (when it exists: setup.sh user makes
# it). docs/operations.md has the upgrade that runs it again.
PREFIX	?= /usr/local
RUN_AS	?= promptpix
SHARE	 = $(DESTDIR)$(PREFIX)/share/promptpix
ONCE	 = sh conf/install-once.sh
install: install-program
	install -d $(DESTDIR)/etc/promptpix $(DESTDIR)/etc/systemd/system \
	    $(DESTDIR)/etc/nginx/sites-available \
	    $(DESTDIR)/etc/apache2/sites-available
	$(ONCE) 0644 conf/promptpix.conf $(DESTDIR)/etc/promptpix/promptpix.conf
	$(ONCE) 0644 $(SHARE)/promptpix.service \
	    $(DESTDIR)/etc/systemd/system/promptpix.service
	$(ONCE) 0644 nginx/promptpix.conf \
	    $(DESTDIR)/etc/nginx/sites-available/promptpix
	$(ONCE) 0644 apache/promptpix.conf \
	    $(DESTDIR)/etc/apache2/sites-available/promptpix.conf
	install -d -m 0755 $(DESTDIR)/var/lib/promptpix \
	    $(DESTDIR)/var/lib/promptpix/img
	@if id -u $(RUN_AS) >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    chown $(RUN_AS):$(RUN_AS) $(DESTDIR)/var/lib/promptpix \
	        $(DESTDIR)/var/lib/promptpix/img; \
	else \
	    echo "make install: chown $(RUN_AS) $(DESTDIR)/var/lib/promptpix and its img/"; \
	fi

# Everything but the files the operator edits, with $(PREFIX)'s paths.
install-program: $(BUILD)/promptpix sql/install.sql
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/promptpix \
	    $(SHARE)/sql $(SHARE)/nginx $(SHARE)/apache
	install -m 0755 $(BUILD)/promptpix $(DESTDIR)$(PREFIX)/bin/promptpix
	sed 's|/usr/local/|$(PREFIX)/|g' conf/spawn-fcgi.sh \
	    > $(DESTDIR)$(PREFIX)/lib/promptpix/spawn-fcgi.sh
	chmod 0755 $(DESTDIR)$(PREFIX)/lib/promptpix/spawn-fcgi.sh
	sed 's|/usr/local|$(PREFIX)|g' conf/setup.sh > $(SHARE)/setup.sh
	chmod 0755 $(SHARE)/setup.sh
	install -m 0755 sql/migrate.sh $(SHARE)/sql/migrate.sh
	install -m 0644 $(MIGRATIONS) $(ROUTINES) sql/install.sql $(SHARE)/sql/
	install -m 0644 apache/htaccess $(SHARE)/htaccess
	install -m 0644 nginx/promptpix.conf $(SHARE)/nginx/promptpix.conf
	install -m 0644 apache/promptpix.conf $(SHARE)/apache/promptpix.conf
	install -m 0644 conf/promptpix.conf $(SHARE)/promptpix.conf
	sed 's|/usr/local/|$(PREFIX)/|g' conf/promptpix.service \
	    > $(SHARE)/promptpix.service

# make deb: promptpix_$(VERSION)_amd64.deb here, built by Debian's own
# tools (dpkg-buildpackage, debhelper: see debian/). The program is
# compiled in $(DEB_BUILD); VERSION names the build, newer for every
# commit, so that apt takes a newer build as an upgrade.
DEB_BUILD ?= build-deb
VERSION	?= $(shell git log -1 --format=1.0.0+git%cd.%h \
	    --date=format-local:%Y%m%d%H%M%S 2>/dev/null || echo 1.0.0)
DEB_ARCH = $(shell dpkg --print-architecture)
deb:
	PROMPTPIX_BUILD=$(DEB_BUILD) PROMPTPIX_VERSION=$(VERSION) \
	    dpkg-buildpackage -b -us -uc
	mv ../promptpix_$(VERSION)_$(DEB_ARCH).deb .
	rm -f ../promptpix_*_$(DEB_ARCH).buildinfo ../promptpix_*_$(DEB_ARCH).changes
	@echo "make deb: promptpix_$(VERSION)_$(DEB_ARCH).deb"

clean:
	rm -rf $(BUILD) $(SAN_BUILD)

.PHONY: all unit test check bench soak run start stop sql deps install install-program deb clean fuzz fuzz-replay

# Sanitizers: the second pass of `make test` builds everything with
# clang -fsanitize=address,undefined into $(SAN_BUILD). tests/run.py
# points ASAN_OPTIONS/UBSAN_OPTIONS log_path at a directory of its own,
# so a report from any process (unit tests with LeakSanitizer, fuzz
# replays, every responder) lands in a file there and fails the test in
# which it appeared.
SAN_BUILD ?= $(BUILD)-asan
SAN_CC	?= clang

# Fuzzing (tests/fuzz/): one libFuzzer harness per parser of outside
# bytes. `make fuzz` builds each with clang's libFuzzer, ASan and UBSan
# into $(BUILD)/fuzz/ and runs it for FUZZ_SECONDS, starting from the
# committed corpus tests/fuzz/corpus/<target>/; new inputs go to
# $(BUILD)/fuzz/work-<target>/, crashes to $(BUILD)/fuzz/crash-<target>-*.
# `make test` replays the committed corpus through the same harnesses
# linked with tests/fuzz/replay.c instead of libFuzzer ($(REPLAY)).
FUZZ_TARGETS = req cfg fal s3
FUZZ_SRCS = $(PURE)
FUZZ_SECONDS ?= 60
FUZZ_CC	?= clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS = $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZERS	 = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
REPLAY	 = $(FUZZ_TARGETS:%=$(BUILD)/replay_%)

$(BUILD)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
    $(FUZZ_SRCS:%.c=$(BUILD)/obj/%.o)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< \
	    tests/fuzz/replay.c $(FUZZ_SRCS:%.c=$(BUILD)/obj/%.o) \
	    $(LDFLAGS) $(LIBS)

$(BUILD)/fuzz/obj/%.o: fcgi/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    $(WARN) -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer $(WARN) \
	    -o $@ $< $(FUZZ_OBJS) $(LIBS)

# Not intermediate files: keep them between runs.
.SECONDARY: $(FUZZ_OBJS)

fuzz-replay: $(REPLAY)

fuzz: $(FUZZERS)
	@sh tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
