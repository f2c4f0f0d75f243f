/*
 * Captures as a workload (`-w capture:FILE`, workloads/SCHEMA.md "Replaying
 * a capture") and the capture index (capture.h). Each successful captured
 * call becomes one task: its request replayed as-is (raw_request, like a
 * logged request), its category the kind of call, its check the captured
 * reply judged by judge.h. Failed captured calls are left out and counted.
 */
#include "capture.h"
#include "workload_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static enum judge_mode cap_judge = JUDGE_AUTO;

void capture_set_judge(enum judge_mode m)
{
	cap_judge = m;
}

enum judge_mode capture_judge(void)
{
	return cap_judge;
}

/* ---- one line ---- */

struct sig {
	char sys_hash[17];
	char *tools;
	char *sys_words;
	enum reply_kind rk;
};

static void sig_free(struct sig *s)
{
	free(s->tools);
	free(s->sys_words);
	memset(s, 0, sizeof(*s));
}

/* Appends the text of a content value: a string, or the text parts of an array. */
static int content_text(const cJSON *c, struct sbuf *out)
{
	if (cJSON_IsString(c))
		return sbuf_adds(out, c->valuestring);
	const cJSON *part;
	cJSON_ArrayForEach(part, c)
	{
		const char *t = jv_str_or(part, "text", NULL);
		if (t && ((out->len && sbuf_add(out, "\n", 1)) || sbuf_adds(out, t)))
			return -ENOMEM;
	}
	return 0;
}

/* The system prompt's text: a string, or the text parts of an array. */
static int system_text(const cJSON *req, struct sbuf *out)
{
	const cJSON *m;
	const cJSON *top = cJSON_GetObjectItemCaseSensitive(req, "system"); /* Anthropic */
	if (top)
		return content_text(top, out);
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(req, "messages"))
	{
		const char *role = jv_str_or(m, "role", "");
		if (strcmp(role, "system") && strcmp(role, "developer"))
			continue;
		return content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), out);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int line_sig(const cJSON *j, struct sig *s)
{
	int rc = 0;
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "request");
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(j, "reply");
	struct sbuf sys = { 0 }, tl = { 0 };
	const char **names = NULL;
	memset(s, 0, sizeof(*s));
	if ((rc = system_text(req, &sys)))
		goto out;
	if (sys.len) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		if (!EVP_Digest(sys.s, sys.len, md, &n, EVP_sha256(), NULL)) {
			rc = -EIO;
			goto out;
		}
		for (int i = 0; i < 8; i++)
			snprintf(s->sys_hash + 2 * i, 3, "%02x", md[i]);
	}
	/* The first words, for the kind's name. */
	struct sbuf w = { 0 };
	int words = 0;
	for (const char *p = sys.s ? sys.s : ""; *p && words < 5 && w.len < 40;) {
		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (w.len && sbuf_add(&w, " ", 1))
			break;
		while (*p && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && w.len < 40)
			sbuf_add(&w, p++, 1);
		while (*p && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
			p++;
		words++;
	}
	s->sys_words = w.s ? w.s : ap_strdup("");
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
	int nt = cJSON_GetArraySize(tools);
	if (nt > 0 && !(names = calloc((size_t)nt, sizeof(*names)))) {
		rc = -ENOMEM;
		goto out;
	}
	int k = 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const char *nm = jv_str_or(fn ? fn : t, "name", NULL);
		if (nm && k < nt)
			names[k++] = nm;
	}
	if (k)
		qsort(names, (size_t)k, sizeof(*names), cmp_str);
	for (int i = 0; i < k; i++)
		if ((i && sbuf_add(&tl, ",", 1)) || sbuf_adds(&tl, names[i])) {
			rc = -ENOMEM;
			goto out;
		}
	s->tools = tl.s ? tl.s : ap_strdup("");
	tl.s = NULL;
	s->rk = reply_kind_of(jv_str_or(rep, "text", ""),
			      (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "tool_calls")));
	if (!s->tools || !s->sys_words)
		rc = -ENOMEM;
