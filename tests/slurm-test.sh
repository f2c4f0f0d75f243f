#!/usr/bin/env bash
# A real Slurm on this machine (issue 16): munged, slurmctld and slurmd started
# here as root (no systemd), their configuration, state, spool, logs and munge
# key under a temporary folder, ports of their own. Submits the README's
# one-liner: an array of 4 shards of a workload against the loopback fake
# server (scripts/slurm/agentperf.sbatch) and the merge job that depends on it
# (afterok); waits a bounded time; checks the merged folder against an
# unsharded run of the same workload and seed (task set, successes, attempts,
# tokens), that report and diff read it; stops the daemons it started by PID.
# Where Slurm cannot start here it prints SKIPPED and why, and exits 0.
# Needs: make (agentperf, build/tests/fakeserver); Debian's slurm-wlm, munge.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
AGENTPERF=${AGENTPERF:-$ROOT/agentperf}
BUILD=${BUILD:-$ROOT/build}
SHARDS=4
WAIT_S=${SLURM_TEST_WAIT_S:-240}
passed=0 failed=0
pids=()

skip() {
    echo "SKIPPED: slurm: $*"
    echo "slurm: 0 passed, 0 failed, 1 skipped"
    exit 0
}
ok() { echo "[       OK ] $1"; passed=$((passed + 1)); }
bad() { echo "[  FAILED  ] $1${2:+: $2}"; failed=$((failed + 1)); }
check() { # name, then a command that must succeed
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

for b in munged munge slurmctld slurmd sbatch squeue sinfo scontrol; do
    command -v "$b" >/dev/null || skip "$b not installed (scripts/deps.sh with SLURM=1 installs slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs, and this is uid $(id -u)"
{ [ -x "$AGENTPERF" ] && [ -x "$BUILD/tests/fakeserver" ]; } || skip "build agentperf and $BUILD/tests/fakeserver first (make)"

T=$(mktemp -d /tmp/agentperf-slurm-XXXXXX)
chmod 755 "$T"
cleanup() {
    # Only what this script started, by PID, newest first.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# free_port: a loopback port nobody listens on, below the ephemeral range.
. "$ROOT/scripts/lib/ports.sh"

# munge: its own key, socket, pid, log and seed files.
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log" "$T/work"
chmod 711 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
munged --force --foreground --key-file="$T/munge/munge.key" --socket="$T/munge/sock" \
    --pid-file="$T/munge/munged.pid" --log-file="$T/log/munged.log" --seed-file="$T/munge/seed" \
    >"$T/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$T/munge/sock" ] && break; sleep 0.1; done
munge -S "$T/munge/sock" -n 2>/dev/null | unmunge -S "$T/munge/sock" >/dev/null 2>&1 ||
    skip "munged did not start: $(tail -n 3 "$T/log/munged.log" "$T/log/munged.out" 2>/dev/null | tr '\n' ' ')"

host=$(hostname -s)
cpus=$(nproc)
start_slurm() {
    local cport dport
    cport=$(free_port) && dport=$(free_port) || return 1
    cat >"$T/slurm.conf" <<EOF
ClusterName=agentperf-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$cport
SlurmdPort=$dport
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=30 State=UP
EOF
    export SLURM_CONF=$T/slurm.conf
    slurmctld -D -i -f "$T/slurm.conf" >"$T/log/slurmctld.out" 2>&1 &
    pids+=($!)
    slurmd -D -f "$T/slurm.conf" >"$T/log/slurmd.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 150); do
        sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)' && return 0
        sleep 0.2
    done
    return 1
}
start_slurm ||
    skip "slurmctld/slurmd did not bring the node up in 30 s: $(tail -n 2 "$T"/log/slurm*.log 2>/dev/null | tr '\n' ' ')"
echo "slurm: slurmctld and slurmd up on $host ($(sinfo -V)), config $T/slurm.conf"

