/*
 * OpenAI-compatible chat completions: OpenAI itself, llama.cpp's llama-server,
 * Ollama's /v1 and vLLM all speak it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "jsonv.h"

static int add_sampling(cJSON *req, const cJSON *sampling)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sampling)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(req, it->string);
		cJSON *dup = cJSON_Duplicate(it, 1);
		if (!dup)
			return -ENOMEM;
		cJSON_AddItemToObject(req, it->string, dup);
	}
	return 0;
}

static int openai_build_body(const struct backend *b, const struct call_input *in, bool stream,
			     struct sbuf *out)
{
	int rc = 0;
	cJSON *req;
	if (in->raw) {
		/* A logged request is replayed as-is: only the model and the streaming
		 * switches are ours, so the same body can hit another server. */
		req = cJSON_Duplicate(in->raw, 1);
		if (!req)
			return -ENOMEM;
		cJSON_DeleteItemFromObjectCaseSensitive(req, "model");
		cJSON_DeleteItemFromObjectCaseSensitive(req, "stream");
		cJSON_DeleteItemFromObjectCaseSensitive(req, "stream_options");
		cJSON_AddStringToObject(req, "model", b->model);
		/* Its sampling settings stay, but for what the command line overrides. */
		if (in->sampling && (rc = add_sampling(req, in->sampling)))
			goto out;
	} else {
		req = cJSON_CreateObject();
		if (!req)
			return -ENOMEM;
		cJSON_AddStringToObject(req, "model", b->model);
		cJSON_AddItemToObject(req, "messages", cJSON_Duplicate(in->messages, 1));
		if (in->tools && cJSON_GetArraySize(in->tools) > 0)
			cJSON_AddItemToObject(req, "tools", cJSON_Duplicate(in->tools, 1));
		if (in->max_tokens > 0)
			cJSON_AddNumberToObject(req, "max_tokens", in->max_tokens);
		if (in->sampling && (rc = add_sampling(req, in->sampling)))
			goto out;
	}
	cJSON_AddBoolToObject(req, "stream", stream);
	/* --cache cold: llama-server then recomputes the whole prompt every call. */
	if (b->cache_cold) {
		cJSON_DeleteItemFromObjectCaseSensitive(req, "cache_prompt");
		cJSON_AddBoolToObject(req, "cache_prompt", 0);
	}
	if (stream) {
		cJSON *so = cJSON_AddObjectToObject(req, "stream_options");
		if (so)
			cJSON_AddBoolToObject(so, "include_usage", 1);
	}
	rc = jv_print_to(req, out);
out:
	cJSON_Delete(req);
	return rc;
}

static int openai_headers(const struct backend *b, const char *key, struct curl_slist **h)
{
	(void)b;
	struct curl_slist *l = curl_slist_append(*h, "Content-Type: application/json");
	if (!l)
		return -ENOMEM;
	*h = l;
	if (key) {
		struct sbuf a = { 0 };
		if (sbuf_addf(&a, "Authorization: Bearer %s", key))
			return -ENOMEM;
		l = curl_slist_append(*h, a.s);
		/* Wipe our copy: curl keeps its own, and nothing else should. */
		memset(a.s, 0, a.len);
		sbuf_free(&a);
		if (!l)
			return -ENOMEM;
		*h = l;
	}
	return 0;
}


static void take_usage(struct call_result *r, const cJSON *root)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (cJSON_IsObject(u)) {
		r->usage_reported = true;
		r->prompt_tokens = call_usage_num(r, u, "prompt_tokens");
		r->completion_tokens = call_usage_num(r, u, "completion_tokens");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
		r->cached_tokens = cJSON_IsObject(d) ? call_usage_num(r, d, "cached_tokens") : 0;
		call_usage_settle(r);
	}
	/* llama-server adds its own timings: kept to set beside ours. */
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "timings");
	if (cJSON_IsObject(t)) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "prompt_per_second");
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(t, "predicted_per_second");
		if (cJSON_IsNumber(p))
			r->srv_prompt_tps = p->valuedouble;
		if (cJSON_IsNumber(g))
			r->srv_gen_tps = g->valuedouble;
	}
}

