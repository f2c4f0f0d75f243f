/*
 * libFuzzer target: the SSE reader (harness/run/sse.c) feeding both protocols'
 * stream event parsers, as http.c does. The first byte picks the protocol
 * and the chunk size, so events split across reads are covered; the event
 * bound is small so -E2BIG is reached too.
 */
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "sse.h"

struct ctx {
	const struct backend_ops *ops;
	struct call_result *r;
	struct sse_state st;
};

static int on_event(void *p, const char *event, const char *data)
{
	struct ctx *c = p;
	return c->ops->sse_event(c->r, &c->st, event, data, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct call_result r;
	memset(&r, 0, sizeof(r));
	call_result_reset(&r);
	struct ctx c = { .ops = data[0] & 1 ? &anthropic_backend_ops : &openai_backend_ops, .r = &r };
	size_t chunk = (size_t)(data[0] >> 1) + 1;
	struct sse_parser p;
	sse_init(&p, 4096);
	data++;
	size--;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (sse_feed(&p, (const char *)data + off, n, on_event, &c))
			break;
	}
	sse_free(&p);
	call_result_free(&r);
	return 0;
}
