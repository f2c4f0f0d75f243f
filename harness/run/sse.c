#include "sse.h"

#include <errno.h>
#include <string.h>

void sse_init(struct sse_parser *p, size_t max_event)
{
	memset(p, 0, sizeof(*p));
	p->max_event = max_event ? max_event : (16u << 20);
}

void sse_reset(struct sse_parser *p)
{
	/* A big event's buffers are given back; small ones are kept for the next stream. */
	if (p->line.cap > (64u << 10))
		sbuf_free(&p->line);
	if (p->data.cap > (64u << 10))
		sbuf_free(&p->data);
	sbuf_reset(&p->line);
	sbuf_reset(&p->data);
	p->event[0] = '\0';
	p->cr_pending = 0;
	p->have_data = 0;
}

void sse_free(struct sse_parser *p)
{
	sbuf_free(&p->line);
	sbuf_free(&p->data);
}

static int dispatch(struct sse_parser *p, sse_cb cb, void *ctx)
{
	int rc = 0;
	if (p->have_data)
		rc = cb(ctx, p->event[0] ? p->event : "message", p->data.s ? p->data.s : "");
	sbuf_reset(&p->data);
	p->have_data = 0;
	p->event[0] = '\0';
	return rc;
}

static int process_line(struct sse_parser *p, sse_cb cb, void *ctx)
{
	const char *l = p->line.s ? p->line.s : "";
	size_t n = p->line.len;
	if (n == 0)
		return dispatch(p, cb, ctx);
	if (l[0] == ':')
		return 0; /* comment / keep-alive */
	const char *colon = memchr(l, ':', n);
	size_t flen = colon ? (size_t)(colon - l) : n;
	const char *val = colon ? colon + 1 : l + n;
	if (*val == ' ')
		val++;
	size_t vlen = (size_t)(l + n - val);
	if (flen == 4 && !memcmp(l, "data", 4)) {
		if (p->have_data && sbuf_add(&p->data, "\n", 1))
			return -ENOMEM;
		if (p->data.len + vlen > p->max_event)
			return -E2BIG;
		if (sbuf_add(&p->data, val, vlen))
			return -ENOMEM;
		p->have_data = 1;
	} else if (flen == 5 && !memcmp(l, "event", 5)) {
		snprintf(p->event, sizeof(p->event), "%.*s", (int)vlen, val);
	}
	/* id and retry do not matter to a one-shot completion stream. */
	return 0;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_cb cb, void *ctx)
{
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (p->cr_pending) {
			p->cr_pending = 0;
			if (c == '\n')
				continue;
		}
		if (c == '\r' || c == '\n') {
			p->cr_pending = c == '\r';
			int rc = process_line(p, cb, ctx);
			sbuf_reset(&p->line);
			if (rc)
				return rc;
			continue;
		}
		/* Scan to the end of the line at once: per-byte appends are the hot path. */
		size_t j = i;
		while (j < len && buf[j] != '\r' && buf[j] != '\n')
			j++;
		if (p->line.len + (j - i) > p->max_event)
			return -E2BIG;
		if (sbuf_add(&p->line, buf + i, j - i))
			return -ENOMEM;
		i = j - 1;
	}
	return 0;
}
