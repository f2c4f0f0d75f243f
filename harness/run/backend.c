#include "backend.h"
#include "guard.h"
#include "managed_cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct backend_kind backend_kinds[] = {
	{ "openai", BK_OPENAI, &openai_backend_ops, false,
	  "OpenAI-compatible chat completions (llama-server, Ollama /v1, vLLM, OpenAI)" },
	{ "anthropic", BK_ANTHROPIC, &anthropic_backend_ops, false,
	  "Anthropic Messages API (tool use, streaming and not)" },
	{ "llama-server", BK_LLAMA, &openai_backend_ops, true,
	  "a llama-server agentperf starts on a free port and stops (openai protocol)" },
	{ NULL },
};

static void free_calls(struct call_result *r)
{
	/* slot_of is non-zero only where a call was made: cleared here, with
	 * them, so that call_result_reset need not clear its 512 bytes. */
	if (r->n_calls)
		memset(r->slot_of, 0, sizeof(r->slot_of));
	for (size_t i = 0; i < r->n_calls; i++) {
		free(r->calls[i].id);
		free(r->calls[i].name);
		free(r->calls[i].arguments);
	}
	free(r->calls);
	r->calls = NULL;
	r->n_calls = 0;
}

void call_result_free(struct call_result *r)
{
	sbuf_free(&r->text);
	free_calls(r);
}

/* Clears a result for the next call, keeping the text buffer's memory. */
void call_result_reset(struct call_result *r)
{
	struct sbuf keep = r->text;
	free_calls(r);
	memset(r, 0, offsetof(struct call_result, slot_of));
	r->text = keep;
	sbuf_reset(&r->text);
	r->srv_prompt_tps = r->srv_gen_tps = NAN;
	r->retry_after_s = -1;
}

void sse_state_reset(struct sse_state *st)
{
	memset(st, 0, offsetof(struct sse_state, tpl));
	st->tpl.plen = st->tpl.slen = st->tpl.rplen = 0;
	st->tpl.has_fin = false;
}

long call_usage_num(struct call_result *r, const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v)
		return 0;
	/* Garbage (1e30, -5, 2.5, "8"): casting it to long would be undefined, and 0
	 * would pass for a real count; the call's usage counts as not reported. */
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e15 &&
	    v->valuedouble == (double)(long)v->valuedouble)
		return (long)v->valuedouble;
	if (!r->usage_invalid)
		snprintf(r->usage_why, sizeof(r->usage_why), "usage not reported: %s is %s%.6g%s",
			 k, cJSON_IsNumber(v) ? "" : "not a number (", cJSON_IsNumber(v) ? v->valuedouble : 0,
			 cJSON_IsNumber(v) ? ", out of range" : ")");
	r->usage_invalid = true;
	return 0;
}

void call_usage_settle(struct call_result *r)
{
	if (!r->usage_invalid)
		return;
	r->usage_reported = false;
	r->prompt_tokens = r->completion_tokens = r->cached_tokens = 0;
}

void call_result_chunk(struct call_result *r, uint64_t now)
{
	if (!r->n_chunks)
		r->t_first = now;
	else
		r->gap_sum_s += (double)(now - r->t_last) / 1e9;
	r->t_last = now;
	r->n_chunks++;
}

/* Appends frag to *dst whose length is *len: no strlen of the whole, so a
 * stream of many small pieces costs linear, not quadratic, time. */
static int append_str(char **dst, uint32_t *len, const char *frag, size_t *total)
{
	if (!frag || !*frag)
		return 0;
	size_t a = *dst ? *len : 0, b = strlen(frag);
	if (a + b >= UINT32_MAX)
		return -E2BIG;
	char *s = realloc(*dst, a + b + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s + a, frag, b + 1);
	*dst = s;
	*len = (uint32_t)(a + b);
	*total += b;
	return 0;
}

