#!/usr/bin/env bash
# Runs every cmocka test program given on the command line from the repository
# root and fails if any fails. Each program prints cmocka's own summary lines;
# tests that need what this machine lacks print SKIPPED with the reason.
set -u
cd "$(dirname "$0")/.."
failed=()
for t in "$@"; do
    echo "=== $(basename "$t")"
    if ! "$t"; then
        failed+=("$(basename "$t")")
    fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "test programs failed: ${failed[*]}"
    exit 1
fi
echo "all ${#@} test programs passed"
