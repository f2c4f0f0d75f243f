/*
 * Workload loading common to every format: format detection, whole-file
 * validation at open, streaming task by task, and the task helpers the
 * runner uses (tool table look-up, message building, sub-call prompts).
 * The formats themselves live in workload_native.c, import_bfcl.c and
 * import_openai_log.c.
 */
#include "workload_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "guard.h"

static const struct wl_format *const formats[] = {
	[WL_NATIVE] = &wl_native_format,
	[WL_BFCL] = &wl_bfcl_format,
	[WL_OPENAI_LOG] = &wl_openai_log_format,
	[WL_CAPTURE] = &wl_capture_format,
};

const char *workload_format_name(enum workload_format f)
{
	if ((size_t)f < AP_ARRAY_SIZE(formats) && formats[f])
		return formats[f]->name;
	return "unknown";
}

/*
 * The next line's bytes before its '\n' into r->buf (NUL-terminated):
 * 0 with *len, 1 at the end of the file, -EFBIG past WL_LINE_MAX bytes, or
 * -errno. The reader keeps its own chunk of the file and finds newlines with
 * memchr: a byte-at-a-time getc was a tenth of every task's parse.
 */
static int raw_line(struct wl_reader *r, size_t *len)
{
	size_t n = 0;
	bool any = false;
	if (!r->chunk && !(r->chunk = malloc(WL_CHUNK)))
		return -ENOMEM;
	for (;;) {
		if (r->pos == r->have) {
			ssize_t k = read(fileno(r->f), r->chunk, WL_CHUNK);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			if (!k) {
				if (!any)
					return 1;
				break; /* the last line has no newline */
			}
			r->have = (size_t)k;
			r->pos = 0;
		}
		any = true;
		const char *p = r->chunk + r->pos;
		const char *e = memchr(p, '\n', r->have - r->pos);
		size_t take = e ? (size_t)(e - p) : r->have - r->pos;
		/* Bounded: a file without newlines (or /dev/zero behind a name)
		 * is refused at WL_LINE_MAX, not read into memory whole. */
		if (take > WL_LINE_MAX - n)
			return -EFBIG;
		if (n + take + 1 > r->cap) {
			size_t nc = r->cap ? r->cap : 256;
			while (nc < n + take + 1)
				nc *= 2;
			if (nc > WL_LINE_MAX + 1)
				nc = WL_LINE_MAX + 1;
			char *b = realloc(r->buf, nc);
			if (!b)
				return -ENOMEM;
			r->buf = b;
			r->cap = nc;
		}
		memcpy(r->buf + n, p, take);
		n += take;
		r->pos += take + (e != NULL);
		r->off += (long)(take + (e != NULL));
		if (e)
			break;
	}
	r->buf[n] = '\0';
	*len = n;
	return 0;
}

void wl_reader_free(struct wl_reader *r)
{
	free(r->buf);
	free(r->chunk);
	r->buf = r->chunk = NULL;
	r->cap = r->pos = r->have = 0;
}

