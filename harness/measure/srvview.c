/* The server's side of a run: metrics URL, fit, prefix cache (srvview.h). */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "jsonv.h"
#include "managed.h"
#include "measure/srvmetrics.h"
#include "measure/srvview.h"
#include "util.h"
#include "workload.h"

#define MAX_PIDS 17
#define PREFIX_MAX_REQUESTS 20000

struct pref {
	char *s;
	size_t len, idx;
};

/* Where one request sits in srvview.pref_bytes. */
struct pref_at {
	size_t off, len;
};

static int best_hit(struct pref *p, size_t np, double *share);
static int seen_best_hit(const struct srvview *v, double *share);

struct srvview {
	struct srvview_opts o;
	struct srvmetrics *metrics;
	char root[512];          /* http://host:port of the server, "" unknown */
	bool llama;              /* the server is a managed llama-server */
	cJSON *props;            /* what its /props said that matters here (managed.c read it) */
	long slots_n_ctx;        /* sum of /slots n_ctx: the KV cache in tokens */
	int n_slots;
	char slots_error[256];
	const struct gguf_info *gguf;
	pid_t pid[MAX_PIDS];
	const char *pid_role[MAX_PIDS];
	long hwm_kb[MAX_PIDS], rss_kb[MAX_PIDS];
	int n_pid;
	bool ended;
	/* The first requests of the run's first pass (srvview_seen), for the best
	 * hit rate; used when whole (the pass reached the file's end, or
	 * PREFIX_MAX_REQUESTS), else the workload is read again for them. */
	struct ap_arena pref_bytes; /* the requests' bytes, back to back */
	struct ap_arena pref_at;    /* a struct pref_at for each */
	size_t n_pref;
	struct sbuf scratch;
	bool pref_whole, pref_failed;
};

/* "http://h:p/v1" -> "http://h:p" */
static void url_root(const char *url, char *out, size_t n)
{
	out[0] = '\0';
	if (!url)
		return;
	const char *s = strstr(url, "://");
	if (!s)
		return;
	const char *p = strchr(s + 3, '/');
	snprintf(out, n, "%.*s", p ? (int)(p - url) : (int)strlen(url), url);
}

static cJSON *get_json(const char *root, const char *path, char *err, size_t errlen)
{
	char url[600];
	snprintf(url, sizeof(url), "%s%s", root, path);
	struct sbuf b = { 0 };
	long st;
	cJSON *j = NULL;
	if (!srv_http(url, NULL, 3.0, &b, &st, err, errlen) && st == 200) {
		j = cJSON_Parse(b.s ? b.s : "");
		if (!j)
			snprintf(err, errlen, "GET %.200s: not JSON", url);
	}
	sbuf_free(&b);
	return j;
}

static void read_slots(struct srvview *v)
{
	cJSON *s = get_json(v->root, "/slots", v->slots_error, sizeof(v->slots_error));
	if (!cJSON_IsArray(s)) {
		cJSON_Delete(s);
		return;
	}
	v->slots_n_ctx = 0;
	v->n_slots = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, s)
	{
		v->slots_n_ctx += (long)jv_num_or(it, "n_ctx", 0);
		v->n_slots++;
	}
	v->slots_error[0] = '\0';
	cJSON_Delete(s);
}

/* VmHWM and VmRSS of a process, kB; -1 when unreadable. */
static void read_mem(const char *procfs, pid_t pid, long *hwm, long *rss)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%ld/status", procfs, (long)pid);
	*hwm = *rss = -1;
	char *t = NULL;
	size_t len;
	if (ap_read_file(path, &t, &len))
		return;
	const char *h = strstr(t, "VmHWM:"), *r = strstr(t, "VmRSS:");
	if (h)
		*hwm = strtol(h + 6, NULL, 10);
	if (r)
		*rss = strtol(r + 6, NULL, 10);
	free(t);
}

