/*
 * Anthropic Messages API. Conversations are kept in OpenAI chat shape inside
 * agentperf and converted here, so workloads and the runner stay
 * protocol-neutral.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "jsonv.h"

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Anthropic wants tool results as user turns; consecutive ones share one turn. */
static cJSON *last_user_blocks(cJSON *msgs)
{
	cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
	const char *role = str(last, "role");
	cJSON *content = cJSON_GetObjectItemCaseSensitive(last, "content");
	if (role && !strcmp(role, "user") && cJSON_IsArray(content)) {
		cJSON *first = cJSON_GetArrayItem(content, 0);
		const char *t = str(first, "type");
		if (t && !strcmp(t, "tool_result"))
			return content;
	}
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON *arr = cJSON_AddArrayToObject(m, "content");
	cJSON_AddItemToArray(msgs, m);
	return arr;
}

static int convert_messages(const cJSON *in, cJSON *req)
{
	struct sbuf sys = { 0 };
	cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
	const cJSON *m;
	int rc = 0;
	cJSON_ArrayForEach(m, in)
	{
		const char *role = str(m, "role");
		const char *content = str(m, "content");
		if (!role)
			continue;
		if (!strcmp(role, "system")) {
			if (content && ((sys.len && (rc = sbuf_adds(&sys, "\n\n"))) ||
					(rc = sbuf_adds(&sys, content))))
				goto out;
		} else if (!strcmp(role, "tool")) {
			cJSON *blocks = last_user_blocks(msgs);
			cJSON *b = cJSON_CreateObject();
			cJSON_AddStringToObject(b, "type", "tool_result");
			cJSON_AddStringToObject(b, "tool_use_id", str(m, "tool_call_id") ? str(m, "tool_call_id") : "");
			cJSON_AddStringToObject(b, "content", content ? content : "");
			cJSON_AddItemToArray(blocks, b);
		} else if (!strcmp(role, "assistant")) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "role", "assistant");
			cJSON *blocks = cJSON_AddArrayToObject(o, "content");
			if (content && *content) {
				cJSON *t = cJSON_CreateObject();
				cJSON_AddStringToObject(t, "type", "text");
				cJSON_AddStringToObject(t, "text", content);
				cJSON_AddItemToArray(blocks, t);
			}
			const cJSON *tc;
			cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
			{
				const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
				const char *args = str(fn, "arguments");
				cJSON *input = args ? cJSON_Parse(args) : NULL;
				if (!cJSON_IsObject(input)) {
					cJSON_Delete(input);
					input = cJSON_CreateObject();
				}
				cJSON *u = cJSON_CreateObject();
				cJSON_AddStringToObject(u, "type", "tool_use");
				cJSON_AddStringToObject(u, "id", str(tc, "id") ? str(tc, "id") : "");
				cJSON_AddStringToObject(u, "name", str(fn, "name") ? str(fn, "name") : "");
				cJSON_AddItemToObject(u, "input", input);
				cJSON_AddItemToArray(blocks, u);
			}
			cJSON_AddItemToArray(msgs, o);
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "role", "user");
			cJSON_AddStringToObject(o, "content", content ? content : "");
			cJSON_AddItemToArray(msgs, o);
		}
	}
	if (sys.len)
		cJSON_AddStringToObject(req, "system", sys.s);
out:
	sbuf_free(&sys);
	return rc;
}

