#include "compare.h"
#include "capshare.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonv.h"
#include "machine.h"
#include "report.h"
#include "report_tasks.h"
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

void cascade_compute(const struct casc_task *a, size_t na, const struct casc_task *b, size_t nb,
		     int k, const char *category, struct casc_row *row)
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
		/* The check tells at once whether an attempt succeeded, so the small
		 * model stops at its first success and escalates only after k failures
		 * (or when it ran out of recorded attempts). */
		bool small_ok = t->success && t->k_success >= 1 && t->k_success <= k;
		int used = small_ok ? t->k_success : (k < t->attempts ? k : t->attempts);
		if (used > MAX_K)
			used = MAX_K;
		row->j += t->cum_j[used];
		row->usd += t->cum_usd[used];
		if (small_ok) {
			row->small_handled++;
			row->successes++;
			continue;
		}
		int all = big->attempts > MAX_K ? MAX_K : big->attempts;
		row->j += big->cum_j[all];
		row->usd += big->cum_usd[all];
		row->successes += big->success;
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

struct run_data {
	const char *dir;
	struct run_agg agg;
	cJSON *meta;
	struct profile_set ps;
	struct cost_ctx c;
	char label[200];
	bool loaded;
};

/*
 * Loads a folder and settles its profiles: --profile files replace the
 * stored ones (resolved for this run's model and URL), overrides apply on
 * top, and the result is written into the in-memory meta.json so the report
 * prints what was used.
 */
static int run_data_load(struct run_data *d, const char *dir, const struct profile_cli *pc)
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

static void run_data_free(struct run_data *d)
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

static void csv_num(FILE *f, double v)
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

/* ---- report DIR ---- */

/* What report and diff take besides the profile options; NULL: not given. */
struct out_opts {
	const char *json, *csv, *sens, *form;
};

/*
 * Profile options (profile.h's table) and the output options of report
 * (what = "report") or diff. Returns the index of the first operand, or
 * -EINVAL after printing why.
 */
static int parse_profile_opts(int argc, char **argv, struct profile_cli *pc, struct out_opts *oo,
			      bool is_diff)
{
	enum { O_PROFILE = 300, O_PROFOPT, O_JSON, O_CSV, O_SENS, O_FORM, O_PCT };
	const struct option opts[] = {
		{ "profile", required_argument, 0, O_PROFILE },
		{ "json", required_argument, 0, O_JSON },
		{ "csv", required_argument, 0, O_CSV },
		{ is_diff ? "form" : "sensitivity", required_argument, 0, is_diff ? O_FORM : O_SENS },
		{ "percentiles", required_argument, 0, O_PCT },
		PROFILE_GETOPT_ENTRIES(O_PROFOPT),
		{ 0, 0, 0, 0 },
	};
	char perr[512];
	int ch, li = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, &li)) != -1) {
		switch (ch) {
		case O_PROFILE:
			if (profile_cli_add(pc, optarg, perr, sizeof(perr)))
				return ap_err("%s", perr), -EINVAL;
			break;
		case O_PROFOPT:
			if (profile_override_set(&pc->ov, opts[li].name, optarg, perr, sizeof(perr)))
				return ap_err("%s", perr), -EINVAL;
			break;
		case O_JSON: oo->json = optarg; break;
		case O_CSV: oo->csv = optarg; break;
		case O_SENS: oo->sens = optarg; break;
		case O_PCT:
			if (report_set_percentiles(optarg, perr, sizeof(perr)))
				return ap_err("%s", perr), -EINVAL;
			break;
		case O_FORM:
			if (form_parse(optarg) < 0)
				return ap_err("--form: mono or decomp"), -EINVAL;
			oo->form = optarg;
			break;
		default: return -EINVAL;
		}
	}
	return optind;
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		ap_err("cannot write %s: %s", path, strerror(errno));
	return f;
}

