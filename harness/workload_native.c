/*
 * The native format, "agentperf workload v1" (workloads/SCHEMA.md): JSON
 * Lines, a header line with provenance and defaults, then one task a line.
 * Everything is checked strictly (unknown keys, types, ranges) so that a
 * typo fails at open with file, line and field instead of quietly changing
 * what is measured.
 */
#include "workload_priv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- pieces shared by the header's defaults and the tasks ---- */

struct samp_key {
	const char *name;
	enum { SK_NUM, SK_INT, SK_BOOL, SK_STOP, SK_CHOICE, SK_OBJ } type;
	double min, max;
};

/*
 * A closed list: sampling is merged into the request body, so an unknown key
 * would either be a typo or silently override a field the runner owns
 * (model, messages, stream, ...).
 */
static const struct samp_key samp_keys[] = {
	{ "temperature", SK_NUM, 0, 10 },
	{ "top_p", SK_NUM, 0, 1 },
	{ "top_k", SK_INT, 0, 1000000 },
	{ "min_p", SK_NUM, 0, 1 },
	{ "typical_p", SK_NUM, 0, 1 },
	{ "seed", SK_INT, -9007199254740992.0, 9007199254740992.0 },
	{ "presence_penalty", SK_NUM, -2, 2 },
	{ "frequency_penalty", SK_NUM, -2, 2 },
	{ "repeat_penalty", SK_NUM, 0, 10 },
	{ "stop", SK_STOP, 0, 0 },
	{ "tool_choice", SK_CHOICE, 0, 0 },
	{ "parallel_tool_calls", SK_BOOL, 0, 0 },
	{ "response_format", SK_OBJ, 0, 0 },
};

static int sampling_validate(const struct jv_ctx *x, const cJSON *s, const char *field)
{
	char f[JV_PATH_MAX];
	const char *names[AP_ARRAY_SIZE(samp_keys) + 1];
	int rc;
	for (size_t i = 0; i < AP_ARRAY_SIZE(samp_keys); i++)
		names[i] = samp_keys[i].name;
	names[AP_ARRAY_SIZE(samp_keys)] = NULL;
	if ((rc = jv_object(x, s, field)) || (rc = jv_keys(x, s, field, names)))
		return rc;
	for (size_t i = 0; i < AP_ARRAY_SIZE(samp_keys); i++) {
		const struct samp_key *k = &samp_keys[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, k->name);
		if (!v)
			continue;
		jv_path(f, sizeof(f), field, k->name);
		bool ok = true;
		const char *want = "";
		double d;
		long l;
		bool b;
		switch (k->type) {
		case SK_NUM:
			rc = jv_double(x, s, field, k->name, k->min, k->max, NULL, &d);
			break;
		case SK_INT:
			rc = jv_int(x, s, field, k->name, (long)k->min, (long)k->max, NULL, &l);
			break;
		case SK_BOOL:
			rc = jv_bool(x, s, field, k->name, &b);
			break;
		case SK_STOP:
			ok = cJSON_IsString(v) ||
			     (cJSON_IsArray(v) && cJSON_GetArraySize(v) <= 16);
			for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e; e = e->next)
				ok = ok && cJSON_IsString(e);
			want = "a string or an array of at most 16 strings";
			break;
		case SK_CHOICE:
			ok = cJSON_IsObject(v) ||
			     (cJSON_IsString(v) && (!strcmp(v->valuestring, "auto") ||
						    !strcmp(v->valuestring, "none") ||
						    !strcmp(v->valuestring, "required")));
			want = "\"auto\", \"none\", \"required\" or an object";
			break;
		case SK_OBJ:
			ok = cJSON_IsObject(v);
			want = "an object";
			break;
		}
		if (rc)
			return rc;
		if (!ok) {
			ap_error_set(x->err, x->file, x->line, f, "expected %s", want);
			return -EINVAL;
		}
	}
	return 0;
}

