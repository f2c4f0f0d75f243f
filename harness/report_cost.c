/*
 * The report's cost and energy accounting block: cost.c computes, this
 * prints (report.h's report_line), so accounting never calls the printer.
 */
#include "report.h"

#include <math.h>
#include <string.h>

#include "cost.h"
#include "jsonv.h"
#include "util.h"

static bool loaded(const struct profile *p)
{
	return p && p->loaded;
}

/* One per-success figure: its mean over repeats, or why there is none. */
static void fig_line(FILE *f, const struct cost_ctx *c, const struct run_agg *a, int slot,
		     enum cost_fig fig, const char *unit, int prec, const char *name,
		     const char *comment, const char *why_not)
{
	char v[48];
	struct welford w = cost_run_figure(c, a, slot, fig);
	bool any_success = false;
	for (int r = 1; r <= a->repeats; r++) {
		const struct form_agg *x = run_agg_get((struct run_agg *)a, r, slot);
		any_success |= x && x->successes > 0;
	}
	if (!any_success) {
		report_line(f, "no success", unit, name, "no task succeeded", NULL);
		return;
	}
	if (!w.n) {
		report_line(f, "<not counted>", unit, name, why_not, NULL);
		return;
	}
	/* Negative prec: significant digits, for dollars and grams that span decades. */
	if (prec < 0)
		snprintf(v, sizeof(v), "%.*g", -prec, w.mean);
	else
		snprintf(v, sizeof(v), "%.*f", prec, w.mean);
	report_line(f, v, unit, name, comment, &w);
}

/* Mean over repeats of a total (not per success), for shares. */
static double mean_total(const struct cost_ctx *c, const struct run_agg *a, int slot,
			 enum cost_fig f)
{
	struct welford w = { 0 };
	for (int r = 1; r <= a->repeats; r++) {
		double v = cost_total(c, a, r, slot, f);
		if (!isnan(v))
			welford_add(&w, v);
	}
	return w.n ? w.mean : NAN;
}

static void share_comment(char *buf, size_t n, double part, double whole, const char *what)
{
	if (!isnan(part) && !isnan(whole) && whole > 0)
		snprintf(buf, n, "%.2f %% of %s, failed attempts", 100 * part / whole, what);
	else
		snprintf(buf, n, "spent on failed attempts");
}

static void local_lines(FILE *f, const struct cost_ctx *c, const struct run_agg *a, int slot)
{
	const struct profile *L = c->local;
	char cm[160];
	bool energy = c->device_provenance[0] != '\0';
	if (energy)
		fig_line(f, c, a, slot, CF_DEVICE_J, "J", 3, "device-energy", c->device_provenance,
			 "energy missing for some calls");
	else
		report_line(f, "<not supported>", "J", "device-energy", c->no_energy_reason, NULL);
	if (!loaded(L))
		return;
	snprintf(cm, sizeof(cm), "device / PSU efficiency %.2f", cost_pv(L, PP_PSU_EFFICIENCY));
	fig_line(f, c, a, slot, CF_WALL_J, "J", 3, "wall-energy", cm, "no device energy");
	snprintf(cm, sizeof(cm), "wall x PUE %.2f", cost_pv(L, PP_PUE));
	fig_line(f, c, a, slot, CF_FACILITY_J, "J", 3, "facility-energy", cm, "no device energy");
	if (cost_is_remote(c))
		return;
	snprintf(cm, sizeof(cm), "%.1f W idle x busy x (1/%.2f - 1)", c->idle_w,
		 cost_pv(L, PP_UTILIZATION));
	fig_line(f, c, a, slot, CF_IDLE_SHARE_J, "J", 3, "idle-share", cm,
		 "no idle power: measure a baseline or set idle_watts");
	fig_line(f, c, a, slot, CF_LOCAL_TOTAL_J, "J", 3, "energy-total",
		 isnan(c->idle_w) ? "facility only: idle share not counted" : "facility + idle share",
		 "no device energy");
	snprintf(cm, sizeof(cm), "%.3f $/kWh on energy-total", cost_pv(L, PP_ELECTRICITY_USD));
	fig_line(f, c, a, slot, CF_ENERGY_USD, "$", -4, "electricity-cost", cm,
		 energy ? "no electricity_usd_per_kwh in profile" : "no device energy");
	snprintf(cm, sizeof(cm), "%.0f $ over %.1f y, busy / u", cost_pv(L, PP_CAPEX_USD),
		 cost_pv(L, PP_LIFETIME_YEARS));
	fig_line(f, c, a, slot, CF_CAPITAL_USD, "$", -4, "capital-cost", cm,
		 "no capex_usd/lifetime_years in profile");
	fig_line(f, c, a, slot, CF_USD, "$", -4, "cost-per-successful-task",
		 "electricity + capital, counted parts", "nothing to price");
	snprintf(cm, sizeof(cm), "%.0f g/kWh on energy-total", cost_pv(L, PP_CARBON_G));
	fig_line(f, c, a, slot, CF_GCO2E_LOCAL, "g", -4, "gco2e", cm,
		 "no carbon_g_per_kwh in profile, or no energy");
}

