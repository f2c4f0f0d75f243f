/* An incremental Server-Sent Events parser (the WHATWG event-stream format). */
#ifndef AP_SSE_H
#define AP_SSE_H

#include <stddef.h>

#include "util.h"

/* Called once per dispatched event; a non-zero return stops parsing. */
typedef int (*sse_cb)(void *ctx, const char *event, const char *data);

struct sse_parser {
	struct sbuf line;  /* the line being assembled */
	struct sbuf data;  /* data lines of the current event, joined by \n */
	char event[64];
	size_t max_event;  /* bound on line and event size (bytes) */
	int cr_pending;    /* last byte was \r: a following \n belongs to it */
	int have_data;
};

void sse_init(struct sse_parser *p, size_t max_event);
/* Feeds bytes; returns 0, the callback's non-zero value, or -E2BIG. */
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_cb cb, void *ctx);
/* Readies p for a new stream (same bound), keeping small buffers. */
void sse_reset(struct sse_parser *p);
void sse_free(struct sse_parser *p);

#endif
