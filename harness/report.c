/*
 * The human report, laid out like `perf stat`: a header naming the command
 * and run count, one right-aligned value per line with unit and name, '#'
 * derived metrics, '( +- x% )' over repeats, and the elapsed time last.
 * It reads only meta.json's object and the aggregates, so a live run and
 * `agentperf report DIR` print the same thing.
 */
#include "report.h"
#include "report_load.h"
#include "report_bfcl.h"
#include "cost.h"
#include "jsonv.h"
#include "report_tasks.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double pcts[REPORT_MAX_PCT] = { 50, 95 };
static size_t n_pcts = 2;

int report_set_percentiles(const char *list, char *err, size_t n)
{
	double v[REPORT_MAX_PCT];
	size_t k = 0;
	const char *p = list;
	while (*p) {
		char *end;
		double x = strtod(p, &end);
		if (end == p || !(x > 0 && x <= 100) || (*end && *end != ',') || k == REPORT_MAX_PCT) {
			snprintf(err, n, "--percentiles: '%s': want up to %d comma-separated numbers in (0, 100], "
				 "e.g. 50,90,99", list, REPORT_MAX_PCT);
			return -EINVAL;
		}
		v[k++] = x;
		p = *end ? end + 1 : end;
	}
	if (!k) {
		snprintf(err, n, "--percentiles: empty list");
		return -EINVAL;
	}
	memcpy(pcts, v, k * sizeof(*v));
	n_pcts = k;
	return 0;
}

size_t report_percentiles(const double **out)
{
	*out = pcts;
	return n_pcts;
}

static void rse(FILE *f, const struct welford *w)
{
	if (w->n > 1)
		fprintf(f, "  ( +- %5.2f%% )", welford_rse_pct(w));
}

void report_line(FILE *f, const char *value, const char *unit, const char *name,
		 const char *comment, const struct welford *w)
{
	fprintf(f, "%18s %-6s %-28s", value, unit, name);
	if (comment && *comment)
		fprintf(f, " # %-34s", comment);
	else if (w && w->n > 1)
		fprintf(f, "   %-34s", "");
	if (w)
		rse(f, w);
	fputc('\n', f);
}

static void fmt_count(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "<not counted>");
	else if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.2f", v);
}

static void count_line(FILE *f, const struct run_agg *a, int form, enum metric m,
		       const char *name, enum metric per, const char *per_what)
{
	char v[48], c[96] = "";
	struct welford w = run_metric(a, form, m);
	fmt_count(v, sizeof(v), w.n ? w.mean : NAN);
	if (per != M_COUNT) {
		struct welford p = run_metric(a, form, per);
		if (p.n)
			snprintf(c, sizeof(c), "%10.2f %s", p.mean, per_what);
		else
			snprintf(c, sizeof(c), "%s: no success", per_what);
	}
	report_line(f, v, "", name, c, &w);
}

/* One latency percentile (which: 0 ttft, 1 e2e), per repeat, mean over repeats. */
static void pct_line(FILE *f, const struct run_agg *a, int form, int which, double p)
{
	char v[48], name[48];
	struct welford w = { 0 };
	for (int r = 1; r <= a->repeats; r++) {
		const struct form_agg *x = run_agg_get((struct run_agg *)a, r, form);
		double q = x ? hist_pct(which ? &x->e2e : &x->ttft, p) : NAN;
		if (!isnan(q))
			welford_add(&w, q);
	}
	snprintf(name, sizeof(name), "%s-p%g", which ? "e2e" : "ttft", p);
	if (!w.n) {
		report_line(f, "<not counted>", "", name, "no successful call", NULL);
		return;
	}
	snprintf(v, sizeof(v), "%.3f", w.mean * 1e3);
	report_line(f, v, "msec", name, NULL, &w);
}