static int anthropic_build_body(const struct backend *b, const struct call_input *in, bool stream,
				struct sbuf *out)
{
	int rc = 0;
	cJSON *req = cJSON_CreateObject();
	if (!req)
		return -ENOMEM;
	cJSON_AddStringToObject(req, "model", b->model);
	/* The Messages API requires max_tokens; 1024 when the workload sets none. */
	cJSON_AddNumberToObject(req, "max_tokens", in->max_tokens > 0 ? in->max_tokens : 1024);
	const cJSON *msgs = in->raw ? cJSON_GetObjectItemCaseSensitive(in->raw, "messages") : in->messages;
	if ((rc = convert_messages(msgs, req)))
		goto out;
	const cJSON *tools = in->raw ? cJSON_GetObjectItemCaseSensitive(in->raw, "tools") : in->tools;
	if (cJSON_GetArraySize(tools) > 0) {
		cJSON *arr = cJSON_AddArrayToObject(req, "tools");
		const cJSON *t;
		cJSON_ArrayForEach(t, tools)
		{
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
			if (!fn)
				fn = t;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", str(fn, "name") ? str(fn, "name") : "");
			if (str(fn, "description"))
				cJSON_AddStringToObject(o, "description", str(fn, "description"));
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
			cJSON_AddItemToObject(o, "input_schema",
					      p ? cJSON_Duplicate(p, 1) : cJSON_Parse("{\"type\":\"object\"}"));
			cJSON_AddItemToArray(arr, o);
		}
	}
	const cJSON *s;
	cJSON_ArrayForEach(s, in->sampling)
	{
		/* Only what the Messages API accepts; seed has no equivalent there. */
		if (!strcmp(s->string, "temperature") || !strcmp(s->string, "top_p") ||
		    !strcmp(s->string, "top_k"))
			cJSON_AddItemToObject(req, s->string, cJSON_Duplicate(s, 1));
		else if (!strcmp(s->string, "stop"))
			cJSON_AddItemToObject(req, "stop_sequences", cJSON_Duplicate(s, 1));
	}
	if (stream)
		cJSON_AddBoolToObject(req, "stream", 1);
	rc = jv_print_to(req, out);
out:
	cJSON_Delete(req);
	return rc;
}

static int anthropic_headers(const struct backend *b, const char *key, struct curl_slist **h)
{
	struct sbuf a = { 0 };
	int rc = -ENOMEM;
	struct curl_slist *l = curl_slist_append(*h, "Content-Type: application/json");
	if (!l)
		return -ENOMEM;
	*h = l;
	if (sbuf_addf(&a, "anthropic-version: %s", b->anthropic_version) ||
	    !(l = curl_slist_append(*h, a.s)))
		goto out;
	*h = l;
	if (key) {
		sbuf_reset(&a);
		if (sbuf_addf(&a, "x-api-key: %s", key))
			goto out;
		l = curl_slist_append(*h, a.s);
		memset(a.s, 0, a.len);
		if (!l)
			goto out;
		*h = l;
	}
	rc = 0;
out:
	sbuf_free(&a);
	return rc;
}

static long num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	/* A token count out of range (1e39, -5) is garbage, and casting it to long
	 * would be undefined: count it as not reported. */
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e15
		       ? (long)v->valuedouble
		       : 0;
}

/* prompt_tokens counts every input token, cached or not, as OpenAI's does. */
static void take_usage(struct call_result *r, const cJSON *u, bool input_side)
{
	if (!cJSON_IsObject(u))
		return;
	r->usage_reported = true;
	if (input_side || cJSON_GetObjectItemCaseSensitive(u, "input_tokens")) {
		long cached = call_usage_num(r, u, "cache_read_input_tokens");
		r->prompt_tokens = call_usage_num(r, u, "input_tokens") + cached + call_usage_num(r, u, "cache_creation_input_tokens");
		r->cached_tokens = cached;
	}
	if (cJSON_GetObjectItemCaseSensitive(u, "output_tokens"))
		r->completion_tokens = call_usage_num(r, u, "output_tokens");
	call_usage_settle(r);
}

