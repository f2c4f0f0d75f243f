#!/usr/bin/env bash
# cache-compare.sh RUN... : the prefix-cache comparison make bench prints for
# its cold and warm runs of one workload: per run, from calls.csv (successful
# calls only), the energy per call and per 1k prompt tokens, prompt tokens per
# second of call time ((prompt + completion) tokens / summed e2e), the cached
# share the server reported, and meta.json's best possible hit rate.
set -euo pipefail
printf '%-10s %6s %10s %10s %12s %12s %10s %10s %10s\n' run calls J/call 'J/1k-prom' 'tok/s' 'prompt-tok' cached% best-hit% source
for r in "$@"; do
    mode=$(tr -d ' \t\n' <"$r/meta.json" | grep -o '"cache":{"mode":"[a-z]*"' | cut -d'"' -f6 || true)
    best=$(tr -d ' \t\n' <"$r/meta.json" | grep -o '"best_hit_rate":[0-9.e-]*' | head -1 | cut -d: -f2 || true)
    awk -F, -v mode="${mode:-?}" -v best="${best:-nan}" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["status"] == "ok" {
            n++; e += $c["energy_j"]; p += $c["prompt_tokens"]; k += $c["cached_tokens"]
            o += $c["completion_tokens"]; t += $c["e2e_s"]; src = $c["energy_source"]
        }
        END {
            if (!n) { printf "%-10s no successful call\n", mode; exit }
            printf "%-10s %6d %10.3f %10.3f %12.1f %12d %10.2f %10.2f %s\n", mode, n, e / n,
                   p ? 1000 * e / p : 0, t ? (p + o) / t : 0, p, p ? 100 * k / p : 0,
                   100 * best, src
        }' "$r/calls.csv"
done
