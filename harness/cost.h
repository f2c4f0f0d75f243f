/*
 * Cost and energy accounting: turns what a run consumed (tokens, calls,
 * device joules, busy time) into joules at the device, wall and facility
 * boundaries, the idle and capital shares a deployment at utilization u
 * charges, dollars and gCO2e, for local deployments and remote models.
 * Pure functions over records/aggregates and profiles (formulas in
 * docs/method.md, "Cost and energy accounting"); the report, `diff` and the
 * tests all call the same ones.
 */
#ifndef AP_COST_H
#define AP_COST_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "profile.h"
#include "summary.h"

/* What some calls consumed: a repeat's form, one attempt, one task. */
struct cost_slice {
	long calls, prompt_tokens, completion_tokens, cached_tokens;
	double device_j; /* measured or estimated device energy; NAN: not measured */
	double busy_s;   /* time the hardware spent on it */
};

struct cost_ctx {
	const struct profile *local;  /* NULL or not loaded: none */
	const struct profile *remote; /* loaded: the backend is this remote model */
	double idle_w;                /* device idle power: profile idle_watts, else measured, else NAN */
	char device_provenance[160];  /* "" when the run measured no energy */
	char no_energy_reason[200];
};

/* Every figure NAN where it cannot be counted (never 0 for unknown). */
struct cost_out {
	double device_j;            /* this machine: the local model server, or the client */
	double wall_j, facility_j;  /* device / PSU efficiency, x PUE */
	double idle_share_j;        /* local deployment: P_idle x busy x (1/u - 1) / eff x PUE */
	double local_total_j;       /* facility + idle share */
	double provider_it_j;       /* remote: MODELED, before the provider's PUE */
	double provider_facility_j; /* remote: MODELED x provider PUE */
	double energy_usd;          /* electricity on local_total_j (remote: client facility) */
	double capital_usd;         /* local deployment: capex / lifetime x busy / u */
	double api_usd;             /* remote: token prices */
	double usd;                 /* sum of the parts that are counted; NAN if none */
	double gco2e_local, gco2e_provider;
	double headline_j;          /* local: local_total_j; remote: provider facility + client facility */
};

bool cost_is_remote(const struct cost_ctx *c);
void cost_compute(const struct cost_ctx *c, const struct cost_slice *s, struct cost_out *o);

/* Builds the context of a run from meta.json ("profiles", "energy"); ps holds the profiles. */
int cost_ctx_from_meta(struct cost_ctx *c, struct profile_set *ps, const cJSON *meta, char *err,
		       size_t n);

/* The figures the report, diff and sensitivity table use, per successful task. */
enum cost_fig {
	CF_DEVICE_J, CF_WALL_J, CF_FACILITY_J, CF_IDLE_SHARE_J, CF_LOCAL_TOTAL_J,
	CF_PROVIDER_IT_J, CF_PROVIDER_FACILITY_J, CF_HEADLINE_J,
	CF_ENERGY_USD, CF_CAPITAL_USD, CF_API_USD, CF_USD, CF_GCO2E_LOCAL, CF_GCO2E_PROVIDER,
	CF_RETRY_J, CF_RETRY_USD,  /* spent on failed attempts, per success */
	CF_CTX_TOKENS,             /* ESTIMATED system prompt + tool tokens, per success */
	CF_CTX_SHARE,              /* ... as a share of all input tokens (not per success) */
	CF_COUNT
};
const char *cost_fig_name(enum cost_fig f);
/* Busy time = task durations x this (< 1 when concurrent tasks overlapped). */
double cost_busy_scale(const struct run_agg *a, int repeat);
/* Slices of one repeat and aggregate slot: everything, and the failed attempts. */
void cost_slices(const struct run_agg *a, int repeat, int slot, struct cost_slice *all,
		 struct cost_slice *failed);
/* One figure per successful task for one repeat; NAN when not counted or no success. */
double cost_figure(const struct cost_ctx *c, const struct run_agg *a, int repeat, int slot,
		   enum cost_fig f);
/* The same figure for the whole slot, not divided by successes. */
double cost_total(const struct cost_ctx *c, const struct run_agg *a, int repeat, int slot,
		  enum cost_fig f);
struct welford cost_run_figure(const struct cost_ctx *c, const struct run_agg *a, int slot,
			       enum cost_fig f);

/* A profile parameter's value; NAN when the profile is not loaded or lacks it. */
double cost_pv(const struct profile *p, int k);

/* ESTIMATED tokens (bytes / 4) of the system prompt and tool definitions
 * every call of a task repeats; from a replayed raw request when given. */
long cost_context_tokens_est(const char *system_prompt, const cJSON *tools, const cJSON *raw);

#endif
