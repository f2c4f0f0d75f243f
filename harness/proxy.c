/*
 * agentperf proxy (proxy.h): libmicrohttpd in front, libcurl behind.
 *
 * Each agent connection has its own MHD thread. A captured call is driven in
 * that thread by its own curl multi handle: the access handler drives it
 * until the upstream's status line and headers are in, queues a response
 * whose content callback drives it further and hands on whatever bytes the
 * upstream sent, as they come (so a stream goes through event by event; no
 * second thread, no queue between threads). Connections to the upstream are
 * reused across calls through a curl share handle. The reply is parsed on the
 * way through with the backends' own parsers (backends/openai.c,
 * anthropic.c), so the capture says what the agent was told, not what a
 * second parser thinks.
 */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "backend.h"
#include "energy.h"
#include "jsonv.h"
#include "meta.h"
#include "sse.h"
#include "util.h"

#define PROXY_MAX_HDRS 64
#define PROXY_DEFAULT_MAX_BODY (64L << 20)

struct proxy_proto {
	const char *name;
	const char *endpoint;  /* canonical path, forwarded below the upstream root */
	const char *alt_path;  /* what a base URL without /v1 makes the client send */
	const char *key_header; /* header name the --key-env key goes in */
	const char *key_prefix;
	const struct backend_ops *ops;
};

/* Indexed by PROXY_OPENAI / PROXY_ANTHROPIC. */
static const struct proxy_proto protos[] = {
	{ "openai", "/v1/chat/completions", "/chat/completions", "Authorization", "Bearer ",
	  &openai_backend_ops },
	{ "anthropic", "/v1/messages", "/messages", "x-api-key", "", &anthropic_backend_ops },
};

/* Headers never forwarded in either direction: hop by hop, or set by the library. */
static const char *const hop_headers[] = { "host", "content-length", "connection", "keep-alive",
					   "transfer-encoding", "te", "trailer", "upgrade",
					   "proxy-authorization", "proxy-connection", "expect",
					   "accept-encoding", NULL };

struct proxy {
	struct proxy_opts o;
	const struct proxy_proto *pp;
	char *root;          /* upstream without a trailing / or /v1 */
	char *url;           /* root + endpoint */
	struct MHD_Daemon *d;
	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
	int fd;              /* capture file, O_APPEND */
	pthread_mutex_t lock; /* seq, counts, energy keys */
	long next_seq, calls, failed;
	uint64_t t0;         /* CLOCK_MONOTONIC at start: the capture's time origin */
	volatile int stopping;
	struct energy *en;
	long *ekeys;         /* seq of each finished call, for attribution at stop */
	size_t n_ekeys, cap_ekeys;
	int port;
};

struct hdr {
	char *name, *value;
};