static void form_block(FILE *f, const struct run_agg *a, int form, const cJSON *energy)
{
	char v[48], c[96];
	const struct form_agg *sum = NULL;
	struct form_agg tot = { 0 };
	/* Counts that need no mean (failure classes) are summed over repeats. */
	for (int i = 1; i <= a->repeats; i++) {
		sum = run_agg_get((struct run_agg *)a, i, form);
		for (int s = 0; s < CALL_STATUS_COUNT; s++)
			tot.by_status[s] += sum->by_status[s];
		tot.calls_no_usage += sum->calls_no_usage;
		tot.calls_chunk_checked += sum->calls_chunk_checked;
		tot.calls_chunk_mismatch += sum->calls_chunk_mismatch;
		tot.retries += sum->retries;
		tot.failed_calls += sum->failed_calls;
		tot.interrupted += sum->interrupted;
		tot.srv_n += sum->srv_n;
		tot.srv_gen_tps_sum += sum->srv_gen_tps_sum;
		tot.srv_prompt_tps_sum += sum->srv_prompt_tps_sum;
		if (sum->max_k > tot.max_k)
			tot.max_k = sum->max_k;
		tot.calls += sum->calls;
	}
	struct welford w = run_metric(a, form, M_TASKS);
	fmt_count(v, sizeof(v), w.n ? w.mean : NAN);
	report_line(f, v, "", "tasks", NULL, NULL);

	struct welford succ = run_metric(a, form, M_SUCCESSES);
	struct welford rate = run_metric(a, form, M_SUCCESS_RATE);
	fmt_count(v, sizeof(v), succ.n ? succ.mean : NAN);
	snprintf(c, sizeof(c), "%9.2f %% success rate", rate.n ? rate.mean * 100 : NAN);
	report_line(f, v, "", "successes", c, &rate);

	struct welford p1 = run_metric(a, form, M_PASS1);
	snprintf(v, sizeof(v), "%.2f", p1.n ? p1.mean * 100 : NAN);
	report_line(f, v, "%", "pass@1", "first attempt succeeds", &p1);
	for (int k = 2; k <= tot.max_k && k <= MAX_K; k++) {
		struct welford wk = { 0 };
		for (int i = 1; i <= a->repeats; i++) {
			const struct form_agg *x = run_agg_get((struct run_agg *)a, i, form);
			if (x->tasks)
				welford_add(&wk, (double)x->within[k] / (double)x->tasks);
		}
		char name[48];
		snprintf(name, sizeof(name), "success-within-%d", k);
		snprintf(v, sizeof(v), "%.2f", wk.n ? wk.mean * 100 : NAN);
		report_line(f, v, "%", name, NULL, &wk);
	}
	count_line(f, a, form, M_ATTEMPTS, "attempts", M_ATTEMPTS_PER_SUCCESS, "attempts per success");
	count_line(f, a, form, M_CALLS, "calls", M_CALLS_PER_SUCCESS, "calls per success");
	count_line(f, a, form, M_PROMPT, "prompt-tokens", M_PROMPT_PER_SUCCESS, "per success");
	count_line(f, a, form, M_COMPLETION, "completion-tokens", M_COMPLETION_PER_SUCCESS,
		   "per success");
	count_line(f, a, form, M_CACHED, "cached-tokens", M_COUNT, NULL);
	if (tot.calls_no_usage) {
		snprintf(v, sizeof(v), "%ld", tot.calls_no_usage);
		report_line(f, v, "", "calls-without-usage",
			    "no token counts from the server: ESTIMATED (bytes / 4)", NULL);
	}
	if (tot.calls_chunk_checked) {
		snprintf(v, sizeof(v), "%ld", tot.calls_chunk_mismatch);
		snprintf(c, sizeof(c), "of %ld streamed: chunks vs completion_tokens off by > 1",
			 tot.calls_chunk_checked);
		report_line(f, v, "", "token-count-mismatch", c, NULL);
	}
	snprintf(v, sizeof(v), "%ld", tot.retries);
	report_line(f, v, "", "transport-retries", "not task attempts", NULL);
	snprintf(v, sizeof(v), "%ld", tot.failed_calls);
	c[0] = '\0';
	for (int s = 1; s < CALL_STATUS_COUNT; s++) {
		if (!tot.by_status[s])
			continue;
		size_t l = strlen(c);
		snprintf(c + l, sizeof(c) - l, "%s%s %ld", l ? ", " : "", call_status_name(s),
			 tot.by_status[s]);
	}
	report_line(f, v, "", "failed-calls", c, NULL);
	if (tot.interrupted) {
		snprintf(v, sizeof(v), "%ld", tot.interrupted);
		report_line(f, v, "", "interrupted-tasks", "not counted as tasks", NULL);
	}
	for (int which = 0; which < 2; which++)
		for (size_t i = 0; i < n_pcts; i++)
			pct_line(f, a, form, which, pcts[i]);
	struct welford itl = run_metric(a, form, M_ITL_P50);
	if (itl.n) {
		snprintf(v, sizeof(v), "%.3f", itl.mean * 1e3);
		report_line(f, v, "msec", "itl-p50", "gap between content chunks", &itl);
	}
	struct welford tps = run_metric(a, form, M_OUT_TPS);
	if (tps.n) {
		snprintf(v, sizeof(v), "%.1f", tps.mean);
		if (tot.srv_n)
			snprintf(c, sizeof(c), "server says %.1f gen, %.1f prompt",
				 tot.srv_gen_tps_sum / (double)tot.srv_n,
				 tot.srv_prompt_tps_sum / (double)tot.srv_n);
		report_line(f, v, "tok/s", "output-rate", tot.srv_n ? c : "per call, mean", &tps);
	}
	/* Energy per form: only when every call of the form got an energy figure. */
	struct welford ej = run_metric(a, form, M_ENERGY_J);
	const char *full = jv_str_or(energy, "device_provenance", NULL);
	/* The tag here; the energy block below gives the whole provenance. */
	char src[96] = "";
	if (full) {
		snprintf(src, sizeof(src), "%s", full);
		src[strcspn(src, " ")] = '\0';
	}
	if (ej.n && full) {
		struct welford eps = run_metric(a, form, M_ENERGY_PER_SUCCESS);
		struct welford net = run_metric(a, form, M_NET_ENERGY_PER_SUCCESS);
		snprintf(v, sizeof(v), "%.3f", ej.mean);
		report_line(f, v, "J", "energy-in-calls", src, &ej);
		if (eps.n) {
			snprintf(v, sizeof(v), "%.3f", eps.mean);
			report_line(f, v, "J", "energy-per-successful-task", "all attempts, failed included", &eps);
			snprintf(v, sizeof(v), "%.3f", net.mean);
			/* Below zero the baseline drew more than the run: other load during it. */
			report_line(f, v, "J", "net-energy-per-success",
			     net.mean < 0 ? "NEGATIVE: idle baseline above run power (other load?)"
					  : "gross minus idle power",
			     &net);
		} else {
			report_line(f, "no success", "J", "energy-per-successful-task", "no task succeeded", NULL);
		}
	} else {
		const char *why = jv_str_or(energy, "reason", "no energy source");
		report_line(f, "<not supported>", "J", "energy-in-calls", why, NULL);
	}
}