int wl_read_line(struct wl_reader *r, char **s, size_t *n, struct ap_error *err)
{
	for (;;) {
		size_t len = 0;
		int rc = raw_line(r, &len);
		if (rc == -EFBIG) {
			ap_error_set(err, r->path, r->line + 1, NULL,
				     "line is longer than %u MiB", WL_LINE_MAX >> 20);
			return -EFBIG;
		}
		if (rc < 0) {
			ap_error_set(err, r->path, r->line + 1, NULL, "read error: %s",
				     strerror(-rc));
			return rc;
		}
		if (rc == 1)
			return 1;
		r->line++;
		size_t k = len;
		while (k && r->buf[k - 1] == '\r')
			k--;
		r->buf[k] = '\0';
		char *p = r->buf;
		/* Editors on some systems put a byte order mark on line 1. */
		if (r->line == 1 && k >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
			p += 3, k -= 3;
		size_t bad = 0;
		if (!jv_utf8_valid(p, k, &bad)) {
			ap_error_set(err, r->path, r->line, NULL,
				     "invalid UTF-8 (or a NUL byte) at byte %zu", bad + 1);
			return -EILSEQ;
		}
		size_t i = 0;
		while (i < k && isspace((unsigned char)p[i]))
			i++;
		if (i == k)
			continue; /* blank lines are allowed anywhere */
		*s = p;
		*n = k;
		return 0;
	}
}

char *wl_basename_noext(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	const char *dot = strrchr(b, '.');
	size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	char *o = malloc(n + 1);
	if (o) {
		memcpy(o, b, n);
		o[n] = '\0';
	}
	return o;
}

bool wl_tool_name_ok(const char *name)
{
	size_t n = 0;
	for (const char *p = name; *p; p++, n++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return n >= 1 && n <= 64;
}

const char *wl_tool_name(const cJSON *tool)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(fn, "name");
	return cJSON_IsString(nm) ? nm->valuestring : NULL;
}

int wl_tool_validate(const struct jv_ctx *x, const cJSON *tool, const char *field)
{
	static const char *const keys[] = { "type", "function", NULL };
	static const char *const fkeys[] = { "name", "description", "parameters", "strict",
					     NULL };
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	const char *type = NULL, *name = NULL, *desc = NULL;
	int rc;
	if ((rc = jv_object(x, tool, field)) || (rc = jv_keys(x, tool, field, keys)) ||
	    (rc = jv_string(x, tool, field, "type", true, &type)))
		return rc;
	if (strcmp(type, "function")) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "type"),
			     "expected \"function\", got '%s'", type);
		return -EINVAL;
	}
	jv_path(f, sizeof(f), field, "function");
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
	if (!fn) {
		ap_error_set(x->err, x->file, x->line, f, "missing required field");
		return -EINVAL;
	}
	if ((rc = jv_object(x, fn, f)) || (rc = jv_keys(x, fn, f, fkeys)) ||
	    (rc = jv_string(x, fn, f, "name", true, &name)) ||
	    (rc = jv_string(x, fn, f, "description", false, &desc)))
		return rc;
	if (!wl_tool_name_ok(name)) {
		ap_error_set(x->err, x->file, x->line, jv_path(g, sizeof(g), f, "name"),
			     "invalid tool name '%s' (1 to 64 letters, digits, '_' or '-')",
			     name);
		return -EINVAL;
	}
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
	if (params) {
		jv_path(g, sizeof(g), f, "parameters");
		if ((rc = jv_object(x, params, g)))
			return rc;
		const cJSON *pt = cJSON_GetObjectItemCaseSensitive(params, "type");
		if (pt && (!cJSON_IsString(pt) || strcmp(pt->valuestring, "object"))) {
			ap_error_set(x->err, x->file, x->line,
				     jv_path(g, sizeof(g), g, "type"),
				     "function parameters must be a JSON Schema of type "
				     "\"object\"");
			return -EINVAL;
		}
	}
	const cJSON *strict = cJSON_GetObjectItemCaseSensitive(fn, "strict");
	if (strict && !cJSON_IsBool(strict)) {
		ap_error_set(x->err, x->file, x->line, jv_path(g, sizeof(g), f, "strict"),
			     "expected true or false, got %s", jv_type_name(strict));
		return -EINVAL;
	}
	return 0;
}