int call_result_tool_delta(struct call_result *r, size_t index, const char *id,
			   const char *name, const char *args_frag)
{
	/* Streams address tool calls by index; a bound keeps garbage indexes from
	 * allocating unbounded memory. */
	if (index >= AP_ARRAY_SIZE(r->slot_of)) {
		snprintf(r->error, sizeof(r->error),
			 "tool-call index %zu out of range (at most %zu tool calls per answer)", index,
			 AP_ARRAY_SIZE(r->slot_of));
		return -EPROTO;
	}
	/* Indexes name calls, they need not be dense: index 200 alone is one call. */
	if (!r->slot_of[index]) {
		struct tool_call *c = realloc(r->calls, (r->n_calls + 1) * sizeof(*c));
		if (!c)
			return -ENOMEM;
		memset(c + r->n_calls, 0, sizeof(*c));
		r->calls = c;
		r->slot_of[index] = (uint16_t)++r->n_calls;
	}
	struct tool_call *c = &r->calls[r->slot_of[index] - 1];
	if (id && *id && !c->id && !(c->id = strdup(id)))
		return -ENOMEM;
	size_t slot = r->slot_of[index] - 1;
	int rc = append_str(&c->name, &r->name_len[slot], name, &r->tool_bytes);
	if (!rc)
		rc = append_str(&c->arguments, &r->args_len[slot], args_frag, &r->tool_bytes);
	if (rc == -E2BIG) {
		snprintf(r->error, sizeof(r->error), "tool-call arguments over 4 GiB");
		return -EPROTO;
	}
	return rc;
}

static const struct backend_kind *find_kind(const char *kind, size_t n)
{
	for (const struct backend_kind *k = backend_kinds; k->name; k++)
		if (strlen(k->name) == n && !strncmp(k->name, kind, n))
			return k;
	return NULL;
}

#define BFIELD(b, k, type) ((type *)((char *)(b) + (k)->off))
#define BOFF(f) offsetof(struct backend, f)

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* The error of key k, its field named "backend KEY". Returns -EINVAL. */
AP_PRINTF(3, 4)
static int key_error(struct ap_error *err, const struct backend_key *k, const char *fmt, ...)
{
	char field[64], msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(field, sizeof(field), "backend %s", k->name);
	ap_error_set(err, NULL, 0, field, "%s", msg);
	return -EINVAL;
}

static int key_str(struct backend *b, const struct backend_key *k, const char *v,
		   struct ap_error *err)
{
	(void)err;
	return set_str(BFIELD(b, k, char *), v);
}

static int key_label(struct backend *b, const struct backend_key *k, const char *v,
		     struct ap_error *err)
{
	b->label_given = true;
	return key_str(b, k, v, err);
}

static int key_bool(struct backend *b, const struct backend_key *k, const char *v,
		    struct ap_error *err)
{
	bool *out = BFIELD(b, k, bool);
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
		*out = true;
	else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
		*out = false;
	else
		return key_error(err, k, "expected 0 or 1, got '%s'", v);
	return 0;
}

static int key_seconds(struct backend *b, const struct backend_key *k, const char *v,
		       struct ap_error *err)
{
	double d;
	/* curl takes milliseconds and reads 0 as "no limit": a value that rounds
	 * below 1 ms would turn a tight timeout into none. */
	if (ap_parse_double(v, &d) || d < k->lo || d > k->hi) {
		return key_error(err, k, "expected seconds in [%g, %g], got '%s'", k->lo, k->hi, v);
	}
	*BFIELD(b, k, double) = d;
	return 0;
}

static int key_long(struct backend *b, const struct backend_key *k, const char *v,
		    struct ap_error *err)
{
	long l;
	if (ap_parse_long(v, &l) || l < (long)k->lo || l > (long)k->hi) {
		return key_error(err, k, "expected %ld..%ld, got '%s'", (long)k->lo, (long)k->hi, v);
	}
	if (k->off == BOFF(max_retries))
		b->max_retries = (int)l;
	else
		*BFIELD(b, k, long) = l;
	return 0;
}

