/*
 * libFuzzer target, differential: the openai non-streamed body's fast path
 * (openai_body_fast, a one-pass reader of the usual chat.completion) against
 * the cJSON path (openai_parse_body_slow) on the same body. Where the fast
 * path takes a body, the cJSON path must take it too (no error) and leave
 * every field the same; where it declines, it must leave the result untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fuzz_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The transport hands over len bytes with a NUL after them (NULs inside count). */
	char *body = malloc(size + 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	struct call_result a, b, b0;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&b0, 0, sizeof(b0));
	call_result_reset(&a);
	call_result_reset(&b);
	call_result_reset(&b0);
	int fast = openai_body_fast(&b, body, size);
	fuzz_judge(fast, openai_parse_body_slow(body, size, &a), &a, &b, &b0);
	free(body);
	return 0;
}
