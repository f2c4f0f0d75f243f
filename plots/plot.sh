#!/usr/bin/env bash
# Plots of agentperf results folders (gnuplot):
#
#   plots/plot.sh [-o CROSSDIR] [--size single|double|WxH] [--no-title] [--font N]
#                 RUN... [DIFFCSV...]
#
# --size: single (3.5 x 2.6 in, one column), double (7 x 3.2 in, the default)
# or W x H in inches; --font N: points at that size (default 8 single, 9
# double); --no-title: leave titles to the paper's captions.
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

cross="" size=double font=0 notitle=0
usage() { echo "usage: plots/plot.sh [-o CROSSDIR] [--size single|double|WxH] [--no-title] [--font N] RESULTS_DIR... [DIFF_CSV_DIR...]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        -o) [ $# -ge 2 ] || usage; cross=$2; shift 2 ;;
        --size) [ $# -ge 2 ] || usage; size=$2; shift 2
            case $size in single|double) ;; *[0-9]x[0-9]*) ;; *) echo "plot: --size: single, double or WxH in inches (e.g. 3.5x2.4), got '$size'" >&2; exit 2 ;; esac ;;
        --font) [ $# -ge 2 ] || usage; font=$2; shift 2
            case $font in ''|*[!0-9.]*) echo "plot: --font: points, e.g. 9, got '$font'" >&2; exit 2 ;; esac ;;
        --no-title) notitle=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "plot: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
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
        e="dir='$here'; term='$t'; out='$out'; size='$size'; fontpt=$font; notitle=$notitle"
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

# The name a figure gives a run: the backend's label= (as the user named it)
# with the model, else the model; never the run id. A label agentperf made
# itself (kind:model@host) is replaced by the model name.
run_label() {
    local l m
    l=$(meta .backend.label "$1")
    m=$(meta .backend.model "$1"); [ -n "$m" ] || m=$(meta .model.general_name "$1")
    [ -n "$m" ] || m=$(basename "$1")
    case $l in ''|*:*|*@*) printf '%s' "$m" ;; "$m") printf '%s' "$m" ;; *) printf '%s (%s)' "$l" "$m" ;; esac
}

# remote RUN: 1 when the run's cost accounting is a remote model's.
is_remote() { [ -n "$(meta .profiles.remote.name "$1")" ]; }

# col FILE NAME: 1-based index of a header column, empty if absent.
col() { head -1 "$1" | tr ',' '\n' | awk -v n="$2" '$0 == n { print NR; exit }'; }
# colmatch FILE REGEX: first header column matching an awk regex.
colmatch() { head -1 "$1" | tr ',' '\n' | awk -v re="$2" '$0 ~ re { print; exit }'; }

