/*
 * fakeserver: a scripted HTTP/1.1 model server on loopback, for tests.
 *
 * Tests drive full agentperf runs against this server instead of a real model
 * server: it answers OpenAI chat-completion and Anthropic Messages requests
 * with canned replies (plain JSON or SSE streams), and it injects faults
 * (resets, truncated streams, hangs, byte-by-byte drips, huge bodies, a
 * crashing server).  It needs only libc and pthreads so that it builds
 * wherever the tests build, and it binds loopback only.
 *
 * Command line
 *   fakeserver --script FILE [--port N] [--port-file FILE] [--log FILE]
 *              [--bind 127.0.0.1] [--max-seconds N] [--check]
 *
 *   --script FILE     rules (format below); required.
 *   --port N          TCP port; 0 (the default) lets the kernel pick a free one.
 *   --port-file FILE  once listening, write the port (decimal + "\n") to FILE,
 *                     atomically (FILE.tmp.PID, then rename), so a test can
 *                     poll for the file and never reads half a number.
 *   --log FILE        append a record of every request (format below).
 *   --bind ADDR       an IPv4 loopback address (127.x.x.x); others are refused.
 *   --max-seconds N   exit by itself after N seconds (default 300; 0 = never),
 *                     so a broken test cannot leave it running.
 *   --check           parse the script, print the rule count, exit.
 *
 *   Exit status: 0 after SIGTERM/SIGINT, 3 when --max-seconds ran out,
 *   2 for a usage or script error, 1 when it cannot listen, and the code
 *   given to "action exit" (default 0) when a rule says so.
 *
 * Script: plain text, one rule per block, tried in file order.  The first rule
 * whose match_* lines all hold and whose "times" is not used up answers.
 * Blank lines and lines starting with '#' are ignored.  Each line is a
 * keyword, one space or tab, then the value.  Values marked (verbatim) are
 * the rest of the line byte for byte (quotes are part of the text; only a
 * trailing CR is dropped); the others are trimmed.
 *
 *   rule [NAME]            start a rule; NAME (optional) appears in the log
 *   match_method M         request method must be M (default: any)
 *   match_path P           path must equal P exactly (query string ignored);
 *                          default: any path
 *   match_body TEXT        (verbatim, repeatable) body must contain TEXT
 *   match_body_not TEXT    (verbatim, repeatable) body must not contain TEXT
 *   match_header NAME      header NAME (any case) must be present;
 *   match_header NAME: V   ... and its value must equal V (repeatable)
 *   times N                fire at most N times over the server's life
 *                          (default unlimited; 0 disables the rule)
 *   status N               status code (default 200)
 *   header Name: value     (verbatim, repeatable) extra response header.
 *                          Content-Type, Content-Length and Connection given
 *                          here replace the server's own; "Connection: close"
 *                          closes the connection after the reply.
 *   delay_ms N             wait N ms before the status line
 *   body TEXT              (verbatim) response body; repeated body lines are
 *                          joined with "\n".  Content-Type application/json.
 *   body_file PATH         body from a file (relative to the script's folder)
 *   sse TEXT               (verbatim, repeatable) one SSE event: "TEXT\n\n".
 *                          Any sse/raw line makes the reply a stream:
 *                          Content-Type text/event-stream, chunked encoding,
 *                          one chunk per event, then the final 0-size chunk.
 *   sse_event NAME         put "event: NAME\n" before the next sse line
 *                          (Anthropic names its events)
 *   raw TEXT               (verbatim after unescaping \n \r \t \\ \xHH) one
 *                          chunk sent as is, without "\n\n": to split an event
 *                          across reads, or to send CRLF or comment lines
 *   serial                 delay_ms is served one request at a time (one
 *                          FIFO queue for every serial rule): latency grows with
 *                          concurrency, as on a saturated server
 *   first_delay_ms N       wait N ms between the headers and the first event
 *                          (time to first token)
 *   chunk_delay_ms N       wait N ms between events
 *   action KIND [N]        a fault, one per rule:
 *     reset_after N          send the headers and N events (or, for a body,
 *                            N bytes of it), then reset (SO_LINGER 0 + close)
 *     close_after N          the same, then close cleanly: a truncated reply
 *                            (no final chunk, or short of Content-Length)
 *     hang                   read the request, never answer; the socket stays
 *                            open until the client leaves or the server stops
 *     drip N                 send the whole reply one byte every N ms
 *     huge N                 a valid chat.completion JSON body of N bytes
 *                            (Content-Length N), generated while sending
 *     huge_sse N             a stream whose first event is one data line of
 *                            N bytes, then data: [DONE]
 *     exit [CODE]            the process exits at once without answering
 *     hold_after N           send the headers and N events, then neither the
 *                            final chunk nor a close: the connection stays
 *                            open until the client leaves
 *     flood N                a stream whose first event is sent N more times
 *                            first, as fast as the socket takes them (many
 *                            small deltas), then the events as written
 *     close_idle             answer normally (keep-alive), then read the next
 *                            request on that connection and close it
 *                            unanswered: a server dropping an idle
 *                            keep-alive connection just as the client reuses
 *                            it (llama-server closes after each stream)
 *   end                    end of the rule
 *
 *   "{{n}}" in body, body_file, sse, raw and header values is replaced by the
 *   request's sequence number (1-based, counting every request), so replies
 *   can differ.
 *
 * No rule matches: 404 with an OpenAI-style JSON error.  Built in, after the
 * rules (so a rule can override them): GET /health -> 200 {"status":"ok"}
 * (llama-server's route) and GET /v1/models -> one model "fake-model".
 *
 * Log (--log): per request, written and flushed before the reply starts (so
 * the record survives "action exit"), in sequence order:
 *   SEQ METHOD TARGET CONTENT-LENGTH RULE NAME
 *   SEQ body ESCAPED-BODY
 *   SEQ header Name: value          one line per request header, verbatim
 * RULE is the 1-based index of the rule that answered, "builtin", or the
 * status the server answered by itself (404 no rule, 400, 413, 431, 501);
 * NAME is the rule's name or "-".  The body is escaped \\ \n \r \t and \xHH
 * for other control bytes, so it stays on one line.  Header values are NOT
 * masked: tests read them to check what the client sent (an API key, say).
 *
 * HTTP: HTTP/1.1 keep-alive (HTTP/1.0 closes unless asked), Content-Length
 * request bodies up to 64 MiB (413 beyond), "Expect: 100-continue" answered,
 * headers up to 64 KiB (431 beyond), chunked request bodies refused (501).
 * Each connection is served by its own thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD   (64 * 1024)            /* request line + headers */
