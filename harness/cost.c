#include "cost.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "jsonv.h"
#include "util.h"

#define J_PER_KWH 3.6e6
#define J_PER_WH 3600.0
#define S_PER_YEAR (365.25 * 86400.0)

double cost_pv(const struct profile *p, int k)
{
	return p && p->loaded && p->p[k].set ? p->p[k].v : NAN;
}

static bool loaded(const struct profile *p)
{
	return p && p->loaded;
}

bool cost_is_remote(const struct cost_ctx *c)
{
	return loaded(c->remote);
}

/* NAN-aware sum of the parts that are counted; NAN only when none is. */
static double sum_counted(const double *v, size_t n)
{
	double s = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i])) {
			s += v[i];
			any = true;
		}
	return any ? s : NAN;
}

void cost_compute(const struct cost_ctx *c, const struct cost_slice *s, struct cost_out *o)
{
	const struct profile *L = loaded(c->local) ? c->local : NULL;
	bool remote = cost_is_remote(c);
	double eff = cost_pv(L, PP_PSU_EFFICIENCY), pue = cost_pv(L, PP_PUE), u = cost_pv(L, PP_UTILIZATION);
	double price = cost_pv(L, PP_ELECTRICITY_USD), ci = cost_pv(L, PP_CARBON_G);

	o->device_j = s->device_j;
	o->wall_j = s->device_j / eff;
	o->facility_j = o->wall_j * pue;
	/* The idle and capital shares belong to hardware dedicated to this work;
	 * the client of a remote model is not, so it carries neither. */
	o->idle_share_j = o->capital_usd = NAN;
	if (!remote && L) {
		o->idle_share_j = c->idle_w * s->busy_s * (1.0 / u - 1.0) / eff * pue;
		double capex = cost_pv(L, PP_CAPEX_USD), life = cost_pv(L, PP_LIFETIME_YEARS);
		o->capital_usd = capex / (life * S_PER_YEAR) * s->busy_s / u;
	}
	o->local_total_j = isnan(o->facility_j) ? NAN
			   : o->facility_j + (isnan(o->idle_share_j) ? 0 : o->idle_share_j);
	o->energy_usd = o->local_total_j / J_PER_KWH * price;
	o->gco2e_local = o->local_total_j / J_PER_KWH * ci;

	o->provider_it_j = o->provider_facility_j = o->api_usd = o->gco2e_provider = NAN;
	if (remote) {
		const struct profile *R = c->remote;
		double wr = cost_pv(R, PP_WH_PER_REQUEST), wi = cost_pv(R, PP_WH_PER_INPUT_TOKEN);
		double wo = cost_pv(R, PP_WH_PER_OUTPUT_TOKEN);
		/* Unset request/input terms are not modeled (0); the output term is required. */
		if (!isnan(wo))
			o->provider_it_j = J_PER_WH * ((double)s->calls * (isnan(wr) ? 0 : wr) +
						       (double)s->prompt_tokens * (isnan(wi) ? 0 : wi) +
						       (double)s->completion_tokens * wo);
		o->provider_facility_j = o->provider_it_j * cost_pv(R, PP_PUE);
		o->gco2e_provider = o->provider_facility_j / J_PER_KWH * cost_pv(R, PP_CARBON_G);
		double pin = cost_pv(R, PP_USD_MTOK_INPUT), pout = cost_pv(R, PP_USD_MTOK_OUTPUT);
		double pcached = cost_pv(R, PP_USD_MTOK_CACHED);
		if (isnan(pcached))
			pcached = pin; /* no cache discount published: cached tokens at full price */
		/* prompt_tokens includes the cached ones (results/README.md). */
		o->api_usd = ((double)(s->prompt_tokens - s->cached_tokens) * pin +
			      (double)s->cached_tokens * pcached + (double)s->completion_tokens * pout) /
			     1e6;
	}
	double parts[] = { o->energy_usd, o->capital_usd, o->api_usd };
	o->usd = sum_counted(parts, AP_ARRAY_SIZE(parts));
	if (remote) {
		double e[] = { o->provider_facility_j, o->facility_j };
		o->headline_j = isnan(o->provider_facility_j) ? NAN : sum_counted(e, 2);
	} else {
		o->headline_j = o->local_total_j;
	}
}

