# Power over time for one run (plot.sh): the device:power rows of
# RUN/samples.csv (power, W) in the main panel, with the idle baseline
# measured before the run (idle_w, W; NaN: none) and a dashed line where each
# repeat begins (starts: repeat,t_s from tasks.csv); above the axes, a strip
# with the number of model calls in flight (device:active-calls rows,
# active), which stays readable at any call count, unlike one mark per call.
# who: "Device" for a local model server, "Client machine" for a remote
# model (its own power only; the provider's is MODELED elsewhere).
# running (optional; "" or unset: none): the server:requests-running rows,
# the model server's own count from its /metrics, in a panel beneath the
# power on the same time axis.
# Variables: power, active, starts, idle_w, who, label, prov, running.
load dir."/common.gp"
set datafile separator ","
has_running = exists("running") && running ne ""
# One time axis for every panel.
undefine STATS_*
stats power using (column("t_s")) nooutput prefix "T"
if (exists("T_max") && T_max > T_min) { set xrange [T_min : T_max] }
set multiplot
# The strip: top 18 % of the canvas, no x labels, its own y axis.
set lmargin at screen 0.12
set rmargin at screen 0.97
set tmargin at screen (notitle ? 0.97 : 0.86)
set bmargin at screen (notitle ? 0.80 : 0.70)
if (!notitle) { set title wrap(sprintf("%s power over time: %s", who, label)) noenhanced }
set format x ""
set ylabel "calls" font small
set ytics font small
set key off
undefine STATS_*
stats active using (column("value")) nooutput
amax = exists("STATS_max") && STATS_max > 0 ? STATS_max : 1
set yrange [0 : amax * 1.1]
set ytics (0, int(amax))
set grid noytics
plot active using (column("t_s")):(column("value")) with fillsteps fc rgb "#4477aa" fs solid 0.6 noborder
unset title
# The power panel.
set tmargin at screen (notitle ? 0.78 : 0.68)
set bmargin at screen (has_running ? 0.42 : 0.27)
set format x (has_running ? "" : "%g")
if (!has_running) { set xlabel "time since the run's first sample (s)" }
set ylabel "power (W)" font ""
set ytics auto font ""
set grid ytics
set autoscale y
undefine STATS_*
stats power using (column("value")) nooutput
pmax = exists("STATS_max") ? STATS_max : 1
pmax = idle_w == idle_w && idle_w > pmax ? idle_w : pmax
set yrange [0 : pmax * 1.15]
set ytics 0, (pmax > 10 ? 10 ** floor(log10(pmax)) : 1) * (pmax / 10 ** floor(log10(pmax)) > 5 ? 2 : 1)
set key inside bottom right horizontal opaque box font small samplen 1.5
if (!has_running) { set label 1 "power: ".prov at screen 0.01, screen 0.02 font small noenhanced }
if (idle_w == idle_w) { set arrow 1 from graph 0, first idle_w to graph 1, first idle_w nohead dt 3 lw 1.5 lc rgb "#228833" }
nst = system(sprintf("awk 'END{print NR-1}' '%s'", starts)) + 0
do for [i=2:nst] {
    ts = system(sprintf("awk -F, 'NR==%d{print $2}' '%s'", i + 1, starts)) + 0
    set arrow (10 + i) from ts, graph 0 to ts, graph 1 nohead dt 2 lc rgb "#888888"
    set label (10 + i) sprintf("repeat %d", i) at ts, graph 0.96 left offset 0.3,0 font small
}
plot power using (column("t_s")):(column("value")) with lines lw 1.2 lc rgb "#cc3311" title sprintf("%s power", who), \
     (idle_w == idle_w ? NaN : NaN) with lines dt 3 lw 1.5 lc rgb "#228833" title (idle_w == idle_w ? "idle baseline" : "")
if (has_running) {
    unset arrow
    unset label
    set key off
    set tmargin at screen 0.40
    set bmargin at screen 0.21
    set format x "%g"
    set xlabel "time since the run's first sample (s)"
    set ylabel "requests\nrunning" font small
    undefine STATS_*
    stats running using (column("value")) nooutput
    rmax = exists("STATS_max") && STATS_max > 0 ? STATS_max : 1
    set yrange [0 : rmax * 1.2]
    set ytics (0, int(rmax)) font small
    set label 1 "power: ".prov."; requests: the server's /metrics" at screen 0.01, screen 0.02 font small noenhanced
    plot running using (column("t_s")):(column("value")) with steps lw 1.5 lc rgb "#4477aa"
}
unset multiplot