#define MAX_BODY   (64L * 1024 * 1024)    /* request body, and body_file */
#define MAX_TARGET 8192
#define MAX_CONNS  512
#define SLICE_MS   100                    /* how often blocked threads look at g_stop */
#define HUGE_PIECE (64 * 1024)

enum action { ACT_NONE, ACT_RESET_AFTER, ACT_CLOSE_AFTER, ACT_HANG, ACT_DRIP,
	      ACT_HUGE, ACT_HUGE_SSE, ACT_EXIT, ACT_CLOSE_IDLE, ACT_HOLD_AFTER, ACT_FLOOD };

struct buf {
	char *p;
	size_t len, cap;
};

struct strlist {
	char **v;
	size_t n;
};

struct rule {
	int line;                 /* where the rule starts, for messages */
	char *name;
	char *method, *path;
	struct strlist body_has, body_not, hdr_match;
	long times;               /* -1: unlimited */
	long fired;               /* guarded by g_lock */
	int status;
	struct strlist headers;
	long delay_ms, first_delay_ms, chunk_delay_ms;
	int serial;               /* delay_ms served one request at a time */
	struct buf body;
	int has_body, body_from_file;
	struct strlist events;    /* wire text of each event, before {{n}} */
	char *pending_event;      /* sse_event waiting for its sse line */
	enum action act;
	long act_arg;
};

struct request {
	char method[32];
	char target[MAX_TARGET];
	char path[MAX_TARGET];    /* target without the query string */
	char *head;               /* header lines, a copy (the read buffer moves) */
	size_t head_len;
	const char *body;         /* points into the connection's buffer */
	size_t body_len;
	size_t consumed;          /* bytes of the buffer this request used */
	int keep_alive;
};

struct conn {
	int fd;
	pthread_t tid;
	atomic_int done;
	char *buf;
	size_t len, cap;
	int drop_next; /* close_idle: the next request is read, never answered */
	struct conn *next;
};

static atomic_int g_stop;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* g_seq, fired, g_log */
static unsigned long g_seq;
static FILE *g_log;
static struct rule *g_rules;
static size_t g_nrules;

/* ---------------------------------------------------------------- helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("fakeserver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* A test tool: running out of memory is not a case worth recovering from. */
static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("fakeserver: out of memory\n", stderr);
		_exit(1);
	}
	return q;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		buf_add(b, tmp, (size_t)n);
		return;
	}
	/* Rare long case: format again into a buffer of the right size. */
	char *big = xrealloc(NULL, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add(b, big, (size_t)n);
	free(big);
}

static void list_add(struct strlist *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

static void list_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Copies src to dst, replacing every "{{n}}" with the sequence number. */
static void expand(struct buf *dst, const char *src, size_t len, unsigned long seq)
{
	size_t i = 0, start = 0;

	while (i + 5 <= len) {
		if (!memcmp(src + i, "{{n}}", 5)) {
			buf_add(dst, src + start, i - start);
			buf_printf(dst, "%lu", seq);
			i += 5;
			start = i;
		} else {
			i++;
		}
	}
	buf_add(dst, src + start, len - start);
}

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 529: return "Overloaded";
	default:  return "Status";
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps in slices so that SIGTERM ends a long delay or drip promptly.
 * Returns -1 when the server is stopping. */
static int sleep_ms(long ms)
{
	long long until = now_ms() + ms;

	for (;;) {
		long long left = until - now_ms();
		struct timespec ts;

		if (atomic_load(&g_stop))
			return -1;
		if (left <= 0)
			return 0;
		if (left > SLICE_MS)
			left = SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* Waits until fd is ready for `events`, without a time limit but watching
 * g_stop.  Returns 0 when ready (or in error/hang-up, for the caller's read or
 * write to report), -1 when the server is stopping. */
static int wait_fd(int fd, short events)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (atomic_load(&g_stop))
			return -1;
		r = poll(&p, 1, SLICE_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Sockets are non-blocking so that no thread can sit in send() forever
 * against a client that stopped reading (huge, drip) and miss SIGTERM. */
static int send_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static int send_chunk(int fd, const char *data, size_t n)
{
	char head[32];
	int h = snprintf(head, sizeof head, "%zx\r\n", n);

	if (send_all(fd, head, (size_t)h) || send_all(fd, data, n) || send_all(fd, "\r\n", 2))
		return -1;
	return 0;
}

static void buf_chunk(struct buf *b, const char *data, size_t n)
{
	buf_printf(b, "%zx\r\n", n);
	buf_add(b, data, n);
	buf_add(b, "\r\n", 2);
}

/* ------------------------------------------------------------------ script */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* "\n" "\r" "\t" "\\" "\xHH" -> bytes; returns -1 on a bad escape. */
static int unescape(const char *s, struct buf *out)
{
	for (; *s; s++) {
		char c = *s;

		if (c == '\\') {
			s++;
			switch (*s) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			case 'x': {
				char hex[3] = { 0 };
				char *end;

				if (!s[1] || !s[2])
					return -1;
				hex[0] = s[1];
				hex[1] = s[2];
				c = (char)strtol(hex, &end, 16);
				if (*end)
					return -1;
				s += 2;
				break;
			}
			default:
				return -1;
			}
		}
		buf_add(out, &c, 1);
	}
	return 0;
}

static void read_file(const char *path, struct buf *out, const char *script, int line)
{
	FILE *f = fopen(path, "rb");
	char tmp[8192];
	size_t n;

	if (!f)
		die("%s:%d: body_file %s: %s", script, line, path, strerror(errno));
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
		if (out->len + n > (size_t)MAX_BODY)
			die("%s:%d: body_file %s is larger than %ld bytes", script, line, path, MAX_BODY);
		buf_add(out, tmp, n);
	}
	if (ferror(f))
		die("%s:%d: body_file %s: read error", script, line, path);
	fclose(f);
}

static void rule_free(struct rule *r)
{
	free(r->name);
	free(r->method);
	free(r->path);
	list_free(&r->body_has);
	list_free(&r->body_not);
	list_free(&r->hdr_match);
	list_free(&r->headers);
	list_free(&r->events);
	free(r->body.p);
	free(r->pending_event);
}

static void rules_free(void)
{
	for (size_t i = 0; i < g_nrules; i++)
		rule_free(&g_rules[i]);
	free(g_rules);
	g_rules = NULL;
	g_nrules = 0;
}

static void set_num(long *field, const char *v, long max, const char *kw, const char *script, int line)
{
	if (*field >= 0)
		die("%s:%d: %s given twice", script, line, kw);
	if (parse_long(v, 0, max, field))
		die("%s:%d: %s needs a number from 0 to %ld, not '%s'", script, line, kw, max, v);
}

static void set_str(char **field, const char *v, const char *kw, const char *script, int line)
{
	if (*field)
		die("%s:%d: %s given twice", script, line, kw);
	if (!*v)
		die("%s:%d: %s needs a value", script, line, kw);
	*field = xstrdup(v);
}

static void parse_action(struct rule *r, char *v, const char *script, int line)
{
	static const struct { const char *name; enum action act; int arg; /* 0 none, 1 required, 2 optional */ } kinds[] = {
		{ "reset_after", ACT_RESET_AFTER, 1 }, { "close_after", ACT_CLOSE_AFTER, 1 },
		{ "hang", ACT_HANG, 0 }, { "drip", ACT_DRIP, 1 }, { "huge", ACT_HUGE, 1 },
		{ "huge_sse", ACT_HUGE_SSE, 1 }, { "exit", ACT_EXIT, 2 },
		{ "close_idle", ACT_CLOSE_IDLE, 0 }, { "hold_after", ACT_HOLD_AFTER, 1 },
		{ "flood", ACT_FLOOD, 1 },
	};
	char *arg = v + strcspn(v, " \t");

	if (r->act != ACT_NONE)
		die("%s:%d: only one action per rule", script, line);
	if (*arg)
		*arg++ = '\0';
	arg = trim(arg);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(v, kinds[i].name))
			continue;
		r->act = kinds[i].act;
		r->act_arg = 0;
		if (kinds[i].arg == 0 && *arg)
			die("%s:%d: action %s takes no argument", script, line, v);
		if (kinds[i].arg == 1 && !*arg)
			die("%s:%d: action %s needs a number", script, line, v);
		if (*arg && parse_long(arg, 0, r->act == ACT_EXIT ? 255 : LONG_MAX, &r->act_arg))
			die("%s:%d: action %s: bad number '%s'", script, line, v, arg);
		return;
	}
	die("%s:%d: unknown action '%s' (reset_after, close_after, hold_after, hang, drip, huge, "
	    "huge_sse, flood, exit, close_idle)",
	    script, line, v);
}

