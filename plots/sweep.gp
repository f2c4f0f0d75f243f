# The load curve of one sweep (agentperf sweep: DIR/sweep.csv): measured J per
# task against load beside what the profile's utilization formula predicts
# from the lowest-load point (sweep.h: modeled_j_per_task), J per output
# token, and latency from the scheduled start with the achieved throughput.
# Called by plots/sweep.sh with data='DIR/sweep.csv', axis='concurrency'
# (or rate, context) and src (the energy provenance line).
load dir."/common.gp"
set datafile separator ","
set multiplot layout 1,2 title (notitle ? "" : "Load sweep against ".axis." (energy: ".src.")") noenhanced font small
xl = (axis eq "concurrency") ? "concurrent episodes (-c)" : (axis eq "rate") ? "offered tasks/s (--rate)" : "context tokens (--context, bytes/4)"
set xlabel xl font small
set logscale x 2
set format x "%g"
set key below left box opaque noenhanced font small maxrows 3 width -2
set ylabel "J per task (device)" font small
set y2label "J per output token" font small
set y2tics
set ytics nomirror
set yrange [0:*]
set y2range [0:*]
plot data using (column("value")):(column("j_per_task")) with linespoints lw 2 pt 7 title "measured J/task", \
     data using (column("value")):(column("modeled_j_per_task")) with linespoints lw 2 dt 2 pt 6 title "modeled (utilization formula)", \
     data using (column("value")):(column("j_per_completion_token")) axes x1y2 with linespoints lw 1 pt 5 lc rgb "#888888" title "J/token (right)"
unset y2label
set ylabel "s from scheduled start" font small
set y2label "tasks/s achieved" font small
set yrange [0:*]
plot data using (column("value")):(column("e2e_p99_s")) with linespoints lw 2 pt 7 title "e2e p99", \
     data using (column("value")):(column("e2e_p50_s")) with linespoints lw 2 pt 6 dt 2 title "e2e p50", \
     data using (column("value")):(column("ttft_p99_s")) with linespoints lw 1 pt 4 title "TTFT p99", \
     data using (column("value")):(column("tasks_per_s")) axes x1y2 with linespoints lw 1 pt 5 lc rgb "#888888" title "tasks/s (right)"
unset multiplot