out:
	free(names);
	sbuf_free(&sys);
	sbuf_free(&tl);
	if (rc)
		sig_free(s);
	return rc;
}

static const char *const line_keys[] = { "agentperf_capture", "seq", "protocol", "path",
					 "t_start_unix", "t_start_s", "t_end_s", "ttft_s", "e2e_s",
					 "stream", "http_status", "status", "error", "model",
					 "request", "request_text", "reply", "usage", NULL };

/*
 * Checks a line's shape; *ok says whether the captured call succeeded (and
 * so is replayed). Only an ok call needs a request and a reply.
 */
static int line_check(const struct jv_ctx *x, const cJSON *j, bool *ok)
{
	int rc;
	const char *status = NULL, *proto = NULL;
	if ((rc = jv_object(x, j, "line")) || (rc = jv_keys(x, j, "", line_keys)) ||
	    (rc = jv_string(x, j, "", "status", true, &status)) ||
	    (rc = jv_string(x, j, "", "protocol", true, &proto)))
		return rc;
	if (!cJSON_HasObjectItem(j, "agentperf_capture")) {
		ap_error_set(x->err, x->file, x->line, "agentperf_capture",
			     "missing: not a line of agentperf proxy's capture");
		return -EINVAL;
	}
	*ok = !strcmp(status, "ok");
	if (!*ok)
		return 0;
	if (strcmp(proto, "openai") && strcmp(proto, "anthropic")) {
		ap_error_set(x->err, x->file, x->line, "protocol",
			     "'%s': expected openai or anthropic", proto);
		return -EINVAL;
	}
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "request");
	if (!cJSON_IsObject(req)) {
		ap_error_set(x->err, x->file, x->line, "request",
			     req ? "expected an object" : "missing (the body was not JSON: not replayable)");
		return -EINVAL;
	}
	if ((rc = jv_object(x, cJSON_GetObjectItemCaseSensitive(j, "reply"), "reply")))
		return rc;
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(j, "reply");
	const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(rep, "tool_calls");
	if (tcs && !cJSON_IsArray(tcs)) {
		ap_error_set(x->err, x->file, x->line, "reply.tool_calls", "expected an array, got %s",
			     jv_type_name(tcs));
		return -EINVAL;
	}
	return 0;
}

/* ---- Anthropic Messages -> chat completions, so any backend replays it ---- */

static int add_msg(cJSON *msgs, const char *role, const char *text)
{
	cJSON *m = cJSON_CreateObject();
	if (!m || !cJSON_AddItemToArray(msgs, m) || !cJSON_AddStringToObject(m, "role", role) ||
	    !cJSON_AddStringToObject(m, "content", text))
		return -ENOMEM;
	return 0;
}

/*
 * The same request in chat-completions shape: system as the first message,
 * text blocks as content, tool_use blocks as the assistant's tool_calls,
 * tool_result blocks as "tool" messages, tools as functions (input_schema as
 * parameters), max_tokens, temperature, top_p, stop_sequences as stop, and
 * tool_choice. NULL on ENOMEM.
 */