static const char *procfs_root(const struct srvview *v)
{
	const char *e = getenv("AGENTPERF_PROCFS_ROOT");
	return v->o.procfs_root ? v->o.procfs_root : e && *e ? e : "/proc";
}

int srvview_begin(struct srvview **out, const struct srvview_opts *o, const struct backend *be,
		  const struct managed_server *ms, const pid_t *watch, int n_watch,
		  struct energy *en)
{
	struct srvview *v = calloc(1, sizeof(*v));
	*out = v;
	if (!v)
		return -ENOMEM;
	v->o = *o;
	const char *why = NULL;
	char murl[1100] = "";
	if (ms) {
		url_root(ms->url, v->root, sizeof(v->root));
		v->llama = true;
		v->gguf = &ms->model;
		v->pid[v->n_pid] = ms->pid;
		v->pid_role[v->n_pid++] = "model server (managed llama-server)";
	}
	/* Another server is asked nothing it was not named for: metrics_url= only. */
	for (int i = 0; i < n_watch && v->n_pid < MAX_PIDS; i++) {
		v->pid[v->n_pid] = watch[i];
		v->pid_role[v->n_pid++] = "watched (--watch-pid)";
	}
	if (be->metrics_url)
		snprintf(murl, sizeof(murl), "%s", be->metrics_url);
	else if (v->root[0])
		snprintf(murl, sizeof(murl), "%s/metrics", v->root);
	else
		why = !strcmp(be->ops->name, "anthropic")
			      ? "the Anthropic Messages API serves no metrics (metrics_url= names a "
				"server's that does)"
			      : "not a managed llama-server, and no metrics_url= (for vLLM, SGLang, "
				"TGI: their /metrics URL)";
	int rc = srvmetrics_start(&v->metrics, murl[0] ? murl : NULL, why, o->metrics_interval_s,
				  en);
	if (rc)
		return rc;
	if (ms) {
		/* /props was read once when the server came up (managed.c, with build_info). */
		v->props = cJSON_CreateObject();
		jv_add_num_or_null(v->props, "n_ctx_per_slot", ms->props_n_ctx);
		jv_add_num_or_null(v->props, "total_slots", ms->props_slots);
		if (ms->build_info[0])
			cJSON_AddStringToObject(v->props, "build_info", ms->build_info);
		if (ms->props_ftype[0])
			cJSON_AddStringToObject(v->props, "model_ftype", ms->props_ftype);
		read_slots(v);
	}
	return 0;
}

void srvview_end(struct srvview *v)
{
	if (!v || v->ended)
		return;
	v->ended = true;
	srvmetrics_stop(v->metrics);
	for (int i = 0; i < v->n_pid; i++)
		read_mem(procfs_root(v), v->pid[i], &v->hwm_kb[i], &v->rss_kb[i]);
	if (v->llama && v->root[0])
		read_slots(v);
}

/* Peak GPU memory over NVML's memory channels (bytes), NAN when none read. */
static double gpu_mem_peak(const cJSON *energy, char *why, size_t n)
{
	double sum = NAN;
	const cJSON *ch;
	snprintf(why, n, "no NVML memory channel (no NVIDIA GPU or driver; see agentperf list)");
	cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(energy, "channels"))
	{
		const char *name = jv_str_or(ch, "name", "");
		if (strncmp(name, "nvml:", 5) || strcmp(jv_str_or(ch, "unit", ""), "B"))
			continue;
		if (strcmp(jv_str_or(ch, "status", ""), "ok")) {
			snprintf(why, n, "%s: %s", name, jv_str_or(ch, "reason", "not readable"));
			continue;
		}
		double m = jv_num_or(ch, "max", NAN);
		if (!isnan(m))
			sum = isnan(sum) ? m : sum + m;
	}
	return sum;
}

