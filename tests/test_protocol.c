/* The protocol layer without a network: SSE framing, the OpenAI and Anthropic
 * body and stream parsers (the OpenAI ones' tree-free fast paths too),
 * request bodies, backend specs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "jsonv.h"
#include "sse.h"

struct events {
	char buf[4096];
	int n;
};

static int collect(void *ctx, const char *event, const char *data)
{
	struct events *e = ctx;
	size_t l = strlen(e->buf);
	snprintf(e->buf + l, sizeof(e->buf) - l, "[%s|%s]", event, data);
	e->n++;
	return 0;
}

static void test_sse_framing(void **state)
{
	(void)state;
	struct sse_parser p;
	struct events e = { 0 };
	sse_init(&p, 1024);
	/* CRLF, a comment, multi-line data, a named event, and an event split
	 * across reads at every awkward place (inside "data:", between CR and LF). */
	const char *parts[] = { ": keep-alive\r\n\r\nda", "ta: a\r", "\ndata: b\r\n\r\nevent: ping\n",
				"data:{}\n\n", "data: tail" };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sse_feed(&p, parts[i], strlen(parts[i]), collect, &e), 0);
	assert_string_equal(e.buf, "[message|a\nb][ping|{}]");
	/* "data: tail" has no blank line yet: not dispatched. */
	assert_int_equal(e.n, 2);
	sse_free(&p);
}

/*
 * Lines ended by LF, CR or CRLF at random, fed whole, a byte at a time and
 * cut at random places: the same events every way (sse_feed looks for the
 * next CR once for all the lines of a read before it, so a read holding
 * many lines and a read holding one take different paths).
 */
static void test_sse_line_ends(void **state)
{
	(void)state;
	static const char *const ends[] = { "\n", "\r", "\r\n" };
	unsigned seed = 7;
	for (int round = 0; round < 200; round++) {
		char in[2048];
		size_t n = 0;
		int lines = 1 + (int)(rand_r(&seed) % 12);
		for (int i = 0; i < lines; i++) {
			/* data (always first), a blank line, a comment, an event name */
			static const char *const kinds[] = { "data: v", NULL, ": c", "event: e" };
			const char *kind = kinds[i ? rand_r(&seed) % 4 : 0];
			if (kind)
				n += (size_t)snprintf(in + n, sizeof(in) - n, "%s%d", kind, i);
			n += (size_t)snprintf(in + n, sizeof(in) - n, "%s", ends[rand_r(&seed) % 3]);
		}
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\n\n");
		struct events whole = { 0 }, bytes = { 0 }, cuts = { 0 };
		struct sse_parser p;
		sse_init(&p, 1024);
		assert_int_equal(sse_feed(&p, in, n, collect, &whole), 0);
		sse_reset(&p);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(sse_feed(&p, in + i, 1, collect, &bytes), 0);
		sse_reset(&p);
		for (size_t i = 0; i < n;) {
			size_t k = 1 + (size_t)rand_r(&seed) % 16;
			k = k < n - i ? k : n - i;
			assert_int_equal(sse_feed(&p, in + i, k, collect, &cuts), 0);
			i += k;
		}
		sse_free(&p);
		assert_true(whole.n > 0);
		assert_string_equal(whole.buf, bytes.buf);
		assert_string_equal(whole.buf, cuts.buf);
		assert_int_equal(whole.n, bytes.n);
		assert_int_equal(whole.n, cuts.n);
	}
}

/*
 * One result and one stream state used for call after call, as a loop
 * slot does: call_result_reset and sse_state_reset leave the tool-call
 * index and the stream template's buffers uncleared, so a call after one
 * with tool calls (at index 3) must start with none, and a stream after
 * one whose template was set must not read it.
 */