struct pcall {
	struct proxy *P;
	long seq;
	struct MHD_Connection *conn;
	char method[16];
	char path[512];
	bool reject;           /* not the captured endpoint: 501 once the body is in */
	bool too_large;
	struct sbuf req;
	uint64_t t_recv;       /* request began arriving */
	uint64_t t_send;       /* request sent upstream */
	uint64_t t_first;      /* first reply byte (non-stream) */
	uint64_t t_end;
	uint64_t wall_start;
	CURLM *m;
	CURL *e;
	struct curl_slist *up_hdrs;
	char *secrets[4];      /* auth header values of this call, to scrub from recorded text */
	int n_secrets;
	bool headers_done;
	long http_status;
	struct hdr rh[PROXY_MAX_HDRS];
	int n_rh;
	bool is_sse;
	struct sbuf pend;      /* upstream bytes not yet given to the agent */
	size_t pend_off;
	struct sbuf body;      /* the reply body as recorded (bounded by max_body) */
	bool body_over;
	struct sse_parser sse;
	struct sse_state st;
	bool stream_bad;
	struct call_result r;
	bool xfer_done;
	CURLcode cc;
	char model[128];
	bool upstream_started;
};

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
	(void)h, (void)a;
	struct proxy *P = ud;
	pthread_mutex_lock(&P->share_lock[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
	(void)h;
	struct proxy *P = ud;
	pthread_mutex_unlock(&P->share_lock[d]);
}

static bool is_hop(const char *name)
{
	for (size_t i = 0; hop_headers[i]; i++)
		if (!strcasecmp(name, hop_headers[i]))
			return true;
	return false;
}

static double secs(uint64_t a, uint64_t b)
{
	return a && b && a >= b ? (double)(a - b) / 1e9 : NAN;
}

/* ---- recording ---- */

/* Replaces every occurrence of each secret in s (in place, same or shorter). */
static void scrub(const struct pcall *c, char *s)
{
	static const char mark[] = "[redacted]";
	for (int i = 0; s && i < c->n_secrets; i++) {
		size_t n = strlen(c->secrets[i]);
		if (n < 4)
			continue;
		char *p;
		while ((p = strstr(s, c->secrets[i]))) {
			size_t m = n < sizeof(mark) - 1 ? n : sizeof(mark) - 1;
			memcpy(p, mark, m);
			memmove(p + m, p + n, strlen(p + n) + 1);
		}
	}
}

static cJSON *json_num_or_null(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The call's status class and message, as http.c would give them. */
static void classify(struct pcall *c)
{
	struct call_result *r = &c->r;
	if (!c->xfer_done) {
		r->status = CALL_ERR_INTERRUPTED;
		snprintf(r->error, sizeof(r->error), "%s",
			 c->P->stopping ? "the proxy was stopped during the call"
					: "the agent closed the connection during the call");
		return;
	}
	long code = c->http_status;
	r->http_status = (int)code;
	switch (c->cc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		r->status = CALL_ERR_CONNECT;
		snprintf(r->error, sizeof(r->error), "upstream: %s", curl_easy_strerror(c->cc));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		r->status = CALL_ERR_TIMEOUT;
		snprintf(r->error, sizeof(r->error), "upstream: no complete answer within %.0f s",
			 c->P->o.timeout_s);
		return;
	case CURLE_PARTIAL_FILE:
		r->status = CALL_ERR_TRUNCATED;
		snprintf(r->error, sizeof(r->error), "upstream body ended early");
		return;
	default:
		r->status = CALL_ERR_TRANSPORT;
		snprintf(r->error, sizeof(r->error), "upstream: %s (%zu bytes passed on)",
			 curl_easy_strerror(c->cc), r->bytes);
		return;
	}
	if (code < 200 || code >= 300) {
		r->status = code == 429 ? CALL_ERR_HTTP_429
			    : code >= 500 ? CALL_ERR_HTTP_5XX
			    : code >= 400 ? CALL_ERR_HTTP_4XX
					  : CALL_ERR_MALFORMED;
		cJSON *j = c->body.len ? cJSON_ParseWithLength(c->body.s, c->body.len) : NULL;
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
		snprintf(r->error, sizeof(r->error), "HTTP %ld%s%.200s", code, cJSON_IsString(m) ? ": " : "",
			 cJSON_IsString(m) ? m->valuestring : "");
		cJSON_Delete(j);
		return;
	}
	if (c->body_over) {
		r->status = CALL_ERR_TOO_LARGE;
		snprintf(r->error, sizeof(r->error), "reply over %ld bytes: passed on, not recorded",
			 c->P->o.max_body);
		return;
	}
	if (c->is_sse) {
		if (c->stream_bad)
			r->status = CALL_ERR_MALFORMED; /* r->error says what */
		else if (!c->st.done) {
			r->status = CALL_ERR_TRUNCATED;
			snprintf(r->error, sizeof(r->error), "stream ended before its end marker");
		}
		return;
	}
	if (c->P->pp->ops->parse_body(c->body.s ? c->body.s : "", c->body.len, r))
		r->status = CALL_ERR_MALFORMED;
	cJSON *j = cJSON_ParseWithLength(c->body.s ? c->body.s : "", c->body.len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (cJSON_IsString(m))
		ap_scopy(c->model, sizeof(c->model), m->valuestring);
	cJSON_Delete(j);
}

static cJSON *reply_json(const struct pcall *c)
{
	const struct call_result *r = &c->r;
	cJSON *rep = cJSON_CreateObject();
	if (!rep)
		return NULL;
	char *text = ap_strdup(r->text.s ? r->text.s : "");
	if (text)
		scrub(c, text);
	cJSON_AddStringToObject(rep, "text", text ? text : "");
	free(text);
	cJSON *tcs = cJSON_AddArrayToObject(rep, "tool_calls");
	for (size_t i = 0; tcs && i < r->n_calls; i++) {
		cJSON *tc = cJSON_CreateObject();
		if (!tc)
			break;
		cJSON_AddItemToArray(tcs, tc);
		cJSON_AddStringToObject(tc, "id", r->calls[i].id ? r->calls[i].id : "");
		cJSON_AddStringToObject(tc, "name", r->calls[i].name ? r->calls[i].name : "");
		cJSON_AddStringToObject(tc, "arguments", r->calls[i].arguments ? r->calls[i].arguments : "");
	}
	if (r->finish_reason[0])
		cJSON_AddStringToObject(rep, "finish_reason", r->finish_reason);
	else
		cJSON_AddNullToObject(rep, "finish_reason");
	return rep;
}

/* One capture line (workloads/SCHEMA.md, "Captures"), written whole. */
static void write_line(struct pcall *c)
{
	struct proxy *P = c->P;
	struct call_result *r = &c->r;
	classify(c);
	cJSON *j = cJSON_CreateObject();
	if (!j)
		goto oom;
	cJSON_AddNumberToObject(j, "agentperf_capture", 1);
	cJSON_AddNumberToObject(j, "seq", (double)c->seq);
	cJSON_AddStringToObject(j, "protocol", P->pp->name);
	cJSON_AddStringToObject(j, "path", c->path);
	cJSON_AddNumberToObject(j, "t_start_unix", (double)c->wall_start / 1e9);
	cJSON_AddItemToObject(j, "t_start_s", json_num_or_null(secs(c->t_recv, P->t0)));
	cJSON_AddItemToObject(j, "t_end_s", json_num_or_null(secs(c->t_end, P->t0)));
	uint64_t first = c->is_sse ? r->t_first : c->t_first;
	cJSON_AddItemToObject(j, "ttft_s", json_num_or_null(secs(first, c->t_send)));
	cJSON_AddItemToObject(j, "e2e_s", json_num_or_null(secs(c->t_end, c->t_send)));
	cJSON_AddBoolToObject(j, "stream", c->is_sse);
	cJSON_AddNumberToObject(j, "http_status", (double)c->http_status);
	cJSON_AddStringToObject(j, "status", call_status_name(r->status));
	scrub(c, r->error);
	if (r->status != CALL_OK)
		cJSON_AddStringToObject(j, "error", r->error);
	cJSON *req = cJSON_ParseWithLength(c->req.s ? c->req.s : "", c->req.len);
	const cJSON *rm = cJSON_GetObjectItemCaseSensitive(req, "model");
	cJSON_AddStringToObject(j, "model", c->model[0] ? c->model
					     : cJSON_IsString(rm) ? rm->valuestring : "");
	if (req)
		cJSON_AddItemToObject(j, "request", req);
	else
		cJSON_AddStringToObject(j, "request_text", c->req.s ? c->req.s : "");
	cJSON *rep = reply_json(c);
	if (rep)
		cJSON_AddItemToObject(j, "reply", rep);
	if (r->usage_reported) {
		cJSON *u = cJSON_AddObjectToObject(j, "usage");
		cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
		cJSON_AddNumberToObject(u, "completion_tokens", (double)r->completion_tokens);
		cJSON_AddNumberToObject(u, "cached_tokens", (double)r->cached_tokens);
	} else {
		cJSON_AddNullToObject(j, "usage");
	}
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		goto oom;
	size_t n = strlen(s);
	s[n] = '\0';
	struct sbuf line = { 0 };
	if (sbuf_add(&line, s, n) || sbuf_add(&line, "\n", 1)) {
		free(s);
		sbuf_free(&line);
		goto oom;
	}
	free(s);
	pthread_mutex_lock(&P->lock);
	ssize_t w = write(P->fd, line.s, line.len);
	P->calls++;
	if (r->status != CALL_OK)
		P->failed++;
	if (P->en && P->n_ekeys < 1000000) {
		if (P->n_ekeys == P->cap_ekeys) {
			size_t nc = P->cap_ekeys ? 2 * P->cap_ekeys : 256;
			long *k = realloc(P->ekeys, nc * sizeof(*k));
			if (k) {
				P->ekeys = k;
				P->cap_ekeys = nc;
			}
		}
		if (P->n_ekeys < P->cap_ekeys)
			P->ekeys[P->n_ekeys++] = c->seq;
	}
	pthread_mutex_unlock(&P->lock);
	if (w != (ssize_t)line.len)
		ap_err("proxy: writing %s: %s", P->o.out, w < 0 ? strerror(errno) : "short write");
	sbuf_free(&line);
	/* The log names the call, never its headers. */
	ap_info("proxy: call %ld %s %s -> %ld %s%s%s", c->seq, c->method, c->path, c->http_status,
		call_status_name(r->status), r->status != CALL_OK ? ": " : "",
		r->status != CALL_OK ? r->error : "");
	return;
oom:
	ap_err("proxy: out of memory recording call %ld", c->seq);
}

/* ---- upstream (curl) ---- */

static size_t on_up_header(char *buf, size_t size, size_t n, void *ud)
{
	struct pcall *c = ud;
	size_t len = size * n;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* A new status line (after a 100 Continue too): forget earlier headers. */
		for (int i = 0; i < c->n_rh; i++) {
			free(c->rh[i].name);
			free(c->rh[i].value);
		}
		c->n_rh = 0;
		return len;
	}
	if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
		long code = 0;
		curl_easy_getinfo(c->e, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200) {
			c->http_status = code;
			c->headers_done = true;
		}
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon || c->n_rh >= PROXY_MAX_HDRS)
		return len;
	size_t nl = (size_t)(colon - buf);
	const char *v = colon + 1, *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	char *name = strndup(buf, nl), *value = strndup(v, (size_t)(end - v));
	if (!name || !value) {
		free(name);
		free(value);
		return 0;
	}
	if (!strcasecmp(name, "content-type") && strstr(value, "text/event-stream"))
		c->is_sse = true;
	if (is_hop(name)) {
		free(name);
		free(value);
		return len;
	}
	c->rh[c->n_rh++] = (struct hdr){ name, value };
	return len;
}

static int on_up_sse(void *ctx, const char *event, const char *data)
{
	struct pcall *c = ctx;
	if (!c->model[0]) {
		cJSON *j = cJSON_Parse(data);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
		if (!cJSON_IsString(m)) /* anthropic: message_start carries message.model */
			m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "message"),
							     "model");
		if (cJSON_IsString(m))
			ap_scopy(c->model, sizeof(c->model), m->valuestring);
		cJSON_Delete(j);
	}
	if (c->stream_bad)
		return 0;
	if (c->P->pp->ops->sse_event(&c->r, &c->st, event, data, ap_now_ns()))
		c->stream_bad = true; /* recorded as malformed; the bytes still go through */
	return 0;
}

