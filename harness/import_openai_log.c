/*
 * Logged OpenAI chat-completion traffic, replayed as-is: one request body a
 * line ({"model", "messages", "tools", ...}), or wrapped with its response
 * ({"request": {...}, "response": {...}}), or an OpenAI Batch API input line
 * ({"custom_id", "method", "url", "body"}). The body goes out unchanged but
 * for the fields the runner owns (model, stream, stream_options); see
 * workloads/SCHEMA.md.
 */
#include "workload_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int log_open(struct workload *wl, const char *answers_path, struct ap_error *err)
{
	(void)answers_path;
	(void)err;
	wl->name = wl_basename_noext(wl->path);
	wl->version = strdup("unknown");
	wl->source = strdup(wl->path);
	/* Logged traffic carries no license of its own; say so rather than guess. */
	wl->license = strdup("unknown (logged traffic)");
	wl->description = strdup("logged OpenAI chat-completion requests, replayed as-is");
	if (!wl->name || !wl->version || !wl->source || !wl->license || !wl->description)
		return -ENOMEM;
	/* A logged request is one call; there is no tool table to go on with. */
	wl->policy = (struct attempt_policy){ 1, RETRY_PLAIN, 1 };
	return 0;
}

static const char *const wrap_keys[] = { "request", "response", "id", "metadata", NULL };
static const char *const batch_keys[] = { "custom_id", "method", "url", "body", NULL };

/* Copies what the report may show: system prompt, other messages, tools. */
int wl_log_request_fields(struct task *t, const struct jv_ctx *x, const cJSON *req,
			  const char *field)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	int rc;
	if ((rc = jv_object(x, req, field)))
		return rc;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	jv_path(f, sizeof(f), field, "messages");
	if (!cJSON_IsArray(msgs) || !msgs->child) {
		ap_error_set(x->err, x->file, x->line, f,
			     msgs ? "expected a non-empty array of messages, got %s"
				  : "missing required field%s",
			     msgs ? (cJSON_IsArray(msgs) ? "an empty array" : jv_type_name(msgs))
				  : "");
		return -EINVAL;
	}
	if (!(t->messages = cJSON_CreateArray()))
		return -ENOMEM;
	size_t i = 0;
	for (const cJSON *m = msgs->child; m; m = m->next, i++) {
		const char *role = NULL;
		jv_path_idx(g, sizeof(g), f, i);
		if ((rc = jv_object(x, m, g)) || (rc = jv_string(x, m, g, "role", true, &role)))
			return rc;
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		if ((!strcmp(role, "system") || !strcmp(role, "developer")) && !t->system_prompt &&
		    cJSON_IsString(content)) {
			if (!(t->system_prompt = strdup(content->valuestring)))
				return -ENOMEM;
			continue;
		}
		cJSON *d = cJSON_Duplicate(m, true);
		if (!d || !cJSON_AddItemToArray(t->messages, d)) {
			cJSON_Delete(d);
			return -ENOMEM;
		}
	}
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
	if (tools && !cJSON_IsArray(tools)) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "tools"),
			     "expected an array, got %s", jv_type_name(tools));
		return -EINVAL;
	}
	if (tools && tools->child && !(t->tools = cJSON_Duplicate(tools, true)))
		return -ENOMEM;
	long mt = 0;
	bool have = false;
	if ((rc = jv_int(x, req, field, "max_tokens", 1, WL_MAX_TOKENS, &have, &mt)))
		return rc;
	if (!have &&
	    (rc = jv_int(x, req, field, "max_completion_tokens", 1, WL_MAX_TOKENS, &have, &mt)))
		return rc;
	t->max_tokens = have ? (int)mt : 0;
	return (t->raw_request = cJSON_Duplicate(req, true)) ? 0 : -ENOMEM;
}

/*
 * The logged response decides success: its tool calls, by name, must be
 * made again (arguments free, since sampling makes them vary); a plain text
 * answer only needs a valid completion (CHECK_NONE), as text rarely repeats
 * word for word.
 */
