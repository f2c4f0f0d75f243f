/*
 * Server metrics scraper (see srvmetrics.h): the allow-list, the scraper
 * thread, and the HTTP helper the other server-side readers share.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "energy.h"
#include "jsonv.h"
#include "measure/prom.h"
#include "measure/srvmetrics.h"
#include "util.h"

#define SRV_MAX_BODY (4u << 20)

/*
 * The allow-list: Prometheus metric -> samples.csv channel. Where two
 * metrics map to one channel (vLLM renamed gpu_cache_usage_perc), the first
 * one the server sends in table order wins. Ratios are written in percent.
 */
static const struct chan_map {
	const char *metric;
	const char *channel;
	const char *unit;
	double scale;
	bool counter; /* written since the first scrape, with a -rate row */
} chan_table[] = {
	{ "llamacpp:requests_processing", "requests-running", "", 1, false },
	{ "llamacpp:requests_deferred", "requests-waiting", "", 1, false },
	{ "llamacpp:kv_cache_usage_ratio", "kv-cache-usage", "%", 100, false },
	{ "llamacpp:kv_cache_tokens", "kv-cache-tokens", "", 1, false },
	{ "llamacpp:prompt_tokens_total", "prompt-tokens", "", 1, true },
	{ "llamacpp:prompt_tokens_cached_total", "prompt-tokens-cached", "", 1, true },
	{ "llamacpp:tokens_predicted_total", "generated-tokens", "", 1, true },
	{ "llamacpp:prompt_seconds_total", "prompt-seconds", "s", 1, true },
	{ "llamacpp:tokens_predicted_seconds_total", "generation-seconds", "s", 1, true },
	{ "llamacpp:n_decode_total", "decode-calls", "", 1, true },
	{ "llamacpp:n_busy_slots_per_decode", "busy-slots-per-decode", "", 1, false },
	{ "llamacpp:n_tokens_max", "tokens-max", "", 1, false },
	{ "llamacpp:prompt_tokens_seconds", "prompt-tps-avg", "", 1, false },
	{ "llamacpp:predicted_tokens_seconds", "generation-tps-avg", "", 1, false },
	{ "vllm:num_requests_running", "requests-running", "", 1, false },
	{ "vllm:num_requests_waiting", "requests-waiting", "", 1, false },
	{ "vllm:kv_cache_usage_perc", "kv-cache-usage", "%", 100, false },
	{ "vllm:gpu_cache_usage_perc", "kv-cache-usage", "%", 100, false },
	{ "vllm:prompt_tokens_total", "prompt-tokens", "", 1, true },
	{ "vllm:generation_tokens_total", "generated-tokens", "", 1, true },
	{ "vllm:prefix_cache_queries_total", "prefix-cache-queries", "", 1, true },
	{ "vllm:prefix_cache_hits_total", "prefix-cache-hits", "", 1, true },
	{ "vllm:num_preemptions_total", "preemptions", "", 1, true },
	{ "sglang:num_running_reqs", "requests-running", "", 1, false },
	{ "sglang:num_queue_reqs", "requests-waiting", "", 1, false },
	{ "sglang:token_usage", "kv-cache-usage", "%", 100, false },
	{ "sglang:prompt_tokens_total", "prompt-tokens", "", 1, true },
	{ "sglang:generation_tokens_total", "generated-tokens", "", 1, true },
	{ "sglang:cached_tokens_total", "prompt-tokens-cached", "", 1, true },
	{ "tgi_batch_current_size", "requests-running", "", 1, false },
	{ "tgi_queue_size", "requests-waiting", "", 1, false },
};
#define N_MAP (sizeof(chan_table) / sizeof(chan_table[0]))
#define MAX_CH N_MAP

struct chan {
	const struct chan_map *map; /* the table entry in use */
	bool seen;                  /* ever had a value */
	double first, last, prev;   /* raw (scaled) values */
	uint64_t t_prev;
	bool have_prev;
	double min, max, sum;
	size_t n;
	double rate_max;
	bool reset;                 /* a counter went down */
	char rate_name[64];         /* "<channel>-rate" */
};

struct srvmetrics {
	char url[1024];
	bool ok;
	char reason[384];
	double interval_s;
	struct energy *en;
	CURL *curl;
	struct sbuf body;
	size_t scrapes, failed;
	char last_error[256];
	double scrape_s_max;
	size_t ignored; /* gauges/counters not on the allow-list (last scrape) */
	struct chan ch[MAX_CH];
	size_t n_ch;
	/* per scrape: table entry -> summed value */
	double acc[N_MAP];
	bool acc_seen[N_MAP];
	/* thread */
	pthread_t thr;
	bool thr_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	double thread_cpu_s;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int http_with(CURL *h, const char *url, const char *post, double timeout_s,
		     struct sbuf *body, long *status, char *err, size_t errlen)
{
	struct sbuf_capped bc = { body, SRV_MAX_BODY, false };
	sbuf_reset(body);
	*status = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sbuf_capped_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &bc);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	struct curl_slist *hd = NULL;
	if (post) {
		hd = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hd);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "GET %s: %s", url,
			 bc.over ? "body over 4 MiB" : curl_easy_strerror(rc));
		return bc.over ? -E2BIG : -EIO;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (*status != 200)
		snprintf(err, errlen, "%s %s: HTTP %ld", post ? "POST" : "GET", url, *status);
	return 0;
}