static cJSON *anthropic_to_chat(const cJSON *req)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
	struct sbuf t = { 0 };
	int rc = msgs ? 0 : -ENOMEM;
	const char *model = jv_str_or(req, "model", NULL);
	if (!rc && model && !cJSON_AddStringToObject(o, "model", model))
		rc = -ENOMEM;
	if (!rc && cJSON_GetObjectItemCaseSensitive(req, "system") &&
	    !(rc = system_text(req, &t)))
		rc = add_msg(msgs, "system", t.s ? t.s : "");
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(req, "messages"))
	{
		if (rc)
			break;
		const char *role = jv_str_or(m, "role", "user");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		sbuf_reset(&t);
		if (cJSON_IsString(c)) {
			rc = add_msg(msgs, role, c->valuestring);
			continue;
		}
		cJSON *calls = NULL;
		const cJSON *b;
		cJSON_ArrayForEach(b, c)
		{
			const char *type = jv_str_or(b, "type", "");
			if (!strcmp(type, "text")) {
				if ((t.len && sbuf_add(&t, "\n", 1)) || sbuf_adds(&t, jv_str_or(b, "text", "")))
					rc = -ENOMEM;
			} else if (!strcmp(type, "tool_result")) {
				/* tool messages answer the calls before them, ahead of any text */
				struct sbuf r = { 0 };
				cJSON *tm = cJSON_CreateObject();
				if (content_text(cJSON_GetObjectItemCaseSensitive(b, "content"), &r) || !tm ||
				    !cJSON_AddItemToArray(msgs, tm) || !cJSON_AddStringToObject(tm, "role", "tool") ||
				    !cJSON_AddStringToObject(tm, "tool_call_id", jv_str_or(b, "tool_use_id", "")) ||
				    !cJSON_AddStringToObject(tm, "content", r.s ? r.s : ""))
					rc = -ENOMEM;
				sbuf_free(&r);
			} else if (!strcmp(type, "tool_use")) {
				cJSON *tc = cJSON_CreateObject(), *fn;
				char *args = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(b, "input"));
				if (!calls)
					calls = cJSON_CreateArray();
				if (!tc || !calls || !cJSON_AddItemToArray(calls, tc) ||
				    !cJSON_AddStringToObject(tc, "id", jv_str_or(b, "id", "")) ||
				    !cJSON_AddStringToObject(tc, "type", "function") ||
				    !(fn = cJSON_AddObjectToObject(tc, "function")) ||
				    !cJSON_AddStringToObject(fn, "name", jv_str_or(b, "name", "")) ||
				    !cJSON_AddStringToObject(fn, "arguments", args ? args : "{}"))
					rc = -ENOMEM;
				free(args);
			}
		}
		if (!rc && (t.len || calls)) {
			cJSON *am = cJSON_CreateObject();
			if (!am || !cJSON_AddItemToArray(msgs, am) || !cJSON_AddStringToObject(am, "role", role) ||
			    !(t.len ? cJSON_AddStringToObject(am, "content", t.s) : cJSON_AddNullToObject(am, "content")))
				rc = -ENOMEM;
			else if (calls) {
				cJSON_AddItemToObject(am, "tool_calls", calls);
				calls = NULL;
			}
		}
		cJSON_Delete(calls);
	}
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
	if (!rc && cJSON_IsArray(tools) && tools->child) {
		cJSON *ot = cJSON_AddArrayToObject(o, "tools");
		const cJSON *tl;
		cJSON_ArrayForEach(tl, tools)
		{
			cJSON *f = cJSON_CreateObject(), *fn;
			const cJSON *schema = cJSON_GetObjectItemCaseSensitive(tl, "input_schema");
			if (!ot || !f || !cJSON_AddItemToArray(ot, f) ||
			    !cJSON_AddStringToObject(f, "type", "function") ||
			    !(fn = cJSON_AddObjectToObject(f, "function")) ||
			    !cJSON_AddStringToObject(fn, "name", jv_str_or(tl, "name", ""))) {
				rc = -ENOMEM;
				break;
			}
			if (jv_str_or(tl, "description", NULL))
				cJSON_AddStringToObject(fn, "description", jv_str_or(tl, "description", ""));
			cJSON_AddItemToObject(fn, "parameters",
					      schema ? cJSON_Duplicate(schema, 1) : cJSON_CreateObject());
		}
	}
	static const char *const same[] = { "max_tokens", "temperature", "top_p", NULL };
	for (size_t i = 0; !rc && same[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, same[i]);
		if (v)
			cJSON_AddItemToObject(o, same[i], cJSON_Duplicate(v, 1));
	}
	const cJSON *stop = cJSON_GetObjectItemCaseSensitive(req, "stop_sequences");
	if (!rc && stop)
		cJSON_AddItemToObject(o, "stop", cJSON_Duplicate(stop, 1));
	const cJSON *tcho = cJSON_GetObjectItemCaseSensitive(req, "tool_choice");
	const char *ct = jv_str_or(tcho, "type", NULL);
	if (!rc && ct) {
		if (!strcmp(ct, "auto") || !strcmp(ct, "none"))
			cJSON_AddStringToObject(o, "tool_choice", ct);
		else if (!strcmp(ct, "any"))
			cJSON_AddStringToObject(o, "tool_choice", "required");
		else if (!strcmp(ct, "tool")) {
			cJSON *c = cJSON_AddObjectToObject(o, "tool_choice");
			cJSON_AddStringToObject(c, "type", "function");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "function"), "name",
						jv_str_or(tcho, "name", ""));
		}
	}
	sbuf_free(&t);
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- the index ---- */

