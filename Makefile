# agentperf: build, test, run. Every library is found with pkg-config (or, for
# libpfm4 and libsensors, which Debian ships without .pc files, by probing the
# compiler); nothing is installed except by `make deps`.

CC      ?= cc
PKG_CONFIG ?= pkg-config
# User flags (make CFLAGS=-O0, CPPFLAGS=..., LDFLAGS=...) only add to or replace
# these; what the build needs is in AP_CFLAGS and is always there.
CFLAGS  ?= -O2 -g
BUILD   ?= build
# Sanitizer and fuzz builds (make asan/valgrind/fuzz: scripts/sanitize.sh, scripts/fuzz.sh)
# pass SANFLAGS and a BUILD folder of their own, which then holds their agentperf too.
SANFLAGS ?=
# make install: PREFIX/bin/agentperf, PREFIX/share/agentperf (workloads, profiles),
# PREFIX/share/man/man1/agentperf.1; DESTDIR stages (packaging).
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/agentperf
MANDIR  ?= $(PREFIX)/share/man
# The version: `git describe` in a checkout (the commit meta.json records), the
# fallback below in a tarball.
VERSION_FALLBACK := 0.1.0
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
GIT_TAGGED := $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)
GIT_SHORT := $(shell git describe --always --dirty 2>/dev/null)
VERSION := $(if $(GIT_TAGGED),$(patsubst v%,%,$(GIT_TAGGED)),$(if $(GIT_SHORT),$(VERSION_FALLBACK)-g$(GIT_SHORT),$(VERSION_FALLBACK)))
# V=1 prints every command.
Q := $(if $(filter 1,$(V)),,@)
say = $(if $(Q),@printf '  %-6s %s\n' $(1) $(2);)
AP_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow -Wno-missing-field-initializers \
             -Iharness -Iharness/run -Iprobes -I$(BUILD) -pthread -MMD -MP
AP_LDFLAGS := -pthread
AGENTPERF_BIN := $(if $(filter build,$(BUILD)),agentperf,$(BUILD)/agentperf)

PKGS := libcurl libcjson libcrypto libpcre2-8 libmicrohttpd
ifeq ($(filter deps clean,$(MAKECMDGOALS)),)
ifneq ($(shell $(PKG_CONFIG) --exists $(PKGS) && echo yes),yes)
$(error missing libraries ($(PKGS)): run 'make deps' first)
endif
endif
AP_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm -ldl

# Optional libraries: the probes that need them still register and say why
# they are unavailable when built without.
have_lib = $(shell printf '#include <$(1)>\nint main(void){return 0;}\n' | \
             $(CC) -x c - -o /dev/null $(2) >/dev/null 2>&1 && echo 1)
ifeq ($(call have_lib,perfmon/pfmlib_perf_event.h,-lpfm),1)
AP_CFLAGS += -DHAVE_LIBPFM=1
LIBS   += -lpfm
endif
ifeq ($(call have_lib,sensors/sensors.h,-lsensors),1)
AP_CFLAGS += -DHAVE_LIBSENSORS=1
LIBS   += -lsensors
endif
# The allocator of the agentperf binary: mimalloc where it is installed (make
# deps), glibc's malloc otherwise. glibc's malloc and free were a fifth of the
# client's CPU at concurrency 64 (perf, cpu-clock): libcurl, cJSON and the
# episode allocate ~30 blocks a call, in bursts larger than glibc's tcache.
# Only the agentperf binary (and make perf's curlfloor, to compare like with
# like): not the test programs, and never a sanitizer build (ASan must own
# malloc); valgrind's own malloc, preloaded, still comes first. Linked after
# the objects, so that the linker keeps it (--as-needed) and it comes before
# libc in the symbol search. MALLOC=libc leaves it out; `agentperf --version`
# and meta.json's "allocator" say which one ran.
MALLOC ?= mimalloc
MALLOC_LIBS :=
ifeq ($(MALLOC)$(SANFLAGS),mimalloc)
ifeq ($(call have_lib,mimalloc.h,-lmimalloc),1)
MALLOC_LIBS := -lmimalloc
endif
endif
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

