# Attempts per task for one run, per repeat (plot.sh writes data from
# RUN/tasks.csv): for each attempt count k = 1..K (K: the most attempts the
# workload allows or any task used, so runs of one workload share the axis),
# the tasks per repeat that succeeded with k attempts and that failed after
# k, by form: mean over repeats, error bars the stddev over repeats.
# data: k,ok_mono,ok_mono_sd,bad_mono,bad_mono_sd,ok_decomp,ok_decomp_sd,bad_decomp,bad_decomp_sd
# (interrupted tasks are left out). has_dec: 1 when the run has decomposed tasks.
load dir."/common.gp"
set datafile separator ","
if (!notitle) { set title wrap(sprintf("Attempts per task: %s", label)) noenhanced }
set xlabel "attempts the task used (decomposed form: all sub-calls' attempts)"
set ylabel "tasks per repeat (mean)"
set key below horizontal font small samplen 1.5
set style data histogram
set style histogram errorbars gap 1 lw 1
set boxwidth 0.9
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
ser(c, col, t) = sprintf("data using (column('%s')):(column('%s_sd')) lc rgb '%s' title '%s', ", c, c, col, t)
cmd = "data using (column('ok_mono')):(column('ok_mono_sd')):xtic(sprintf('%d', int(column('k')))) lc rgb '#228833' title 'succeeded, monolithic', "
cmd = cmd . ser("bad_mono", "#ee6677", "failed, monolithic")
if (has_dec) { cmd = cmd . ser("ok_decomp", "#66ccee", "succeeded, decomposed") . ser("bad_decomp", "#ccbb44", "failed, decomposed") }
eval "plot " . cmd[1:strlen(cmd) - 2]