static int key_env(struct backend *b, const struct backend_key *k, const char *v,
		   struct ap_error *err)
{
	/* Only a variable name is accepted here, so a key pasted into the
	 * spec by mistake is refused instead of being written to meta.json. */
	for (const char *p = v; *p; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (p != v && *p >= '0' && *p <= '9'))) {
			ap_error_set(err, NULL, 0, "backend key_env",
				     "must name an environment variable (letters, digits, _), "
				     "not hold the key itself");
			return -EINVAL;
		}
	return key_str(b, k, v, err);
}

/* It becomes a header value: CR, LF or other control bytes would inject headers. */
static int key_header(struct backend *b, const struct backend_key *k, const char *v,
		      struct ap_error *err)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return key_error(err, k, "holds a control byte (CR, LF ...): not a header value");
	return key_str(b, k, v, err);
}

/* llama-server's own keys: managed.c knows its configuration. */
static int key_managed(struct backend *b, const struct backend_key *k, const char *v,
		       struct ap_error *err)
{
	return managed_cfg_option(b->managed, k->name, v, err);
}

#define BK_REMOTE (BK_OPENAI | BK_ANTHROPIC)
#define BK_ALL (BK_OPENAI | BK_ANTHROPIC | BK_LLAMA)
const struct backend_key backend_keys[] = {
	{ "url", BK_REMOTE, "URL", "base URL (the kind's default in `agentperf list`)", key_str,
	  BOFF(url) },
	{ "model", BK_REMOTE, "NAME", "model name sent in each request (default: default)", key_str,
	  BOFF(model) },
	{ "model", BK_LLAMA, "PATH", "the GGUF file the server loads (required)", key_managed },
	{ "label", BK_ALL, "NAME", "name in reports and run folders (default kind:model@host)",
	  key_label, BOFF(label) },
	{ "key_env", BK_REMOTE, "VAR", "environment variable holding the API key", key_env,
	  BOFF(key_env) },
	{ "stream", BK_ALL, "0|1", "stream the answer (default 1)", key_bool, BOFF(stream) },
	{ "timeout", BK_ALL, "S", "seconds for one whole call (default 600)", key_seconds,
	  BOFF(timeout_s), 0.001, 86400 },
	{ "connect_timeout", BK_ALL, "S", "seconds to connect (default 10)", key_seconds,
	  BOFF(connect_timeout_s), 0.001, 86400 },
	{ "retries", BK_ALL, "N", "transport retries per call (default 3)", key_long,
	  BOFF(max_retries), 0, 100 },
	{ "retry_wait_max", BK_ALL, "S", "longest wait between retries (default 60)", key_seconds,
	  BOFF(max_retry_wait_s), 0.001, 86400 },
	{ "insecure", BK_REMOTE, "0|1", "1: no TLS verification (reported everywhere)", key_bool,
	  BOFF(insecure) },
	{ "max_body", BK_ALL, "BYTES", "largest answer accepted (default 64 MiB)", key_long,
	  BOFF(max_body), 1024, 9.2e18 },
	{ "metrics_url", BK_ALL, "URL", "the server's Prometheus /metrics (metrics timeline)",
	  key_str, BOFF(metrics_url) },
	{ "anthropic_version", BK_ANTHROPIC, "DATE", "anthropic-version header (default 2023-06-01)",
	  key_header, BOFF(anthropic_version) },
	{ "bin", BK_LLAMA, "PATH", "llama-server binary (default: $LLAMA_SERVER, PATH, the cache)",
	  key_managed },
	{ "threads", BK_LLAMA, "N", "-t of the server (default: online CPUs)", key_managed },
	{ "ctx", BK_LLAMA, "TOKENS", "-c of the server (default: the model's own)", key_managed },
	{ "np", BK_LLAMA, "N", "parallel slots of the server (default: --concurrency)", key_managed },
	{ "ctx_train", BK_LLAMA, "TOKENS",
	  "lift the model's training context (--override-kv; smoke models only)", key_managed },
	{ "startup_timeout", BK_LLAMA, "S", "seconds from start to healthy (default 300)",
	  key_managed },
	{ "stop_timeout", BK_LLAMA, "S", "seconds from SIGTERM to SIGKILL (default 10)", key_managed },
	{ NULL },
};

