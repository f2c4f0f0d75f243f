/* The report's load block (report_load.h). */
#include "report_load.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "cost.h"
#include "jsonv.h"
#include "profile.h"
#include "report.h"

/* One histogram's percentile per repeat, mean over repeats, in ms. */
static void pct(FILE *f, const struct run_agg *a, int form, size_t off, const char *name, double p)
{
	char v[48], nm[64];
	struct welford w = { 0 };
	for (int r = 1; r <= a->repeats; r++) {
		const struct form_agg *x = run_agg_get((struct run_agg *)a, r, form);
		double q = x ? hist_pct((const struct hist *)((const char *)x + off), p) : NAN;
		if (!isnan(q))
			welford_add(&w, q);
	}
	snprintf(nm, sizeof(nm), "%s-p%g", name, p);
	if (!w.n) {
		report_line(f, "<not counted>", "", nm, "nothing measured", NULL);
		return;
	}
	snprintf(v, sizeof(v), "%.3f", w.mean * 1e3);
	report_line(f, v, "msec", nm, NULL, &w);
}

/* A per-repeat figure's mean and spread over repeats (NAN repeats skipped). */
typedef double (*rep_fn)(const struct form_agg *x, double elapsed, const void *ctx, int r);

static struct welford over_repeats(const struct run_agg *a, int form, rep_fn fn, const void *ctx)
{
	struct welford w = { 0 };
	for (int r = 1; r <= a->repeats; r++) {
		const struct form_agg *x = run_agg_get((struct run_agg *)a, r, form);
		double v = x ? fn(x, a->elapsed_s[r - 1], ctx, r) : NAN;
		if (!isnan(v))
			welford_add(&w, v);
	}
	return w;
}

static double f_rate(const struct form_agg *x, double el, const void *c, int r)
{
	(void)c, (void)r;
	return el > 0 ? (double)x->tasks / el : NAN;
}

static double f_goodput(const struct form_agg *x, double el, const void *c, int r)
{
	(void)c, (void)r;
	return el > 0 && x->slo_judged ? 3600.0 * (double)x->slo_successes / el : NAN;
}

static double f_attain(const struct form_agg *x, double el, const void *c, int r)
{
	(void)el, (void)c, (void)r;
	return x->slo_judged ? 100.0 * (double)x->slo_met / (double)x->slo_judged : NAN;
}

static double f_j_slo(const struct form_agg *x, double el, const void *c, int r)
{
	(void)el, (void)c, (void)r;
	return x->slo_successes > 0 && x->energy_calls ? x->energy_j / (double)x->slo_successes : NAN;
}

struct usd_ctx {
	const struct cost_ctx *cc;
	const struct run_agg *a;
	int form;
};

static double f_usd_slo(const struct form_agg *x, double el, const void *c, int r)
{
	(void)el;
	const struct usd_ctx *u = c;
	if (x->slo_successes <= 0)
		return NAN;
	double usd = cost_total(u->cc, u->a, r, u->form, CF_USD);
	return isnan(usd) ? NAN : usd / (double)x->slo_successes;
}

static double f_tool_s(const struct form_agg *x, double el, const void *c, int r)
{
	(void)el, (void)c, (void)r;
	return x->tasks ? x->tool_wait_s / (double)x->tasks : NAN;
}

static double f_tool_j(const struct form_agg *x, double el, const void *c, int r)
{
	(void)el, (void)c, (void)r;
	return x->successes > 0 && !x->tool_energy_missing ? x->tool_energy_j / (double)x->successes
							   : NAN;
}

static void num_line(FILE *f, struct welford w, int prec, const char *unit,
		     const char *name, const char *comment, const char *none)
{
	char v[48];
	if (!w.n) {
		report_line(f, "<not counted>", "", name, none, NULL);
		return;
	}
	snprintf(v, sizeof(v), "%.*f", prec, w.mean);
	report_line(f, v, unit, name, comment, &w);
}

