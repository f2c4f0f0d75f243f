# Shared settings: every script is called with
#   gnuplot -e "term='pngcairo|png|svg|pdfcairo'; out='path/without/extension'; ..." script.gp
# and writes out.png, out.svg or out.pdf. Size and font (plot.sh --size,
# --font, --no-title): size "single" (3.5 x 2.6 in, one column of a
# two-column paper, 8 pt), "double" (7 x 3.2 in, 9 pt) or "WxH" in inches;
# font in points at that size (the PNG is the same figure at 144 dpi).
if (!exists("size")) size = "double"
if (!exists("fontpt")) fontpt = 0
if (!exists("notitle")) notitle = 0
w_in = 7.0; h_in = 3.2; f_def = 9
if (size eq "single") { w_in = 3.5; h_in = 2.6; f_def = 8 }
if (size ne "single" && size ne "double") {
    p_x = strstrt(size, "x")
    w_in = real(size[1:p_x - 1]); h_in = real(size[p_x + 1:]); f_def = 9
}
fpt = fontpt > 0 ? fontpt : f_def
# PNG fonts are given at twice the size (144 dpi against 72); "small" follows.
fscale = (term eq "pngcairo" || term eq "png") ? 2 : 1
small = sprintf(",%g", fpt * 0.85 * fscale)
if (term eq "pngcairo") {
    set terminal pngcairo size int(w_in * 144), int(h_in * 144) enhanced font sprintf("DejaVu Sans,%g", fpt * 2) linewidth 2
    set output out.".png"
} else { if (term eq "png") {
    set terminal png size int(w_in * 144), int(h_in * 144) enhanced font sprintf("DejaVuSans,%g", fpt * 2)
    set output out.".png"
} else { if (term eq "svg") {
    set terminal svg size int(w_in * 72), int(h_in * 72) enhanced dynamic font sprintf("DejaVu Sans,%g", fpt)
    set output out.".svg"
} else {
    set terminal pdfcairo size w_in * 1in, h_in * 1in enhanced font sprintf("DejaVu Sans,%g", fpt)
    set output out.".pdf"
} } }
set datafile separator ","
set datafile missing ""
# Every CSV has one header row; columns are read by name (column("x")).
set datafile columnheaders
set key noautotitle
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror font small
set style fill solid 0.85 border -1
# Titles: off with --no-title (a paper puts its own caption under the figure).
title(t) = notitle ? "" : t
# Long titles break before " [" so that neither end is clipped.
wrap(t) = (strlen(t) > 60 && strstrt(t, " [") > 0) ? t[1:strstrt(t, " [") - 1]."\n".t[strstrt(t, " [") + 1:] : t
