# Shared settings: every script is called with
#   gnuplot -e "term='pngcairo|png|svg|pdfcairo'; out='path/without/extension'; ..." script.gp
# and writes out.png, out.svg or out.pdf. Sizes are chosen so that the labels
# of a two-column paper figure stay legible.
if (term eq "pngcairo") {
    set terminal pngcairo size 1000,620 enhanced font "DejaVu Sans,11"; set output out.".png"
} else { if (term eq "png") {
    set terminal png size 1000,620 enhanced; set output out.".png"
} else { if (term eq "svg") {
    set terminal svg size 1000,620 enhanced dynamic font "DejaVu Sans,11"; set output out.".svg"
} else {
    set terminal pdfcairo size 6.5in,4in enhanced font "DejaVu Sans,9"; set output out.".pdf"
} } }
set datafile separator ","
set datafile missing ""
# Every CSV has one header row; columns are read by name (column("x")).
set datafile columnheaders
set key noautotitle
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror
set style fill solid 0.85 border -1
# Long titles (a model name plus a run id) break before " [run]" so that
# neither end is clipped.
wrap(t) = (strlen(t) > 80 && strstrt(t, " [") > 0) ? t[1:strstrt(t, " [") - 1]."\n".t[strstrt(t, " [") + 1:] : t