static void rule_finish(struct rule *r, const char *script, int line)
{
	if (r->pending_event)
		die("%s:%d: sse_event %s has no sse line after it", script, line, r->pending_event);
	if (r->has_body && r->events.n)
		die("%s:%d: rule has both a body and sse/raw events", script, r->line);
	if (r->status < 0)
		r->status = 200;
	if (r->delay_ms < 0)
		r->delay_ms = 0;
	if (r->first_delay_ms < 0)
		r->first_delay_ms = 0;
	if (r->chunk_delay_ms < 0)
		r->chunk_delay_ms = 0;
	if (r->act == ACT_DRIP && r->act_arg < 1)
		die("%s:%d: drip needs at least 1 ms", script, r->line);
}

static void load_script(const char *script)
{
	FILE *f = fopen(script, "r");
	char *line = NULL, *dir;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	struct rule *r = NULL;
	const char *slash = strrchr(script, '/');

	if (!f)
		die("cannot open script %s: %s", script, strerror(errno));
	/* body_file paths are relative to the script, so tests run from anywhere. */
	dir = slash ? xstrndup(script, (size_t)(slash - script)) : xstrdup(".");

	while ((n = getline(&line, &cap, f)) >= 0) {
		char *kw, *raw, *v, *vcopy;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		kw = line;
		while (*kw == ' ' || *kw == '\t')
			kw++;
		if (!*kw || *kw == '#')
			continue;
		raw = kw + strcspn(kw, " \t");
		if (*raw)
			*raw++ = '\0';   /* raw: the verbatim value, after one separator */
		vcopy = xstrdup(raw);  /* trim() works in place; raw stays verbatim */
		v = trim(vcopy);

		if (!strcmp(kw, "rule")) {
			if (r)
				die("%s:%d: 'rule' inside a rule (missing 'end' for line %d)", script, lineno, r->line);
			g_rules = xrealloc(g_rules, (g_nrules + 1) * sizeof *g_rules);
			r = &g_rules[g_nrules++];
			memset(r, 0, sizeof *r);
			r->line = lineno;
			r->times = -1;
			r->status = -1;
			r->delay_ms = r->first_delay_ms = r->chunk_delay_ms = -1;
			if (*v)
				r->name = xstrdup(v);
		} else if (!r) {
			die("%s:%d: '%s' outside a rule (start one with 'rule')", script, lineno, kw);
		} else if (!strcmp(kw, "end")) {
			rule_finish(r, script, lineno);
			r = NULL;
		} else if (!strcmp(kw, "match_method")) {
			set_str(&r->method, v, kw, script, lineno);
		} else if (!strcmp(kw, "match_path")) {
			set_str(&r->path, v, kw, script, lineno);
		} else if (!strcmp(kw, "match_body")) {
			if (!*raw)
				die("%s:%d: match_body needs text", script, lineno);
			list_add(&r->body_has, xstrdup(raw));
		} else if (!strcmp(kw, "match_body_not")) {
			if (!*raw)
				die("%s:%d: match_body_not needs text", script, lineno);
			list_add(&r->body_not, xstrdup(raw));
		} else if (!strcmp(kw, "match_header")) {
			if (!*v)
				die("%s:%d: match_header needs a header name", script, lineno);
			list_add(&r->hdr_match, xstrdup(v));
		} else if (!strcmp(kw, "times")) {
			set_num(&r->times, v, LONG_MAX, kw, script, lineno);
		} else if (!strcmp(kw, "status")) {
			long s = -1;

			if (r->status >= 0)
				die("%s:%d: status given twice", script, lineno);
			if (parse_long(v, 100, 599, &s))
				die("%s:%d: status needs a number from 100 to 599, not '%s'", script, lineno, v);
			r->status = (int)s;
		} else if (!strcmp(kw, "header")) {
			const char *colon = strchr(raw, ':');

			if (!colon || colon == raw)
				die("%s:%d: header needs 'Name: value'", script, lineno);
			list_add(&r->headers, xstrdup(raw));
		} else if (!strcmp(kw, "serial")) {
			r->serial = 1;
		} else if (!strcmp(kw, "delay_ms")) {
			set_num(&r->delay_ms, v, 3600000, kw, script, lineno);
		} else if (!strcmp(kw, "first_delay_ms")) {
			set_num(&r->first_delay_ms, v, 3600000, kw, script, lineno);
		} else if (!strcmp(kw, "chunk_delay_ms")) {
			set_num(&r->chunk_delay_ms, v, 3600000, kw, script, lineno);
		} else if (!strcmp(kw, "body")) {
			if (r->body_from_file)
				die("%s:%d: body after body_file", script, lineno);
			if (r->has_body)
				buf_add(&r->body, "\n", 1);
			buf_str(&r->body, raw);
			r->has_body = 1;
		} else if (!strcmp(kw, "body_file")) {
			struct buf path = { 0 };

			if (r->has_body)
				die("%s:%d: body_file with another body", script, lineno);
			if (!*v)
				die("%s:%d: body_file needs a path", script, lineno);
			if (*v != '/')
				buf_printf(&path, "%s/", dir);
			buf_str(&path, v);
			read_file(path.p, &r->body, script, lineno);
			buf_add(&r->body, "", 0);  /* an empty file still gets a buffer */
			free(path.p);
			r->has_body = 1;
			r->body_from_file = 1;
		} else if (!strcmp(kw, "sse_event")) {
			if (r->pending_event)
				die("%s:%d: two sse_event lines without an sse line between", script, lineno);
			if (!*v)
				die("%s:%d: sse_event needs a name", script, lineno);
			r->pending_event = xstrdup(v);
		} else if (!strcmp(kw, "sse")) {
			struct buf ev = { 0 };

			if (r->pending_event) {
				buf_printf(&ev, "event: %s\n", r->pending_event);
				free(r->pending_event);
				r->pending_event = NULL;
			}
			buf_str(&ev, raw);
			buf_str(&ev, "\n\n");
			list_add(&r->events, ev.p);
		} else if (!strcmp(kw, "raw")) {
			struct buf ev = { 0 };

			if (unescape(raw, &ev) || ev.len == 0)
				die("%s:%d: raw needs non-empty text with valid escapes (\\n \\r \\t \\\\ \\xHH)",
				    script, lineno);
			/* A zero byte would end the string; the events list holds C strings. */
			if (memchr(ev.p, '\0', ev.len))
				die("%s:%d: raw cannot contain \\x00", script, lineno);
			list_add(&r->events, ev.p);
		} else if (!strcmp(kw, "action")) {
			parse_action(r, v, script, lineno);
		} else {
			die("%s:%d: unknown directive '%s'", script, lineno, kw);
		}
		free(vcopy);
	}
	if (r)
		die("%s:%d: rule from line %d has no 'end'", script, lineno, r->line);
	free(line);
	free(dir);
	fclose(f);
}