static void decomposition_block(FILE *f, const struct run_agg *a)
{
	static const struct {
		enum metric m;
		const char *name;
	} rows[] = {
		{ M_PROMPT, "prompt-tokens" },
		{ M_COMPLETION, "completion-tokens" },
		{ M_CALLS, "calls" },
		{ M_ATTEMPTS, "attempts" },
		{ M_SUCCESS_RATE, "success-rate" },
		{ M_ENERGY_J, "energy" },
	};
	fprintf(f, "\n   decomposition overhead (decomposed - monolithic) / monolithic, on the %.0f tasks "
		   "that have both forms:\n\n",
		run_metric(a, AGG_MONO_PAIRED, M_TASKS).mean);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct welford w = { 0 };
		for (int r = 1; r <= a->repeats; r++) {
			double m = form_metric(a, r, AGG_MONO_PAIRED, rows[i].m);
			double d = form_metric(a, r, FORM_DECOMP, rows[i].m);
			if (!isnan(m) && !isnan(d) && m != 0)
				welford_add(&w, (d - m) / m);
		}
		char v[48];
		if (w.n)
			snprintf(v, sizeof(v), "%+.2f", w.mean * 100);
		else
			snprintf(v, sizeof(v), "<not counted>");
		report_line(f, v, "%", rows[i].name, NULL, &w);
	}
}