static size_t on_up_body(char *buf, size_t size, size_t n, void *ud)
{
	struct pcall *c = ud;
	size_t len = size * n;
	if (!c->t_first)
		c->t_first = ap_now_ns();
	c->r.bytes += len;
	if (sbuf_add(&c->pend, buf, len))
		return 0;
	bool ok = c->http_status >= 200 && c->http_status < 300;
	if (c->is_sse && ok) {
		if (sse_feed(&c->sse, buf, len, on_up_sse, c) && !c->stream_bad) {
			c->stream_bad = true;
			snprintf(c->r.error, sizeof(c->r.error), "stream event over %ld bytes",
				 c->P->o.max_body);
		}
	} else if (!c->body_over) {
		if (c->body.len + len > (size_t)c->P->o.max_body || sbuf_add(&c->body, buf, len))
			c->body_over = true;
	}
	return len;
}

/* One step of the transfer: perform, then wait up to wait_ms for the socket. */
static void drive(struct pcall *c, int wait_ms)
{
	int running = 0;
	curl_multi_perform(c->m, &running);
	if (!running) {
		int q;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(c->m, &q)))
			if (msg->msg == CURLMSG_DONE)
				c->cc = msg->data.result;
		if (!c->headers_done) {
			long code = 0;
			curl_easy_getinfo(c->e, CURLINFO_RESPONSE_CODE, &code);
			c->http_status = code;
		}
		c->xfer_done = true;
		c->t_end = ap_now_ns();
		return;
	}
	curl_multi_poll(c->m, NULL, 0, wait_ms, NULL);
}

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
	struct sbuf b = { 0 };
	int rc = sbuf_addf(&b, "%s: %s", name, value);
	struct curl_slist *n = rc ? NULL : curl_slist_append(*l, b.s);
	sbuf_free(&b);
	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	struct pcall *c = cls;
	if (!key || !value || is_hop(key))
		return MHD_YES;
	if ((!strcasecmp(key, "authorization") || !strcasecmp(key, "x-api-key")) && c->n_secrets < 4) {
		/* The bearer token alone too, as an upstream may echo just that. */
		const char *tok = strncasecmp(value, "Bearer ", 7) ? value : value + 7;
		c->secrets[c->n_secrets++] = ap_strdup(value);
		if (tok != value && c->n_secrets < 4)
			c->secrets[c->n_secrets++] = ap_strdup(tok);
	}
	if (add_header(&c->up_hdrs, key, value))
		return MHD_NO;
	return MHD_YES;
}