static void test_openai_result_reuse(void **state)
{
	(void)state;
	struct call_result r = { 0 };
	struct sse_state st = { 0 };
	const struct backend_ops *o = &openai_backend_ops;
	static const char tool3[] = "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"id\":\"a\","
				    "\"function\":{\"name\":\"get\",\"arguments\":\"{}\"}}]}}]}";
	static const char hello[] = "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},"
				    "\"finish_reason\":null}]}";
	for (int call = 0; call < 3; call++) {
		call_result_reset(&r);
		sse_state_reset(&st);
		if (call == 1) {
			/* content only, after a call with a tool call at index 3 */
			assert_int_equal(o->sse_event(&r, &st, "message", hello, 1000), 0);
			assert_int_equal(o->sse_event(&r, &st, "message", hello, 2000), 0);
			assert_int_equal(r.n_calls, 0);
			assert_null(r.calls);
			assert_string_equal(r.text.s, "hellohello");
			continue;
		}
		assert_int_equal(o->sse_event(&r, &st, "message", tool3, 1000), 0);
		assert_int_equal(o->sse_event(&r, &st, "message",
					      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
					      "\"function\":{\"name\":\"put\"}}]}}]}",
					      2000), 0);
		/* index 3 is a new call each time, not a slot left from the last one */
		assert_int_equal(r.n_calls, 2);
		assert_string_equal(r.calls[0].name, "get");
		assert_string_equal(r.calls[0].arguments, "{}");
		assert_string_equal(r.calls[1].name, "put");
		assert_int_equal(r.text.len, 0);
		assert_int_equal(st.tpl.plen, 0); /* no content delta in this stream */
	}
	call_result_free(&r);
}

static void test_sse_bound(void **state)
{
	(void)state;
	struct sse_parser p;
	struct events e = { 0 };
	sse_init(&p, 64);
	char big[200];
	memset(big, 'x', sizeof(big));
	assert_int_equal(sse_feed(&p, "data: ", 6, collect, &e), 0);
	assert_int_equal(sse_feed(&p, big, sizeof(big), collect, &e), -E2BIG);
	sse_free(&p);
}

static void test_openai_body(void **state)
{
	(void)state;
	struct call_result r = { 0 };
	call_result_reset(&r);
	const char *body =
		"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
		"\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
		"\"arguments\":\"{\\\"x\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}],"
		"\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"prompt_tokens_details\":"
		"{\"cached_tokens\":8}},\"timings\":{\"prompt_per_second\":100.5,\"predicted_per_second\":20}}";
	assert_int_equal(openai_backend_ops.parse_body(body, strlen(body), &r), 0);
	assert_int_equal(r.n_calls, 1);
	assert_string_equal(r.calls[0].name, "f");
	assert_string_equal(r.calls[0].arguments, "{\"x\":1}");
	assert_string_equal(r.finish_reason, "tool_calls");
	assert_true(r.usage_reported);
	assert_int_equal(r.prompt_tokens, 12);
	assert_int_equal(r.cached_tokens, 8);
	assert_true(r.srv_prompt_tps == 100.5 && r.srv_gen_tps == 20);
	call_result_reset(&r);
	/* An older llama-server: cached prompt tokens only in timings.cache_n. */
	const char *old = "{\"choices\":[{\"message\":{\"content\":\"hi\"}}],\"usage\":"
			  "{\"prompt_tokens\":24,\"completion_tokens\":2},\"timings\":{\"cache_n\":16}}";
	assert_int_equal(openai_backend_ops.parse_body(old, strlen(old), &r), 0);
	assert_int_equal(r.cached_tokens, 16);
	call_result_reset(&r);
	/* No usage: flagged, not zeros pretending to be counts. */
	const char *nousage = "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]}";
	assert_int_equal(openai_backend_ops.parse_body(nousage, strlen(nousage), &r), 0);
	assert_false(r.usage_reported);
	assert_string_equal(r.text.s, "hi");
	call_result_reset(&r);
	assert_int_equal(openai_backend_ops.parse_body("{\"choices\":[]}", 14, &r), -EPROTO);
	assert_int_equal(openai_backend_ops.parse_body("not json", 8, &r), -EPROTO);
	call_result_free(&r);
}