/* Task keys override default keys one by one; NULL when nothing is left. */
static int sampling_merge(const cJSON *def, const cJSON *over, cJSON **out)
{
	*out = NULL;
	if (!def && (!over || !over->child))
		return 0; /* nothing to merge: the usual task */
	cJSON *m = def ? cJSON_Duplicate(def, true) : cJSON_CreateObject();
	if (!m)
		return -ENOMEM;
	for (const cJSON *v = over ? over->child : NULL; v; v = v->next) {
		cJSON *d = cJSON_Duplicate(v, true);
		if (!d) {
			cJSON_Delete(m);
			return -ENOMEM;
		}
		if (cJSON_HasObjectItem(m, v->string))
			cJSON_ReplaceItemInObjectCaseSensitive(m, v->string, d);
		else
			cJSON_AddItemToObject(m, v->string, d);
	}
	if (!m->child) {
		cJSON_Delete(m);
		return 0;
	}
	*out = m;
	return 0;
}

static int policy_parse(const struct jv_ctx *x, const cJSON *j, const char *prefix,
			struct attempt_policy *p, int *max_tokens)
{
	char f[JV_PATH_MAX];
	long v;
	bool have;
	const char *retry = NULL;
	int rc;
	if ((rc = jv_int(x, j, prefix, "max_attempts", 1, WL_MAX_ATTEMPTS, &have, &v)))
		return rc;
	if (have)
		p->max_attempts = (int)v;
	if ((rc = jv_int(x, j, prefix, "max_steps", 1, WL_MAX_STEPS, &have, &v)))
		return rc;
	if (have)
		p->max_steps = (int)v;
	if ((rc = jv_int(x, j, prefix, "max_tokens", 1, WL_MAX_TOKENS, &have, &v)))
		return rc;
	if (have)
		*max_tokens = (int)v;
	if ((rc = jv_int(x, j, prefix, "tool_latency_ms", 0, WL_MAX_TOOL_LATENCY_MS, &have, &v)))
		return rc;
	if (have) {
		p->tool_latency_ms = (double)v;
		p->tool_latency_set = true;
	}
	if ((rc = jv_string(x, j, prefix, "retry", false, &retry)) || !retry)
		return rc;
	if (!strcmp(retry, "plain")) {
		p->retry = RETRY_PLAIN;
	} else if (!strcmp(retry, "repair")) {
		p->retry = RETRY_REPAIR;
	} else {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), prefix, "retry"),
			     "unknown retry mode '%s' (expected plain, repair)", retry);
		return -EINVAL;
	}
	return 0;
}

/* A string or null; "" counts as none. *out is NULL for none. */
static int opt_text(const struct jv_ctx *x, const cJSON *j, const char *key, bool *present,
		    const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	*present = v != NULL;
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		ap_error_set(x->err, x->file, x->line, key, "expected a string or null, got %s",
			     jv_type_name(v));
		return -EINVAL;
	}
	*out = *v->valuestring ? v->valuestring : NULL;
	return 0;
}

static const cJSON *find_tool(const cJSON *tools, const char *name)
{
	for (const cJSON *t = tools ? tools->child : NULL; t; t = t->next) {
		const char *n = wl_tool_name(t);
		if (n && !strcmp(n, name))
			return t;
	}
	return NULL;
}

/*
 * tools: an array whose items are tool objects or, in a task (by_name), names
 * of tools in defaults.tools. Builds the resolved array (NULL when empty).
 */
