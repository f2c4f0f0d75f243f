/*
 * Berkeley Function-Calling Leaderboard (BFCL) importer: a question file
 * ({"id", "question", "function"} per line) plus its possible_answer file
 * ({"id", "ground_truth"} per line), read as a workload without conversion.
 * Conversions (types, names, checks) are listed in workloads/SCHEMA.md.
 *
 * The answers are loaded whole into a sorted array at open: BFCL files hold
 * at most a few thousand small lines (a few MB), and joining by id needs
 * random access. The questions stream like any workload.
 */
#include "workload_priv.h"
#include "guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct bfcl_answer {
	char *id;
	size_t line;
	cJSON *gt; /* the ground_truth array */
};

struct bfcl_state {
	struct bfcl_answer *v;
	size_t n;
};

static int answer_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bfcl_answer *)a)->id, ((const struct bfcl_answer *)b)->id);
}

static const struct bfcl_answer *answer_find(const struct bfcl_state *s, const char *id)
{
	struct bfcl_answer key = { (char *)id, 0, NULL };
	/* bsearch(..., NULL, 0, ...) is undefined: an empty answers file has no array. */
	return s->n ? bsearch(&key, s->v, s->n, sizeof(*s->v), answer_cmp) : NULL;
}

static void bfcl_close(struct workload *wl)
{
	struct bfcl_state *s = wl_stream(wl)->state;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].id);
		cJSON_Delete(s->v[i].gt);
	}
	free(s->v);
	free(s);
	wl_stream(wl)->state = NULL;
}

