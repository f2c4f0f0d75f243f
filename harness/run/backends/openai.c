/*
 * OpenAI-compatible chat completions: OpenAI itself, llama.cpp's llama-server,
 * Ollama's /v1 and vLLM all speak it.
 */
#include <errno.h>
#include <locale.h>
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

/*
 * The members of a request body in order, for openai_write_body: what the
 * cJSON object of openai_body_tree would hold, with its rules (a sampling key
 * or cache_prompt replaces the first member of its name and goes last;
 * "stream" and "stream_options" are appended, as cJSON_Add* does).
 */
struct bmember {
	const char *key;
	enum { BM_STR, BM_JSON, BM_INT, BM_LIT } kind; /* BM_LIT: s is JSON text */
	const char *s;
	const cJSON *j;
	long long n;
	bool dead;
};

struct bmembers {
	struct bmember *m;
	size_t n; /* the caller sized m for every member it adds */
};

static void bm_add(struct bmembers *l, struct bmember m)
{
	l->m[l->n++] = m;
}

static void bm_replace(struct bmembers *l, struct bmember m)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->m[i].dead && !strcmp(l->m[i].key, m.key)) {
			l->m[i].dead = true;
			break;
		}
	bm_add(l, m);
}

static int bm_write(const struct bmembers *l, struct sbuf *out)
{
	int rc = sbuf_add(out, "{", 1);
	bool first = true;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const struct bmember *m = &l->m[i];
		if (m->dead)
			continue;
		if ((rc = jv_write_key(out, first, m->key)))
			break;
		first = false;
		switch (m->kind) {
		case BM_STR:
			rc = jv_write_str(out, m->s);
			break;
		case BM_JSON:
			rc = jv_write(out, m->j);
			break;
		case BM_INT:
			rc = jv_write_int(out, m->n);
			break;
		case BM_LIT:
			rc = sbuf_adds(out, m->s);
			break;
		}
	}
	return rc ? rc : sbuf_add(out, "}", 1);
}

/*
 * A task's request written directly, without building a cJSON object to
 * print: the same bytes as cJSON would print for it (tests/test_protocol.c
 * compares the two with sampling, tools, cache and stream in every mix), at
 * about half the instructions.
 */
static int openai_write_body(const struct backend *b, const struct call_input *in, bool stream,
			     struct sbuf *out)
{
	struct bmember stack[16];
	struct bmembers l = { stack, 0 };
	size_t need = 8 + (size_t)(in->sampling ? cJSON_GetArraySize(in->sampling) : 0);
	if (need > sizeof(stack) / sizeof(stack[0]) && !(l.m = malloc(need * sizeof(*l.m))))
		return -ENOMEM;
	/* A NULL string or array is left out, as cJSON_Add* leaves it out. */
	if (b->model)
		bm_add(&l, (struct bmember){ .key = "model", .kind = BM_STR, .s = b->model });
	if (in->messages)
		bm_add(&l, (struct bmember){ .key = "messages", .kind = BM_JSON, .j = in->messages });
	if (in->tools && cJSON_GetArraySize(in->tools) > 0)
		bm_add(&l, (struct bmember){ .key = "tools", .kind = BM_JSON, .j = in->tools });
	if (in->max_tokens > 0)
		bm_add(&l, (struct bmember){ .key = "max_tokens", .kind = BM_INT, .n = in->max_tokens });
	const cJSON *it;
	cJSON_ArrayForEach(it, in->sampling)
	{
		if (it->string)
			bm_replace(&l, (struct bmember){ .key = it->string, .kind = BM_JSON, .j = it });
	}
	bm_add(&l, (struct bmember){ .key = "stream", .kind = BM_LIT, .s = stream ? "true" : "false" });
	if (b->cache_cold)
		bm_replace(&l, (struct bmember){ .key = "cache_prompt", .kind = BM_LIT, .s = "false" });
	if (stream)
		bm_add(&l, (struct bmember){ .key = "stream_options", .kind = BM_LIT,
					     .s = "{\"include_usage\":true}" });
	sbuf_reset(out);
	int rc = bm_write(&l, out);
	if (l.m != stack)
		free(l.m);
	return rc;
}