/*
 * The capture-replay options of `report` (capshare.h), taken out of argv
 * before the other options are parsed: --agree X, --capture-profile NAME.
 * Returns the new argc, or -1 on a bad value.
 */
struct share_opts {
	double agree;
	const char *cap_profile;
	bool any;
};

static int take_share_opts(int argc, char **argv, struct share_opts *so)
{
	int n = 1;
	so->agree = 0.9;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool mine = !strcmp(a, "--agree") || !strcmp(a, "--capture-profile");
		if (!mine) {
			argv[n++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			return ap_err("%s needs a value", a), -1;
		const char *v = argv[++i];
		so->any = true;
		if (!strcmp(a, "--agree")) {
			if (ap_parse_double(v, &so->agree) || so->agree < 0 || so->agree > 1)
				return ap_err("--agree %s: expected a share in [0, 1]", v), -1;
		} else {
			so->cap_profile = v;
		}
	}
	argv[n] = NULL;
	return n;
}

int report_main(int argc, char **argv)
{
	struct profile_cli pc = { 0 };
	struct out_opts oo = { 0 };
	struct share_opts so = { 0 };
	if ((argc = take_share_opts(argc, argv, &so)) < 0)
		return 2;
	int first = parse_profile_opts(argc, argv, &pc, &oo, false);
	if (first < 0 || argc - first != 1) {
		ap_err("usage: agentperf report DIR [--profile FILE] [--pue X --utilization U ...] "
		       "[--sensitivity FILE] [--json FILE] [--csv DIR] [--percentiles LIST] "
		       "[capture replays: --agree X --capture-profile NAME]");
		return 2;
	}
	struct run_data d;
	int rc = run_data_load(&d, argv[first], &pc) ? 1 : 0;
	if (!rc)
		report_print(stdout, d.meta, &d.agg);
	if (!rc && oo.sens) {
		if (!d.ps.local.loaded && !d.ps.remote.loaded) {
			ap_err("--sensitivity: the run has no profile: add --profile FILE");
			rc = 1;
		} else {
			FILE *f = open_out(oo.sens);
			if (f) {
				sensitivity_csv(f, true, "run", &d.ps, &d.c, &d.agg);
				rc = fclose(f) ? 1 : 0;
			} else {
				rc = 1;
			}
		}
	}
	/* The files take the settled profiles (overrides applied), as the text did. */
	if (!rc && oo.json) {
		cJSON *j = report_json(d.meta, &d.agg, &d.c);
		int wr = j ? json_write_file(oo.json, j) : -ENOMEM;
		if (wr) {
			ap_err("cannot write %s: %s", oo.json, strerror(-wr));
			rc = 1;
		}
		cJSON_Delete(j);
	}
	if (!rc && oo.csv && report_csv_dir(oo.csv, d.meta, &d.agg, &d.c))
		rc = 1;
	/* A replay of a capture: the replaceable share, per kind (kinds.csv in --csv DIR). */
	if (!rc) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(d.meta, "workload");
		char kp[4200];
		if (oo.csv)
			snprintf(kp, sizeof(kp), "%s/kinds.csv", oo.csv);
		if (!strcmp(jv_str_or(w, "format", ""), "capture"))
			rc = capshare_report(stdout, d.dir, d.meta, &d.c, &d.agg, so.cap_profile, so.agree,
					     oo.csv ? kp : NULL);
		else if (so.any) {
			ap_err("--agree and --capture-profile are for replays of a capture "
			       "(-w capture:FILE); %s is not one", d.dir);
			rc = 2;
		}
	}
	run_data_free(&d);
	return rc;
}

/* ---- diff A B ---- */

static void fmt_pm(char *buf, size_t n, const struct welford *w)
{
	if (!w->n)
		snprintf(buf, n, "<not counted>");
	else if (w->n < 2)
		snprintf(buf, n, "%.6g", w->mean);
	else
		snprintf(buf, n, "%.6g +- %.2g", w->mean, welford_stddev(w));
}

