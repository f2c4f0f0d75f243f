#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the source that the npm package
# node-llama-cpp ships as a git bundle (no other network is needed), once per
# machine: the result is cached outside the work tree and reused.
#
# Prints the path of the llama-server binary on stdout; progress goes to stderr.
# A llama-server already on PATH wins unless AGENTPERF_BUILD_LLAMA=1.
set -euo pipefail

NLC_VERSION=${NLC_VERSION:-3.22.1}
CACHE=${AGENTPERF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentperf}
SRC=$CACHE/llama.cpp-nlc$NLC_VERSION
BIN=$SRC/build/bin/llama-server

log() { printf 'build-llama-server: %s\n' "$*" >&2; }

if [ "${AGENTPERF_BUILD_LLAMA:-0}" != 1 ] && command -v llama-server >/dev/null 2>&1; then
    command -v llama-server
    exit 0
fi
if [ -x "$BIN" ]; then
    printf '%s\n' "$BIN"
    exit 0
fi

mkdir -p "$CACHE"
# One builder at a time: a second caller waits instead of racing the first.
exec 9>"$CACHE/.build-lock"
flock 9
if [ -x "$BIN" ]; then printf '%s\n' "$BIN"; exit 0; fi

tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ ! -d "$SRC/.git" ]; then
    log "fetching node-llama-cpp@$NLC_VERSION from the npm registry"
    (cd "$tmp" && npm pack --silent "node-llama-cpp@$NLC_VERSION" >/dev/null 2>&1)
    tar -xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle
    rm -rf "$SRC.partial"
    git clone --quiet "$tmp/package/llama/gitRelease.bundle" "$SRC.partial"
    mv "$SRC.partial" "$SRC"
fi

for tool in cmake c++; do
    command -v "$tool" >/dev/null || { log "$tool not found: run 'make deps' first"; exit 1; }
done
log "configuring llama.cpp in $SRC (CPU only)"
cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
      -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_SERVER=ON >"$SRC/cmake-configure.log" 2>&1 \
    || { log "cmake configure failed, see $SRC/cmake-configure.log"; exit 1; }
log "building llama-server (about 5 minutes on 2 cores)"
cmake --build "$SRC/build" --target llama-server -j"$(nproc)" >"$SRC/cmake-build.log" 2>&1 \
    || { log "build failed, see $SRC/cmake-build.log"; exit 1; }
printf '%s\n' "$BIN"
