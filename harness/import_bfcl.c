/*
 * Berkeley Function-Calling Leaderboard (BFCL) importer: a question file
 * ({"id", "question", "function"} per line) plus its possible_answer file
 * ({"id", "ground_truth"} per line), read as a workload without conversion;
 * or a whole BFCL data folder (bfcl:DIR), every category file in it. The
 * category (from the file name BFCL_vN_<category>.json, or forced with
 * bfcl/<category>:FILE) says how a task is judged: BFCL's AST checker
 * (bfcl_match.h) in the language of the category, no call (irrelevance),
 * some call (relevance), or not at all (multi-turn, memory, web search and
 * format sensitivity need BFCL's own backends: refused).
 * Conversions (types, names, checks) are listed in workloads/SCHEMA.md.
 *
 * The answers are loaded whole into a sorted array at open: BFCL files hold
 * at most a few thousand small lines (a few MB), and joining by id needs
 * random access. The questions stream like any workload; a folder's
 * question files are first validated one by one (so errors name the file
 * and line), then joined into one private copy that the run reads.
 */
#include "workload_priv.h"
#include "guard.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


#include "bfcl_match.h"

struct bfcl_answer {
	char *id;
	size_t line;
	cJSON *gt; /* the ground_truth array */
};

/* How a category is judged. */
enum bfcl_shape { SHAPE_AST, SHAPE_IRRELEVANCE, SHAPE_RELEVANCE, SHAPE_REFUSED };

/* One question file (the only one, or one of a folder's). */
struct bfcl_file {
	char *qpath, *apath;  /* apath NULL: the category needs no answers */
	char *category;       /* from the file name (or forced); NULL: from each id */
	enum bfcl_shape shape;
	size_t first_line;    /* in the joined copy: its line 1 is this line, 1-based */
	struct bfcl_answer *v;
	size_t n;
};

struct bfcl_state {
	struct bfcl_file *f;
	size_t nf;
};

/*
 * The categories BFCL v4 has that agentperf cannot run, by name prefix,
 * with the one line that says why. Everything else is single-turn.
 */
static const struct {
	const char *prefix, *why;
} refused[] = {
	{ "multi_turn", "multi-turn entries need BFCL's executable backends (its Python API "
			"simulators answer every call and hold the state each turn is judged on)" },
	{ "memory", "memory entries need BFCL's memory backends (kv, vector, rec_sum) and their "
		    "prerequisite conversations" },
	{ "web_search", "web-search entries need BFCL's search backend, which calls the network" },
	{ "format_sensitivity", "format-sensitivity re-asks the other categories in many prompt "
				"formats, for prompting (non-function-calling) models only" },
};

static const char *refused_why(const char *cat)
{
	for (size_t i = 0; cat && i < AP_ARRAY_SIZE(refused); i++)
		if (!strncmp(cat, refused[i].prefix, strlen(refused[i].prefix)))
			return refused[i].why;
	return NULL;
}

static enum bfcl_shape shape_of(const char *cat)
{
	if (!cat)
		return SHAPE_AST;
	if (refused_why(cat))
		return SHAPE_REFUSED;
	if (strstr(cat, "irrelevance"))
		return SHAPE_IRRELEVANCE;
	if (strstr(cat, "relevance"))
		return SHAPE_RELEVANCE;
	return SHAPE_AST;
}

/* BFCL's is_java / is_js: by the category's name. */
static enum bfcl_lang lang_of(const char *cat)
{
	if (cat && strstr(cat, "javascript"))
		return BFCL_JAVASCRIPT;
	if (cat && strstr(cat, "java"))
		return BFCL_JAVA;
	return BFCL_PYTHON;
}

/* "dir/BFCL_v4_live_simple.json" -> "live_simple"; NULL if not so named. */
static char *category_from_name(const char *path)
{
	char *base = wl_basename_noext(path);
	char *c = NULL;
	if (base && !strncmp(base, "BFCL_v", 6)) {
		const char *u = strchr(base + 6, '_');
		if (u && u[1])
			c = strdup(u + 1);
	}
	free(base);
	return c;
}

