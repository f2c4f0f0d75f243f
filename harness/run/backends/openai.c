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
		/* References, not copies: the request only lives to be printed, and the
		 * conversation and tools outlive it (a copy per call was a cost per turn). */
		cJSON_AddItemReferenceToObject(req, "messages", (cJSON *)in->messages);
		if (in->tools && cJSON_GetArraySize(in->tools) > 0)
			cJSON_AddItemReferenceToObject(req, "tools", (cJSON *)in->tools);
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
		/* Older llama-server builds count cached prompt tokens only here. */
		const cJSON *cn = cJSON_GetObjectItemCaseSensitive(t, "cache_n");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(root, "usage"), "prompt_tokens_details");
		if (r->usage_reported && !d && cJSON_IsNumber(cn) && cn->valuedouble >= 0 &&
		    cn->valuedouble <= (double)r->prompt_tokens)
			r->cached_tokens = (long)cn->valuedouble;
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

/*
 * The fast path for the common stream chunk, a content delta: a scanner that
 * accepts only strict JSON of the chunk's usual shape (choices[0].delta.content,
 * finish_reason, usage null, anything else skipped) and says "not mine" for
 * everything else (tool calls, usage, timings, errors, \u escapes, a repeated
 * key, any doubt), which then goes to cJSON. It builds no tree: one pass and
 * no allocation but the text it appends. tests/fuzz/fuzz_sse_delta.c checks
 * it against the cJSON path on the same events.
 */
struct jscan {
	const char *p, *end;
};