/* ---------------------------------------------------------------- requests */

/* Finds header `name` in the header block; returns its trimmed value. */
static const char *header_find(const struct request *rq, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = rq->head, *end = rq->head + rq->head_len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *v, *ve;

		if (le > p && le[-1] == '\r')
			le--;
		if ((size_t)(le - p) > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
			v = p + nlen + 1;
			ve = le;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol ? eol + 1 : end;
	}
	return NULL;
}

/* Does a comma-separated header value hold `token` (any case)? */
static int has_token(const char *v, size_t vlen, const char *token)
{
	size_t tlen = strlen(token);

	for (size_t i = 0; i + tlen <= vlen; i++)
		if (!strncasecmp(v + i, token, tlen) &&
		    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
		    (i + tlen == vlen || v[i + tlen] == ',' || v[i + tlen] == ' '))
			return 1;
	return 0;
}

static int rule_matches(const struct rule *r, const struct request *rq)
{
	if (r->method && strcmp(r->method, rq->method))
		return 0;
	if (r->path && strcmp(r->path, rq->path))
		return 0;
	for (size_t i = 0; i < r->body_has.n; i++)
		if (!memmem(rq->body, rq->body_len, r->body_has.v[i], strlen(r->body_has.v[i])))
			return 0;
	for (size_t i = 0; i < r->body_not.n; i++)
		if (memmem(rq->body, rq->body_len, r->body_not.v[i], strlen(r->body_not.v[i])))
			return 0;
	for (size_t i = 0; i < r->hdr_match.n; i++) {
		char name[256];
		const char *spec = r->hdr_match.v[i], *colon = strchr(spec, ':');
		size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec), vlen;
		const char *v;

		snprintf(name, sizeof name, "%.*s", (int)nlen, spec);
		v = header_find(rq, trim(name), &vlen);
		if (!v)
			return 0;
		if (colon) {
			const char *want = colon + 1;

			while (*want == ' ' || *want == '\t')
				want++;
			if (strlen(want) != vlen || memcmp(want, v, vlen))
				return 0;
		}
	}
	return 1;
}

/* Writes s so that it stays on one log line. */
static void log_escaped(const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7f && c != '\\')
			continue;
		fwrite(s + run, 1, i - run, g_log);
		run = i + 1;
		switch (c) {
		case '\\': fputs("\\\\", g_log); break;
		case '\n': fputs("\\n", g_log); break;
		case '\r': fputs("\\r", g_log); break;
		case '\t': fputs("\\t", g_log); break;
		default: fprintf(g_log, "\\x%02x", c); break;
		}
	}
	fwrite(s + run, 1, n - run, g_log);
}