static int apply_option(struct backend *b, const struct backend_kind *kind, const char *k,
			const char *v, struct ap_error *err)
{
	for (const struct backend_key *bk = backend_keys; bk->name; bk++)
		if ((bk->kinds & kind->bit) && !strcmp(bk->name, k))
			return bk->set(b, bk, v, err);
	char known[600] = "";
	for (const struct backend_key *bk = backend_keys; bk->name; bk++)
		if (bk->kinds & kind->bit)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 known[0] ? ", " : "", bk->name);
	ap_error_set(err, NULL, 0, "backend", "unknown option '%s' for %s (known: %s)", k, kind->name,
		     known);
	return -EINVAL;
}

/* Kind llama-server once its keys are parsed: checks the model, names the backend. */
static int managed_backend_prepare(struct backend *b, struct ap_error *err)
{
	int rc = managed_cfg_check(b->managed, err);
	if (rc)
		return rc;
	const char *base = strrchr(b->managed->model, '/');
	base = base ? base + 1 : b->managed->model;
	size_t n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".gguf"))
		n -= 5;
	struct sbuf m = { 0 }, l = { 0 };
	if (sbuf_add(&m, base, n) || (!b->label && sbuf_addf(&l, "llama-server:%s", m.s))) {
		sbuf_free(&m);
		return -ENOMEM;
	}
	free(b->model);
	b->model = m.s;
	if (l.s)
		b->label = l.s;
	/* Port 0 until the server runs: nothing can reach it by accident. */
	return set_str(&b->url, "http://127.0.0.1:0/v1");
}

