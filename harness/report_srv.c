/*
 * The report's server lines (metrics, cache, fit), from meta.json and the
 * aggregates: measure/srvview.c collects them, this prints, so the collector
 * never calls the printer.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonv.h"
#include "util.h"

static void human_bytes(char *b, size_t n, double x)
{
	if (x >= 1 << 30)
		snprintf(b, n, "%.2f", x / (1 << 30));
	else
		snprintf(b, n, "%.1f", x / (1 << 20));
}

void srvview_report_print(FILE *f, const cJSON *meta, const struct run_agg *a)
{
	const cJSON *sm = cJSON_GetObjectItemCaseSensitive(meta, "server_metrics");
	const cJSON *cache = cJSON_GetObjectItemCaseSensitive(meta, "cache");
	const cJSON *fit = cJSON_GetObjectItemCaseSensitive(meta, "fit");
	if (!sm && !cache && !fit)
		return;
	char v[64], c[256];
	fprintf(f, "\n   server side:\n\n");
	if (sm && strcmp(jv_str_or(sm, "status", ""), "ok")) {
		/* The reason without scheme, host and port (meta.json has the URL): the
		 * report reads the same from run to run. */
		const char *why = jv_str_or(sm, "reason", "");
		const char *sch = strstr(why, "://");
		if (sch) {
			const char *b = sch, *e = sch + 3;
			while (b > why && ((b[-1] >= 'a' && b[-1] <= 'z') || (b[-1] >= 'A' && b[-1] <= 'Z')))
				b--;
			while (*e && *e != '/' && *e != ' ' && *e != ':')
				e++;
			if (*e == ':')
				while (*e && *e != '/' && *e != ' ')
					e++;
			snprintf(c, sizeof(c), "%.*s%s", (int)(b - why), why, e);
		} else {
			ap_scopy(c, sizeof(c), why);
		}
		report_line(f, "<not supported>", "", "server-metrics", c, NULL);
	} else if (sm) {
		const cJSON *ch;
		snprintf(c, sizeof(c), "%.0f scrapes every %.2f s of %s", jv_num_or(sm, "scrapes", 0),
			 jv_num_or(sm, "interval_s", NAN), jv_str_or(sm, "url", "?"));
		report_line(f, "ok", "", "server-metrics", c, NULL);
		cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(sm, "channels"))
		{
			const char *name = jv_str_or(ch, "name", "?");
			bool ctr = !strcmp(jv_str_or(ch, "kind", ""), "counter");
			if (strcmp(name, "requests-running") && strcmp(name, "requests-waiting") &&
			    strcmp(name, "kv-cache-usage") && strcmp(name, "prompt-tokens") &&
			    strcmp(name, "prompt-tokens-cached") && strcmp(name, "generated-tokens"))
				continue; /* the rest are in meta.json and samples.csv */
			snprintf(v, sizeof(v), "%.2f", jv_num_or(ch, ctr ? "total" : "mean", NAN));
			if (ctr)
				snprintf(c, sizeof(c), "server's count over the run (%s)",
					 jv_str_or(ch, "metric", ""));
			else
				snprintf(c, sizeof(c), "mean, max %.2f (%s)", jv_num_or(ch, "max", NAN),
					 jv_str_or(ch, "metric", ""));
			char nm[80];
			snprintf(nm, sizeof(nm), "server-%s", name);
			report_line(f, v, jv_str_or(ch, "unit", ""), nm, c, NULL);
		}
	}
	if (cache) {
		long prompt = 0, cached = 0;
		for (int r = 1; a && r <= a->repeats; r++)
			for (int s = 0; s < FORM_COUNT; s++) {
				const struct form_agg *x = run_agg_get((struct run_agg *)a, r, s);
				if (x) {
					prompt += x->prompt_tokens;
					cached += x->cached_tokens;
				}
			}
		report_line(f, jv_str_or(cache, "mode", "?"), "", "prefix-cache",
			    jv_str_or(cache, "method", ""), NULL);
		/* This run's J and tokens/s under its cache mode: a cold and a warm run of
		 * one workload side by side give the cache's effect (make bench does). */
		double ej = 0, ts = 0;
		long calls = 0, toks = 0;
		bool ev = true;
		for (int r = 1; a && r <= a->repeats; r++)
			for (int s = 0; s < FORM_COUNT; s++) {
				const struct form_agg *x = run_agg_get((struct run_agg *)a, r, s);
				if (!x)
					continue;
				ej += x->energy_j;
				ev = ev && !x->energy_calls_missing;
				calls += x->calls;
				ts += x->task_s;
				toks += x->prompt_tokens + x->completion_tokens;
			}
		char mode_c[64];
		snprintf(mode_c, sizeof(mode_c), "cache %s", jv_str_or(cache, "mode", "?"));
		if (calls && ev && cJSON_GetObjectItemCaseSensitive(meta, "energy")) {
			snprintf(v, sizeof(v), "%.3f", ej / (double)calls);
			report_line(f, v, "J", "energy-per-call", mode_c, NULL);
		}
		if (ts > 0) {
			snprintf(v, sizeof(v), "%.1f", (double)toks / ts);
			snprintf(c, sizeof(c), "%s: (prompt + completion tokens) / task time", mode_c);
			report_line(f, v, "tok/s", "tokens-per-second", c, NULL);
		}
		if (prompt > 0) {
			snprintf(v, sizeof(v), "%.2f", 100.0 * (double)cached / (double)prompt);
			snprintf(c, sizeof(c), "%ld of %ld prompt tokens, as the server reported", cached,
				 prompt);
			report_line(f, v, "%", "cached-token-share", c, NULL);
		}
		double best = jv_num_or(cache, "best_hit_rate", NAN);
		if (!isnan(best)) {
			snprintf(v, sizeof(v), "%.2f", best * 100);
			snprintf(c, sizeof(c), "offline, shared prefixes of %.0f requests (bytes)",
				 jv_num_or(cache, "best_hit_requests", 0));
			report_line(f, v, "%", "best-possible-hit-rate", c, NULL);
		}
	}
	if (fit) {
		double rss = jv_num_or(fit, "server_peak_rss_bytes", NAN);
		if (!isnan(rss)) {
			human_bytes(v, sizeof(v), rss);
			report_line(f, v, rss >= 1 << 30 ? "GiB" : "MiB", "server-peak-rss",
				    "model server, procfs VmHWM", NULL);
		} else {
			report_line(f, "<not supported>", "", "server-peak-rss",
				    jv_str_or(fit, "server_peak_rss_reason", ""), NULL);
		}
		double g = jv_num_or(fit, "gpu_memory_used_peak_bytes", NAN);
		if (!isnan(g)) {
			human_bytes(v, sizeof(v), g);
			report_line(f, v, g >= 1 << 30 ? "GiB" : "MiB", "gpu-memory-peak",
				    "NVML, used, all processes", NULL);
		} else {
			report_line(f, "<not supported>", "", "gpu-memory-peak",
				    jv_str_or(fit, "gpu_memory_reason", ""), NULL);
		}
		double nctx = jv_num_or(fit, "n_ctx_total", NAN);
		if (!isnan(nctx)) {
			snprintf(v, sizeof(v), "%.0f", nctx);
			snprintf(c, sizeof(c), "%.0f slots, llama-server /slots",
				 jv_num_or(fit, "slots", NAN));
			report_line(f, v, "", "context-tokens", c, NULL);
		}
		double kv = jv_num_or(fit, "kv_cache_bytes", NAN);
		if (!isnan(kv)) {
			human_bytes(v, sizeof(v), kv);
			report_line(f, v, kv >= 1 << 30 ? "GiB" : "MiB", "kv-cache-size",
				    "computed from the GGUF header, f16", NULL);
		}
	}
}
