# Energy per successful task by run, at the report's boundary (plot.sh):
#   data: name,kind,device,psu,facility,idle,client,provider,total,total_sd,nosucc,...
# kind local: device + PSU loss + facility overhead + idle share at the
# profile's utilization (their sum is the report's energy-total); remote: the
# client's facility energy + the MODELED provider facility energy (no idle
# share: the client is not hardware dedicated to the work); device: the
# measured or estimated device energy (no profile). Error bars: stddev over
# repeats of the total. A run with no success gets no bar but "no success".
# Log y when the totals span more than 10x.
load dir."/common.gp"
set datafile separator ","
set title title("Energy per successful task, all attempts")
set ylabel "J per success"
set boxwidth 0.6
set lmargin 14
set xtics noenhanced rotate by 20 right
set key outside right top vertical Left reverse noenhanced font small samplen 1 spacing 0.9
z(c) = column(c)
ok = "(column('nosucc') == 0 && column('total') > 0)"
undefine STATS_*
# stats warns on a file with no valid point: only runs with a success are asked.
nv = system(sprintf("awk -F, 'NR > 1 && $11 == 0 && $9 > 0' '%s' | wc -l", data)) + 0
if (nv > 0) { stats data using ((column("nosucc") == 0 && column("total") > 0) ? column("total") : NaN) nooutput }
have = (exists("STATS_records") && STATS_records > 0)
tmax = have ? STATS_max : 1
tmin = have ? STATS_min : 1
# The smallest device part sets the floor, so that it shows (a remote's
# client share, far smaller, is drawn only where it reaches the floor).
undefine STATS_*
nd0 = system(sprintf("awk -F, 'NR > 1 && $11 == 0 && $3 > 0' '%s' | wc -l", data)) + 0
if (nd0 > 0) { stats data using ((column("nosucc") == 0) ? (column("device") > 0 ? column("device") : NaN) : NaN) nooutput }
pmin = (exists("STATS_records") && STATS_records > 0) ? STATS_min : tmin
logy = have && tmax / tmin > 10
tmin = pmin < tmin ? pmin : tmin
if (logy) {
    set logscale y
    set yrange [tmin / 3 : tmax * 3]
    set ylabel "J per success (log)"
    ybase = tmin / 3
    ynos = tmin / 2
} else {
    set yrange [0 : tmax * 1.2]
    ybase = 0
    ynos = tmax * 0.04
}
set xrange [-0.6 : *]
set offsets 0, 0.6, 0, 0
# Only the parts some run has get a legend entry.
cnt(k) = system(sprintf("awk -F, -v k=%s 'NR > 1 && $2 == k && $11 == 0' %s | wc -l", k, data)) + 0
nl = cnt("local"); nr = cnt("remote"); nd = cnt("device")
tl(t) = nl ? t : ""
# Bars are drawn tallest first, each part on top of the one below.
b(v) = (column("nosucc") > 0) ? NaN : (v > 0 ? v : NaN)
lk(k) = strcol("kind") eq k
plot data using 0:(lk("local") ? b(z("device")+z("psu")+z("facility")+z("idle")) : NaN):xtic(stringcolumn("name")) with boxes lc rgb "#ccbb44" title tl("idle share at the profile's utilization"), \
     data using 0:(lk("local") ? b(z("device")+z("psu")+z("facility")) : NaN) with boxes lc rgb "#aa3377" title tl("facility overhead (PUE)"), \
     data using 0:(lk("local") ? b(z("device")+z("psu")) : NaN) with boxes lc rgb "#66ccee" title tl("PSU loss"), \
     data using 0:(lk("local") || lk("device") ? b(z("device")) : NaN) with boxes lc rgb "#4477aa" title (nl + nd ? "device (measured/estimated)" : ""), \
     data using 0:(lk("remote") ? b(z("client")+z("provider")) : NaN) with boxes lc rgb "#bbbbbb" title (nr ? "provider facility (MODELED)" : ""), \
     data using 0:(lk("remote") ? b(z("client")) : NaN) with boxes lc rgb "#222222" title (nr ? "remote's client machine" : ""), \
     data using 0:((column("nosucc") > 0) ? NaN : z("total")):(column("total_sd")) with yerrorbars lc rgb "black" pt 0 lw 1 title "+- stddev over repeats", \
     data using 0:((column("nosucc") > 0) ? ynos : NaN):("no success") with labels left offset -2,0.5 font small tc rgb "#cc3311" notitle