int srv_http(const char *url, const char *post_body, double timeout_s, struct sbuf *body,
	     long *status, char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_init_once);
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -ENOMEM;
	}
	int rc = http_with(h, url, post_body, timeout_s, body, status, err, errlen);
	curl_easy_cleanup(h);
	return rc;
}

static const struct chan_map *lookup(const char *name, size_t *idx)
{
	for (size_t i = 0; i < N_MAP; i++)
		if (!strcmp(chan_table[i].metric, name)) {
			*idx = i;
			return &chan_table[i];
		}
	return NULL;
}

static int on_sample(const struct prom_sample *s, void *ud)
{
	struct srvmetrics *m = ud;
	size_t i;
	if (!lookup(s->name, &i)) {
		if (s->type == PROM_GAUGE || s->type == PROM_COUNTER)
			m->ignored++;
		return 0;
	}
	if (!isnan(s->value)) {
		m->acc[i] += s->value * chan_table[i].scale;
		m->acc_seen[i] = true;
	}
	return 0;
}

static struct chan *chan_for(struct srvmetrics *m, const struct chan_map *map)
{
	for (size_t i = 0; i < m->n_ch; i++)
		if (!strcmp(m->ch[i].map->channel, map->channel))
			return m->ch[i].map == map ? &m->ch[i] : NULL;
	if (m->n_ch == MAX_CH)
		return NULL;
	struct chan *c = &m->ch[m->n_ch++];
	memset(c, 0, sizeof(*c));
	c->map = map;
	snprintf(c->rate_name, sizeof(c->rate_name), "%s-rate", map->channel);
	c->min = INFINITY;
	c->max = -INFINITY;
	return c;
}

/* One scrape: GET, parse, fold into channels, write rows. Returns 0 or -errno. */
static int scrape(struct srvmetrics *m, bool write)
{
	uint64_t t0 = ap_now_ns();
	long status;
	char err[256];
	int rc = http_with(m->curl, m->url, NULL, m->interval_s < 2.5 ? 2.0 : m->interval_s * 0.8,
			   &m->body, &status, err, sizeof(err));
	uint64_t t1 = ap_now_ns();
	/* The server's state was read somewhere in the request: stamp its middle. */
	uint64_t t = t0 + (t1 - t0) / 2;
	double took = (double)(t1 - t0) * 1e-9;
	if (took > m->scrape_s_max)
		m->scrape_s_max = took;
	if (!rc && status != 200)
		rc = -EPROTO;
	memset(m->acc, 0, sizeof(m->acc));
	memset(m->acc_seen, 0, sizeof(m->acc_seen));
	size_t ign = m->ignored;
	m->ignored = 0;
	if (!rc) {
		struct prom_error pe;
		int prc = prom_parse(m->body.s ? m->body.s : "", m->body.len, on_sample, m, &pe);
		if (prc) {
			snprintf(err, sizeof(err), "%.80s: line %zu: %.150s", m->url, pe.line, pe.msg);
			rc = -EPROTO;
		}
	}
	if (rc) {
		m->ignored = ign;
		m->failed++;
		snprintf(m->last_error, sizeof(m->last_error), "%s", err);
		return rc;
	}
	struct energy_row rows[2 * MAX_CH];
	size_t nr = 0;
	bool any = false;
	for (size_t i = 0; i < N_MAP; i++) {
		if (!m->acc_seen[i])
			continue;
		struct chan *c = chan_for(m, &chan_table[i]);
		if (!c)
			continue; /* an earlier table entry feeds this channel */
		any = true;
		double v = m->acc[i];
		if (!c->seen) {
			c->seen = true;
			c->first = v;
		}
		c->last = v;
		double out = c->map->counter ? v - c->first : v;
		if (out < c->min)
			c->min = out;
		if (out > c->max)
			c->max = out;
		c->sum += out;
		c->n++;
		rows[nr++] = (struct energy_row){ "server", c->map->channel, c->map->unit, "ok", out };
		if (c->map->counter) {
			double rate = NAN;
			const char *st = "first";
			if (c->have_prev && t > c->t_prev) {
				if (v < c->prev) {
					c->reset = true;
					st = "reset";
				} else {
					rate = (v - c->prev) / ((double)(t - c->t_prev) * 1e-9);
					st = "ok";
					if (rate > c->rate_max)
						c->rate_max = rate;
				}
			}
			rows[nr++] = (struct energy_row){ "server", c->rate_name,
							  !strcmp(c->map->unit, "s") ? "" : "/s", st,
							  rate };
			c->prev = v;
			c->t_prev = t;
			c->have_prev = true;
		}
	}
	if (!any) {
		m->failed++;
		snprintf(m->last_error, sizeof(m->last_error),
			 "%.200s: no metric on the allow-list (%zu other gauges/counters)", m->url,
			 m->ignored);
		return -ENOENT;
	}
	if (write && m->en)
		energy_csv_rows(m->en, t, m->scrapes, rows, nr);
	m->scrapes++;
	return 0;
}