int cost_ctx_from_meta(struct cost_ctx *c, struct profile_set *ps, const cJSON *meta, char *err,
		       size_t n)
{
	memset(c, 0, sizeof(*c));
	int rc = profile_set_from_meta(ps, meta, err, n);
	if (rc)
		return rc;
	c->local = &ps->local;
	c->remote = &ps->remote;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(meta, "energy");
	const char *prov = jv_str_or(e, "device_provenance", NULL);
	ap_scopy(c->device_provenance, sizeof(c->device_provenance), prov ? prov : "");
	/* The short tag (as in the CSVs); meta.json keeps the full text. */
	c->device_provenance[strcspn(c->device_provenance, " ")] = '\0';
	ap_scopy(c->no_energy_reason, sizeof(c->no_energy_reason),
		 e ? jv_str_or(e, "reason", "no energy source") : "energy not measured (--no-energy)");
	c->idle_w = cost_pv(&ps->local, PP_IDLE_WATTS);
	if (isnan(c->idle_w))
		c->idle_w = jv_num_or(e, "idle_w", NAN);
	return 0;
}

static const char *const fig_names[CF_COUNT] = {
	"device_j", "wall_j", "facility_j", "idle_share_j", "local_total_j", "provider_it_j",
	"provider_facility_j", "energy_j", "energy_usd", "capital_usd", "api_usd", "usd",
	"gco2e_local", "gco2e_provider", "retry_tax_j", "retry_tax_usd", "context_tokens_est",
	"context_share_est",
};

const char *cost_fig_name(enum cost_fig f)
{
	return (unsigned)f < CF_COUNT ? fig_names[f] : "?";
}

/*
 * Busy time: tasks' durations, scaled down when concurrent tasks overlapped
 * (their sum exceeds the repeat's wall time), so the hardware is never
 * charged for more seconds than it ran.
 */
double cost_busy_scale(const struct run_agg *a, int repeat)
{
	double sum = 0;
	for (int f = 0; f < FORM_COUNT; f++) {
		const struct form_agg *x = run_agg_get((struct run_agg *)a, repeat, f);
		if (x)
			sum += x->task_s;
	}
	double el = a->elapsed_s ? a->elapsed_s[repeat - 1] : NAN;
	return !isnan(el) && sum > el && sum > 0 ? el / sum : 1.0;
}

void cost_slices(const struct run_agg *a, int repeat, int slot, struct cost_slice *all,
		 struct cost_slice *failed)
{
	const struct form_agg *x = run_agg_get((struct run_agg *)a, repeat, slot);
	memset(all, 0, sizeof(*all));
	memset(failed, 0, sizeof(*failed));
	all->device_j = failed->device_j = all->busy_s = failed->busy_s = NAN;
	if (!x)
		return;
	double k = cost_busy_scale(a, repeat);
	all->calls = x->calls;
	all->prompt_tokens = x->prompt_tokens;
	all->completion_tokens = x->completion_tokens;
	all->cached_tokens = x->cached_tokens;
	all->device_j = x->energy_calls > 0 && !x->energy_calls_missing ? x->energy_j : NAN;
	all->busy_s = x->task_s * k;
	failed->calls = x->failed_calls_n;
	failed->prompt_tokens = x->failed_prompt_tokens;
	failed->completion_tokens = x->failed_completion_tokens;
	failed->cached_tokens = x->failed_cached_tokens;
	failed->device_j = !isnan(all->device_j) && !x->failed_energy_missing ? x->failed_energy_j : NAN;
	failed->busy_s = x->failed_attempt_s * k;
	if (!x->failed_attempts)
		failed->device_j = isnan(all->device_j) ? NAN : 0;
}

