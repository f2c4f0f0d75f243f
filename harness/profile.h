/*
 * Cost and energy profiles: the parameters of a local deployment (PSU
 * efficiency, PUE, electricity price, carbon intensity, capital cost,
 * lifetime, utilization) or of a remote model (token prices, per-token
 * energy coefficients, the provider's PUE and carbon intensity). Profiles
 * are JSON files (workloads/profiles/, format in its README.md) in which
 * every number carries a "source" and a "date"; command-line overrides are
 * recorded with source "command line". The profiles a run used are stored
 * in meta.json so `agentperf report` can recompute under other values.
 */
#ifndef AP_PROFILE_H
#define AP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define PROFILE_FORMAT 1

enum profile_kind { PROFILE_LOCAL = 0, PROFILE_REMOTE = 1 };

enum prof_param {
	PP_PSU_EFFICIENCY,   /* wall = device / eff (local; also the client of a remote run) */
	PP_PUE,              /* facility = wall x PUE; remote: the provider's datacenter */
	PP_ELECTRICITY_USD,  /* $ per kWh at the facility boundary */
	PP_CARBON_G,         /* gCO2e per kWh */
	PP_CAPEX_USD,        /* hardware purchase cost */
	PP_LIFETIME_YEARS,   /* amortization period of capex */
	PP_UTILIZATION,      /* share of wall time the hardware does this kind of work, (0,1] */
	PP_IDLE_WATTS,       /* device idle power; overrides the run's measured baseline */
	PP_USD_MTOK_INPUT,   /* remote prices, $ per million tokens */
	PP_USD_MTOK_OUTPUT,
	PP_USD_MTOK_CACHED,
	PP_WH_PER_REQUEST,   /* remote modeled energy at the IT boundary (servers, before PUE) */
	PP_WH_PER_INPUT_TOKEN,
	PP_WH_PER_OUTPUT_TOKEN,
	PP_COUNT
};

struct prof_value {
	bool set;
	double v;
	char source[400];
	char date[32];
};

struct profile {
	bool loaded;
	int kind;
	char name[96];
	char path[512];
	char description[400];
	char models[16][128]; /* remote: model names this profile is for */
	int n_models;
	struct prof_value p[PP_COUNT];
};

/* Profile JSON key of a parameter ("psu_efficiency", ...), and back (-1: unknown). */
const char *profile_param_key(int param);
int profile_param_lookup(const char *key);

/*
 * Parses a profile object. Every parameter must be {"value": N, "source":
 * "...", "date": "..."}: a number without its source is an error, so no
 * default can creep in unexplained. Returns 0 or -EINVAL with err set.
 */
int profile_from_json(struct profile *p, const cJSON *j, const char *path, char *err, size_t n);
/* Loads a file; NAME without '/' or ".json" means workloads/profiles/NAME.json, here or in
 * the installed data folder (util.h's ap_data_find). */
int profile_load(struct profile *p, const char *path_or_name, char *err, size_t n);
cJSON *profile_to_json(const struct profile *p);
bool profile_matches_model(const struct profile *p, const char *model);

/* Command-line overrides (--pue, --utilization, --price-input ...). */
struct profile_overrides {
	struct prof_value local[PP_COUNT];
	struct prof_value remote[PP_COUNT];
	bool any;
};
/* The override options: the command line's table (harness/cmd/options.c)
 * takes these for every command that accounts cost and energy. */
struct profile_option {
	const char *name;  /* long option without "--" */
	int kind;          /* which profile it changes */
	int param;
	const char *help;
};
extern const struct profile_option profile_options[];
/* Sets override `name` (a profile_options name) from text; 0, or -EINVAL with err naming
 * the flag and its valid range. */
int profile_override_set(struct profile_overrides *o, const char *name, const char *value,
			 char *err, size_t n);
/* Applies overrides of p's kind; an override on a profile that is not loaded is ignored. */
void profile_apply(struct profile *p, const struct profile_overrides *o);

/* The pair of profiles a run is accounted with. */
struct profile_set {
	struct profile local, remote;
};

/* What the command line says about profiles: --profile FILE (repeatable) and overrides. */
struct profile_cli {
	const char *files[16];
	int n_files;
	struct profile_overrides ov;
};
int profile_cli_add(struct profile_cli *pc, const char *file, char *err, size_t n);
/*
 * The profiles for one backend: the local profile given (at most one), and
 * the remote profile whose "models" name the backend's model. With profiles
 * given, a backend whose URL is not on this machine and that no remote
 * profile covers is an error naming the file to add. Overrides applied.
 */
int profile_cli_resolve(const struct profile_cli *pc, const char *model, const char *url,
			struct profile_set *out, char *err, size_t n);

/* meta.json's "profiles" object, and back. A missing object leaves both unloaded. */
cJSON *profile_set_json(const struct profile_set *s);
int profile_set_from_meta(struct profile_set *s, const cJSON *meta, char *err, size_t n);
/* Replaces meta.json's "profiles" with s (creating it). */
void profile_set_store(cJSON *meta, const struct profile_set *s);

/* Checks values are in range (PUE >= 1, 0 < eff <= 1, 0 < u <= 1 ...). */
int profile_validate(const struct profile *p, char *err, size_t n);

#endif
