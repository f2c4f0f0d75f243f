#!/usr/bin/env bash
# Prints the GGUF model the main job and `make bench` use:
#   1. MODEL=path.gguf when given (any model llama.cpp loads);
#   2. ../shared/models/stories260K.gguf where that folder exists;
#   3. models/agentperf-tiny-random.gguf, made here by tools/mkmodel.c when absent.
# 2 and 3 are smoke-test models: the report says so (agentperf detects them).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${MODEL:-}" ]; then
    [ -r "$MODEL" ] || { echo "pick-model: cannot read MODEL=$MODEL" >&2; exit 1; }
    printf '%s\n' "$MODEL"
    exit 0
fi
if [ -r ../shared/models/stories260K.gguf ]; then
    printf '%s\n' ../shared/models/stories260K.gguf
    exit 0
fi
out=models/agentperf-tiny-random.gguf
if [ ! -r "$out" ]; then
    echo "pick-model: no MODEL and no ../shared/models: making the smoke-test model $out" >&2
    scripts/make-smoke-model.sh "$out" >&2
fi
printf '%s\n' "$out"