int backend_parse(struct backend **out, const char *spec, struct ap_error *err)
{
	int rc = 0;
	char *opts = NULL;
	struct backend *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	const char *colon = strchr(spec, ':');
	size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
	const struct backend_kind *kind = find_kind(spec, klen);
	if (!kind) {
		char known[200] = "";
		for (const struct backend_kind *k = backend_kinds; k->name; k++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 known[0] ? ", " : "", k->name);
		ap_error_set(err, NULL, 0, "backend", "unknown kind '%.*s' (known: %s)", (int)klen,
			     spec, known);
		rc = -EINVAL;
		goto out;
	}
	b->ops = kind->ops;
	b->kind = kind;
	if (kind->managed) {
		b->managed = calloc(1, sizeof(*b->managed));
		if (!b->managed) {
			rc = -ENOMEM;
			goto out;
		}
		b->managed->startup_timeout_s = 300;
		b->managed->stop_timeout_s = 10;
	}
	/* What is written (meta.json, reports) carries no URL credentials; they
	 * are masked wherever the server echoes them. */
	if ((rc = ap_secret_add_url(spec)))
		goto out;
	b->spec = ap_redact_dup(spec);
	b->timeout_s = 600;
	b->connect_timeout_s = 10;
	b->max_retries = 3;
	b->max_retry_wait_s = 60;
	b->max_body = 64L << 20;
	b->stream = true;
	if (!b->spec || set_str(&b->url, b->ops->default_url)) {
		rc = -ENOMEM;
		goto out;
	}
	if (b->ops->default_key_env && set_str(&b->key_env, b->ops->default_key_env)) {
		rc = -ENOMEM;
		goto out;
	}
	if (colon && colon[1]) {
		opts = strdup(colon + 1);
		if (!opts) {
			rc = -ENOMEM;
			goto out;
		}
		char *save = NULL, *seen[64];
		int n_seen = 0;
		for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');
			if (!eq) {
				ap_error_set(err, NULL, 0, "backend", "expected key=value, got '%s'", kv);
				rc = -EINVAL;
				goto out;
			}
			*eq = '\0';
			/* "url=a,url=b" silently taking b would measure a server nobody named. */
			for (int i = 0; i < n_seen; i++)
				if (!strcmp(seen[i], kv)) {
					ap_error_set(err, NULL, 0, "backend", "%s given twice", kv);
					rc = -EINVAL;
					goto out;
				}
			if (n_seen < 64)
				seen[n_seen++] = kv;
			rc = apply_option(b, kind, kv, eq + 1, err);
			if (rc)
				goto out;
		}
	}
	if (b->managed && (rc = managed_backend_prepare(b, err)))
		goto out;
	/* Only HTTP(S): curl would also read file:// or speak ftp:// to a typo. */
	if (strncasecmp(b->url, "http://", 7) && strncasecmp(b->url, "https://", 8)) {
		ap_error_set(err, NULL, 0, "backend url", "expected http://... or https://..., got '%s'",
			     b->url);
		rc = -EINVAL;
		goto out;
	}
	if (b->key_env && (rc = ap_secret_add(getenv(b->key_env))))
		goto out;
	/* The path goes before a query string (?api-version=...), not after it. */
	size_t ul = strcspn(b->url, "?#");
	const char *query = b->url + ul;
	while (ul && b->url[ul - 1] == '/')
		ul--;
	struct sbuf ep = { 0 };
	if (sbuf_addf(&ep, "%.*s%s%s", (int)ul, b->url, b->ops->path, query)) {
		rc = -ENOMEM;
		goto out;
	}
	if (!*query)
		b->url[ul] = '\0';
	b->endpoint = ep.s;
	if (!(b->url_shown = ap_redact_dup(b->url))) {
		rc = -ENOMEM;
		goto out;
	}
	if (!b->model && set_str(&b->model, "default")) {
		rc = -ENOMEM;
		goto out;
	}
	if (!b->label) {
		struct sbuf l = { 0 };
		const char *host = strstr(b->url_shown, "://");
		host = host ? host + 3 : b->url_shown;
		if (sbuf_addf(&l, "%s:%s@%s", b->ops->name, b->model, host)) {
			rc = -ENOMEM;
			goto out;
		}
		b->label = l.s;
	} else {
		char *lab = ap_redact_dup(b->label);
		if (!lab) {
			rc = -ENOMEM;
			goto out;
		}
		free(b->label);
		b->label = lab;
	}
	if (!b->anthropic_version && set_str(&b->anthropic_version, "2023-06-01")) {
		rc = -ENOMEM;
		goto out;
	}
	*out = b;
	b = NULL;
out:
	free(opts);
	backend_free(b);
	return rc;
}

void backend_free(struct backend *b)
{
	if (!b)
		return;
	free(b->spec);
	free(b->label);
	free(b->metrics_url);
	free(b->url);
	free(b->url_shown);
	free(b->endpoint);
	free(b->model);
	free(b->key_env);
	free(b->anthropic_version);
	managed_cfg_free(b->managed);
	free(b);
}

cJSON *backend_meta_json(const struct backend *b)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "kind", b->kind->name);
	if (b->managed)
		cJSON_AddItemToObject(j, "managed", managed_cfg_json(b->managed));
	cJSON_AddStringToObject(j, "label", b->label);
	cJSON_AddStringToObject(j, "url", b->url_shown ? b->url_shown : b->url);
	cJSON_AddStringToObject(j, "model", b->model);
	/* The variable's name only: the key itself never leaves the process env. */
	if (b->key_env)
		cJSON_AddStringToObject(j, "key_env", b->key_env);
	cJSON_AddBoolToObject(j, "key_set", b->key_env && getenv(b->key_env) && *getenv(b->key_env));
	cJSON_AddBoolToObject(j, "stream", b->stream);
	cJSON_AddBoolToObject(j, "tls_verify", !b->insecure);
	cJSON_AddNumberToObject(j, "timeout_s", b->timeout_s);
	cJSON_AddNumberToObject(j, "connect_timeout_s", b->connect_timeout_s);
	cJSON_AddNumberToObject(j, "transport_retries_max", b->max_retries);
	cJSON_AddStringToObject(j, "spec", b->spec);
	return j;
}