static int tools_parse(const struct jv_ctx *x, const cJSON *arr, const char *field,
		       bool by_name, const cJSON *def, cJSON **out)
{
	char f[JV_PATH_MAX];
	int rc = 0;
	*out = NULL;
	if (cJSON_IsNull(arr))
		return 0;
	int n = cJSON_GetArraySize(arr);
	if (!cJSON_IsArray(arr) || n > WL_MAX_TOOLS) {
		ap_error_set(x->err, x->file, x->line, field,
			     "expected an array of at most %d tools, got %s", WL_MAX_TOOLS,
			     cJSON_IsArray(arr) ? "more" : jv_type_name(arr));
		return -EINVAL;
	}
	cJSON *res = cJSON_CreateArray();
	if (!res)
		return -ENOMEM;
	size_t i = 0;
	for (const cJSON *t = arr->child; t; t = t->next, i++) {
		jv_path_idx(f, sizeof(f), field, i);
		const cJSON *tool = t;
		if (cJSON_IsString(t) && by_name) {
			if (!(tool = find_tool(def, t->valuestring))) {
				ap_error_set(x->err, x->file, x->line, f,
					     "no tool named '%s' in defaults.tools",
					     t->valuestring);
				rc = -EINVAL;
				goto out;
			}
		} else if ((rc = wl_tool_validate(x, t, f))) {
			goto out;
		}
		const char *name = wl_tool_name(tool);
		if (find_tool(res, name)) {
			ap_error_set(x->err, x->file, x->line, f, "duplicate tool name '%s'", name);
			rc = -EINVAL;
			goto out;
		}
		cJSON *d = cJSON_Duplicate(tool, true);
		if (!d || !cJSON_AddItemToArray(res, d)) {
			cJSON_Delete(d);
			rc = -ENOMEM;
			goto out;
		}
	}
	if (res->child) {
		*out = res;
		res = NULL;
	}
out:
	cJSON_Delete(res);
	return rc;
}

/* ---- header ---- */

static const char *const header_keys[] = { "agentperf_workload", "name", "version", "source",
					   "license", "description", "defaults", NULL };
static const char *const default_keys[] = { "system_prompt", "tools", "sampling",
					    "max_tokens", "max_attempts", "retry",
					    "max_steps", "tool_latency_ms", NULL };

static int dup_field(char **dst, const char *s)
{
	if (!s)
		return 0;
	return (*dst = strdup(s)) ? 0 : -ENOMEM;
}

static int defaults_parse(struct workload *wl, const struct jv_ctx *x, const cJSON *d)
{
	char f[JV_PATH_MAX];
	const cJSON *v;
	int rc;
	if ((rc = jv_object(x, d, "defaults")) || (rc = jv_keys(x, d, "defaults", default_keys)) ||
	    (rc = policy_parse(x, d, "defaults", &wl->policy, &wl->max_tokens)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(d, "system_prompt")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v)) {
			ap_error_set(x->err, x->file, x->line, "defaults.system_prompt",
				     "expected a string or null, got %s", jv_type_name(v));
			return -EINVAL;
		}
		if (*v->valuestring && (rc = dup_field(&wl->system_prompt, v->valuestring)))
			return rc;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(d, "tools")) &&
	    (rc = tools_parse(x, v, "defaults.tools", false, NULL, &wl->tools)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(d, "sampling"))) {
		if ((rc = sampling_validate(x, v, jv_path(f, sizeof(f), "defaults", "sampling"))))
			return rc;
		if (v->child && !(wl->sampling = cJSON_Duplicate(v, true)))
			return -ENOMEM;
	}
	return 0;
}

