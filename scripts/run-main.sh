#!/usr/bin/env bash
# The main job: agentperf starts a real llama-server itself (the one on PATH,
# or the cached build from node-llama-cpp's llama.cpp source, built here if
# needed) with a GGUF model on a free loopback port, records the workload
# against it, and stops it. Model-load time and energy are reported apart.
# Then it draws the run's plots into results/<run-id>/plots/.
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
id=$(date +%Y%m%d-%H%M%S)-llama-server-$(basename "$model" .gguf)-$(basename "$workload" .jsonl)
rc=0
./agentperf record -w "$workload" --run-id "$id" \
    -b "llama-server:model=$model,threads=$(nproc)" \
    -r "$repeats" --seed 42 --temperature 0 --form both || rc=$?
# A partial run (a server that died, Ctrl-C) still has its CSVs: plot them.
# (record wrote report.txt beside them.)
if [ -r "results/$id/summary.csv" ]; then
    plots/plot.sh -o "results/$id/plots" "results/$id" || rc=${rc/#0/1}
    echo "results: results/$id/ (report.txt, *.csv, meta.json, plots/)"
fi
exit "$rc"