static void energy_block(FILE *f, const cJSON *energy, const struct run_agg *a)
{
	if (!energy)
		return;
	fprintf(f, "\n   energy (%s):\n\n",
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(energy, "estimated"))
			? "ESTIMATED, no counter readable"
			: "measured");
	const cJSON *ch;
	char v[48], c[160];
	cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(energy, "channels"))
	{
		const char *unit = jv_str_or(ch, "unit", "");
		const char *st = jv_str_or(ch, "status", "ok");
		if (strcmp(st, "ok")) {
			char why[256];
			snprintf(why, sizeof(why), "%s: %s", st, jv_str_or(ch, "reason", ""));
			report_line(f, "<not supported>", unit, jv_str_or(ch, "name", "?"), why, NULL);
			continue;
		}
		if (!strcmp(unit, "J")) {
			snprintf(v, sizeof(v), "%.3f", jv_num_or(ch, "total", NAN));
			snprintf(c, sizeof(c), "%7.2f W  %s%s", jv_num_or(ch, "avg_w", NAN),
				 jv_str_or(ch, "provenance", ""),
				 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ch, "in_device_total"))
					 ? ""
					 : " (not summed)");
		} else {
			snprintf(v, sizeof(v), "%.3f", jv_num_or(ch, "total", NAN));
			snprintf(c, sizeof(c), "%s, %s", !strcmp(unit, "s") ? "over the run" : "mean",
				 jv_str_or(ch, "provenance", ""));
		}
		report_line(f, v, unit, jv_str_or(ch, "name", "?"), c, NULL);
	}
	double dev = jv_num_or(energy, "device_j", NAN);
	if (!isnan(dev)) {
		snprintf(v, sizeof(v), "%.3f", dev);
		report_line(f, v, "J", "device-energy", jv_str_or(energy, "device_provenance", ""), NULL);
		double dur = jv_num_or(energy, "duration_s", NAN);
		if (dur > 0) {
			snprintf(v, sizeof(v), "%.3f", dev / dur);
			report_line(f, v, "W", "average-power", NULL, NULL);
		}
		snprintf(v, sizeof(v), "%.3f", jv_num_or(energy, "attributed_j", NAN));
		report_line(f, v, "J", "attributed-to-calls", "time share between overlapping calls", NULL);
		snprintf(v, sizeof(v), "%.3f", jv_num_or(energy, "unattributed_j", NAN));
		report_line(f, v, "J", "unattributed", "no call in flight", NULL);
	}
	double idle = jv_num_or(energy, "idle_w", NAN);
	if (!isnan(idle)) {
		snprintf(v, sizeof(v), "%.3f", idle);
		snprintf(c, sizeof(c), "baseline over %.1f s", jv_num_or(energy, "idle_s", 0));
		report_line(f, v, "W", "idle-power", c, NULL);
	} else {
		report_line(f, "<not counted>", "W", "idle-power", "no idle baseline taken", NULL);
	}
	double util = jv_num_or(energy, "cpu_util_machine", NAN);
	if (!isnan(util)) {
		snprintf(v, sizeof(v), "%.2f", util * 100);
		report_line(f, v, "%", "cpu-utilization", "all cores, whole machine", NULL);
	}
	double self = jv_num_or(energy, "cpu_s_self", NAN);
	double watched = jv_num_or(energy, "cpu_s_watched", NAN);
	if (!isnan(self)) {
		snprintf(v, sizeof(v), "%.3f", self);
		report_line(f, v, "s", "cpu-time-agentperf", NULL, NULL);
	}
	if (!isnan(watched) && watched > 0) {
		snprintf(v, sizeof(v), "%.3f", watched);
		report_line(f, v, "s", "cpu-time-model-server", "watched PIDs", NULL);
	}
	double samp = jv_num_or(energy, "sampler_cpu_s", NAN);
	if (!isnan(samp)) {
		double dur = jv_num_or(energy, "duration_s", NAN);
		snprintf(v, sizeof(v), "%.4f", samp);
		snprintf(c, sizeof(c), "%.3f %% of one core, %.0f ms interval",
			 dur > 0 ? 100 * samp / dur : NAN, jv_num_or(energy, "interval_s", NAN) * 1e3);
		report_line(f, v, "s", "sampler-cpu-time", c, NULL);
	}
	(void)a;
}