/* The hash covers the question bytes followed by the answer bytes. */
static int sha256_pair(const char *a, const char *b, char hex[65])
{
	int rc = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char chunk[65536];
	FILE *f = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	const char *paths[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		if (!(f = fopen(paths[i], "rb"))) {
			rc = -errno;
			goto out;
		}
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			EVP_DigestUpdate(ctx, chunk, n);
		if (ferror(f)) {
			rc = -EIO;
			goto out;
		}
		fclose(f);
		f = NULL;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
out:
	if (f)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static char *default_answers_path(const char *q)
{
	const char *slash = strrchr(q, '/');
	size_t dl = slash ? (size_t)(slash - q) + 1 : 0;
	size_t n = strlen(q) + sizeof("possible_answer/");
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%.*spossible_answer/%s", (int)dl, q, slash ? slash + 1 : q);
	return p;
}

static int load_answers(struct bfcl_state *s, const char *path, struct ap_error *err)
{
	struct wl_reader r = { .path = path };
	size_t cap = 0;
	int rc = 0;
	cJSON *j = NULL;
	if (!(r.f = ap_fopen_regular(path, NULL))) {
		rc = -errno;
		ap_error_set(err, path, 0, NULL,
			     "cannot open the BFCL possible_answer file: %s (give its path "
			     "with the answers argument)",
			     strerror(-rc));
		return rc;
	}
	for (;;) {
		char *line;
		size_t n;
		const char *id = NULL;
		if ((rc = wl_read_line(&r, &line, &n, err)))
			break;
		struct jv_ctx x = { path, r.line, err };
		if (!(j = jv_parse_line(&x, line, n))) {
			rc = -EINVAL;
			break;
		}
		if ((rc = jv_object(&x, j, "answer")) ||
		    (rc = jv_string(&x, j, "", "id", true, &id)))
			break;
		cJSON *gt = cJSON_GetObjectItemCaseSensitive(j, "ground_truth");
		if (!cJSON_IsArray(gt)) {
			ap_error_set(err, path, r.line, "ground_truth",
				     "expected an array of expected calls, got %s",
				     jv_type_name(gt));
			rc = -EINVAL;
			break;
		}
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct bfcl_answer *v = realloc(s->v, nc * sizeof(*v));
			if (!v) {
				rc = -ENOMEM;
				break;
			}
			s->v = v;
			cap = nc;
		}
		struct bfcl_answer *a = &s->v[s->n];
		if (!(a->id = strdup(id))) {
			rc = -ENOMEM;
			break;
		}
		a->line = r.line;
		a->gt = cJSON_DetachItemViaPointer(j, gt);
		s->n++;
		cJSON_Delete(j);
		j = NULL;
	}
	cJSON_Delete(j);
	fclose(r.f);
	free(r.buf);
	if (rc < 0)
		return rc;
	if (s->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(s->v, s->n, sizeof(*s->v), answer_cmp);
	for (size_t i = 1; i < s->n; i++) {
		if (!strcmp(s->v[i - 1].id, s->v[i].id)) {
			size_t a = s->v[i - 1].line, b = s->v[i].line;
			ap_error_set(err, path, a > b ? a : b, "id",
				     "duplicate answer id '%s' (also on line %zu)", s->v[i].id,
				     a > b ? b : a);
			return -EINVAL;
		}
	}
	return 0;
}

static int bfcl_open(struct workload *wl, const char *answers_path, struct ap_error *err)
{
	int rc;
	struct bfcl_state *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	wl_stream(wl)->state = s;
	wl->answers_path = answers_path ? strdup(answers_path) : default_answers_path(wl->path);
	if (!wl->answers_path)
		return -ENOMEM;
	if ((rc = load_answers(s, wl->answers_path, err)))
		return rc;
	/* The questions' bytes from the private copy the tasks are read from. */
	if ((rc = sha256_pair(wl_stream(wl)->copy_path, wl->answers_path, wl->sha256))) {
		ap_error_set(err, wl->path, 0, NULL, "cannot hash: %s", strerror(-rc));
		return rc;
	}
	char *base = wl_basename_noext(wl->path);
	size_t n = strlen(wl->path) + strlen(wl->answers_path) + 128;
	wl->description = malloc(n);
	if (!base || !wl->description) {
		free(base);
		return -ENOMEM;
	}
	snprintf(wl->description, n, "BFCL questions %s judged by %s", wl->path,
		 wl->answers_path);
	/* BFCL_v3_simple -> version "v3"; other names keep "unknown". */
	const char *v = strncmp(base, "BFCL_v", 6) ? NULL : base + 5;
	size_t vl = v ? strcspn(v, "_") : 0;
	char version[32];
	snprintf(version, sizeof(version), "%.*s", v && vl < 16 ? (int)vl : 7,
		 v && vl < 16 ? v : "unknown");
	wl->name = base;
	wl->version = strdup(version);
	wl->source = strdup("Berkeley Function-Calling Leaderboard (github.com/ShishirPatil/"
			    "gorilla, berkeley-function-call-leaderboard/data)");
	wl->license = strdup("Apache-2.0");
	if (!wl->version || !wl->source || !wl->license)
		return -ENOMEM;
	/* BFCL judges the first response's calls: one model call, one attempt. */
	wl->policy = (struct attempt_policy){ 1, RETRY_PLAIN, 1 };
	return 0;
}

/* BFCL's Python-flavoured parameter types to JSON Schema (NULL: drop it). */
static int map_type(const char *t, const char **out)
{
	static const struct {
		const char *bfcl, *json;
	} m[] = {
		{ "dict", "object" },	 { "object", "object" },   { "HashMap", "object" },
		{ "Hashtable", "object" }, { "float", "number" },   { "number", "number" },
		{ "double", "number" },  { "tuple", "array" },	   { "array", "array" },
		{ "list", "array" },	 { "ArrayList", "array" }, { "Array", "array" },
		{ "Queue", "array" },	 { "Stack", "array" },	   { "integer", "integer" },
		{ "int", "integer" },	 { "long", "integer" },    { "short", "integer" },
		{ "byte", "integer" },	 { "Bigint", "integer" },  { "string", "string" },
		{ "String", "string" },	 { "char", "string" },	   { "boolean", "boolean" },
		{ "bool", "boolean" },	 { "null", "null" },	   { "any", NULL },
		{ "Any", NULL },
	};
	for (size_t i = 0; i < AP_ARRAY_SIZE(m); i++) {
		if (!strcmp(m[i].bfcl, t)) {
			*out = m[i].json;
			return 0;
		}
	}
	return -EINVAL;
}

/* Rewrites types in place through properties, items and combinators. */
static int convert_schema(const struct jv_ctx *x, cJSON *s, const char *field, int depth)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	int rc;
	if (!cJSON_IsObject(s))
		return 0;
	if (depth > 32) {
		ap_error_set(x->err, x->file, x->line, field, "schema nested too deep");
		return -EINVAL;
	}
	cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
	if (cJSON_IsString(t)) {
		const char *to = NULL;
		if (map_type(t->valuestring, &to)) {
			ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "type"),
				     "unknown BFCL parameter type '%s'", t->valuestring);
			return -EINVAL;
		}
		if (!to)
			cJSON_DeleteItemFromObjectCaseSensitive(s, "type");
		else if (strcmp(to, t->valuestring) &&
			 !cJSON_ReplaceItemInObjectCaseSensitive(s, "type", cJSON_CreateString(to)))
			return -ENOMEM;
	}
	cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	for (cJSON *p = cJSON_IsObject(props) ? props->child : NULL; p; p = p->next) {
		jv_path(g, sizeof(g), jv_path(f, sizeof(f), field, "properties"), p->string);
		if ((rc = convert_schema(x, p, g, depth + 1)))
			return rc;
	}
	static const char *const subs[] = { "items", "additionalProperties", "anyOf", "oneOf",
					    "allOf", NULL };
	for (size_t i = 0; subs[i]; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(s, subs[i]);
		jv_path(f, sizeof(f), field, subs[i]);
		if (cJSON_IsObject(v) && (rc = convert_schema(x, v, f, depth + 1)))
			return rc;
		size_t k = 0;
		for (cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e; e = e->next, k++)
			if ((rc = convert_schema(x, e, jv_path_idx(g, sizeof(g), f, k),
						 depth + 1)))
				return rc;
	}
	return 0;
}

