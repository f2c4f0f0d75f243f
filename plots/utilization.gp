# Energy per successful task against deployment utilization u (the home-vs-
# datacenter curve), at the report's boundary. A local run's curve is
#   J(u) = (E + P_idle t_busy (1/u - 1)) / eff x PUE / successes
# with E and t_busy the device energy and time of its tasks, P_idle the idle
# baseline in meta.json, eff and PUE the profile's (1 and 1 without one: the
# device boundary). A remote run carries no idle share (its client is not
# hardware dedicated to the work): its line is flat at the report's total
# (MODELED provider facility + client). data (plot.sh):
#   name,kind,e_per_s,busy_per_s,idle_w,eff,pue,total
load dir."/common.gp"
set datafile separator ","
set title title("Energy per success against utilization")
set xlabel "deployment utilization u"
set ylabel "J per success (log)"
set logscale xy
set xrange [0.01:1]
set format x "%g"
set xtics ("1%%" 0.01, "5%%" 0.05, "10%%" 0.1, "25%%" 0.25, "50%%" 0.5, "100%%" 1)
set key below center horizontal noenhanced font small samplen 1.5
set arrow 1 from 0.05, graph 0 to 0.05, graph 1 nohead dt 2 lc rgb "#888888"
set arrow 2 from 0.9, graph 0 to 0.9, graph 1 nohead dt 2 lc rgb "#888888"
set label 2 "home GPU ~5%" at 0.052, graph 0.95 font small noenhanced
set label 3 "datacenter ~90%" at 0.87, graph 0.95 right font small noenhanced
set samples 200
if (exists("nosucc") && strlen(nosucc)) { set label 9 "no success (no line): ".nosucc at graph 0.02, graph 0.06 font small noenhanced tc rgb "#cc3311" }
n = system("awk 'END{print NR-1}' ".data) + 0
nm(i)  = system(sprintf("awk -F, 'NR==%d{print $1}' %s", i + 1, data))
kd(i)  = system(sprintf("awk -F, 'NR==%d{print $2}' %s", i + 1, data))
val(i, c) = system(sprintf("awk -F, 'NR==%d{print $%d}' %s", i + 1, c, data)) + 0
J(u, e, b, p, eff, pue) = (e + p * b * (1.0/u - 1)) / eff * pue
plot for [i=1:n] (kd(i) eq "remote" ? val(i, 8) : J(x, val(i,3), val(i,4), val(i,5), val(i,6), val(i,7))) lw 2 lc i \
     title nm(i).(kd(i) eq "remote" ? " (remote, MODELED: no idle share)" : (val(i,7) == 1 && val(i,6) == 1 ? " (device)" : " (facility + idle share)"))