static void fit_json(struct srvview *v, cJSON *meta)
{
	cJSON *fit = cJSON_CreateObject();
	cJSON *procs = cJSON_AddArrayToObject(fit, "processes");
	double peak = NAN;
	for (int i = 0; i < v->n_pid; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", v->pid[i]);
		cJSON_AddStringToObject(p, "role", v->pid_role[i]);
		jv_add_num_or_null(p, "peak_rss_bytes", v->hwm_kb[i] >= 0 ? v->hwm_kb[i] * 1024.0 : NAN);
		jv_add_num_or_null(p, "rss_bytes_at_end", v->rss_kb[i] >= 0 ? v->rss_kb[i] * 1024.0 : NAN);
		cJSON_AddStringToObject(p, "source", "procfs /proc/PID/status VmHWM, VmRSS");
		cJSON_AddItemToArray(procs, p);
		if (i == 0 && v->hwm_kb[i] >= 0)
			peak = v->hwm_kb[i] * 1024.0;
	}
	jv_add_num_or_null(fit, "server_peak_rss_bytes", peak);
	if (isnan(peak))
		cJSON_AddStringToObject(fit, "server_peak_rss_reason",
					v->n_pid ? "procfs status of the server's PID not readable"
						 : "no server PID known (a managed llama-server, or "
						   "--watch-pid PID)");
	char why[256];
	double g = gpu_mem_peak(cJSON_GetObjectItemCaseSensitive(meta, "energy"), why, sizeof(why));
	jv_add_num_or_null(fit, "gpu_memory_used_peak_bytes", g);
	if (isnan(g))
		cJSON_AddStringToObject(fit, "gpu_memory_reason", why);
	else
		cJSON_AddStringToObject(fit, "gpu_memory_source",
					"NVML nvmlDeviceGetMemoryInfo used, largest sample, all GPUs "
					"summed (every process on them)");
	if (v->props)
		cJSON_AddItemToObject(fit, "props", cJSON_Duplicate(v->props, 1));
	if (v->n_slots) {
		cJSON_AddNumberToObject(fit, "slots", v->n_slots);
		cJSON_AddNumberToObject(fit, "n_ctx_total", (double)v->slots_n_ctx);
		cJSON_AddStringToObject(fit, "n_ctx_source", "llama-server /slots (n_ctx summed)");
	} else if (v->llama) {
		cJSON_AddStringToObject(fit, "n_ctx_reason",
					v->slots_error[0] ? v->slots_error : "/slots not read");
	}
	const struct gguf_info *gg = v->gguf;
	if (gg && v->slots_n_ctx > 0 && gg->n_layer > 0 && gg->n_head > 0 && gg->n_embd > 0) {
		long kv_heads = gg->n_head_kv > 0 ? gg->n_head_kv : gg->n_head;
		long kl = gg->key_len > 0 ? gg->key_len : gg->n_embd / gg->n_head;
		long vl = gg->val_len > 0 ? gg->val_len : gg->n_embd / gg->n_head;
		double bytes = (double)gg->n_layer * (double)v->slots_n_ctx * (double)kv_heads *
			       (double)(kl + vl) * 2.0;
		cJSON_AddNumberToObject(fit, "kv_cache_bytes", bytes);
		cJSON_AddStringToObject(
			fit, "kv_cache_source",
			"computed: layers x context tokens x KV heads x (key + value length) x 2 "
			"bytes (f16, llama-server's default cache type), from the GGUF header and "
			"/slots");
	} else {
		cJSON_AddNullToObject(fit, "kv_cache_bytes");
		cJSON_AddStringToObject(fit, "kv_cache_reason",
					!gg ? "model file unknown (not a managed llama-server)"
					    : "context size or GGUF hyperparameters unknown");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "fit");
	cJSON_AddItemToObject(meta, "fit", fit);
}

