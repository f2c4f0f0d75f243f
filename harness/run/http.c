/*
 * The transport every backend shares: one curl easy handle per worker (so
 * connections stay alive between calls), timings on CLOCK_MONOTONIC, SSE
 * dispatch, error classes, and bounded transport retries for connect errors,
 * timeouts, 429 and 5xx. Transport retries never count as task attempts.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "sse.h"

volatile int ap_interrupted;

struct http_client {
	CURL *curl;
	struct curl_slist *headers;
	struct sbuf body;       /* request body, reused */
	struct sbuf resp;       /* non-stream response or error body */
	struct sse_parser sse;
	struct sse_state st;
	const struct backend *b;
	struct call_result *r;
	bool is_sse;            /* response is an event stream */
	bool headers_seen;
	long http_status;
	double retry_after_s;   /* from the Retry-After header, or -1 */
	enum call_status abort_status; /* set by callbacks that stop the transfer */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct http_client *c = ud;
	size_t len = size * n;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* A new response (after a redirect or 100-continue) resets what we knew. */
		c->is_sse = false;
		c->retry_after_s = -1;
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
			c->retry_after_s = s;
		} else {
			time_t when = curl_getdate(v, NULL);
			if (when > 0)
				c->retry_after_s = difftime(when, time(NULL)) > 0 ? difftime(when, time(NULL)) : 0;
		}
	}
	return len;
}

static int on_sse(void *ctx, const char *event, const char *data)
{
	struct http_client *c = ctx;
	int rc = c->b->ops->sse_event(c->r, &c->st, event, data, ap_now_ns());
	return rc ? rc : 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	struct http_client *c = ud;
	struct call_result *r = c->r;
	size_t len = size * n;
	uint64_t now = ap_now_ns();
	if (!c->headers_seen) {
		c->headers_seen = true;
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->http_status);
	}
	if (!r->bytes && !c->is_sse)
		r->t_first = now;
	r->bytes += len;
	bool ok_status = c->http_status >= 200 && c->http_status < 300;
	if (c->is_sse && ok_status) {
		int rc = sse_feed(&c->sse, buf, len, on_sse, c);
		if (rc == -E2BIG) {
			c->abort_status = CALL_ERR_TOO_LARGE;
			snprintf(r->error, sizeof(r->error), "stream event over %zu bytes", c->sse.max_event);
			return 0;
		}
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

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)ud, (void)a, (void)b, (void)c, (void)d;
	return ap_interrupted ? 1 : 0;
}

int http_client_new(struct http_client **out, const struct backend *b)
{
	pthread_once(&curl_once, curl_init_once);
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return -ENOMEM;
	}
	c->b = b;
	const char *key = b->key_env ? getenv(b->key_env) : NULL;
	if (key && !*key)
		key = NULL;
	/* Expect: 100-continue would add a round trip to every large prompt. */
	c->headers = curl_slist_append(NULL, "Expect:");
	if (!c->headers || b->ops->headers(b, key, &c->headers)) {
		http_client_free(c);
		return -ENOMEM;
	}
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_URL, b->endpoint);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(b->timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(b->connect_timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, b->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, b->insecure ? 0L : 2L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "agentperf/" AGENTPERF_VERSION);
	/* Belt and braces with backend_parse's check: never another protocol, never a redirect. */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	sbuf_free(&c->body);
	sbuf_free(&c->resp);
	sse_free(&c->sse);
	free(c);
}