static void test_openai_stream(void **state)
{
	(void)state;
	struct call_result r = { 0 };
	struct sse_state st = { 0 };
	call_result_reset(&r);
	const struct backend_ops *o = &openai_backend_ops;
	assert_int_equal(o->sse_event(&r, &st, "message",
				      "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}",
				      1000), 0);
	assert_int_equal(r.n_chunks, 0); /* a role delta is not a token */
	assert_int_equal(o->sse_event(&r, &st, "message",
				      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
				      "\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"k\\\":\"}}]}}]}",
				      2000), 0);
	assert_int_equal(o->sse_event(&r, &st, "message",
				      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
				      "\"function\":{\"arguments\":\"2}\"}}]}}]}",
				      5000), 0);
	assert_int_equal(o->sse_event(&r, &st, "message",
				      "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}", 6000), 0);
	assert_int_equal(o->sse_event(&r, &st, "message",
				      "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
				      7000), 0);
	assert_false(st.done);
	assert_int_equal(o->sse_event(&r, &st, "message", "[DONE]", 8000), 0);
	assert_true(st.done);
	assert_int_equal(r.n_calls, 1);
	assert_string_equal(r.calls[0].arguments, "{\"k\":2}");
	assert_int_equal(r.n_chunks, 2);
	assert_true(r.t_first == 2000 && r.t_last == 5000);
	assert_true(fabs(r.gap_sum_s - 3e-6) < 1e-12);
	assert_int_equal(r.completion_tokens, 2);
	assert_int_equal(o->sse_event(&r, &st, "message", "{broken", 9000), -EPROTO);
	assert_int_equal(o->sse_event(&r, &st, "message",
				      "{\"error\":{\"message\":\"context too long\"}}", 9000), -EPROTO);
	assert_non_null(strstr(r.error, "context too long"));
	call_result_free(&r);
}

/* Parses body with parse_body; fast: whether the tree-free path must take it. */
static int parse_openai(const char *body, struct call_result *r, bool fast)
{
	call_result_reset(r);
	size_t len = strlen(body);
	assert_int_equal(openai_body_fast(r, body, len), fast);
	if (!fast)
		assert_int_equal(r->text.len, 0); /* declined: nothing left behind */
	call_result_reset(r);
	return openai_backend_ops.parse_body(body, len, r);
}

static void test_openai_body_fast(void **state)
{
	(void)state;
	struct call_result r = { 0 };
	/* llama-server's shape: usage with cached_tokens, its own timings. */
	assert_int_equal(parse_openai("{\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"message\":"
				      "{\"role\":\"assistant\",\"content\":\"Once\\nupon\",\"tool_calls\":[]}}],"
				      "\"usage\":{\"completion_tokens\":16,\"prompt_tokens\":31,\"total_tokens\":47,"
				      "\"prompt_tokens_details\":{\"cached_tokens\":12}},\"timings\":{\"cache_n\":12,"
				      "\"prompt_per_second\":2.1e4,\"predicted_per_second\":5161.25}}",
				      &r, true), 0);
	assert_string_equal(r.text.s, "Once\nupon");
	assert_string_equal(r.finish_reason, "length");
	assert_true(r.usage_reported);
	assert_true(r.prompt_tokens == 31 && r.completion_tokens == 16 && r.cached_tokens == 12);
	assert_true(r.srv_prompt_tps == 2.1e4 && r.srv_gen_tps == 5161.25);
	assert_int_equal(r.n_calls, 0);
	/* \u escapes decoded as cJSON does: BMP, a surrogate pair, beside raw UTF-8. */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"caf\\u00e9 \\u20AC "
				      "\\ud83d\\ude00 \xc3\xa9 \\\"\\/\"}}]}", &r, true), 0);
	assert_string_equal(r.text.s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9 \"/");
	assert_false(r.usage_reported);
	/* An empty content is still a text, as sbuf_adds("") leaves it. */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"\"}}]}", &r, true), 0);
	assert_non_null(r.text.s);
	assert_string_equal(r.text.s, "");
	/* prompt_tokens_details present but null: timings.cache_n is not used. */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":"
				      "{\"prompt_tokens\":10,\"prompt_tokens_details\":null},\"timings\":"
				      "{\"cache_n\":3}}", &r, true), 0);
	assert_true(r.usage_reported && r.prompt_tokens == 10 && r.cached_tokens == 0);
	/* cache_n above prompt_tokens is not believed. */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":"
				      "{\"prompt_tokens\":2},\"timings\":{\"cache_n\":3}}", &r, true), 0);
	assert_int_equal(r.cached_tokens, 0);
	/* A number of 63 bytes is taken; a longer one is left to cJSON (some builds cut it at 63). */
	char ones[64], big[256];
	memset(ones, '1', sizeof(ones));
	snprintf(big, sizeof(big), "{\"choices\":[{\"message\":{}}],\"timings\":{\"prompt_per_second\":"
		 "%.61s.5}}", ones);
	assert_int_equal(parse_openai(big, &r, true), 0);
	assert_true(r.srv_prompt_tps > 1e60 && r.srv_prompt_tps < 2e60);
	snprintf(big, sizeof(big), "{\"choices\":[{\"message\":{}}],\"timings\":{\"prompt_per_second\":"
		 "%.62s.5}}", ones);
	assert_int_equal(parse_openai(big, &r, false), 0);
	assert_true(r.srv_prompt_tps > 1e61 && r.srv_prompt_tps < 2e61);

	/* Declined, and the cJSON path decides: */
	/* a tool call (take_tool_calls); */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":"
				      "{\"name\":\"f\",\"arguments\":{\"a\":1}}}]}}]}", &r, false), 0);
	assert_int_equal(r.n_calls, 1);
	assert_string_equal(r.calls[0].arguments, "{\"a\":1}");
	/* a repeated key: cJSON takes the first; */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"a\",\"content\":\"b\"}}]}",
				      &r, false), 0);
	assert_string_equal(r.text.s, "a");
	/* \u0000: cJSON keeps the NUL, which cuts the text; */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}", &r, false), 0);
	assert_string_equal(r.text.s, "a");
	/* a lone surrogate: cJSON fails; */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"\\ud83d x\"}}]}", &r, false),
			 -EPROTO);
	/* counts that are integers but not written as one, and ones that are not; */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":2.0,"
				      "\"completion_tokens\":1e1}}", &r, false), 0);
	assert_true(r.usage_reported && r.prompt_tokens == 2 && r.completion_tokens == 10);
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":-1}}",
				      &r, false), 0);
	assert_true(r.usage_invalid && !r.usage_reported);
	/* trailing bytes (cJSON reads the first value); no message at all. */
	assert_int_equal(parse_openai("{\"choices\":[{\"message\":{\"content\":\"x\"}}]} extra", &r, false), 0);
	assert_string_equal(r.text.s, "x");
	assert_int_equal(parse_openai("{\"choices\":[{\"index\":0}]}", &r, false), -EPROTO);
	call_result_free(&r);
}

