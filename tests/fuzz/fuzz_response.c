/*
 * libFuzzer target: the non-streaming response parsers (OpenAI chat
 * completion, Anthropic Messages). The first byte picks the protocol.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct backend_ops *ops = data[0] & 1 ? &anthropic_backend_ops : &openai_backend_ops;
	struct call_result r;
	memset(&r, 0, sizeof(r));
	call_result_reset(&r);
	/* The transport hands over a NUL-terminated buffer of len bytes. */
	char *body = malloc(size);
	if (!body)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	ops->parse_body(body, size - 1, &r);
	free(body);
	call_result_free(&r);
	return 0;
}