static int upstream_begin(struct pcall *c)
{
	struct proxy *P = c->P;
	if (MHD_get_connection_values(c->conn, MHD_HEADER_KIND, copy_header, c) < 0)
		return -ENOMEM;
	const char *key = P->o.key_env ? getenv(P->o.key_env) : NULL;
	bool sent_key = false;
	for (int i = 0; i < c->n_secrets; i++)
		sent_key |= c->secrets[i] != NULL;
	if (key && *key && !sent_key) {
		struct sbuf v = { 0 };
		if (sbuf_addf(&v, "%s%s", P->pp->key_prefix, key) || add_header(&c->up_hdrs, P->pp->key_header, v.s)) {
			sbuf_free(&v);
			return -ENOMEM;
		}
		c->secrets[c->n_secrets++] = v.s;
		if (c->n_secrets < 4)
			c->secrets[c->n_secrets++] = ap_strdup(key);
	}
	/* Expect: 100-continue would add a round trip to every large prompt. */
	if (add_header(&c->up_hdrs, "Expect", "") )
		return -ENOMEM;
	if (!(c->m = curl_multi_init()) || !(c->e = curl_easy_init()))
		return -ENOMEM;
	sse_init(&c->sse, (size_t)P->o.max_body);
	CURL *h = c->e;
	curl_easy_setopt(h, CURLOPT_URL, P->url);
	curl_easy_setopt(h, CURLOPT_SHARE, P->share);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->req.s ? c->req.s : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->up_hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_up_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_up_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, NULL); /* the agent's own User-Agent goes through */
	if (P->o.timeout_s > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(P->o.timeout_s * 1000));
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_multi_add_handle(c->m, h);
	c->t_send = ap_now_ns();
	c->upstream_started = true;
	if (P->en)
		energy_call_begin(P->en, (uint64_t)c->seq, c->t_recv);
	return 0;
}