/* Whether two means differ by more than twice their combined standard error. */
static const char *verdict(const struct welford *a, const struct welford *b)
{
	if (!a->n || !b->n)
		return "-";
	if (a->n < 2 || b->n < 2)
		return "unknown (need -r 2+ in both)";
	double se = sqrt(welford_stddev(a) * welford_stddev(a) / (double)a->n +
			 welford_stddev(b) * welford_stddev(b) / (double)b->n);
	double d = fabs(a->mean - b->mean);
	if (se == 0)
		return d > 0 ? "yes (no spread)" : "no (equal)";
	return d > 2 * se ? "yes (> 2 s.e.)" : "no (within 2 s.e.)";
}

struct diff_row {
	const char *name;
	bool is_cost;
	int fig; /* enum metric or enum cost_fig */
};

static const struct diff_row diff_rows[] = {
	{ "success-rate", false, M_SUCCESS_RATE },
	{ "attempts-per-success", false, M_ATTEMPTS_PER_SUCCESS },
	{ "prompt-tokens-per-success", false, M_PROMPT_PER_SUCCESS },
	{ "completion-tokens-per-success", false, M_COMPLETION_PER_SUCCESS },
	{ "device-energy-J", true, CF_DEVICE_J },
	{ "provider-energy-J (modeled)", true, CF_PROVIDER_FACILITY_J },
	{ "energy-total-J", true, CF_HEADLINE_J },
	{ "retry-tax-J", true, CF_RETRY_J },
	{ "cost-$", true, CF_USD },
	{ "retry-tax-$", true, CF_RETRY_USD },
	{ "gco2e-local-g", true, CF_GCO2E_LOCAL },
	{ "gco2e-provider-g (modeled)", true, CF_GCO2E_PROVIDER },
};

static struct welford row_w(const struct run_data *d, const struct diff_row *r, int form)
{
	if (r->is_cost)
		return cost_run_figure(&d->c, &d->agg, form, r->fig);
	return run_metric(&d->agg, form, r->fig);
}

static double ratio_rse(const struct welford *a, const struct welford *b)
{
	double ra = welford_rse_pct(a) / 100, rb = welford_rse_pct(b) / 100;
	return 100 * sqrt(ra * ra + rb * rb);
}

static void print_diff(FILE *f, FILE *csv, const struct run_data *A, const struct run_data *B,
		       int form)
{
	fprintf(f, "   %-30s %-24s %-24s %-20s %s\n", "per successful task", "A", "B", "B/A",
		"difference beyond noise?");
	if (csv)
		fputs("v,form,figure,a_mean,a_stddev,a_n,b_mean,b_stddev,b_n,ratio_b_a,ratio_rse_pct,"
		      "beyond_noise\n", csv);
	for (size_t i = 0; i < AP_ARRAY_SIZE(diff_rows); i++) {
		struct welford a = row_w(A, &diff_rows[i], form), b = row_w(B, &diff_rows[i], form);
		if (!a.n && !b.n)
			continue;
		char va[64], vb[64], vr[64] = "-";
		fmt_pm(va, sizeof(va), &a);
		fmt_pm(vb, sizeof(vb), &b);
		double ratio = a.n && b.n && a.mean != 0 ? b.mean / a.mean : NAN;
		if (!isnan(ratio))
			snprintf(vr, sizeof(vr), "%.4g ( +- %.1f%% )", ratio, ratio_rse(&a, &b));
		const char *v = verdict(&a, &b);
		fprintf(f, "   %-30s %-24s %-24s %-20s %s\n", diff_rows[i].name, va, vb, vr, v);
		if (csv) {
			fprintf(csv, "%d,%s,", CSV_VERSION, form_name(form));
			struct sbuf nm = { 0 };
			csv_field(&nm, diff_rows[i].name);
			fputs(nm.s ? nm.s : "", csv);
			sbuf_free(&nm);
			csv_num(csv, a.n ? a.mean : NAN);
			csv_num(csv, a.n > 1 ? welford_stddev(&a) : NAN);
			fprintf(csv, ",%ld", a.n);
			csv_num(csv, b.n ? b.mean : NAN);
			csv_num(csv, b.n > 1 ? welford_stddev(&b) : NAN);
			fprintf(csv, ",%ld", b.n);
			csv_num(csv, ratio);
			csv_num(csv, isnan(ratio) ? NAN : ratio_rse(&a, &b));
			fprintf(csv, ",\"%s\"\n", v);
		}
	}
}

