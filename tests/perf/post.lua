-- wrk script of `make perf` (scripts/perf.sh): POST the request body that
-- agentperf itself sends (captured from it at run time into the file named by
-- PERF_BODY), with agentperf's headers, so both clients ask the null endpoint
-- for the same bytes.
local path = os.getenv("PERF_BODY")
local f = assert(io.open(path, "rb"), "PERF_BODY: cannot open " .. tostring(path))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "*/*"
wrk.headers["User-Agent"] = "agentperf/0.1.0"

-- No response() callback: wrk then skips Lua per reply, and stays the fastest
-- client it can be. Non-2xx answers still show in summary.errors.status.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("perf-wrk requests=%d errors=%d duration_us=%d\n",
                          summary.requests, e.status + e.connect + e.read + e.write + e.timeout,
                          summary.duration))
end