int bfcl_refuse_by_name(const char *path, const char *forced_category, struct ap_error *err)
{
	char *cat = forced_category && *forced_category ? strdup(forced_category)
							: category_from_name(path);
	const char *why = refused_why(cat);
	if (why)
		ap_error_set(err, path, 0, NULL, "BFCL category '%s' cannot run here: %s", cat, why);
	free(cat);
	return why ? -ENOTSUP : 0;
}

static int answer_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bfcl_answer *)a)->id, ((const struct bfcl_answer *)b)->id);
}

static const struct bfcl_answer *answer_find(const struct bfcl_file *s, const char *id)
{
	struct bfcl_answer key = { (char *)id, 0, NULL };
	/* bsearch(..., NULL, 0, ...) is undefined: an empty answers file has no array. */
	return s->n ? bsearch(&key, s->v, s->n, sizeof(*s->v), answer_cmp) : NULL;
}

static void file_free(struct bfcl_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].id);
		cJSON_Delete(f->v[i].gt);
	}
	free(f->v);
	free(f->qpath);
	free(f->apath);
	free(f->category);
	memset(f, 0, sizeof(*f));
}

static void bfcl_close(struct workload *wl)
{
	struct bfcl_state *s = wl_stream(wl)->state;
	if (!s)
		return;
	for (size_t i = 0; i < s->nf; i++)
		file_free(&s->f[i]);
	free(s->f);
	free(s);
	wl_stream(wl)->state = NULL;
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

static int load_answers(struct bfcl_file *s, const char *path, struct ap_error *err)
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
		bfcl_mark_floats(j, line); /* [70.0] is a float answer, as BFCL reads it */
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
	wl_reader_free(&r);
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

/* Provenance common to a file and a folder; name is taken over. */
static int set_provenance(struct workload *wl, char *name, const char *version)
{
	size_t n = strlen(wl->path) + (wl->answers_path ? strlen(wl->answers_path) : 0) + 160;
	wl->name = name;
	if (!name || !(wl->description = malloc(n)))
		return -ENOMEM;
	if (wl->answers_path)
		snprintf(wl->description, n, "BFCL questions %s judged by %s", wl->path,
			 wl->answers_path);
	else
		snprintf(wl->description, n, "BFCL questions %s (relevance: judged by whether a "
			 "call is made)", wl->path);
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

/* BFCL_v3_simple -> "v3"; other names "unknown". */
static void version_of(const char *path, char *out, size_t n)
{
	char *base = wl_basename_noext(path);
	const char *v = base && !strncmp(base, "BFCL_v", 6) ? base + 5 : NULL;
	size_t vl = v ? strcspn(v, "_") : 0;
	snprintf(out, n, "%.*s", v && vl < 16 ? (int)vl : 7, v && vl < 16 ? v : "unknown");
	free(base);
}

static int open_file(struct workload *wl, struct bfcl_state *s, const char *answers_path,
		     struct ap_error *err)
{
	int rc;
	struct wl_stream *st = wl_stream(wl);
	if (!(s->f = calloc(1, sizeof(*s->f))))
		return -ENOMEM;
	s->nf = 1;
	struct bfcl_file *f = s->f;
	f->first_line = 1;
	if (!(f->qpath = strdup(wl->path)))
		return -ENOMEM;
	/* A forced category holds for every task; else each id names its own
	 * (a file may mix them), and the file's name says whether it has answers. */
	if (st->category[0] && !(f->category = strdup(st->category)))
		return -ENOMEM;
	char *fcat = f->category ? strdup(f->category) : category_from_name(wl->path);
	f->shape = shape_of(fcat);
	const char *why = refused_why(fcat);
	if (why)
		ap_error_set(err, wl->path, 0, NULL, "BFCL category '%s' cannot run here: %s",
			     fcat, why);
	free(fcat);
	if (why)
		return -ENOTSUP;
	if (f->shape == SHAPE_AST) {
		wl->answers_path = answers_path ? strdup(answers_path)
						: default_answers_path(wl->path);
		if (!wl->answers_path || !(f->apath = strdup(wl->answers_path)))
			return -ENOMEM;
		if ((rc = load_answers(f, wl->answers_path, err)))
			return rc;
	}
	/* The questions' bytes from the private copy the tasks are read from. */
	const char *paths[2] = { st->copy_path, wl->answers_path };
	if ((rc = ap_sha256_files(paths, 2, wl->sha256))) {
		ap_error_set(err, wl->path, 0, NULL, "cannot hash: %s", strerror(-rc));
		return rc;
	}
	char version[32];
	version_of(wl->path, version, sizeof(version));
	return set_provenance(wl, wl_basename_noext(wl->path), version);
}

/* Appends file path to the joined copy fd; *lines gets its line count. */
static int append_file(int fd, const char *path, size_t *lines, struct ap_error *err)
{
	char chunk[65536];
	int rc = 0, in = ap_open_regular(path, err);
	bool first = true;
	char last = '\n';
	*lines = 0;
	if (in < 0)
		return in;
	for (;;) {
		ssize_t n = read(in, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		char *p = chunk;
		/* A byte order mark is allowed on line 1 of a file only, not mid-copy. */
		if (first && n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
			p += 3, n -= 3;
		first = false;
		for (ssize_t i = 0; i < n; i++)
			*lines += p[i] == '\n';
		if (n)
			last = p[n - 1];
		if (write(fd, p, (size_t)n) != n) {
			rc = -errno;
			break;
		}
	}
	if (!rc && last != '\n') {
		if (write(fd, "\n", 1) != 1)
			rc = -errno;
		(*lines)++;
	}
	if (rc)
		ap_error_set(err, path, 0, NULL, "cannot copy: %s", strerror(-rc));
	close(in);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* BFCL_v*_*.json directly in dir, sorted; *out malloc'd. */
static int list_dir(const char *dir, char ***out, size_t *n, struct ap_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (!d) {
		int rc = -errno;
		ap_error_set(err, dir, 0, NULL, "cannot open the folder: %s", strerror(-rc));
		return rc;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, "BFCL_v", 6) || l < 11 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			char **v = realloc(*out, cap * sizeof(*v));
			if (!v)
				break;
			*out = v;
		}
		size_t pl = strlen(dir) + l + 2;
		if (!((*out)[*n] = malloc(pl)))
			break;
		snprintf((*out)[(*n)++], pl, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), name_cmp);
	return 0;
}

/*
 * bfcl:DIR: every BFCL_vN_<category>.json in DIR, its answers in
 * answers_dir (default DIR/possible_answer). Refused categories become
 * notes; each other file is validated alone (its errors name it), then all
 * are joined into one private copy.
 */
static int open_dir(struct workload *wl, struct bfcl_state *s, const char *answers_dir,
		    struct ap_error *err)
{
	struct wl_stream *st = wl_stream(wl);
	char **names = NULL, version[32] = "", v[32];
	size_t nn = 0, line = 1, k = 0;
	const char **hashed = NULL;
	int rc, fd = -1;
	size_t dl = strlen(wl->path);
	while (dl > 1 && wl->path[dl - 1] == '/')
		wl->path[--dl] = '\0';
	if (answers_dir)
		wl->answers_path = strdup(answers_dir);
	else if ((wl->answers_path = malloc(dl + sizeof("/possible_answer"))))
		snprintf(wl->answers_path, dl + sizeof("/possible_answer"), "%s/possible_answer",
			 wl->path);
	if (!wl->answers_path)
		return -ENOMEM;
	if ((rc = list_dir(wl->path, &names, &nn, err)))
		return rc;
	if (!(s->f = calloc(nn + 1, sizeof(*s->f))) || !(hashed = calloc(2 * nn + 1, sizeof(*hashed)))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((fd = memfd_create("agentperf-bfcl", MFD_CLOEXEC)) < 0) {
		rc = -errno;
		ap_error_set(err, wl->path, 0, NULL, "cannot make a private copy: %s",
			     strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		char *cat = category_from_name(names[i]);
		const char *why = cat ? refused_why(cat) : "its name has no category after BFCL_vN_";
		if (why) {
			rc = wl_add_note(wl, "%s: not run: BFCL category '%s': %s", names[i],
					 cat ? cat : "?", why);
			free(cat);
			if (rc)
				goto out;
			continue;
		}
		struct bfcl_file *f = &s->f[s->nf++];
		f->qpath = names[i];
		names[i] = NULL;
		f->category = cat;
		f->shape = shape_of(cat);
		if (f->shape == SHAPE_AST) {
			char *base = strrchr(f->qpath, '/') + 1;
			size_t al = strlen(wl->answers_path) + strlen(base) + 2;
			if (!(f->apath = malloc(al))) {
				rc = -ENOMEM;
				goto out;
			}
			snprintf(f->apath, al, "%s/%s", wl->answers_path, base);
		}
		/* Validated alone, so an error names this file and its line. */
		size_t sl = strlen(f->qpath) + strlen(cat) + 8;
		char *spec = malloc(sl);
		struct workload *one = NULL;
		if (!spec) {
			rc = -ENOMEM;
			goto out;
		}
		snprintf(spec, sl, "bfcl/%s:%s", cat, f->qpath);
		rc = workload_open(&one, spec, f->apath, err);
		free(spec);
		if (rc)
			goto out;
		workload_close(one);
		if (f->apath && (rc = load_answers(f, f->apath, err)))
			goto out;
		size_t lines = 0;
		f->first_line = line;
		if ((rc = append_file(fd, f->qpath, &lines, err)))
			goto out;
		line += lines;
		hashed[k++] = f->qpath;
		hashed[k++] = f->apath;
		version_of(f->qpath, v, sizeof(v));
		snprintf(version, sizeof(version), "%s", !version[0] || !strcmp(version, v) ? v : "mixed");
	}
	if (!s->nf) {
		ap_error_set(err, wl->path, 0, NULL,
			     "no BFCL question file to run here (BFCL_vN_<category>.json, %zu "
			     "refused)", wl->n_notes);
		rc = -EINVAL;
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) || !(st->rd.f = fdopen(fd, "rb"))) {
		rc = -errno;
		goto out;
	}
	fd = -1;
	/* All question files, each followed by its answers, in name order. */
	if ((rc = ap_sha256_files(hashed, k, wl->sha256))) {
		ap_error_set(err, wl->path, 0, NULL, "cannot hash: %s", strerror(-rc));
		goto out;
	}
	char name[48];
	snprintf(name, sizeof(name), "BFCL_%s", version);
	rc = set_provenance(wl, strdup(name), version);
out:
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	free(hashed);
	return rc;
}

static int bfcl_open(struct workload *wl, const char *answers_path, struct ap_error *err)
{
	struct bfcl_state *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	wl_stream(wl)->state = s;
	return wl_stream(wl)->is_dir ? open_dir(wl, s, answers_path, err)
				     : open_file(wl, s, answers_path, err);
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
		{ "Any", NULL },	 { "Boolean", "boolean" }, { "Set", "array" },
		/* BFCL's converter makes a missing or unknown type a string. */
		{ "", "string" },
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

/* Appends printf text to a schema's "description" (created if missing). */
static int desc_append(cJSON *o, const char *fmt, ...) AP_PRINTF(2, 3);
static int desc_append(cJSON *o, const char *fmt, ...)
{
	struct sbuf b = { 0 };
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "description");
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *add = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (!add)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(add, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = sbuf_adds(&b, cJSON_IsString(d) ? d->valuestring : "");
	if (!rc)
		rc = sbuf_adds(&b, add);
	free(add);
	cJSON *nd = rc ? NULL : cJSON_CreateString(b.s);
	sbuf_free(&b);
	if (!nd)
		return -ENOMEM;
	if (cJSON_HasObjectItem(o, "description"))
		return cJSON_ReplaceItemInObjectCaseSensitive(o, "description", nd) ? 0 : -ENOMEM;
	return cJSON_AddItemToObject(o, "description", nd) ? 0 : -ENOMEM;
}

/* Next code point of UTF-8 text (validated on reading); advances *p. */
static unsigned utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned c = *s++;
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0xff;
	while (more-- > 0 && (*s & 0xc0) == 0x80)
		c = (c << 6) | (*s++ & 0x3f);
	*p = s;
	return c;
}

/* Python's json.dumps (", " and ": " separators, ASCII only): BFCL puts a
 * dict's schema into the description this way, so the prompt is the same. */
static int py_dumps(struct sbuf *b, const cJSON *v)
{
	int rc = 0;
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		bool obj = cJSON_IsObject(v);
		rc = sbuf_adds(b, obj ? "{" : "[");
		for (const cJSON *e = v->child; e && !rc; e = e->next) {
			if (e != v->child)
				rc = sbuf_adds(b, ", ");
			if (!rc && obj) {
				cJSON k = { .type = cJSON_String, .valuestring = e->string };
				if (!(rc = py_dumps(b, &k)))
					rc = sbuf_adds(b, ": ");
			}
			if (!rc)
				rc = py_dumps(b, e);
		}
		return rc ? rc : sbuf_adds(b, obj ? "}" : "]");
	}
	if (cJSON_IsString(v)) {
		rc = sbuf_adds(b, "\"");
		for (const unsigned char *p = (const unsigned char *)v->valuestring; *p && !rc;) {
			unsigned c = utf8_next(&p);
			static const char esc[] = "\"\"\\\\\nn\rr\tt\bb\ff";
			const char *x = c < 0x80 ? strchr(esc, (int)c) : NULL;
			if (c && x && (x - esc) % 2 == 0)
				rc = sbuf_addf(b, "\\%c", x[1]);
			else if (c >= 0x20 && c < 0x80)
				rc = sbuf_addf(b, "%c", (char)c);
			else if (c < 0x10000)
				rc = sbuf_addf(b, "\\u%04x", c);
			else
				rc = sbuf_addf(b, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
					       0xdc00 + ((c - 0x10000) & 0x3ff));
		}
		return rc ? rc : sbuf_adds(b, "\"");
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 1e15)
			return sbuf_addf(b, "%.0f", d);
		char t[32];
		snprintf(t, sizeof(t), "%.15g", d);
		if (strtod(t, NULL) != d)
			snprintf(t, sizeof(t), "%.17g", d);
		return sbuf_adds(b, t);
	}
	return sbuf_adds(b, cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "null");
}

/*
 * BFCL's func_doc_language_specific_pre_processing on a copy of the
 * parameters: a Java or JavaScript parameter is asked for as a string (the
 * source-code literal), its description saying of which type; a list's
 * element type moves into the description.
 */
static int java_js_params(cJSON *p, enum bfcl_lang lang)
{
	const char *L = lang == BFCL_JAVA ? "Java" : "JavaScript";
	cJSON *props = cJSON_GetObjectItemCaseSensitive(p, "properties");
	int rc = 0;
	for (cJSON *v = cJSON_IsObject(props) ? props->child : NULL; v && !rc; v = v->next) {
		if (!cJSON_IsObject(v))
			continue;
		const cJSON *tj = cJSON_GetObjectItemCaseSensitive(v, "type");
		char t[64];
		snprintf(t, sizeof(t), "%s", cJSON_IsString(tj) ? tj->valuestring : "");
		if (!strcmp(t, "any"))
			rc = desc_append(v, " This parameter can be of any type of %s object in string "
					    "representation.", L);
		else
			rc = desc_append(v, " This is %s %s type parameter in string representation.",
					 L, t);
		bool list = lang == BFCL_JAVA ? !strcmp(t, "ArrayList") || !strcmp(t, "Array")
					      : !strcmp(t, "array");
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(v, "items"), "type");
		if (!rc && list) {
			if (cJSON_IsString(it))
				rc = desc_append(v, " The list elements are of type %s; they are not in "
						    "string representation.", it->valuestring);
			cJSON_DeleteItemFromObjectCaseSensitive(v, "items");
		}
		/* JavaScript: a dict's own schema moves into the description too. */
		const cJSON *sub = cJSON_GetObjectItemCaseSensitive(v, "properties");
		if (!rc && lang == BFCL_JAVASCRIPT && !strcmp(t, "dict") && sub) {
			struct sbuf js = { 0 };
			rc = py_dumps(&js, sub);
			if (!rc)
				rc = desc_append(v, " The dictionary entries have the following schema; "
						    "they are not in string representation. %s", js.s);
			sbuf_free(&js);
			cJSON_DeleteItemFromObjectCaseSensitive(v, "properties");
		}
		cJSON *str = cJSON_CreateString("string");
		if (!rc && (!str || (cJSON_HasObjectItem(v, "type")
					     ? !cJSON_ReplaceItemInObjectCaseSensitive(v, "type", str)
					     : !cJSON_AddItemToObject(v, "type", str)))) {
			cJSON_Delete(str);
			rc = -ENOMEM;
		}
	}
	return rc;
}

/* BFCL's note on every function description, by language. */
static const char *const lang_hint[] = {
	[BFCL_PYTHON] = " Note that the provided function is in Python 3 syntax.",
	[BFCL_JAVA] = " Note that the provided function is in Java 8 SDK syntax.",
	[BFCL_JAVASCRIPT] = " Note that the provided function is in JavaScript syntax.",
};

static int convert_function(const struct jv_ctx *x, const cJSON *fn, const char *field,
			    enum bfcl_lang lang, cJSON **out)
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
	    (desc && !cJSON_AddStringToObject(ofn, "description", desc)) ||
	    desc_append(ofn, "%s", lang_hint[lang])) {
		rc = -ENOMEM;
		goto out;
	}
	if (lang != BFCL_PYTHON && (rc = java_js_params(p, lang)))
		goto out;
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
/* The question's function named fname (BFCL's own name, dots and all). */
static const cJSON *function_named(const cJSON *fns, const char *fname)
{
	const cJSON *first = cJSON_IsObject(fns) ? fns : fns->child;
	for (const cJSON *fn = first; fn; fn = cJSON_IsObject(fns) ? NULL : fn->next) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(fn, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, fname))
			return fn;
	}
	return NULL;
}