struct tool_count {
	char *name;
	long n;
};

struct kind_build {
	struct tool_count *tc;
	size_t n_tc;
};

static int count_tool(struct kind_build *kb, const char *name)
{
	for (size_t i = 0; i < kb->n_tc; i++)
		if (!strcmp(kb->tc[i].name, name)) {
			kb->tc[i].n++;
			return 0;
		}
	struct tool_count *t = realloc(kb->tc, (kb->n_tc + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	kb->tc = t;
	if (!(t[kb->n_tc].name = ap_strdup(name)))
		return -ENOMEM;
	t[kb->n_tc++].n = 1;
	return 0;
}

static int find_kind(const struct capture_index *ix, const struct sig *s)
{
	for (size_t i = 0; i < ix->n_kinds; i++) {
		const struct capture_kind *k = &ix->kinds[i];
		if (k->rk == s->rk && !strcmp(k->sys_hash, s->sys_hash) && !strcmp(k->tools, s->tools))
			return (int)i;
	}
	return -1;
}

/* The last user message's text: a string, or its text parts joined (malloc'd). */
static char *last_user_text(const cJSON *req)
{
	const cJSON *m, *last = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(req, "messages"))
		if (!strcmp(jv_str_or(m, "role", ""), "user"))
			last = m;
	struct sbuf b = { 0 };
	if (content_text(cJSON_GetObjectItemCaseSensitive(last, "content"), &b)) {
		sbuf_free(&b);
		return NULL;
	}
	return b.s ? b.s : ap_strdup("");
}

/* The tool a reply called most (the first of equals), "" for none. */
static void reply_tool(const cJSON *rep, char *out, size_t n)
{
	const cJSON *a, *b;
	int best = 0;
	out[0] = '\0';
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(rep, "tool_calls"))
	{
		const char *na = jv_str_or(a, "name", "");
		int cnt = 0;
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(rep, "tool_calls"))
			cnt += !strcmp(na, jv_str_or(b, "name", ""));
		if (*na && cnt > best) {
			best = cnt;
			ap_scopy(out, n, na);
		}
	}
}

static long num_or(const cJSON *o, const char *k, long d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : d;
}

static void name_kinds(struct capture_index *ix, struct kind_build *kb)
{
	for (size_t i = 0; i < ix->n_kinds; i++) {
		struct capture_kind *k = &ix->kinds[i];
		const char *best = NULL;
		long bn = 0;
		for (size_t t = 0; t < kb[i].n_tc; t++)
			if (kb[i].tc[t].n > bn) {
				best = kb[i].tc[t].name;
				bn = kb[i].tc[t].n;
			}
		char base[CAPTURE_KIND_NAME];
		snprintf(base, sizeof(base), "%s:%s", reply_kind_name(k->rk),
			 best ? best : *k->sys_words ? k->sys_words : "no system prompt");
		snprintf(k->name, sizeof(k->name), "%s", base);
		for (int n = 2;; n++) {
			bool taken = false;
			for (size_t o = 0; o < i && !taken; o++)
				taken = !strcmp(ix->kinds[o].name, k->name);
			if (!taken)
				break;
			snprintf(k->name, sizeof(k->name), "%.50s#%d", base, n);
		}
	}
}