/* A stream's template: chunks with the same bytes around their content are
 * read as that string alone, with the same result as a whole scan; one that
 * does not fit (other bytes, an escape the scanner declines) is scanned whole
 * or goes to cJSON as before. */
/* One stream chunk i read twice: a through the backend, with the stream's
 * template, as a stream reads it; b scanned alone (or by cJSON); then the
 * two results must agree in every field the chunk can touch. */
struct twin {
	struct call_result a, b;
	struct sse_state sa, sb;
};

static void twin_init(struct twin *w)
{
	memset(w, 0, sizeof(*w));
	call_result_reset(&w->a);
	call_result_reset(&w->b);
}

static void twin_free(struct twin *w)
{
	call_result_free(&w->a);
	call_result_free(&w->b);
}

static void feed_both(struct twin *w, const char *chunk, uint64_t t)
{
	struct call_result *a = &w->a, *b = &w->b;
	struct sse_state *sa = &w->sa, *sb = &w->sb;
	assert_int_equal(openai_backend_ops.sse_event(a, sa, "message", chunk, t), 0);
	if (!openai_sse_fast(b, chunk, strlen(chunk), t, NULL))
		assert_int_equal(openai_sse_event_slow(b, sb, "message", chunk, t), 0);
	assert_int_equal(a->text.len, b->text.len);
	assert_memory_equal(a->text.s, b->text.s, a->text.len);
	assert_string_equal(a->finish_reason, b->finish_reason);
	assert_int_equal(a->n_chunks, b->n_chunks);
	assert_true(a->t_last == b->t_last && a->gap_sum_s == b->gap_sum_s);
	assert_true(a->usage_reported == b->usage_reported && a->prompt_tokens == b->prompt_tokens &&
		    a->completion_tokens == b->completion_tokens && a->cached_tokens == b->cached_tokens);
	/* unset: NaN on both */
	assert_true((isnan(a->srv_prompt_tps) && isnan(b->srv_prompt_tps)) ||
		    a->srv_prompt_tps == b->srv_prompt_tps);
	assert_true((isnan(a->srv_gen_tps) && isnan(b->srv_gen_tps)) || a->srv_gen_tps == b->srv_gen_tps);
}

/* The root prefix (sse_tpl.rp): chunks that start as the last scanned one did,
 * up to choices' '[', are read from there, with the same result as a whole
 * scan (or cJSON, where the scanner declines). */
