# Power over time with model calls marked, for one run.
# Reads the device:power rows of RUN/samples.csv (W; plot.sh passes them as
# `power`, header kept, because rows of other channels between them would
# break the line) and RUN/calls.csv: each call starts a thin vertical line,
# and the strip at the top shows each call's span (t_start_s to
# t_start_s + e2e_s) in alternating colours, so back-to-back calls stay
# distinguishable. Both files share the run's clock zero.
# Variables: power, calls, label (title text), prov (provenance of device power).
load dir."/common.gp"
set datafile separator ","
set title wrap(sprintf("Device power over time: %s", label)) noenhanced
set xlabel "time since the run's first sample (s)"
set ylabel "device power (W)"
set key bottom right opaque box
stats power using (column("value")) nooutput
ymax = STATS_max * 1.25
set yrange [0:ymax]
set label 1 "power: ".prov at graph 0, graph -0.16 font ",8" noenhanced
set bmargin 6
plot calls using (column("t_start_s")):(0):(0):(ymax * 0.93) with vectors nohead lw 0.5 lc rgb "#a04477aa" title "call start", \
     calls using (column("t_start_s") + column("e2e_s")/2):(ymax * 0.965):(column("e2e_s")/2):(ymax * 0.03):(int(column(0)) % 2 ? 0x4477aa : 0xee6677) \
        with boxxyerror fs solid 1.0 noborder lc rgb variable title "call in flight (alternating colours)", \
     power using (column("t_s")):(column("value")) with lines lw 1.5 lc rgb "#cc3311" title "device power"