int capture_index_load(const char *path, struct capture_index *ix, struct ap_error *err)
{
	int rc = 0;
	memset(ix, 0, sizeof(*ix));
	struct wl_reader r = { .path = path };
	struct kind_build *kb = NULL;
	struct sig s = { 0 };
	size_t cap_calls = 0;
	struct { char name[128]; long n; } models[16];
	int n_models = 0;
	if (!(r.f = fopen(path, "rb"))) {
		rc = -errno;
		ap_error_set(err, path, 0, NULL, "cannot open: %s", strerror(errno));
		return rc;
	}
	for (;;) {
		char *line;
		size_t n;
		if ((rc = wl_read_line(&r, &line, &n, err))) {
			rc = rc == 1 ? 0 : rc;
			break;
		}
		struct jv_ctx x = { path, r.line, err };
		cJSON *j = jv_parse_line(&x, line, n);
		bool ok = false;
		if (!j || (rc = line_check(&x, j, &ok))) {
			rc = rc ? rc : -EINVAL;
			cJSON_Delete(j);
			break;
		}
		ix->n_lines++;
		if (!ok) {
			ix->n_failed++;
			cJSON_Delete(j);
			continue;
		}
		ap_scopy(ix->protocol, sizeof(ix->protocol), jv_str_or(j, "protocol", ""));
		if ((rc = line_sig(j, &s))) {
			cJSON_Delete(j);
			break;
		}
		int k = find_kind(ix, &s);
		if (k < 0) {
			struct capture_kind *nk = realloc(ix->kinds, (ix->n_kinds + 1) * sizeof(*nk));
			struct kind_build *nb = nk ? realloc(kb, (ix->n_kinds + 1) * sizeof(*nb)) : NULL;
			if (nk)
				ix->kinds = nk;
			if (!nk || !nb) {
				rc = -ENOMEM;
				cJSON_Delete(j);
				break;
			}
			kb = nb;
			k = (int)ix->n_kinds++;
			memset(&kb[k], 0, sizeof(kb[k]));
			struct capture_kind *kk = &ix->kinds[k];
			memset(kk, 0, sizeof(*kk));
			memcpy(kk->sys_hash, s.sys_hash, sizeof(kk->sys_hash));
			kk->tools = s.tools;
			kk->sys_words = s.sys_words;
			kk->rk = s.rk;
			s.tools = s.sys_words = NULL;
		}
		sig_free(&s);
		struct capture_kind *kk = &ix->kinds[k];
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(j, "reply");
		const cJSON *tc;
		cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(rep, "tool_calls"))
		{
			const char *nm = jv_str_or(tc, "name", NULL);
			if (nm && *nm && (rc = count_tool(&kb[k], nm)))
				break;
		}
		if (ix->n_calls == cap_calls) {
			size_t nc = cap_calls ? 2 * cap_calls : 64;
			struct capture_call *c = realloc(ix->calls, nc * sizeof(*c));
			if (c)
				memset(c + cap_calls, 0, (nc - cap_calls) * sizeof(*c));
			if (!c)
				rc = -ENOMEM;
			else {
				ix->calls = c;
				cap_calls = nc;
			}
		}
		if (rc) {
			cJSON_Delete(j);
			break;
		}
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
		struct capture_call *c = &ix->calls[ix->n_calls++];
		c->line = r.line;
		c->kind = k;
		c->usage = cJSON_IsObject(u);
		c->prompt_tokens = num_or(u, "prompt_tokens", 0);
		c->completion_tokens = num_or(u, "completion_tokens", 0);
		c->cached_tokens = num_or(u, "cached_tokens", 0);
		c->e2e_s = jv_num_or(j, "e2e_s", 0);
		c->sig = k;
		reply_tool(rep, c->tool, sizeof(c->tool));
		if (!(c->last_user = last_user_text(cJSON_GetObjectItemCaseSensitive(j, "request")))) {
			rc = -ENOMEM;
			cJSON_Delete(j);
			break;
		}
		kk->calls++;
		kk->prompt_tokens += c->prompt_tokens;
		kk->completion_tokens += c->completion_tokens;
		kk->cached_tokens += c->cached_tokens;
		kk->calls_no_usage += !c->usage;
		const char *model = jv_str_or(j, "model", "");
		int m = 0;
		while (m < n_models && strcmp(models[m].name, model))
			m++;
		if (m == n_models && n_models < 16) {
			ap_scopy(models[m].name, sizeof(models[m].name), model);
			models[m].n = 0;
			n_models++;
		}
		if (m < n_models)
			models[m].n++;
		cJSON_Delete(j);
	}
	fclose(r.f);
	wl_reader_free(&r);
	if (!rc && !ix->n_calls) {
		if (ix->n_lines)
			ap_error_set(err, path, 0, NULL,
				     "no successful captured call (%zu failed): nothing to replay",
				     ix->n_failed);
		else
			ap_error_set(err, path, 0, NULL, "empty capture");
		rc = -EINVAL;
	}
	long best = 0;
	for (int m = 0; m < n_models; m++)
		if (models[m].n > best) {
			best = models[m].n;
			ap_scopy(ix->model, sizeof(ix->model), models[m].name);
		}
	if (!rc)
		name_kinds(ix, kb);
	for (size_t i = 0; kb && i < ix->n_kinds; i++) {
		for (size_t t = 0; t < kb[i].n_tc; t++)
			free(kb[i].tc[t].name);
		free(kb[i].tc);
	}
	free(kb);
	sig_free(&s);
	if (rc)
		capture_index_free(ix);
	return rc;
}

