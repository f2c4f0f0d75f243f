/*
 * libFuzzer target, differential: the openai stream event's fast path
 * (openai_sse_fast, a scanner for the usual content delta) against the cJSON
 * path on the same event. Where the fast path takes an event, the cJSON path
 * must take it too (no error) and leave the same text, finish reason and
 * chunk count; where it declines, it must leave the result untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ev = malloc(size + 1);
	if (!ev)
		return 0;
	memcpy(ev, data, size);
	ev[size] = '\0';
	size_t len = strlen(ev); /* events are C strings: what follows a NUL is not seen */
	struct call_result a, b;
	struct sse_state st;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&st, 0, sizeof(st));
	call_result_reset(&a);
	call_result_reset(&b);
	/* Both start from one earlier chunk, so the gap sums are compared too. */
	sbuf_adds(&a.text, "x");
	sbuf_adds(&b.text, "x");
	a.n_chunks = b.n_chunks = 1;
	a.t_first = a.t_last = b.t_first = b.t_last = 1000;
	int fast = openai_sse_fast(&b, ev, len, 5000);
	if (fast) {
		int rc = openai_sse_event_slow(&a, &st, "message", ev, 5000);
		if (rc != 0 || a.text.len != b.text.len || memcmp(a.text.s, b.text.s, a.text.len) ||
		    strcmp(a.finish_reason, b.finish_reason) || a.n_chunks != b.n_chunks ||
		    a.gap_sum_s != b.gap_sum_s || a.t_last != b.t_last || a.n_calls || a.usage_reported)
			abort();
	} else if (b.text.len != 1 || b.n_chunks != 1 || b.finish_reason[0]) {
		abort();
	}
	call_result_free(&a);
	call_result_free(&b);
	free(ev);
	return 0;
}