void srvview_meta(struct srvview *v, cJSON *meta, struct workload *wl, int repeats,
		  const char *filter, const char *category)
{
	if (!v || !meta)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "server_metrics");
	cJSON_AddItemToObject(meta, "server_metrics", srvmetrics_json(v->metrics));
	fit_json(v, meta);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "mode", v->o.cache_cold ? "cold" : "warm");
	cJSON_AddStringToObject(c, "method",
				v->o.cache_cold ? "\"cache_prompt\": false in every request: the "
						  "server recomputes each prompt from its first token"
						: "the server's default (prefix cache on)");
	double share = NAN;
	size_t n = 0;
	int brc = -1;
	const char *from = "the run's first pass";
	if (v->pref_whole && !v->pref_failed) {
		/* What the run's first pass saw: no second read of the workload. */
		if (!(brc = seen_best_hit(v, &share)))
			n = v->n_pref;
	}
	if (brc && wl) {
		from = "the workload read again (the run's first pass did not reach its end)";
		brc = prefix_best_hit(wl, filter, category, &share, &n);
	}
	if (!brc && n) {
		int r = repeats > 0 ? repeats : 1;
		/* Later repeats send the same requests again: all of it reusable. */
		double all = (share + (double)(r - 1)) / (double)r;
		jv_add_num_or_null(c, "best_hit_rate", all);
		jv_add_num_or_null(c, "best_hit_rate_one_pass", share);
		cJSON_AddNumberToObject(c, "best_hit_requests", (double)n);
		cJSON_AddStringToObject(
			c, "best_hit_method",
			"offline, bytes: each task's first request (system prompt, tools JSON, "
			"messages JSON) reuses the longest prefix it shares with any earlier one "
			"(unbounded cache), over the run's repeats");
		cJSON_AddStringToObject(c, "best_hit_requests_from", from);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "cache");
	cJSON_AddItemToObject(meta, "cache", c);
}

void srvview_free(struct srvview *v)
{
	if (!v)
		return;
	srvmetrics_free(v->metrics);
	cJSON_Delete(v->props);
	ap_arena_free(&v->pref_bytes);
	ap_arena_free(&v->pref_at);
	sbuf_free(&v->scratch);
	free(v);
}

/* ---- best possible hit rate ---- */


