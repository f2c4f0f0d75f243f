/*
 * The transport every backend shares: one try on one curl easy handle (the
 * loop's multi handle keeps connections alive between calls), timings on
 * CLOCK_MONOTONIC, SSE dispatch as bytes arrive, error classes. Transport
 * retries are the episode's (episode.c), as timers, never a sleep here.
 */
#include <errno.h>
#include <sys/socket.h>
#include <math.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "sse.h"
#include "config.h" /* written by make: version, commit, data folder */

atomic_int ap_interrupted;

struct http_xfer {
	CURL *curl;
	struct sbuf resp;       /* non-stream response or error body */
	struct sse_parser sse;
	struct sse_state st;
	const struct backend *b;
	const struct sbuf *body; /* the request body (the episode's) */
	void *user;
	struct call_result res; /* this try's outcome */
	uint64_t now;           /* arrival time of the bytes being parsed */
	bool is_sse;            /* response is an event stream */
	bool headers_seen;
	bool fresh;             /* this try was sent on a new connection */
	long http_status;
	enum call_status abort_status; /* set by callbacks that stop the transfer */
	uint64_t t_done;        /* when the stream's end marker came; 0: not yet */
	bool lingering;         /* counted in `lingering` below */
	CURLU *url;             /* the endpoint, parsed once for all of this handle's tries */
	int sock_errno;         /* socket() failed with this (EMFILE ...): the client's fault */
};

/*
 * curl's socket opener, wrapped so that a socket() that fails for want of
 * descriptors or memory is known as such: curl itself reports it as
 * "couldn't connect", which would blame the server (CURLINFO_OS_ERRNO is not
 * set for it).
 */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_xfer *c = ud;
	(void)purpose;
	/* CLOEXEC: a child started during a run must not hold our sockets (the
	 * loop's parked sockets rely on a close dropping them from epoll). */
	curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == CURL_SOCKET_BAD)
		c->sock_errno = errno;
	return fd;
}

/*
 * Transfers of this thread's loop whose stream ended ([DONE], message_stop)
 * but whose HTTP body has not: the loop cuts them HTTP_LINGER_NS after the
 * marker (a server that keeps the connection open after a whole answer).
 */
static _Thread_local int lingering;
#define HTTP_LINGER_NS 200000000ull

static void linger_end(struct http_xfer *c)
{
	if (c->lingering) {
		c->lingering = false;
		lingering--;
	}
}

int http_lingering(void)
{
	return lingering;
}

uint64_t http_xfer_linger_deadline(const struct http_xfer *c)
{
	return c->lingering ? c->t_done + HTTP_LINGER_NS : 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* No proxy variable in the environment: then every transfer is told so, and
 * curl stops reading the environment for it (no_proxy, NO_PROXY, http_proxy,
 * all_proxy, ALL_PROXY: five getenv scans a transfer, even on a reused
 * connection, ~1 % of the client's instructions). With any of them set,
 * curl's own rules apply unchanged. Read once: the environment does not
 * change during a run. */
static bool no_proxy_env;

static void curl_init_once(void)
{
	static const char *const vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
					    "all_proxy", "ALL_PROXY" };
	curl_global_init(CURL_GLOBAL_DEFAULT);
	no_proxy_env = true;
	for (size_t i = 0; i < AP_ARRAY_SIZE(vars); i++)
		if (getenv(vars[i]))
			no_proxy_env = false;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct http_xfer *c = ud;
	size_t len = size * n;
	/* Most header lines are none of the three: their first byte says so,
	 * before any string compare (strncasecmp is a library call with its
	 * locale's case table: with three of them a line the callback took 1.1k
	 * instructions a call against nginx's seven headers, now 0.3k; callgrind). */
	char first = len ? (char)(buf[0] | 0x20) : 0;
	if (first != 'h' && first != 'c' && first != 'r')
		return len;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* A new response (after a redirect or 100-continue) resets what we knew. */
		c->is_sse = false;
		c->res.retry_after_s = -1;
		return len;
	}
	if (len > 13 && !strncasecmp(buf, "content-type:", 13)) {
		const char *v = buf + 13;
		while (*v == ' ')
			v++;
		c->is_sse = !strncasecmp(v, "text/event-stream", 17);
	} else if (len > 12 && !strncasecmp(buf, "retry-after:", 12)) {
		char v[64];
		snprintf(v, sizeof(v), "%.*s", (int)(len - 12), buf + 12);
		v[strcspn(v, "\r\n")] = '\0';
		char *end;
		double s = strtod(v, &end);
		if (end != v && s >= 0) {
			c->res.retry_after_s = s;
		} else {
			time_t when = curl_getdate(v, NULL);
			if (when > 0)
				c->res.retry_after_s = difftime(when, time(NULL)) > 0 ? difftime(when, time(NULL)) : 0;
		}
	}
	return len;
}

