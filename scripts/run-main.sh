#!/usr/bin/env bash
# The main job: agentperf starts a real llama-server itself (the one on PATH,
# or the cached build from node-llama-cpp's llama.cpp source, built here if
# needed) with a GGUF model on a free loopback port, records the workload
# against it, and stops it. Model-load time and energy are reported apart.
#
#   MODEL=path.gguf      the model (default: scripts/pick-model.sh: the shared
#                        smoke-test model, or one made by tools/mkmodel.c)
#   WORKLOAD=file.jsonl  the workload (default workloads/smoke.jsonl)
#   REPEATS=N            repeats (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_SERVER=${LLAMA_SERVER:-$(scripts/build-llama-server.sh)}
export LLAMA_SERVER
model=$(scripts/pick-model.sh)
workload=${WORKLOAD:-workloads/smoke.jsonl}
repeats=${REPEATS:-3}
mkdir -p results
exec ./agentperf record -w "$workload" \
    -b "llama-server:model=$model,threads=$(nproc)" \
    -r "$repeats" --seed 42 --temperature 0 --form both