static int native_open(struct workload *wl, const char *answers_path, struct ap_error *err)
{
	struct wl_reader *r = &wl_stream(wl)->rd;
	char *s;
	size_t n;
	cJSON *j = NULL;
	(void)answers_path;
	int rc = wl_read_line(r, &s, &n, err);
	if (rc == 1) {
		ap_error_set(err, wl->path, 0, NULL, "empty workload file");
		return -EINVAL;
	}
	if (rc)
		return rc;
	struct jv_ctx x = { wl->path, r->line, err };
	if (!(j = jv_parse_line(&x, s, n)))
		return -EINVAL;
	const char *name = NULL, *version = NULL, *source = NULL, *license = NULL,
		   *desc = NULL;
	long fmtv = 0;
	bool have = false;
	if ((rc = jv_object(&x, j, "header")) ||
	    (rc = jv_int(&x, j, "", "agentperf_workload", 0, 1000000, &have, &fmtv)))
		goto out;
	if (!have) {
		ap_error_set(err, wl->path, r->line, "agentperf_workload",
			     "missing required field (a native workload starts with a header "
			     "line {\"agentperf_workload\": 1, ...})");
		rc = -EINVAL;
		goto out;
	}
	if (fmtv != 1) {
		ap_error_set(err, wl->path, r->line, "agentperf_workload",
			     "unsupported format version %ld (this agentperf reads 1)", fmtv);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = jv_keys(&x, j, "", header_keys)) ||
	    (rc = jv_string(&x, j, "", "name", true, &name)) ||
	    (rc = jv_string(&x, j, "", "version", true, &version)) ||
	    (rc = jv_string(&x, j, "", "source", true, &source)) ||
	    (rc = jv_string(&x, j, "", "license", true, &license)) ||
	    (rc = jv_string(&x, j, "", "description", false, &desc)))
		goto out;
	if ((rc = dup_field(&wl->name, name)) || (rc = dup_field(&wl->version, version)) ||
	    (rc = dup_field(&wl->source, source)) || (rc = dup_field(&wl->license, license)) ||
	    (rc = dup_field(&wl->description, desc)))
		goto out;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "defaults");
	if (d)
		rc = defaults_parse(wl, &x, d);
out:
	cJSON_Delete(j);
	return rc;
}

/* ---- tasks ---- */

/* A task's keys, in the order the unknown-key message lists them. */
enum task_key {
	TK_ID, TK_CATEGORY, TK_MESSAGES, TK_PROMPT, TK_SYSTEM_PROMPT, TK_TOOLS, TK_TOOL_TABLE,
	TK_CHECK, TK_DECOMPOSED, TK_MAX_ATTEMPTS, TK_RETRY, TK_MAX_STEPS, TK_MAX_TOKENS,
	TK_SAMPLING, TK_TOOL_LATENCY_MS, TK_COUNT
};
static const char *const task_keys[TK_COUNT + 1] = {
	[TK_ID] = "id",
	[TK_CATEGORY] = "category",
	[TK_MESSAGES] = "messages",
	[TK_PROMPT] = "prompt",
	[TK_SYSTEM_PROMPT] = "system_prompt",
	[TK_TOOLS] = "tools",
	[TK_TOOL_TABLE] = "tool_table",
	[TK_CHECK] = "check",
	[TK_DECOMPOSED] = "decomposed",
	[TK_MAX_ATTEMPTS] = "max_attempts",
	[TK_RETRY] = "retry",
	[TK_MAX_STEPS] = "max_steps",
	[TK_MAX_TOKENS] = "max_tokens",
	[TK_SAMPLING] = "sampling",
	[TK_TOOL_LATENCY_MS] = "tool_latency_ms",
	[TK_COUNT] = NULL,
};
static const char *const msg_keys[] = { "role", "content", "name", "tool_calls", "tool_call_id",
					NULL };
static const char *const table_keys[] = { "name", "args", "result", "latency_ms", NULL };
static const char *const sub_keys[] = { "id", "prompt", "check", NULL };

/* Ids end up in CSV columns and report lines: printable, bounded. */
static int id_check(const struct jv_ctx *x, const char *field, const char *id)
{
	size_t n = strlen(id);
	if (!n || n > WL_ID_MAX) {
		ap_error_set(x->err, x->file, x->line, field, "must be 1 to %d bytes long",
			     WL_ID_MAX);
		return -EINVAL;
	}
	for (const char *p = id; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			ap_error_set(x->err, x->file, x->line, field,
				     "must not contain control characters");
			return -EINVAL;
		}
	}
	return 0;
}

