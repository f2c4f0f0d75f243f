/*
 * Shared by the differential fuzz targets of the openai fast paths: whether
 * two call results agree in every field a parser writes.
 */
#ifndef AP_FUZZ_DIFF_H
#define AP_FUZZ_DIFF_H

#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* Doubles bit for bit (NAN, the "absent" mark, equals itself). */
static inline int fuzz_same_double(double a, double b)
{
	return !memcmp(&a, &b, sizeof(a));
}

/* A text buffer as sbuf leaves it: NULL, or NUL-terminated at len. */
static inline int fuzz_text_ok(const struct sbuf *t)
{
	return t->s ? t->s[t->len] == '\0' : t->len == 0;
}

/*
 * 1 when a and b hold the same parse: text, finish reason, usage, timings,
 * chunks, calls. strict: the text buffers also both exist or both do not (a
 * declined input may leave an empty buffer made, as the result of a real one).
 */
static inline int fuzz_same_result(const struct call_result *a, const struct call_result *b, int strict)
{
	return fuzz_text_ok(&a->text) && fuzz_text_ok(&b->text) &&
	       (!strict || !a->text.s == !b->text.s) && a->text.len == b->text.len &&
	       (!a->text.len || !memcmp(a->text.s, b->text.s, a->text.len)) &&
	       !strcmp(a->finish_reason, b->finish_reason) && a->usage_reported == b->usage_reported &&
	       a->usage_invalid == b->usage_invalid && !strcmp(a->usage_why, b->usage_why) &&
	       a->prompt_tokens == b->prompt_tokens && a->completion_tokens == b->completion_tokens &&
	       a->cached_tokens == b->cached_tokens && fuzz_same_double(a->srv_prompt_tps, b->srv_prompt_tps) &&
	       fuzz_same_double(a->srv_gen_tps, b->srv_gen_tps) && a->n_chunks == b->n_chunks &&
	       a->t_first == b->t_first && a->t_last == b->t_last &&
	       fuzz_same_double(a->gap_sum_s, b->gap_sum_s) && a->n_calls == b->n_calls &&
	       a->tool_bytes == b->tool_bytes && !strcmp(a->error, b->error);
}

/*
 * One input's verdict: fast says whether the fast path took it (b, which was
 * b0 before), slow_rc is what the cJSON path returned on the same input (a).
 * Taken: the cJSON path must take it too and agree in every field. Declined:
 * b must be as it was. Aborts (the fuzzer's finding) or frees the three.
 */
static inline void fuzz_judge(int fast, int slow_rc, struct call_result *a, struct call_result *b,
			      struct call_result *b0)
{
	if (fast ? slow_rc != 0 || !fuzz_same_result(a, b, 1) : !fuzz_same_result(b, b0, 0))
		abort();
	call_result_free(a);
	call_result_free(b);
	call_result_free(b0);
}

#endif