/* Caller holds g_lock. */
static void log_request(unsigned long seq, const struct request *rq, const char *tag, const char *name)
{
	const char *p, *end;

	if (!g_log)
		return;
	fprintf(g_log, "%lu %s ", seq, rq->method[0] ? rq->method : "-");
	log_escaped(rq->target[0] ? rq->target : "-", rq->target[0] ? strlen(rq->target) : 1);
	fprintf(g_log, " %zu %s %s\n", rq->body_len, tag, name ? name : "-");
	fflush(g_log);
	fprintf(g_log, "%lu body ", seq);
	log_escaped(rq->body ? rq->body : "", rq->body ? rq->body_len : 0);
	fputc('\n', g_log);
	fflush(g_log);
	p = rq->head;
	end = p ? p + rq->head_len : p;
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		size_t len = (size_t)(le - p);

		if (len && p[len - 1] == '\r')
			len--;
		if (len) {
			fprintf(g_log, "%lu header ", seq);
			log_escaped(p, len);
			fputc('\n', g_log);
			fflush(g_log);
		}
		p = eol ? eol + 1 : end;
	}
}

static void close_conn(struct conn *c, int reset)
{
	if (c->fd < 0)
		return;
	if (reset) {
		/* SO_LINGER 0 makes close() send RST: the client sees ECONNRESET. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	} else {
		shutdown(c->fd, SHUT_WR);
	}
	close(c->fd);
	c->fd = -1;
}

/* After an error answer the client may still be sending a body we will not
 * read; closing with unread data makes the kernel send RST, which can destroy
 * our answer before the client reads it.  So: FIN first, then drain for a
 * short while. */
static void lingering_close(struct conn *c)
{
	long long until = now_ms() + 2000;
	char tmp[16384];

	shutdown(c->fd, SHUT_WR);
	while (now_ms() < until && !atomic_load(&g_stop)) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, SLICE_MS) <= 0)
			continue;
		r = recv(c->fd, tmp, sizeof tmp, 0);
		if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
	}
	close_conn(c, 0);
}

static void send_simple(struct conn *c, int status, const char *ctype, const char *body, int closing)
{
	struct buf b = { 0 };

	buf_printf(&b, "HTTP/1.1 %d %s\r\nServer: agentperf-fakeserver\r\nContent-Type: %s\r\n"
		   "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
		   status, reason(status), ctype, strlen(body), closing ? "close" : "keep-alive");
	buf_str(&b, body);
	send_all(c->fd, b.p, b.len);
	free(b.p);
}

/* A request the server refuses by itself (too big, malformed): log, answer,
 * close. */
static void protocol_error(struct conn *c, struct request *rq, int status, const char *msg)
{
	char body[512], tag[16];
	unsigned long seq;

	pthread_mutex_lock(&g_lock);
	seq = ++g_seq;
	snprintf(tag, sizeof tag, "%d", status);
	log_request(seq, rq, tag, NULL);
	pthread_mutex_unlock(&g_lock);
	snprintf(body, sizeof body,
		 "{\"error\":{\"message\":\"fakeserver: %s\",\"type\":\"invalid_request_error\",\"code\":%d}}",
		 msg, status);
	send_simple(c, status, "application/json", body, 1);
	lingering_close(c);
}

/* Reads more bytes into the connection buffer.  Returns bytes read, 0 on EOF,
 * -1 on error or stop. */
static ssize_t recv_more(struct conn *c)
{
	for (;;) {
		ssize_t r;

		if (c->cap - c->len < 4096) {
			c->cap = c->cap ? c->cap * 2 : 16384;
			c->buf = xrealloc(c->buf, c->cap);
		}
		r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r > 0) {
			c->len += (size_t)r;
			return r;
		}
		if (r == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (wait_fd(c->fd, POLLIN) < 0)
			return -1;
	}
}

/* Returns 1 with a complete request, 0 when the client closed between
 * requests, -1 when the connection is finished (error, stop, or an error
 * answer already sent). */
static int read_request(struct conn *c, struct request *rq)
{
	const char *end = NULL, *p, *sp1, *sp2, *eol, *v;
	size_t scan = 0, head_end, vlen, cl = 0;
	char version[16];

	memset(rq, 0, sizeof *rq);
	for (;;) {
		ssize_t r;

		if (c->len >= 4)
			end = memmem(c->buf + scan, c->len - scan, "\r\n\r\n", 4);
		if (end)
			break;
		scan = c->len > 3 ? c->len - 3 : 0;
		if (c->len > MAX_HEAD) {
			protocol_error(c, rq, 431, "request headers larger than 64 KiB");
			return -1;
		}
		r = recv_more(c);
		if (r == 0)
			return c->len == 0 ? 0 : -1;
		if (r < 0)
			return -1;
	}
	head_end = (size_t)(end - c->buf) + 4;
	if (head_end > MAX_HEAD) {
		protocol_error(c, rq, 431, "request headers larger than 64 KiB");
		return -1;
	}

	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	p = c->buf;
	eol = memchr(p, '\r', head_end);
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 ||
	    (size_t)(sp1 - p) >= sizeof rq->method || (size_t)(sp2 - sp1 - 1) >= sizeof rq->target ||
	    (size_t)(eol - sp2 - 1) >= sizeof version) {
		protocol_error(c, rq, 400, "malformed request line");
		return -1;
	}
	snprintf(rq->method, sizeof rq->method, "%.*s", (int)(sp1 - p), p);
	snprintf(rq->target, sizeof rq->target, "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
	snprintf(version, sizeof version, "%.*s", (int)(eol - sp2 - 1), sp2 + 1);
	snprintf(rq->path, sizeof rq->path, "%.*s", (int)strcspn(rq->target, "?"), rq->target);
	rq->head_len = head_end - (size_t)(eol + 2 - c->buf) - 2;
	rq->head = xstrndup(eol + 2, rq->head_len);
	if (strncmp(version, "HTTP/1.", 7)) {
		protocol_error(c, rq, 400, "not HTTP/1.x");
		return -1;
	}

	/* HTTP/1.1 keeps the connection unless told otherwise; 1.0 the reverse. */
	v = header_find(rq, "Connection", &vlen);
	if (!strcmp(version, "HTTP/1.1"))
		rq->keep_alive = !(v && has_token(v, vlen, "close"));
	else
		rq->keep_alive = v && has_token(v, vlen, "keep-alive");

	if (header_find(rq, "Transfer-Encoding", &vlen)) {
		protocol_error(c, rq, 501, "chunked request bodies are not supported");
		return -1;
	}
	v = header_find(rq, "Content-Length", &vlen);
	if (v) {
		char num[32];
		long n;

		if (vlen == 0 || vlen >= sizeof num || strspn(v, "0123456789") < vlen) {
			protocol_error(c, rq, 400, "bad Content-Length");
			return -1;
		}
		snprintf(num, sizeof num, "%.*s", (int)vlen, v);
		if (parse_long(num, 0, LONG_MAX, &n) || n > MAX_BODY) {
			protocol_error(c, rq, 413, "request body larger than 64 MiB");
			return -1;
		}
		cl = (size_t)n;
	}

	/* curl and libcurl send "Expect: 100-continue" with large bodies and
	 * wait (1 s by default) for this before sending the body. */
	v = header_find(rq, "Expect", &vlen);
	if (v && cl > 0 && c->len < head_end + cl && has_token(v, vlen, "100-continue")) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (send_all(c->fd, cont, sizeof cont - 1))
			return -1;
	}
	while (c->len < head_end + cl) {
		ssize_t r = recv_more(c);

		if (r <= 0)
			return -1;
	}
	rq->body = c->buf + head_end;
	rq->body_len = cl;
	rq->consumed = head_end + cl;
	return 1;
}