static int message_validate(const struct jv_ctx *x, const cJSON *m, const char *field)
{
	char f[JV_PATH_MAX];
	const char *role = NULL, *s = NULL;
	int rc;
	if ((rc = jv_object(x, m, field)) || (rc = jv_keys(x, m, field, msg_keys)) ||
	    (rc = jv_string(x, m, field, "role", true, &role)) ||
	    (rc = jv_string(x, m, field, "name", false, &s)))
		return rc;
	jv_path(f, sizeof(f), field, "role");
	if (!strcmp(role, "system")) {
		ap_error_set(x->err, x->file, x->line, f,
			     "'system' is not allowed in messages; use system_prompt");
		return -EINVAL;
	}
	bool user = !strcmp(role, "user"), asst = !strcmp(role, "assistant"),
	     tool = !strcmp(role, "tool");
	if (!user && !asst && !tool) {
		ap_error_set(x->err, x->file, x->line, f,
			     "unknown role '%s' (expected user, assistant, tool)", role);
		return -EINVAL;
	}
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
	if (calls && (!asst || !cJSON_IsArray(calls) || !calls->child)) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "tool_calls"),
			     asst ? "expected a non-empty array" : "only assistant messages "
								    "carry tool_calls");
		return -EINVAL;
	}
	const cJSON *tcid = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
	if (tool != (tcid != NULL)) {
		ap_error_set(x->err, x->file, x->line,
			     jv_path(f, sizeof(f), field, "tool_call_id"),
			     tool ? "missing required field (a tool message answers a call)"
				  : "only tool messages carry tool_call_id");
		return -EINVAL;
	}
	if (tcid && (rc = jv_string(x, m, field, "tool_call_id", true, &s)))
		return rc;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (cJSON_IsString(c) || (asst && calls && (!c || cJSON_IsNull(c))))
		return 0;
	ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "content"),
		     c ? "expected a string, got %s" : "missing required field%s",
		     c ? jv_type_name(c) : "");
	return -EINVAL;
}

/* The task's messages or prompt (either may be NULL) into t->messages. */
static int messages_parse(struct task *t, const struct jv_ctx *x, const cJSON *msgs,
			  const cJSON *prompt)
{
	char f[JV_PATH_MAX];
	int rc;
	if (msgs && prompt) {
		ap_error_set(x->err, x->file, x->line, "prompt",
			     "give either messages or prompt, not both");
		return -EINVAL;
	}
	if (!msgs && !prompt) {
		ap_error_set(x->err, x->file, x->line, "messages",
			     "missing required field (or prompt)");
		return -EINVAL;
	}
	if (prompt) {
		if (!cJSON_IsString(prompt) || !*prompt->valuestring) {
			ap_error_set(x->err, x->file, x->line, "prompt",
				     "expected a non-empty string, got %s",
				     cJSON_IsString(prompt) ? "\"\"" : jv_type_name(prompt));
			return -EINVAL;
		}
		cJSON *m = cJSON_CreateObject();
		t->messages = cJSON_CreateArray();
		if (!m || !t->messages || !cJSON_AddItemToArray(t->messages, m)) {
			cJSON_Delete(m);
			return -ENOMEM;
		}
		/* Constant keys (cJSON_StringIsConst): two copies fewer a task. */
		cJSON *role = cJSON_CreateString("user");
		if (!cJSON_AddItemToObjectCS(m, "role", role)) {
			cJSON_Delete(role);
			return -ENOMEM;
		}
		cJSON *content = cJSON_CreateString(prompt->valuestring);
		if (!cJSON_AddItemToObjectCS(m, "content", content)) {
			cJSON_Delete(content);
			return -ENOMEM;
		}
		return 0;
	}
	int n = cJSON_GetArraySize(msgs);
	if (!cJSON_IsArray(msgs) || n < 1 || n > WL_MAX_MESSAGES) {
		ap_error_set(x->err, x->file, x->line, "messages",
			     "expected an array of 1 to %d messages, got %s", WL_MAX_MESSAGES,
			     cJSON_IsArray(msgs) ? (n ? "more" : "an empty array")
						 : jv_type_name(msgs));
		return -EINVAL;
	}
	size_t i = 0;
	const cJSON *last = NULL;
	for (const cJSON *m = msgs->child; m; m = m->next, i++) {
		if ((rc = message_validate(x, m, jv_path_idx(f, sizeof(f), "messages", i))))
			return rc;
		last = m;
	}
	const cJSON *role = cJSON_GetObjectItemCaseSensitive(last, "role");
	if (!strcmp(role->valuestring, "assistant")) {
		ap_error_set(x->err, x->file, x->line,
			     jv_path_idx(f, sizeof(f), "messages", i - 1),
			     "the conversation must end with a user or tool message, for the "
			     "model to answer");
		return -EINVAL;
	}
	return (t->messages = cJSON_Duplicate(msgs, true)) ? 0 : -ENOMEM;
}

