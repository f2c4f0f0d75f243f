# Attempts per task: distribution over the tasks of one run (all repeats),
# successful tasks by form, and failed tasks, from RUN/tasks.csv (attempts,
# success, form; interrupted tasks are left out).
load dir."/common.gp"
set datafile separator ","
set title wrap(sprintf("Attempts per task: %s", label)) noenhanced
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
# A series with no task at all is left out: gnuplot warns on an empty one.
stats f using (ok("mono")) nooutput;   s_mono = STATS_sum
stats f using (ok("decomp")) nooutput; s_dec = STATS_sum
stats f using (bad("mono")) nooutput;  f_mono = STATS_sum
stats f using (bad("decomp")) nooutput; f_dec = STATS_sum
# (gnuplot still scans a plot clause under an empty "for", so the command is
# built from the non-empty series and then run.)
ser(off, fn, f, col, t) = sprintf("f using (column('attempts') %+.1f):(%s('%s')) smooth frequency with boxes lc rgb '%s' title '%s', ", off, fn, f, col, t)
cmd = ""
if (s_mono > 0) { cmd = cmd . ser(-0.3, "ok", "mono", "#228833", "succeeded, monolithic") }
if (s_dec > 0)  { cmd = cmd . ser(-0.1, "ok", "decomp", "#66ccee", "succeeded, decomposed") }
if (f_mono > 0) { cmd = cmd . ser(0.1, "bad", "mono", "#ee6677", "failed, monolithic") }
if (f_dec > 0)  { cmd = cmd . ser(0.3, "bad", "decomp", "#ccbb44", "failed, decomposed") }
if (strlen(cmd) == 0) { cmd = "NaN notitle, " }
eval "plot " . cmd[1:strlen(cmd) - 2]
