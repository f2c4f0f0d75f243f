#!/usr/bin/env bash
# `make bench`: the reproducible benchmark. Runs every workload suite file on
# the managed local llama-server (MODEL=path.gguf, or the smoke-test model
# scripts/pick-model.sh finds or makes) and on every remote backend whose API
# key is set, with repeats, a fixed seed and temperature 0; writes
# results/<bench-id>/, prints the reports, compares local with each remote
# (`agentperf diff`) and draws the plots when plots/ provides them.
#
#   MODEL=path.gguf        local model (default: see scripts/pick-model.sh)
#   REPEATS=N              repeats (default 3)      SEED=N  seed (default 42)
#   THREADS=N              llama-server threads (default: all CPUs)
#   CTX=N                  llama-server -c (default 0: the model's own context)
#   WORKLOADS="a.jsonl .." workloads (default: every workloads/*.jsonl but smoke)
#   BENCH_ID=name          results/<name>/ (default bench-<UTC time>)
#   SWEEP=1                also a load sweep of the local model (agentperf sweep):
#                          SWEEP_VARY (default concurrency=1,2,4,8, llama-server's
#                          slots following -c) on SWEEP_WORKLOAD (default
#                          workloads/smoke.jsonl), into results/<name>/sweep/, with
#                          its load curve in results/<name>/sweep/plots/
#   CACHE_WORKLOAD=file    run it --cache cold and warm on the local model into
#                          cache-cold/ and cache-warm/ and compare them
#                          (scripts/cache-compare.sh; default long-context when
#                          WORKLOADS is unset; "" skips); CACHE_TASKS=GLOB (-t),
#                          CACHE_REPEATS=N (default REPEATS)
#   OPENAI_API_KEY [OPENAI_MODEL]        adds openai (default gpt-4o-mini)
#     [OPENAI_BASE_URL]                  another OpenAI-compatible API (default
#                                        https://api.openai.com/v1)
#   PROFILES="local=P openai=P anthropic=P"  cost/energy profile per backend
#                          (workloads/profiles/P.json); defaults: local=workstation-cpu,
#                          openai/anthropic = the profile named like the model when
#                          workloads/profiles/ has one (gpt-4o-mini does), else none
#                          (said). With profiles the diffs have $ rows and the plots
#                          the $ frontier; none=no profile for that backend.
#   ANTHROPIC_API_KEY [ANTHROPIC_MODEL]  adds anthropic (default claude-3-5-haiku-latest)
#     [ANTHROPIC_BASE_URL]               (default https://api.anthropic.com)
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bench: %s\n' "$*" >&2; }

LLAMA_SERVER=${LLAMA_SERVER:-$(scripts/build-llama-server.sh)} || { say "no llama-server (make llama-server)"; exit 1; }
export LLAMA_SERVER
model=$(scripts/pick-model.sh) || exit 1
repeats=${REPEATS:-3}
seed=${SEED:-42}
threads=${THREADS:-$(nproc)}
# long-context.jsonl sends ~25k tokens of system prompt and tools before any work;
# a smaller context turns those calls into HTTP 4xx errors (recorded, not hidden).
# llama-server still caps each slot at the model's training context: the tiny
# smoke-test models (2048) fail those calls whatever CTX says.
ctx=${CTX:-32768}
id=${BENCH_ID:-bench-$(date -u +%Y%m%d-%H%M%S)}
base=results/$id
if [ -n "${WORKLOADS:-}" ]; then
    read -r -a wls <<<"$WORKLOADS"
