#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonv.h"
#include "machine.h"
#include "report.h"
#include "results.h"
#include "util.h"

/* ---- pure parts: cascade and breakeven ---- */

static const struct casc_task *find_b(const struct casc_task *a, const struct casc_task *b, size_t nb)
{
	const struct casc_task *any = NULL;
	for (size_t i = 0; i < nb; i++) {
		if (strcmp(a->id, b[i].id))
			continue;
		if (b[i].repeat == a->repeat)
			return &b[i];
		if (!any)
			any = &b[i];
	}
	return any;
}

static const char *const esc_names[] = { "detectable", "oracle" };

int escalate_parse(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(s, esc_names[i]))
			return i;
	return -EINVAL;
}

const char *escalate_name(int e)
{
	return e == ESC_ORACLE ? esc_names[1] : esc_names[0];
}

/*
 * Walks a task's recorded attempts 1..limit as a deployed system would:
 * 1 success, 2 silent failure delivered, 0 every one failed visibly.
 * *used: attempts spent.
 */
static int walk(const struct casc_task *t, int limit, int *used)
{
	int n = limit < t->attempts ? limit : t->attempts;
	if (n > MAX_K)
		n = MAX_K;
	for (int i = 1; i <= n; i++) {
		*used = i;
		if (t->ok[i])
			return 1;
		if (t->vis[i] == 0)
			return 2;
	}
	*used = n;
	return 0;
}

void cascade_compute(const struct casc_task *a, size_t na, const struct casc_task *b, size_t nb,
		     int k, const char *category, int escalate, struct casc_row *row)
{
	memset(row, 0, sizeof(*row));
	row->k = k;
	for (size_t i = 0; i < na; i++) {
		const struct casc_task *t = &a[i];
		if (category && strcmp(category, t->category))
			continue;
		const struct casc_task *big = find_b(t, b, nb);
		if (!big) {
			row->unmatched++;
			continue;
		}
		row->tasks++;
		int used = 0, out;
		if (escalate == ESC_ORACLE) {
			/* The check tells at once whether an attempt succeeded, so the small
			 * model stops at its first success and escalates only after k failures
			 * (or when it ran out of recorded attempts). */
			bool small_ok = t->success && t->k_success >= 1 && t->k_success <= k;
			used = small_ok ? t->k_success : (k < t->attempts ? k : t->attempts);
			if (used > MAX_K)
				used = MAX_K;
			out = small_ok ? 1 : 0;
		} else {
			out = k > 0 ? walk(t, k, &used) : 0;
		}
		row->j += t->cum_j[used];
		row->usd += t->cum_usd[used];
		if (out) {
			row->small_handled++;
			row->successes += out == 1;
			row->silent += out == 2;
			continue;
		}
		int all = big->attempts > MAX_K ? MAX_K : big->attempts;
		if (escalate == ESC_ORACLE) {
			row->successes += big->success;
		} else {
			int bo = walk(big, all, &all);
			row->successes += bo == 1;
			row->silent += bo == 2;
		}
		row->j += big->cum_j[all];
		row->usd += big->cum_usd[all];
	}
}

struct breakeven breakeven_compute(double a_total, long a_tasks, long a_attempts,
				   double b_per_success)
{
	struct breakeven r = { NAN, NAN };
	if (isnan(a_total) || isnan(b_per_success) || b_per_success <= 0)
		return r;
	if (a_tasks > 0)
		r.success_rate = a_total / (double)a_tasks / b_per_success;
	if (a_attempts > 0 && a_total > 0)
		r.attempts_per_success = b_per_success / (a_total / (double)a_attempts);
	return r;
}

/* ---- loading a run ---- */