static void pcall_free(struct pcall *c)
{
	if (!c)
		return;
	if (c->m && c->e)
		curl_multi_remove_handle(c->m, c->e);
	if (c->e)
		curl_easy_cleanup(c->e);
	if (c->m)
		curl_multi_cleanup(c->m);
	curl_slist_free_all(c->up_hdrs);
	for (int i = 0; i < c->n_secrets; i++) {
		if (c->secrets[i])
			memset(c->secrets[i], 0, strlen(c->secrets[i]));
		free(c->secrets[i]);
	}
	for (int i = 0; i < c->n_rh; i++) {
		free(c->rh[i].name);
		free(c->rh[i].value);
	}
	sbuf_free(&c->req);
	sbuf_free(&c->pend);
	sbuf_free(&c->body);
	sse_free(&c->sse);
	call_result_free(&c->r);
	free(c);
}

/* ---- agent side (MHD) ---- */

static ssize_t content_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct pcall *c = cls;
	for (;;) {
		if (c->pend.len > c->pend_off) {
			size_t n = c->pend.len - c->pend_off;
			if (n > max)
				n = max;
			memcpy(buf, c->pend.s + c->pend_off, n);
			c->pend_off += n;
			if (c->pend_off == c->pend.len) {
				sbuf_reset(&c->pend);
				c->pend_off = 0;
			}
			return (ssize_t)n;
		}
		if (c->xfer_done)
			return c->cc == CURLE_OK ? MHD_CONTENT_READER_END_OF_STREAM
						 : MHD_CONTENT_READER_END_WITH_ERROR;
		if (c->P->stopping)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		drive(c, 50);
	}
}