static double pick(const struct cost_out *o, enum cost_fig f)
{
	switch (f) {
	case CF_DEVICE_J: return o->device_j;
	case CF_WALL_J: return o->wall_j;
	case CF_FACILITY_J: return o->facility_j;
	case CF_IDLE_SHARE_J: return o->idle_share_j;
	case CF_LOCAL_TOTAL_J: return o->local_total_j;
	case CF_PROVIDER_IT_J: return o->provider_it_j;
	case CF_PROVIDER_FACILITY_J: return o->provider_facility_j;
	case CF_HEADLINE_J: return o->headline_j;
	case CF_ENERGY_USD: return o->energy_usd;
	case CF_CAPITAL_USD: return o->capital_usd;
	case CF_API_USD: return o->api_usd;
	case CF_USD: return o->usd;
	case CF_GCO2E_LOCAL: return o->gco2e_local;
	case CF_GCO2E_PROVIDER: return o->gco2e_provider;
	default: return NAN;
	}
}

double cost_total(const struct cost_ctx *c, const struct run_agg *a, int repeat, int slot,
		  enum cost_fig f)
{
	const struct form_agg *x = run_agg_get((struct run_agg *)a, repeat, slot);
	if (!x || !a->ran[slot])
		return NAN;
	struct cost_slice all, failed;
	struct cost_out o;
	cost_slices(a, repeat, slot, &all, &failed);
	switch (f) {
	case CF_RETRY_J:
	case CF_RETRY_USD:
		cost_compute(c, &failed, &o);
		return f == CF_RETRY_J ? o.headline_j : o.usd;
	case CF_CTX_TOKENS:
		return x->ctx_tokens_est > 0 ? (double)x->ctx_tokens_est : NAN;
	case CF_CTX_SHARE:
		if (x->ctx_tokens_est <= 0 || x->prompt_tokens <= 0)
			return NAN;
		/* An estimate over a server count: never report more than all of it. */
		return fmin(1.0, (double)x->ctx_tokens_est / (double)x->prompt_tokens);
	default:
		cost_compute(c, &all, &o);
		return pick(&o, f);
	}
}

double cost_figure(const struct cost_ctx *c, const struct run_agg *a, int repeat, int slot,
		   enum cost_fig f)
{
	const struct form_agg *x = run_agg_get((struct run_agg *)a, repeat, slot);
	if (!x || !a->ran[slot] || x->successes <= 0)
		return NAN;
	double t = cost_total(c, a, repeat, slot, f);
	return f == CF_CTX_SHARE ? t : t / (double)x->successes;
}

struct welford cost_run_figure(const struct cost_ctx *c, const struct run_agg *a, int slot,
			       enum cost_fig f)
{
	struct welford w = { 0 };
	for (int r = 1; r <= a->repeats; r++) {
		double v = cost_figure(c, a, r, slot, f);
		if (!isnan(v))
			welford_add(&w, v);
	}
	return w;
}

long cost_context_tokens_est(const char *system_prompt, const cJSON *tools, const cJSON *raw)
{
	size_t bytes = 0;
	if (raw) {
		const cJSON *m;
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(raw, "messages"))
		{
			const char *role = jv_str_or(m, "role", "");
			if (!strcmp(role, "system") || !strcmp(role, "developer"))
				bytes += strlen(jv_str_or(m, "content", ""));
		}
		tools = cJSON_GetObjectItemCaseSensitive(raw, "tools");
	} else if (system_prompt) {
		bytes += strlen(system_prompt);
	}
	if (tools && cJSON_GetArraySize(tools) > 0) {
		char *t = cJSON_PrintUnformatted(tools);
		if (t)
			bytes += strlen(t);
		cJSON_free(t);
	}
	/* About 4 bytes per token for English text and JSON (a rule of thumb, labelled as such). */
	return (long)((bytes + 3) / 4);
}
