#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonv.h"
#include "util.h"

static const char *const param_keys[PP_COUNT] = {
	"psu_efficiency",    "pue",
	"electricity_usd_per_kwh", "carbon_g_per_kwh",
	"capex_usd",         "lifetime_years",
	"utilization",       "idle_watts",
	"usd_per_mtok_input", "usd_per_mtok_output",
	"usd_per_mtok_cached", "wh_per_request",
	"wh_per_input_token", "wh_per_output_token",
};

const struct profile_option profile_options[] = {
	{ "pue", PROFILE_LOCAL, PP_PUE, "PUE of the local room (facility = wall x PUE)" },
	{ "utilization", PROFILE_LOCAL, PP_UTILIZATION, "deployment utilization u in (0,1]" },
	{ "psu-efficiency", PROFILE_LOCAL, PP_PSU_EFFICIENCY, "PSU efficiency (wall = device / eff)" },
	{ "electricity-price", PROFILE_LOCAL, PP_ELECTRICITY_USD, "$ per kWh" },
	{ "carbon-intensity", PROFILE_LOCAL, PP_CARBON_G, "gCO2e per kWh of the local grid" },
	{ "capex", PROFILE_LOCAL, PP_CAPEX_USD, "hardware cost in $" },
	{ "lifetime-years", PROFILE_LOCAL, PP_LIFETIME_YEARS, "amortization period of the hardware" },
	{ "idle-power", PROFILE_LOCAL, PP_IDLE_WATTS, "device idle W (instead of the measured baseline)" },
	{ "price-input", PROFILE_REMOTE, PP_USD_MTOK_INPUT, "remote $ per million input tokens" },
	{ "price-output", PROFILE_REMOTE, PP_USD_MTOK_OUTPUT, "remote $ per million output tokens" },
	{ "price-cached", PROFILE_REMOTE, PP_USD_MTOK_CACHED, "remote $ per million cached input tokens" },
	{ "provider-pue", PROFILE_REMOTE, PP_PUE, "PUE of the provider's datacenter" },
	{ "provider-carbon-intensity", PROFILE_REMOTE, PP_CARBON_G, "gCO2e per kWh at the provider" },
	{ NULL, 0, 0, NULL },
};

const char *profile_param_key(int param)
{
	return param >= 0 && param < PP_COUNT ? param_keys[param] : "?";
}

int profile_param_lookup(const char *key)
{
	for (int i = 0; i < PP_COUNT; i++)
		if (!strcmp(key, param_keys[i]))
			return i;
	return -1;
}

static bool key_known(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (!strcmp(*keys, k))
			return true;
	return false;
}

