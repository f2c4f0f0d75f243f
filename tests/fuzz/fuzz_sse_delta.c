/*
 * libFuzzer target, differential: the openai stream event's fast path
 * (openai_sse_fast, a scanner for the usual chunk: content delta,
 * finish_reason, usage and timings) against the cJSON path on the same event.
 * Where the fast path takes an event, the cJSON path must take it too (no
 * error) and leave every field the same; where it declines, it must leave the
 * result untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fuzz_diff.h"

/* Both start from one earlier chunk, so the gap sums are compared too; the
 * first input byte picks earlier usage (none, valid, made invalid) so that
 * take_usage's use of what came before is compared as well, and (bit 4) the
 * two-event mode of the stream's template. */
static void start(struct call_result *r, uint8_t mode)
{
	memset(r, 0, sizeof(*r));
	call_result_reset(r);
	sbuf_adds(&r->text, "x");
	r->n_chunks = 1;
	r->t_first = r->t_last = 1000;
	if (mode % 3 == 1) {
		r->usage_reported = true;
		r->prompt_tokens = 20;
		r->completion_tokens = 3;
	} else if (mode % 3 == 2) {
		r->usage_invalid = true;
		snprintf(r->usage_why, sizeof(r->usage_why), "usage not reported: earlier");
	}
}

/* One event as the stream reads it: the fast path (with the stream's
 * template, or none), else cJSON. */
static void feed(struct call_result *r, struct sse_tpl *tpl, const char *ev, uint64_t now)
{
	struct sse_state st;
	memset(&st, 0, sizeof(st));
	if (!openai_sse_fast(r, ev, strlen(ev), now, tpl))
		openai_sse_event_slow(r, &st, "message", ev, now);
}

/*
 * Mode bit 4: the event is two, split at the first newline, read in turn:
 * with a template kept from the first (as a stream reads its chunks) and
 * without one; both must end the same (the second chunk is read as its
 * content string alone only where that gives what a whole scan gives).
 */
static void two_events(char *ev, uint8_t mode)
{
	char *nl = strchr(ev, '\n');
	if (!nl)
		return;
	*nl = '\0';
	struct call_result x, y;
	struct sse_tpl tpl;
	memset(&tpl, 0, sizeof(tpl));
	start(&x, mode);
	start(&y, mode);
	feed(&x, &tpl, ev, 5000);
	feed(&x, &tpl, nl + 1, 6000);
	feed(&y, NULL, ev, 5000);
	feed(&y, NULL, nl + 1, 6000);
	if (!fuzz_same_result(&x, &y, 1))
		abort();
	call_result_free(&x);
	call_result_free(&y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *ev = malloc(size);
	if (!ev)
		return 0;
	memcpy(ev, data + 1, size - 1);
	ev[size - 1] = '\0';
	size_t len = strlen(ev); /* events are C strings: what follows a NUL is not seen */
	struct call_result a, b, b0;
	struct sse_state st;
	memset(&st, 0, sizeof(st));
	start(&a, data[0]);
	start(&b, data[0]);
	start(&b0, data[0]);
	if (data[0] & 4) {
		call_result_free(&a);
		call_result_free(&b);
		call_result_free(&b0);
		two_events(ev, data[0]);
		free(ev);
		return 0;
	}
	int fast = openai_sse_fast(&b, ev, len, 5000, NULL);
	fuzz_judge(fast, openai_sse_event_slow(&a, &st, "message", ev, 5000), &a, &b, &b0);
	free(ev);
	return 0;
}
