#!/usr/bin/env bash
# No include circle among the harness/ modules. A module is foo.c with its
# foo.h (a private foo_priv.h or foo_internal.h belongs to foo too; the
# printer's files harness/report*.c/h are one module, the printer layer); module A
# depends on B when a file of A includes B's header. A call needs the callee's
# declaration, so a call circle shows up here as an include circle. tsort
# reports every circle it finds; exit 1 when there is one. .ci/run runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
module() {
    local m=${1%.*}
    m=${m%_priv}
    m=${m%_internal}
    case $m in harness/report_*) m=harness/report ;; esac
    echo "$m"
}
declare -A owner
while read -r h; do owner[$(basename "$h")]=$(module "$h"); done < <(find harness probes -name '*.h')
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
while read -r f; do
    from=$(module "$f")
    while read -r inc; do
        to=${owner[$(basename "$inc")]:-}
        if [ -n "$to" ] && [ "$to" != "$from" ] && [ "${to#probes/}" = "$to" ]; then
            echo "$from $to"
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find harness -name '*.c' -o -name '*.h' | grep -v '^harness/main\.c$' | sort) | sort -u >"$edges"
if loops=$(tsort "$edges" 2>&1 >/dev/null) && [ -z "$loops" ]; then
    echo "check-layers: no include circle among $(tr ' ' '\n' <"$edges" | sort -u | wc -l) harness modules ($(wc -l <"$edges") dependencies)"
    exit 0
fi
echo "check-layers: include circles among harness/ modules (each 'loop' lists one):" >&2
echo "$loops" | sed "s|$edges|deps|" >&2
exit 1