int profile_from_json(struct profile *p, const cJSON *j, const char *path, char *err, size_t n)
{
	memset(p, 0, sizeof(*p));
	ap_scopy(p->path, sizeof(p->path), path ? path : "");
	const char *where = path ? path : "profile";
	if (!cJSON_IsObject(j)) {
		snprintf(err, n, "%s: not a JSON object", where);
		return -EINVAL;
	}
	/* A misspelt key ("psu_efficency") would silently fall back to a default.
	 * "path" is what profile_to_json adds for meta.json, read back by report. */
	static const char *const top_keys[] = { "agentperf_profile", "kind", "name", "description",
						"models", "params", "path", NULL };
	const cJSON *x;
	cJSON_ArrayForEach(x, j)
		if (!key_known(top_keys, x->string)) {
			snprintf(err, n, "%s: %s: unknown key (expected agentperf_profile, kind, name, "
					 "description, models, params)", where, x->string);
			return -EINVAL;
		}
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "agentperf_profile");
	if (!cJSON_IsNumber(fmt) || fmt->valueint != PROFILE_FORMAT) {
		snprintf(err, n, "%s: \"agentperf_profile\": %d expected", where, PROFILE_FORMAT);
		return -EINVAL;
	}
	const char *kind = jv_str_or(j, "kind", NULL), *name = jv_str_or(j, "name", NULL);
	if (!kind || (strcmp(kind, "local") && strcmp(kind, "remote"))) {
		snprintf(err, n, "%s: \"kind\" must be \"local\" or \"remote\"", where);
		return -EINVAL;
	}
	if (!name || !*name) {
		snprintf(err, n, "%s: \"name\" missing", where);
		return -EINVAL;
	}
	p->kind = strcmp(kind, "local") ? PROFILE_REMOTE : PROFILE_LOCAL;
	ap_scopy(p->name, sizeof(p->name), name);
	ap_scopy(p->description, sizeof(p->description), jv_str_or(j, "description", ""));
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "models"))
	{
		if (!cJSON_IsString(m) || p->n_models >= (int)AP_ARRAY_SIZE(p->models)) {
			snprintf(err, n, "%s: \"models\" must be up to %zu strings", where,
				 AP_ARRAY_SIZE(p->models));
			return -EINVAL;
		}
		ap_scopy(p->models[p->n_models++], sizeof(p->models[0]), m->valuestring);
	}
	if (p->kind == PROFILE_REMOTE && !p->n_models) {
		snprintf(err, n, "%s: a remote profile needs \"models\" (the model names it covers)", where);
		return -EINVAL;
	}
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "params");
	if (!cJSON_IsObject(params)) {
		snprintf(err, n, "%s: \"params\" object missing", where);
		return -EINVAL;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, params)
	{
		int k = profile_param_lookup(e->string);
		if (k < 0) {
			snprintf(err, n, "%s: params.%s: unknown parameter", where, e->string);
			return -EINVAL;
		}
		static const char *const param_keys_ok[] = { "value", "source", "date", "note", NULL };
		cJSON_ArrayForEach(x, e)
			if (!key_known(param_keys_ok, x->string)) {
				snprintf(err, n, "%s: params.%s.%s: unknown key (expected value, source, "
						 "date, note)", where, e->string, x->string);
				return -EINVAL;
			}
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		const char *src = jv_str_or(e, "source", NULL), *date = jv_str_or(e, "date", NULL);
		/* A number without its source is exactly what this format exists to prevent. */
		if (!cJSON_IsNumber(v) || !src || !*src || !date || !*date) {
			snprintf(err, n, "%s: params.%s: needs {\"value\": number, \"source\": text, "
					 "\"date\": text}", where, e->string);
			return -EINVAL;
		}
		p->p[k].set = true;
		p->p[k].v = v->valuedouble;
		ap_scopy(p->p[k].source, sizeof(p->p[k].source), src);
		ap_scopy(p->p[k].date, sizeof(p->p[k].date), date);
	}
	p->loaded = true;
	return profile_validate(p, err, n);
}

/* The parameters with a range narrower than "a finite number >= 0". */
static const struct {
	int param;
	double lo, hi;
	bool lo_open;
} ranges[] = {
	{ PP_PSU_EFFICIENCY, 0, 1, true }, { PP_PUE, 1, 10, false },
	{ PP_UTILIZATION, 0, 1, true },    { PP_LIFETIME_YEARS, 0, 100, true },
};

/* "[1, 10]", "(0, 1]" or ">= 0": the range of param, for messages. */
static void range_text(int param, char *buf, size_t n)
{
	snprintf(buf, n, ">= 0");
	for (size_t i = 0; i < AP_ARRAY_SIZE(ranges); i++)
		if (ranges[i].param == param)
			snprintf(buf, n, "in %s%g, %g]", ranges[i].lo_open ? "(" : "[", ranges[i].lo,
				 ranges[i].hi);
}

static bool in_range(int param, double v)
{
	if (!isfinite(v) || v < 0)
		return false;
	for (size_t i = 0; i < AP_ARRAY_SIZE(ranges); i++)
		if (ranges[i].param == param &&
		    (v > ranges[i].hi || v < ranges[i].lo || (ranges[i].lo_open && v == ranges[i].lo)))
			return false;
	return true;
}