/* "math.factorial" -> "math_factorial": OpenAI tool names allow no dots. */
static void sanitize_name(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
	for (char *p = dst; *p; p++)
		if (*p == '.')
			*p = '_';
}

static int convert_function(const struct jv_ctx *x, const cJSON *fn, const char *field,
			    cJSON **out)
{
	char f[JV_PATH_MAX], name[128];
	const char *fname = NULL, *desc = NULL;
	int rc;
	*out = NULL;
	if ((rc = jv_object(x, fn, field)) || (rc = jv_string(x, fn, field, "name", true, &fname)) ||
	    (rc = jv_string(x, fn, field, "description", false, &desc)))
		return rc;
	sanitize_name(name, sizeof(name), fname);
	if (!wl_tool_name_ok(name)) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), field, "name"),
			     "'%s' cannot be made a valid tool name (1 to 64 letters, digits, "
			     "'_' or '-' once dots become '_')",
			     fname);
		return -EINVAL;
	}
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
	jv_path(f, sizeof(f), field, "parameters");
	if (params && (rc = jv_object(x, params, f)))
		return rc;
	cJSON *tool = cJSON_CreateObject();
	cJSON *ofn = cJSON_CreateObject();
	cJSON *p = params ? cJSON_Duplicate(params, true) : cJSON_CreateObject();
	if (!tool || !ofn || !p || !cJSON_AddStringToObject(tool, "type", "function") ||
	    !cJSON_AddStringToObject(ofn, "name", name) ||
	    (desc && !cJSON_AddStringToObject(ofn, "description", desc))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = convert_schema(x, p, f, 0)))
		goto out;
	if (!cJSON_HasObjectItem(p, "type") && !cJSON_AddStringToObject(p, "type", "object")) {
		rc = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(ofn, "parameters", p);
	p = NULL;
	cJSON_AddItemToObject(tool, "function", ofn);
	ofn = NULL;
	*out = tool;
	tool = NULL;
out:
	cJSON_Delete(p);
	cJSON_Delete(ofn);
	cJSON_Delete(tool);
	return rc;
}

/* BFCL ids are "<category>_<n>" (or "live_simple_0-0-0"): the category is
 * what comes before the last "_<digit...". */
static char *category_of(const char *id)
{
	const char *u = strrchr(id, '_');
	size_t n = u && u[1] >= '0' && u[1] <= '9' ? (size_t)(u - id) : strlen(id);
	char *c = malloc(n + 1);
	if (c)
		snprintf(c, n + 1, "%.*s", (int)n, id);
	return c;
}

