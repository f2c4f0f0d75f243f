#!/usr/bin/env bash
# The load curve of a sweep (agentperf sweep):
#
#   plots/sweep.sh [-o OUTDIR] SWEEPDIR
#
# reads SWEEPDIR/sweep.csv and writes OUTDIR/load-curve.{png,svg[,pdf]}
# (default OUTDIR: SWEEPDIR/plots): measured J per task against load beside
# the utilization formula's prediction from the lowest-load point, J per
# output token, and latency from the scheduled start with the throughput.
# A sweep of one point has no curve: that is said and nothing is drawn.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=""
if [ "${1:-}" = "-o" ]; then out=$2; shift 2; fi
[ $# -eq 1 ] || { echo "usage: plots/sweep.sh [-o OUTDIR] SWEEPDIR" >&2; exit 2; }
csv=$1/sweep.csv
[ -r "$csv" ] || { echo "plot: $csv: no sweep.csv (not an agentperf sweep folder?)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot: gnuplot not found (make deps installs it)" >&2; exit 1; }
[ -n "$out" ] || out=$1/plots
mkdir -p "$out"
col() { awk -F, -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} k{print $k}' "$csv"; }
points=$(col j_per_task | grep -c . || true)
if [ "$points" -lt 2 ]; then
    echo "skipped: load-curve needs at least two points with energy figures ($csv has $points)"
    exit 0
fi
axis=$(col axis | head -1)
# the provenance, shortened to its kind and model/counter name
src=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="energy_source") k=i; next} k{print $k; exit}' "$csv" | sed 's/^"//; s/ (.*//; s/"$//')
terms="png svg"
if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then terms="pngcairo svg pdfcairo"; fi
for t in $terms; do
    gnuplot -e "dir='$here'; term='$t'; out='$out/load-curve'; data='$csv'; axis='$axis'; src='${src//\'/}'; size='7x4'" \
        "$here/sweep.gp" || { echo "plot: gnuplot failed on sweep.gp" >&2; exit 1; }
done
echo "wrote $out/load-curve.{$(echo "$terms" | sed 's/pngcairo/png/; s/pdfcairo/pdf/; s/ /,/g')}"
