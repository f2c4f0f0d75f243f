#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan into build-fuzz/, and runs each for FUZZ_SECONDS (default 60) on its
# seed corpus tests/fuzz/corpus/<target>/. New inputs go to a scratch folder,
# never into the repository; a crash leaves build-fuzz/crashes/<target>-*
# and fails the script (keep the input in the corpus once fixed).
#   FUZZ_SECONDS=N   time per target     FUZZ_TARGETS="sse check"   a subset
#   FUZZ_SEED=N      fixed mutation seed (fuzz-short, so CI is repeatable)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null; then
    echo "fuzz: $cc not found (apt-get install clang)" >&2
    exit 1
fi
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||')}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
bins=()
for t in $targets; do bins+=("$build/fuzz/fuzz_$t"); done
make --no-print-directory BUILD="$build" CC="$cc" \
     SANFLAGS="$san -fsanitize=fuzzer-no-link" "${bins[@]}" >"$build.log" 2>&1 ||
    { mkdir -p "$build"; cat "$build.log" >&2; exit 1; }
mkdir -p "$build/crashes"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=()
for t in $targets; do
    seeds=tests/fuzz/corpus/$t
    scratch=$(mktemp -d "/tmp/agentperf-fuzz-$t-XXXXXX")
    start=$(date +%s)
    # -rss_limit_mb: a leak or an unbounded buffer shows up as a failure too.
    if "$build/fuzz/fuzz_$t" "$scratch" "$seeds" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
        -artifact_prefix="$build/crashes/$t-" >"$build/fuzz-$t.log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$t.log" | grep -o '[0-9]*$' || echo "?")
        cov=$(grep -o 'cov: [0-9]*' "$build/fuzz-$t.log" | tail -1 | grep -o '[0-9]*' || echo "?")
        echo "fuzz $t: ok, $runs runs in $(( $(date +%s) - start )) s, coverage $cov edges, $(ls "$seeds" | wc -l) seeds"
    else
        echo "fuzz $t: FAILED (log: $build/fuzz-$t.log, input: $build/crashes/$t-*)"
        grep -E 'ERROR|SUMMARY|runtime error' "$build/fuzz-$t.log" | head -5
        failed+=("$t")
    fi
    rm -rf "$scratch"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]}"
    exit 1
fi
