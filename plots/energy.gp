# J per successful task by backend and form, across runs, with error bars
# (stddev over repeats). data (from plot.sh, one row per run and form):
#   name,device,psu,facility,idle,total_sd,provenance
# psu, facility and idle are the extra joules of each boundary (wall - device,
# facility - wall, idle share); 0 when the run has no cost accounting, and then
# only the device bar is drawn (stacked = 0).
load dir."/common.gp"
set datafile separator ","
set title "Energy per successful task (all attempts, failed ones included)"
set ylabel "J per successful task"
set boxwidth 0.6
set xtics rotate by 12 right noenhanced font ",8"
set yrange [0:*]
set offsets 0, 0, graph 0.05, 0
# Outside the plot: inside, the legend collides with tall bars.
set key outside right top vertical Left reverse noenhanced font ",9"
set bmargin 11
set rmargin 4
set lmargin 20
set label 1 note at screen 0.01, screen 0.045 font ",8" noenhanced
set label 2 note2 at screen 0.01, screen 0.015 font ",8" noenhanced
z(c) = column(c)
plot data using 0:(z("device")+z("psu")+z("facility")+z("idle")):xtic(stringcolumn("name")) with boxes lc rgb "#ccbb44" title (stacked ? "idle share at the deployment's utilization" : ""), \
     data using 0:(z("device")+z("psu")+z("facility")) with boxes lc rgb "#aa3377" title (stacked ? "facility overhead (PUE)" : ""), \
     data using 0:(z("device")+z("psu")) with boxes lc rgb "#66ccee" title (stacked ? "PSU loss" : ""), \
     data using 0:(z("device")) with boxes lc rgb "#4477aa" title "device", \
     data using 0:(z("device")+z("psu")+z("facility")+z("idle")):(column("total_sd")) with yerrorbars lc rgb "black" pt 0 lw 1.5 title "+- stddev over repeats"