/*
 * ground_truth [{"func": {"arg": [acceptable...]}}, ...] to
 * {"kind": "all", "exact_calls": true, "checks": [tool_call...]}: BFCL wants
 * exactly these calls, in any order, and no others. Each tool_call carries
 * the function's BFCL parameters and the language, for BFCL's type rules.
 */
static int answer_to_check(struct task *t, const struct bfcl_answer *a, const cJSON *fns,
			   enum bfcl_lang lang, const char *apath, struct ap_error *err)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX], name[128];
	struct jv_ctx x = { apath, a->line, err };
	int rc = 0;
	cJSON *chk = cJSON_CreateObject();
	cJSON *list = cJSON_CreateArray();
	if (!chk || !list || !cJSON_AddStringToObject(chk, "kind", "all") ||
	    !cJSON_AddBoolToObject(chk, "exact_calls", 1)) {
		cJSON_Delete(list);
		rc = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(chk, "checks", list);
	if (!a->gt->child) {
		ap_error_set(err, apath, a->line, "ground_truth",
			     "no expected call (relevance and irrelevance categories have no "
			     "answers: name the file BFCL_vN_irrelevance.json, or force it with "
			     "bfcl/irrelevance:FILE)");
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
		const cJSON *doc = function_named(fns, fn->string);
		bool offered = false;
		for (const cJSON *tool = t->tools ? t->tools->child : NULL; tool; tool = tool->next)
			offered |= !strcmp(wl_tool_name(tool), name);
		if (!offered || !doc) {
			ap_error_set(err, apath, a->line, g,
				     "'%s' is not among the question's functions", fn->string);
			rc = -EINVAL;
			goto out;
		}
		/* An empty list of acceptable values: BFCL's checker fails every answer. */
		for (const cJSON *v = fn->child; v; v = v->next)
			t->unsatisfiable |= cJSON_IsArray(v) && !v->child;
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(doc, "parameters");
		cJSON *tc = cJSON_CreateObject();
		cJSON *args = cJSON_Duplicate(fn, true);
		cJSON *pd = cJSON_IsObject(params) ? cJSON_Duplicate(params, true) : cJSON_CreateObject();
		if (!tc || !args || !pd || !cJSON_AddItemToArray(list, tc)) {
			cJSON_Delete(tc);
			cJSON_Delete(args);
			cJSON_Delete(pd);
			rc = -ENOMEM;
			goto out;
		}
		cJSON_AddItemToObject(tc, "args", args);
		cJSON_AddItemToObject(tc, "parameters", pd);
		if (!cJSON_AddStringToObject(tc, "kind", "tool_call") ||
		    !cJSON_AddStringToObject(tc, "name", name) ||
		    !cJSON_AddBoolToObject(tc, "strict_args", 1) ||
		    !cJSON_AddStringToObject(tc, "match", "bfcl") ||
		    !cJSON_AddStringToObject(tc, "language", bfcl_lang_name(lang))) {
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

/* Irrelevance: no call is right; relevance: some call is. */
static int relevance_check(struct task *t, enum bfcl_shape shape, const char *path, size_t line,
			   struct ap_error *err)
{
	cJSON *chk = cJSON_CreateObject();
	int rc = -ENOMEM;
	if (chk && cJSON_AddStringToObject(chk, "kind", "call_count") &&
	    cJSON_AddNumberToObject(chk, shape == SHAPE_IRRELEVANCE ? "max" : "min",
				    shape == SHAPE_IRRELEVANCE ? 0 : 1))
		rc = check_parse(&t->check, chk, path, line, "check", err);
	cJSON_Delete(chk);
	return rc;
}

/* The question file line belongs to (a folder's copy joins several). */
static struct bfcl_file *file_of(struct bfcl_state *s, size_t line)
{
	size_t i = 0;
	while (i + 1 < s->nf && s->f[i + 1].first_line <= line)
		i++;
	return &s->f[i];
}

static int bfcl_parse(struct workload *wl, const cJSON *j, size_t cline, struct task **out,
		      struct ap_error *err)
{
	char f[JV_PATH_MAX];
	struct bfcl_state *s = wl_stream(wl)->state;
	struct bfcl_file *bf = file_of(s, cline);
	/* Errors name the question file and its own line, also in a folder. */
	const char *path = bf->qpath;
	size_t line = cline - bf->first_line + 1;
	struct jv_ctx x = { path, line, err };
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
		ap_error_set(err, path, line, "id", "must not be empty");
		rc = -EINVAL;
		goto out;
	}
	if (!(t->id = strdup(id)) ||
	    !(t->category = bf->category ? strdup(bf->category) : category_of(id))) {
		rc = -ENOMEM;
		goto out;
	}
	enum bfcl_shape shape = bf->category ? bf->shape : shape_of(t->category);
	enum bfcl_lang lang = lang_of(t->category);
	if (shape == SHAPE_REFUSED) {
		ap_error_set(err, path, line, "id", "BFCL category '%s' cannot run here: %s",
			     t->category, refused_why(t->category));
		rc = -ENOTSUP;
		goto out;
	}
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question");
	if (!q) {
		ap_error_set(err, path, line, "question", "missing required field");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = question_parse(t, &x, q)))
		goto out;
	const cJSON *fns = cJSON_GetObjectItemCaseSensitive(j, "function");
	if (!cJSON_IsArray(fns) && !cJSON_IsObject(fns)) {
		ap_error_set(err, path, line, "function",
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
		if ((rc = convert_function(&x, fn, f, lang, &tool)))
			goto out;
		const char *nm = wl_tool_name(tool);
		for (const cJSON *o = t->tools->child; o; o = o->next) {
			if (!strcmp(wl_tool_name(o), nm)) {
				ap_error_set(err, path, line, f,
					     "two functions become the tool name '%s'", nm);
				cJSON_Delete(tool);
				rc = -EINVAL;
				goto out;
			}
		}
		cJSON_AddItemToArray(t->tools, tool);
	}
	if (shape != SHAPE_AST) {
		/* A relevance question may offer nothing: then no tools are sent. */
		if (!t->tools->child) {
			cJSON_Delete(t->tools);
			t->tools = NULL;
		}
		if ((rc = relevance_check(t, shape, path, line, err)))
			goto out;
		*out = t;
		t = NULL;
		goto out;
	}
	if (!t->tools->child) {
		ap_error_set(err, path, line, "function", "no functions");
		rc = -EINVAL;
		goto out;
	}
	const struct bfcl_answer *a = answer_find(bf, id);
	if (!a) {
		ap_error_set(err, path, line, "id", "no possible answer for '%s' in %s", id,
			     bf->apath ? bf->apath : "(none: the file is named as a relevance "
						     "category)");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = answer_to_check(t, a, fns, lang, bf->apath, err)))
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