/* ----------------------------------------------------------------- replies */

static int rule_has_header(const struct rule *r, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->headers.n; i++)
		if (!strncasecmp(r->headers.v[i], name, n) && r->headers.v[i][n] == ':')
			return 1;
	return 0;
}

static int rule_forces_close(const struct rule *r)
{
	for (size_t i = 0; i < r->headers.n; i++) {
		const char *h = r->headers.v[i];

		if (!strncasecmp(h, "Connection:", 11) && has_token(h + 11, strlen(h + 11), "close"))
			return 1;
	}
	return 0;
}

/* Status line and headers.  content_length < 0 means chunked. */
static void build_head(struct buf *b, const struct rule *r, const char *ctype,
		       long long content_length, int closing, unsigned long seq)
{
	buf_printf(b, "HTTP/1.1 %d %s\r\nServer: agentperf-fakeserver\r\n", r->status, reason(r->status));
	if (!rule_has_header(r, "Content-Type"))
		buf_printf(b, "Content-Type: %s\r\n", ctype);
	if (content_length < 0)
		buf_str(b, "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
	else if (!rule_has_header(r, "Content-Length"))
		buf_printf(b, "Content-Length: %lld\r\n", content_length);
	if (!rule_has_header(r, "Connection"))
		buf_printf(b, "Connection: %s\r\n", closing ? "close" : "keep-alive");
	for (size_t i = 0; i < r->headers.n; i++) {
		expand(b, r->headers.v[i], strlen(r->headers.v[i]), seq);
		buf_str(b, "\r\n");
	}
	buf_str(b, "\r\n");
}

/* Sends data one byte every ms milliseconds. */
static int drip(struct conn *c, const char *data, size_t n, long ms)
{
	for (size_t i = 0; i < n; i++) {
		if (send_all(c->fd, data + i, 1))
			return -1;
		if (i + 1 < n && sleep_ms(ms))
			return -1;
	}
	return 0;
}

/* Keeps the socket open, reading and discarding, until the client leaves or
 * the server stops: a server that accepted the request and never answers. */
static void hang(struct conn *c)
{
	char tmp[4096];

	for (;;) {
		ssize_t r;

		if (wait_fd(c->fd, POLLIN) < 0)
			return;
		r = recv(c->fd, tmp, sizeof tmp, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return;
	}
}

static void fill(char *p, size_t n)
{
	/* Words rather than one repeated byte, so the padding looks like text. */
	static const char pad[] = "lorem ipsum dolor sit amet ";

	for (size_t i = 0; i < n; i++)
		p[i] = pad[i % (sizeof pad - 1)];
}

/* Sends `total` bytes: prefix, padding, suffix, generated piece by piece so
 * the server's memory stays small whatever N is.  chunked: one HTTP chunk per
 * piece. */
static int send_padded(struct conn *c, const char *prefix, const char *suffix, size_t total, int chunked)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), pad = total - plen - slen;
	char *piece = xrealloc(NULL, HUGE_PIECE);
	int rc = -1;

	if ((chunked ? send_chunk(c->fd, prefix, plen) : send_all(c->fd, prefix, plen)))
		goto out;
	while (pad) {
		size_t n = pad < HUGE_PIECE ? pad : HUGE_PIECE;

		fill(piece, n);
		if ((chunked ? send_chunk(c->fd, piece, n) : send_all(c->fd, piece, n)))
			goto out;
		pad -= n;
	}
	if ((chunked ? send_chunk(c->fd, suffix, slen) : send_all(c->fd, suffix, slen)))
		goto out;
	rc = 0;
out:
	free(piece);
	return rc;
}

static int serve_huge(struct conn *c, const struct rule *r, int closing, unsigned long seq, int sse)
{
	static const char jprefix[] =
		"{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion\",\"created\":1700000000,"
		"\"model\":\"fake-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
	static const char jsuffix[] =
		"\"},\"finish_reason\":\"stop\"}],"
		"\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";
	static const char sprefix[] =
		"data: {\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
		"\"model\":\"fake-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
	static const char ssuffix[] = "\"},\"finish_reason\":null}]}\n\n";
	static const char done[] = "data: [DONE]\n\n";
	const char *prefix = sse ? sprefix : jprefix, *suffix = sse ? ssuffix : jsuffix;
	size_t total = (size_t)r->act_arg, min = strlen(prefix) + strlen(suffix);
	struct buf b = { 0 };
	int rc;

	if (total < min)
		total = min;
	build_head(&b, r, sse ? "text/event-stream" : "application/json", sse ? -1 : (long long)total,
		   closing, seq);
	rc = send_all(c->fd, b.p, b.len);
	free(b.p);
	if (rc || send_padded(c, prefix, suffix, total, sse))
		return -1;
	if (sse && (send_chunk(c->fd, done, sizeof done - 1) || send_all(c->fd, "0\r\n\r\n", 5)))
		return -1;
	return 0;
}