static void take_finish(struct call_result *r, const cJSON *choice)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
	if (cJSON_IsString(f))
		snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", f->valuestring);
}

static int take_tool_calls(struct call_result *r, const cJSON *tcs, bool delta)
{
	const cJSON *tc;
	size_t i = 0;
	cJSON_ArrayForEach(tc, tcs)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(tc, "index");
		/* Out-of-range indexes become 256, which call_result_tool_delta refuses. */
		size_t slot = delta && cJSON_IsNumber(idx) && idx->valuedouble >= 0
				      ? (idx->valuedouble < 256 ? (size_t)idx->valuedouble : 256)
				      : (delta ? 0 : i);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
		char *argtxt = NULL;
		/* Some servers send arguments as an object instead of a JSON string. */
		if (cJSON_IsObject(args))
			argtxt = cJSON_PrintUnformatted(args);
		int rc = call_result_tool_delta(r, slot, cJSON_IsString(id) ? id->valuestring : NULL,
						cJSON_IsString(name) ? name->valuestring : NULL,
						argtxt ? argtxt
						       : (cJSON_IsString(args) ? args->valuestring : NULL));
		free(argtxt);
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

static int openai_parse_body(const char *body, size_t len, struct call_result *r)
{
	int rc = 0;
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!root) {
		snprintf(r->error, sizeof(r->error), "response is not JSON");
		return -EPROTO;
	}
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
	if (!cJSON_IsObject(msg)) {
		snprintf(r->error, sizeof(r->error), "response has no choices[0].message");
		rc = -EPROTO;
		goto out;
	}
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (cJSON_IsString(content) && (rc = sbuf_adds(&r->text, content->valuestring)))
		goto out;
	const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
	if (cJSON_IsArray(tcs) && (rc = take_tool_calls(r, tcs, false)))
		goto out;
	take_finish(r, c0);
	take_usage(r, root);
out:
	cJSON_Delete(root);
	return rc;
}

static int openai_sse_event(struct call_result *r, struct sse_state *st, const char *event,
			    const char *data, uint64_t now)
{
	(void)event;
	int rc = 0;
	if (!strcmp(data, "[DONE]")) {
		st->done = true;
		return 0;
	}
	cJSON *root = cJSON_Parse(data);
	if (!root) {
		snprintf(r->error, sizeof(r->error), "stream event is not JSON");
		return -EPROTO;
	}
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (err) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
		snprintf(r->error, sizeof(r->error), "server error in stream: %.200s",
			 cJSON_IsString(m) ? m->valuestring : "(no message)");
		rc = -EPROTO;
		goto out;
	}
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
	bool content = false;
	if (cJSON_IsObject(delta)) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(delta, "content");
		if (cJSON_IsString(t) && t->valuestring[0]) {
			if ((rc = sbuf_adds(&r->text, t->valuestring)))
				goto out;
			content = true;
		}
		const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
		if (cJSON_IsArray(tcs) && cJSON_GetArraySize(tcs) > 0) {
			if ((rc = take_tool_calls(r, tcs, true)))
				goto out;
			content = true;
		}
	}
	if (c0)
		take_finish(r, c0);
	if (cJSON_GetObjectItemCaseSensitive(root, "usage"))
		take_usage(r, root);
	if (content) {
		if (!r->n_chunks)
			r->t_first = now;
		else
			r->gap_sum_s += (double)(now - r->t_last) / 1e9;
		r->t_last = now;
		r->n_chunks++;
	}
out:
	cJSON_Delete(root);
	return rc;
}

const struct backend_ops openai_backend_ops = {
	.name = "openai",
	.desc = "OpenAI-compatible chat completions (llama-server, Ollama /v1, vLLM, OpenAI)",
	.default_url = "http://127.0.0.1:8080/v1",
	.default_key_env = NULL,
	.path = "/chat/completions",
	.build_body = openai_build_body,
	.headers = openai_headers,
	.parse_body = openai_parse_body,
	.sse_event = openai_sse_event,
};