static int response_check(struct task *t, const struct jv_ctx *x, const cJSON *resp)
{
	char f[JV_PATH_MAX];
	int rc = 0;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(resp, "body")))
		resp = cJSON_GetObjectItemCaseSensitive(resp, "body"); /* Batch API output */
	if ((rc = jv_object(x, resp, "response")))
		return rc;
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(resp, "choices");
	if (!cJSON_IsArray(choices) || !choices->child) {
		ap_error_set(x->err, x->file, x->line, "response.choices",
			     "expected a non-empty array (a non-streamed chat.completion)");
		return -EINVAL;
	}
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choices->child, "message");
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
	if (!cJSON_IsArray(calls) || !calls->child)
		return 0;
	cJSON *chk = cJSON_CreateObject();
	cJSON *list = cJSON_CreateArray();
	if (!chk || !list || !cJSON_AddStringToObject(chk, "kind", "all")) {
		cJSON_Delete(list);
		rc = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(chk, "checks", list);
	size_t i = 0;
	for (const cJSON *c = calls->child; c; c = c->next, i++) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(fn, "name");
		if (!cJSON_IsString(nm) || !*nm->valuestring) {
			jv_path_idx(f, sizeof(f), "response.choices[0].message.tool_calls", i);
			ap_error_set(x->err, x->file, x->line, f, "a tool call without a name");
			rc = -EINVAL;
			goto out;
		}
		cJSON *tc = cJSON_CreateObject();
		if (!tc || !cJSON_AddItemToArray(list, tc) ||
		    !cJSON_AddStringToObject(tc, "kind", "tool_call") ||
		    !cJSON_AddStringToObject(tc, "name", nm->valuestring)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = check_parse(&t->check, list->child->next ? chk : list->child, x->file, x->line,
			 "response", x->err);
out:
	cJSON_Delete(chk);
	return rc;
}

static int log_parse(struct workload *wl, const cJSON *j, size_t line, struct task **out,
		     struct ap_error *err)
{
	struct jv_ctx x = { wl->path, line, err };
	const char *id = NULL;
	const cJSON *req = j, *resp = NULL;
	const char *rfield = "";
	char idbuf[32];
	int rc;
	struct task *t = wl_task_new(wl, line);
	*out = NULL;
	if (!t)
		return -ENOMEM;
	if ((rc = jv_object(&x, j, "line")))
		goto out;
	if (cJSON_HasObjectItem(j, "request")) {
		if ((rc = jv_keys(&x, j, "", wrap_keys)) ||
		    (rc = jv_string(&x, j, "", "id", false, &id)))
			goto out;
		req = cJSON_GetObjectItemCaseSensitive(j, "request");
		resp = cJSON_GetObjectItemCaseSensitive(j, "response");
		rfield = "request";
	} else if (cJSON_HasObjectItem(j, "body") && cJSON_HasObjectItem(j, "custom_id")) {
		if ((rc = jv_keys(&x, j, "", batch_keys)) ||
		    (rc = jv_string(&x, j, "", "custom_id", true, &id)))
			goto out;
		req = cJSON_GetObjectItemCaseSensitive(j, "body");
		rfield = "body";
	}
	if (!id || !*id) {
		/* Logs rarely carry ids; the line number is stable for a given file. */
		snprintf(idbuf, sizeof(idbuf), "line-%zu", line);
		id = idbuf;
	}
	if (!(t->id = strdup(id)) || !(t->category = strdup("openai-log"))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = wl_log_request_fields(t, &x, req, rfield)))
		goto out;
	if (resp && !cJSON_IsNull(resp) && (rc = response_check(t, &x, resp)))
		goto out;
	*out = t;
	t = NULL;
out:
	task_free(t);
	return rc;
}

const struct wl_format wl_openai_log_format = {
	.id = WL_OPENAI_LOG,
	.name = "openai-log",
	.open = log_open,
	.parse = log_parse,
	.close = NULL,
};