/* Returns 1 to keep the connection, 0 to close it, -1 when it is gone. */
static int serve_rule(struct conn *c, const struct rule *r, const struct request *rq, unsigned long seq)
{
	int closing = !rq->keep_alive || rule_forces_close(r);
	int stream = r->events.n > 0;
	struct buf b = { 0 }, ev = { 0 };
	int rc = -1;

	if (r->act == ACT_EXIT) {
		/* A crashed server: no answer, sockets closed by the kernel.  The
		 * log was flushed line by line; this flush only makes sure. */
		if (g_log)
			fflush(g_log);
		_exit((int)r->act_arg);
	}
	if (r->serial) {
		/* one server, one queue: concurrent requests wait their turn, so
		 * latency grows with the load as a saturated model server's does.
		 * A ticket queue, not a bare mutex: a mutex lets a late request
		 * jump the queue on a loaded machine, and the latencies the load
		 * tests check (k in the queue, ~k x delay) then scatter. */
		static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
		static pthread_cond_t q_turn = PTHREAD_COND_INITIALIZER;
		static unsigned long q_next, q_serving;
		pthread_mutex_lock(&q_lock);
		unsigned long ticket = q_next++;
		int stop = 0;
		while (ticket != q_serving && !(stop = atomic_load(&g_stop))) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += SLICE_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&q_turn, &q_lock, &until);
		}
		pthread_mutex_unlock(&q_lock);
		if (stop) /* the server is stopping: no turn to hand on */
			return -1;
		stop = r->delay_ms && sleep_ms(r->delay_ms);
		pthread_mutex_lock(&q_lock);
		q_serving++;
		pthread_cond_broadcast(&q_turn);
		pthread_mutex_unlock(&q_lock);
		if (stop)
			return -1;
	} else if (r->delay_ms && sleep_ms(r->delay_ms)) {
		return -1;
	}
	if (r->act == ACT_HANG) {
		hang(c);
		return -1;
	}
	if (r->act == ACT_HUGE || r->act == ACT_HUGE_SSE)
		return serve_huge(c, r, closing, seq, r->act == ACT_HUGE_SSE) ? -1 : !closing;

	if (!stream) {
		struct buf body = { 0 };

		expand(&body, r->body.p ? r->body.p : "", r->body.len, seq);
		build_head(&b, r, "application/json", (long long)body.len, closing, seq);
		if (r->act == ACT_RESET_AFTER || r->act == ACT_CLOSE_AFTER) {
			size_t n = (size_t)r->act_arg < body.len ? (size_t)r->act_arg : body.len;

			buf_add(&b, body.p, n);
			send_all(c->fd, b.p, b.len);
			close_conn(c, r->act == ACT_RESET_AFTER);
		} else {
			buf_add(&b, body.p, body.len);
			if (r->act == ACT_DRIP)
				rc = drip(c, b.p, b.len, r->act_arg) ? -1 : !closing;
			else
				rc = send_all(c->fd, b.p, b.len) ? -1 : !closing;
		}
		free(body.p);
		free(b.p);
		return rc;
	}

	build_head(&b, r, "text/event-stream", -1, closing, seq);
	if (r->act == ACT_DRIP) {
		/* The whole reply, framing included, one byte at a time. */
		for (size_t i = 0; i < r->events.n; i++) {
			ev.len = 0;
			expand(&ev, r->events.v[i], strlen(r->events.v[i]), seq);
			buf_chunk(&b, ev.p, ev.len);
		}
		buf_str(&b, "0\r\n\r\n");
		rc = drip(c, b.p, b.len, r->act_arg) ? -1 : !closing;
		goto out;
	}
	if (send_all(c->fd, b.p, b.len))
		goto out;
	if (r->first_delay_ms && sleep_ms(r->first_delay_ms))
		goto out;
	if (r->act == ACT_FLOOD && r->events.n) {
		/* The first event N more times, as fast as the socket takes them. */
		ev.len = 0;
		expand(&ev, r->events.v[0], strlen(r->events.v[0]), seq);
		for (long k = 0; k < r->act_arg; k++)
			if (send_chunk(c->fd, ev.p, ev.len))
				goto out;
	}
	for (size_t i = 0; i < r->events.n; i++) {
		if ((r->act == ACT_RESET_AFTER || r->act == ACT_CLOSE_AFTER ||
		     r->act == ACT_HOLD_AFTER) && i == (size_t)r->act_arg)
			break;
		if (i > 0 && r->chunk_delay_ms && sleep_ms(r->chunk_delay_ms))
			goto out;
		ev.len = 0;
		expand(&ev, r->events.v[i], strlen(r->events.v[i]), seq);
		if (send_chunk(c->fd, ev.p, ev.len))
			goto out;
	}
	if (r->act == ACT_RESET_AFTER || r->act == ACT_CLOSE_AFTER) {
		/* No terminating chunk: the stream just ends (or is torn down). */
		close_conn(c, r->act == ACT_RESET_AFTER);
		goto out;
	}
	if (r->act == ACT_HOLD_AFTER) {
		/* No terminating chunk and no close: the connection stays open. */
		hang(c);
		goto out;
	}
	if (send_all(c->fd, "0\r\n\r\n", 5))
		goto out;
	rc = !closing;
out:
	free(b.p);
	free(ev.p);
	return rc;
}

