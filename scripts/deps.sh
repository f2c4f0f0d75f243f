#!/usr/bin/env bash
# Installs the Debian 12 packages agentperf needs to build, test and plot.
# Called by `make deps`; the only step that installs anything.
set -euo pipefail
pkgs=(build-essential pkg-config cmake git ca-certificates curl
      libcurl4-openssl-dev libcjson-dev libssl-dev libcmocka-dev libpcre2-dev
      libpfm4-dev libsensors-dev gnuplot-nox
      libmicrohttpd-dev   # agentperf proxy (issue 17)
      libmimalloc-dev     # agentperf's allocator (Makefile: MALLOC; glibc's without it)
      nginx-light wrk)  # the last two: make perf
pkgs+=(clang libclang-rt-14-dev valgrind)  # make fuzz, asan, valgrind (issue 6)
# test_suite checks workloads/long-context.jsonl against its generator, and
# plots/plot.sh reads meta.json with jq or python3: not on a minimal Debian.
pkgs+=(python3)
# SLURM=1 (.ci/run): a real Slurm for tests/slurm-test.sh, which starts its own
# munged, slurmctld and slurmd; nothing else needs them.
[ "${SLURM:-0}" = 1 ] && pkgs+=(slurm-wlm munge)
missing=()
# npm fetches the llama.cpp source (node-llama-cpp's bundle); any npm will do,
# so one that came with another Node.js install is left alone.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages present"
else
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The real agent of tests/test_agent.c: the OpenAI Agents SDK at the version
# tests/agent/package-lock.json pins (npm's registry), so that `make test`
# after this script runs it instead of skipping it.
agent=$(cd "$(dirname "$0")/.." && pwd)/tests/agent
if [ -f "$agent/package-lock.json" ] && [ ! -d "$agent/node_modules/@openai/agents" ]; then
    echo "deps: npm ci in tests/agent (the pinned @openai/agents)"
    (cd "$agent" && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "deps: npm ci failed: test_agent will say SKIPPED" >&2
fi