static void test_openai_stream_root_prefix(void **state)
{
	(void)state;
#define RP "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"choices\":["
	const char *ch[] = {
		RP "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
		   "\"finish_reason\":null}],\"usage\":null}",
		RP "{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],"
		   "\"usage\":null,\"extra\":[1,{\"a\":\"b\"}]}",
		/* a second "choices": the scanner declines it, cJSON takes the first */
		RP "{\"index\":0,\"delta\":{\"content\":\"!\"}}],\"choices\":[{\"index\":0,"
		   "\"delta\":{\"content\":\"no\"}}]}",
		RP "{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}",
		RP "],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,"
		   "\"prompt_tokens_details\":{\"cached_tokens\":3}},\"timings\":{\"prompt_per_second\":9.5,"
		   "\"predicted_per_second\":4.25}}",
		/* another id: no prefix fits, a whole scan */
		"{\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\".\"}}]}",
	};
	struct twin w;
	twin_init(&w);
	for (int i = 0; i < (int)(sizeof(ch) / sizeof(ch[0])); i++) {
		feed_both(&w, ch[i], 1000 + i);
		if (i == 0) /* learnt from the first chunk: its bytes up to choices' '[' */
			assert_int_equal(w.sa.tpl.rplen, strlen(RP));
	}
	assert_string_equal(w.a.text.s, "Hi!.");
	assert_string_equal(w.a.finish_reason, "stop");
	assert_true(w.a.usage_reported && w.a.prompt_tokens == 5 && w.a.completion_tokens == 2 &&
		    w.a.cached_tokens == 3);
	assert_true(w.a.srv_prompt_tps == 9.5 && w.a.srv_gen_tps == 4.25);
#undef RP
	twin_free(&w);
}

static void test_openai_stream_template(void **state)
{
	(void)state;
	const char *ch[] = {
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}",
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"content\":\"The\"},\"finish_reason\":null}],\"usage\":null}",
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"content\":\" caf\\u00e9\\n\"},\"finish_reason\":null}],\"usage\":null}",
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"content\":\"x\\u0000\"},\"finish_reason\":null}],\"usage\":null}",
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"content\":\"!\"},\"finish_reason\":null}],\"usage\":null}",
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}],\"usage\":null}",
		"{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"content\":\"?\"},\"finish_reason\":\"stop\"}],\"usage\":null}",
	};
	struct twin w;
	twin_init(&w);
	for (int i = 0; i < (int)(sizeof(ch) / sizeof(ch[0])); i++) {
		feed_both(&w, ch[i], 1000 + i);
		/* chunks 2, 3 and 5 fit the template chunk 1 left, chunk 7 the one 6 left */
		if (i == 1 || i == 5)
			assert_true(w.sa.tpl.plen > 0);
	}
	/* chunk 4's \u0000: declined by both fast readers; cJSON keeps the "x" before the NUL */
	assert_string_equal(w.a.text.s, "The caf\xc3\xa9\nx!!?");
	assert_string_equal(w.a.finish_reason, "stop");
	twin_free(&w);
}

static void test_openai_stream_usage_fast(void **state)
{
	(void)state;
	struct call_result r = { 0 };
	call_result_reset(&r);
	/* The final chunk (llama-server, OpenAI with include_usage): read without cJSON. */
	const char *last = "{\"choices\":[],\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":8,"
			   "\"prompt_tokens_details\":{\"cached_tokens\":16}},\"timings\":{\"cache_n\":16,"
			   "\"prompt_per_second\":640.0,\"predicted_per_second\":80.5}}";
	assert_int_equal(openai_sse_fast(&r, last, strlen(last), 1000, NULL), 1);
	assert_true(r.usage_reported && r.prompt_tokens == 24 && r.completion_tokens == 8 &&
		    r.cached_tokens == 16);
	assert_true(r.srv_prompt_tps == 640.0 && r.srv_gen_tps == 80.5);
	assert_int_equal(r.n_chunks, 0);
	/* timings without "usage": the cJSON path does not read them, nor does this one. */
	call_result_reset(&r);
	const char *t = "{\"choices\":[],\"timings\":{\"prompt_per_second\":3.5}}";
	assert_int_equal(openai_sse_fast(&r, t, strlen(t), 1000, NULL), 1);
	assert_true(isnan(r.srv_prompt_tps));
	/* A count made invalid by an earlier chunk keeps the usage "not reported". */
	call_result_reset(&r);
	r.usage_invalid = true;
	assert_int_equal(openai_sse_fast(&r, last, strlen(last), 1000, NULL), 1);
	assert_false(r.usage_reported);
	assert_int_equal(r.prompt_tokens, 0);
	/* An invalid count: declined, and the cJSON path says which. */
	call_result_reset(&r);
	const char *bad = "{\"choices\":[],\"usage\":{\"prompt_tokens\":1e30}}";
	assert_int_equal(openai_sse_fast(&r, bad, strlen(bad), 1000, NULL), 0);
	assert_false(r.usage_reported);
	struct sse_state st = { 0 };
	assert_int_equal(openai_backend_ops.sse_event(&r, &st, "message", bad, 1000), 0);
	assert_true(r.usage_invalid);
	assert_non_null(strstr(r.usage_why, "prompt_tokens"));
	call_result_free(&r);
}