static int anthropic_parse_body(const char *body, size_t len, struct call_result *r)
{
	int rc = 0;
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!root) {
		snprintf(r->error, sizeof(r->error), "response is not JSON");
		return -EPROTO;
	}
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
	if (!cJSON_IsArray(content)) {
		snprintf(r->error, sizeof(r->error), "response has no content array");
		rc = -EPROTO;
		goto out;
	}
	const cJSON *blk;
	size_t slot = 0;
	cJSON_ArrayForEach(blk, content)
	{
		const char *type = str(blk, "type");
		if (!type)
			continue;
		if (!strcmp(type, "text") && str(blk, "text")) {
			if ((rc = sbuf_adds(&r->text, str(blk, "text"))))
				goto out;
		} else if (!strcmp(type, "tool_use")) {
			char *args = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(blk, "input"));
			rc = call_result_tool_delta(r, slot++, str(blk, "id"), str(blk, "name"),
						    args ? args : "{}");
			free(args);
			if (rc)
				goto out;
		}
	}
	if (str(root, "stop_reason"))
		snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", str(root, "stop_reason"));
	take_usage(r, cJSON_GetObjectItemCaseSensitive(root, "usage"), true);
out:
	cJSON_Delete(root);
	return rc;
}

static int anthropic_sse_event(struct call_result *r, struct sse_state *st, const char *event,
			       const char *data, uint64_t now)
{
	int rc = 0;
	cJSON *root = cJSON_Parse(data);
	if (!root) {
		snprintf(r->error, sizeof(r->error), "stream event '%.40s' is not JSON", event);
		return -EPROTO;
	}
	const char *type = str(root, "type");
	if (!type)
		type = event;
	if (!strcmp(type, "message_start")) {
		take_usage(r, cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(root, "message"), "usage"),
			   true);
	} else if (!strcmp(type, "content_block_start")) {
		long idx = num(root, "index");
		const cJSON *cb = cJSON_GetObjectItemCaseSensitive(root, "content_block");
		const char *ct = str(cb, "type");
		if (idx < 0 || idx >= 64) {
			rc = -EPROTO;
			snprintf(r->error, sizeof(r->error), "content block index %ld out of range", idx);
			goto out;
		}
		st->block_is_tool[idx] = ct && !strcmp(ct, "tool_use");
		if (st->block_is_tool[idx]) {
			st->block_tool_slot[idx] = r->n_calls;
			if ((rc = call_result_tool_delta(r, r->n_calls, str(cb, "id"), str(cb, "name"), NULL)))
				goto out;
			call_result_chunk(r, now);
		}
	} else if (!strcmp(type, "content_block_delta")) {
		long idx = num(root, "index");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
		const char *dt = str(d, "type");
		if (idx < 0 || idx >= 64 || !dt) {
			rc = -EPROTO;
			snprintf(r->error, sizeof(r->error), "malformed content_block_delta");
			goto out;
		}
		if (!strcmp(dt, "text_delta") && str(d, "text")) {
			if ((rc = sbuf_adds(&r->text, str(d, "text"))))
				goto out;
			call_result_chunk(r, now);
		} else if (!strcmp(dt, "input_json_delta") && st->block_is_tool[idx]) {
			if ((rc = call_result_tool_delta(r, st->block_tool_slot[idx], NULL, NULL,
							 str(d, "partial_json"))))
				goto out;
			call_result_chunk(r, now);
		}
	} else if (!strcmp(type, "message_delta")) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
		if (str(d, "stop_reason"))
			snprintf(r->finish_reason, sizeof(r->finish_reason), "%s", str(d, "stop_reason"));
		take_usage(r, cJSON_GetObjectItemCaseSensitive(root, "usage"), false);
	} else if (!strcmp(type, "message_stop")) {
		st->done = true;
	} else if (!strcmp(type, "error")) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
		snprintf(r->error, sizeof(r->error), "server error in stream: %.200s",
			 str(e, "message") ? str(e, "message") : "(no message)");
		rc = -EPROTO;
	}
out:
	cJSON_Delete(root);
	return rc;
}

const struct backend_ops anthropic_backend_ops = {
	.name = "anthropic",
	.desc = "Anthropic Messages API (tool use, streaming and not)",
	.default_url = "https://api.anthropic.com",
	.default_key_env = "ANTHROPIC_API_KEY",
	.path = "/v1/messages",
	.build_body = anthropic_build_body,
	.headers = anthropic_headers,
	.parse_body = anthropic_parse_body,
	.sse_event = anthropic_sse_event,
};