static enum MHD_Result reply_json_error(struct MHD_Connection *conn, unsigned status,
					const char *type, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "type", type);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return MHD_NO;
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool captured_path(const struct proxy *P, const char *url)
{
	return !strcmp(url, P->pp->endpoint) || !strcmp(url, P->pp->alt_path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct proxy *P = cls;
	struct pcall *c = *con_cls;
	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return MHD_NO;
		c->P = P;
		c->conn = conn;
		c->t_recv = ap_now_ns();
		c->wall_start = ap_wall_ns();
		ap_scopy(c->method, sizeof(c->method), method);
		ap_scopy(c->path, sizeof(c->path), url);
		c->reject = strcmp(method, "POST") || !captured_path(P, url);
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!c->reject && !c->too_large) {
			if (c->req.len + *upload_size > (size_t)P->o.max_body)
				c->too_large = true;
			else if (sbuf_add(&c->req, upload, *upload_size))
				return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->reject) {
		char msg[768];
		snprintf(msg, sizeof(msg),
			 "agentperf proxy captures only POST %s (protocol %s); %s %.300s is not "
			 "implemented: point the agent at that endpoint",
			 P->pp->endpoint, P->pp->name, method, url);
		ap_warn("proxy: %s %.300s: 501 (not captured; only POST %s)", method, url,
			P->pp->endpoint);
		return reply_json_error(conn, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented", msg);
	}
	if (c->too_large) {
		ap_warn("proxy: %s %s: 413 (body over %ld bytes)", method, url, P->o.max_body);
		c->reject = true;
		return reply_json_error(conn, 413u, "too_large",
					"agentperf proxy: request body too large");
	}
	if (c->upstream_started)
		return MHD_YES; /* already answered */
	pthread_mutex_lock(&P->lock);
	c->seq = ++P->next_seq;
	pthread_mutex_unlock(&P->lock);
	if (upstream_begin(c)) {
		c->reject = true;
		return reply_json_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "proxy_error",
					"agentperf proxy: out of memory");
	}
	while (!c->headers_done && !c->xfer_done && !P->stopping)
		drive(c, 50);
	if (!c->headers_done) {
		/* Nothing to pass on: the agent gets a gateway error, the capture the class. */
		char msg[300];
		if (c->xfer_done && c->cc == CURLE_OK && c->http_status >= 200)
			c->headers_done = true;
		else {
			snprintf(msg, sizeof(msg), "agentperf proxy: upstream failed: %s",
				 c->xfer_done ? curl_easy_strerror(c->cc) : "proxy stopping");
			return reply_json_error(conn, MHD_HTTP_BAD_GATEWAY, "upstream_error", msg);
		}
	}
	struct MHD_Response *r =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, content_reader, c, NULL);
	if (!r)
		return MHD_NO;
	for (int i = 0; i < c->n_rh; i++)
		MHD_add_response_header(r, c->rh[i].name, c->rh[i].value);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)c->http_status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct pcall *c = *con_cls;
	*con_cls = NULL;
	if (!c)
		return;
	if (c->upstream_started) {
		if (!c->t_end)
			c->t_end = ap_now_ns();
		if (c->P->en)
			energy_call_end(c->P->en, (uint64_t)c->seq, c->t_end);
		write_line(c);
	}
	pcall_free(c);
}

/* ---- lifecycle ---- */

static int upstream_urls(struct proxy *P)
{
	const char *u = P->o.upstream;
	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
		ap_err("proxy: --upstream %s: expected an http:// or https:// URL", u);
		return -EINVAL;
	}
	size_t n = strlen(u);
	while (n && u[n - 1] == '/')
		n--;
	if (n >= 3 && !strncmp(u + n - 3, "/v1", 3))
		n -= 3;
	struct sbuf b = { 0 };
	if (!(P->root = strndup(u, n)) || sbuf_addf(&b, "%s%s", P->root, P->pp->endpoint))
		return -ENOMEM;
	P->url = b.s;
	return 0;
}