int wl_add_note(struct workload *wl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char **v = realloc(wl->notes, (wl->n_notes + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	wl->notes = v;
	if (!(v[wl->n_notes] = strdup(buf)))
		return -ENOMEM;
	wl->n_notes++;
	return 0;
}

struct task *wl_task_new(const struct workload *wl, size_t line)
{
	struct task *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->line = line;
	t->policy = wl->policy;
	t->max_tokens = wl->max_tokens;
	return t;
}

void task_free(struct task *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->category);
	free(t->system_prompt);
	cJSON_Delete(t->messages);
	cJSON_Delete(t->tools);
	for (size_t i = 0; i < t->n_answers; i++) {
		free(t->answers[i].name);
		cJSON_Delete(t->answers[i].args);
		free(t->answers[i].result);
	}
	free(t->answers);
	check_free(&t->check);
	for (size_t i = 0; i < t->n_subs; i++) {
		free(t->subs[i].id);
		free(t->subs[i].prompt);
		check_free(&t->subs[i].check);
	}
	free(t->subs);
	cJSON_Delete(t->sampling);
	cJSON_Delete(t->raw_request);
	free(t);
}

/* ---- the task index: what the validation pass keeps of each task ---- */

/*
 * The only state that grows with the tasks. One record a task, in file
 * order, packed in one mmap'd arena (struct wl_index): a flags byte, the id
 * and, unless it is the previous record's, the category, each NUL-ended; a
 * tiny task's id and flags take about 8 bytes. Outside the heap, so its
 * pages go back to the system at workload_close. While the file is validated
 * a hash table of the ids (8 bytes a slot, half full at most) finds
 * duplicates; it is freed at the end of the open (large enough for malloc
 * to map it, so that too goes back). 100,000 ids of 16 bytes: about 4 MB at
 * the open's peak, under 2 MB for the rest of the run.
 */
enum { IX_DECOMPOSED = 1, IX_CATEGORY = 2, IX_SAME_CATEGORY = 4 };

struct id_entry {
	uint32_t off;  /* 1 + offset of the id in the arena; 0: empty slot */
	uint32_t line; /* only for the message; saturates at UINT32_MAX */
};

struct id_set {
	struct id_entry *v;
	size_t cap, n;
	struct wl_index *ix;
	uint32_t last_cat; /* 1 + offset of the last category stored; 0: none yet */
};

/* Appends n bytes; 1 + their offset, or 0 (ENOMEM, or an index over 4 GiB). */
static uint32_t ix_put(struct wl_index *ix, const void *p, size_t n)
{
	if (ix->a.used + n >= UINT32_MAX)
		return 0;
	return (uint32_t)ap_arena_put(&ix->a, p, n);
}

static const char *id_at(const struct id_set *s, uint32_t off)
{
	return s->ix->a.base + off - 1;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int id_set_grow(struct id_set *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	struct id_entry *v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->v[i].off)
			continue;
		size_t k = fnv1a(id_at(s, s->v[i].off)) & (cap - 1);
		while (v[k].off)
			k = (k + 1) & (cap - 1);
		v[k] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* Indexes t: 0, 1 when its id is already there (*first = that line), -ENOMEM. */
static int id_set_add(struct id_set *s, const struct task *t, size_t *first)
{
	if ((s->n + 1) * 2 > s->cap) {
		int rc = id_set_grow(s);
		if (rc)
			return rc;
	}
	size_t k = fnv1a(t->id) & (s->cap - 1);
	for (; s->v[k].off; k = (k + 1) & (s->cap - 1)) {
		if (!strcmp(id_at(s, s->v[k].off), t->id)) {
			*first = s->v[k].line;
			return 1;
		}
	}
	unsigned char flags = (unsigned char)(t->n_subs ? IX_DECOMPOSED : 0);
	bool same = false;
	if (t->category) {
		flags |= IX_CATEGORY;
		same = s->last_cat && !strcmp(id_at(s, s->last_cat), t->category);
		if (same)
			flags |= IX_SAME_CATEGORY;
	}
	uint32_t off;
	if (!ix_put(s->ix, &flags, 1) || !(off = ix_put(s->ix, t->id, strlen(t->id) + 1)))
		return -ENOMEM;
	if (t->category && !same &&
	    !(s->last_cat = ix_put(s->ix, t->category, strlen(t->category) + 1)))
		return -ENOMEM;
	s->v[k].off = off;
	s->v[k].line = t->line < UINT32_MAX ? (uint32_t)t->line : UINT32_MAX;
	s->n++;
	return 0;
}


/* ---- attempt policy ---- */

static void policy_apply(struct attempt_policy *p, const struct policy_override *ov)
{
	if (ov->max_attempts > 0)
		p->max_attempts = ov->max_attempts;
	if (ov->retry >= 0)
		p->retry = (enum retry_mode)ov->retry;
	if (ov->max_steps > 0)
		p->max_steps = ov->max_steps;
}

void workload_set_policy_override(struct workload *wl, const struct policy_override *ov)
{
	wl->ov = *ov;
}

struct attempt_policy workload_effective_policy(const struct workload *wl)
{
	struct attempt_policy p = wl->policy;
	policy_apply(&p, &wl->ov);
	return p;
}

const char *retry_mode_name(enum retry_mode m)
{
	return m == RETRY_REPAIR ? "repair" : "plain";
}

int retry_mode_parse(const char *s)
{
	if (!strcmp(s, "plain"))
		return RETRY_PLAIN;
	if (!strcmp(s, "repair"))
		return RETRY_REPAIR;
	return -1;
}

/* ---- open, stream, close ---- */

static int parse_task_line(struct workload *wl, struct task **out, struct ap_error *err)
{
	struct wl_stream *st = wl_stream(wl);
	char *s;
	size_t n;
	int rc;
	/* A format may leave a line out (a capture's failed calls): 0 and no task. */
	do {
		if ((rc = wl_read_line(&st->rd, &s, &n, err)))
			return rc;
		struct jv_ctx x = { wl->path, st->rd.line, err };
		cJSON *j = jv_parse_line(&x, s, n);
		if (!j)
			return -EINVAL;
		rc = st->fmt->parse(wl, j, st->rd.line, out, err);
		cJSON_Delete(j);
	} while (!rc && !*out);
	if (!rc)
		policy_apply(&(*out)->policy, &wl->ov);
	/* The formats leave running out of memory to be reported here, once. */
	if (rc == -ENOMEM)
		ap_error_set(err, wl->path, st->rd.line, NULL, "out of memory");
	return rc;
}

/* Which format the first non-blank line looks like; -EINVAL if none. */
static int detect_format(struct wl_reader *r, enum workload_format *f, struct ap_error *err)
{
	char *s;
	size_t n;
	int rc = wl_read_line(r, &s, &n, err);
	if (rc == 1) {
		ap_error_set(err, r->path, 0, NULL, "empty workload file");
		return -EINVAL;
	}
	if (rc)
		return rc;
	struct jv_ctx x = { r->path, r->line, err };
	cJSON *j = jv_parse_line(&x, s, n);
	if (!j)
		return -EINVAL;
	rc = 0;
	if (cJSON_HasObjectItem(j, "agentperf_workload"))
		*f = WL_NATIVE;
	else if (cJSON_HasObjectItem(j, "agentperf_capture"))
		*f = WL_CAPTURE;
	else if (cJSON_HasObjectItem(j, "question") &&
		 (cJSON_HasObjectItem(j, "function") || cJSON_HasObjectItem(j, "involved_classes")))
		/* BFCL; multi-turn lines name their classes instead (and are refused). */
		*f = WL_BFCL;
	else if (cJSON_HasObjectItem(j, "messages") || cJSON_HasObjectItem(j, "request") ||
		 (cJSON_HasObjectItem(j, "custom_id") && cJSON_HasObjectItem(j, "body")))
		*f = WL_OPENAI_LOG;
	else {
		ap_error_set(err, r->path, r->line, NULL,
			     "cannot tell the workload format: expected a native header "
			     "{\"agentperf_workload\": 1, ...}, a BFCL question line "
			     "{\"id\", \"question\", \"function\"}, a logged chat-completion "
			     "request {\"messages\", ...} or an agentperf proxy capture line "
			     "{\"agentperf_capture\": 1, ...} (or force one with a native:, bfcl:, "
			     "openai-log: or capture: prefix)");
		rc = -EINVAL;
	}
	cJSON_Delete(j);
	return rc;
}

/* bfcl/CATEGORY:PATH -> PATH, with the category copied out. */
static const char *strip_category(const char *path, char *cat, size_t n)
{
	if (strncmp(path, "bfcl/", 5))
		return NULL;
	size_t k = strspn(path + 5, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (!k || k >= n || path[5 + k] != ':')
		return NULL;
	snprintf(cat, n, "%.*s", (int)k, path + 5);
	return path + 5 + k + 1;
}

static const char *strip_prefix(const char *path, int *forced)
{
	static const struct {
		const char *prefix;
		enum workload_format f;
	} pre[] = { { "native:", WL_NATIVE },
		    { "bfcl:", WL_BFCL },
		    { "openai-log:", WL_OPENAI_LOG },
		    { "capture:", WL_CAPTURE } };
	*forced = -1;
	for (size_t i = 0; i < AP_ARRAY_SIZE(pre); i++) {
		size_t n = strlen(pre[i].prefix);
		if (!strncmp(path, pre[i].prefix, n)) {
			*forced = (int)pre[i].f;
			return path + n;
		}
	}
	return path;
}

static int stream_seek(struct wl_stream *st, long off, size_t line)
{
	if (lseek(fileno(st->rd.f), off, SEEK_SET) < 0)
		return -errno;
	st->rd.off = off;
	st->rd.pos = st->rd.have = 0;
	st->rd.line = line;
	return 0;
}

/*
 * Reads the workload file once, whole, into an anonymous memory file
 * (memfd) while hashing it: every pass of the run reads that copy, so the
 * tasks run are exactly the bytes hashed whatever happens to the file (a
 * rewrite, a truncation). The copy lives outside the heap, so it does not
 * count in the run's RSS. Refuses anything but a regular file.
 */
static int snapshot(struct workload *wl, struct wl_stream *st, struct ap_error *err)
{
	int rc = 0, in = ap_open_regular(wl->path, err), mfd = -1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char chunk[65536];
	EVP_MD_CTX *ctx = NULL;
	if (in < 0)
		return in;
	if (fstat(in, &st->orig)) {
		rc = -errno;
		goto out;
	}
	if ((mfd = memfd_create("agentperf-workload", MFD_CLOEXEC)) < 0) {
		rc = -errno;
		ap_error_set(err, wl->path, 0, NULL, "cannot make a private copy: %s",
			     strerror(-rc));
		goto out;
	}
	if (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			ap_error_set(err, wl->path, 0, NULL, "read error: %s", strerror(-rc));
			goto out;
		}
		if (!n)
			break;
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(mfd, chunk + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = -errno;
				ap_error_set(err, wl->path, 0, NULL, "cannot copy: %s",
					     strerror(-rc));
				goto out;
			}
			w += k;
		}
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(st->copy_sha256 + 2 * i, 3, "%02x", md[i]);
	snprintf(st->copy_path, sizeof(st->copy_path), "/proc/self/fd/%d", mfd);
	if (lseek(mfd, 0, SEEK_SET) || !(st->rd.f = fdopen(mfd, "rb"))) {
		rc = -errno;
		goto out;
	}
	mfd = -1;
out:
	EVP_MD_CTX_free(ctx);
	if (mfd >= 0)
		close(mfd);
	close(in);
	return rc;
}

int workload_open(struct workload **out, const char *path, const char *answers_path,
		  struct ap_error *err)
{
	int rc, forced;
	struct id_set ids = { 0 };
	struct task *t = NULL;
	struct workload *wl = calloc(1, sizeof(*wl));
	struct wl_stream *st = calloc(1, sizeof(*st));
	*out = NULL;
	if (!wl || !st) {
		free(wl);
		free(st);
		ap_error_set(err, path, 0, NULL, "out of memory");
		return -ENOMEM;
	}
	wl->priv = st;
	ids.ix = &st->ix;
	const char *file = strip_category(path, st->category, sizeof(st->category));
	forced = WL_BFCL;
	if (!file)
		file = strip_prefix(path, &forced);
	if (!(wl->path = strdup(file)) || !(wl->spec = strdup(path))) {
		rc = -ENOMEM;
		goto out;
	}
	st->rd.path = wl->path;
	struct stat sb;
	/* Only bfcl:DIR reads a folder; anything else refuses it as not a file. */
	st->is_dir = forced == WL_BFCL && !stat(wl->path, &sb) && S_ISDIR(sb.st_mode);
	if (!st->is_dir && forced <= WL_BFCL && forced != WL_NATIVE &&
	    (rc = bfcl_refuse_by_name(wl->path, st->category, err)))
		goto out;
	if (st->is_dir)
		wl->format = WL_BFCL; /* the BFCL open makes the private copy */
	else if ((rc = snapshot(wl, st, err)))
		goto out;
	else if (forced >= 0) {
		wl->format = (enum workload_format)forced;
	} else if ((rc = detect_format(&st->rd, &wl->format, err)) ||
		   (rc = stream_seek(st, 0, 0))) {
		goto out;
	}
	st->fmt = formats[wl->format];
	wl->policy = (struct attempt_policy){ 1, RETRY_PLAIN, WL_DEFAULT_MAX_STEPS };
	wl->ov = (struct policy_override){ 0, -1, 0 };
	if ((rc = st->fmt->open(wl, answers_path, err)))
		goto out;
	st->data_off = st->rd.off;
	st->data_line = st->rd.line;
	/* The hash covers exactly the bytes validated below. BFCL hashes its
	 * answers too, in its open. */
	if (!wl->sha256[0])
		memcpy(wl->sha256, st->copy_sha256, sizeof(wl->sha256));
	/* Validate everything now so a bad line 90,000 fails before the first
	 * call; each task is freed at once and only its index record is kept. */
	for (;;) {
		rc = parse_task_line(wl, &t, err);
		if (rc == 1)
			break;
		if (rc)
			goto out;
		size_t first = 0;
		rc = id_set_add(&ids, t, &first);
		if (rc == 1) {
			ap_error_set(err, wl->path, t->line, "id",
				     "duplicate task id '%s' (first on line %zu)", t->id, first);
			rc = -EINVAL;
			goto out;
		}
		if (rc)
			goto out;
		wl->n_unsatisfiable += t->unsatisfiable;
		task_free(t);
		t = NULL;
		wl->n_tasks++;
	}
	if (!wl->n_tasks) {
		ap_error_set(err, wl->path, 0, NULL, "the workload has no tasks");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = stream_seek(st, st->data_off, st->data_line)))
		goto out;
	*out = wl;
	wl = NULL;
out:
	if (rc == -ENOMEM)
		ap_error_set(err, path, 0, NULL, "out of memory");
	task_free(t);
	free(ids.v);
	workload_close(wl);
	return rc < 0 ? rc : 0;
}

/*
 * The tasks come from the copy, so a change to the file cannot reach the
 * run; but results that no longer match the file on disk are a failed run,
 * told at the end of the pass that noticed it.
 */
static int check_unchanged(struct workload *wl, struct ap_error *err)
{
	struct wl_stream *st = wl_stream(wl);
	struct stat now;
	if (stat(wl->path, &now)) {
		int e = errno;
		ap_error_set(err, wl->path, 0, NULL,
			     "the workload file is gone during the run (%s); the results of this "
			     "run no longer match a file on disk", strerror(e));
		return -ESTALE;
	}
	if (now.st_dev != st->orig.st_dev || now.st_ino != st->orig.st_ino ||
	    now.st_size != st->orig.st_size || now.st_mtim.tv_sec != st->orig.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != st->orig.st_mtim.tv_nsec) {
		ap_error_set(err, wl->path, 0, NULL,
			     "the workload file changed during the run (was %lld bytes, now %lld); "
			     "the run used the tasks read at its start (sha256 %.12s...) and stops "
			     "here as failed: start a new run for the new file",
			     (long long)st->orig.st_size, (long long)now.st_size, wl->sha256);
		return -ESTALE;
	}
	return 0;
}

int workload_next(struct workload *wl, struct task **out, struct ap_error *err)
{
	*out = NULL;
	int rc = parse_task_line(wl, out, err);
	if (rc == 1 && wl_stream(wl)->orig.st_ino) {
		int c = check_unchanged(wl, err);
		if (c)
			return c;
	}
	if (rc == 0 && wl->hook.apply && (rc = wl->hook.apply(*out, wl->hook.ctx))) {
		task_free(*out);
		*out = NULL;
		return rc;
	}
	return rc;
}

int workload_ref_next(struct workload *wl, struct task_ref_iter *it, struct task_ref *out,
		      struct ap_error *err)
{
	const struct ap_arena *ix = &wl_stream(wl)->ix.a;
	if (it->off >= ix->used) {
		/* As workload_next at the end: a changed file fails here too. */
		int rc = wl_stream(wl)->orig.st_ino ? check_unchanged(wl, err) : 0;
		return rc ? rc : 1;
	}
	const char *p = ix->base + it->off;
	unsigned char flags = (unsigned char)*p++;
	out->id = p;
	p += strlen(p) + 1;
	if (!(flags & IX_CATEGORY)) {
		out->category = NULL;
	} else if (flags & IX_SAME_CATEGORY) {
		out->category = it->category;
	} else {
		out->category = it->category = p;
		p += strlen(p) + 1;
	}
	out->decomposed = flags & IX_DECOMPOSED;
	it->off = (size_t)(p - ix->base);
	return 0;
}

int workload_rewind(struct workload *wl)
{
	struct wl_stream *st = wl_stream(wl);
	return stream_seek(st, st->data_off, st->data_line);
}

void workload_close(struct workload *wl)
{
	if (!wl)
		return;
	struct wl_stream *st = wl_stream(wl);
	if (st) {
		if (st->fmt && st->fmt->close)
			st->fmt->close(wl);
		if (st->rd.f)
			fclose(st->rd.f);
		wl_reader_free(&st->rd);
		ap_arena_free(&st->ix.a);
		free(st);
	}
	for (size_t i = 0; i < wl->n_notes; i++)
		free(wl->notes[i]);
	free(wl->notes);
	free(wl->spec);
	if (wl->hook.free)
		wl->hook.free(wl->hook.ctx);
	free(wl->path);
	free(wl->answers_path);
	free(wl->name);
	free(wl->version);
	free(wl->source);
	free(wl->license);
	free(wl->description);
	free(wl->system_prompt);
	cJSON_Delete(wl->tools);
	cJSON_Delete(wl->sampling);
	free(wl);
}

/* ---- task helpers for the runner ---- */

static bool args_cover(const cJSON *want, const cJSON *got)
{
	for (const cJSON *w = want->child; w; w = w->next) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);
		if (!g || !check_json_equal(w, g))
			return false;
	}
	return true;
}