static int table_parse(struct task *t, const struct jv_ctx *x, const cJSON *arr)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	int n = cJSON_GetArraySize(arr);
	int rc;
	if (!cJSON_IsArray(arr) || n > WL_MAX_TABLE) {
		ap_error_set(x->err, x->file, x->line, "tool_table",
			     "expected an array of at most %d entries, got %s", WL_MAX_TABLE,
			     cJSON_IsArray(arr) ? "more" : jv_type_name(arr));
		return -EINVAL;
	}
	if (n && !(t->answers = calloc((size_t)n, sizeof(*t->answers))))
		return -ENOMEM;
	size_t i = 0;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		const char *name = NULL;
		jv_path_idx(f, sizeof(f), "tool_table", i);
		if ((rc = jv_object(x, e, f)) || (rc = jv_keys(x, e, f, table_keys)) ||
		    (rc = jv_string(x, e, f, "name", true, &name)))
			return rc;
		if (!find_tool(t->tools, name)) {
			ap_error_set(x->err, x->file, x->line, jv_path(g, sizeof(g), f, "name"),
				     "the task has no tool named '%s'", name);
			return -EINVAL;
		}
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
		/* A repeated key would be matched on one of its values, silently. */
		if (args && ((rc = jv_object(x, args, jv_path(g, sizeof(g), f, "args"))) ||
			     (rc = jv_unique_keys(x, args, g))))
			return rc;
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "result");
		if (!res) {
			ap_error_set(x->err, x->file, x->line, jv_path(g, sizeof(g), f, "result"),
				     "missing required field");
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++) {
			const struct tool_answer *o = &t->answers[k];
			if (strcmp(o->name, name) || !o->args != !args ||
			    (args && !(check_json_equal(o->args, args) &&
				       check_json_equal(args, o->args))))
				continue;
			ap_error_set(x->err, x->file, x->line, f,
				     args ? "duplicate entry for %s with the same args (first at "
					    "tool_table[%zu])"
					  : "a second entry for %s without args (first at "
					    "tool_table[%zu]); only one may answer any arguments",
				     name, k);
			return -EINVAL;
		}
		struct tool_answer *a = &t->answers[i];
		t->n_answers = i + 1;
		bool have_lat;
		long lat;
		if ((rc = jv_int(x, e, f, "latency_ms", 0, WL_MAX_TOOL_LATENCY_MS, &have_lat, &lat)))
			return rc;
		a->latency_ms = (double)lat * have_lat;
		a->latency_set = have_lat;
		/* Results are text to the model; JSON results are sent compact. */
		a->result = cJSON_IsString(res) ? strdup(res->valuestring)
						: cJSON_PrintUnformatted(res);
		if (!(a->name = strdup(name)) || !a->result ||
		    (args && !(a->args = cJSON_Duplicate(args, true))))
			return -ENOMEM;
	}
	return 0;
}

/* tool_call checks must name a tool the task offers. */
static int check_tools(const struct jv_ctx *x, const struct check *c, const cJSON *tools,
		       const char *field)
{
	if (c->kind == CHECK_TOOL_CALL && !find_tool(tools, c->tool)) {
		char f[JV_PATH_MAX];
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "name"),
			     "the task has no tool named '%s'", c->tool);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_sub; i++) {
		char f[JV_PATH_MAX], g[JV_PATH_MAX];
		jv_path_idx(g, sizeof(g), jv_path(f, sizeof(f), field, "checks"), i);
		int rc = check_tools(x, &c->sub[i], tools, g);
		if (rc)
			return rc;
	}
	return 0;
}

