# promptpix: see README.md. `make run` for a demo, `make test` for the suite.

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c17 -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes \
	   -Wshadow -Wwrite-strings -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE $(shell pkg-config --cflags libmariadb json-c)
CPPFLAGS += $(shell pkg-config --cflags libcurl)
LIBS	 = -lfcgi $(shell pkg-config --libs libmariadb) -lcrypto \
	   $(shell pkg-config --libs json-c) -linih -lgd -lpthread
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

# The pure modules: no I/O, unit-tested on their own.
PURE	 = util.c log.c text.c req.c hash.c cfg.c store.c
PURE	+= falparse.c
SRCS	 = $(PURE) backend.c placeholder.c db.c flight.c gen.c http.c \
	   page.c image.c supervise.c main.c
SRCS	+= fal.c
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

unit: $(UNIT)
	$(UNIT)

test: $(BUILD)/promptpix $(UNIT)
	python3 tests/run.py --build $(BUILD)

run: deps $(BUILD)/promptpix
	python3 tests/stack.py run --port $(PORT) --build $(BUILD)

start: deps $(BUILD)/promptpix
	python3 tests/stack.py start --port $(PORT) --build $(BUILD)

stop:
	python3 tests/stack.py stop

sql:
	@python3 tests/stack.py sql

deps:
	@sh .ci/deps.sh

clean:
	rm -rf $(BUILD)

.PHONY: all unit test run start stop sql deps clean
