/*
 * The model server's own view of a run: its Prometheus /metrics scraped on
 * a schedule of its own (one thread, --metrics-interval, default 1 s), off
 * the sampler's energy path: the scraper takes the energy lock only to
 * append its rows to samples.csv as `server:<channel>`.
 *
 * What is kept is a const allow-list (srvmetrics.c, documented in
 * results/README.md): llama-server's llamacpp:*, vLLM's vllm:*, SGLang's
 * sglang:* and TGI's tgi_* gauges and counters, each under one canonical
 * channel (requests-running, requests-waiting, kv-cache-usage,
 * prompt-tokens, generated-tokens ...). Counters are written as the count
 * since the first scrape, with a `<channel>-rate` row (per second over the
 * last interval). Samples of one metric with different labels are summed.
 *
 * A server without metrics is recorded as "not supported" with the reason
 * (meta.json "server_metrics"), never as zeros.
 */
#ifndef AP_SRVMETRICS_H
#define AP_SRVMETRICS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct energy;
struct srvmetrics;

#define SRVMETRICS_DEFAULT_INTERVAL_S 1.0

/*
 * Scrapes url once now; when that works (HTTP 200, parses, names at least
 * one allow-listed metric) starts the scraper thread writing to en's
 * samples.csv (en may be NULL: figures go to meta.json only). url NULL or
 * a failed first scrape: *out records "not supported" and why_none (or the
 * failure) as the reason, and no thread runs. Returns 0 or -ENOMEM.
 */
int srvmetrics_start(struct srvmetrics **out, const char *url, const char *why_none,
		     double interval_s, struct energy *en);
/* Stops the thread after one last scrape (the server must still run). */
void srvmetrics_stop(struct srvmetrics *m);
bool srvmetrics_ok(const struct srvmetrics *m);
/* meta.json "server_metrics": status, reason, url, interval, scrapes, channels. */
cJSON *srvmetrics_json(const struct srvmetrics *m);
void srvmetrics_free(struct srvmetrics *m);

/*
 * One GET with a bounded body (4 MiB) and timeout; *status the HTTP status
 * (0: no answer, err says why). Returns 0 when an answer came, -errno else.
 */
struct sbuf;
int srv_http(const char *url, const char *post_body, double timeout_s, struct sbuf *body,
	     long *status, char *err, size_t errlen);

#endif