LIB_SRCS  := $(filter-out harness/main.c,$(wildcard harness/*.c harness/*/*.c harness/run/backends/*.c probes/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

# Every flag a compile or link gets: the build's own, then the user's.
ALL_CFLAGS  = $(AP_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(AP_LDFLAGS) $(LDFLAGS) $(SANFLAGS)

.PHONY: all test check deps llama-server run clean perf model smoke-model bench install \
        uninstall FORCE
all: agentperf

agentperf $(filter-out agentperf,$(AGENTPERF_BIN)): $(BUILD)/harness/main.o $(BUILD)/libagentperf.a $(BUILD)/malloc.flags
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(filter-out %.flags,$^) $(MALLOC_LIBS) $(LIBS)

# The allocator's link flags, rewritten only when they change: installing
# mimalloc (or MALLOC=libc) relinks agentperf.
$(BUILD)/malloc.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MALLOC_LIBS)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@

$(BUILD)/libagentperf.a: $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

# config.h: version, commit and data folder; rewritten only when they change, so
# only the files that include it are rebuilt (-MMD knows which).
$(BUILD)/config.h: FORCE
	@mkdir -p $(dir $@)
	@printf '/* written by make */\n#define AGENTPERF_VERSION "%s"\n#define AGENTPERF_COMMIT "%s"\n#define AGENTPERF_DATADIR "%s"\n' \
	  '$(VERSION)' '$(if $(GIT_COMMIT),$(GIT_COMMIT),unknown (not built from a git checkout))' '$(DATADIR)' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@

$(BUILD)/%.o: %.c | $(BUILD)/config.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libagentperf.a | $(BUILD)/config.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests -o $@ $< $(BUILD)/libagentperf.a $(ALL_LDFLAGS) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/fakeserver: tests/fakeserver.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/tests/wakefloor: tests/perf/wakefloor.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

# libcurl alone (section 1's floor): agentperf's allocator, as agentperf links it.
$(BUILD)/tests/curlfloor: tests/perf/curlfloor.c $(BUILD)/malloc.flags
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(MALLOC_LIBS) $(LIBS)

$(BUILD)/tests/timed: tests/perf/timed.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/tests/libfakenvml.so: tests/fakenvml.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $<

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/*/*/*.d $(BUILD)/*/*/*/*.d)

# The test command README.md gives and .ci/run calls. Each test program is a
# cmocka suite; tests needing what this machine lacks skip with a reason.
TOOLS := $(if $(wildcard tests/fakeserver.c),$(BUILD)/tests/fakeserver) \
         $(if $(wildcard tests/fakenvml.c),$(BUILD)/tests/libfakenvml.so)
# The real llama-server test uses the cached build (scripts/build-llama-server.sh
# builds it once, about 5 minutes); where that cannot be had, that test skips.
# The real-server tests take their tiny model from $AGENTPERF_TEST_MODEL, else
# scripts/pick-model.sh's smoke-test model (../shared/models/stories260K.gguf, or
# the one make smoke-model makes from the same llama.cpp build), so that a fresh
# clone runs them too; they skip only when no llama-server can be had.
test: $(AGENTPERF_BIN) $(TEST_BINS) $(TOOLS)
	@LLAMA_SERVER=$$(scripts/build-llama-server.sh 2>$(BUILD)/llama-server-build.log || true); \
	 model=$${AGENTPERF_TEST_MODEL:-}; \
	 if [ -z "$$model" ] && [ -n "$$LLAMA_SERVER" ]; then \
	   model=$$(MODEL= scripts/pick-model.sh 2>$(BUILD)/smoke-model.log) || model=; \
	 fi; \
	 echo "test model: $${model:-none}"; \
	 LLAMA_SERVER=$$LLAMA_SERVER AGENTPERF_TEST_MODEL=$$model \
	 AGENTPERF=$(CURDIR)/$(AGENTPERF_BIN) BUILD=$(CURDIR)/$(BUILD) tests/run-tests.sh $(TEST_BINS)

# The unit tests alone: no llama-server, no build of one, no long runs (each
# program in well under a minute; the set is CHECK_SLOW's complement).
CHECK_SLOW := test_agent test_llama test_managed test_bench test_e2e test_faults test_resume test_probes
CHECK_BINS := $(filter-out $(addprefix $(BUILD)/tests/,$(CHECK_SLOW)),$(TEST_BINS))
check: $(AGENTPERF_BIN) $(CHECK_BINS) $(TOOLS)
	@AGENTPERF=$(CURDIR)/$(AGENTPERF_BIN) BUILD=$(CURDIR)/$(BUILD) tests/run-tests.sh $(CHECK_BINS)

# The man page: the help texts themselves (no second copy to drift).
$(BUILD)/agentperf.1: $(AGENTPERF_BIN) scripts/manpage.sh
	$(call say,MAN,$@)scripts/manpage.sh $(CURDIR)/$(AGENTPERF_BIN) '$(VERSION)' >$@

install: $(AGENTPERF_BIN) $(BUILD)/agentperf.1
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(DATADIR)/workloads/profiles' \
	  '$(DESTDIR)$(DATADIR)/workloads/padding' '$(DESTDIR)$(MANDIR)/man1'
	install -m 755 $(AGENTPERF_BIN) '$(DESTDIR)$(BINDIR)/agentperf'
	install -m 644 workloads/*.jsonl workloads/SCHEMA.md '$(DESTDIR)$(DATADIR)/workloads/'
	install -m 644 workloads/profiles/* '$(DESTDIR)$(DATADIR)/workloads/profiles/'
	install -m 644 workloads/padding/* '$(DESTDIR)$(DATADIR)/workloads/padding/'
	install -m 644 $(BUILD)/agentperf.1 '$(DESTDIR)$(MANDIR)/man1/agentperf.1'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/agentperf' '$(DESTDIR)$(MANDIR)/man1/agentperf.1'
	rm -rf '$(DESTDIR)$(DATADIR)'

deps:
	scripts/deps.sh

llama-server:
	@scripts/build-llama-server.sh

# `make model`: a real small instruct GGUF into models/ (needs internet and
# MODEL_SHA256: no hash is pinned that could not be verified; see README).
model:
	@MODEL_URL="$(MODEL_URL)" MODEL_SHA256="$(MODEL_SHA256)" scripts/fetch-model.sh

# The smoke-test model made here (tools/mkmodel.c, ggml's gguf API) for
# machines with neither a MODEL nor ../shared/models.
smoke-model:
	@scripts/make-smoke-model.sh models/agentperf-tiny-random.gguf

# The reproducible benchmark (scripts/bench.sh lists its variables).
bench:
	@$(MAKE) --no-print-directory agentperf
	scripts/bench.sh

# The main job. Recursive so that `make deps run` on a fresh machine sees the
# libraries deps just installed.
run:
	@$(MAKE) --no-print-directory agentperf
	scripts/run-main.sh

# Client overhead benchmark: agentperf against wrk on a null nginx endpoint,
# sampler cost, 10k/100k-task scale, CPU share next to llama-server. Prints a
# table and keeps it in results/perf-<time>.txt (scripts/perf.sh for options).
perf: agentperf $(BUILD)/tests/fakeserver $(BUILD)/tests/wakefloor $(BUILD)/tests/curlfloor $(BUILD)/tests/timed
	scripts/perf.sh

# Plots (gnuplot) of results folders: per-run figures into RUN/plots/, the
# cross-run ones into results/plots/ (plots/plot.sh says what it skips and why).
plots:
	@test -n "$(RUN)" || { echo 'usage: make plots RUN="results/<run> [results/<run> ...]"' >&2; exit 2; }
	plots/plot.sh $(RUN)

clean:
	rm -rf $(BUILD) agentperf

# Reliability (issue 6). libFuzzer targets in tests/fuzz/ (clang), each run
# FUZZ_SECONDS on its seed corpus tests/fuzz/corpus/<target>/; fuzz-short is
# CI's pass. asan: the whole suite built with ASan+UBSan in build-asan/;
# valgrind: the test programs and the agentperf they start under memcheck.
FUZZ_SECONDS ?= 60
.PHONY: plots fuzz fuzz-short asan valgrind
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
fuzz-short:
	@FUZZ_SECONDS=10 FUZZ_SEED=1 scripts/fuzz.sh
asan:
	@scripts/sanitize.sh asan
valgrind:
	@scripts/sanitize.sh valgrind

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libagentperf.a
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libagentperf.a $(ALL_LDFLAGS) $(LIBS)