cJSON *openai_body_tree(const struct backend *b, const struct call_input *in, bool stream)
{
	cJSON *req;
	if (in->raw) {
		/* A logged request is replayed as-is: only the model and the streaming
		 * switches are ours, so the same body can hit another server. */
		req = cJSON_Duplicate(in->raw, 1);
		if (!req)
			return NULL;
		cJSON_DeleteItemFromObjectCaseSensitive(req, "model");
		cJSON_DeleteItemFromObjectCaseSensitive(req, "stream");
		cJSON_DeleteItemFromObjectCaseSensitive(req, "stream_options");
		cJSON_AddStringToObject(req, "model", b->model);
		/* Its sampling settings stay, but for what the command line overrides. */
		if (in->sampling && add_sampling(req, in->sampling))
			goto fail;
	} else {
		req = cJSON_CreateObject();
		if (!req)
			return NULL;
		cJSON_AddStringToObject(req, "model", b->model);
		/* References, not copies: the request only lives to be printed, and the
		 * conversation and tools outlive it (a copy per call was a cost per turn). */
		cJSON_AddItemReferenceToObject(req, "messages", (cJSON *)in->messages);
		if (in->tools && cJSON_GetArraySize(in->tools) > 0)
			cJSON_AddItemReferenceToObject(req, "tools", (cJSON *)in->tools);
		if (in->max_tokens > 0)
			cJSON_AddNumberToObject(req, "max_tokens", in->max_tokens);
		if (in->sampling && add_sampling(req, in->sampling))
			goto fail;
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
	return req;
fail:
	cJSON_Delete(req);
	return NULL;
}

static int openai_build_body(const struct backend *b, const struct call_input *in, bool stream,
			     struct sbuf *out)
{
	if (!in->raw)
		return openai_write_body(b, in, stream, out);
	cJSON *req = openai_body_tree(b, in, stream);
	if (!req)
		return -ENOMEM;
	int rc = jv_print_to(req, out);
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

int openai_parse_body_slow(const char *body, size_t len, struct call_result *r)
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
 * The fast paths for the common shapes: a non-streamed chat.completion body
 * (openai_body_fast) and a stream chunk (openai_sse_fast: a content delta,
 * finish_reason, the usage and timings chunk). One scanner that accepts only
 * strict JSON of the usual shape, skips what neither path reads, and says
 * "not mine" for everything else (tool calls, errors, a repeated key, a token
 * count that is not a plain integer, an escape it does not decode the way
 * cJSON does, nesting past 32, any doubt), which then goes to cJSON. It builds
 * no tree: one pass and no allocation but the text it appends.
 * tests/fuzz/fuzz_sse_delta.c and tests/fuzz/fuzz_body_fast.c check it
 * against the cJSON path on the same input.
 */
struct jscan {
	const char *p, *end;
};

static void js_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static inline __attribute__((always_inline)) bool js_eat(struct jscan *s, char c)
{
	js_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static int hex4(const char *h)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = h[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * A \u escape at q (q[0] is the backslash), as cJSON decodes it: a surrogate
 * pair becomes one code point, UTF-8 encoded into u8 (*n bytes). Declined
 * where cJSON does something of its own: \u0000 (cJSON keeps the NUL, which
 * then cuts the text), a hex digit that is not one (cJSON reads it as 0), a
 * lone surrogate (cJSON fails). Returns the escape's length, 0 when declined.
 */
static size_t js_uescape(const char *q, const char *end, char u8[4], size_t *n)
{
	if (end - q < 6)
		return 0;
	int c = hex4(q + 2);
	size_t len = 6;
	if (c <= 0 || (c >= 0xDC00 && c <= 0xDFFF))
		return 0;
	if (c >= 0xD800 && c <= 0xDBFF) {
		if (end - q < 12 || q[6] != '\\' || q[7] != 'u')
			return 0;
		int lo = hex4(q + 8);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return 0;
		c = 0x10000 + ((c & 0x3FF) << 10 | (lo & 0x3FF));
		len = 12;
	}
	if (c < 0x80) {
		u8[0] = (char)c;
		*n = 1;
	} else if (c < 0x800) {
		u8[0] = (char)(0xC0 | c >> 6);
		u8[1] = (char)(0x80 | (c & 0x3F));
		*n = 2;
	} else if (c < 0x10000) {
		u8[0] = (char)(0xE0 | c >> 12);
		u8[1] = (char)(0x80 | (c >> 6 & 0x3F));
		u8[2] = (char)(0x80 | (c & 0x3F));
		*n = 3;
	} else {
		u8[0] = (char)(0xF0 | c >> 18);
		u8[1] = (char)(0x80 | (c >> 12 & 0x3F));
		u8[2] = (char)(0x80 | (c >> 6 & 0x3F));
		u8[3] = (char)(0x80 | (c & 0x3F));
		*n = 4;
	}
	return len;
}

/*
 * A string at s->p (after ws); out (may be NULL) gets it decoded. raw (keys,
 * finish_reason): the bytes between the quotes, declined if it has an escape.
 * Raw control bytes (cJSON would take them) are declined too.
 */
static bool js_string(struct jscan *s, struct sbuf *out, const char **raw, size_t *rawlen)
{
	js_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return false;
	const char *a = ++s->p;
	for (;;) {
		const char *q = jv_plain(a, s->end);
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
		if (q[1] == 'u') {
			char u8[4];
			size_t n, el = js_uescape(q, s->end, u8, &n);
			if (!el || (out && sbuf_add(out, u8, n)))
				return false;
			a = q + el;
			continue;
		}
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e = memchr(from, q[1], sizeof(from) - 1);
		if (!e)
			return false; /* anything else: cJSON fails, and so will the slow path */
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

/* Some cJSON builds copy a number into 64 bytes for strtod and fail on a
 * longer one (Debian 12's 1.7.15 does not): a longer one is left to cJSON. */
#define JS_NUMBER_MAX 63

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
	if (p - s->p > JS_NUMBER_MAX)
		return false;
	s->p = p;
	return true;
}

static bool js_skip(struct jscan *s, int depth)
{
	js_ws(s);
	if (s->p >= s->end || depth > 32)
		return false;
	char c = *s->p;
	if (c == '"') {
		/* No escape in it, the usual case: its end is the first '"'. */
		const char *q = jv_plain(s->p + 1, s->end);
		if (q < s->end && *q == '"') {
			s->p = q + 1;
			return true;
		}
		return js_string(s, NULL, NULL, NULL);
	}
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

/*
 * A key and its colon; the value's first byte is then at s->p. What
 * js_string(s, NULL, k, kn) would take, without its decoding paths: a key
 * with an escape or a control byte is declined there too.
 */
static bool js_key(struct jscan *s, const char **k, size_t *kn)
{
	js_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return false;
	const char *a = s->p + 1, *q = jv_plain(a, s->end);
	if (q >= s->end || *q != '"')
		return false;
	*k = a;
	*kn = (size_t)(q - a);
	if (q + 1 < s->end && q[1] == ':') {
		s->p = q + 2; /* compact JSON: the colon right after the key */
	} else {
		s->p = q + 1;
		if (!js_eat(s, ':'))
			return false;
	}
	js_ws(s);
	return true;
}

static bool js_at(const struct jscan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

/* finish_reason: null, or a string without escapes (snprintf'd as take_finish does). */
static bool js_finish(struct jscan *s, bool *seen, char *fin, size_t finlen, bool *has_fin)
{
	if (*seen)
		return false;
	*seen = true;
	if (js_at(s, 'n'))
		return js_lit(s, "null");
	const char *f;
	size_t fn;
	if (!js_string(s, NULL, &f, &fn))
		return false;
	/* snprintf's cut, without snprintf (a raw string holds no NUL) */
	fn = fn < finlen - 1 ? fn : finlen - 1;
	memcpy(fin, f, fn);
	fin[fn] = '\0';
	*has_fin = true;
	return true;
}

/*
 * A content field: null, or a string decoded onto text. make: as a body's
 * sbuf_adds does, "" still makes the buffer (and its NUL); a chunk's cJSON
 * path appends only non-empty text.
 */
static bool js_text(struct jscan *s, bool *seen, bool make, struct sbuf *text)
{
	if (*seen)
		return false;
	*seen = true;
	if (js_at(s, 'n'))
		return js_lit(s, "null");
	return js_at(s, '"') && !(make && sbuf_add(text, "", 0)) && js_string(s, text, NULL, NULL);
}

/*
 * A token count as call_usage_num takes it: a plain integer of at most 15
 * digits (below its 1e15 bound). Anything else (2.5, 1e3, -1, "8", null)
 * is declined: the cJSON path then marks the usage invalid or takes it.
 */
static bool js_count(struct jscan *s, bool *seen, long *out)
{
	if (*seen)
		return false;
	*seen = true;
	const char *p = s->p;
	long v = 0;
	while (p < s->end && *p >= '0' && *p <= '9' && p - s->p < 16)
		v = v * 10 + (*p++ - '0');
	size_t n = (size_t)(p - s->p);
	if (!n || n > 15 || (n > 1 && *s->p == '0') ||
	    (p < s->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))))
		return false;
	s->p = p;
	*out = v;
	return true;
}

/*
 * A number's value as cJSON computes it: strtod of its bytes, '.' as the
 * locale's point. Most have at most 15 digits and no exponent: then m / 10^k
 * (both exact in a double) is one correctly rounded division, the value
 * strtod returns too (Clinger's fast path), without strtod's cost.
 */
static bool js_double(struct jscan *s, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
					1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	const char *a = s->p;
	if (!js_number(s))
		return false;
	const char *p = a + (*a == '-');
	uint64_t m = 0;
	int digits = 0, frac = 0;
	bool point = false;
	for (; p < s->p && digits <= 15; p++) {
		if (*p == '.') {
			point = true;
		} else if (*p >= '0' && *p <= '9') {
			m = m * 10 + (uint64_t)(*p - '0');
			digits++;
			frac += point;
		} else {
			break; /* an exponent */
		}
	}
	if (p == s->p && digits <= 15) {
		double v = (double)m / pow10[frac];
		*out = *a == '-' ? -v : v;
		return true;
	}
	char buf[JS_NUMBER_MAX + 1];
	size_t n = (size_t)(s->p - a);
	memcpy(buf, a, n);
	buf[n] = '\0';
	char *dot = memchr(buf, '.', n);
	if (dot)
		*dot = localeconv()->decimal_point[0];
	*out = strtod(buf, NULL);
	return true;
}

/*
 * The members of the object at s->p: each key handed to member, which reads
 * or skips its value (false: declined).
 */
typedef bool js_member_fn(struct jscan *s, const char *k, size_t kn, void *ctx);

/* The members after a value of the object, and its closing brace. */
static bool js_object_rest(struct jscan *s, js_member_fn *member, void *ctx)
{
	while (js_eat(s, ',')) {
		const char *k;
		size_t kn;
		if (!js_key(s, &k, &kn) || !member(s, k, kn, ctx))
			return false;
	}
	return js_eat(s, '}');
}

static bool js_object(struct jscan *s, js_member_fn *member, void *ctx)
{
	if (!js_eat(s, '{'))
		return false;
	if (js_eat(s, '}'))
		return true;
	const char *k;
	size_t kn;
	if (!js_key(s, &k, &kn) || !member(s, k, kn, ctx))
		return false;
	return js_object_rest(s, member, ctx);
}

/*
 * A member of which only an object is read (by member): *key says it was
 * there (any value), *obj that it was an object. Repeated: declined (cJSON
 * takes the first).
 */
static bool js_object_of(struct jscan *s, int depth, bool *key, bool *obj, js_member_fn *member,
			 void *ctx)
{
	if (*key)
		return false;
	*key = true;
	if (!js_at(s, '{'))
		return js_skip(s, depth);
	*obj = true;
	return js_object(s, member, ctx);
}

/* The root's "usage" and "timings" as the scanner saw them, for take_usage's rules. */
struct jusage {
	bool usage_key, usage_obj;     /* "usage" present (any value); an object */
	bool details_key, details_obj; /* usage.prompt_tokens_details present; an object */
	bool timings_key, timings_obj;
	bool has_pt, has_ct, has_cached; /* a count was there (js_count declines the rest) */
	bool seen_p, seen_g, seen_cn;    /* a timing was there ... */
	bool has_p, has_g, has_cn;       /* ... and a number */
	long pt, ct, cached;
	double p, g, cn;
};

static bool details_member(struct jscan *s, const char *k, size_t kn, void *ctx)
{
	struct jusage *u = ctx;
	if (key_is(k, kn, "cached_tokens"))
		return js_count(s, &u->has_cached, &u->cached);
	return js_skip(s, 3);
}

static bool usage_member(struct jscan *s, const char *k, size_t kn, void *ctx)
{
	struct jusage *u = ctx;
	if (key_is(k, kn, "prompt_tokens"))
		return js_count(s, &u->has_pt, &u->pt);
	if (key_is(k, kn, "completion_tokens"))
		return js_count(s, &u->has_ct, &u->ct);
	if (key_is(k, kn, "prompt_tokens_details"))
		return js_object_of(s, 2, &u->details_key, &u->details_obj, details_member, u);
	return js_skip(s, 2);
}

/* A timings number: taken when it is one, ignored (as cJSON_IsNumber would) when not. */
static bool js_timing(struct jscan *s, bool *seen, bool *has, double *v)
{
	if (*seen)
		return false; /* repeated: cJSON takes the first */
	*seen = true;
	if (js_at(s, '-') || (s->p < s->end && *s->p >= '0' && *s->p <= '9'))
		return (*has = js_double(s, v));
	return js_skip(s, 2);
}

static bool timings_member(struct jscan *s, const char *k, size_t kn, void *ctx)
{
	struct jusage *u = ctx;
	if (key_is(k, kn, "prompt_per_second"))
		return js_timing(s, &u->seen_p, &u->has_p, &u->p);
	if (key_is(k, kn, "predicted_per_second"))
		return js_timing(s, &u->seen_g, &u->has_g, &u->g);
	if (key_is(k, kn, "cache_n"))
		return js_timing(s, &u->seen_cn, &u->has_cn, &u->cn);
	return js_skip(s, 2);
}

/* What take_usage does with the same root. */
static void jusage_apply(struct call_result *r, const struct jusage *u)
{
	if (u->usage_obj) {
		r->usage_reported = true;
		r->prompt_tokens = u->has_pt ? u->pt : 0;
		r->completion_tokens = u->has_ct ? u->ct : 0;
		r->cached_tokens = u->details_obj && u->has_cached ? u->cached : 0;
		call_usage_settle(r); /* a count made invalid by an earlier chunk still counts */
	}
	if (u->timings_obj) {
		if (u->has_p)
			r->srv_prompt_tps = u->p;
		if (u->has_g)
			r->srv_gen_tps = u->g;
		if (r->usage_reported && !u->details_key && u->has_cn && u->cn >= 0 &&
		    u->cn <= (double)r->prompt_tokens)
			r->cached_tokens = (long)u->cn;
	}
}

/* What a root object holds for the result, applied once the whole object is read. */
struct jroot {
	bool body;      /* a chat.completion, not a stream chunk */
	struct sbuf *text;
	char fin[sizeof(((struct call_result *)0)->finish_reason)];
	bool has_fin;   /* choices[0].finish_reason was a string */
	bool has_inner; /* choices[0] had its delta (stream) or message (body) object */
	bool seen_choices, seen_fin, seen_content, seen_tools;
	const char *content_q, *content_end; /* the content string: its opening quote, past its closing one */
	/* Just past the '[' of "choices" when every root member before it was
	 * one the scanner skips (no usage, timings or error): the chunk's bytes
	 * up to there are its root prefix (tpl_keep). */
	const char *choices_open;
	struct jusage u;
};

/*
 * choices[0]'s delta (stream chunk) or message (body): content onto the text.
 * As the cJSON paths differ: a body's content "" still makes the text buffer,
 * and its "tool_calls": null or [] are no calls; a chunk's tool_calls go to
 * cJSON whatever they are.
 */
static bool inner_member(struct jscan *s, const char *k, size_t kn, void *ctx)
{
	struct jroot *o = ctx;
	if (key_is(k, kn, "content")) {
		o->content_q = s->p;
		if (!js_text(s, &o->seen_content, o->body, o->text))
			return false;
		o->content_end = *o->content_q == '"' ? s->p : NULL;
		return true;
	}
	if (!key_is(k, kn, "tool_calls"))
		return js_skip(s, 3);
	if (!o->body || o->seen_tools)
		return false;
	o->seen_tools = true;
	return js_at(s, 'n') ? js_lit(s, "null") : js_eat(s, '[') && js_eat(s, ']');
}

/* choices[0]: its delta or message, its finish_reason. */
static bool choice_member(struct jscan *s, const char *k, size_t kn, void *ctx)
{
	struct jroot *o = ctx;
	if (key_is(k, kn, o->body ? "message" : "delta")) {
		if (o->has_inner || !js_at(s, '{'))
			return false;
		o->has_inner = true;
		return js_object(s, inner_member, o);
	}
	if (key_is(k, kn, "finish_reason"))
		return js_finish(s, &o->seen_fin, o->fin, sizeof(o->fin), &o->has_fin);
	return js_skip(s, 2);
}

/* choices' array after its '[': choices[0] read, the rest skipped. */
static bool choices_items(struct jscan *s, struct jroot *o)
{
	if (js_eat(s, ']'))
		return true;
	if (!js_object(s, choice_member, o))
		return false;
	while (js_eat(s, ','))
		if (!js_skip(s, 1))
			return false;
	return js_eat(s, ']');
}

static bool root_member(struct jscan *s, const char *k, size_t kn, void *ctx)
{
	struct jroot *o = ctx;
	if (key_is(k, kn, "choices")) {
		if (o->seen_choices || !js_eat(s, '['))
			return false;
		o->seen_choices = true;
		if (!o->u.usage_key && !o->u.timings_key)
			o->choices_open = s->p;
		return choices_items(s, o);
	}
	if (key_is(k, kn, "usage"))
		return js_object_of(s, 1, &o->u.usage_key, &o->u.usage_obj, usage_member, &o->u);
	if (key_is(k, kn, "timings"))
		return js_object_of(s, 1, &o->u.timings_key, &o->u.timings_obj, timings_member, &o->u);
	if (key_is(k, kn, "error"))
		return false;
	return js_skip(s, 1);
}

/* A stream chunk's or a chat.completion's root object, and nothing after it. */
static bool js_root(struct jscan *s, struct jroot *o)
{
	if (!js_object(s, root_member, o))
		return false;
	js_ws(s);
	return s->p == s->end;
}

/* A declined input: the text appended while reading it is cut back. */
static int js_decline(struct call_result *r, size_t len0)
{
	if (r->text.s) {
		r->text.len = len0;
		r->text.s[len0] = '\0';
	}
	return 0;
}

/*
 * A chunk with the template's bytes around its content string: everything
 * but that string was read before, with an effect on r of finish_reason
 * alone (no usage or timings object: see tpl_keep), so only the string is
 * read now. 1: done; 0: it does not fit (r untouched).
 */
static int tpl_fast(struct call_result *r, const char *data, size_t len, uint64_t now,
		    const struct sse_tpl *t)
{
	if (!t->plen || len < (size_t)t->plen + t->slen || memcmp(data, t->b, t->plen))
		return 0;
	size_t len0 = r->text.len;
	struct jscan s = { data + t->plen - 1, data + len }; /* at the opening quote */
	if (!js_string(&s, &r->text, NULL, NULL) || (size_t)(data + len - s.p) != t->slen ||
	    memcmp(s.p, t->b + t->plen, t->slen))
		return js_decline(r, len0);
	if (t->has_fin)
		memcpy(r->finish_reason, t->fin, strlen(t->fin) + 1);
	if (r->text.len > len0)
		call_result_chunk(r, now);
	return 1;
}

/* A chunk the scanner took whole becomes the template when its only effects
 * were its content string and finish_reason; its root prefix, where it has
 * one, replaces the last. */
static void tpl_keep(struct sse_tpl *t, const char *data, size_t len, const struct jroot *o)
{
	if (o->choices_open && (size_t)(o->choices_open - data) <= sizeof(t->rp)) {
		t->rplen = (unsigned short)(o->choices_open - data);
		memcpy(t->rp, data, t->rplen);
	}
	t->plen = t->slen = 0;
	if (!o->content_end || o->u.usage_obj || o->u.timings_obj)
		return;
	size_t p = (size_t)(o->content_q - data) + 1, sl = (size_t)(data + len - o->content_end);
	if (p + sl > sizeof(t->b))
		return;
	memcpy(t->b, data, p);
	memcpy(t->b + p, o->content_end, sl);
	t->has_fin = o->has_fin;
	memcpy(t->fin, o->fin, sizeof(t->fin));
	t->plen = (unsigned short)p;
	t->slen = (unsigned short)sl;
}

/*
 * A chunk that starts with the root prefix: a whole scan would read those
 * bytes as it read them before (skipped members, then "choices" opened, no
 * effect on r), so the scan starts where that left it, at choices[0].
 * 1: read; 0: no root prefix fits; -1: it fits but the rest is not the usual
 * shape, which a whole scan would find too (text cut back, r untouched).
 */
static int rp_scan(struct jroot *o, const char *data, size_t len, const struct sse_tpl *t,
		   size_t len0, struct call_result *r)
{
	if (!t->rplen || len <= t->rplen || memcmp(data, t->rp, t->rplen))
		return 0;
	struct jscan s = { data + t->rplen, data + len };
	o->seen_choices = true; /* choices_open stays NULL: tpl_keep keeps the same prefix */
	if (choices_items(&s, o) && js_object_rest(&s, root_member, o)) {
		js_ws(&s);
		if (s.p == s.end)
			return 1;
	}
	js_decline(r, len0);
	return -1;
}

/* 1: handled (r updated as the cJSON path would), 0: not the usual shape, r untouched. */
int openai_sse_fast(struct call_result *r, const char *data, size_t len, uint64_t now,
		    struct sse_tpl *tpl)
{
	if (tpl && tpl_fast(r, data, len, now, tpl))
		return 1;
	struct jscan s = { data, data + len };
	struct jroot o = { .body = false, .text = &r->text };
	/* Decoded straight onto the text; cut back to len0 when the chunk is not ours. */
	size_t len0 = r->text.len;
	int rp = tpl ? rp_scan(&o, data, len, tpl, len0, r) : 0;
	if (rp < 0)
		return 0; /* tool-call deltas, errors: to cJSON without a second scan */
	if (!rp && !js_root(&s, &o))
		return js_decline(r, len0);
	if (o.has_fin)
		memcpy(r->finish_reason, o.fin, strlen(o.fin) + 1);
	/* The cJSON path reads usage (and timings with it) only when "usage" is there. */
	if (o.u.usage_key)
		jusage_apply(r, &o.u);
	if (r->text.len > len0)
		call_result_chunk(r, now);
	if (tpl)
		tpl_keep(tpl, data, len, &o);
	return 1;
}

/* 1: handled (r updated as openai_parse_body_slow would), 0: not the usual shape, r untouched. */
int openai_body_fast(struct call_result *r, const char *body, size_t len)
{
	struct jscan s = { body, body + len };
	struct jroot o = { .body = true, .text = &r->text };
	size_t len0 = r->text.len;
	/* No choices[0].message: the cJSON path says so. */
	if (!js_root(&s, &o) || !o.has_inner)
		return js_decline(r, len0);
	if (o.has_fin)
		memcpy(r->finish_reason, o.fin, strlen(o.fin) + 1);
	jusage_apply(r, &o.u);
	return 1;
}

static int openai_parse_body(const char *body, size_t len, struct call_result *r)
{
	if (openai_body_fast(r, body, len))
		return 0;
	return openai_parse_body_slow(body, len, r);
}

static int openai_sse_event(struct call_result *r, struct sse_state *st, const char *event,
			    const char *data, uint64_t now)
{
	if (!strcmp(data, "[DONE]")) {
		st->done = true;
		return 0;
	}
	if (openai_sse_fast(r, data, strlen(data), now, &st->tpl))
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
