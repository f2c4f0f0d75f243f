# Success rate against a cost per successful task ($, or the report's total
# energy), one point per run (plot.sh). data: name,success_pct,success_sd,x,x_sd,nosucc;
# error bars: stddev over repeats. Runs with no success have no x: they are
# named under the plot instead of being dropped. Log x when x spans more than
# 10x. cbase and nc (optional): nc cascade settings (agentperf diff --csv),
# cbase-1.csv ... (k,success_pct,x), titled by the lines of cbase.names.
load dir."/common.gp"
set datafile separator ","
set title title(ttl) noenhanced
set xlabel xlab noenhanced
set ylabel "success rate (%)"
set key below center horizontal Left reverse noenhanced font small samplen 1
if (!exists("nc")) { nc = 0; cbase = "" }
cf(j) = sprintf("%s-%d.csv", cbase, j + 1)
cn(j) = system(sprintf("sed -n %dp '%s.names'", j + 1, cbase))
# The x range over the runs and the cascades together.
xs = ""
undefine STATS_*
stats data using (column("nosucc") == 0 ? column("x") : NaN) nooutput
xmin = (exists("STATS_records") && STATS_records > 0) ? STATS_min : NaN; xmax = (exists("STATS_records") && STATS_records > 0) ? STATS_max : NaN
do for [j=0:nc-1] {
    undefine STATS_*
    stats cf(j) using (column("x") > 0 ? column("x") : NaN) nooutput
    if ((exists("STATS_records") && STATS_records > 0)) {
        xmin = (xmin == xmin && xmin < STATS_min) ? xmin : STATS_min
        xmax = (xmax == xmax && xmax > STATS_max) ? xmax : STATS_max
    }
}
if (xmin == xmin && xmax / xmin > 10) {
    set logscale x
    set format x "%g"
    set xrange [xmin / 2 : xmax * 2]
    set xlabel xlab." (log)" noenhanced
} else { if (xmin == xmin) {
    set xrange [0 : xmax * 1.25]
} }
set yrange [0:105]
n = system("awk 'END{print NR-1}' ".data) + 0
nm(i) = system(sprintf("awk -F, 'NR==%d{print $1}' %s", i + 2, data))
nos(i) = system(sprintf("awk -F, 'NR==%d{print $6}' %s", i + 2, data)) + 0
# Runs without a success: named at the bottom of the plot area.
nolist = ""
do for [i=0:n-1] { if (nos(i)) { nolist = nolist . (strlen(nolist) ? ", " : "") . nm(i) } }
if (strlen(nolist)) { set label 9 "no success: ".nolist at graph 0.02, graph 0.06 font small noenhanced tc rgb "#cc3311" }
cmd = ""
do for [i=0:n-1] {
    if (!nos(i)) {
        cmd = cmd . sprintf("'%s' every ::%d::%d using (column('x')):(column('success_pct')):(column('x_sd')):(column('success_sd')) with xyerrorbars pt %d ps 1.3 lw 1.2 lc %d title '%s', ", data, i, i, 7 + i % 6, i + 1, nm(i))
    }
}
do for [j=0:nc-1] {
    cmd = cmd . sprintf("'%s' using (column('x')):(column('success_pct')) with linespoints dt 2 pt 6 ps 1 lw 1.2 lc %d title '%s', ", cf(j), n + j + 1, cn(j))
    cmd = cmd . sprintf("'%s' using (column('x')):(column('success_pct')):(sprintf('k=%%d', int(column('k')))) with labels offset 0.5,0.8 left font '%s' textcolor lt %d notitle, ", cf(j), small, n + j + 1)
}
if (strlen(cmd) == 0) { cmd = "NaN notitle, " }
eval "plot " . cmd[1:strlen(cmd) - 2]