static double mean_total_over(const struct run_data *d, int form, enum cost_fig f, long *tasks,
			      long *attempts)
{
	struct welford w = { 0 };
	long nt = 0, na = 0;
	int n = 0;
	for (int r = 1; r <= d->agg.repeats; r++) {
		double v = cost_total(&d->c, &d->agg, r, form, f);
		const struct form_agg *x = run_agg_get((struct run_agg *)&d->agg, r, form);
		if (isnan(v) || !x)
			continue;
		welford_add(&w, v);
		nt += x->tasks;
		na += x->attempts;
		n++;
	}
	/* Means per repeat, so the ratios below are per repeat too. */
	*tasks = n ? (long)llround((double)nt / n) : 0;
	*attempts = n ? (long)llround((double)na / n) : 0;
	return w.n ? w.mean : NAN;
}

static void print_breakeven(FILE *f, const struct run_data *A, const struct run_data *B, int form)
{
	static const struct {
		enum cost_fig fig;
		const char *what, *unit;
	} rows[] = { { CF_HEADLINE_J, "energy", "J" }, { CF_USD, "cost", "$" } };
	struct welford rate = run_metric(&A->agg, form, M_SUCCESS_RATE);
	struct welford aps = run_metric(&A->agg, form, M_ATTEMPTS_PER_SUCCESS);
	fprintf(f, "\n   breakeven: the success rate (attempts per success) at which A's cost per\n"
		   "   successful task equals B's, A's cost per task and per attempt held fixed\n"
		   "   (A now: %.2f %% success, %.2f attempts per success):\n\n",
		rate.n ? 100 * rate.mean : NAN, aps.n ? aps.mean : NAN);
	for (size_t i = 0; i < AP_ARRAY_SIZE(rows); i++) {
		long tasks, attempts;
		double a_total = mean_total_over(A, form, rows[i].fig, &tasks, &attempts);
		struct welford b = cost_run_figure(&B->c, &B->agg, form, rows[i].fig);
		struct breakeven be = breakeven_compute(a_total, tasks, attempts, b.n ? b.mean : NAN);
		if (isnan(be.success_rate)) {
			fprintf(f, "   %-8s <not counted>: %s\n", rows[i].what,
				!b.n ? "B has no figure (or no success)" : "A has no figure");
		} else if (be.success_rate > 1) {
			fprintf(f, "   %-8s A cannot break even: one A task costs %.3g x B's cost per success "
				   "(would need %.1f %% success)\n", rows[i].what, be.success_rate,
				100 * be.success_rate);
		} else {
			fprintf(f, "   %-8s A breaks even at %.2f %% success, %.2f attempts per success\n",
				rows[i].what, 100 * be.success_rate, be.attempts_per_success);
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_cascade(FILE *f, FILE *csv, const struct casc_task *a, size_t na,
			  const struct casc_task *b, size_t nb)
{
	int kmax = 0;
	for (size_t i = 0; i < na; i++)
		kmax = a[i].attempts > kmax ? a[i].attempts : kmax;
	if (kmax > MAX_K)
		kmax = MAX_K;
	/* Categories, once each, sorted. */
	const char **cats = calloc(na + 1, sizeof(*cats));
	size_t nc = 0;
	for (size_t i = 0; cats && i < na; i++) {
		bool seen = false;
		for (size_t j = 0; j < nc && !seen; j++)
			seen = !strcmp(cats[j], a[i].category);
		if (!seen)
			cats[nc++] = a[i].category;
	}
	if (cats)
		qsort(cats, nc, sizeof(*cats), cmp_str);
	fprintf(f, "\n   cascade what-if: A first, up to k attempts, then B (per-task outcomes joined\n"
		   "   on task id; energy is A's measured/estimated + B's as its report counts it):\n\n");
	fprintf(f, "   %3s %8s %12s %16s %16s %14s\n", "k", "tasks", "success %", "J/success",
		"$/success", "handled by A %");
	if (csv)
		fputs("v,k,category,tasks,successes,success_rate,small_handled,small_share,"
		      "energy_j_per_success,usd_per_success,unmatched\n", csv);
	for (int k = 0; k <= kmax; k++) {
		for (size_t ci = 0; ci <= nc; ci++) {
			const char *cat = ci == 0 ? NULL : cats[ci - 1];
			struct casc_row r;
			cascade_compute(a, na, b, nb, k, cat, &r);
			double rate = r.tasks ? (double)r.successes / (double)r.tasks : NAN;
			double share = r.tasks ? (double)r.small_handled / (double)r.tasks : NAN;
			double jps = r.successes ? r.j / (double)r.successes : NAN;
			double ups = r.successes ? r.usd / (double)r.successes : NAN;
			if (!cat) {
				char js[32], us[32];
				snprintf(js, sizeof(js), isnan(jps) ? "<not counted>" : "%.4g", jps);
				snprintf(us, sizeof(us), isnan(ups) ? "<not counted>" : "%.4g", ups);
				fprintf(f, "   %3d %8ld %12.2f %16s %16s %14.2f\n", k, r.tasks, 100 * rate, js,
					us, 100 * share);
			}
			if (csv) {
				struct sbuf nm = { 0 };
				csv_field(&nm, cat ? cat : "all");
				fprintf(csv, "%d,%d,%s,%ld,%ld", CSV_VERSION, k, nm.s ? nm.s : "", r.tasks,
					r.successes);
				sbuf_free(&nm);
				csv_num(csv, rate);
				fprintf(csv, ",%ld", r.small_handled);
				csv_num(csv, share);
				csv_num(csv, jps);
				csv_num(csv, ups);
				fprintf(csv, ",%ld\n", r.unmatched);
			}
		}
	}
	if (nc > 1 || (nc == 1 && cats[0][0])) {
		fprintf(f, "\n   share of tasks handled by A, by category:\n\n   %-24s", "category");
		for (int k = 0; k <= kmax; k++)
			fprintf(f, "   k=%-4d", k);
		fputc('\n', f);
		for (size_t ci = 0; ci < nc; ci++) {
			fprintf(f, "   %-24s", cats[ci][0] ? cats[ci] : "(none)");
			for (int k = 0; k <= kmax; k++) {
				struct casc_row r;
				cascade_compute(a, na, b, nb, k, cats[ci], &r);
				fprintf(f, " %7.1f%%", r.tasks ? 100.0 * (double)r.small_handled / (double)r.tasks
							    : NAN);
			}
			fputc('\n', f);
		}
	}
	free(cats);
}

/* paired.csv (the paired tests) and over-tasks.csv (both runs' intervals). */
static int diff_extra_csv(const char *dir, const struct run_data *A, const struct run_data *B,
			  int form)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/paired.csv", dir);
	FILE *f = open_out(p);
	if (!f)
		return -EIO;
	paired_csv(f, &A->agg, &A->c, &B->agg, &B->c, form);
	int rc = fclose(f) ? -EIO : 0;
	snprintf(p, sizeof(p), "%s/over-tasks.csv", dir);
	if (!(f = open_out(p)))
		return -EIO;
	struct run_ident ia, ib;
	run_ident_from_meta(A->meta, &ia);
	run_ident_from_meta(B->meta, &ib);
	overtasks_csv(f, true, &ia, &A->agg, &A->c);
	overtasks_csv(f, false, &ib, &B->agg, &B->c);
	return fclose(f) || rc ? -EIO : 0;
}

static void jnum_or_null(cJSON *o, const char *k, double v)
{
	if (isnan(v) || isinf(v))
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, v);
}

/* diff --json FILE: the rows, the paired tests, the cascade, each run's report JSON. */
static int diff_json(const char *path, const struct run_data *A, const struct run_data *B, int form,
		     const struct casc_task *ca, size_t na, const struct casc_task *cb, size_t nb)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "agentperf_json", 1);
	cJSON_AddStringToObject(o, "form", form_name(form));
	cJSON_AddItemToObject(o, "a", report_json(A->meta, &A->agg, &A->c));
	cJSON_AddItemToObject(o, "b", report_json(B->meta, &B->agg, &B->c));
	cJSON *rows = cJSON_AddArrayToObject(o, "per_success");
	for (size_t i = 0; i < AP_ARRAY_SIZE(diff_rows); i++) {
		struct welford a = row_w(A, &diff_rows[i], form), b = row_w(B, &diff_rows[i], form);
		if (!a.n && !b.n)
			continue;
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "figure", diff_rows[i].name);
		jnum_or_null(r, "a_mean", a.n ? a.mean : NAN);
		jnum_or_null(r, "a_stddev", a.n > 1 ? welford_stddev(&a) : NAN);
		jnum_or_null(r, "b_mean", b.n ? b.mean : NAN);
		jnum_or_null(r, "b_stddev", b.n > 1 ? welford_stddev(&b) : NAN);
		jnum_or_null(r, "ratio_b_a", a.n && b.n && a.mean != 0 ? b.mean / a.mean : NAN);
		cJSON_AddStringToObject(r, "beyond_noise", verdict(&a, &b));
		cJSON_AddItemToArray(rows, r);
	}
	cJSON *pj = paired_json(&A->agg, &A->c, &B->agg, &B->c, form);
	if (pj)
		cJSON_AddItemToObject(o, "paired", pj);
	if (ca && cb) {
		int kmax = 0;
		for (size_t i = 0; i < na; i++)
			kmax = ca[i].attempts > kmax ? ca[i].attempts : kmax;
		cJSON *cs = cJSON_AddArrayToObject(o, "cascade");
		for (int k = 0; k <= kmax && k <= MAX_K; k++) {
			struct casc_row r;
			cascade_compute(ca, na, cb, nb, k, NULL, &r);
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "k", k);
			cJSON_AddNumberToObject(x, "tasks", (double)r.tasks);
			cJSON_AddNumberToObject(x, "successes", (double)r.successes);
			cJSON_AddNumberToObject(x, "small_handled", (double)r.small_handled);
			jnum_or_null(x, "energy_j_per_success", r.successes ? r.j / (double)r.successes : NAN);
			jnum_or_null(x, "usd_per_success", r.successes ? r.usd / (double)r.successes : NAN);
			cJSON_AddItemToArray(cs, x);
		}
	}
	int rc = json_write_file(path, o);
	if (rc)
		ap_err("cannot write %s: %s", path, strerror(-rc));
	cJSON_Delete(o);
	return rc;
}

