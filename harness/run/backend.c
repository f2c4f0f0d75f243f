#include "backend.h"
#include "guard.h"
#include "managed.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct backend_ops *const backend_table[] = {
	&openai_backend_ops,
	&anthropic_backend_ops,
	NULL,
};

static const char *const status_names[CALL_STATUS_COUNT] = {
	[CALL_OK] = "ok",
	[CALL_ERR_CONNECT] = "connect",
	[CALL_ERR_TIMEOUT] = "timeout",
	[CALL_ERR_HTTP_429] = "http_429",
	[CALL_ERR_HTTP_4XX] = "http_4xx",
	[CALL_ERR_HTTP_5XX] = "http_5xx",
	[CALL_ERR_MALFORMED] = "malformed",
	[CALL_ERR_TRUNCATED] = "truncated",
	[CALL_ERR_TOO_LARGE] = "too_large",
	[CALL_ERR_TRANSPORT] = "transport",
	[CALL_ERR_INTERRUPTED] = "interrupted",
};

const char *call_status_name(enum call_status s)
{
	return (unsigned)s < CALL_STATUS_COUNT ? status_names[s] : "unknown";
}

int call_status_parse(const char *s)
{
	for (int i = 0; i < CALL_STATUS_COUNT; i++)
		if (!strcmp(s, status_names[i]))
			return i;
	return -EINVAL;
}

static void free_calls(struct call_result *r)
{
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
	memset(r, 0, sizeof(*r));
	r->text = keep;
	sbuf_reset(&r->text);
	r->srv_prompt_tps = r->srv_gen_tps = NAN;
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

static int append_str(char **dst, const char *frag)
{
	if (!frag || !*frag)
		return 0;
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(frag);
	char *s = realloc(*dst, a + b + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s + a, frag, b + 1);
	*dst = s;
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
	if (append_str(&c->name, name) || append_str(&c->arguments, args_frag))
		return -ENOMEM;
	return 0;
}

static const struct backend_ops *find_ops(const char *kind, size_t n)
{
	for (size_t i = 0; backend_table[i]; i++)
		if (strlen(backend_table[i]->name) == n && !strncmp(backend_table[i]->name, kind, n))
			return backend_table[i];
	return NULL;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int apply_option(struct backend *b, const char *k, const char *v, struct ap_error *err)
{
	double d;
	long l;
	if (b->managed) {
		/* Its model= is a GGUF path, and url= is the server it starts. */
		int r = !strcmp(k, "url") ? (ap_error_set(err, NULL, 0, "backend llama-server",
							  "url is chosen when the server starts"),
					     -EINVAL)
					  : managed_cfg_option(b->managed, k, v, err);
		if (r <= 0)
			return r;
	}
	if (!strcmp(k, "url"))
		return set_str(&b->url, v);
	if (!strcmp(k, "model"))
		return set_str(&b->model, v);
	if (!strcmp(k, "label"))
		return set_str(&b->label, v);
	if (!strcmp(k, "anthropic_version")) {
		/* It becomes a header value: CR, LF or other control bytes would inject headers. */
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				ap_error_set(err, NULL, 0, "backend anthropic_version",
					     "holds a control byte (CR, LF ...): not a header value");
				return -EINVAL;
			}
		return set_str(&b->anthropic_version, v);
	}
	if (!strcmp(k, "key_env")) {
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
		return set_str(&b->key_env, v);
	}
	if (!strcmp(k, "stream"))
		return parse_bool(v, &b->stream) ? (ap_error_set(err, NULL, 0, "backend stream",
								 "expected 0 or 1, got '%s'", v),
						    -EINVAL)
						 : 0;
	if (!strcmp(k, "insecure"))
		return parse_bool(v, &b->insecure) ? (ap_error_set(err, NULL, 0, "backend insecure",
								   "expected 0 or 1, got '%s'", v),
						      -EINVAL)
						   : 0;
	if (!strcmp(k, "timeout") || !strcmp(k, "connect_timeout") || !strcmp(k, "retry_wait_max")) {
		/* curl takes milliseconds and reads 0 as "no limit": a value that rounds
		 * below 1 ms would turn a tight timeout into none. */
		if (ap_parse_double(v, &d) || d < 0.001 || d > 86400) {
			ap_error_set(err, NULL, 0, k, "expected seconds in [0.001, 86400], got '%s'",
				     v);
			return -EINVAL;
		}
		if (!strcmp(k, "timeout"))
			b->timeout_s = d;
		else if (!strcmp(k, "connect_timeout"))
			b->connect_timeout_s = d;
		else
			b->max_retry_wait_s = d;
		return 0;
	}
	if (!strcmp(k, "retries")) {
		if (ap_parse_long(v, &l) || l > 100) {
			ap_error_set(err, NULL, 0, "backend retries", "expected 0..100, got '%s'", v);
			return -EINVAL;
		}
		b->max_retries = (int)l;
		return 0;
	}
	if (!strcmp(k, "max_body")) {
		if (ap_parse_long(v, &l) || l < 1024) {
			ap_error_set(err, NULL, 0, "backend max_body", "expected bytes >= 1024, got '%s'", v);
			return -EINVAL;
		}
		b->max_body = l;
		return 0;
	}
	ap_error_set(err, NULL, 0, "backend",
		     "unknown option '%s' (known: url, model, key_env, stream, timeout, "
		     "connect_timeout, retries, retry_wait_max, insecure, max_body, label, "
		     "anthropic_version)",
		     k);
	return -EINVAL;
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
	b->ops = find_ops(spec, klen);
	if (!b->ops && klen == 12 && !strncmp(spec, "llama-server", 12)) {
		b->ops = &openai_backend_ops;
		b->managed = calloc(1, sizeof(*b->managed));
		if (!b->managed) {
			rc = -ENOMEM;
			goto out;
		}
		b->managed->startup_timeout_s = 300;
		b->managed->stop_timeout_s = 10;
	}
	if (!b->ops) {
		ap_error_set(err, NULL, 0, "backend",
			     "unknown kind '%.*s' (known: openai, anthropic, llama-server)",
			     (int)klen, spec);
		rc = -EINVAL;
		goto out;
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
			rc = apply_option(b, kv, eq + 1, err);
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
	cJSON_AddStringToObject(j, "kind", b->managed ? "llama-server" : b->ops->name);
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
