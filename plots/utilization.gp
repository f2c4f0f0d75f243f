# J per successful task against deployment utilization u (the home-vs-
# datacenter curve). Each run's curve is
#   J(u) = (E + P_idle * t_busy * (1/u - 1)) / successes
# at the device boundary: E the device energy of the tasks, t_busy their
# wall time, P_idle the idle power measured before the run (meta.json). The
# idle share is the idle power the hardware draws while it waits for work,
# charged to the work it does. data (from plot.sh): name,e_per_s,busy_per_s,idle_w
load dir."/common.gp"
set datafile separator ","
set title "Energy per successful task against utilization of the hardware (device boundary)"
set xlabel "deployment utilization u (share of time the hardware serves such work)"
set ylabel "J per successful task"
set logscale xy
set xrange [0.01:1]
set format x "%g"
set xtics ("1%%" 0.01, "2%%" 0.02, "5%%" 0.05, "10%%" 0.1, "20%%" 0.2, "50%%" 0.5, "100%%" 1)
set key bottom left noenhanced box opaque
set bmargin 6
set label 1 "J(u) = (E + P_{idle} t_{busy} (1/u - 1)) / successes; E, t_{busy}: device energy and time of the tasks; P_{idle}: idle baseline in meta.json" at graph 0, graph -0.15 font ",8"
set arrow 1 from 0.05, graph 0 to 0.05, graph 1 nohead dt 2 lc rgb "#888888"
set arrow 2 from 0.9, graph 0 to 0.9, graph 1 nohead dt 2 lc rgb "#888888"
set label 2 "home GPU, about 5%" at 0.052, graph 0.96 font ",8" noenhanced
set label 3 "datacenter, about 90%" at 0.88, graph 0.96 right font ",8" noenhanced
set samples 200
n = system("awk 'END{print NR-1}' ".data) + 0
nm(i)  = system(sprintf("awk -F, 'NR==%d{print $1}' %s", i + 1, data))
val(i, c) = system(sprintf("awk -F, 'NR==%d{print $%d}' %s", i + 1, c, data)) + 0
J(u, e, b, p) = e + p * b * (1.0/u - 1)
plot for [i=1:n] J(x, val(i,2), val(i,3), val(i,4)) lw 2 title nm(i)
