# Accuracy against cost per successful task, one point per run and form.
# data (from plot.sh): name,success_pct,success_sd,x,x_sd; error bars are the
# stddev over repeats in both directions. xlab names x
# ("$ per successful task" when the runs have cost accounting, else device J).
# cbase and nc (optional): nc cascade settings from `agentperf diff --csv`,
# cbase-1.csv ... (k,success_pct,x), titled by the lines of cbase.names;
# each is one line of points labelled k=0, k=1, ...
load dir."/common.gp"
set datafile separator ","
set title ttl noenhanced
set xlabel xlab
set ylabel "success rate (%)"
set yrange [0:105]
set xrange [0:*]
set offsets 0, graph 0.15, 0, 0
set key below left Left reverse noenhanced
set xlabel offset 0,0.3
set bmargin 7
set rmargin 8
n = system("awk 'END{print NR-1}' ".data) + 0
# Titles go inside a quoted string below; plot.sh writes them without single quotes.
nm(i) = system(sprintf("awk -F, 'NR==%d{print $1}' %s", i + 2, data))
if (!exists("nc")) { nc = 0; cbase = "" }
cf(j) = sprintf("%s-%d.csv", cbase, j + 1)
cn(j) = system(sprintf("sed -n %dp '%s.names'", j + 1, cbase))
# gnuplot scans a plot clause even under an empty "for" (and warns about it),
# so the command is built from what exists, then run.
cmd = ""
do for [i=0:n-1] {
    cmd = cmd . sprintf("'%s' every ::%d::%d using (column('x')):(column('success_pct')):(column('x_sd')):(column('success_sd')) with xyerrorbars pt %d ps 1.5 lw 1.5 lc %d title '%s', ", data, i, i, 7 + i % 6, i + 1, nm(i))
}
do for [j=0:nc-1] {
    cmd = cmd . sprintf("'%s' using (column('x')):(column('success_pct')) with linespoints dt 2 pt 6 ps 1.2 lw 1.5 lc %d title '%s', ", cf(j), n + j + 1, cn(j))
    cmd = cmd . sprintf("'%s' using (column('x')):(column('success_pct')):(sprintf('k=%%d', int(column('k')))) with labels offset 0.6,0.9 left font ',9' textcolor lt %d notitle, ", cf(j), n + j + 1)
}
eval "plot " . cmd[1:strlen(cmd) - 2]
