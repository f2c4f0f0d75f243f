#!/usr/bin/env bash
# The main job: a real llama-server (the one on PATH, or the cached build from
# node-llama-cpp's llama.cpp source) serving a GGUF model on loopback, and
# agentperf recording the smoke workload against it.
#
#   MODEL=path.gguf      the model (default: ../shared/models/stories260K.gguf,
#                        a tiny smoke-test model that cannot follow instructions)
#   WORKLOAD=file.jsonl  the workload (default workloads/smoke.jsonl)
#   REPEATS=N            repeats (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

server=$(scripts/build-llama-server.sh)
model=${MODEL:-}
note=""
if [ -z "$model" ]; then
    if [ -r ../shared/models/stories260K.gguf ]; then
        model=../shared/models/stories260K.gguf
        note=" (smoke-test model: 260K parameters, cannot follow instructions; set MODEL=path.gguf for a real one)"
    else
        echo "run-main: no model: set MODEL=path/to/model.gguf" >&2
        exit 1
    fi
fi
[ -r "$model" ] || { echo "run-main: cannot read model $model" >&2; exit 1; }
workload=${WORKLOAD:-workloads/smoke.jsonl}
repeats=${REPEATS:-3}

# A free loopback port: the kernel picks it, we release it, the server takes it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
mkdir -p results
log=results/llama-server-$port.log
"$server" -m "$model" --host 127.0.0.1 --port "$port" -c 4096 -t "$(nproc)" -np 1 --no-webui >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || { echo "run-main: llama-server exited; see $log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { echo "run-main: llama-server never became healthy; see $log" >&2; exit 1; }

echo "run-main: llama-server pid $pid on 127.0.0.1:$port, model $(basename "$model")$note"
./agentperf record -w "$workload" \
    -b "openai:url=http://127.0.0.1:$port/v1,model=$(basename "$model" .gguf),stream=1" \
    -r "$repeats" --seed 42 --temperature 0 --form both --watch-pid "$pid"
