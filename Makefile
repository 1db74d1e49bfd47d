# promptpix: see README.md. `make run` for a demo, `make test` for the suite.

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c17 -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes \
	   -Wshadow -Wwrite-strings -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE $(shell pkg-config --cflags libmariadb json-c)
LIBS	 = -lfcgi $(shell pkg-config --libs libmariadb) -lcrypto \
	   $(shell pkg-config --libs json-c) -linih -lgd -lpthread
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

# The pure modules: no I/O, unit-tested on their own.
PURE	 = util.c log.c text.c req.c hash.c cfg.c store.c ratelimit.c \
	   metrics.c token.c
SRCS	 = $(PURE) backend.c placeholder.c db.c flight.c gen.c http.c \
	   page.c image.c stats.c supervise.c hitcache.c counts.c main.c
OBJS	 = $(SRCS:%.c=$(BUILD)/obj/%.o)
PURE_OBJS = $(PURE:%.c=$(BUILD)/obj/%.o)
UNIT	 = $(BUILD)/unit_tests

all: $(BUILD)/promptpix

$(BUILD)/obj/%.o: fcgi/%.c fcgi/*.h | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/obj:
	mkdir -p $@

$(BUILD)/promptpix: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(UNIT): tests/unit/*.c tests/unit/*.h $(PURE_OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-missing-field-initializers \
	    -Ifcgi -o $@ tests/unit/*.c \
	    $(PURE_OBJS) $(LDFLAGS) $(LIBS)

$(BUILD)/bare: tests/bench/bare.c | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ tests/bench/bare.c -lfcgi -lpthread

unit: $(UNIT)
	$(UNIT)

test: $(BUILD)/promptpix $(UNIT)
	python3 tests/run.py --build $(BUILD)

# Figures and ratios measured in one run (a few minutes); see README.
bench: $(BUILD)/promptpix $(BUILD)/bare
	python3 tests/bench/bench.py --build $(BUILD)

# A bounded soak of mixed traffic (SOAK_SECONDS, default 120).
soak: $(BUILD)/promptpix
	python3 tests/soak.py --build $(BUILD)

run: deps $(BUILD)/promptpix
	python3 tests/stack.py run --port $(PORT) --build $(BUILD) --front $(FRONT)

start: deps $(BUILD)/promptpix
	python3 tests/stack.py start --port $(PORT) --build $(BUILD) --front $(FRONT)

stop:
	python3 tests/stack.py stop

sql:
	@python3 tests/stack.py sql

deps:
	@sh .ci/deps.sh

clean:
	rm -rf $(BUILD)

.PHONY: all unit test bench soak run start stop sql deps clean