int run_data_load(struct run_data *d, const char *dir, const struct profile_cli *pc)
{
	struct ap_error err = { { 0 } };
	char perr[512];
	int rc;
	memset(d, 0, sizeof(*d));
	d->dir = dir;
	if ((rc = results_load(dir, &d->agg, &d->meta, &err))) {
		ap_err("%s", err.msg);
		return rc;
	}
	d->loaded = true;
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(d->meta, "backend");
	snprintf(d->label, sizeof(d->label), "%s", jv_str_or(be, "label", dir));
	if (pc->n_files) {
		rc = profile_cli_resolve(pc, jv_str_or(be, "model", NULL), jv_str_or(be, "url", NULL),
					 &d->ps, perr, sizeof(perr));
		if (rc) {
			ap_err("%s: %s", dir, perr);
			return rc;
		}
		profile_set_store(d->meta, &d->ps);
	} else if (pc->ov.any) {
		if ((rc = profile_set_from_meta(&d->ps, d->meta, perr, sizeof(perr)))) {
			ap_err("%s: %s", dir, perr);
			return rc;
		}
		if (!d->ps.local.loaded && !d->ps.remote.loaded) {
			ap_err("%s: the run has no profile to override: add --profile FILE", dir);
			return -EINVAL;
		}
		profile_apply(&d->ps.local, &pc->ov);
		profile_apply(&d->ps.remote, &pc->ov);
		if ((rc = profile_validate(&d->ps.local, perr, sizeof(perr))) ||
		    (rc = profile_validate(&d->ps.remote, perr, sizeof(perr)))) {
			ap_err("%s", perr);
			return rc;
		}
		profile_set_store(d->meta, &d->ps);
	}
	if ((rc = cost_ctx_from_meta(&d->c, &d->ps, d->meta, perr, sizeof(perr)))) {
		ap_err("%s: %s", dir, perr);
		return rc;
	}
	return 0;
}

void run_data_free(struct run_data *d)
{
	if (d->loaded)
		run_agg_free(&d->agg);
	cJSON_Delete(d->meta);
	d->meta = NULL;
	d->loaded = false;
}

/* One attempt's (or task's) cost, the way the run-level figures count it. */
static void slice_cost(const struct cost_ctx *c, const struct cost_slice *s, double *j, double *usd)
{
	struct cost_out o;
	cost_compute(c, s, &o);
	*j = o.headline_j;
	*usd = o.usd;
}

static int find_task(struct casc_task *v, size_t n, int repeat, const char *id)
{
	for (size_t i = n; i-- > 0;)
		if (v[i].repeat == repeat && !strcmp(v[i].id, id))
			return (int)i;
	return -1;
}

int casc_load(const char *dir, const struct cost_ctx *c, const struct run_agg *agg,
	      struct casc_task **out, size_t *n, char *err, size_t errlen)
{
	struct csv_reader r;
	char path[4200];
	struct casc_task *v = NULL;
	size_t nv = 0, cap = 0;
	int rc;
	snprintf(path, sizeof(path), "%s/tasks.csv", dir);
	if ((rc = csv_open(&r, path))) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	while ((rc = csv_next(&r)) == 0) {
		if (strcmp(csv_get(&r, "form"), "mono") || !strcmp(csv_get(&r, "outcome"), "interrupted"))
			continue;
		if (nv == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct casc_task *nvv = realloc(v, nc * sizeof(*v));
			if (!nvv) {
				rc = -ENOMEM;
				break;
			}
			v = nvv;
			cap = nc;
		}
		struct casc_task *t = &v[nv++];
		memset(t, 0, sizeof(*t));
		t->repeat = atoi(csv_get(&r, "repeat"));
		ap_scopy(t->id, sizeof(t->id), csv_get(&r, "task_id"));
		ap_scopy(t->category, sizeof(t->category), csv_get(&r, "category"));
		t->success = atoi(csv_get(&r, "success")) != 0;
		t->k_success = atoi(csv_get(&r, "k_success"));
		t->attempts = atoi(csv_get(&r, "attempts"));
		const char *ej = csv_get(&r, "energy_j");
		t->device_j = *ej ? strtod(ej, NULL) : NAN;
	}
	csv_close(&r);
	if (rc < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/attempts.csv", dir);
	if ((rc = csv_open(&r, path))) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		goto fail;
	}
	while ((rc = csv_next(&r)) == 0) {
		if (strcmp(csv_get(&r, "form"), "mono"))
			continue;
		int rep = atoi(csv_get(&r, "repeat"));
		int i = find_task(v, nv, rep, csv_get(&r, "task_id"));
		int att = atoi(csv_get(&r, "attempt"));
		if (i < 0 || att < 1 || att > MAX_K)
			continue;
		const char *e = csv_get(&r, "energy_j"), *dur = csv_get(&r, "duration_s");
		struct cost_slice s = {
			.calls = atol(csv_get(&r, "calls")),
			.prompt_tokens = atol(csv_get(&r, "prompt_tokens")),
			.completion_tokens = atol(csv_get(&r, "completion_tokens")),
			.cached_tokens = atol(csv_get(&r, "cached_tokens")),
			.device_j = *e ? strtod(e, NULL) : NAN,
			.busy_s = (*dur ? strtod(dur, NULL) : NAN) *
				  (rep >= 1 && rep <= agg->repeats ? cost_busy_scale(agg, rep) : 1.0),
		};
		slice_cost(c, &s, &v[i].cum_j[att], &v[i].cum_usd[att]);
		v[i].ok[att] = atoi(csv_get(&r, "success")) != 0;
		const char *vis = csv_get(&r, "failure_visible");
		v[i].vis[att] = *vis ? (signed char)(atoi(vis) != 0) : -1;
	}
	csv_close(&r);
	if (rc < 0)
		goto fail;
	/* Per-attempt costs become running sums: cum[i] = the first i attempts. */
	for (size_t i = 0; i < nv; i++)
		for (int k = 1; k <= MAX_K; k++) {
			v[i].cum_j[k] += v[i].cum_j[k - 1];
			v[i].cum_usd[k] += v[i].cum_usd[k - 1];
		}
	*out = v;
	*n = nv;
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
	free(v);
	return rc;
}

