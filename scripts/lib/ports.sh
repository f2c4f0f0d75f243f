# free_port: a loopback TCP port that nobody listens on, below the kernel's
# ephemeral range (sourced by scripts/perf.sh and tests/slurm-test.sh).
# Why below it: a port in the range can be some client's connection (or its
# TIME_WAIT) after a run of many connections, and a server's bind then fails
# with "Address already in use" although nobody listens (slurmd after a test
# suite; llama-server after perf.sh's section 3b, on 2026-12-03).
eph_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${eph_low:-0}" -gt 12000 ] 2>/dev/null || eph_low=32768
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((10000 + RANDOM % (eph_low - 10000)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