static void js_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool js_eat(struct jscan *s, char c)
{
	js_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* A string at s->p (after ws); out (may be NULL) gets it decoded; no \u escapes. */
static bool js_string(struct jscan *s, struct sbuf *out, const char **raw, size_t *rawlen)
{
	js_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return false;
	const char *a = ++s->p;
	for (;;) {
		const char *q = a;
		while (q < s->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			q++;
		if (q >= s->end || (unsigned char)*q < 0x20)
			return false;
		if (out && q > a && sbuf_add(out, a, (size_t)(q - a)))
			return false;
		if (*q == '"') {
			if (raw) {
				*raw = s->p;
				*rawlen = (size_t)(q - s->p);
			}
			s->p = q + 1;
			return true;
		}
		if (raw)
			return false; /* keys with escapes: not the usual shape */
		if (q + 1 >= s->end)
			return false;
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e = memchr(from, q[1], sizeof(from) - 1);
		if (!e)
			return false; /* \u and anything else */
		if (out && sbuf_add(out, &to[e - from], 1))
			return false;
		a = q + 2;
	}
}

static bool js_lit(struct jscan *s, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return false;
	s->p += n;
	return true;
}

static bool js_number(struct jscan *s)
{
	const char *p = s->p;
	if (p < s->end && *p == '-')
		p++;
	if (p >= s->end || *p < '0' || *p > '9')
		return false;
	if (*p == '0')
		p++;
	else
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	if (p < s->end && *p == '.') {
		if (++p >= s->end || *p < '0' || *p > '9')
			return false;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->end || *p < '0' || *p > '9')
			return false;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = p;
	return true;
}

static bool js_skip(struct jscan *s, int depth)
{
	js_ws(s);
	if (s->p >= s->end || depth > 32)
		return false;
	char c = *s->p;
	if (c == '"')
		return js_string(s, NULL, NULL, NULL);
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		s->p++;
		if (js_eat(s, close))
			return true;
		do {
			if (c == '{' && (!js_string(s, NULL, NULL, NULL) || !js_eat(s, ':')))
				return false;
			if (!js_skip(s, depth + 1))
				return false;
		} while (js_eat(s, ','));
		return js_eat(s, close);
	}
	if (c == 't')
		return js_lit(s, "true");
	if (c == 'f')
		return js_lit(s, "false");
	if (c == 'n')
		return js_lit(s, "null");
	return js_number(s);
}

static bool key_is(const char *k, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(k, w, n);
}

/* choices[0]: its delta's content into text, its finish_reason into fin. */
static bool js_choice(struct jscan *s, struct sbuf *text, char *fin, size_t finlen, bool *has_fin)
{
	bool seen_delta = false, seen_fin = false;
	if (!js_eat(s, '{'))
		return false;
	if (js_eat(s, '}'))
		return true;
	do {
		const char *k;
		size_t kn;
		if (!js_string(s, NULL, &k, &kn) || !js_eat(s, ':'))
			return false;
		js_ws(s);
		if (key_is(k, kn, "delta")) {
			bool seen_content = false;
			if (seen_delta || !js_eat(s, '{'))
				return false;
			seen_delta = true;
			if (js_eat(s, '}'))
				continue;
			do {
				const char *dk;
				size_t dkn;
				if (!js_string(s, NULL, &dk, &dkn) || !js_eat(s, ':'))
					return false;
				js_ws(s);
				if (key_is(dk, dkn, "content")) {
					if (seen_content)
						return false;
					seen_content = true;
					if (!(s->p < s->end && *s->p == 'n' ? js_lit(s, "null")
									   : js_string(s, text, NULL, NULL)))
						return false;
				} else if (key_is(dk, dkn, "tool_calls")) {
					return false;
				} else if (!js_skip(s, 2)) {
					return false;
				}
			} while (js_eat(s, ','));
			if (!js_eat(s, '}'))
				return false;
		} else if (key_is(k, kn, "finish_reason")) {
			if (seen_fin)
				return false;
			seen_fin = true;
			if (s->p < s->end && *s->p == 'n') {
				if (!js_lit(s, "null"))
					return false;
			} else {
				const char *f;
				size_t fn;
				if (!js_string(s, NULL, &f, &fn))
					return false;
				snprintf(fin, finlen, "%.*s", (int)fn, f);
				*has_fin = true;
			}
		} else if (!js_skip(s, 1)) {
			return false;
		}
	} while (js_eat(s, ','));
	return js_eat(s, '}');
}

/* 1: handled (r updated as the cJSON path would), 0: not the usual shape. */
int openai_sse_fast(struct call_result *r, const char *data, size_t len, uint64_t now)
{
	struct jscan s = { data, data + len };
	/* Decoded straight onto the text; cut back to len0 when the chunk is not ours. */
	struct sbuf *text = &r->text;
	size_t len0 = r->text.len;
	char fin[sizeof(r->finish_reason)];
	bool has_fin = false, seen_choices = false, seen_usage = false, ok = false;
	if (!js_eat(&s, '{'))
		return 0;
	if (js_eat(&s, '}'))
		goto end;
	do {
		const char *k;
		size_t kn;
		if (!js_string(&s, NULL, &k, &kn) || !js_eat(&s, ':'))
			goto out;
		js_ws(&s);
		if (key_is(k, kn, "choices")) {
			if (seen_choices || !js_eat(&s, '['))
				goto out;
			seen_choices = true;
			if (js_eat(&s, ']'))
				continue;
			if (!js_choice(&s, text, fin, sizeof(fin), &has_fin))
				goto out;
			while (js_eat(&s, ','))
				if (!js_skip(&s, 1))
					goto out;
			if (!js_eat(&s, ']'))
				goto out;
		} else if (key_is(k, kn, "usage")) {
			if (seen_usage || !js_lit(&s, "null"))
				goto out;
			seen_usage = true;
		} else if (key_is(k, kn, "error") || key_is(k, kn, "timings")) {
			goto out;
		} else if (!js_skip(&s, 0)) {
			goto out;
		}
	} while (js_eat(&s, ','));
	if (!js_eat(&s, '}'))
		goto out;
end:
	js_ws(&s);
	if (s.p != s.end)
		goto out;
	ok = true;
	if (has_fin)
		memcpy(r->finish_reason, fin, sizeof(fin));
	if (r->text.len > len0)
		call_result_chunk(r, now);
out:
	if (!ok && r->text.s) {
		r->text.len = len0;
		r->text.s[len0] = '\0';
	}
	return ok ? 1 : 0;
}

static int openai_sse_event(struct call_result *r, struct sse_state *st, const char *event,
			    const char *data, uint64_t now)
{
	if (!strcmp(data, "[DONE]")) {
		st->done = true;
		return 0;
	}
	if (openai_sse_fast(r, data, strlen(data), now))
		return 0;
	return openai_sse_event_slow(r, st, event, data, now);
}

int openai_sse_event_slow(struct call_result *r, struct sse_state *st, const char *event,
			  const char *data, uint64_t now)
{
	(void)event;
	(void)st;
	int rc = 0;
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
	if (content)
		call_result_chunk(r, now);
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