/* The lines for a shard (which slice) and for a merged run (shards, partial,
 * energy rule: merge.c); nothing for other runs. */
static void merge_report_print(FILE *f, const cJSON *meta)
{
	const cJSON *mg = cJSON_GetObjectItemCaseSensitive(meta, "merge");
	const cJSON *sh, *shards = cJSON_GetObjectItemCaseSensitive(meta, "shards");
	const cJSON *one = cJSON_GetObjectItemCaseSensitive(meta, "shard");
	if (one) /* one shard's own run: which slice of the whole it is */
		fprintf(f, "   shard     %.0f of %.0f (%s), %.0f of %.0f units; agentperf merge joins "
			   "the shards\n",
			jv_num_or(one, "index", NAN), jv_num_or(one, "count", NAN),
			jv_str_or(one, "source", "?"), jv_num_or(one, "units", NAN),
			jv_num_or(one, "units_total", NAN));
	if (!mg)
		return;
	fprintf(f, "   shards    %.0f of %.0f merged, %.0f host(s), %.0f of %.0f units\n",
		jv_num_or(mg, "present", 0), jv_num_or(mg, "count", 0), jv_num_or(mg, "hosts", 0),
		jv_num_or(mg, "units", NAN), jv_num_or(mg, "units_total", NAN));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mg, "partial"))) {
		fprintf(f, "   PARTIAL   shard(s)");
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(mg, "missing"))
			fprintf(f, " %.0f", x->valuedouble);
		fprintf(f, " missing (--allow-partial): figures cover only the shards merged\n");
	}
	cJSON_ArrayForEach(sh, shards)
	{
		const char *st = jv_str_or(sh, "status", "?");
		if (strcmp(st, "complete"))
			fprintf(f, "   shard %-3.0f %s (%s): merged as it is\n", jv_num_or(sh, "index", -1),
				st, jv_str_or(sh, "folder", "?"));
	}
	const char *e = jv_str_or(mg, "energy", NULL);
	if (e && cJSON_GetObjectItemCaseSensitive(meta, "energy"))
		fprintf(f, "   energy    %s\n", e);
}

