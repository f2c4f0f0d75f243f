/*
 * Backends: a model endpoint and its protocol. Each protocol is a const ops
 * struct in one table (backend.c); the transport (curl, SSE, timing,
 * transport retries) is shared in http.c.
 */
#ifndef AP_BACKEND_H
#define AP_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "check.h"
#include "record.h"
#include "util.h"


/* What one call sends: the conversation so far, in OpenAI chat shape. */
struct call_input {
	const cJSON *messages; /* array, system message first if any */
	const cJSON *tools;    /* array of OpenAI function tools, or NULL */
	const cJSON *sampling; /* object: temperature, top_p, seed, ... or NULL */
	int max_tokens;        /* 0: not sent */
	const cJSON *raw;      /* a logged request replayed as-is, or NULL */
};

/* What one call got back, with its timings (CLOCK_MONOTONIC ns). */
struct call_result {
	enum call_status status;
	int http_status;
	char error[256];          /* detail for a failed call; never holds secrets */
	long prompt_tokens, completion_tokens, cached_tokens;
	bool usage_reported;      /* the server sent token counts (all in range) */
	bool usage_invalid;       /* a count was out of range: usage_why says which */
	char usage_why[96];
	uint64_t t_start;         /* first try began (energy window start) */
	uint64_t t_send;          /* the final try was sent */
	uint64_t t_first;         /* first content token (stream) or first body byte */
	uint64_t t_last;          /* last content chunk */
	uint64_t t_end;           /* last byte */
	uint32_t n_chunks;        /* content-bearing chunks */
	double gap_sum_s;         /* sum of gaps between consecutive content chunks */
	char finish_reason[32];
	struct sbuf text;
	struct tool_call *calls;
	size_t n_calls;
	double retry_after_s;     /* the try's Retry-After header in seconds, or -1 */
	size_t tool_bytes;        /* tool-call names and arguments received, for max_body */
	/* llama-server's own "timings", NAN when absent */
	double srv_prompt_tps, srv_gen_tps;
	size_t bytes;
	/* Last: 2.5 KB that a call without tool calls never touches.
	 * call_result_reset does not clear them: slot_of is non-zero only where
	 * a call was made, and is cleared when the calls are freed; a length is
	 * read only for a slot's non-NULL string. */
	uint16_t slot_of[256];    /* stream tool-call index -> 1 + slot in calls; 0: none yet */
	uint32_t name_len[256], args_len[256]; /* lengths of calls[slot].name / .arguments */
};
void call_result_reset(struct call_result *r);
void call_result_free(struct call_result *r);
/*
 * A token count k of usage object o: 0 when absent; out of range or not an
 * integer marks r->usage_invalid (with usage_why). call_usage_settle then
 * makes the call's usage "not reported" (counts 0, usage_reported false).
 */
long call_usage_num(struct call_result *r, const cJSON *o, const char *k);
void call_usage_settle(struct call_result *r);
/* A content-bearing chunk arrived at now: first-token time, gaps, count. */
void call_result_chunk(struct call_result *r, uint64_t now);
/* Appends text or tool-call fragments while parsing (stream index = slot). */
int call_result_tool_delta(struct call_result *r, size_t index, const char *id,
			   const char *name, const char *args_frag);

struct backend;

/*
 * openai streams: the bytes around the content string of the last content
 * delta the fast scanner took (its prefix up to and with the string's opening
 * quote, its suffix after the closing one). A chunk of the same stream with
 * the same bytes around another content string parses the same way, so it is
 * read as that string alone (openai_sse_fast).
 */
#define SSE_TPL_MAX 480
struct sse_tpl {
	unsigned short plen, slen;   /* 0: none yet */
	bool has_fin;
	char fin[32];
	char b[SSE_TPL_MAX];         /* prefix, then suffix */
	/* The root prefix: a scanned chunk's bytes up to and with the '[' of
	 * "choices", all of whose members before it were skipped (id, object,
	 * created, model, ...). A chunk that starts with the same bytes is read
	 * from there on (role, finish and usage chunks, which the template
	 * above does not fit). */
	unsigned short rplen;        /* 0: none yet */
	char rp[SSE_TPL_MAX];
};

struct sse_state {
	bool done;          /* saw the protocol's end marker */
	bool usage_seen;
	int cur_block;      /* anthropic: content block being streamed */
	int block_is_tool[64];
	size_t block_tool_slot[64];
	/* Last: sse_state_reset leaves its buffers as they are (read only up
	 * to the lengths it clears). */
	struct sse_tpl tpl;
};
/* A new stream's state: all zero, but for the template's buffers. */
void sse_state_reset(struct sse_state *st);

struct backend_ops {
	const char *name;
	const char *desc;
	const char *default_url;
	const char *default_key_env; /* may be NULL: no key needed */
	const char *path;            /* appended to url */
	int (*build_body)(const struct backend *b, const struct call_input *in, bool stream,
			  struct sbuf *out);
	/* Adds protocol headers; key is the API key or NULL. */
	int (*headers)(const struct backend *b, const char *key, struct curl_slist **h);
	int (*parse_body)(const char *body, size_t len, struct call_result *r);
	/* One SSE event; now is its arrival time. Returns 0 or -EPROTO (malformed). */
	int (*sse_event)(struct call_result *r, struct sse_state *st, const char *event,
			 const char *data, uint64_t now);
};