int profile_validate(const struct profile *p, char *err, size_t n)
{
	static const int need_local[] = { PP_PSU_EFFICIENCY, PP_PUE, PP_UTILIZATION };
	static const int need_remote[] = { PP_USD_MTOK_INPUT, PP_USD_MTOK_OUTPUT,
					   PP_WH_PER_OUTPUT_TOKEN, PP_PUE };
	const int *need = p->kind == PROFILE_LOCAL ? need_local : need_remote;
	size_t n_need = p->kind == PROFILE_LOCAL ? AP_ARRAY_SIZE(need_local) : AP_ARRAY_SIZE(need_remote);
	for (size_t i = 0; p->loaded && i < n_need; i++) {
		if (!p->p[need[i]].set) {
			snprintf(err, n, "%s: params.%s is required in a %s profile",
				 p->path[0] ? p->path : p->name, param_keys[need[i]],
				 p->kind == PROFILE_LOCAL ? "local" : "remote");
			return -EINVAL;
		}
	}
	for (int k = 0; k < PP_COUNT; k++) {
		const struct prof_value *v = &p->p[k];
		if (!v->set)
			continue;
		if (!isfinite(v->v) || v->v < 0) {
			snprintf(err, n, "%s: %s: must be a finite number >= 0", p->path[0] ? p->path : p->name,
				 param_keys[k]);
			return -EINVAL;
		}
		for (size_t i = 0; i < AP_ARRAY_SIZE(ranges); i++) {
			if (ranges[i].param != k)
				continue;
			if (v->v > ranges[i].hi || v->v < ranges[i].lo ||
			    (ranges[i].lo_open && v->v == ranges[i].lo)) {
				snprintf(err, n, "%s: %s: %g is outside %s%g, %g]",
					 p->path[0] ? p->path : p->name, param_keys[k], v->v,
					 ranges[i].lo_open ? "(" : "[", ranges[i].lo, ranges[i].hi);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int profile_load(struct profile *p, const char *path_or_name, char *err, size_t n)
{
	char path[600];
	char *txt = NULL;
	size_t l = strlen(path_or_name);
	if (!strchr(path_or_name, '/') && (l < 5 || strcmp(path_or_name + l - 5, ".json"))) {
		/* A name: here or in the installed data folder. */
		char rel[300];
		snprintf(rel, sizeof(rel), "workloads/profiles/%s.json", path_or_name);
		ap_data_find(rel, path, sizeof(path));
	} else
		snprintf(path, sizeof(path), "%s", path_or_name);
	int rc = ap_read_file(path, &txt, NULL);
	if (rc) {
		snprintf(err, n, "%s: cannot read: %s", path, ap_read_file_error(rc));
		return rc;
	}
	size_t bad = 0, len = strlen(txt);
	if (!jv_utf8_valid(txt, len, &bad)) {
		size_t line = 1;
		for (size_t i = 0; i < bad; i++)
			line += txt[i] == '\n';
		snprintf(err, n, "%s:%zu: invalid UTF-8 (or a NUL byte) at byte %zu", path, line, bad + 1);
		free(txt);
		return -EINVAL;
	}
	cJSON *j = cJSON_Parse(txt);
	if (!j) {
		/* cJSON points at where it stopped: give the line, as the workload loader does. */
		const char *at = cJSON_GetErrorPtr();
		size_t line = 1;
		for (const char *q = txt; at && q < at && *q; q++)
			line += *q == '\n';
		snprintf(err, n, "%s:%zu: not valid JSON", path, line);
		free(txt);
		return -EINVAL;
	}
	free(txt);
	rc = profile_from_json(p, j, path, err, n);
	cJSON_Delete(j);
	return rc;
}

cJSON *profile_to_json(const struct profile *p)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "agentperf_profile", PROFILE_FORMAT);
	cJSON_AddStringToObject(j, "kind", p->kind == PROFILE_LOCAL ? "local" : "remote");
	cJSON_AddStringToObject(j, "name", p->name);
	cJSON_AddStringToObject(j, "path", p->path);
	if (p->description[0])
		cJSON_AddStringToObject(j, "description", p->description);
	if (p->n_models) {
		cJSON *m = cJSON_AddArrayToObject(j, "models");
		for (int i = 0; i < p->n_models; i++)
			cJSON_AddItemToArray(m, cJSON_CreateString(p->models[i]));
	}
	cJSON *params = cJSON_AddObjectToObject(j, "params");
	for (int k = 0; k < PP_COUNT; k++) {
		if (!p->p[k].set)
			continue;
		cJSON *e = cJSON_AddObjectToObject(params, param_keys[k]);
		cJSON_AddNumberToObject(e, "value", p->p[k].v);
		cJSON_AddStringToObject(e, "source", p->p[k].source);
		cJSON_AddStringToObject(e, "date", p->p[k].date);
	}
	return j;
}

bool profile_matches_model(const struct profile *p, const char *model)
{
	for (int i = 0; model && i < p->n_models; i++)
		if (!strcmp(p->models[i], model))
			return true;
	return false;
}

int profile_override_set(struct profile_overrides *o, const char *name, const char *value,
			 char *err, size_t n)
{
	for (const struct profile_option *op = profile_options; op->name; op++) {
		if (strcmp(op->name, name))
			continue;
		double x;
		if (ap_parse_double(value, &x) || !in_range(op->param, x)) {
			/* The flag and its own range, not the profile file it would change. */
			char r[64];
			range_text(op->param, r, sizeof(r));
			snprintf(err, n, "--%s: expected a number %s, got '%s'", name, r, value);
			return -EINVAL;
		}
		struct prof_value *v = op->kind == PROFILE_LOCAL ? &o->local[op->param]
								 : &o->remote[op->param];
		v->set = true;
		v->v = x;
		snprintf(v->source, sizeof(v->source), "command line --%s", name);
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(v->date, sizeof(v->date), "%Y-%m-%d", &tm);
		o->any = true;
		return 0;
	}
	snprintf(err, n, "unknown profile option --%s", name);
	return -EINVAL;
}

void profile_apply(struct profile *p, const struct profile_overrides *o)
{
	if (!p->loaded || !o)
		return;
	const struct prof_value *src = p->kind == PROFILE_LOCAL ? o->local : o->remote;
	for (int k = 0; k < PP_COUNT; k++)
		if (src[k].set)
			p->p[k] = src[k];
}

cJSON *profile_set_json(const struct profile_set *s)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	if (s->local.loaded)
		cJSON_AddItemToObject(j, "local", profile_to_json(&s->local));
	if (s->remote.loaded)
		cJSON_AddItemToObject(j, "remote", profile_to_json(&s->remote));
	return j;
}

int profile_set_from_meta(struct profile_set *s, const cJSON *meta, char *err, size_t n)
{
	memset(s, 0, sizeof(*s));
	const cJSON *ps = cJSON_GetObjectItemCaseSensitive(meta, "profiles");
	if (!ps)
		return 0;
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(ps, "local");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(ps, "remote");
	int rc = 0;
	if (l && (rc = profile_from_json(&s->local, l, jv_str_or(l, "path", NULL), err, n)))
		return rc;
	if (r && (rc = profile_from_json(&s->remote, r, jv_str_or(r, "path", NULL), err, n)))
		return rc;
	return 0;
}

void profile_set_store(cJSON *meta, const struct profile_set *s)
{
	cJSON *j = profile_set_json(s);
	if (!j)
		return;
	if (cJSON_GetObjectItemCaseSensitive(meta, "profiles"))
		cJSON_ReplaceItemInObjectCaseSensitive(meta, "profiles", j);
	else
		cJSON_AddItemToObject(meta, "profiles", j);
}

int profile_cli_add(struct profile_cli *pc, const char *file, char *err, size_t n)
{
	if (pc->n_files >= (int)AP_ARRAY_SIZE(pc->files)) {
		snprintf(err, n, "--profile: at most %zu profiles", AP_ARRAY_SIZE(pc->files));
		return -EINVAL;
	}
	pc->files[pc->n_files++] = file;
	return 0;
}

static bool url_is_local(const char *url)
{
	static const char *const local[] = { "http://127.", "http://localhost", "http://[::1]",
					     "https://127.", "https://localhost", "https://[::1]" };
	for (size_t i = 0; url && i < AP_ARRAY_SIZE(local); i++)
		if (!strncmp(url, local[i], strlen(local[i])))
			return true;
	return false;
}

int profile_cli_resolve(const struct profile_cli *pc, const char *model, const char *url,
			struct profile_set *out, char *err, size_t n)
{
	memset(out, 0, sizeof(*out));
	struct profile p;
	int rc;
	for (int i = 0; i < pc->n_files; i++) {
		if ((rc = profile_load(&p, pc->files[i], err, n)))
			return rc;
		if (p.kind == PROFILE_LOCAL) {
			if (out->local.loaded) {
				snprintf(err, n, "--profile %s: a second local profile (%s is already given)",
					 pc->files[i], out->local.name);
				return -EINVAL;
			}
			out->local = p;
		} else {
			if (profile_matches_model(&p, model) && !out->remote.loaded)
				out->remote = p;
		}
	}
	/* Unknown models are an error, not a silent default (or a silent local run). */
	if (pc->n_files && !out->remote.loaded && !url_is_local(url)) {
		snprintf(err, n, "model '%s' at %s has no remote profile: add "
				 "workloads/profiles/%s.json (format in workloads/profiles/README.md, "
				 "with \"models\": [\"%s\"]) and pass --profile",
			 model ? model : "?", url ? url : "?", model ? model : "MODEL", model ? model : "?");
		return -ENOENT;
	}
	profile_apply(&out->local, &pc->ov);
	profile_apply(&out->remote, &pc->ov);
	if ((rc = profile_validate(&out->local, err, n)) || (rc = profile_validate(&out->remote, err, n)))
		return rc;
	return 0;
}
