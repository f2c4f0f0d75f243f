#!/usr/bin/env bash
# The whole test suite under a memory checker (issue 6).
#   scripts/sanitize.sh asan      clang, AddressSanitizer + UndefinedBehaviorSanitizer,
#                                 everything (agentperf, tests, fakeserver) in build-asan/,
#                                 first error fatal, leaks fatal
#   scripts/sanitize.sh valgrind  the normal build's test programs under memcheck, and
#                                 every agentperf they start (--trace-children), the
#                                 fakeserver, llama-server and shell tools skipped
# Either fails on the first test program with an error. AP_SANITIZER tells the
# tests which checker runs them (the max-RSS bound of the huge-body tests means
# nothing under valgrind, whose own memory is counted).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
start=$(date +%s)
case "$mode" in
asan)
    export AP_SANITIZER=asan
    export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    # LSan cannot follow a ptrace'd process; nothing here runs under one.
    make --no-print-directory BUILD=build-asan CC="${ASAN_CC:-clang}" \
         SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test
    ;;
valgrind)
    command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
    export AP_SANITIZER=valgrind
    make --no-print-directory agentperf
    bins=$(ls tests/test_*.c | sed 's|tests/\(.*\)\.c|build/tests/\1|')
    # shellcheck disable=SC2086
    make --no-print-directory $bins build/tests/fakeserver build/tests/libfakenvml.so
    LLAMA_SERVER=$(scripts/build-llama-server.sh 2>/dev/null || true)
    export LLAMA_SERVER AGENTPERF=$PWD/agentperf BUILD=$PWD/build
    vg=(valgrind --quiet --error-exitcode=99 --leak-check=full
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
        --trace-children=yes --child-silent-after-fork=yes
        "--trace-children-skip=*/fakeserver,*llama-server*,/bin/*,/usr/bin/*,/usr/local/bin/*,*/sh,*.sh"
        --suppressions=tests/valgrind.supp)
    failed=()
    for t in $bins; do
        echo "=== $(basename "$t") (valgrind)"
        "${vg[@]}" "$t" || failed+=("$(basename "$t")")
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "valgrind: failed: ${failed[*]} ($(( $(date +%s) - start )) s)"
        exit 1
    fi
    ;;
*)
    echo "usage: scripts/sanitize.sh asan|valgrind" >&2
    exit 2
    ;;
esac
echo "sanitize $mode: clean in $(( $(date +%s) - start )) s"
