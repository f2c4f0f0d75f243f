/* agentperf diff A B: two results folders side by side (compare.c does the arithmetic). */
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capshare.h"
#include "compare.h"
#include "jsonv.h"
#include "machine.h"
#include "overtasks.h"
#include "report.h"
#include "report_tasks.h"

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
			  const struct casc_task *b, size_t nb, int esc)
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
		   "   on task id; energy is A's measured/estimated + B's as its report counts it);\n");
	if (esc == ESC_ORACLE)
		fprintf(f, "   --escalate-on oracle: escalates whenever the ground-truth check fails, which\n"
			   "   no deployed system can do: an UPPER BOUND on what a cascade achieves:\n\n");
	else
		fprintf(f, "   --escalate-on detectable: escalates only on failures visible at run time\n"
			   "   (failed calls, timeouts, empty or unparseable answers, unknown tools, no final\n"
			   "   answer, runtime-verifiable checks); other wrong answers are delivered (silent):\n\n");
	fprintf(f, "   %3s %8s %12s %10s %16s %16s %14s\n", "k", "tasks", "success %", "silent %",
		"J/success", "$/success", "handled by A %");
	if (csv)
		fputs("v,k,category,tasks,successes,success_rate,small_handled,small_share,"
		      "energy_j_per_success,usd_per_success,unmatched,silent_failures,silent_rate,"
		      "escalate_on\n", csv);
	for (int k = 0; k <= kmax; k++) {
		for (size_t ci = 0; ci <= nc; ci++) {
			const char *cat = ci == 0 ? NULL : cats[ci - 1];
			struct casc_row r;
			cascade_compute(a, na, b, nb, k, cat, esc, &r);
			double silent = r.tasks ? (double)r.silent / (double)r.tasks : NAN;
			double rate = r.tasks ? (double)r.successes / (double)r.tasks : NAN;
			double share = r.tasks ? (double)r.small_handled / (double)r.tasks : NAN;
			double jps = r.successes ? r.j / (double)r.successes : NAN;
			double ups = r.successes ? r.usd / (double)r.successes : NAN;
			if (!cat) {
				char js[32], us[32];
				snprintf(js, sizeof(js), isnan(jps) ? "<not counted>" : "%.4g", jps);
				snprintf(us, sizeof(us), isnan(ups) ? "<not counted>" : "%.4g", ups);
				fprintf(f, "   %3d %8ld %12.2f %10.2f %16s %16s %14.2f\n", k, r.tasks, 100 * rate,
					100 * silent, js, us, 100 * share);
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
				fprintf(csv, ",%ld,%ld", r.unmatched, r.silent);
				csv_num(csv, silent);
				fprintf(csv, ",%s\n", escalate_name(esc));
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
				cascade_compute(a, na, b, nb, k, cats[ci], esc, &r);
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
	FILE *f = cli_open_out(p);
	if (!f)
		return -EIO;
	paired_csv(f, &A->agg, &A->c, &B->agg, &B->c, form);
	int rc = fclose(f) ? -EIO : 0;
	snprintf(p, sizeof(p), "%s/over-tasks.csv", dir);
	if (!(f = cli_open_out(p)))
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
		     const struct casc_task *ca, size_t na, const struct casc_task *cb, size_t nb,
		     int esc)
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
		cJSON_AddStringToObject(o, "escalate_on", escalate_name(esc));
		cJSON *cs = cJSON_AddArrayToObject(o, "cascade");
		for (int k = 0; k <= kmax && k <= MAX_K; k++) {
			struct casc_row r;
			cascade_compute(ca, na, cb, nb, k, NULL, esc, &r);
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "k", k);
			cJSON_AddNumberToObject(x, "tasks", (double)r.tasks);
			cJSON_AddNumberToObject(x, "successes", (double)r.successes);
			cJSON_AddNumberToObject(x, "small_handled", (double)r.small_handled);
			cJSON_AddNumberToObject(x, "silent_failures", (double)r.silent);
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

int cmd_diff(struct cli_args *cli)
{
	const struct profile_cli pc = cli->s.pc;
	const char *csvdir = cli->csv_dir, *formname = cli->form_name;
	int form = form_parse(formname);
	if (form < 0) {
		ap_err("diff --form: expected mono or decomp, got '%s'", formname);
		return 2;
	}
	struct run_data A, B;
	struct casc_task *ca = NULL, *cb = NULL;
	size_t na = 0, nb = 0;
	FILE *fd = NULL, *fc = NULL, *fs = NULL;
	char err[512] = "";
	int rc = 1;
	memset(&B, 0, sizeof(B));
	if (run_data_load(&A, cli->pos[0], &pc) || run_data_load(&B, cli->pos[1], &pc))
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
		if (!(fd = cli_open_out(p)))
			goto out;
		snprintf(p, sizeof(p), "%s/cascade.csv", csvdir);
		if (!(fc = cli_open_out(p)))
			goto out;
		snprintf(p, sizeof(p), "%s/sensitivity.csv", csvdir);
		if (!(fs = cli_open_out(p)))
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
		print_cascade(stdout, fc, ca, na, cb, nb, cli->escalate);
		/* Two replays of a capture: the replaceable share side by side (capshare.h). */
		bool cap_a = !strcmp(jv_str_or(wa, "format", ""), "capture");
		bool cap_b = !strcmp(jv_str_or(wb, "format", ""), "capture");
		if (cap_a && cap_b &&
		    capshare_diff(stdout, A.dir, A.meta, ca, na, B.dir, B.meta, cb, nb, cli->cap_profile,
				  cli->agree))
			goto out;
		if (cli->share_opts && !(cap_a && cap_b)) {
			ap_err("--agree and --capture-profile are for two replays of a capture");
			rc = 2;
			goto out;
		}
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
	if (cli->json && diff_json(cli->json, &A, &B, form, ca, na, cb, nb, cli->escalate))
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