void report_load_print(FILE *f, const cJSON *meta, const struct run_agg *a, int form)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(meta, "options");
	const cJSON *slo = cJSON_GetObjectItemCaseSensitive(meta, "slo");
	double rate = jv_num_or(op, "rate", NAN);
	double tool_s = 0;
	long judged = 0;
	for (int r = 1; r <= a->repeats; r++) {
		const struct form_agg *x = run_agg_get((struct run_agg *)a, r, form);
		if (x) {
			tool_s += x->tool_wait_s;
			judged += x->slo_judged;
		}
	}
	if (isnan(rate) && !slo && tool_s <= 0 && !judged)
		return;
	char c[128];
	if (!isnan(rate))
		fprintf(f, "\n   load: open loop, %s arrivals at %g tasks/s offered%s; latency from each "
			   "call's scheduled start\n\n",
			jv_str_or(op, "arrival", "poisson"), rate,
			isnan(jv_num_or(op, "duration_s", NAN)) ? "" : " for --duration");
	else
		fprintf(f, "\n   load: closed loop (-c %.0f); a task's scheduled start is when a slot "
			   "freed\n\n", jv_num_or(op, "concurrency", 1));
	if (!isnan(rate)) {
		snprintf(c, sizeof(c), "offered %g/s", rate);
		num_line(f, over_repeats(a, form, f_rate, NULL), 3, "/s", "achieved-task-rate", c,
			 "no task finished");
	}
	pct(f, a, form, offsetof(struct form_agg, queue), "queue-delay", 50);
	pct(f, a, form, offsetof(struct form_agg, queue), "queue-delay", 99);
	/* --percentiles, and p99 always: the tail is where queueing shows */
	const double *pl;
	size_t np = report_percentiles(&pl);
	double ps[34];
	size_t n = 0;
	bool has99 = false;
	for (size_t i = 0; i < np && n < 33; i++) {
		ps[n++] = pl[i];
		has99 |= pl[i] == 99;
	}
	if (!has99)
		ps[n++] = 99;
	for (size_t i = 0; i < n; i++)
		pct(f, a, form, offsetof(struct form_agg, ttft_sched), "ttft-from-schedule", ps[i]);
	for (size_t i = 0; i < n; i++)
		pct(f, a, form, offsetof(struct form_agg, e2e_sched), "e2e-from-schedule", ps[i]);
	pct(f, a, form, offsetof(struct form_agg, task_sched), "task-from-schedule", 99);
	if (judged) {
		char lim[160] = "";
		const cJSON *it;
		cJSON_ArrayForEach(it, slo)
			if (cJSON_IsNumber(it))
				snprintf(lim + strlen(lim), sizeof(lim) - strlen(lim), "%s%.*s<=%gs",
					 lim[0] ? " " : "", (int)(strlen(it->string) - 2), it->string,
					 it->valuedouble);
		num_line(f, over_repeats(a, form, f_attain, NULL), 2, "%", "slo-attainment",
			 lim, "no task judged");
		num_line(f, over_repeats(a, form, f_goodput, NULL), 1, "/h", "goodput",
			 "successful tasks meeting the SLO", "no task judged");
		num_line(f, over_repeats(a, form, f_j_slo, NULL), 3, "J", "energy-per-slo-success",
			 "device, gross (as energy-per-successful-task)", "no successful task met the SLO");
		struct profile_set ps_ = { 0 };
		struct cost_ctx cc = { 0 };
		char err[200];
		if (cJSON_GetObjectItemCaseSensitive(meta, "profiles") &&
		    !cost_ctx_from_meta(&cc, &ps_, meta, err, sizeof(err))) {
			struct usd_ctx u = { &cc, a, form };
			num_line(f, over_repeats(a, form, f_usd_slo, &u), 6, "$", "usd-per-slo-success",
				 "all $ of the run / SLO-meeting successes", "no successful task met the SLO");
		}
	}
	if (tool_s > 0) {
		num_line(f, over_repeats(a, form, f_tool_s, NULL), 3, "s", "tool-wait-per-task",
			 "tools' latency_ms; the model server idles", "no task");
		num_line(f, over_repeats(a, form, f_tool_j, NULL), 3, "J", "tool-wait-energy-per-success",
			 "device energy in tool waits, not in calls' J", "no success or not measured");
	}
}
