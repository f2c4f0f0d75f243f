#!/usr/bin/env bash
# agentperf.1 from the program's own help texts (the options table), so the
# man page says what --help says. Usage: scripts/manpage.sh AGENTPERF VERSION
set -euo pipefail
ap=$1
version=${2:-}
# roff: a leading . or ' would be a request, and \ an escape.
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
cat <<HDR
.TH AGENTPERF 1 "" "agentperf $version" "User Commands"
.SH NAME
agentperf \- energy, cost and speed of LLM agent workloads, per success
.SH SYNOPSIS
.B agentperf
.I command
.RI [ options ]
.SH DESCRIPTION
agentperf runs agentic workloads against local or remote model backends and
reports energy (measured, estimated or modeled, always labelled), dollars and
latency per successful task. The sections below are the program's own help
texts (\fBagentperf \-\-help\fR and \fBagentperf\fR \fIcommand\fR \fB\-\-help\fR).
.SH OVERVIEW
.nf
HDR
"$ap" --help | esc
echo ".fi"
for c in $("$ap" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}'); do
    echo ".SH COMMAND: ${c^^}"
    echo ".nf"
    "$ap" "$c" --help | esc
    echo ".fi"
done
cat <<'TAIL'
.SH FILES
.TP
.I PREFIX/share/agentperf/workloads
workloads and profiles found by name when not in the working directory
.SH SEE ALSO
README.md, docs/, results/README.md and workloads/SCHEMA.md in the source tree.
TAIL