static void *scraper_main(void *arg)
{
	struct srvmetrics *m = arg;
	locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (c_loc)
		uselocale(c_loc);
	uint64_t period = (uint64_t)(m->interval_s * 1e9);
	uint64_t next = ap_now_ns();
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		next += period;
		struct timespec ts = { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) };
		while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &ts) != ETIMEDOUT)
			;
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->mu);
		scrape(m, true);
		uint64_t now = ap_now_ns();
		if (now > next + period)
			next = now; /* overslept (a slow server): resume the grid from now */
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	/* The run's end state: one last scrape before the server goes. */
	scrape(m, true);
	m->thread_cpu_s = ap_thread_cpu_s();
	if (c_loc) {
		uselocale(LC_GLOBAL_LOCALE);
		freelocale(c_loc);
	}
	return NULL;
}

int srvmetrics_start(struct srvmetrics **out, const char *url, const char *why_none,
		     double interval_s, struct energy *en)
{
	struct srvmetrics *m = calloc(1, sizeof(*m));
	*out = m;
	if (!m)
		return -ENOMEM;
	m->interval_s = interval_s > 0 ? interval_s : SRVMETRICS_DEFAULT_INTERVAL_S;
	m->en = en;
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!url || !*url) {
		snprintf(m->reason, sizeof(m->reason), "%s",
			 why_none ? why_none : "no metrics endpoint known for this backend");
		return 0;
	}
	snprintf(m->url, sizeof(m->url), "%s", url);
	pthread_once(&curl_once, curl_init_once);
	m->curl = curl_easy_init();
	if (!m->curl)
		return -ENOMEM;
	/* The first scrape decides: values from it are the counters' zero. */
	if (scrape(m, true)) {
		snprintf(m->reason, sizeof(m->reason), "%s", m->last_error);
		m->failed = 0;
		return 0;
	}
	m->ok = true;
	int rc = pthread_create(&m->thr, NULL, scraper_main, m);
	if (rc) {
		m->ok = false;
		snprintf(m->reason, sizeof(m->reason), "cannot start the scraper thread: %s",
			 strerror(rc));
		return 0;
	}
	m->thr_running = true;
	return 0;
}

void srvmetrics_stop(struct srvmetrics *m)
{
	if (!m || !m->thr_running)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->thr, NULL);
	m->thr_running = false;
}

bool srvmetrics_ok(const struct srvmetrics *m)
{
	return m && m->ok;
}

cJSON *srvmetrics_json(const struct srvmetrics *m)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !m)
		return o;
	cJSON_AddStringToObject(o, "status", m->ok ? "ok" : "not supported");
	if (!m->ok)
		cJSON_AddStringToObject(o, "reason", m->reason);
	if (m->url[0])
		cJSON_AddStringToObject(o, "url", m->url);
	if (!m->ok)
		return o;
	cJSON_AddNumberToObject(o, "interval_s", m->interval_s);
	cJSON_AddNumberToObject(o, "scrapes", (double)m->scrapes);
	cJSON_AddNumberToObject(o, "failed_scrapes", (double)m->failed);
	if (m->failed)
		cJSON_AddStringToObject(o, "last_error", m->last_error);
	cJSON_AddNumberToObject(o, "scrape_s_max", m->scrape_s_max);
	jv_add_num_or_null(o, "scraper_cpu_s", m->thread_cpu_s);
	cJSON_AddNumberToObject(o, "not_on_allow_list", (double)m->ignored);
	cJSON *chs = cJSON_AddArrayToObject(o, "channels");
	for (size_t i = 0; i < m->n_ch; i++) {
		const struct chan *c = &m->ch[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", c->map->channel);
		cJSON_AddStringToObject(j, "metric", c->map->metric);
		cJSON_AddStringToObject(j, "kind", c->map->counter ? "counter" : "gauge");
		cJSON_AddStringToObject(j, "unit", c->map->unit);
		if (c->map->counter) {
			jv_add_num_or_null(j, "total", c->last - c->first);
			jv_add_num_or_null(j, "rate_max", c->rate_max);
			if (c->reset)
				cJSON_AddBoolToObject(j, "reset", 1);
		} else {
			jv_add_num_or_null(j, "mean", c->n ? c->sum / (double)c->n : NAN);
			jv_add_num_or_null(j, "max", c->max);
		}
		cJSON_AddItemToArray(chs, j);
	}
	return o;
}

void srvmetrics_free(struct srvmetrics *m)
{
	if (!m)
		return;
	srvmetrics_stop(m);
	if (m->curl)
		curl_easy_cleanup(m->curl);
	sbuf_free(&m->body);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