struct backend {
	const struct backend_ops *ops;
	char *spec;          /* as given, URL credentials redacted, for meta.json */
	char *label;         /* short name for reports */
	char *url;           /* base URL (may hold credentials: never written) */
	char *url_shown;     /* url with credentials redacted (guard.h), for meta.json */
	char *endpoint;      /* url + ops->path */
	char *model;
	char *key_env;       /* name of the environment variable holding the key */
	bool stream;
	bool insecure;       /* TLS verification off: reported */
	double timeout_s, connect_timeout_s;
	int max_retries;     /* transport retries per call */
	double max_retry_wait_s;
	long max_body;       /* bytes */
	char *anthropic_version;
	char *metrics_url;   /* Prometheus endpoint of the server (measure/srvmetrics.h) */
	bool cache_cold;     /* --cache cold: openai bodies carry "cache_prompt": false */
	/* kind llama-server: agentperf starts the server (managed.h); url set once it runs */
	struct managed_cfg *managed;
	const struct backend_kind *kind;
	bool label_given;    /* label= was in the spec (run folders are then named by it) */
};

extern const struct backend_ops openai_backend_ops;
/* The openai parsers' two paths, for the differential fuzz targets: a fast one
 * returns 1 when it handled the input (leaving r as the cJSON one would), 0
 * when the input is not of the usual shape (r untouched); the cJSON one takes
 * everything. Stream events: a content delta, finish_reason, the usage and
 * timings chunk; bodies: a chat.completion without tool calls. tpl (may be
 * NULL) is the stream's template: read by a chunk that fits it, set by one the
 * scanner took whole. */
int openai_sse_fast(struct call_result *r, const char *data, size_t len, uint64_t now,
		    struct sse_tpl *tpl);
int openai_sse_event_slow(struct call_result *r, struct sse_state *st, const char *event,
			  const char *data, uint64_t now);
int openai_body_fast(struct call_result *r, const char *body, size_t len);
/* The OpenAI request body as a cJSON object (NULL: out of memory), which the
 * caller deletes: how a logged request is replayed, and what the direct
 * writer of a task's request must print byte for byte (tests/test_protocol.c). */
cJSON *openai_body_tree(const struct backend *b, const struct call_input *in, bool stream);
int openai_parse_body_slow(const char *body, size_t len, struct call_result *r);
extern const struct backend_ops anthropic_backend_ops;

/*
 * The backend kinds (-b KIND:...) and the keys each takes: the single
 * source of truth for parsing, `--help` and `agentperf list`. A key's
 * `kinds` holds the bits of the kinds that take it; one name may have an
 * entry per kind (llama-server's model= is a GGUF path).
 */
enum { BK_OPENAI = 1, BK_ANTHROPIC = 2, BK_LLAMA = 4 };
struct backend_kind {
	const char *name;
	unsigned bit;
	const struct backend_ops *ops; /* the protocol it speaks */
	bool managed;                  /* agentperf starts and stops the server */
	const char *desc;
};
extern const struct backend_kind backend_kinds[]; /* NULL-name terminated */
struct backend_key {
	const char *name;
	unsigned kinds;
	const char *arg;  /* metavar of the value */
	const char *help;
	int (*set)(struct backend *b, const struct backend_key *k, const char *v,
		   struct ap_error *err);
	size_t off;       /* field of struct backend for the generic setters */
	double lo, hi;    /* range of the number setters */
};
extern const struct backend_key backend_keys[]; /* NULL-name terminated */

/* Parses "kind:key=value,key=value" with backend_kinds and backend_keys. */
int backend_parse(struct backend **out, const char *spec, struct ap_error *err);
void backend_free(struct backend *b);
cJSON *backend_meta_json(const struct backend *b);

/*
 * One HTTP try at a time on one curl easy handle (http.c), driven by a curl
 * multi handle (loop.c): the transfer's callbacks time and parse what
 * arrives (SSE events as they come, each stamped with the time its bytes
 * were handed over), and http_xfer_done classifies the outcome into
 * call_status. Retries are the episode's (episode.h); the transfer only
 * resends at once, uncounted, a request that got nothing back on a reused
 * keep-alive connection the server had closed.
 */
struct http_xfer;
/* The protocol's headers (with the key from the environment, if any). */
int http_headers_new(const struct backend *b, struct curl_slist **out);
/* headers must outlive the transfer; user is the caller's (http_xfer_user). */
int http_xfer_new(struct http_xfer **out, const struct backend *b, struct curl_slist *headers,
		  void *user);
void *http_xfer_user(struct http_xfer *x);
void http_xfer_free(struct http_xfer *x);
CURL *http_xfer_easy(struct http_xfer *x);
/* Readies a try of body (which must outlive it; NULL: the last try's body again);
 * fresh: on a new connection. */
void http_xfer_prepare(struct http_xfer *x, const struct sbuf *body, bool fresh, uint64_t now);
/*
 * The transfer ended with cc at now. Returns true when it should be sent
 * again at once on a fresh connection (the stale keep-alive case); otherwise
 * the try's outcome is in http_xfer_result.
 */
bool http_xfer_done(struct http_xfer *x, CURLcode cc, uint64_t now);
/*
 * Transfers of the calling thread whose stream already ended ([DONE],
 * message_stop) while the HTTP body goes on; the loop cuts each at its
 * linger deadline (0: not lingering) and hands it to http_xfer_done, which
 * records the call as complete.
 */
int http_lingering(void);
uint64_t http_xfer_linger_deadline(const struct http_xfer *x);
/* Ends a try that is being abandoned (interrupt) with that status. */
void http_xfer_abort(struct http_xfer *x, enum call_status st, uint64_t now);
struct call_result *http_xfer_result(struct http_xfer *x);
/* Set by signal handlers: in-flight calls end as CALL_ERR_INTERRUPTED. */
/* Set by signal handlers and by the sink, read by every thread: a lock-free C11 atomic is
 * both async-signal-safe to store and ordered across threads (volatile is neither). */
extern atomic_int ap_interrupted;

#endif