static void test_anthropic_stream_and_body(void **state)
{
	(void)state;
	struct call_result r = { 0 };
	struct sse_state st = { 0 };
	call_result_reset(&r);
	const struct backend_ops *o = &anthropic_backend_ops;
	const char *ev[][2] = {
		{ "message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
				   "\"cache_read_input_tokens\":30,\"output_tokens\":1}}}" },
		{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
					 "{\"type\":\"text\",\"text\":\"\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
					 "{\"type\":\"text_delta\",\"text\":\"Hi\"}}" },
		{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
					 "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"w\",\"input\":{}}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
					 "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
					 "{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}" },
		{ "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
				   "\"usage\":{\"output_tokens\":7}}" },
		{ "message_stop", "{\"type\":\"message_stop\"}" },
	};
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		assert_int_equal(o->sse_event(&r, &st, ev[i][0], ev[i][1], 1000 * (i + 1)), 0);
	assert_true(st.done);
	assert_string_equal(r.text.s, "Hi");
	assert_int_equal(r.n_calls, 1);
	assert_string_equal(r.calls[0].name, "w");
	assert_string_equal(r.calls[0].arguments, "{\"a\":1}");
	/* prompt tokens count every input token, cached or not, as OpenAI's do */
	assert_int_equal(r.prompt_tokens, 40);
	assert_int_equal(r.cached_tokens, 30);
	assert_int_equal(r.completion_tokens, 7);
	assert_string_equal(r.finish_reason, "tool_use");
	call_result_reset(&r);
	const char *body = "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\","
			   "\"id\":\"x\",\"name\":\"n\",\"input\":{\"q\":[1,2]}}],\"stop_reason\":"
			   "\"tool_use\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}";
	assert_int_equal(o->parse_body(body, strlen(body), &r), 0);
	assert_string_equal(r.calls[0].arguments, "{\"q\":[1,2]}");
	assert_int_equal(r.prompt_tokens, 3);
	call_result_free(&r);
}

static void test_anthropic_request_conversion(void **state)
{
	(void)state;
	struct backend *b = NULL;
	struct ap_error err = { { 0 } };
	assert_int_equal(backend_parse(&b, "anthropic:model=m", &err), 0);
	cJSON *msgs = cJSON_Parse(
		"[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"U\"},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
		"\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}},{\"id\":\"c2\",\"type\":"
		"\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"R1\"},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"R2\"}]");
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
				   "{\"type\":\"object\"}}}]");
	cJSON *sampling = cJSON_Parse("{\"temperature\":0,\"seed\":3}");
	struct call_input in = { .messages = msgs, .tools = tools, .sampling = sampling };
	struct sbuf out = { 0 };
	assert_int_equal(b->ops->build_body(b, &in, false, &out), 0);
	cJSON *req = cJSON_Parse(out.s);
	assert_non_null(req);
	assert_string_equal(cJSON_GetObjectItem(req, "system")->valuestring, "S");
	assert_int_equal(cJSON_GetObjectItem(req, "max_tokens")->valueint, 1024);
	assert_null(cJSON_GetObjectItem(req, "seed")); /* no such parameter there */
	cJSON *m = cJSON_GetObjectItem(req, "messages");
	/* user, assistant (2 tool_use blocks), one user turn with both tool_results */
	assert_int_equal(cJSON_GetArraySize(m), 3);
	cJSON *results = cJSON_GetObjectItem(cJSON_GetArrayItem(m, 2), "content");
	assert_int_equal(cJSON_GetArraySize(results), 2);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(req, "tools"), 0),
					    "input_schema"));
	cJSON_Delete(req);
	cJSON_Delete(msgs);
	cJSON_Delete(tools);
	cJSON_Delete(sampling);
	sbuf_free(&out);
	backend_free(b);
}

