/*
 * The server's side of a run, put together for meta.json and the report:
 *  - the metrics timeline (srvmetrics.h) on the right URL: the managed
 *    llama-server's /metrics (started with --metrics) or metrics_url= of the
 *    backend (vLLM, SGLang, TGI ...); a server not named so is asked
 *    nothing; otherwise "not supported" and why;
 *  - "does it fit the device": peak resident memory (VmHWM from procfs) of
 *    the model server and watched PIDs, GPU memory used (NVML channels'
 *    peak), the server's context (llama-server /props and /slots) and the
 *    KV cache that context takes (computed from the GGUF header, f16);
 *  - the prefix cache: --cache warm|cold, the cached-token share the server
 *    reported, and the workload's best possible hit rate computed offline
 *    from the shared prefixes of its requests (prefix_best_hit).
 * Nothing here prints: report_srv.c prints the lines, from meta.json alone.
 */
#ifndef AP_SRVVIEW_H
#define AP_SRVVIEW_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "summary.h"

struct backend;
struct energy;
struct workload;
struct managed_server;
struct srvview;

struct srvview_opts {
	double metrics_interval_s; /* 0: SRVMETRICS_DEFAULT_INTERVAL_S */
	bool cache_cold;           /* --cache cold */
	const char *procfs_root;   /* NULL: "/proc" (env AGENTPERF_PROCFS_ROOT) */
};

/* After the server is up (ms NULL for a server agentperf did not start). */
int srvview_begin(struct srvview **out, const struct srvview_opts *o, const struct backend *be,
		  const struct managed_server *ms, const pid_t *watch, int n_watch,
		  struct energy *en);
/* After the run, before the server stops: last scrape, peak memory, /slots. */
void srvview_end(struct srvview *v);
/*
 * meta.json: "server_metrics", "cache" {mode, method, best_hit_rate ...},
 * "fit" {peak_rss_bytes, gpu_memory_bytes, n_ctx, kv_cache_bytes ...}.
 * energy (meta's energy block) gives the GPU memory peak; wl the prefixes.
 */
void srvview_meta(struct srvview *v, cJSON *meta, struct workload *wl, int repeats,
		  const char *filter, const char *category);
void srvview_free(struct srvview *v);
/*
 * run_opts.seen for the run v watches (ctx: v): keeps each selected task's
 * first request of the first pass, so that srvview_meta computes the best
 * hit rate without reading the workload again; when the pass did not reach
 * the end of the file (interrupted, cut short by --duration) it does.
 */
struct task;
void srvview_seen(void *ctx, const struct task *t);


/*
 * Best possible prefix-cache hit rate of one pass over the workload: each
 * task's first request (system prompt, tool definitions, messages, as
 * bytes in that order) reuses the longest prefix it shares with any
 * earlier one, with an unbounded cache. *share in [0, 1] (bytes served
 * from cache / bytes sent), *n requests counted (at most 20000).
 */
int prefix_best_hit(struct workload *wl, const char *filter, const char *category, double *share,
		    size_t *n);

#endif