/* Every event of one read has the same arrival time: when its bytes came in. */
static int on_sse(void *ctx, const char *event, const char *data)
{
	struct http_xfer *c = ctx;
	struct call_result *r = &c->res;
	int rc = c->b->ops->sse_event(r, &c->st, event, data, c->now);
	if (rc)
		return rc;
	/* max_body bounds the whole answer, not one event: many small deltas add up. */
	if (r->text.len + r->tool_bytes > (size_t)c->b->max_body) {
		snprintf(r->error, sizeof(r->error),
			 "streamed answer over %ld bytes (content and tool-call arguments)",
			 c->b->max_body);
		return -E2BIG;
	}
	if (c->st.done && !c->t_done) {
		c->t_done = c->now;
		c->lingering = true;
		lingering++;
		return 1; /* stop parsing: what follows the end marker is not the answer */
	}
	return 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct http_xfer *c = ud;
	struct call_result *r = &c->res;
	size_t len = size * n;
	uint64_t now = c->now = ap_now_ns();
	if (!c->headers_seen) {
		c->headers_seen = true;
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->http_status);
	}
	if (!r->bytes && !c->is_sse)
		r->t_first = now;
	r->bytes += len;
	bool ok_status = c->http_status >= 200 && c->http_status < 300;
	if (c->is_sse && ok_status) {
		/* After [DONE] / message_stop the call is complete: later bytes are ignored. */
		if (c->t_done)
			return len;
		int rc = sse_feed(&c->sse, buf, len, on_sse, c);
		if (rc == -E2BIG) {
			c->abort_status = CALL_ERR_TOO_LARGE;
			if (!r->error[0])
				snprintf(r->error, sizeof(r->error), "stream event over %zu bytes",
					 c->sse.max_event);
			return 0;
		}
		if (rc == 1 && c->t_done)
			return len;
		if (rc) {
			c->abort_status = CALL_ERR_MALFORMED;
			if (!r->error[0])
				snprintf(r->error, sizeof(r->error), "malformed stream event");
			return 0;
		}
		return len;
	}
	/* Error bodies only need enough for a message; success bodies up to max_body. */
	size_t bound = ok_status ? (size_t)c->b->max_body : 65536;
	if (c->resp.len + len > bound) {
		if (!ok_status)
			return len; /* keep the head of an error body, drop the rest */
		c->abort_status = CALL_ERR_TOO_LARGE;
		snprintf(r->error, sizeof(r->error), "response body over %ld bytes", c->b->max_body);
		return 0;
	}
	if (sbuf_add(&c->resp, buf, len)) {
		c->abort_status = CALL_ERR_TOO_LARGE;
		snprintf(r->error, sizeof(r->error), "out of memory buffering the response");
		return 0;
	}
	return len;
}