void capture_index_free(struct capture_index *ix)
{
	for (size_t i = 0; i < ix->n_calls; i++)
		free(ix->calls[i].last_user);
	for (size_t i = 0; i < ix->n_kinds; i++) {
		free(ix->kinds[i].tools);
		free(ix->kinds[i].sys_words);
	}
	free(ix->kinds);
	free(ix->calls);
	memset(ix, 0, sizeof(*ix));
}

/* The most frequent signature among the members of group g (ties: the first); *mixed when
 * there are several. */
static int most_frequent_sig(const struct capture_index *ix, const int *assign, int g, bool *mixed)
{
	long *cnt = calloc(ix->n_kinds ? ix->n_kinds : 1, sizeof(*cnt));
	int best = -1, nsig = 0;
	if (!cnt)
		return -1;
	for (size_t i = 0; i < ix->n_calls; i++)
		if (assign[i] == g && ix->calls[i].sig >= 0 && (size_t)ix->calls[i].sig < ix->n_kinds)
			nsig += !cnt[ix->calls[i].sig]++;
	for (size_t s = 0; s < ix->n_kinds; s++)
		if (cnt[s] && (best < 0 || cnt[s] > cnt[best]))
			best = (int)s;
	free(cnt);
	*mixed = nsig > 1;
	return best;
}