static int pref_cmp(const void *a, const void *b)
{
	const struct pref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static size_t lcp(const struct pref *a, const struct pref *b)
{
	size_t n = a->len < b->len ? a->len : b->len, i = 0;
	while (i < n && a->s[i] == b->s[i])
		i++;
	return i;
}

/* Task t's first request as bytes (system prompt, tools JSON, messages JSON) into b. */
static int request_bytes(const struct task *t, struct sbuf *b)
{
	const cJSON *msgs = t->raw_request
				    ? cJSON_GetObjectItemCaseSensitive(t->raw_request, "messages")
				    : t->messages;
	const cJSON *tools = t->raw_request
				     ? cJSON_GetObjectItemCaseSensitive(t->raw_request, "tools")
				     : t->tools;
	sbuf_reset(b);
	if (t->system_prompt && !t->raw_request && sbuf_adds(b, t->system_prompt) < 0)
		return -ENOMEM;
	/* jv_write: cJSON_PrintUnformatted's bytes, without its allocations */
	int rc = tools ? jv_write(b, tools) : 0;
	if (!rc && msgs)
		rc = jv_write(b, msgs);
	return rc;
}

/* Task t's first request appended as p[*np]. */
static int pref_add(struct pref **p, size_t *np, size_t *cap, const struct task *t)
{
	if (*np == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct pref *q = realloc(*p, nc * sizeof(**p));
		if (!q)
			return -ENOMEM;
		*p = q;
		*cap = nc;
	}
	struct sbuf b = { 0 };
	int rc = request_bytes(t, &b);
	char *str = rc ? NULL : b.s ? b.s : ap_strdup("");
	if (!str) {
		sbuf_free(&b);
		return -ENOMEM;
	}
	(*p)[*np] = (struct pref){ str, b.len, *np };
	(*np)++;
	return 0;
}

static void pref_free(struct pref *p, size_t np)
{
	for (size_t k = 0; k < np; k++)
		free(p[k].s);
	free(p);
}

void srvview_seen(void *ctx, const struct task *t)
{
	struct srvview *v = ctx;
	if (v->pref_whole || v->pref_failed)
		return;
	if (!t || v->n_pref == PREFIX_MAX_REQUESTS) {
		v->pref_whole = true;
		return;
	}
	/* Packed outside the heap: held for the whole run, unlike prefix_best_hit's. */
	struct pref_at at = { v->pref_bytes.used, 0 };
	if (request_bytes(t, &v->scratch) ||
	    (v->scratch.len && !ap_arena_put(&v->pref_bytes, v->scratch.s, v->scratch.len))) {
		v->pref_failed = true; /* srvview_meta reads the workload again */
		return;
	}
	at.len = v->scratch.len;
	if (!ap_arena_put(&v->pref_at, &at, sizeof(at))) {
		v->pref_failed = true;
		return;
	}
	if (++v->n_pref == PREFIX_MAX_REQUESTS)
		v->pref_whole = true;
}

/* best_hit over what srvview_seen kept. */
static int seen_best_hit(const struct srvview *v, double *share)
{
	static char empty[1];
	*share = NAN;
	if (!v->n_pref)
		return 0;
	struct pref *p = calloc(v->n_pref, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (size_t k = 0; k < v->n_pref; k++) {
		struct pref_at at;
		memcpy(&at, v->pref_at.base + k * sizeof(at), sizeof(at));
		p[k] = (struct pref){ at.len ? v->pref_bytes.base + at.off : empty, at.len, k };
	}
	int rc = best_hit(p, v->n_pref, share);
	free(p);
	return rc;
}

/* The best hit share of p[0..np) (sorts p). */
static int best_hit(struct pref *p, size_t np, double *share)
{
	*share = NAN;
	if (!np)
		return 0;
	qsort(p, np, sizeof(*p), pref_cmp);
	size_t *nb = calloc(np, sizeof(*nb)); /* nb[k] = lcp(sorted k-1, k) */
	if (!nb)
		return -ENOMEM;
	for (size_t k = 1; k < np; k++)
		nb[k] = lcp(&p[k - 1], &p[k]);
	double hit = 0, tot = 0;
	for (size_t k = 0; k < np; k++) {
		/* The longest prefix shared with an earlier request: the nearest earlier one
		 * on either side in sorted order (the common prefix only shrinks further out). */
		size_t best = 0, m = SIZE_MAX;
		for (size_t q = k; q-- > 0;) {
			m = nb[q + 1] < m ? nb[q + 1] : m;
			if (m <= best)
				break;
			if (p[q].idx < p[k].idx) {
				best = m;
				break;
			}
		}
		m = SIZE_MAX;
		for (size_t q = k + 1; q < np; q++) {
			m = nb[q] < m ? nb[q] : m;
			if (m <= best)
				break;
			if (p[q].idx < p[k].idx) {
				best = m > best ? m : best;
				break;
			}
		}
		hit += (double)best;
		tot += (double)p[k].len;
	}
	free(nb);
	*share = tot > 0 ? hit / tot : NAN;
	return 0;
}

int prefix_best_hit(struct workload *wl, const char *filter, const char *category, double *share,
		    size_t *n)
{
	struct ap_error err;
	struct pref *p = NULL;
	size_t np = 0, cap = 0;
	int rc = workload_rewind(wl);
	*share = NAN;
	*n = 0;
	while (!rc && np < PREFIX_MAX_REQUESTS) {
		struct task *t = NULL;
		rc = workload_next(wl, &t, &err);
		if (rc || !t) {
			rc = rc > 0 ? 0 : rc; /* 1: end of the workload */
			break;
		}
		if ((filter && fnmatch(filter, t->id, 0)) ||
		    (category && (!t->category || strcmp(category, t->category)))) {
			task_free(t);
			continue;
		}
		rc = pref_add(&p, &np, &cap, t);
		task_free(t);
	}
	workload_rewind(wl);
	if (!rc && np && !(rc = best_hit(p, np, share)))
		*n = np;
	pref_free(p, np);
	return rc;
}