int http_headers_new(const struct backend *b, struct curl_slist **out)
{
	const char *key = b->key_env ? getenv(b->key_env) : NULL;
	if (key && !*key)
		key = NULL;
	/* Expect: 100-continue would add a round trip to every large prompt.
	 * curl's default Accept (any type) says nothing to an API; the User-Agent as a header of
	 * ours is formatted once per request, where CURLOPT_USERAGENT's went
	 * through curl's byte-at-a-time printf twice (curl 7.88: its printf was
	 * a third of curl's instructions per call). */
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	struct curl_slist *t = h ? curl_slist_append(h, "Accept:") : NULL;
	if (t)
		h = t;
	t = t ? curl_slist_append(h, "User-Agent: agentperf/" AGENTPERF_VERSION) : NULL;
	if (t)
		h = t;
	if (!t || b->ops->headers(b, key, &h)) {
		curl_slist_free_all(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

int http_xfer_new(struct http_xfer **out, const struct backend *b, struct curl_slist *headers,
		  void *user)
{
	pthread_once(&curl_once, curl_init_once);
	struct http_xfer *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return -ENOMEM;
	}
	c->b = b;
	c->user = user;
	call_result_reset(&c->res);
	sse_init(&c->sse, (size_t)b->max_body);
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_PRIVATE, c);
	/* A parsed URL handle spares curl from parsing the endpoint again on
	 * every try (CURLOPT_URL is re-parsed per transfer); same URL, same result. */
	c->url = curl_url();
	if (c->url && curl_url_set(c->url, CURLUPART_URL, b->endpoint, 0) == CURLUE_OK) {
		curl_easy_setopt(h, CURLOPT_CURLU, c->url);
	} else {
		curl_url_cleanup(c->url);
		c->url = NULL;
		curl_easy_setopt(h, CURLOPT_URL, b->endpoint);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
	/* Interrupts are the loop's (it abandons its transfers), not a progress callback's. */
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(b->timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(b->connect_timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, b->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, b->insecure ? 0L : 2L);
	/* Belt and braces with backend_parse's check: never another protocol, never a redirect. */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (no_proxy_env) {
		curl_easy_setopt(h, CURLOPT_PROXY, "");
		curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	}
	*out = c;
	return 0;
}

void http_xfer_free(struct http_xfer *c)
{
	if (!c)
		return;
	linger_end(c);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_url_cleanup(c->url);
	sbuf_free(&c->resp);
	sse_free(&c->sse);
	call_result_free(&c->res);
	free(c);
}

CURL *http_xfer_easy(struct http_xfer *x)
{
	return x->curl;
}

struct call_result *http_xfer_result(struct http_xfer *x)
{
	return &x->res;
}

void *http_xfer_user(struct http_xfer *x)
{
	return x->user;
}

static void error_detail(struct call_result *r, const struct sbuf *body)
{
	/* Servers put the reason in error.message (OpenAI, Anthropic, llama-server). */
	cJSON *j = body->len ? cJSON_ParseWithLength(body->s, body->len) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
	if (cJSON_IsString(m))
		snprintf(r->error, sizeof(r->error), "HTTP %d: %.200s", r->http_status, m->valuestring);
	else
		snprintf(r->error, sizeof(r->error), "HTTP %d", r->http_status);
	cJSON_Delete(j);
}

void http_xfer_prepare(struct http_xfer *c, const struct sbuf *body, bool fresh, uint64_t now)
{
	struct call_result *r = &c->res;
	call_result_reset(r);
	c->is_sse = false;
	c->headers_seen = false;
	c->http_status = 0;
	c->abort_status = CALL_OK;
	c->sock_errno = 0;
	linger_end(c);
	c->t_done = 0;
	sse_state_reset(&c->st);
	sse_reset(&c->sse);
	sbuf_reset(&c->resp);
	/* Only a big response's buffer is given back: the next one would grow it again. */
	if (c->resp.cap > (1u << 20))
		sbuf_free(&c->resp);
	c->fresh = fresh;
	if (body)
		c->body = body;
	curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->body->s ? c->body->s : "");
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body->len);
	r->t_start = r->t_send = now;
}

void http_xfer_abort(struct http_xfer *c, enum call_status st, uint64_t now)
{
	struct call_result *r = &c->res;
	linger_end(c);
	r->t_end = now;
	r->status = st;
	long code = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	r->http_status = (int)code;
	snprintf(r->error, sizeof(r->error), "interrupted");
}

bool http_xfer_done(struct http_xfer *c, CURLcode cc, uint64_t now)
{
	struct call_result *r = &c->res;
	long code = 0, fresh = 1;
	linger_end(c);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &fresh);
	if ((cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING) &&
	    !fresh && !c->fresh && !code && !r->bytes && c->abort_status == CALL_OK &&
	    !ap_interrupted) {
		/*
		 * Nothing came back on a reused connection: the server closed it
		 * while idle, as we sent (llama-server closes after every stream
		 * without saying so). That is not the server failing, so the call
		 * goes again at once on a new connection, with no backoff and not
		 * counted as a transport retry; its times start from that send.
		 */
		ap_debug("call to %s: reused connection was closed (%s), reconnecting", c->b->label,
			 curl_easy_strerror(cc));
		return true;
	}
	r->t_end = now;
	r->http_status = (int)code;
	/*
	 * The end marker came, so the answer is whole whatever the stream did
	 * next (closed without the final chunk, reset, kept open and cut by the
	 * loop, more bytes): complete, not truncated, transport (retried: the
	 * answer generated again), timeout or malformed.
	 */
	if (c->t_done && c->abort_status == CALL_OK && code >= 200 && code < 300) {
		if (cc != CURLE_OK)
			ap_debug("call to %s: stream complete, then %s; recorded as complete",
				 c->b->label, curl_easy_strerror(cc));
		r->t_end = c->t_done;
		return false;
	}

	if (c->abort_status != CALL_OK) {
		r->status = c->abort_status;
		return false;
	}
	long os_errno = c->sock_errno;
	if (!os_errno)
		curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	if (cc != CURLE_OK &&
	    (os_errno == EMFILE || os_errno == ENFILE || os_errno == ENOBUFS || os_errno == ENOMEM)) {
		/* socket() failing here is agentperf out of descriptors or memory, not the server. */
		r->status = CALL_ERR_CLIENT;
		snprintf(r->error, sizeof(r->error), "client out of resources: %s (%s)",
			 strerror((int)os_errno), curl_easy_strerror(cc));
		return false;
	}
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		r->status = CALL_ERR_CONNECT;
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(cc));
		return false;
	case CURLE_OPERATION_TIMEDOUT:
		r->status = CALL_ERR_TIMEOUT;
		snprintf(r->error, sizeof(r->error), "no complete answer within %.0f s (%zu bytes received)",
			 c->b->timeout_s, r->bytes);
		return false;
	case CURLE_PARTIAL_FILE:
		r->status = CALL_ERR_TRUNCATED;
		snprintf(r->error, sizeof(r->error), "body ended early: %s", curl_easy_strerror(cc));
		return false;
	default:
		r->status = CALL_ERR_TRANSPORT;
		snprintf(r->error, sizeof(r->error), "%s (%zu bytes received)", curl_easy_strerror(cc),
			 r->bytes);
		return false;
	}
	if (code == 429 || code >= 500 || code < 200 || code >= 300) {
		r->status = code == 429 ? CALL_ERR_HTTP_429
			    : code >= 500 ? CALL_ERR_HTTP_5XX
			    : code >= 400 ? CALL_ERR_HTTP_4XX
					  : CALL_ERR_MALFORMED;
		error_detail(r, &c->resp);
		return false;
	}
	if (c->is_sse) {
		/* A stream without its end marker lost its tail, whatever came before. */
		if (!c->st.done) {
			r->status = CALL_ERR_TRUNCATED;
			snprintf(r->error, sizeof(r->error), "stream ended before its end marker (%u chunks)",
				 r->n_chunks);
		}
		return false;
	}
	if (c->b->ops->parse_body(c->resp.s ? c->resp.s : "", c->resp.len, r)) {
		r->status = CALL_ERR_MALFORMED;
		return false;
	}
	/* One body carries all the content: the first token is the first byte. */
	r->t_last = r->t_end;
	r->n_chunks = r->text.len || r->n_calls ? 1 : 0;
	return false;
}
