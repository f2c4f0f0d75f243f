#!/usr/bin/env bash
# Builds tools/mkmodel.c against ggml's gguf API from the llama.cpp source that
# scripts/build-llama-server.sh caches, and writes a tiny random-weight
# llama-architecture GGUF (a smoke-test model) to $1; $2 $3 (WIDTH LAYERS)
# make it as costly per token as a real small model (scripts/perf.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/agentperf-tiny-random.gguf}
BUILD=${BUILD:-build}
if [ -z "${LLAMA_SRC:-}" ]; then
    # Force the cached source build: a llama-server on PATH ships no headers.
    bin=$(AGENTPERF_BUILD_LLAMA=1 scripts/build-llama-server.sh)
    LLAMA_SRC=$(dirname "$(dirname "$(dirname "$bin")")")
fi
inc=$LLAMA_SRC/ggml/include
lib=$LLAMA_SRC/build/bin
[ -r "$inc/gguf.h" ] && ls "$lib"/libggml-base.so >/dev/null 2>&1 || {
    echo "make-smoke-model: no ggml headers/library under $LLAMA_SRC; run 'make llama-server' or set LLAMA_SRC" >&2
    exit 1
}
mkdir -p "$BUILD/tools" "$(dirname "$out")"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -I"$inc" tools/mkmodel.c -o "$BUILD/tools/mkmodel" \
    -L"$lib" -lggml-base -Wl,-rpath,"$lib"
"$BUILD/tools/mkmodel" "$out" "${@:2}"