int capture_index_regroup(struct capture_index *ix, const int *assign, const char *prefix,
			  const char *const *names)
{
	int ng = 0;
	for (size_t i = 0; i < ix->n_calls; i++)
		if (assign[i] + 1 > ng)
			ng = assign[i] + 1;
	struct capture_kind *nk = calloc(ng ? (size_t)ng : 1, sizeof(*nk));
	int *map = calloc(ng ? (size_t)ng : 1, sizeof(*map));
	int rc = 0;
	if (!nk || !map) {
		free(nk);
		free(map);
		return -ENOMEM;
	}
	/* Groups in order of their first call; empty ones dropped. */
	for (int g = 0; g < ng; g++)
		map[g] = -1;
	size_t n = 0;
	for (size_t i = 0; i < ix->n_calls; i++)
		if (map[assign[i]] < 0)
			map[assign[i]] = (int)n++;
	for (int g = 0; g < ng && !rc; g++) {
		if (map[g] < 0)
			continue;
		struct capture_kind *k = &nk[map[g]];
		int s = most_frequent_sig(ix, assign, g, &k->mixed);
		const struct capture_kind *sk = s >= 0 ? &ix->kinds[s] : NULL;
		if (sk) {
			memcpy(k->sys_hash, sk->sys_hash, sizeof(k->sys_hash));
			k->rk = sk->rk;
		}
		k->tools = ap_strdup(sk ? sk->tools : "");
		k->sys_words = ap_strdup(sk ? sk->sys_words : "");
		if (!k->tools || !k->sys_words)
			rc = -ENOMEM;
		/* the most frequent tool among the group's replies */
		const char *best = NULL;
		long bn = 0;
		for (size_t i = 0; i < ix->n_calls; i++) {
			if (assign[i] != g || !ix->calls[i].tool[0])
				continue;
			long c = 0;
			for (size_t j = 0; j < ix->n_calls; j++)
				c += assign[j] == g && !strcmp(ix->calls[j].tool, ix->calls[i].tool);
			if (c > bn) {
				bn = c;
				best = ix->calls[i].tool;
			}
		}
		if (names)
			ap_scopy(k->name, sizeof(k->name), names[g]);
		else
			snprintf(k->name, sizeof(k->name), "%.12s:%.50s", prefix,
				 best ? best : sk && *sk->sys_words ? sk->sys_words : "no system prompt");
	}
	if (!names) /* unique names, as for signatures */
		for (size_t i = 0; i < n; i++) {
			char base[CAPTURE_KIND_NAME];
			ap_scopy(base, sizeof(base), nk[i].name);
			for (int m = 2;; m++) {
				bool taken = false;
				for (size_t o = 0; o < i && !taken; o++)
					taken = !strcmp(nk[o].name, nk[i].name);
				if (!taken)
					break;
				snprintf(nk[i].name, sizeof(nk[i].name), "%.50s#%d", base, m);
			}
		}
	for (size_t i = 0; i < ix->n_calls; i++) {
		struct capture_call *c = &ix->calls[i];
		struct capture_kind *k = &nk[map[assign[i]]];
		c->kind = map[assign[i]];
		k->calls++;
		k->prompt_tokens += c->prompt_tokens;
		k->completion_tokens += c->completion_tokens;
		k->cached_tokens += c->cached_tokens;
		k->calls_no_usage += !c->usage;
	}
	/* The signature kinds stay reachable through calls[].sig only while ix lives; keep them. */
	if (rc) {
		for (size_t i = 0; i < n; i++) {
			free(nk[i].tools);
			free(nk[i].sys_words);
		}
		free(nk);
	} else {
		for (size_t i = 0; i < ix->n_kinds; i++) {
			free(ix->kinds[i].tools);
			free(ix->kinds[i].sys_words);
		}
		free(ix->kinds);
		ix->kinds = nk;
		ix->n_kinds = n;
		for (size_t i = 0; i < ix->n_calls; i++)
			ix->calls[i].sig = -1; /* the signature kinds are gone */
	}
	free(map);
	return rc;
}

const struct capture_call *capture_index_find(const struct capture_index *ix, size_t line)
{
	size_t lo = 0, hi = ix->n_calls;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->calls[mid].line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n_calls && ix->calls[lo].line == line ? &ix->calls[lo] : NULL;
}

/* ---- the workload format ---- */

