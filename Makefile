# migsafe — build, test, demo.  `make check` and `make demo` install what is missing first.
CC      ?= cc
PREFIX  ?= /usr/local
WERROR  ?=
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wno-format-nonliteral $(WERROR)
CPPFLAGS += -Icommon -I/usr/include/postgresql -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 -pthread $(WARN) $(CFLAGS)
LDLIBS_BASE = -lcjson -lpg_query -lpq
# every program links the same libraries; the linker drops what one does not use
LDLIBS_PROG = -Wl,--as-needed $(LDLIBS_BASE) -lcurl -lm -pthread

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
# a leak inside libpg_query itself (see the file); exported to the tests
export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
endif

# one program per folder cmd/<prog>/: its *.c files and headers build bin/<prog>
PROGS   = $(notdir $(wildcard cmd/*))
COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:.c=.o)
HDRS    = $(wildcard common/*.h) $(wildcard cmd/*/*.h)

UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=tests/unit/bin/%)

.PHONY: all install check demo clean deps unit conformance bench fmt fmt-check fuzz
all: $(addprefix bin/,$(PROGS)) $(UNIT_BIN) tests/locks/bin/recorder

common/%.o: common/%.c $(HDRS)
	@echo "  CC $<"; $(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

common/libmigsafe.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

define prog_rule
bin/$(1): $$(wildcard cmd/$(1)/*.c) common/libmigsafe.a $$(HDRS)
	@mkdir -p bin
	$$(CC) $$(CPPFLAGS) -Icmd/$(1) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$(wildcard cmd/$(1)/*.c) common/libmigsafe.a $$(LDLIBS_PROG)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

tests/locks/bin/recorder: tests/locks/recorder.c
	@mkdir -p tests/locks/bin
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lcjson -lpg_query -lpq

tests/unit/bin/%: tests/unit/%.c common/libmigsafe.a $(HDRS)
	@mkdir -p tests/unit/bin
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< common/libmigsafe.a $(LDLIBS_PROG)
# test_mask links mkshadow's masking rules (cmd/mkshadow/mask.c, declared in mkshadow.h)
tests/unit/bin/test_mask: tests/unit/test_mask.c cmd/mkshadow/mask.c common/libmigsafe.a $(HDRS)
	@mkdir -p tests/unit/bin
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< cmd/mkshadow/mask.c common/libmigsafe.a $(LDLIBS_PROG)

deps:
	@bash scripts/install-deps.sh

# The test command (README): installs, builds with -Werror, runs every test.
check: deps
	$(MAKE) clean-objs
	$(MAKE) all WERROR=-Werror
	@$(MAKE) -s fmt-check
	@rm -rf tests/out && mkdir -p tests/out
	prove -j2 $(filter-out tests/zz-records.t,$(wildcard tests/*.t))
	prove tests/zz-records.t

# the unit tests of common/ (tests/unit/*.c), each a TAP stream
unit: $(UNIT_BIN)
	prove tests/unit.t

# clang-format (the repository's .clang-format) on every C file of the tree;
# fmt-check (part of check) fails naming each line that would change
FMT_SRC = $(wildcard $(shell git ls-files '*.c' '*.h' 2>/dev/null || find cmd common tests fuzz bench -name '*.[ch]'))
fmt:
	clang-format -i $(FMT_SRC)
fmt-check:
	clang-format --dry-run --Werror $(FMT_SRC)

conformance: all
	prove -v tests/conformance.t

bench: all
	bash bench/run.sh

# libFuzzer harnesses (clang), each for FUZZ_SECONDS (see fuzz/)
fuzz:
	$(MAKE) -C fuzz

demo: deps
	$(MAKE) all
	bash pipeline.sh demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(addprefix bin/,$(PROGS)) $(DESTDIR)$(PREFIX)/bin/

clean-objs:
	rm -f common/*.o common/libmigsafe.a

clean: clean-objs
	rm -rf bin tests/unit/bin tests/out tests/locks/bin