/* question: "text" (BFCL v1), [[turn messages]...] (v3; first turn) or [messages]. */
static int question_parse(struct task *t, const struct jv_ctx *x, const cJSON *q)
{
	char f[JV_PATH_MAX];
	struct sbuf sys = { 0 };
	int rc = 0;
	if (!(t->messages = cJSON_CreateArray()))
		return -ENOMEM;
	if (cJSON_IsString(q)) {
		cJSON *m = cJSON_CreateObject();
		if (!m || !cJSON_AddItemToArray(t->messages, m) ||
		    !cJSON_AddStringToObject(m, "role", "user") ||
		    !cJSON_AddStringToObject(m, "content", q->valuestring))
			return -ENOMEM;
		return 0;
	}
	const cJSON *turn = q;
	const char *tf = "question";
	if (cJSON_IsArray(q) && cJSON_IsArray(q->child)) {
		/* Later turns of multi-turn entries need BFCL's executable state;
		 * only the first turn is replayed. */
		turn = q->child;
		tf = "question[0]";
	}
	if (!cJSON_IsArray(turn) || !turn->child) {
		ap_error_set(x->err, x->file, x->line, tf,
			     "expected a non-empty array of messages, got %s",
			     jv_type_name(turn));
		return -EINVAL;
	}
	size_t i = 0;
	for (const cJSON *m = turn->child; m; m = m->next, i++) {
		const char *role = NULL, *content = NULL;
		jv_path_idx(f, sizeof(f), tf, i);
		if ((rc = jv_object(x, m, f)) || (rc = jv_string(x, m, f, "role", true, &role)) ||
		    (rc = jv_string(x, m, f, "content", true, &content)))
			goto out;
		if (!strcmp(role, "system")) {
			/* The system prompt travels apart from the messages. */
			if ((sys.len && (rc = sbuf_adds(&sys, "\n\n"))) ||
			    (rc = sbuf_adds(&sys, content)))
				goto out;
			continue;
		}
		if (strcmp(role, "user") && strcmp(role, "assistant")) {
			ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), f, "role"),
				     "unsupported role '%s' (expected system, user, assistant)",
				     role);
			rc = -EINVAL;
			goto out;
		}
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(t->messages, o) ||
		    !cJSON_AddStringToObject(o, "role", role) ||
		    !cJSON_AddStringToObject(o, "content", content)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (!t->messages->child) {
		ap_error_set(x->err, x->file, x->line, tf, "no user message");
		rc = -EINVAL;
		goto out;
	}
	if (sys.len) {
		t->system_prompt = sys.s;
		sys.s = NULL;
	}
out:
	sbuf_free(&sys);
	return rc;
}

/*
 * ground_truth [{"func": {"arg": [acceptable...]}}, ...] to
 * {"kind": "all", "exact_calls": true, "checks": [tool_call...]}: BFCL wants
 * exactly these calls, in any order, and no others.
 */
static int answer_to_check(struct task *t, const struct bfcl_answer *a, const char *apath,
			   struct ap_error *err)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX], name[128];
	struct jv_ctx x = { apath, a->line, err };
	int rc = 0;
	cJSON *chk = cJSON_CreateObject();
	cJSON *list = cJSON_CreateArray();
	if (!chk || !list || !cJSON_AddStringToObject(chk, "kind", "all") ||
	    !cJSON_AddBoolToObject(chk, "exact_calls", 1)) {
		rc = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(chk, "checks", list);
	if (!a->gt->child) {
		ap_error_set(err, apath, a->line, "ground_truth",
			     "no expected call (relevance/irrelevance entries are not "
			     "supported)");
		rc = -EINVAL;
		goto out;
	}
	size_t i = 0;
	for (const cJSON *call = a->gt->child; call; call = call->next, i++) {
		jv_path_idx(f, sizeof(f), "ground_truth", i);
		if ((rc = jv_object(&x, call, f)))
			goto out;
		if (!call->child || call->child->next) {
			ap_error_set(err, apath, a->line, f,
				     "expected one {\"function_name\": {arguments}} per call");
			rc = -EINVAL;
			goto out;
		}
		const cJSON *fn = call->child;
		jv_path(g, sizeof(g), f, fn->string);
		if ((rc = jv_object(&x, fn, g)))
			goto out;
		sanitize_name(name, sizeof(name), fn->string);
		bool offered = false;
		for (const cJSON *tool = t->tools ? t->tools->child : NULL; tool; tool = tool->next)
			offered |= !strcmp(wl_tool_name(tool), name);
		if (!offered) {
			ap_error_set(err, apath, a->line, g,
				     "'%s' is not among the question's functions", fn->string);
			rc = -EINVAL;
			goto out;
		}
		cJSON *tc = cJSON_CreateObject();
		cJSON *args = cJSON_Duplicate(fn, true);
		if (!tc || !args || !cJSON_AddItemToArray(list, tc)) {
			cJSON_Delete(tc);
			cJSON_Delete(args);
			rc = -ENOMEM;
			goto out;
		}
		cJSON_AddItemToObject(tc, "args", args);
		if (!cJSON_AddStringToObject(tc, "kind", "tool_call") ||
		    !cJSON_AddStringToObject(tc, "name", name) ||
		    !cJSON_AddBoolToObject(tc, "strict_args", 1) ||
		    !cJSON_AddStringToObject(tc, "match", "bfcl")) {
			rc = -ENOMEM;
			goto out;
		}
	}
	/* Shapes were checked above; what check_parse can still refuse (an
	 * argument without a list of values) reads "ground_truth.checks[i].args.x". */
	rc = check_parse(&t->check, chk, apath, a->line, "ground_truth", err);
out:
	cJSON_Delete(chk);
	return rc;
}

