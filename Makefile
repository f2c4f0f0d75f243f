# agentperf: build, test, run. Every library is found with pkg-config (or, for
# libpfm4 and libsensors, which Debian ships without .pc files, by probing the
# compiler); nothing is installed except by `make deps`.

CC      ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS  ?= -O2 -g
VERSION := 0.1.0
CFLAGS  += -DAGENTPERF_VERSION=\"$(VERSION)\" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow -Wno-missing-field-initializers \
           -Iharness -Iharness/run -Iprobes -pthread
LDFLAGS += -pthread
BUILD   ?= build
# Sanitizer and fuzz builds (make asan/valgrind/fuzz: scripts/sanitize.sh, scripts/fuzz.sh)
# pass SANFLAGS and a BUILD folder of their own, which then holds their agentperf too.
SANFLAGS ?=
CFLAGS  += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
AGENTPERF_BIN := $(if $(filter build,$(BUILD)),agentperf,$(BUILD)/agentperf)

PKGS := libcurl libcjson libcrypto libpcre2-8 libmicrohttpd
ifeq ($(filter deps clean,$(MAKECMDGOALS)),)
ifneq ($(shell $(PKG_CONFIG) --exists $(PKGS) && echo yes),yes)
$(error missing libraries ($(PKGS)): run 'make deps' first)
endif
endif
CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm -ldl

# Optional libraries: the probes that need them still register and say why
# they are unavailable when built without.
have_lib = $(shell printf '#include <$(1)>\nint main(void){return 0;}\n' | \
             $(CC) -x c - -o /dev/null $(2) >/dev/null 2>&1 && echo 1)
ifeq ($(call have_lib,perfmon/pfmlib_perf_event.h,-lpfm),1)
CFLAGS += -DHAVE_LIBPFM=1
LIBS   += -lpfm
endif
ifeq ($(call have_lib,sensors/sensors.h,-lsensors),1)
CFLAGS += -DHAVE_LIBSENSORS=1
LIBS   += -lsensors
endif
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

LIB_SRCS  := $(filter-out harness/main.c,$(wildcard harness/*.c harness/*/*.c harness/run/backends/*.c probes/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test unit-tests deps llama-server run clean check-deps perf model smoke-model bench
all: agentperf

agentperf $(filter-out agentperf,$(AGENTPERF_BIN)): $(BUILD)/harness/main.o $(BUILD)/libagentperf.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libagentperf.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard harness/*.h harness/*/*.h probes/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libagentperf.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests -o $@ $< $(BUILD)/libagentperf.a $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/fakeserver: tests/fakeserver.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -pthread

$(BUILD)/tests/libfakenvml.so: tests/fakenvml.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $<

# The test command README.md gives and .ci/run calls. Each test program is a
# cmocka suite; tests needing what this machine lacks skip with a reason.
TOOLS := $(if $(wildcard tests/fakeserver.c),$(BUILD)/tests/fakeserver) \
         $(if $(wildcard tests/fakenvml.c),$(BUILD)/tests/libfakenvml.so)
# The real llama-server test uses the cached build (scripts/build-llama-server.sh
# builds it once, about 5 minutes); where that cannot be had, that test skips.
test: $(AGENTPERF_BIN) $(TEST_BINS) $(TOOLS)
	@LLAMA_SERVER=$$(scripts/build-llama-server.sh 2>$(BUILD)/llama-server-build.log || true) \
	 AGENTPERF=$(CURDIR)/$(AGENTPERF_BIN) BUILD=$(CURDIR)/$(BUILD) tests/run-tests.sh $(TEST_BINS)

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
perf: agentperf $(BUILD)/tests/fakeserver
	scripts/perf.sh

# Plots (gnuplot) of results folders: per-run figures into RUN/plots/, the
# cross-run ones into results/plots/ (plots/plot.sh says what it skips and why).
.PHONY: plots
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
.PHONY: fuzz fuzz-short asan valgrind
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
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libagentperf.a $(LIBS)
