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

/* One line (without its end of line), l[0..n). */
static int process_line(struct sse_parser *p, const char *l, size_t n, sse_cb cb, void *ctx)
{
	if (n == 0)
		return dispatch(p, cb, ctx);
	if (l[0] == ':')
		return 0; /* comment / keep-alive */
	const char *colon = memchr(l, ':', n);
	size_t flen = colon ? (size_t)(colon - l) : n;
	const char *val = colon ? colon + 1 : l + n;
	if (val < l + n && *val == ' ')
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

/*
 * Line by line with memchr; a line whole in buf is parsed where it lies, and
 * only a line split across reads is assembled in p->line (the per-byte loop
 * and the copy were most of the cost of an event).
 */
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_cb cb, void *ctx)
{
	size_t i = 0;
	/* The next '\r' in buf at or after the line being read (buf + len: none):
	 * found once for all the lines before it, not once a line, so an LF-only
	 * stream (llama-server's, OpenAI's) scans its bytes for '\r' once. */
	const char *cr_next = NULL;
	while (i < len) {
		if (p->cr_pending) {
			p->cr_pending = 0;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		const char *s = buf + i;
		size_t n = len - i;
		const char *nl = memchr(s, '\n', n);
		size_t lim = nl ? (size_t)(nl - s) : n;
		if (!cr_next || cr_next < s) {
			cr_next = memchr(s, '\r', n);
			if (!cr_next)
				cr_next = buf + len;
		}
		const char *cr = cr_next < s + lim ? cr_next : NULL;
		size_t j = cr ? (size_t)(cr - s) : lim; /* the line's bytes in buf */
		if (p->line.len + j > p->max_event)
			return -E2BIG;
		if (!cr && !nl)
			return sbuf_add(&p->line, s, j) ? -ENOMEM : 0; /* the rest comes later */
		int rc;
		if (p->line.len) {
			if (sbuf_add(&p->line, s, j))
				return -ENOMEM;
			rc = process_line(p, p->line.s, p->line.len, cb, ctx);
			sbuf_reset(&p->line);
		} else {
			rc = process_line(p, s, j, cb, ctx);
		}
		p->cr_pending = s[j] == '\r';
		i += j + 1;
		if (rc)
			return rc;
	}
	return 0;
}