int diff_main(int argc, char **argv)
{
	struct profile_cli pc = { 0 };
	struct out_opts oo = { .form = "mono" };
	int first = parse_profile_opts(argc, argv, &pc, &oo, true);
	const char *csvdir = oo.csv, *formname = oo.form;
	if (first < 0 || argc - first != 2) {
		ap_err("usage: agentperf diff A B [--form mono|decomp] [--profile FILE] [--pue X ...] "
		       "[--csv DIR] [--json FILE]  (A: typically the small local model, B: the large "
		       "remote one)");
		return 2;
	}
	int form = form_parse(formname);
	struct run_data A, B;
	struct casc_task *ca = NULL, *cb = NULL;
	size_t na = 0, nb = 0;
	FILE *fd = NULL, *fc = NULL, *fs = NULL;
	char err[512] = "";
	int rc = 1;
	memset(&B, 0, sizeof(B));
	if (run_data_load(&A, argv[first], &pc) || run_data_load(&B, argv[first + 1], &pc))
		goto out;
	if (!A.agg.ran[form] || !B.agg.ran[form]) {
		ap_err("diff: both runs need the %s form", formname);
		goto out;
	}
	const cJSON *wa = cJSON_GetObjectItemCaseSensitive(A.meta, "workload");
	const cJSON *wb = cJSON_GetObjectItemCaseSensitive(B.meta, "workload");
	if (strcmp(jv_str_or(wa, "sha256", "a"), jv_str_or(wb, "sha256", "b")))
		ap_warn("diff: the runs used different workload files (%s, %s)", jv_str_or(wa, "path", "?"),
			jv_str_or(wb, "path", "?"));
	if (csvdir) {
		char p[4200];
		if (mkdir(csvdir, 0755) && errno != EEXIST) {
			ap_err("cannot create %s: %s", csvdir, strerror(errno));
			goto out;
		}
		snprintf(p, sizeof(p), "%s/diff.csv", csvdir);
		if (!(fd = open_out(p)))
			goto out;
		snprintf(p, sizeof(p), "%s/cascade.csv", csvdir);
		if (!(fc = open_out(p)))
			goto out;
		snprintf(p, sizeof(p), "%s/sensitivity.csv", csvdir);
		if (!(fs = open_out(p)))
			goto out;
	}
	printf("\n agentperf diff (%s form):\n\n   A  %s  (%s, %d runs)\n   B  %s  (%s, %d runs)\n\n",
	       form == FORM_MONO ? "monolithic" : "decomposed", A.label, A.dir, A.agg.repeats, B.label,
	       B.dir, B.agg.repeats);
	print_diff(stdout, fd, &A, &B, form);
	print_breakeven(stdout, &A, &B, form);
	diff_tasks_print(stdout, &A.agg, &A.c, &B.agg, &B.c, form);
	if (form == FORM_MONO) {
		if (casc_load(A.dir, &A.c, &A.agg, &ca, &na, err, sizeof(err)) ||
		    casc_load(B.dir, &B.c, &B.agg, &cb, &nb, err, sizeof(err))) {
			ap_err("%s", err);
			goto out;
		}
		print_cascade(stdout, fc, ca, na, cb, nb);
	} else {
		/* Attempts of a decomposed task are counted per sub-call, so "the small
		 * model's first k attempts" names no single cut-off to escalate at. */
		printf("\n   cascade what-if: <not counted> for the decomposed form (its attempts "
		       "are per sub-call);\n   run diff with --form mono for it\n");
	}
	if (fs) {
		sensitivity_csv(fs, true, "A", &A.ps, &A.c, &A.agg);
		sensitivity_csv(fs, false, "B", &B.ps, &B.c, &B.agg);
	}
	if (csvdir && diff_extra_csv(csvdir, &A, &B, form))
		goto out;
	if (oo.json && diff_json(oo.json, &A, &B, form, ca, na, cb, nb))
		goto out;
	printf("\n");
	if (csvdir)
		printf(" CSV in %s/ (diff.csv, cascade.csv, sensitivity.csv, paired.csv, over-tasks.csv)\n\n",
		       csvdir);
	rc = 0;
out:
	if (fd && fclose(fd))
		rc = 1;
	if (fc && fclose(fc))
		rc = 1;
	if (fs && fclose(fs))
		rc = 1;
	free(ca);
	free(cb);
	run_data_free(&A);
	run_data_free(&B);
	return rc;
}