int proxy_start(struct proxy **out, const struct proxy_opts *o)
{
	int rc = 0;
	struct proxy *P = calloc(1, sizeof(*P));
	if (!P)
		return -ENOMEM;
	P->o = *o;
	P->fd = -1;
	if (!P->o.max_body)
		P->o.max_body = PROXY_DEFAULT_MAX_BODY;
	P->pp = &protos[o->protocol == PROXY_ANTHROPIC ? PROXY_ANTHROPIC : PROXY_OPENAI];
	pthread_mutex_init(&P->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&P->share_lock[i], NULL);
	if ((rc = upstream_urls(P)))
		goto fail;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(P->share = curl_share_init())) {
		rc = -ENOMEM;
		goto fail;
	}
	curl_share_setopt(P->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(P->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(P->share, CURLSHOPT_USERDATA, P);
	curl_share_setopt(P->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(P->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	P->fd = open(o->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (P->fd < 0) {
		rc = -errno;
		ap_err("proxy: -o %s: %s", o->out, strerror(errno));
		goto fail;
	}
	if (o->energy) {
		struct energy_opts eo = { .idle_s = 0 };
		if ((rc = energy_open(&P->en, &eo)) || (rc = energy_start(P->en))) {
			ap_err("proxy: --energy: could not start the sampler (%s)", strerror(-rc));
			goto fail;
		}
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	if (inet_pton(AF_INET, o->listen_host, &sa.sin_addr) != 1) {
		ap_err("proxy: --listen %s: expected an IPv4 address", o->listen_host);
		rc = -EINVAL;
		goto fail;
	}
	P->t0 = ap_now_ns();
	P->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_POLL | MHD_USE_ERROR_LOG,
				(uint16_t)o->port, NULL, NULL, on_request, P, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, P,
				MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
	if (!P->d) {
		ap_err("proxy: cannot listen on %s:%d", o->listen_host, o->port);
		rc = -EADDRINUSE;
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(P->d, MHD_DAEMON_INFO_BIND_PORT);
	P->port = di ? di->port : o->port;
	*out = P;
	return 0;
fail:
	proxy_stop(P, NULL, NULL);
	return rc;
}

int proxy_port(const struct proxy *p)
{
	return p->port;
}

/* OUT.energy.json: per captured call, its share of the client machine's energy. */
static void write_energy(struct proxy *P)
{
	struct energy_summary es;
	energy_stop(P->en);
	energy_summarize(P->en, &es);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "capture", P->o.out);
	cJSON_AddItemToObject(j, "energy", energy_summary_json(&es, energy_meta_json(P->en)));
	cJSON *calls = cJSON_AddArrayToObject(j, "calls");
	for (size_t i = 0; i < P->n_ekeys; i++) {
		struct energy_share sh;
		cJSON *c = cJSON_CreateObject();
		cJSON_AddItemToArray(calls, c);
		cJSON_AddNumberToObject(c, "seq", (double)P->ekeys[i]);
		if (energy_attribute(P->en, (uint64_t)P->ekeys[i], &sh) || !sh.valid) {
			cJSON_AddNullToObject(c, "device_j");
			continue;
		}
		cJSON_AddNumberToObject(c, "device_j", sh.device_j);
		cJSON_AddItemToObject(c, "idle_j", json_num_or_null(sh.idle_j));
		cJSON_AddNumberToObject(c, "share_s", sh.share_s);
	}
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s.energy.json", P->o.out);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	FILE *f = s ? fopen(tmp, "w") : NULL;
	if (!f || fputs(s, f) < 0 || fputc('\n', f) < 0 || fclose(f) || rename(tmp, path))
		ap_err("proxy: writing %s failed", path);
	else
		ap_info("proxy: per-call energy in %s (%s)", path, es.device_provenance);
	free(s);
}

void proxy_stop(struct proxy *P, long *calls, long *failed)
{
	if (!P)
		return;
	P->stopping = 1;
	if (P->d)
		MHD_stop_daemon(P->d); /* joins every connection thread: their lines are written */
	if (calls)
		*calls = P->calls;
	if (failed)
		*failed = P->failed;
	if (P->en) {
		if (P->d)
			write_energy(P);
		energy_close(P->en);
	}
	if (P->fd >= 0)
		close(P->fd);
	if (P->share)
		curl_share_cleanup(P->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&P->share_lock[i]);
	pthread_mutex_destroy(&P->lock);
	free(P->ekeys);
	free(P->root);
	free(P->url);
	free(P);
}

/* ---- the command ---- */

static void proxy_usage(FILE *f)
{
	fprintf(f,
		"usage: agentperf proxy --listen ADDR:PORT --upstream URL -o FILE\n"
		"                       [--protocol openai|anthropic] [--key-env VAR] [--energy]\n"
		"                       [--port-file FILE] [--timeout S] [--max-body BYTES] [-v|-q]\n"
		"\n"
		"  Point the agent's base URL at http://ADDR:PORT/v1 (OPENAI_BASE_URL) or\n"
		"  http://ADDR:PORT (ANTHROPIC_BASE_URL). Every chat completion (openai) or\n"
		"  Messages call (anthropic) goes to URL unchanged and becomes one line of FILE\n"
		"  (appended). PORT 0 takes a free port (--port-file writes it). --key-env VAR:\n"
		"  the upstream key when the agent sends none. --energy: sample the energy\n"
		"  probes; per-call energy goes to FILE.energy.json at the end. Ctrl-C stops.\n"
		"  -v logs every call (method, path, status; never a header), -q only errors.\n"
		"  Exit status 0; 1 when no call was captured or every captured call failed\n"
		"  (the file is complete either way); 2 for a usage error.\n");
}

static volatile sig_atomic_t proxy_signals;
static void proxy_on_signal(int sig)
{
	(void)sig;
	ap_interrupted = 1;
	if (++proxy_signals >= 2)
		_exit(130);
}

int proxy_main(int argc, char **argv)
{
	struct proxy_opts o = { .listen_host = NULL, .max_body = PROXY_DEFAULT_MAX_BODY,
				.timeout_s = 600 };
	const char *listen = NULL, *port_file = NULL;
	char host[64] = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(a, "--energy") && strcmp(a, "-h") && strcmp(a, "--help") &&
			     strcmp(a, "-v") && strcmp(a, "-q");
		if (takes && !v) {
			ap_err("proxy: %s needs a value", a);
			return 2;
		}
		if (!strcmp(a, "--listen"))
			listen = v;
		else if (!strcmp(a, "--upstream"))
			o.upstream = v;
		else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
			o.out = v;
		else if (!strcmp(a, "--protocol")) {
			if (!strcmp(v, "openai"))
				o.protocol = PROXY_OPENAI;
			else if (!strcmp(v, "anthropic"))
				o.protocol = PROXY_ANTHROPIC;
			else {
				ap_err("proxy: --protocol %s: expected openai or anthropic", v);
				return 2;
			}
		} else if (!strcmp(a, "--key-env"))
			o.key_env = v;
		else if (!strcmp(a, "--port-file"))
			port_file = v;
		else if (!strcmp(a, "--timeout")) {
			if (ap_parse_double(v, &o.timeout_s)) {
				ap_err("proxy: --timeout %s: expected seconds", v);
				return 2;
			}
		} else if (!strcmp(a, "--max-body")) {
			if (ap_parse_long(v, &o.max_body) || o.max_body < 1024) {
				ap_err("proxy: --max-body %s: expected bytes (>= 1024)", v);
				return 2;
			}
		} else if (!strcmp(a, "--energy")) {
			o.energy = true;
			continue;
		} else if (!strcmp(a, "-v") || !strcmp(a, "-q")) {
			ap_verbose += a[1] == 'v' ? 1 : -1;
			continue;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			proxy_usage(stdout);
			return 0;
		} else {
			ap_err("proxy: unknown option %s", a);
			proxy_usage(stderr);
			return 2;
		}
		i++;
	}
	if (!listen || !o.upstream || !o.out) {
		ap_err("proxy: --listen, --upstream and -o are required");
		proxy_usage(stderr);
		return 2;
	}
	const char *colon = strrchr(listen, ':');
	long port;
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || ap_parse_long(colon + 1, &port) ||
	    port > 65535) {
		ap_err("proxy: --listen %s: expected ADDR:PORT, e.g. 127.0.0.1:8089", listen);
		return 2;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	o.listen_host = host;
	o.port = (int)port;
	if (o.key_env && (!getenv(o.key_env) || !*getenv(o.key_env)))
		ap_warn("proxy: %s is not set; calls go with the agent's own key only", o.key_env);
	struct sigaction sa = { 0 };
	sa.sa_handler = proxy_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct proxy *P;
	if (proxy_start(&P, &o))
		return 1;
	if (port_file) {
		char tmp[4200];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", proxy_port(P)) < 0 || fclose(f) || rename(tmp, port_file)) {
			ap_err("proxy: --port-file %s: %s", port_file, strerror(errno));
			proxy_stop(P, NULL, NULL);
			return 1;
		}
	}
	fprintf(stderr, "agentperf proxy: listening on http://%s:%d (%s), upstream %s, capture %s\n",
		host, proxy_port(P), protos[o.protocol].name, o.upstream, o.out);
	while (!ap_interrupted)
		ap_sleep_ns(50000000);
	long calls = 0, failed = 0;
	int proxy_port_was = proxy_port(P);
	proxy_stop(P, &calls, &failed);
	fprintf(stderr, "agentperf proxy: stopped; %ld calls captured into %s (%ld failed)\n", calls,
		o.out, failed);
	/* As for a run: nothing captured, or nothing but failures, is said and is not success. */
	if (!calls) {
		ap_err("proxy: no call was captured (was the agent's base URL http://%s:%d/v1?)", host,
		       proxy_port_was);
		return 1;
	}
	if (failed == calls) {
		ap_err("proxy: every captured call failed (%ld): the capture has nothing to replay", calls);
		return 1;
	}
	return 0;
}