static int bfcl_parse(struct workload *wl, const cJSON *j, size_t line, struct task **out,
		      struct ap_error *err)
{
	char f[JV_PATH_MAX];
	struct bfcl_state *s = wl_stream(wl)->state;
	struct jv_ctx x = { wl->path, line, err };
	const char *id = NULL;
	int rc;
	struct task *t = wl_task_new(wl, line);
	*out = NULL;
	if (!t)
		return -ENOMEM;
	/* Other keys are ignored: BFCL adds fields between releases. */
	if ((rc = jv_object(&x, j, "question line")) ||
	    (rc = jv_string(&x, j, "", "id", true, &id)))
		goto out;
	if (!*id) {
		ap_error_set(err, wl->path, line, "id", "must not be empty");
		rc = -EINVAL;
		goto out;
	}
	if (!(t->id = strdup(id)) || !(t->category = category_of(id))) {
		rc = -ENOMEM;
		goto out;
	}
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question");
	if (!q) {
		ap_error_set(err, wl->path, line, "question", "missing required field");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = question_parse(t, &x, q)))
		goto out;
	const cJSON *fns = cJSON_GetObjectItemCaseSensitive(j, "function");
	if (!cJSON_IsArray(fns) && !cJSON_IsObject(fns)) {
		ap_error_set(err, wl->path, line, "function",
			     fns ? "expected an array of functions, got %s"
				 : "missing required field%s",
			     fns ? jv_type_name(fns) : "");
		rc = -EINVAL;
		goto out;
	}
	if (!(t->tools = cJSON_CreateArray())) {
		rc = -ENOMEM;
		goto out;
	}
	size_t i = 0;
	const cJSON *first = cJSON_IsObject(fns) ? fns : fns->child;
	for (const cJSON *fn = first; fn; fn = cJSON_IsObject(fns) ? NULL : fn->next, i++) {
		cJSON *tool = NULL;
		if (cJSON_IsArray(fns))
			jv_path_idx(f, sizeof(f), "function", i);
		else
			snprintf(f, sizeof(f), "function");
		if ((rc = convert_function(&x, fn, f, &tool)))
			goto out;
		const char *nm = wl_tool_name(tool);
		for (const cJSON *o = t->tools->child; o; o = o->next) {
			if (!strcmp(wl_tool_name(o), nm)) {
				ap_error_set(err, wl->path, line, f,
					     "two functions become the tool name '%s'", nm);
				cJSON_Delete(tool);
				rc = -EINVAL;
				goto out;
			}
		}
		cJSON_AddItemToArray(t->tools, tool);
	}
	if (!t->tools->child) {
		ap_error_set(err, wl->path, line, "function", "no functions");
		rc = -EINVAL;
		goto out;
	}
	const struct bfcl_answer *a = answer_find(s, id);
	if (!a) {
		ap_error_set(err, wl->path, line, "id", "no possible answer for '%s' in %s", id,
			     wl->answers_path);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = answer_to_check(t, a, wl->answers_path, err)))
		goto out;
	*out = t;
	t = NULL;
out:
	task_free(t);
	return rc;
}

const struct wl_format wl_bfcl_format = {
	.id = WL_BFCL,
	.name = "bfcl",
	.open = bfcl_open,
	.parse = bfcl_parse,
	.close = bfcl_close,
};
