# Attempts per task: distribution over the tasks of one run (all repeats),
# successful tasks by form, and failed tasks, from RUN/tasks.csv (attempts,
# success, form; interrupted tasks are left out).
load dir."/common.gp"
set datafile separator ","
set title sprintf("Attempts per task: %s", label) noenhanced
set xlabel "attempts the task used (decomposed form: all sub-calls' attempts)"
set ylabel "tasks (all repeats)"
set key top right
set boxwidth 0.2
set xtics 1 scale 0
set yrange [0:*]
set offsets 0.6, 0.6, 0, 0
ok(f)   = (strcol("outcome") eq "success" && strcol("form") eq f) ? 1 : 0
bad(f)  = (strcol("outcome") eq "failed" || strcol("outcome") eq "error") && strcol("form") eq f ? 1 : 0
f = run."/tasks.csv"
plot f using (column("attempts") - 0.3):(ok("mono")) smooth frequency with boxes lc rgb "#228833" title "succeeded, monolithic", \
     f using (column("attempts") - 0.1):(ok("decomp")) smooth frequency with boxes lc rgb "#66ccee" title "succeeded, decomposed", \
     f using (column("attempts") + 0.1):(bad("mono")) smooth frequency with boxes lc rgb "#ee6677" title "failed, monolithic", \
     f using (column("attempts") + 0.3):(bad("decomp")) smooth frequency with boxes lc rgb "#ccbb44" title "failed, decomposed"
