# Decomposition overhead by task category for one run: (decomposed -
# monolithic) / monolithic in %, over the tasks run in both forms, summed over
# repeats. data: category,tasks,tokens_pct,calls_pct,energy_pct,mono_success,decomp_success
# (written by plot.sh from RUN/tasks.csv).
load dir."/common.gp"
set datafile separator ","
set title wrap(sprintf("Decomposition overhead by task category: %s", label)) noenhanced
set ylabel "overhead vs monolithic (%)"
set key top left
set style data histogram
set style histogram clustered gap 1
set boxwidth 0.9
set xtics noenhanced font ",9"
set xzeroaxis lt -1
set bmargin 6
set label 1 "overhead = (decomposed - monolithic) / monolithic over tasks run in both forms, summed per category over tasks and repeats;\nsucceeded: monolithic | decomposed, all repeats" at graph 0, graph -0.15 font ",8"
plot data using (column("tokens_pct")):xtic(sprintf("%s (%d tasks)\nsucceeded %d | %d", strcol("category"), column("tasks"), column("mono_success"), column("decomp_success"))) lc rgb "#4477aa" title "tokens (prompt + completion)", \
     data using (column("calls_pct")) lc rgb "#ee6677" title "calls", \
     data using (column("energy_pct")) lc rgb "#228833" title "energy (J)"