static int handle(struct conn *c, const struct request *rq)
{
	static const char models[] =
		"{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\","
		"\"created\":1700000000,\"owned_by\":\"fakeserver\"}]}";
	const struct rule *r = NULL;
	const char *builtin = NULL;
	unsigned long seq;
	char tag[32];

	/* Choosing the rule, counting its use and logging happen under one lock,
	 * so "times" is exact under concurrency and the log is in seq order. */
	pthread_mutex_lock(&g_lock);
	seq = ++g_seq;
	for (size_t i = 0; i < g_nrules; i++) {
		struct rule *cand = &g_rules[i];

		if ((cand->times < 0 || cand->fired < cand->times) && rule_matches(cand, rq)) {
			cand->fired++;
			r = cand;
			snprintf(tag, sizeof tag, "%zu", i + 1);
			break;
		}
	}
	if (!r && !strcmp(rq->method, "GET")) {
		if (!strcmp(rq->path, "/health"))
			builtin = "{\"status\":\"ok\"}";
		else if (!strcmp(rq->path, "/v1/models"))
			builtin = models;
	}
	if (!r)
		snprintf(tag, sizeof tag, "%s", builtin ? "builtin" : "404");
	log_request(seq, rq, tag, r ? r->name : NULL);
	pthread_mutex_unlock(&g_lock);

	if (r) {
		int keep = serve_rule(c, r, rq, seq);
		if (r->act == ACT_CLOSE_IDLE)
			c->drop_next = 1;
		return keep;
	}
	if (builtin) {
		send_simple(c, 200, "application/json", builtin, !rq->keep_alive);
	} else {
		struct buf body = { 0 };

		buf_printf(&body, "{\"error\":{\"message\":\"fakeserver: no rule matches %s ", rq->method);
		/* JSON-escape the path minimally: it came from the client. */
		for (const char *p = rq->path; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_add(&body, "\\", 1);
			buf_add(&body, p, 1);
		}
		buf_str(&body, "\",\"type\":\"not_found_error\",\"code\":404}}");
		send_simple(c, 404, "application/json", body.p, !rq->keep_alive);
		free(body.p);
	}
	return rq->keep_alive;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		struct request rq;
		int r = read_request(c, &rq);

		if (r <= 0 || c->drop_next) {
			free(rq.head);
			break;
		}
		r = handle(c, &rq);
		free(rq.head);
		if (r <= 0)
			break;
		/* Keep bytes of a pipelined next request. */
		memmove(c->buf, c->buf + rq.consumed, c->len - rq.consumed);
		c->len -= rq.consumed;
		if (c->cap > (1 << 20) && c->len < (1 << 16)) {
			/* Give back the room a big body needed. */
			c->cap = 1 << 16;
			c->buf = xrealloc(c->buf, c->cap);
		}
	}
	close_conn(c, 0);
	free(c->buf);
	c->buf = NULL;
	atomic_store(&c->done, 1);
	return NULL;
}

/* -------------------------------------------------------------------- main */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, 1);
}

static void write_port_file(const char *path, int port)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		die("cannot write %s: %s", path, strerror(errno));
	}
}

static void usage(void)
{
	fputs("usage: fakeserver --script FILE [--port N] [--port-file FILE] [--log FILE]\n"
	      "                  [--bind 127.0.0.1] [--max-seconds N] [--check]\n"
	      "A scripted HTTP/1.1 model server on loopback for tests; see the top of\n"
	      "tests/fakeserver.c or tests/README.md for the script format.\n", stderr);
	exit(2);
}

/* Joins the threads that have finished; with all=1, waits for every one. */
static struct conn *reap(struct conn *list, int all, int *nconns)
{
	struct conn **pp = &list;

	while (*pp) {
		struct conn *c = *pp;

		if (all || atomic_load(&c->done)) {
			pthread_join(c->tid, NULL);
			*pp = c->next;
			free(c);
			(*nconns)--;
		} else {
			pp = &c->next;
		}
	}
	return list;
}

int main(int argc, char **argv)
{
	const char *script = NULL, *port_file = NULL, *log_path = NULL, *bind_addr = "127.0.0.1";
	long port = 0, max_seconds = 300;
	int check = 0, lfd, one = 1, nconns = 0, status = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof sa;
	struct conn *conns = NULL;
	struct sigaction act = { .sa_handler = on_signal };
	long long deadline;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--check")) {
			check = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage();
		if (!next)
			usage();
		i++;
		if (!strcmp(a, "--script"))
			script = next;
		else if (!strcmp(a, "--port-file"))
			port_file = next;
		else if (!strcmp(a, "--log"))
			log_path = next;
		else if (!strcmp(a, "--bind"))
			bind_addr = next;
		else if (!strcmp(a, "--port")) {
			if (parse_long(next, 0, 65535, &port))
				die("--port needs 0..65535, not '%s'", next);
		} else if (!strcmp(a, "--max-seconds")) {
			if (parse_long(next, 0, 86400 * 7, &max_seconds))
				die("--max-seconds needs a number of seconds, not '%s'", next);
		} else
			usage();
	}
	if (!script)
		usage();
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1 ||
	    (ntohl(sa.sin_addr.s_addr) >> 24) != 127)
		die("--bind must be an IPv4 loopback address (127.x.x.x), not '%s'", bind_addr);
	sa.sin_port = htons((unsigned short)port);

	load_script(script);
	if (check) {
		printf("%s: %zu rules\n", script, g_nrules);
		rules_free();
		return 0;
	}

	/* Without SA_RESTART so that a signal also interrupts poll() at once. */
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (log_path) {
		g_log = fopen(log_path, "a");
		if (!g_log)
			die("cannot open log %s: %s", log_path, strerror(errno));
	}

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0) {
		perror("fakeserver: socket");
		return 1;
	}
	/* SO_REUSEADDR: a test that kills the server and restarts it on the same
	 * port must not wait out TIME_WAIT. */
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 128)) {
		fprintf(stderr, "fakeserver: cannot listen on %s:%ld: %s\n", bind_addr, port, strerror(errno));
		close(lfd);
		return 1;
	}
	getsockname(lfd, (struct sockaddr *)&sa, &salen);
	if (port_file)
		write_port_file(port_file, ntohs(sa.sin_port));
	fprintf(stderr, "fakeserver: %zu rules, listening on %s:%d\n", g_nrules, bind_addr, ntohs(sa.sin_port));

	deadline = max_seconds ? now_ms() + max_seconds * 1000LL : 0;
	while (!atomic_load(&g_stop)) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		conns = reap(conns, 0, &nconns);
		if (deadline && now_ms() >= deadline) {
			fprintf(stderr, "fakeserver: --max-seconds %ld reached, exiting\n", max_seconds);
			status = 3;
			break;
		}
		if (poll(&p, 1, SLICE_MS) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (nconns >= MAX_CONNS) {
			close(fd);
			continue;
		}
		/* SSE events are small writes; Nagle plus delayed ACK would hold
		 * them back by up to 40 ms and distort measured gaps. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

		struct conn *c = xrealloc(NULL, sizeof *c);

		memset(c, 0, sizeof *c);
		c->fd = fd;
		atomic_init(&c->done, 0);
		if (pthread_create(&c->tid, NULL, conn_main, c)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = conns;
		conns = c;
		nconns++;
	}
	atomic_store(&g_stop, 1);   /* tell connection threads, then wait for them */
	close(lfd);
	reap(conns, 1, &nconns);
	if (g_log)
		fclose(g_log);
	rules_free();
	return status;
}