else
    wls=()
    for w in workloads/*.jsonl; do
        [ "$(basename "$w")" = smoke.jsonl ] || wls+=("$w")
    done
    [ ${#wls[@]} -gt 0 ] || wls=(workloads/smoke.jsonl)
fi
wargs=()
for w in "${wls[@]}"; do wargs+=(-w "$w"); done

backends=("local|llama-server:model=$model,threads=$threads,ctx=$ctx")
if [ -n "${OPENAI_API_KEY:-}" ]; then
    backends+=("openai|openai:url=${OPENAI_BASE_URL:-https://api.openai.com/v1},model=${OPENAI_MODEL:-gpt-4o-mini},key_env=OPENAI_API_KEY")
else
    say "skipped openai: set OPENAI_API_KEY (and optionally OPENAI_MODEL)"
fi
if [ -n "${ANTHROPIC_API_KEY:-}" ]; then
    backends+=("anthropic|anthropic:${ANTHROPIC_BASE_URL:+url=$ANTHROPIC_BASE_URL,}model=${ANTHROPIC_MODEL:-claude-3-5-haiku-latest}")
else
    say "skipped anthropic: set ANTHROPIC_API_KEY (and optionally ANTHROPIC_MODEL)"
fi

# Profiles per backend name: PROFILES overrides the defaults, pair by pair.
declare -A prof=([local]=workstation-cpu)
for k in openai anthropic; do
    m=$([ "$k" = openai ] && echo "${OPENAI_MODEL:-gpt-4o-mini}" || echo "${ANTHROPIC_MODEL:-claude-3-5-haiku-latest}")
    [ -r "workloads/profiles/$m.json" ] && prof[$k]=$m
done
for pair in ${PROFILES:-}; do
    case $pair in
        *=*) prof[${pair%%=*}]=${pair#*=} ;;
        *) say "PROFILES: '$pair' is not NAME=PROFILE (local=, openai=, anthropic=)"; exit 2 ;;
    esac
done
for k in "${!prof[@]}"; do
    p=${prof[$k]}
    [ "$p" = none ] || [ -r "workloads/profiles/$p.json" ] || [ -r "$p" ] ||
        { say "PROFILES: $k=$p: no workloads/profiles/$p.json"; exit 2; }
done
say "model $model; ${#wls[@]} workloads; $repeats repeats, seed $seed, temperature 0; results in $base/"
mkdir -p "$base"
status=0
for b in "${backends[@]}"; do
    name=${b%%|*}
    spec=${b#*|}
    # One command per backend: every workload, both forms, fixed sampling.
    pargs=()
    p=${prof[$name]:-none}
    if [ "$p" = none ]; then say "$name: no cost profile (PROFILES=\"$name=NAME\" adds one): no \$ figures"
    else pargs=(--profile "$p"); fi
    ./agentperf record -o "$base" --run-id "$name" "${wargs[@]}" -b "$spec" "${pargs[@]}" \
        -r "$repeats" --seed "$seed" --temperature 0 --form both -q || {
        say "$name: agentperf exited with status $? (its runs hold what was measured)"
        status=1
    }
done

# The prefix cache measured: CACHE_WORKLOAD (default the long-context workload
# when WORKLOADS is not given; empty skips) cold and warm on the local model,
# CACHE_TASKS (a -t glob, default all) x CACHE_REPEATS (default REPEATS).
# A smoke-test model's short training context is lifted to CTX (ctx_train).
cache_wl=${CACHE_WORKLOAD-$([ -z "${WORKLOADS:-}" ] && echo workloads/long-context.jsonl)}
if [ -n "$cache_wl" ]; then
    local_spec=${backends[0]#*|}
    case $(basename "$model") in
        stories260K.gguf|agentperf-tiny-random.gguf) local_spec+=",ctx_train=$ctx" ;;
    esac
    for mode in cold warm; do
        ./agentperf record -o "$base" --run-id "cache-$mode" -w "$cache_wl" -b "$local_spec" \
            -r "${CACHE_REPEATS:-$repeats}" ${CACHE_TASKS:+-t "$CACHE_TASKS"} --seed "$seed" \
            --temperature 0 --cache "$mode" -q >/dev/null || {
            say "cache-$mode: agentperf exited with status $? (its run holds what was measured)"
            status=1
        }
    done
    say "prefix cache on $(basename "$cache_wl") (scripts/cache-compare.sh):"
    scripts/cache-compare.sh "$base/cache-cold" "$base/cache-warm" | tee "$base/cache-compare.txt" >&2 ||
        say "cache comparison failed"
fi

runs=()
for d in "$base"/*/; do [ -r "$d/meta.json" ] && runs+=("${d%/}"); done
# local vs each remote, workload by workload
for r in "${runs[@]}"; do
    n=$(basename "$r")
    for k in openai anthropic; do
        # One workload: the run is <backend>; several: <backend>-<kind>-<workload>.
        case $n in
            "$k") l=$base/local ;;
            "$k-$k-"*) l=$base/local-llama-server-${n#"$k-$k-"} ;;
            *) continue ;;
        esac
        # --csv: diff.csv, cascade.csv and sensitivity.csv, and the
        # cascade settings become points on the frontier plot.
        [ -d "$l" ] && { ./agentperf diff "$l" "$r" --csv "$base/diff-$(basename "$l")-vs-$n" ||
                             say "diff $l $r failed"; }
    done
done
if [ ${#runs[@]} -eq 0 ]; then
    say "no run finished"; exit 1
fi
diffs=()
for d in "$base"/diff-*/; do [ -r "$d/cascade.csv" ] && diffs+=("${d%/}"); done
# plots/plot.sh is what `make plots` runs (per-run figures into RUN/plots/, the
# cross-run ones into results/plots/).
if [ -x plots/plot.sh ]; then
    plots/plot.sh "${runs[@]}" "${diffs[@]}" || say "plots failed"
else
    say "no plots/ driver here: plots skipped"
fi
if [ "${SWEEP:-0}" = 1 ]; then
    say "sweep: ${SWEEP_VARY:-concurrency=1,2,4,8} on ${SWEEP_WORKLOAD:-workloads/smoke.jsonl}"
    if ./agentperf sweep --vary "${SWEEP_VARY:-concurrency=1,2,4,8}" -o "$base" --run-id sweep \
        -w "${SWEEP_WORKLOAD:-workloads/smoke.jsonl}" \
        -b "llama-server:model=$model,threads=$threads,ctx=$ctx" \
        -r "$repeats" --seed "$seed" --temperature 0 -q; then
        plots/sweep.sh "$base/sweep" || say "sweep plot failed"
    else
        say "sweep exited with status $? (its points hold what was measured)"
        status=1
    fi
fi
say "done: $base/ (${#runs[@]} runs)"
exit $status
