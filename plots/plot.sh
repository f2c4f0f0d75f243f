#!/usr/bin/env bash
# Plots of agentperf results folders (gnuplot):
#
#   plots/plot.sh [-o CROSSDIR] RUN... [DIFFCSV...]
#
# Per run, into RUN/plots/: power over time with calls marked, attempts per
# task, decomposition overhead by category (runs with both forms). Across the
# runs given, into CROSSDIR (default: the first run's parent folder + /plots):
# J per successful task by backend, the accuracy-cost frontier, and J per
# successful task against utilization. DIFFCSV folders (agentperf diff A B
# --csv DIR) add their cascade settings (k = 0..max) to the frontier, as one
# line of points. Each figure as PNG and SVG, and PDF
# where gnuplot has cairo. A figure whose data is not in the files is skipped
# with a line "skipped: ... needs ...", never drawn from made-up numbers.
#
# The CSV columns are found by name (results/README.md), so added columns do
# not break the scripts. Only bash, awk and gnuplot are needed; jq or python3,
# when present, read labels from meta.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

cross=""
if [ "${1:-}" = "-o" ]; then cross=$2; shift 2; fi
if [ $# -eq 0 ]; then
    echo "usage: plots/plot.sh [-o CROSSDIR] RESULTS_DIR..." >&2
    exit 2
fi
command -v gnuplot >/dev/null || { echo "plot: gnuplot not found (make deps installs it)" >&2; exit 1; }
# A folder written by `agentperf diff A B --csv DIR` (cascade.csv, no
# summary.csv) adds its cascade settings to the frontier; runs are the rest.
runs=() cascades=()
for r in "$@"; do
    if [ -r "$r/summary.csv" ]; then runs+=("$r")
    elif [ -r "$r/cascade.csv" ]; then cascades+=("$r")
    else echo "plot: $r: no summary.csv (not a finished agentperf run?) and no cascade.csv (agentperf diff --csv)" >&2; exit 1
    fi
done
[ ${#runs[@]} -gt 0 ] || { echo "plot: no run folder among the arguments" >&2; exit 1; }
set -- "${runs[@]}"
[ -n "$cross" ] || cross="$(dirname "$1")/plots"
mkdir -p "$cross"

# Terminals: cairo ones when built in (antialiased, PDF), else libgd png + svg.
terms="png svg"
if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then terms="pngcairo svg pdfcairo"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gp SCRIPT OUTBASE VARS...: one gnuplot call per terminal; VARS are gnuplot
# assignments ("name='value'").
gp() {
    local script=$1 out=$2; shift 2
    local t e
    for t in $terms; do
        e="dir='$here'; term='$t'; out='$out'"
        for v in "$@"; do e="$e; $v"; done
        gnuplot -e "$e" "$here/$script" || { echo "plot: gnuplot failed on $script for $out" >&2; return 1; }
    done
    echo "wrote $out.{$(echo "$terms" | sed 's/pngcairo/png/; s/pdfcairo/pdf/; s/ /,/g')}"
}

# Single quotes would end the gnuplot string they are put in.
gpstr() { printf '%s' "$1" | tr "'" '`'; }

# meta VALUE-PATH RUN: a string from meta.json (jq path), "" when unknown.
meta() {
    local q=$1 f=$2/meta.json
    [ -r "$f" ] || return 0
    if command -v jq >/dev/null; then
        jq -r "$q // empty" "$f" 2>/dev/null || true
    elif command -v python3 >/dev/null; then
        python3 - "$q" "$f" <<'EOF' 2>/dev/null || true
import json, sys
v = json.load(open(sys.argv[2]))
for k in sys.argv[1].lstrip(".").split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)
EOF
    fi
}

run_label() {
    local l w
    l=$(meta .backend.label "$1"); [ -n "$l" ] || l=$(meta .backend.model "$1")
    w=$(meta .workload.name "$1")
    [ -n "$l" ] || l=$(basename "$1")
    # Two runs of one backend and workload differ by their deployment profile,
    # else by their folder: name that too, or the points cannot be told apart.
    local p
    p=$(meta .profiles.local.name "$1"); [ -n "$p" ] || p=$(meta .profiles.remote.name "$1")
    [ -n "$p" ] || p=$(basename "$1")
    printf '%s%s [%s]' "$l" "${w:+ ($w)}" "$p"
}

# col FILE NAME: 1-based index of a header column, empty if absent.
col() { head -1 "$1" | tr ',' '\n' | awk -v n="$2" '$0 == n { print NR; exit }'; }
# colmatch FILE REGEX: first header column matching an awk regex.
colmatch() { head -1 "$1" | tr ',' '\n' | awk -v re="$2" '$0 ~ re { print; exit }'; }

# --- per run -------------------------------------------------------------
for r in "$@"; do
    out="$r/plots"; mkdir -p "$out"
    label=$(gpstr "$(run_label "$r")")
    if [ -r "$r/samples.csv" ] && grep -q ',device:power,' "$r/samples.csv" && [ -r "$r/calls.csv" ]; then
        prov=$(meta .energy.device_provenance "$r"); [ -n "$prov" ] || prov="see meta.json energy"
        awk -F, -v c="$(col "$r/samples.csv" channel)" 'NR == 1 || $c == "device:power"' "$r/samples.csv" > "$tmp/power.csv"
        gp power.gp "$out/power" "power='$tmp/power.csv'" "calls='$r/calls.csv'" "label='$label'" "prov='$(gpstr "$prov")'"
    elif [ -d "$r/shards" ]; then
        echo "skipped: $r power over time: a merged run has one clock per shard; each shard's samples are in shards/<index>/samples.csv"
    else
        echo "skipped: $r power over time: needs device:power rows in samples.csv (run without --no-energy)"
    fi
    if [ -r "$r/tasks.csv" ] && [ -n "$(col "$r/tasks.csv" attempts)" ]; then
        gp attempts.gp "$out/attempts" "run='$r'" "label='$label'"
    else
        echo "skipped: $r attempts: needs tasks.csv with an attempts column"
    fi
    # Decomposition overhead per category: sums over the tasks that ran in
    # both forms in the same repeat (found here, so runs written before the
    # paired column existed plot the same), all repeats.
    t=$r/tasks.csv
    if [ -r "$t" ] && awk -F, 'NR > 1 && $0 ~ /,decomp,/ { f = 1 } END { exit !f }' "$t"; then
        awk -F, -v cc="$(col "$t" category)" -v fc="$(col "$t" form)" -v rc="$(col "$t" repeat)" \
            -v pt="$(col "$t" prompt_tokens)" -v ct="$(col "$t" completion_tokens)" -v ca="$(col "$t" calls)" \
            -v en="$(col "$t" energy_j)" -v oc="$(col "$t" outcome)" -v ic="$(col "$t" task_id)" '
            FNR == 1 { next }
            NR == FNR { has[$rc, $ic, $fc] = 1; next }
            !has[$rc, $ic, "mono"] || !has[$rc, $ic, "decomp"] { next }
            $oc == "interrupted" { next }
            {
                c = $cc == "" ? "(none)" : $cc; f = $fc; seen[c] = 1
                tok[c, f] += $pt + $ct; calls[c, f] += $ca
                if ($en == "") noen[c] = 1; else e[c, f] += $en
                if (f == "mono") { ids[c, $ic] = 1 }
                if ($oc == "success") succ[c, f]++
            }
            function pct(d, m) { return m > 0 ? sprintf("%.4f", 100 * (d - m) / m) : "" }
            END {
                print "category,tasks,tokens_pct,calls_pct,energy_pct,mono_success,decomp_success"
                for (k in ids) { split(k, p, SUBSEP); n[p[1]]++ }
                for (c in seen) if (calls[c, "mono"] > 0 && calls[c, "decomp"] > 0)
                    printf "%s,%d,%s,%s,%s,%d,%d\n", c, n[c], pct(tok[c, "decomp"], tok[c, "mono"]),
                        pct(calls[c, "decomp"], calls[c, "mono"]), noen[c] ? "" : pct(e[c, "decomp"], e[c, "mono"]),
                        succ[c, "mono"], succ[c, "decomp"]
            }' "$t" "$t" | { read -r h; echo "$h"; sort; } > "$tmp/decomp.csv"
        if [ "$(wc -l < "$tmp/decomp.csv")" -gt 1 ]; then
            cp "$tmp/decomp.csv" "$out/decomposition.csv"
            gp decomposition.gp "$out/decomposition" "data='$out/decomposition.csv'" "label='$label'"
        else
            echo "skipped: $r decomposition overhead: needs tasks run in both forms (--form both)"
        fi
    else
        echo "skipped: $r decomposition overhead: needs tasks run in both forms (--form both)"
    fi
done

# --- across runs -----------------------------------------------------------
# One row per run and form from summary.csv's mean and stddev rows. The cost
# accounting columns (wall, facility, idle share, $) are used when a run has
# them; their names are matched loosely so that this keeps working as the
# accounting lands.
energy=$tmp/energy.csv; front=$tmp/frontier.csv; util=$tmp/util.csv
echo "name,device,psu,facility,idle,total_sd" > "$energy"
echo "name,success_pct,success_sd,x,x_sd" > "$front"
echo "name,e_per_s,busy_per_s,idle_w" > "$util"
stacked=0; have_usd=1; n_energy=0; n_util=0
for r in "$@"; do
    s=$r/summary.csv
    name=$(run_label "$r")
    dev=$(col "$s" energy_j_per_success); [ -n "$dev" ] || dev=$(col "$s" "$(colmatch "$s" '^device.*_j_per_success$')")
    wall=$(col "$s" "$(colmatch "$s" '^wall.*j.*per_success$')")
    fac=$(col "$s" "$(colmatch "$s" '^facility.*j.*per_success$')")
    idle=$(col "$s" "$(colmatch "$s" '^idle_share.*per_success$')")
    usd=$(col "$s" usd_per_success); [ -n "$usd" ] || usd=$(col "$s" "$(colmatch "$s" '^(total_)?usd.*per_success$')")
    total=$(col "$s" "$(colmatch "$s" '^local_total.*j.*per_success$')")
    [ -n "$usd" ] || have_usd=0
    if [ -n "$wall" ] && [ -n "$fac" ]; then stacked=1; fi
    # Rows: name, the stats of each form ("mean" then "stddev").
    awk -F, -v name="$(printf '%s' "$name" | tr ",'" ';`')" -v fc="$(col "$s" form)" -v rc="$(col "$s" repeat)" \
        -v sr="$(col "$s" success_rate)" -v dev="$dev" -v wall="$wall" -v fac="$fac" -v idle="$idle" \
        -v usd="$usd" -v total="$total" -v el="$(col "$s" elapsed_s)" -v tk="$(col "$s" successes)" \
        -v energy="$energy" -v front="$front" '
        NR == 1 { next }
        $rc == "mean"   { for (i = 1; i <= NF; i++) m[$fc, i] = $i; forms[$fc] = 1 }
        $rc == "stddev" { for (i = 1; i <= NF; i++) sd[$fc, i] = $i }
        END {
            for (f in forms) {
                label = name " " f
                if (m[f, dev] != "") {
                    d = m[f, dev]
                    psu = (wall && m[f, wall] != "") ? m[f, wall] - d : 0
                    fa = (fac && m[f, fac] != "") ? m[f, fac] - m[f, wall] : 0
                    id = (idle && m[f, idle] != "") ? m[f, idle] : 0
                    tsd = total ? sd[f, total] : (fac ? sd[f, fac] : sd[f, dev])
                    printf "%s,%s,%s,%s,%s,%s\n", label, d, psu, fa, id, tsd + 0 >> energy
                }
                x = usd ? usd : dev
                if (m[f, x] != "")
                    printf "%s,%s,%s,%s,%s\n", label, 100 * m[f, sr], 100 * sd[f, sr], m[f, x], sd[f, x] + 0 >> front
            }
        }' "$s"
    # Utilization curve inputs: device J and busy seconds per success (mean
    # repeat), idle power measured before the run.
    idle_w=$(meta .energy.idle_w "$r")
    if [ -n "$idle_w" ] && [ -r "$r/tasks.csv" ]; then
        t=$r/tasks.csv
        awk -F, -v name="$(printf '%s' "$name" | tr ',' ';')" -v idle_w="$idle_w" -v fc="$(col "$t" form)" \
            -v oc="$(col "$t" outcome)" -v du="$(col "$t" duration_s)" -v en="$(col "$t" energy_j)" '
            NR == 1 { next }
            { f = $fc; forms[f] = 1; busy[f] += $du; if ($en == "") noen[f] = 1; else e[f] += $en
              if ($oc == "success") ok[f]++ }
            END { for (f in forms) if (ok[f] > 0 && !noen[f])
                      printf "%s %s,%.6g,%.6g,%s\n", name, f, e[f] / ok[f], busy[f] / ok[f], idle_w }' "$t" >> "$util"
    fi
done
n_energy=$(($(wc -l < "$energy") - 1)); n_front=$(($(wc -l < "$front") - 1)); n_util=$(($(wc -l < "$util") - 1))

if [ "$n_energy" -gt 0 ]; then
    note="device energy as recorded in the meta.json of each run: measured, or estimated where no counter was readable"
    note2=""
    [ "$stacked" = 1 ] || note2="not stacked by boundary: summary.csv of these runs has no wall, facility or idle-share columns"
    cp "$energy" "$cross/energy-per-success.csv"
    gp energy.gp "$cross/energy-per-success" "data='$cross/energy-per-success.csv'" "stacked=$stacked" "note='$(gpstr "$note")'" "note2='$(gpstr "$note2")'"
    [ "$stacked" = 1 ] || echo "note: energy per success drawn at the device boundary only: PSU/facility/idle-share stacking needs wall_*, facility_* and idle_share_* per-success columns in summary.csv"
else
    echo "skipped: energy per successful task: needs energy_j_per_success in summary.csv (a run with energy and at least one success)"
fi

# Cascade settings: one CSV per diff folder (k,success_pct,x, in the
# frontier's x unit), CROSS/frontier-cascade-N.csv; titles in
# CROSS/frontier-cascade.names, line N.
rm -f "$cross"/frontier-cascade-*.csv "$cross/frontier-cascade.names"
n_casc=0
for c in "${cascades[@]}"; do
    f=$c/cascade.csv
    xc=$(col "$f" usd_per_success); [ "$have_usd" = 1 ] || xc=$(col "$f" energy_j_per_success)
    rows=$(awk -F, -v kc="$(col "$f" k)" -v cc="$(col "$f" category)" -v sc="$(col "$f" success_rate)" -v xc="$xc" \
        'NR > 1 && $cc == "all" && $xc != "" && $sc != "" { printf "%s,%s,%s\n", $kc, 100 * $sc, $xc }' "$f")
    if [ -z "$rows" ]; then
        echo "skipped: cascade of $c on the frontier: no k with a success and a per-success figure"
        continue
    fi
    n_casc=$((n_casc + 1))
    printf 'k,success_pct,x\n%s\n' "$rows" > "$cross/frontier-cascade-$n_casc.csv"
    printf 'cascade %s (k = small-model attempts before escalating)\n' "$(basename "$c" | tr "'" '`')" >> "$cross/frontier-cascade.names"
done
cargs=()
[ "$n_casc" -eq 0 ] || cargs=("cbase='$cross/frontier-cascade'" "nc=$n_casc")

if [ "$n_front" -gt 0 ] || [ "$n_casc" -gt 0 ]; then
    cp "$front" "$cross/frontier.csv"
    if [ "$have_usd" = 1 ]; then
        gp frontier.gp "$cross/frontier" "data='$cross/frontier.csv'" "xlab='\$ per successful task'" "ttl='Accuracy against cost per successful task'" "${cargs[@]}"
    else
        echo "skipped: cost-accuracy frontier in \$: needs a usd_per_success column in summary.csv (cost accounting); drawing the energy-accuracy frontier instead"
        gp frontier.gp "$cross/frontier-energy" "data='$cross/frontier.csv'" "xlab='device J per successful task'" "ttl='Accuracy against device energy per successful task'" "${cargs[@]}"
    fi
else
    echo "skipped: frontier: needs runs with at least one success (a per-success figure in summary.csv)"
fi

# The accounting's own sensitivity table (RUN/sensitivity.csv, written by
# `agentperf report RUN --profile P --sensitivity RUN/sensitivity.csv`) gives
# J and $ per success over utilization; it is drawn at its lowest PUE.
sens=$tmp/sens.csv; names=$tmp/sens-names; : > "$sens"; : > "$names"
for r in "$@"; do
    f=$r/sensitivity.csv
    [ -r "$f" ] || continue
    awk -F, -v name="$(run_label "$r" | tr ',' ';')" -v sens="$sens" -v names="$names" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { rows[NR] = $0; p = $c["pue"] + 0; if (min == "" || p < min) min = p }
        END {
            for (k = 2; k <= NR; k++) {
                split(rows[k], x, ","); if (x[c["pue"]] + 0 != min) continue
                f = x[c["form"]]; if (!(f in seen)) { seen[f] = ++nf; order[nf] = f }
                blk[f] = blk[f] sprintf("%s %s,%s,%s,%s\n", name, f, x[c["utilization"]], x[c["energy_j_per_success"]], x[c["usd_per_success"]])
            }
            for (j = 1; j <= nf; j++) { printf "%s\n\n", blk[order[j]] >> sens; print name " " order[j] >> names }
            printf "%.2f\n", min > (sens ".pue")
        }' "$f"
done
if [ -s "$sens" ]; then
    cp "$sens" "$cross/sensitivity-plot.csv"
    n_sens=$(wc -l < "$names")
    pue=$(head -1 "$sens.pue")
    namedef="nm(i) = system(sprintf(\"sed -n %dp $names\", i + 1))"
    gp sensitivity.gp "$cross/utilization" "data='$cross/sensitivity-plot.csv'" "n=$n_sens" "pue='$pue'" "$namedef"
fi

if [ "$n_util" -gt 0 ]; then
    cp "$util" "$cross/utilization.csv"
    gp utilization.gp "$cross/utilization-energy" "data='$cross/utilization.csv'"
    [ -s "$sens" ] || echo "skipped: \$ per successful task against utilization: needs RUN/sensitivity.csv (agentperf report RUN --profile P --sensitivity RUN/sensitivity.csv)"
else
    echo "skipped: utilization curve: needs energy.idle_w in meta.json and a run with energy and at least one success"
fi