const struct tool_answer *task_find_answer(const struct task *t, const char *name,
					   const char *arguments_json)
{
	const struct tool_answer *fallback = NULL, *hit = NULL;
	cJSON *args = arguments_json && *arguments_json ? cJSON_Parse(arguments_json)
							: cJSON_CreateObject();
	if (args && !cJSON_IsObject(args)) {
		cJSON_Delete(args);
		args = NULL;
	}
	for (size_t i = 0; i < t->n_answers && !hit; i++) {
		const struct tool_answer *a = &t->answers[i];
		if (!name || strcmp(a->name, name))
			continue;
		if (!a->args) {
			if (!fallback)
				fallback = a;
		} else if (args && args_cover(a->args, args)) {
			hit = a;
		}
	}
	cJSON_Delete(args);
	return hit ? hit : fallback;
}

cJSON *task_messages(const struct task *t)
{
	cJSON *m = t->messages ? cJSON_Duplicate(t->messages, true) : cJSON_CreateArray();
	if (!m || !t->system_prompt)
		return m;
	cJSON *sys = cJSON_CreateObject();
	if (!sys || !cJSON_AddStringToObject(sys, "role", "system") ||
	    !cJSON_AddStringToObject(sys, "content", t->system_prompt) ||
	    !cJSON_InsertItemInArray(m, 0, sys)) {
		cJSON_Delete(sys);
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

size_t wl_placeholder(const char *s)
{
	size_t n = 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '-')
		n++;
	return n && s[n] == '}' && s[n + 1] == '}' ? n : 0;
}

int subcall_render(const struct task *t, size_t i, const char *const *outputs,
		   struct sbuf *out)
{
	int rc = 0;
	sbuf_reset(out);
	if (i >= t->n_subs)
		return -EINVAL;
	const char *p = t->subs[i].prompt;
	while (!rc && *p) {
		const char *o = strstr(p, "{{");
		if (!o) {
			rc = sbuf_adds(out, p);
			break;
		}
		size_t n = wl_placeholder(o + 2);
		if (!n) {
			/* Not ours (e.g. a brace in JSON): keep one brace, look again. */
			rc = sbuf_add(out, p, (size_t)(o - p) + 1);
			p = o + 1;
			continue;
		}
		if ((rc = sbuf_add(out, p, (size_t)(o - p))))
			break;
		const char *val = NULL;
		bool known = false;
		if (n == 4 && !memcmp(o + 2, "prev", 4) && i > 0) {
			val = outputs[i - 1];
			known = true;
		}
		for (size_t j = 0; j < i && !known; j++) {
			if (strlen(t->subs[j].id) == n && !memcmp(t->subs[j].id, o + 2, n)) {
				val = outputs[j];
				known = true;
			}
		}
		/* Validation rejects unknown names; keep them verbatim regardless. */
		rc = known ? sbuf_adds(out, val ? val : "") : sbuf_add(out, o, n + 4);
		p = o + 2 + n + 2;
	}
	if (!rc && !out->s)
		rc = sbuf_add(out, "", 0); /* an empty prompt still reads as "" */
	return rc;
}