static int prompt_refs(const struct jv_ctx *x, const struct task *t, size_t i,
		       const cJSON *subs, const char *field)
{
	const char *p = t->subs[i].prompt;
	for (const char *o = strstr(p, "{{"); o; o = strstr(o + 1, "{{")) {
		size_t n = wl_placeholder(o + 2);
		if (!n)
			continue;
		char name[WL_ID_MAX + 1];
		snprintf(name, sizeof(name), "%.*s", (int)(n > WL_ID_MAX ? WL_ID_MAX : n), o + 2);
		if (!strcmp(name, "prev")) {
			if (i > 0)
				continue;
			ap_error_set(x->err, x->file, x->line, field,
				     "{{prev}} in the first sub-call: there is no previous "
				     "output");
			return -EINVAL;
		}
		bool earlier = false;
		for (size_t j = 0; j < i; j++)
			earlier |= !strcmp(t->subs[j].id, name);
		if (earlier)
			continue;
		/* Say why: a later or own id is an ordering mistake, not a typo. */
		bool later = false;
		for (const cJSON *s = subs->child; s; s = s->next) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
			later |= cJSON_IsString(id) && !strcmp(id->valuestring, name);
		}
		ap_error_set(x->err, x->file, x->line, field,
			     !strcmp(name, t->subs[i].id)
				     ? "{{%s}} refers to this sub-call itself; only earlier "
				       "outputs can be used"
			     : later ? "{{%s}} refers to a later sub-call; only earlier outputs "
				       "can be used"
				     : "{{%s}} names no earlier sub-call (ids of earlier sub-calls, "
				       "or prev)",
			     name);
		return -EINVAL;
	}
	return 0;
}

static int subs_parse(struct task *t, const struct jv_ctx *x, const cJSON *arr)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	int n = cJSON_GetArraySize(arr);
	int rc;
	if (!cJSON_IsArray(arr) || n < 1 || n > WL_MAX_SUBS) {
		ap_error_set(x->err, x->file, x->line, "decomposed",
			     "expected an array of 1 to %d sub-calls, got %s", WL_MAX_SUBS,
			     cJSON_IsArray(arr) ? (n ? "more" : "an empty array")
						: jv_type_name(arr));
		return -EINVAL;
	}
	if (!(t->subs = calloc((size_t)n, sizeof(*t->subs))))
		return -ENOMEM;
	size_t i = 0;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		const char *id = NULL, *prompt = NULL;
		jv_path_idx(f, sizeof(f), "decomposed", i);
		if ((rc = jv_object(x, e, f)) || (rc = jv_keys(x, e, f, sub_keys)) ||
		    (rc = jv_string(x, e, f, "id", true, &id)) ||
		    (rc = jv_string(x, e, f, "prompt", true, &prompt)))
			return rc;
		jv_path(g, sizeof(g), f, "id");
		if (!wl_tool_name_ok(id)) {
			ap_error_set(x->err, x->file, x->line, g,
				     "invalid sub-call id '%s' (1 to 64 letters, digits, '_' or '-')",
				     id);
			return -EINVAL;
		}
		if (!strcmp(id, "prev")) {
			ap_error_set(x->err, x->file, x->line, g,
				     "'prev' is reserved for {{prev}}");
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(t->subs[k].id, id)) {
				ap_error_set(x->err, x->file, x->line, g,
					     "duplicate sub-call id '%s' (first at decomposed[%zu])",
					     id, k);
				return -EINVAL;
			}
		}
		if (!*prompt) {
			ap_error_set(x->err, x->file, x->line,
				     jv_path(g, sizeof(g), f, "prompt"), "must not be empty");
			return -EINVAL;
		}
		struct subcall *s = &t->subs[i];
		t->n_subs = i + 1;
		if (!(s->id = strdup(id)) || !(s->prompt = strdup(prompt)))
			return -ENOMEM;
		if ((rc = prompt_refs(x, t, i, arr, jv_path(g, sizeof(g), f, "prompt"))))
			return rc;
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "check");
		if (c) {
			jv_path(g, sizeof(g), f, "check");
			if ((rc = check_parse(&s->check, c, x->file, x->line, g, x->err)) ||
			    (rc = check_tools(x, &s->check, t->tools, g)))
				return rc;
		}
	}
	return 0;
}