/* The model-load lines of a managed llama-server, from meta.json alone (nothing when absent). */
static void managed_report_print(FILE *f, const cJSON *meta)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(meta, "model_load");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, "server");
	if (!cJSON_IsObject(l))
		return;
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(l, "seconds");
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(l, "energy_j");
	const cJSON *prov = cJSON_GetObjectItemCaseSensitive(l, "provenance");
	const cJSON *log = cJSON_GetObjectItemCaseSensitive(v, "log");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(v, "exit");
	char val[48];
	fprintf(f, "\n   model load (managed llama-server; not in task energy):\n\n");
	if (cJSON_IsNumber(sec))
		snprintf(val, sizeof(val), "%.3f", sec->valuedouble);
	else
		snprintf(val, sizeof(val), "<not counted>");
	fprintf(f, "%18s %-6s %-28s # %s\n", val, "s", "model-load-time", "spawn to /health 200");
	if (cJSON_IsNumber(j))
		fprintf(f, "%18.3f %-6s %-28s # %s\n", j->valuedouble, "J", "model-load-energy",
			cJSON_IsString(prov) ? prov->valuestring : "");
	else
		fprintf(f, "%18s %-6s %-28s # %s\n", "<not supported>", "J", "model-load-energy",
			cJSON_IsString(prov) ? prov->valuestring : "not measured");
	if (cJSON_IsString(ex))
		fprintf(f, "   SERVER DIED: llama-server %s during the run; see %s\n", ex->valuestring,
			cJSON_IsString(log) ? log->valuestring : "its log");
	else if (cJSON_IsString(log))
		fprintf(f, "   server log %s\n", log->valuestring);
}
void report_print(FILE *f, const cJSON *meta, const struct run_agg *a)
{
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(meta, "backend");
	const cJSON *wl = cJSON_GetObjectItemCaseSensitive(meta, "workload");
	const cJSON *energy = cJSON_GetObjectItemCaseSensitive(meta, "energy");
	/* Clamped before the cast: a hand-edited 1e10 must not be undefined behaviour. */
	double rd = jv_num_or(meta, "repeats", 1), dd = jv_num_or(meta, "repeats_done", rd);
	int repeats = rd >= 1 && rd <= 100000 ? (int)rd : 1;
	int done = dd >= 0 && dd <= 100000 ? (int)dd : repeats;
	fprintf(f, "\n Agent workload stats for '%s'", jv_str_or(meta, "command", "agentperf"));
	if (repeats > 1)
		fprintf(f, " (%d runs)", repeats);
	fprintf(f, ":\n\n");
	fprintf(f, "   backend   %s (%s%s)\n", jv_str_or(be, "label", "?"),
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(be, "stream")) ? "streaming" : "not streaming",
		cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(be, "tls_verify"))
			? ", TLS VERIFICATION OFF"
			: "");
	const char *note = jv_str_or(meta, "model_note", NULL);
	if (note)
		fprintf(f, "   model     %s\n", note);
	fprintf(f, "   workload  %s %s (%s, %.0f tasks selected, sha256 %.12s)\n",
		jv_str_or(wl, "name", "?"), jv_str_or(wl, "version", ""), jv_str_or(wl, "format", "?"),
		jv_num_or(wl, "selected", NAN), jv_str_or(wl, "sha256", "?"));
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(meta, "policy");
	if (pol) {
		/* Which fields the command line set: those hold for every task;
		 * the others are the workload's default, which a task may override. */
		char set[96] = "";
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(pol, "from_command_line"))
			if (cJSON_IsString(x))
				snprintf(set + strlen(set), sizeof(set) - strlen(set), "%s%s",
					 set[0] ? ", " : "", x->valuestring);
		fprintf(f, "   policy    max_attempts %.0f, retry %s, max_steps %.0f (%s%s)\n",
			jv_num_or(pol, "max_attempts", NAN), jv_str_or(pol, "retry", "?"),
			jv_num_or(pol, "max_steps", NAN),
			set[0] ? "command line: " : "the workload's defaults", set);
	}
	const char *status = jv_str_or(meta, "status", "complete");
	if (strcmp(status, "complete"))
		fprintf(f, "   status    %s: %d of %d repeats complete; figures cover what was measured\n",
			status, done, repeats);
	merge_report_print(f, meta);
	for (int form = 0; form < FORM_COUNT; form++) {
		if (!a->ran[form])
			continue;
		fprintf(f, "\n   %s form:\n\n", form == FORM_MONO ? "monolithic" : "decomposed");
		form_block(f, a, form, energy);
		report_load_print(f, meta, a, form); /* report_load.c: schedule, SLO, tool waits */
	}
	if (a->ran[AGG_MONO_PAIRED] && a->ran[FORM_DECOMP])
		decomposition_block(f, a);
	energy_block(f, energy, a);
	managed_report_print(f, meta);
	srvview_report_print(f, meta, a); /* report_srv.c: metrics, cache, fit */
	cost_report(f, meta, a); /* cost.c; prints nothing for a run without profiles */
	report_tasks_print(f, meta, a);
	report_bfcl_print(f, meta, a); /* BFCL runs only */
	struct welford el = { 0 };
	for (int i = 0; i < a->repeats; i++)
		if (!isnan(a->elapsed_s[i]))
			welford_add(&el, a->elapsed_s[i]);
	fputc('\n', f);
	if (el.n > 1)
		fprintf(f, "%18.9f +- %.9f seconds time elapsed", el.mean, welford_stddev(&el));
	else
		fprintf(f, "%18.9f seconds time elapsed", el.n ? el.mean : 0.0);
	rse(f, &el);
	fprintf(f, "\n\n");
}

void report_print_to(FILE *f, void *in)
{
	const struct report_input *r = in;
	report_print(f, r->meta, r->agg);
}