static int cap_open(struct workload *wl, const char *answers_path, struct ap_error *err)
{
	(void)answers_path;
	struct capture_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	int rc = capture_index_load(wl->path, ix, err);
	if (rc) {
		free(ix);
		return rc;
	}
	wl_stream(wl)->state = ix;
	const struct capture_cluster *cl = capture_cluster();
	if (cl && (rc = capture_cluster_apply(ix, cl, err))) {
		if (rc == -ENOMEM)
			ap_error_set(err, wl->path, 0, NULL, "out of memory");
		return rc;
	}
	struct sbuf d = { 0 };
	sbuf_addf(&d,
		  "agentperf proxy capture of %s: %zu calls replayed once each and judged against the "
		  "captured reply (--judge %s); %zu failed captured calls left out; %zu kinds of call%s",
		  ix->model[0] ? ix->model : "an unnamed model", ix->n_calls,
		  judge_mode_name(cap_judge), ix->n_failed, ix->n_kinds,
		  cl ? " (k-means of embeddings, --cluster)" : " (by signature)");
	wl->name = wl_basename_noext(wl->path);
	wl->version = ap_strdup("capture-1");
	wl->source = ap_strdup(wl->path);
	wl->license = ap_strdup("unknown (captured traffic)");
	wl->description = d.s;
	if (!wl->name || !wl->version || !wl->source || !wl->license || !wl->description)
		return -ENOMEM;
	wl->policy = (struct attempt_policy){ 1, RETRY_PLAIN, 1 };
	if (ix->n_failed)
		ap_info("%s: %zu failed captured calls left out of the replay (of %zu)", wl->path,
			ix->n_failed, ix->n_lines);
	return 0;
}

static void cap_close(struct workload *wl)
{
	struct capture_index *ix = wl_stream(wl)->state;
	if (ix) {
		capture_index_free(ix);
		free(ix);
	}
	wl_stream(wl)->state = NULL;
}

/* The reference for the judge: the captured reply's text and tool calls. */
static cJSON *reference(const cJSON *rep)
{
	cJSON *ref = cJSON_CreateObject();
	cJSON *tcs = cJSON_AddArrayToObject(ref, "tool_calls");
	if (!tcs || !cJSON_AddStringToObject(ref, "text", jv_str_or(rep, "text", ""))) {
		cJSON_Delete(ref);
		return NULL;
	}
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rep, "tool_calls"))
	{
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(tcs, o) ||
		    !cJSON_AddStringToObject(o, "name", jv_str_or(c, "name", "")) ||
		    !cJSON_AddStringToObject(o, "arguments", jv_str_or(c, "arguments", ""))) {
			cJSON_Delete(ref);
			return NULL;
		}
	}
	return ref;
}

static int cap_parse(struct workload *wl, const cJSON *j, size_t line, struct task **out,
		     struct ap_error *err)
{
	struct jv_ctx x = { wl->path, line, err };
	const struct capture_index *ix = wl_stream(wl)->state;
	bool ok = false;
	char id[32];
	int rc;
	*out = NULL;
	if ((rc = line_check(&x, j, &ok)) || !ok)
		return rc; /* a failed captured call: left out (counted at open) */
	struct task *t = wl_task_new(wl, line);
	if (!t)
		return -ENOMEM;
	/* The kind of this line as the index grouped it (signature or cluster). */
	const struct capture_call *c = capture_index_find(ix, line);
	snprintf(id, sizeof(id), "line-%zu", line);
	if (!(t->id = strdup(id)) ||
	    !(t->category = strdup(c ? ix->kinds[c->kind].name : "unknown"))) {
		rc = -ENOMEM;
		goto out;
	}
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "request");
	cJSON *conv = NULL;
	if (!strcmp(jv_str_or(j, "protocol", ""), "anthropic") && !(req = conv = anthropic_to_chat(req))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = wl_log_request_fields(t, &x, req, "request");
	cJSON_Delete(conv);
	if (rc)
		goto out;
	t->check.kind = CHECK_REFERENCE;
	t->check.judge = (int)cap_judge;
	if (!(t->check.expect = reference(cJSON_GetObjectItemCaseSensitive(j, "reply")))) {
		rc = -ENOMEM;
		goto out;
	}
	*out = t;
	t = NULL;
out:
	task_free(t);
	return rc;
}

const struct wl_format wl_capture_format = {
	.id = WL_CAPTURE,
	.name = "capture",
	.open = cap_open,
	.parse = cap_parse,
	.close = cap_close,
};