# --- per run -------------------------------------------------------------
for r in "$@"; do
    out="$r/plots"; mkdir -p "$out"
    label=$(gpstr "$(run_label "$r")")
    if [ -r "$r/samples.csv" ] && grep -q ',device:power,' "$r/samples.csv" && [ -r "$r/calls.csv" ]; then
        # The tag (measured:..., estimated:...); meta.json keeps the whole model.
        prov=$(meta .energy.device_provenance "$r"); prov=${prov%% (*}; [ -n "$prov" ] || prov="see meta.json energy"
        awk -F, -v c="$(col "$r/samples.csv" channel)" 'NR == 1 || $c == "device:power"' "$r/samples.csv" > "$tmp/power.csv"
        awk -F, -v c="$(col "$r/samples.csv" channel)" 'NR == 1 || $c == "device:active-calls"' "$r/samples.csv" > "$tmp/active.csv"
        # Where each repeat begins: its first task's start (the run's clock).
        awk -F, -v rc="$(col "$r/tasks.csv" repeat)" -v tc="$(col "$r/tasks.csv" t_start_s)" '
            NR > 1 && $tc != "" { if (!($rc in m) || $tc < m[$rc]) m[$rc] = $tc }
            END { print "repeat,t_s"; for (k = 1; k in m; k++) print k "," m[k] }' "$r/tasks.csv" > "$tmp/starts.csv"
        idle_w=$(meta .energy.idle_w "$r"); [ -n "$idle_w" ] || idle_w=NaN
        who=Device; ! is_remote "$r" || who="Client machine"
        # The model server's own running requests (its /metrics), where they were scraped.
        running=""
        if grep -q ',server:requests-running,' "$r/samples.csv"; then
            awk -F, -v c="$(col "$r/samples.csv" channel)" 'NR == 1 || $c == "server:requests-running"' "$r/samples.csv" > "$tmp/running.csv"
            running=$tmp/running.csv
        fi
        gp power.gp "$out/power" "power='$tmp/power.csv'" "active='$tmp/active.csv'" "starts='$tmp/starts.csv'" \
            "idle_w=$idle_w" "who='$who'" "label='$label'" "prov='$(gpstr "$prov")'" "running='$running'"
    elif [ -d "$r/shards" ]; then
        echo "skipped: $r power over time: a merged run has one clock per shard; each shard's samples are in shards/<index>/samples.csv"
    else
        echo "skipped: $r power over time: needs device:power rows in samples.csv (run without --no-energy)"
    fi
    if [ -r "$r/tasks.csv" ] && [ -n "$(col "$r/tasks.csv" attempts)" ]; then
        # Per repeat, then mean and stddev over repeats; k from 1 to the most
        # attempts the workload allows (meta.json policy) or any task used.
        kmax=$(meta .policy.max_attempts "$r")
        t=$r/tasks.csv
        awk -F, -v kmax="${kmax:-0}" -v rc="$(col "$t" repeat)" -v fc="$(col "$t" form)" -v ac="$(col "$t" attempts)" \
            -v oc="$(col "$t" outcome)" -v reps="$(meta .repeats "$r")" '
            NR == 1 { next }
            $oc == "interrupted" { next }
            { k = $ac + 0; if (k > kmax) kmax = k; if ($rc > nr) nr = $rc
              s = ($oc == "success" ? "ok_" : "bad_") $fc; n[s, k, $rc]++; if ($fc == "decomp") dec = 1 }
            END {
                if (reps + 0 > nr) nr = reps + 0
                if (kmax < 1) kmax = 1
                split("ok_mono bad_mono ok_decomp bad_decomp", ser, " ")
                printf "k"; for (j = 1; j <= 4; j++) printf ",%s,%s_sd", ser[j], ser[j]; print ""
                for (k = 1; k <= kmax; k++) {
                    printf "%d", k
                    for (j = 1; j <= 4; j++) {
                        m = 0; q = 0
                        for (r = 1; r <= nr; r++) { x = n[ser[j], k, r] + 0; m += x; q += x * x }
                        m /= nr; v = nr > 1 ? (q - nr * m * m) / (nr - 1) : 0
                        printf ",%.6g,%.6g", m, (v > 0 ? sqrt(v) : 0)
                    }
                    print ""
                }
                print dec + 0 > "/dev/stderr"
            }' "$t" > "$tmp/attempts.csv" 2> "$tmp/has_dec"
        cp "$tmp/attempts.csv" "$out/attempts.csv"
        gp attempts.gp "$out/attempts" "data='$out/attempts.csv'" "label='$label'" "has_dec=$(cat "$tmp/has_dec")"
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
                r = $rc; reps[r] = 1; rt[c, f, r] += $pt + $ct; rca[c, f, r] += $ca; re_[c, f, r] += $en
                if ($en == "") noen[c] = 1; else e[c, f] += $en
                if (f == "mono") { ids[c, $ic] = 1 }
                if ($oc == "success") succ[c, f]++
            }
            function pct(d, m) { return m > 0 ? sprintf("%.4f", 100 * (d - m) / m) : "" }
            # stddev over repeats of the per-repeat overhead (0 with one repeat)
            function sdv(a, c,    r, n, x, s, q, v) {
                n = s = q = 0
                for (r in reps) {
                    m = a == "t" ? rt[c, "mono", r] : a == "c" ? rca[c, "mono", r] : re_[c, "mono", r]
                    d = a == "t" ? rt[c, "decomp", r] : a == "c" ? rca[c, "decomp", r] : re_[c, "decomp", r]
                    if (m > 0) { x = 100 * (d - m) / m; n++; s += x; q += x * x }
                }
                if (n < 2) return 0
                v = (q - s * s / n) / (n - 1)
                return v > 0 ? sqrt(v) : 0
            }
            END {
                print "category,tasks,tokens_pct,calls_pct,energy_pct,mono_success,decomp_success,tokens_sd,calls_sd,energy_sd"
                for (k in ids) { split(k, p, SUBSEP); n[p[1]]++ }
                for (c in seen) if (calls[c, "mono"] > 0 && calls[c, "decomp"] > 0)
                    printf "%s,%d,%s,%s,%s,%d,%d,%.4f,%.4f,%s\n", c, n[c], pct(tok[c, "decomp"], tok[c, "mono"]),
                        pct(calls[c, "decomp"], calls[c, "mono"]), noen[c] ? "" : pct(e[c, "decomp"], e[c, "mono"]),
                        succ[c, "mono"], succ[c, "decomp"], sdv("t", c), sdv("c", c), noen[c] ? "" : sprintf("%.4f", sdv("e", c))
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
# One row per run and form from summary.csv's mean and stddev rows, at the
# report's boundary: with a profile, the cost block's total (local: device,
# PSU loss, facility overhead, idle share at the profile's utilization;
# remote: the client's facility energy plus the MODELED provider facility
# energy, no idle share); without one, the device energy as measured or
# estimated. A run with no success is kept, flagged, and drawn as "no
# success". Columns are found by name.
energy=$tmp/energy.csv; util=$tmp/util.csv
echo "name,kind,device,psu,facility,idle,client,provider,total,total_sd,nosucc,success_pct,success_sd,usd,usd_sd" > "$energy"
echo "name,kind,e_per_s,busy_per_s,idle_w,eff,pue,total" > "$util"
for r in "$@"; do
    s=$r/summary.csv
    name=$(run_label "$r")
    kind=device
    if is_remote "$r"; then kind=remote
    elif [ -n "$(meta .profiles.local.name "$r")" ]; then kind=local; fi
    awk -F, -v name="$(printf '%s' "$name" | tr ",'" ';`')" -v kind="$kind" \
        -v fc="$(col "$s" form)" -v rc="$(col "$s" repeat)" -v sr="$(col "$s" success_rate)" \
        -v sc="$(col "$s" successes)" -v dev="$(col "$s" energy_j_per_success)" \
        -v cdev="$(col "$s" device_j_per_success)" -v wall="$(col "$s" wall_j_per_success)" \
        -v fac="$(col "$s" facility_j_per_success)" -v idle="$(col "$s" idle_share_j_per_success)" \
        -v prov="$(col "$s" provider_facility_j_per_success)" -v tot="$(col "$s" total_energy_j_per_success)" \
        -v usd="$(col "$s" usd_per_success)" -v out="$energy" '
        NR == 1 { next }
        $rc == "mean"   { for (i = 1; i <= NF; i++) m[$fc, i] = $i; forms[$fc] = 1 }
        $rc == "stddev" { for (i = 1; i <= NF; i++) sd[$fc, i] = $i }
        function v(f, c) { return c && m[f, c] != "" ? m[f, c] + 0 : 0 }
        function has(f, c) { return c && m[f, c] != "" }
        END {
            for (f in forms) {
                if (f == "mono-paired") continue
                label = name (f == "mono" ? "" : " " f)
                nos = v(f, sc) == 0
                d = v(f, dev); ps = fa = id = cl = pr = 0; tt = d; tsd = sd[f, dev] + 0; k = kind
                if (kind == "local" && has(f, tot)) {
                    d = v(f, cdev); ps = v(f, wall) - d; fa = v(f, fac) - v(f, wall); id = v(f, idle)
                    tt = v(f, tot); tsd = sd[f, tot] + 0
                } else if (kind == "remote" && has(f, tot)) {
                    d = 0; cl = has(f, fac) ? v(f, fac) : v(f, cdev); pr = v(f, prov); tt = v(f, tot); tsd = sd[f, tot] + 0
                } else if (!has(f, dev)) {
                    if (!nos) continue   # no energy figure at all: nothing to draw
                    k = kind
                }
                if (k != "device" && !has(f, tot) && !nos) k = "device"
                printf "%s,%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%.9g,%.9g,%s,%s\n", label, k, d, ps, fa, id, cl, pr, tt, tsd,
                    nos, 100 * m[f, sr], 100 * sd[f, sr], has(f, usd) ? m[f, usd] : "", has(f, usd) ? sd[f, usd] + 0 : "" >> out
            }
        }' "$s"
    # Utilization curve inputs (local runs): device J and busy seconds per
    # success, idle power measured before the run, and the profile's PSU
    # efficiency and PUE (1 and 1 without a profile: the device boundary).
    idle_w=$(meta .energy.idle_w "$r")
    t=$r/tasks.csv
    if is_remote "$r"; then
        awk -F, -v name="$(printf '%s' "$name" | tr ',' ';')" -v tc="$(col "$r/summary.csv" total_energy_j_per_success)" \
            -v rc="$(col "$r/summary.csv" repeat)" -v fc="$(col "$r/summary.csv" form)" '
            NR > 1 && $rc == "mean" && $fc == "mono" && $tc != "" { printf "%s,remote,,,,,,%s\n", name, $tc }' "$r/summary.csv" >> "$util"
    elif [ -n "$idle_w" ] && [ -r "$t" ]; then
        eff=$(meta .profiles.local.params.psu_efficiency.value "$r"); [ -n "$eff" ] || eff=1
        pue=$(meta .profiles.local.params.pue.value "$r"); [ -n "$pue" ] || pue=1
        awk -F, -v name="$(printf '%s' "$name" | tr ',' ';')" -v idle_w="$idle_w" -v fc="$(col "$t" form)" \
            -v oc="$(col "$t" outcome)" -v du="$(col "$t" duration_s)" -v en="$(col "$t" energy_j)" \
            -v eff="$eff" -v pue="$pue" '
            NR == 1 { next }
            $fc == "mono" { busy += $du; if ($en == "") noen = 1; else e += $en; if ($oc == "success") ok++ }
            END { if (ok > 0 && !noen) printf "%s,local,%.6g,%.6g,%s,%s,%s,\n", name, e / ok, busy / ok, idle_w, eff, pue }' "$t" >> "$util"
    fi
done
n_energy=$(($(wc -l < "$energy") - 1)); n_util=$(($(wc -l < "$util") - 1))
cp "$energy" "$cross/energy-per-success.csv"

if [ "$n_energy" -gt 0 ]; then
    gp energy.gp "$cross/energy-per-success" "data='$cross/energy-per-success.csv'"
else
    echo "skipped: energy per successful task: no run has an energy figure (runs with --no-energy and no profile)"
fi

# Frontiers: success rate against $ and against total energy per successful
# task, one point per run; runs without a success are listed under the plot.
# Cascade settings (agentperf diff --csv) are one line of points each.
rm -f "$cross"/frontier*-cascade-*.csv "$cross"/frontier*-cascade.names
frontier() { # UNIT(usd|energy) OUT XLABEL TITLE
    local unit=$1 outb=$2 xl=$3 ttl=$4 fdata=$cross/$2.csv n_ok n_c=0 c f xc rows
    awk -F, -v unit="$unit" 'NR == 1 { print "name,success_pct,success_sd,x,x_sd,nosucc"; for (i = 1; i <= NF; i++) h[$i] = i; next }
        { x = unit == "usd" ? $h["usd"] : $h["total"]; xs = unit == "usd" ? $h["usd_sd"] : $h["total_sd"]
          if ($h["nosucc"] == 1) printf "%s,0,0,,,1\n", $h["name"]
          else if (x != "" && x > 0) printf "%s,%s,%s,%s,%s,0\n", $h["name"], $h["success_pct"], $h["success_sd"], x, xs }' "$energy" > "$fdata"
    n_ok=$(awk -F, 'NR > 1 && $6 == 0' "$fdata" | wc -l)
    for c in "${cascades[@]}"; do
        f=$c/cascade.csv
        xc=$(col "$f" usd_per_success); [ "$unit" = usd ] || xc=$(col "$f" energy_j_per_success)
        [ -n "$xc" ] || continue
        rows=$(awk -F, -v kc="$(col "$f" k)" -v cc="$(col "$f" category)" -v sc="$(col "$f" success_rate)" -v xc="$xc" \
            'NR > 1 && $cc == "all" && $xc != "" && $sc != "" { printf "%s,%s,%s\n", $kc, 100 * $sc, $xc }' "$f")
        [ -n "$rows" ] || continue
        n_c=$((n_c + 1))
        printf 'k,success_pct,x\n%s\n' "$rows" > "$cross/$outb-cascade-$n_c.csv"
        esc=$(awk -F, -v ec="$(col "$f" escalate_on)" 'NR == 2 { print ec ? $ec : "oracle" }' "$f")
        printf "cascade (%s%s), k = A attempts\n" "$esc" "$([ "$esc" = oracle ] && echo ': upper bound')" >> "$cross/$outb-cascade.names"
    done
    if [ "$n_ok" -eq 0 ] && [ "$n_c" -eq 0 ]; then
        echo "skipped: $outb: no run with a success and a per-success figure in this unit"
        return 0
    fi
    local ca=()
    [ "$n_c" -eq 0 ] || ca=("cbase='$cross/$outb-cascade'" "nc=$n_c")
    gp frontier.gp "$cross/$outb" "data='$fdata'" "xlab='$xl'" "ttl='$ttl'" "${ca[@]}"
}
frontier usd frontier '$ per successful task' 'Success against $ per success'
frontier energy frontier-energy 'J per successful task (report total)' 'Success against J per success'

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
    nos=$(awk -F, 'NR > 1 && $11 == 1 { printf "%s%s", n++ ? ", " : "", $1 }' "$energy" | tr "'" '`')
    gp utilization.gp "$cross/utilization-energy" "data='$cross/utilization.csv'" "nosucc='$nos'"
    [ -s "$sens" ] || echo "skipped: \$ per successful task against utilization: needs RUN/sensitivity.csv (agentperf report RUN --profile P --sensitivity RUN/sensitivity.csv)"
else
    echo "skipped: utilization curve: needs energy.idle_w in meta.json and a run with energy and at least one success"
fi