/* A small PRNG, so a failing tree can be made again from its seed. */
static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

static char *rnd_text(uint64_t *s, char *buf, size_t cap)
{
	size_t n = rnd(s) % (cap - 1);
	for (size_t i = 0; i < n; i++) {
		/* every byte but NUL, the escaped ones often */
		static const char hot[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9 aZ";
		buf[i] = rnd(s) % 3 ? hot[rnd(s) % (sizeof(hot) - 1)] : (char)(1 + rnd(s) % 255);
	}
	buf[n] = '\0';
	return buf;
}

static cJSON *rnd_tree(uint64_t *s, int depth)
{
	static const double nums[] = { 0, -0.0, 1, -1, 7, 2147483647.0, 2147483648.0, -2147483648.0,
				       -2147483649.0, 0.1, 1.5625, 12.5, 1e300, -1e-300, 3.141592653589793,
				       0.30000000000000004, 1e15, 1e16, 123456789012345678.0 };
	char buf[48];
	switch (rnd(s) % (depth > 3 ? 6 : 8)) {
	case 0: return cJSON_CreateNull();
	case 1: return cJSON_CreateBool(rnd(s) % 2);
	case 2: return cJSON_CreateNumber(nums[rnd(s) % (sizeof(nums) / sizeof(nums[0]))]);
	case 3: return cJSON_CreateNumber((double)(int32_t)rnd(s) / (1 << (rnd(s) % 12)));
	case 4: return cJSON_CreateString(rnd_text(s, buf, sizeof(buf)));
	case 5: return cJSON_CreateRaw("{\"raw\": [1, 2]}");
	case 6: {
		cJSON *a = cJSON_CreateArray();
		for (uint32_t i = rnd(s) % 4; i > 0; i--)
			cJSON_AddItemToArray(a, rnd_tree(s, depth + 1));
		return a;
	}
	default: {
		cJSON *o = cJSON_CreateObject();
		for (uint32_t i = rnd(s) % 4; i > 0; i--)
			cJSON_AddItemToObject(o, rnd_text(s, buf, 12), rnd_tree(s, depth + 1));
		return o;
	}
	}
}

/* jv_write prints what cJSON_PrintUnformatted prints, byte for byte. */
static void test_json_writer(void **state)
{
	(void)state;
	struct sbuf out = { 0 };
	for (uint64_t seed = 1; seed <= 3000; seed++) {
		uint64_t s = seed;
		cJSON *j = rnd_tree(&s, 0);
		char *want = cJSON_PrintUnformatted(j);
		assert_non_null(want);
		assert_int_equal(jv_print_to(j, &out), 0);
		if (strcmp(out.s, want))
			fail_msg("seed %llu: cJSON %s, jv_write %s", (unsigned long long)seed, want, out.s);
		assert_int_equal(out.len, strlen(want));
		cJSON_free(want);
		cJSON_Delete(j);
	}
	/* Where cJSON fails, so does the writer. */
	cJSON *bad = cJSON_CreateArray();
	cJSON_AddItemToArray(bad, cJSON_CreateRaw("x"));
	cJSON_free(cJSON_GetArrayItem(bad, 0)->valuestring);
	cJSON_GetArrayItem(bad, 0)->valuestring = NULL;
	assert_null(cJSON_PrintUnformatted(bad));
	assert_int_equal(jv_print_to(bad, &out), -EINVAL);
	cJSON_Delete(bad);
	sbuf_free(&out);
}

/*
 * A task's request body, written without a cJSON tree, is what cJSON printed
 * of the tree the replay path builds, in every mix of tools, max_tokens,
 * sampling (a key of ours among them: it replaces ours and goes last),
 * --cache cold and streaming.
 */
static void test_openai_request_writer(void **state)
{
	(void)state;
	static const char *const samplings[] = {
		NULL, "{}", "{\"temperature\":0.5,\"seed\":3}",
		"{\"max_tokens\":5,\"stream\":true,\"model\":\"x\",\"cache_prompt\":true,\"top_p\":0.9}",
		"{\"messages\":[],\"tools\":null,\"stream_options\":{\"include_usage\":false},"
		"\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10}",
	};
	static const char *const toolss[] = { NULL, "[]", "[{\"type\":\"function\",\"function\":"
							  "{\"name\":\"f\",\"parameters\":{}}}]" };
	struct backend *b = NULL;
	struct ap_error err = { { 0 } };
	assert_int_equal(backend_parse(&b, "openai:model=m\u00e9\"q", &err), 0);
	cJSON *msgs = cJSON_Parse("[{\"role\":\"system\",\"content\":\"S\\n\\u0001\"},"
				  "{\"role\":\"user\",\"content\":\"Say \\\"hello\\\".\"}]");
	struct sbuf out = { 0 };
	int n = 0;
	for (size_t si = 0; si < sizeof(samplings) / sizeof(samplings[0]); si++)
		for (size_t ti = 0; ti < sizeof(toolss) / sizeof(toolss[0]); ti++)
			for (int mask = 0; mask < 8; mask++) {
				cJSON *sampling = samplings[si] ? cJSON_Parse(samplings[si]) : NULL;
				cJSON *tools = toolss[ti] ? cJSON_Parse(toolss[ti]) : NULL;
				struct call_input in = { .messages = msgs, .tools = tools,
							 .sampling = sampling,
							 .max_tokens = mask & 1 ? 256 : 0 };
				bool stream = mask & 2;
				b->cache_cold = mask & 4;
				cJSON *tree = openai_body_tree(b, &in, stream);
				char *want = cJSON_PrintUnformatted(tree);
				assert_int_equal(b->ops->build_body(b, &in, stream, &out), 0);
				if (strcmp(out.s, want))
					fail_msg("sampling %zu tools %zu mask %d:\n cJSON %s\n ours  %s", si, ti,
						 mask, want, out.s);
				n++;
				cJSON_free(want);
				cJSON_Delete(tree);
				cJSON_Delete(sampling);
				cJSON_Delete(tools);
			}
	assert_int_equal(n, 5 * 3 * 8);
	cJSON_Delete(msgs);
	sbuf_free(&out);
	backend_free(b);
}

static void test_backend_specs(void **state)
{
	(void)state;
	struct backend *b = NULL;
	struct ap_error err = { { 0 } };
	assert_int_equal(backend_parse(&b, "openai:url=http://h:1/v1/,model=m,stream=0,retries=5", &err), 0);
	assert_string_equal(b->endpoint, "http://h:1/v1/chat/completions");
	assert_false(b->stream);
	assert_int_equal(b->max_retries, 5);
	backend_free(b);
	/* A key pasted where a variable name belongs is refused, so it never reaches meta.json. */
	assert_int_equal(backend_parse(&b, "openai:key_env=sk-abc123", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "environment variable"));
	assert_null(strstr(err.msg, "sk-abc123"));
	assert_int_equal(backend_parse(&b, "openai:colour=blue", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown option 'colour'"));
	assert_int_equal(backend_parse(&b, "openai:timeout=-1", &err), -EINVAL);
	assert_int_equal(backend_parse(&b, "grpc:url=x", &err), -EINVAL);
	assert_int_equal(call_status_parse("http_5xx"), CALL_ERR_HTTP_5XX);
	assert_string_equal(call_status_name(CALL_ERR_TRUNCATED), "truncated");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sse_framing),
		cmocka_unit_test(test_sse_line_ends),
		cmocka_unit_test(test_openai_result_reuse),
		cmocka_unit_test(test_sse_bound),
		cmocka_unit_test(test_openai_body),
		cmocka_unit_test(test_openai_stream),
		cmocka_unit_test(test_openai_body_fast),
		cmocka_unit_test(test_openai_stream_template),
		cmocka_unit_test(test_openai_stream_root_prefix),
		cmocka_unit_test(test_openai_stream_usage_fast),
		cmocka_unit_test(test_anthropic_stream_and_body),
		cmocka_unit_test(test_anthropic_request_conversion),
		cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_openai_request_writer),
		cmocka_unit_test(test_backend_specs),
	};
	return cmocka_run_group_tests_name("protocol", tests, NULL, NULL);
}