static int native_parse(struct workload *wl, const cJSON *j, size_t line, struct task **out,
			struct ap_error *err)
{
	struct jv_ctx x = { wl->path, line, err };
	const char *id = NULL, *cat = NULL, *sys = NULL;
	bool have_sys = false;
	const cJSON *v, *k[TK_COUNT];
	int rc;
	struct task *t = wl_task_new(wl, line);
	*out = NULL;
	if (!t)
		return -ENOMEM;
	/* One pass over the keys finds them all (k[TK_*]): lookups by name
	 * were a tenth of a tiny task's parse. */
	if ((rc = jv_object(&x, j, "task")) || (rc = jv_keys_found(&x, j, "", task_keys, k)))
		goto out;
	if (cJSON_HasObjectItem(j, "agentperf_workload")) {
		ap_error_set(err, wl->path, line, "agentperf_workload",
			     "a second header line; the header must be the first line only");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = jv_string(&x, j, "", "id", true, &id)) || (rc = id_check(&x, "id", id)) ||
	    (rc = jv_string(&x, j, "", "category", false, &cat)) ||
	    (cat && (rc = id_check(&x, "category", cat))))
		goto out;
	if (!(t->id = strdup(id)) || !(t->category = strdup(cat ? cat : ""))) {
		rc = -ENOMEM;
		goto out;
	}
	/* Most tasks set no policy of their own: the defaults stand. */
	if ((k[TK_MAX_ATTEMPTS] || k[TK_MAX_STEPS] || k[TK_MAX_TOKENS] || k[TK_RETRY] ||
	     k[TK_TOOL_LATENCY_MS]) &&
	    (rc = policy_parse(&x, j, "", &t->policy, &t->max_tokens)))
		goto out;
	if ((rc = opt_text(&x, j, "system_prompt", &have_sys, &sys)))
		goto out;
	if (!have_sys)
		sys = wl->system_prompt;
	if (sys && !(t->system_prompt = strdup(sys))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = messages_parse(t, &x, k[TK_MESSAGES], k[TK_PROMPT])))
		goto out;
	if ((v = k[TK_TOOLS])) {
		if ((rc = tools_parse(&x, v, "tools", true, wl->tools, &t->tools)))
			goto out;
	} else if (wl->tools && !(t->tools = cJSON_Duplicate(wl->tools, true))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((v = k[TK_TOOL_TABLE]) && (rc = table_parse(t, &x, v)))
		goto out;
	if (!(v = k[TK_CHECK])) {
		ap_error_set(err, wl->path, line, "check",
			     "missing required field (use {\"kind\": \"none\"} to count any "
			     "completed answer as success)");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = check_parse(&t->check, v, wl->path, line, "check", err)) ||
	    (rc = check_tools(&x, &t->check, t->tools, "check")))
		goto out;
	if ((v = k[TK_DECOMPOSED]) && (rc = subs_parse(t, &x, v)))
		goto out;
	v = k[TK_SAMPLING];
	if (v && (rc = sampling_validate(&x, v, "sampling")))
		goto out;
	if ((rc = sampling_merge(wl->sampling, v, &t->sampling)))
		goto out;
	*out = t;
	t = NULL;
out:
	task_free(t);
	return rc;
}

const struct wl_format wl_native_format = {
	.id = WL_NATIVE,
	.name = "native",
	.open = native_open,
	.parse = native_parse,
	.close = NULL,
};