# The model server and the workload: 12 tasks, a third of them fail their
# check (2 attempts each), 2 repeats: 24 units over 4 shards.
"$BUILD/tests/fakeserver" --script tests/fake/openai-basic.rules --port-file "$T/port" \
    --max-seconds $((WAIT_S + 120)) >/dev/null 2>"$T/log/fakeserver.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || skip "the fake server did not start: $(cat "$T/log/fakeserver.err")"
{
    echo '{"agentperf_workload":1,"name":"slurm","version":"1","source":"agentperf tests/slurm-test.sh","license":"CC0-1.0","defaults":{"max_attempts":2,"max_steps":1}}'
    for i in $(seq -w 0 11); do
        want=Paris
        [ $((10#$i % 3)) -eq 0 ] && want=Berlin
        echo "{\"id\":\"task-$i\",\"category\":\"c\",\"prompt\":\"question $i\",\"check\":{\"kind\":\"contains\",\"value\":\"$want\"}}"
    done
} >"$T/work/w.jsonl"
export WORKLOAD=$T/work/w.jsonl
BACKEND="openai:url=http://127.0.0.1:$(cat "$T/port")/v1,stream=0,retries=0"
export BACKEND
export OUT=$T/work/results
export RECORD_ARGS="-q -r 2 --seed 7 --idle 0"
export AGENTPERF
# shellcheck disable=SC2086  # a list of options, as the template uses it
"$AGENTPERF" record $RECORD_ARGS -w "$WORKLOAD" -b "$BACKEND" -o "$T/work" --run-id full \
    >"$T/log/full.out" 2>&1
check "unsharded run" test -s "$T/work/full/tasks.csv"

# The README's one-liner, as a user types it (from the folder the logs go to).
cd "$T/work" || exit 1
jid=$(sbatch --parsable --array=0-$((SHARDS - 1)) "$ROOT/scripts/slurm/agentperf.sbatch") &&
    mid=$(sbatch --parsable --dependency=afterok:"$jid" --export=ALL,MODE=merge \
        --output=agentperf-merge-%j.out "$ROOT/scripts/slurm/agentperf.sbatch")
cd "$ROOT" || exit 1
if [ -z "${jid:-}" ] || [ -z "${mid:-}" ]; then
    bad "sbatch" "submission failed"
else
    ok "sbatch: array job $jid of $SHARDS shards, merge job $mid after it"
    left=$WAIT_S
    while [ "$left" -gt 0 ] && [ -n "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ]; do
        sleep 1
        left=$((left - 1))
    done
    if [ "$left" -le 0 ]; then
        bad "jobs finished within ${WAIT_S} s" "$(squeue -j "$jid,$mid" 2>&1 | tr '\n' ' ')"
        scancel "$jid" "$mid" 2>/dev/null
    else
        ok "jobs finished within ${WAIT_S} s ($((WAIT_S - left)) s)"
    fi
fi
M=$OUT/merged
check "merged folder written by the merge job" test -s "$M/meta.json" -a -s "$M/report.txt"
[ -s "$M/meta.json" ] || { for f in "$T"/work/agentperf-*.out; do echo "== $f"; tail -n 5 "$f"; done; }

# Sums over tasks.csv by column name, and the sorted (repeat, task, form) set.
col() { head -n 1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
summary() {
    local f=$1/tasks.csv
    [ -s "$f" ] || { echo missing; return; }
    awk -F, -v r="$(col "$f" repeat)" -v t="$(col "$f" task_id)" -v fo="$(col "$f" form)" \
        -v s="$(col "$f" success)" -v a="$(col "$f" attempts)" -v p="$(col "$f" prompt_tokens)" \
        -v c="$(col "$f" completion_tokens)" \
        'NR > 1 { n++; S += $s; A += $a; P += $p; C += $c }
         END { printf "tasks=%d successes=%d attempts=%d prompt_tokens=%d completion_tokens=%d\n", n, S, A, P, C }' "$f"
}
units() {
    local f=$1/tasks.csv
    awk -F, -v r="$(col "$f" repeat)" -v t="$(col "$f" task_id)" -v fo="$(col "$f" form)" \
        'NR > 1 { print $r, $t, $fo }' "$f" 2>/dev/null | sort
}
want=$(summary "$T/work/full")
got=$(summary "$M")
echo "unsharded: $want"
echo "merged:    $got"
check "same successes, attempts and token totals as the unsharded run" test "$want" = "$got"
check "same task set (repeat, task, form) as the unsharded run" \
    test "$(units "$T/work/full")" = "$(units "$M")" -a "$(units "$M" | wc -l)" -eq 24
check "each unit exactly once" test "$(units "$M" | uniq -d | wc -l)" -eq 0
meta_has() { grep -q "$1" "$M/meta.json"; }
check "meta.json lists the $SHARDS shards, taken from Slurm, with the array job id" \
    bash -c "[ \"\$(grep -c '\"source\":[[:space:]]*\"slurm\"' '$M/meta.json')\" -eq $SHARDS ] &&
             grep -q '\"job_id\":[[:space:]]*\"$jid\"' '$M/meta.json'"
n_shard_dirs=$(find "$OUT" -maxdepth 1 -name "shard-*" -type d | wc -l)
check "each array task wrote its own folder ($n_shard_dirs)" test "$n_shard_dirs" -eq $SHARDS
check "agentperf report reads the merged folder" \
    bash -c "'$AGENTPERF' report '$M' > '$T/log/report.out' 2>&1 && grep -q '$SHARDS of $SHARDS merged' '$T/log/report.out'"
check "agentperf diff reads it beside the unsharded run" \
    bash -c "'$AGENTPERF' diff '$T/work/full' '$M' > '$T/log/diff.out' 2>&1"
# All shards ran on this host: the rule splits the ones that overlapped in time
# (Slurm may also have run them one after another on a busy machine).
grep -E "^ +energy +[0-9]" "$T/log/report.out"
check "the report states the energy rule for shards sharing this host" \
    grep -qE "on 1 host\(s\).*(one host at overlapping times|none overlapping another)" "$T/log/report.out"

if [ "$failed" -gt 0 ]; then
    for f in "$T"/work/agentperf-*.out "$T"/log/report.out "$T"/log/slurmctld.log; do
        [ -s "$f" ] && { echo "== $f"; tail -n 8 "$f"; }
    done
fi
echo "slurm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