/* ---- sensitivity ---- */

static const double sens_u[] = { 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 1.00 };
static const double sens_pue[] = { 1.00, 1.09, 1.20, 1.40, 1.60 };

static double mean_fig(const struct cost_ctx *c, const struct run_agg *a, int slot, enum cost_fig f)
{
	struct welford w = cost_run_figure(c, a, slot, f);
	return w.n ? w.mean : NAN;
}

void csv_num(FILE *f, double v)
{
	if (isnan(v))
		fputs(",", f);
	else
		fprintf(f, ",%.9g", v);
}

void sensitivity_csv(FILE *f, bool header, const char *run, const struct profile_set *ps,
		     const struct cost_ctx *c, const struct run_agg *a)
{
	if (header)
		fputs("v,run,form,utilization,pue,energy_j_per_success,usd_per_success,"
		      "gco2e_per_success\n", f);
	for (size_t i = 0; i < AP_ARRAY_SIZE(sens_u); i++) {
		for (size_t j = 0; j < AP_ARRAY_SIZE(sens_pue); j++) {
			struct profile_set v = *ps;
			struct cost_ctx cc = *c;
			cc.local = &v.local;
			cc.remote = &v.remote;
			/* Utilization is a local-deployment parameter; PUE is the room's for
			 * a local run and the provider's for a remote one. */
			if (v.local.loaded) {
				v.local.p[PP_UTILIZATION].v = sens_u[i];
				if (!v.remote.loaded)
					v.local.p[PP_PUE].v = sens_pue[j];
			}
			if (v.remote.loaded)
				v.remote.p[PP_PUE].v = sens_pue[j];
			for (int form = 0; form < FORM_COUNT; form++) {
				if (!a->ran[form])
					continue;
				fprintf(f, "%d,%s,%s,%.2f,%.2f", CSV_VERSION, run, form_name(form), sens_u[i],
					sens_pue[j]);
				csv_num(f, mean_fig(&cc, a, form, CF_HEADLINE_J));
				csv_num(f, mean_fig(&cc, a, form, CF_USD));
				double g[] = { mean_fig(&cc, a, form, CF_GCO2E_LOCAL),
					       mean_fig(&cc, a, form, CF_GCO2E_PROVIDER) };
				csv_num(f, isnan(g[0]) && isnan(g[1]) ? NAN
					   : (isnan(g[0]) ? 0 : g[0]) + (isnan(g[1]) ? 0 : g[1]));
				fputc('\n', f);
			}
		}
	}
}

