# Decomposition overhead by task category for one run: (decomposed -
# monolithic) / monolithic in %, over the tasks run in both forms, summed over
# repeats. data: category,tasks,tokens_pct,calls_pct,energy_pct,mono_success,decomp_success
# ...,tokens_sd,calls_sd,energy_sd: stddev over repeats of the per-repeat overhead
# (the error bars). Written by plot.sh from RUN/tasks.csv.
load dir."/common.gp"
set datafile separator ","
if (!notitle) { set title wrap(sprintf("Decomposition overhead by task category: %s", label)) noenhanced }
set ylabel "decomposed vs monolithic (%)"
# Below the plot: inside, the legend sat on the bars.
set key above horizontal font small samplen 1.5
set style data histogram
set style histogram errorbars gap 1 lw 1
set boxwidth 0.9
set xtics noenhanced font small
set xzeroaxis lt -1
set bmargin 4
# Room above and below the bars whatever their sign (the axis at 0 is drawn).
set offsets 0, 0, graph 0.15, graph 0.15
set yrange [*:*]
plot data using (column("tokens_pct")):(column("tokens_sd")):xtic(sprintf("%s (%d tasks)\nsucceeded %d | %d", strcol("category"), column("tasks"), column("mono_success"), column("decomp_success"))) lc rgb "#4477aa" title "tokens (prompt + completion)", \
     data using (column("calls_pct")):(column("calls_sd")) lc rgb "#ee6677" title "calls", \
     data using (column("energy_pct")):(column("energy_sd")) lc rgb "#228833" title "energy (J)", \
     data using ($0 - 0.27):(column("tokens_pct")):(sprintf("%.0f%%", column("tokens_pct"))) with labels offset 0,0.6 font small notitle, \
     data using ($0):(column("calls_pct")):(sprintf("%.0f%%", column("calls_pct"))) with labels offset 0,0.6 font small notitle, \
     data using ($0 + 0.27):(column("energy_pct")):(column("energy_pct") == column("energy_pct") ? sprintf("%.0f%%", column("energy_pct")) : "n/a") with labels offset 0,0.6 font small notitle
