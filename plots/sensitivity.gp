# J and $ per successful task against deployment utilization u (the home-vs-
# datacenter curve), from the cost accounting's sensitivity.csv (agentperf
# report RUN --profile P --sensitivity RUN/sensitivity.csv): the boundary it
# calls headline energy (facility + idle share for a local deployment) and $
# (electricity + capital share; token prices for a remote model).
# data (from plot.sh, no header): blocks of name,u,j,usd separated by two
# blank lines, one block per run and form, at one PUE (variable pue).
load dir."/common.gp"
set datafile nocolumnheaders
set datafile separator ","
set multiplot layout 1,2 title sprintf("Cost per successful task against utilization u of the hardware (PUE %s, from sensitivity.csv)", pue)
set logscale xy
set xrange [0.05:1]
set xtics ("5%%" 0.05, "10%%" 0.1, "25%%" 0.25, "50%%" 0.5, "100%%" 1)
set xlabel "deployment utilization u"
set key top right noenhanced font ",8"
set ylabel "J per successful task (headline boundary)"
plot for [i=0:n-1] data index i using 2:3 with linespoints pt 7 ps 0.6 lw 2 lc (i + 1) title nm(i)
set ylabel "$ per successful task"
set format y "%.1e"
plot for [i=0:n-1] data index i using 2:4 with linespoints pt 7 ps 0.6 lw 2 lc (i + 1) title nm(i)
unset multiplot