static void remote_lines(FILE *f, const struct cost_ctx *c, const struct run_agg *a, int slot)
{
	const struct profile *R = c->remote;
	char cm[160];
	snprintf(cm, sizeof(cm), "%s: %g/%g/%g $/Mtok in/out/cached", R->name,
		 cost_pv(R, PP_USD_MTOK_INPUT), cost_pv(R, PP_USD_MTOK_OUTPUT), cost_pv(R, PP_USD_MTOK_CACHED));
	fig_line(f, c, a, slot, CF_API_USD, "$", -4, "api-cost", cm, "no prices in profile");
	fig_line(f, c, a, slot, CF_PROVIDER_IT_J, "J", 3, "provider-energy",
		 "MODELED from tokens, IT boundary", "no wh_per_output_token in profile");
	snprintf(cm, sizeof(cm), "MODELED x provider PUE %.2f", cost_pv(R, PP_PUE));
	fig_line(f, c, a, slot, CF_PROVIDER_FACILITY_J, "J", 3, "provider-facility-energy", cm,
		 "no provider energy or PUE");
	snprintf(cm, sizeof(cm), "MODELED, %.0f g/kWh", cost_pv(R, PP_CARBON_G));
	fig_line(f, c, a, slot, CF_GCO2E_PROVIDER, "g", -4, "provider-gco2e", cm,
		 "no carbon_g_per_kwh in the remote profile");
}

static void block(FILE *f, const struct cost_ctx *c, const struct run_agg *a, int slot)
{
	char cm[160];
	bool remote = cost_is_remote(c);
	fprintf(f, "\n   cost and energy per successful task, %s form (all attempts, failed included):\n\n",
		slot == FORM_MONO ? "monolithic" : "decomposed");
	if (remote) {
		remote_lines(f, c, a, slot);
		fprintf(f, "%18s   client machine (this host; not added to the provider's figures):\n", "");
		local_lines(f, c, a, slot);
		snprintf(cm, sizeof(cm), "MODELED provider + %s client",
			 c->device_provenance[0] ? "measured/estimated" : "(no)");
		fig_line(f, c, a, slot, CF_HEADLINE_J, "J", 3, "energy-total", cm,
			 "no provider energy");
		fig_line(f, c, a, slot, CF_USD, "$", -4, "cost-per-successful-task",
			 "api + client electricity, counted parts", "nothing to price");
	} else {
		local_lines(f, c, a, slot);
	}
	double all_j = mean_total(c, a, slot, CF_HEADLINE_J);
	double all_usd = mean_total(c, a, slot, CF_USD);
	share_comment(cm, sizeof(cm), mean_total(c, a, slot, CF_RETRY_J), all_j, "energy");
	fig_line(f, c, a, slot, CF_RETRY_J, "J", 3, "retry-tax-energy", cm, "no energy");
	share_comment(cm, sizeof(cm), mean_total(c, a, slot, CF_RETRY_USD), all_usd, "cost");
	fig_line(f, c, a, slot, CF_RETRY_USD, "$", -4, "retry-tax-cost", cm, "nothing to price");
	struct welford share = { 0 };
	for (int r = 1; r <= a->repeats; r++) {
		double v = cost_total(c, a, r, slot, CF_CTX_SHARE);
		if (!isnan(v))
			welford_add(&share, v);
	}
	if (share.n) {
		char v[48];
		snprintf(v, sizeof(v), "%.2f", 100 * share.mean);
		report_line(f, v, "%", "context-overhead",
			 "ESTIMATED: system prompt + tools (bytes/4) of input tokens", &share);
	} else {
		report_line(f, "<not counted>", "%", "context-overhead",
			 "no system prompt/tools, or no token counts", NULL);
	}
}

static void decomposition_lines(FILE *f, const struct cost_ctx *c, const struct run_agg *a)
{
	static const struct {
		enum cost_fig fig;
		const char *name;
	} rows[] = { { CF_HEADLINE_J, "energy-total" }, { CF_USD, "cost" } };
	fprintf(f, "\n   decomposition overhead in energy and cost (decomposed - monolithic) / monolithic:\n\n");
	for (size_t i = 0; i < AP_ARRAY_SIZE(rows); i++) {
		struct welford w = { 0 };
		for (int r = 1; r <= a->repeats; r++) {
			double m = cost_total(c, a, r, AGG_MONO_PAIRED, rows[i].fig);
			double d = cost_total(c, a, r, FORM_DECOMP, rows[i].fig);
			if (!isnan(m) && !isnan(d) && m != 0)
				welford_add(&w, (d - m) / m);
		}
		char v[48];
		if (w.n)
			snprintf(v, sizeof(v), "%+.2f", 100 * w.mean);
		report_line(f, w.n ? v : "<not counted>", "%", rows[i].name,
			 w.n ? "same tasks, totals" : "not counted in one of the forms", &w);
	}
}

void cost_report(FILE *f, const cJSON *meta, const struct run_agg *a)
{
	if (!cJSON_GetObjectItemCaseSensitive(meta, "profiles"))
		return;
	struct profile_set ps;
	struct cost_ctx c;
	char err[512];
	if (cost_ctx_from_meta(&c, &ps, meta, err, sizeof(err))) {
		fprintf(f, "\n   cost and energy: <not counted>: %s\n", err);
		return;
	}
	fprintf(f, "\n   profiles  %s%s%s%s%s (sources and dates in meta.json \"profiles\")\n",
		ps.local.loaded ? "local " : "", ps.local.loaded ? ps.local.name : "",
		ps.local.loaded && ps.remote.loaded ? ", " : "", ps.remote.loaded ? "remote " : "",
		ps.remote.loaded ? ps.remote.name : "");
	for (int slot = 0; slot < FORM_COUNT; slot++)
		if (a->ran[slot])
			block(f, &c, a, slot);
	if (a->ran[AGG_MONO_PAIRED] && a->ran[FORM_DECOMP])
		decomposition_lines(f, &c, a);
}