static bool retryable(enum call_status s)
{
	return s == CALL_ERR_CONNECT || s == CALL_ERR_TIMEOUT || s == CALL_ERR_HTTP_429 ||
	       s == CALL_ERR_HTTP_5XX || s == CALL_ERR_TRANSPORT;
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

static void one_try(struct http_client *c, struct call_result *r)
{
	int retries = r->transport_retries;
	uint64_t t_start = r->t_start;
	char retry_error[sizeof(r->retry_error)];
	memcpy(retry_error, r->retry_error, sizeof(retry_error));
	call_result_reset(r);
	r->transport_retries = retries;
	r->t_start = t_start;
	memcpy(r->retry_error, retry_error, sizeof(retry_error));

	c->r = r;
	c->is_sse = false;
	c->headers_seen = false;
	c->http_status = 0;
	c->retry_after_s = -1;
	c->abort_status = CALL_OK;
	memset(&c->st, 0, sizeof(c->st));
	sse_free(&c->sse);
	sse_init(&c->sse, (size_t)c->b->max_body);
	sbuf_reset(&c->resp);

	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->body.s);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
	r->t_send = ap_now_ns();
	CURLcode cc = curl_easy_perform(c->curl);
	long code = 0, fresh = 1;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &fresh);
	if ((cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING) &&
	    !fresh && !code && !r->bytes && c->abort_status == CALL_OK && !ap_interrupted) {
		/*
		 * Nothing came back on a reused connection: the server closed it
		 * while idle, as we sent (llama-server closes after every stream
		 * without saying so). That is not the server failing, so the call
		 * goes again at once on a new connection, with no backoff and not
		 * counted as a transport retry; its times start from this send.
		 */
		ap_debug("call to %s: reused connection was closed (%s), reconnecting", c->b->label,
			 curl_easy_strerror(cc));
		curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
		r->t_send = ap_now_ns();
		cc = curl_easy_perform(c->curl);
		curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 0L);
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	}
	r->t_end = ap_now_ns();
	r->http_status = (int)code;

	if (c->abort_status != CALL_OK) {
		r->status = c->abort_status;
		return;
	}
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		r->status = CALL_ERR_INTERRUPTED;
		snprintf(r->error, sizeof(r->error), "interrupted");
		return;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		r->status = CALL_ERR_CONNECT;
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(cc));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		r->status = CALL_ERR_TIMEOUT;
		snprintf(r->error, sizeof(r->error), "no complete answer within %.0f s (%zu bytes received)",
			 c->b->timeout_s, r->bytes);
		return;
	case CURLE_PARTIAL_FILE:
		r->status = CALL_ERR_TRUNCATED;
		snprintf(r->error, sizeof(r->error), "body ended early: %s", curl_easy_strerror(cc));
		return;
	default:
		r->status = CALL_ERR_TRANSPORT;
		snprintf(r->error, sizeof(r->error), "%s (%zu bytes received)", curl_easy_strerror(cc),
			 r->bytes);
		return;
	}
	if (code == 429 || code >= 500 || code < 200 || code >= 300) {
		r->status = code == 429 ? CALL_ERR_HTTP_429
			    : code >= 500 ? CALL_ERR_HTTP_5XX
			    : code >= 400 ? CALL_ERR_HTTP_4XX
					  : CALL_ERR_MALFORMED;
		error_detail(r, &c->resp);
		return;
	}
	if (c->is_sse) {
		/* A stream without its end marker lost its tail, whatever came before. */
		if (!c->st.done) {
			r->status = CALL_ERR_TRUNCATED;
			snprintf(r->error, sizeof(r->error), "stream ended before its end marker (%u chunks)",
				 r->n_chunks);
		}
		return;
	}
	if (c->b->ops->parse_body(c->resp.s ? c->resp.s : "", c->resp.len, r)) {
		r->status = CALL_ERR_MALFORMED;
		return;
	}
	/* One body carries all the content: the first token is the first byte. */
	r->t_last = r->t_end;
	r->n_chunks = r->text.len || r->n_calls ? 1 : 0;
}

void http_call(struct http_client *c, const struct backend *b, const struct call_input *in,
	       struct call_result *r)
{
	call_result_reset(r);
	if (b->ops->build_body(b, in, b->stream, &c->body)) {
		r->status = CALL_ERR_TRANSPORT;
		snprintf(r->error, sizeof(r->error), "could not build the request body");
		r->t_start = r->t_send = r->t_end = ap_now_ns();
		return;
	}
	r->t_start = ap_now_ns();
	for (int attempt = 0;; attempt++) {
		one_try(c, r);
		if (r->status == CALL_OK || !retryable(r->status) || attempt >= b->max_retries ||
		    ap_interrupted)
			break;
		double wait = c->retry_after_s >= 0 ? c->retry_after_s : 0.25 * (double)(1u << attempt);
		if (wait > b->max_retry_wait_s)
			wait = b->max_retry_wait_s;
		ap_debug("call to %s failed (%s: %s), transport retry %d in %.2f s", b->label,
			 call_status_name(r->status), r->error, attempt + 1, wait);
		snprintf(r->retry_error, sizeof(r->retry_error), "%s: %.140s", call_status_name(r->status),
			 r->error);
		/* Sleep in slices so Ctrl-C is honoured during a long Retry-After. */
		uint64_t until = ap_now_ns() + (uint64_t)(wait * 1e9);
		while (!ap_interrupted && ap_now_ns() < until)
			ap_sleep_ns(20000000);
		if (ap_interrupted) {
			r->status = CALL_ERR_INTERRUPTED;
			break;
		}
		r->transport_retries++;
	}
}
