#include "check.h"
#include "match.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bfcl_match.h"
#include "jsonv.h"

/* Enough for any sane pattern on a model's reply (a few KB); bounded time
 * (about 0.1 s) and memory for a pathological one. */
#define CHECK_RE_MATCH_LIMIT 1000000u
#define CHECK_RE_HEAP_KIB 32768u

/* Deeper nesting than this is a generated file gone wrong, not a real check. */
#define CHECK_MAX_DEPTH 8
#define CHECK_MAX_SUBS 256
/* More calls than this in one episode: the one-to-one matcher gives up. */
#define CHECK_MAX_CALLS 64
/* How much of the model's text a failure reason quotes. */
#define SNIPPET_MAX 160

bool (*check_reference_eval)(const struct check *c, const struct episode_output *o, char *why,
			     size_t whylen);

static const char *const kind_names[] = {
	[CHECK_NONE] = "none",         [CHECK_EXACT] = "exact",
	[CHECK_CONTAINS] = "contains", [CHECK_REGEX] = "regex",
	[CHECK_JSON_FIELD] = "json_field", [CHECK_NUMERIC] = "numeric",
	[CHECK_TOOL_CALL] = "tool_call", [CHECK_ALL] = "all",
	[CHECK_ANY] = "any", [CHECK_REFERENCE] = "reference",
	[CHECK_CALL_COUNT] = "call_count",
};

const char *check_kind_name(enum check_kind k)
{
	if ((size_t)k < AP_ARRAY_SIZE(kind_names) && kind_names[k])
		return kind_names[k];
	return "unknown";
}

void check_free(struct check *c)
{
	if (!c)
		return;
	free(c->value);
	free(c->path);
	cJSON_Delete(c->expect);
	free(c->tool);
	cJSON_Delete(c->args);
	cJSON_Delete(c->bfcl_params);
	for (size_t i = 0; i < c->n_sub; i++)
		check_free(&c->sub[i]);
	free(c->sub);
	pcre2_code_free(c->re);
	pcre2_match_context_free(c->re_limits);
	memset(c, 0, sizeof(*c));
}

/*
 * Walks a dotted path ("a.b[0].c", "[2].x", "" for the root). With doc NULL
 * it only checks the syntax. Returns 0 (found, *out set), -ENOENT (no such
 * field) or -EINVAL (bad syntax).
 */
static int path_walk(const cJSON *doc, const char *path, const cJSON **out)
{
	const cJSON *cur = doc;
	const char *p = path;
	bool first = true;
	while (*p) {
		if (*p == '[') {
			char *end;
			if (!isdigit((unsigned char)p[1]))
				return -EINVAL;
			unsigned long idx = strtoul(p + 1, &end, 10);
			if (*end != ']' || idx > 1000000)
				return -EINVAL;
			p = end + 1;
			if (doc) {
				if (!cJSON_IsArray(cur))
					return -ENOENT;
				cur = cJSON_GetArrayItem(cur, (int)idx);
				if (!cur)
					return -ENOENT;
			}
		} else {
			if (!first) {
				if (*p != '.')
					return -EINVAL;
				p++;
			}
			size_t n = strcspn(p, ".[");
			if (n == 0 || n >= 256)
				return -EINVAL;
			if (doc) {
				char key[256];
				memcpy(key, p, n);
				key[n] = '\0';
				if (!cJSON_IsObject(cur))
					return -ENOENT;
				cur = cJSON_GetObjectItemCaseSensitive(cur, key);
				if (!cur)
					return -ENOENT;
			}
			p += n;
		}
		first = false;
	}
	if (out)
		*out = cur;
	return 0;
}

static int parse_rec(struct check *c, const cJSON *j, const struct jv_ctx *x, const char *pre,
		     int depth);

static const char *const keys_none[] = { "kind", "runtime", NULL };
static const char *const keys_text[] = { "kind", "value", "ignore_case", "runtime", NULL };
static const char *const keys_json[] = { "kind", "path", "value", "runtime", NULL };
static const char *const keys_num[] = { "kind", "value", "tolerance", "path", "which", "runtime",
					 NULL };
static const char *const keys_tool[] = { "kind",	 "name",     "args",	   "strict_args",
					 "match", "language", "parameters", "runtime", NULL };
static const char *const keys_count[] = { "kind", "min", "max", "runtime", NULL };
static const char *const keys_all[] = { "kind", "checks", "exact_calls", "runtime", NULL };
static const char *const keys_any[] = { "kind", "checks", "runtime", NULL };

static int parse_kind(enum check_kind *k, const cJSON *j, const struct jv_ctx *x,
		      const char *pre)
{
	char f[JV_PATH_MAX];
	const char *name = NULL;
	int rc = jv_string(x, j, pre, "kind", true, &name);
	if (rc)
		return rc;
	for (size_t i = 0; i < AP_ARRAY_SIZE(kind_names); i++) {
		/* A reference comes from a capture, never from a workload file. */
		if (kind_names[i] && i != CHECK_REFERENCE && !strcmp(kind_names[i], name)) {
			*k = (enum check_kind)i;
			return 0;
		}
	}
	ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "kind"),
		     "unknown check kind '%s' (expected exact, contains, regex, json_field, "
		     "numeric, tool_call, all, any, call_count, none)",
		     name);
	return -EINVAL;
}



static int parse_text(struct check *c, const cJSON *j, const struct jv_ctx *x, const char *pre)
{
	char f[JV_PATH_MAX];
	const char *v = NULL;
	int rc = jv_string(x, j, pre, "value", true, &v);
	if (!rc)
		rc = jv_bool(x, j, pre, "ignore_case", &c->ignore_case);
	if (rc)
		return rc;
	if (c->kind != CHECK_EXACT && !*v) {
		/* Matches everything: almost certainly a mistake. */
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "value"),
			     "must not be empty");
		return -EINVAL;
	}
	if (!(c->value = strdup(v)))
		return -ENOMEM;
	if (c->kind == CHECK_REGEX) {
		/* Compiled once here so a bad pattern fails before anything runs and
		 * the timed path only executes it. */
		/*
		 * PCRE2, not glibc's regcomp: glibc copies a counted or stacked
		 * repeat's subtree per count and computes epsilon closures over
		 * them, so a few bytes such as "[0-9]++?++++++++++++" took 17 s
		 * and 1.7 GB to compile (found by fuzzing), and its back-references
		 * are exponential with no limit. PCRE2 bounds the compiled size
		 * (an error, not memory) and matching by the limits set below.
		 */
		uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
				(c->ignore_case ? PCRE2_CASELESS : 0);
		int e;
		PCRE2_SIZE off;
		c->re = pcre2_compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, opts, &e, &off, NULL);
		if (!c->re) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(e, msg, sizeof(msg));
			ap_error_set(x->err, x->file, x->line,
				     jv_path(f, sizeof(f), pre, "value"),
				     "invalid regular expression: %s at offset %zu", (char *)msg,
				     (size_t)off);
			return -EINVAL;
		}
		if (!(c->re_limits = pcre2_match_context_create(NULL)))
			return -ENOMEM;
		pcre2_set_match_limit(c->re_limits, CHECK_RE_MATCH_LIMIT);
		pcre2_set_heap_limit(c->re_limits, CHECK_RE_HEAP_KIB);
	}
	return 0;
}

static int parse_path(struct check *c, const cJSON *j, const struct jv_ctx *x, const char *pre)
{
	char f[JV_PATH_MAX];
	const char *p = NULL;
	int rc = jv_string(x, j, pre, "path", false, &p);
	if (rc || !p)
		return rc;
	if (path_walk(NULL, p, NULL)) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "path"),
			     "invalid path '%s' (expected keys joined by '.', with [n] "
			     "indexes, e.g. \"a.b[0].c\")",
			     p);
		return -EINVAL;
	}
	return (c->path = strdup(p)) ? 0 : -ENOMEM;
}

static int parse_json_field(struct check *c, const cJSON *j, const struct jv_ctx *x,
			    const char *pre)
{
	char f[JV_PATH_MAX];
	int rc = parse_path(c, j, x, pre);
	if (rc)
		return rc;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	if (!v) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "value"),
			     "missing required field");
		return -EINVAL;
	}
	return (c->expect = cJSON_Duplicate(v, true)) ? 0 : -ENOMEM;
}

static int parse_numeric(struct check *c, const cJSON *j, const struct jv_ctx *x,
			 const char *pre)
{
	char f[JV_PATH_MAX];
	bool have = false;
	int rc = parse_path(c, j, x, pre);
	if (!rc)
		rc = jv_double(x, j, pre, "value", -1e300, 1e300, &have, &c->number);
	if (!rc && !have) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "value"),
			     "missing required field");
		rc = -EINVAL;
	}
	if (!rc)
		rc = jv_double(x, j, pre, "tolerance", 0, 1e300, NULL, &c->tolerance);
	const char *which = NULL;
	if (!rc)
		rc = jv_string(x, j, pre, "which", false, &which);
	if (rc || !which)
		return rc;
	if (!strcmp(which, "last")) {
		c->last = true;
	} else if (strcmp(which, "first")) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "which"),
			     "expected \"first\" or \"last\", got '%s'", which);
		return -EINVAL;
	}
	return 0;
}

static int parse_tool_call(struct check *c, const cJSON *j, const struct jv_ctx *x,
			   const char *pre)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	const char *name = NULL, *match = NULL;
	int rc = jv_string(x, j, pre, "name", true, &name);
	if (!rc)
		rc = jv_bool(x, j, pre, "strict_args", &c->strict_args);
	if (!rc)
		rc = jv_string(x, j, pre, "match", false, &match);
	if (rc)
		return rc;
	if (!*name) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "name"),
			     "must not be empty");
		return -EINVAL;
	}
	if (match && !strcmp(match, "bfcl")) {
		c->bfcl = true;
	} else if (match && strcmp(match, "exact")) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "match"),
			     "expected \"exact\" or \"bfcl\", got '%s'", match);
		return -EINVAL;
	}
	if (!(c->tool = strdup(name)))
		return -ENOMEM;
	const char *lang = NULL;
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
	if ((rc = jv_string(x, j, pre, "language", false, &lang)))
		return rc;
	if ((lang || params) && !c->bfcl) {
		ap_error_set(x->err, x->file, x->line,
			     jv_path(f, sizeof(f), pre, lang ? "language" : "parameters"),
			     "only with \"match\": \"bfcl\"");
		return -EINVAL;
	}
	if (lang && (c->bfcl_lang = bfcl_lang_parse(lang)) < 0) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "language"),
			     "expected \"python\", \"java\" or \"javascript\", got '%s'", lang);
		return -EINVAL;
	}
	if (params) {
		if ((rc = jv_object(x, params, jv_path(f, sizeof(f), pre, "parameters"))))
			return rc;
		if (!(c->bfcl_params = cJSON_Duplicate(params, true)))
			return -ENOMEM;
	}
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(j, "args");
	if (!args)
		return 0;
	jv_path(f, sizeof(f), pre, "args");
	if ((rc = jv_object(x, args, f)))
		return rc;
	for (const cJSON *a = args->child; a; a = a->next) {
		jv_path(g, sizeof(g), f, a->string);
		/* A bare value would be ambiguous for list-valued arguments, so the
		 * acceptable values are always a list: [[1, 2]] accepts the list.
		 * BFCL's published answers hold empty lists: no value passes them. */
		if (!cJSON_IsArray(a) || (!a->child && !c->bfcl)) {
			ap_error_set(x->err, x->file, x->line, g,
				     "expected a non-empty array of acceptable values, got %s",
				     cJSON_IsArray(a) ? "an empty array" : jv_type_name(a));
			return -EINVAL;
		}
		for (const cJSON *p = args->child; p != a; p = p->next) {
			if (!strcmp(p->string, a->string)) {
				ap_error_set(x->err, x->file, x->line, g, "duplicate key");
				return -EINVAL;
			}
		}
	}
	return (c->args = cJSON_Duplicate(args, true)) ? 0 : -ENOMEM;
}

static int parse_call_count(struct check *c, const cJSON *j, const struct jv_ctx *x,
			    const char *pre)
{
	char f[JV_PATH_MAX];
	bool have_min = false, have_max = false;
	double lo = 0, hi = -1;
	int rc = jv_double(x, j, pre, "min", 0, CHECK_MAX_CALLS, &have_min, &lo);
	if (!rc)
		rc = jv_double(x, j, pre, "max", 0, CHECK_MAX_CALLS, &have_max, &hi);
	if (rc)
		return rc;
	if (!have_min && !have_max) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "min"),
			     "give min, max or both");
		return -EINVAL;
	}
	if (lo != floor(lo) || (have_max && (hi != floor(hi) || hi < lo))) {
		ap_error_set(x->err, x->file, x->line, jv_path(f, sizeof(f), pre, "max"),
			     "expected whole numbers with min <= max");
		return -EINVAL;
	}
	c->min_calls = (int)lo;
	c->max_calls = have_max ? (int)hi : -1;
	return 0;
}

static int parse_combo(struct check *c, const cJSON *j, const struct jv_ctx *x, const char *pre,
		       int depth)
{
	char f[JV_PATH_MAX], g[JV_PATH_MAX];
	jv_path(f, sizeof(f), pre, "checks");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "checks");
	int n = cJSON_GetArraySize(arr);
	if (!cJSON_IsArray(arr) || n < 1 || n > CHECK_MAX_SUBS) {
		ap_error_set(x->err, x->file, x->line, f,
			     "expected an array of 1 to %d checks, got %s", CHECK_MAX_SUBS,
			     !arr ? "nothing" : cJSON_IsArray(arr) ? "an empty array"
								  : jv_type_name(arr));
		return -EINVAL;
	}
	int rc = 0;
	if (c->kind == CHECK_ALL && (rc = jv_bool(x, j, pre, "exact_calls", &c->exact_calls)))
		return rc;
	if (!(c->sub = calloc((size_t)n, sizeof(*c->sub))))
		return -ENOMEM;
	size_t i = 0;
	for (const cJSON *s = arr->child; s; s = s->next, i++) {
		jv_path_idx(g, sizeof(g), f, i);
		c->n_sub = i + 1;
		if ((rc = parse_rec(&c->sub[i], s, x, g, depth + 1)))
			return rc;
		if (c->exact_calls && c->sub[i].kind != CHECK_TOOL_CALL) {
			ap_error_set(x->err, x->file, x->line, g,
				     "exact_calls needs every sub-check to be a tool_call, got %s",
				     check_kind_name(c->sub[i].kind));
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_rec(struct check *c, const cJSON *j, const struct jv_ctx *x, const char *pre,
		     int depth)
{
	int rc;
	memset(c, 0, sizeof(*c));
	if ((rc = jv_object(x, j, pre)))
		return rc;
	if (depth > CHECK_MAX_DEPTH) {
		ap_error_set(x->err, x->file, x->line, pre, "checks nested deeper than %d",
			     CHECK_MAX_DEPTH);
		return -EINVAL;
	}
	if ((rc = parse_kind(&c->kind, j, x, pre)))
		return rc;
	if ((rc = jv_bool(x, j, pre, "runtime", &c->runtime)))
		return rc;
	switch (c->kind) {
	case CHECK_NONE:
		rc = jv_keys(x, j, pre, keys_none);
		break;
	case CHECK_EXACT:
	case CHECK_CONTAINS:
	case CHECK_REGEX:
		if (!(rc = jv_keys(x, j, pre, keys_text)))
			rc = parse_text(c, j, x, pre);
		break;
	case CHECK_JSON_FIELD:
		if (!(rc = jv_keys(x, j, pre, keys_json)))
			rc = parse_json_field(c, j, x, pre);
		break;
	case CHECK_NUMERIC:
		if (!(rc = jv_keys(x, j, pre, keys_num)))
			rc = parse_numeric(c, j, x, pre);
		break;
	case CHECK_TOOL_CALL:
		if (!(rc = jv_keys(x, j, pre, keys_tool)))
			rc = parse_tool_call(c, j, x, pre);
		break;
	case CHECK_ALL:
	case CHECK_ANY:
		if (!(rc = jv_keys(x, j, pre, c->kind == CHECK_ALL ? keys_all : keys_any)))
			rc = parse_combo(c, j, x, pre, depth);
		break;
	case CHECK_REFERENCE: /* parse_kind never gives it */
		rc = -EINVAL;
		break;
	case CHECK_CALL_COUNT:
		if (!(rc = jv_keys(x, j, pre, keys_count)))
			rc = parse_call_count(c, j, x, pre);
		break;
	}
	return rc;
}

int check_parse(struct check *c, const cJSON *j, const char *file, size_t line,
		const char *field_prefix, struct ap_error *err)
{
	struct jv_ctx x = { file, line, err };
	int rc = parse_rec(c, j, &x, field_prefix ? field_prefix : "check", 0);
	if (rc) {
		if (rc == -ENOMEM)
			ap_error_set(err, file, line, field_prefix, "out of memory");
		check_free(c);
	}
	return rc;
}

/* ---- evaluation ---- */

/* Appends to a fixed buffer, truncating; keeps the reason code readable. */
struct wbuf {
	char *s;
	size_t n, len;
};

static void wb_addf(struct wbuf *w, const char *fmt, ...) AP_PRINTF(2, 3);
static void wb_addf(struct wbuf *w, const char *fmt, ...)
{
	if (!w->n || w->len >= w->n - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(w->s + w->len, w->n - w->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		w->len = w->len + (size_t)k < w->n ? w->len + (size_t)k : w->n - 1;
}

/* Quotes text for a reason: one line, cut at a UTF-8 boundary. */
static void wb_snippet(struct wbuf *w, const char *t, size_t max)
{
	size_t n = strlen(t);
	bool cut = n > max;
	if (cut) {
		n = max;
		while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
			n--;
	}
	wb_addf(w, "'");
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];
		if (ch == '\n' || ch == '\r' || ch == '\t')
			ch = ' ';
		wb_addf(w, "%c", ch);
	}
	wb_addf(w, "'%s", cut ? "...(truncated)" : "");
}

static void wb_json(struct wbuf *w, const cJSON *j, size_t max)
{
	char *s = cJSON_PrintUnformatted(j);
	if (!s) {
		wb_addf(w, "?");
		return;
	}
	if (strlen(s) > max)
		wb_addf(w, "%.*s...", (int)max, s);
	else
		wb_addf(w, "%s", s);
	free(s);
}

static const char *skip_ws(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static bool exact_match(const char *text, const char *want, bool icase)
{
	const char *a = skip_ws(text), *b = skip_ws(want);
	size_t na = strlen(a), nb = strlen(b);
	while (na && isspace((unsigned char)a[na - 1]))
		na--;
	while (nb && isspace((unsigned char)b[nb - 1]))
		nb--;
	if (na != nb)
		return false;
	return icase ? !strncasecmp(a, b, na) : !memcmp(a, b, na);
}

/*
 * The JSON inside a model's answer: the whole text if it is JSON, else the
 * first {...} or [...] that parses (models wrap JSON in prose or ``` fences).
 */
static cJSON *extract_json(const char *text)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(text, &end, false);
	if (j) {
		if (!*skip_ws(end))
			return j;
		cJSON_Delete(j);
	}
	/* Bounded so that a long answer full of brackets stays linear-ish. */
	int tries = 0;
	for (const char *p = strpbrk(text, "{["); p && tries < 64; p = strpbrk(p + 1, "{[")) {
		tries++;
		if ((j = cJSON_ParseWithOpts(p, &end, false)))
			return j;
	}
	return NULL;
}

static bool json_field_eval(const struct check *c, const char *text, struct wbuf *w)
{
	cJSON *doc = extract_json(text);
	const cJSON *v = NULL;
	bool ok = false;
	if (!doc) {
		wb_addf(w, "expected a JSON answer, found no JSON object or array in: ");
		wb_snippet(w, text, SNIPPET_MAX);
		return false;
	}
	const char *path = c->path ? c->path : "";
	if (path_walk(doc, path, &v)) {
		wb_addf(w, "expected the JSON answer to have field '%s', got: ", path);
		wb_json(w, doc, SNIPPET_MAX);
		goto out;
	}
	ok = match_value(c->expect, v, false);
	if (!ok) {
		wb_addf(w, "expected %s%s", *path ? path : "the JSON answer", *path ? " == " : " to be ");
		wb_json(w, c->expect, SNIPPET_MAX / 2);
		wb_addf(w, ", got ");
		wb_json(w, v, SNIPPET_MAX);
	}
out:
	cJSON_Delete(doc);
	return ok;
}

/*
 * Finds the first (or last) number in text: optional sign (not after a
 * letter or digit, so "3-4" is 3 and 4), digits with optional thousands
 * groups ("1,234"), fraction and exponent.
 */
static bool find_number(const char *text, bool last, double *out)
{
	bool found = false;
	const char *p = text;
	while (*p) {
		if (isalpha((unsigned char)*p) || *p == '_') {
			/* Digits inside a word ("gpt4", "x2") are names, not numbers. */
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			continue;
		}
		bool neg = false;
		const char *s = p;
		if ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]) &&
		    (p == text || !isalnum((unsigned char)p[-1]))) {
			neg = *p == '-';
			s = p + 1;
		} else if (!isdigit((unsigned char)*p)) {
			p++;
			continue;
		}
		char buf[128];
		size_t k = 0, lead = 0;
		const char *q = s;
		while (isdigit((unsigned char)*q)) {
			if (k < 64)
				buf[k++] = *q;
			q++, lead++;
		}
		/* Thousands groups only in the strict form, so "1,2,3" stays three. */
		while (lead <= 3 && q[0] == ',' && isdigit((unsigned char)q[1]) &&
		       isdigit((unsigned char)q[2]) && isdigit((unsigned char)q[3]) &&
		       !isdigit((unsigned char)q[4]) && k < 64) {
			memcpy(buf + k, q + 1, 3);
			k += 3;
			q += 4;
		}
		if (*q == '.' && isdigit((unsigned char)q[1])) {
			buf[k++] = *q++;
			while (isdigit((unsigned char)*q)) {
				if (k < 100)
					buf[k++] = *q;
				q++;
			}
		}
		if ((*q == 'e' || *q == 'E') &&
		    (isdigit((unsigned char)q[1]) ||
		     ((q[1] == '-' || q[1] == '+') && isdigit((unsigned char)q[2])))) {
			buf[k++] = *q++;
			if (*q == '-' || *q == '+')
				buf[k++] = *q++;
			while (isdigit((unsigned char)*q)) {
				if (k < sizeof(buf) - 1)
					buf[k++] = *q;
				q++;
			}
		}
		buf[k] = '\0';
		double v = strtod(buf, NULL);
		if (isfinite(v)) {
			*out = neg ? -v : v;
			found = true;
			if (!last)
				return true;
		}
		p = q;
	}
	return found;
}

static bool numeric_eval(const struct check *c, const char *text, struct wbuf *w)
{
	double x = 0;
	bool have = false;
	cJSON *doc = NULL;
	if (c->path) {
		const cJSON *v = NULL;
		doc = extract_json(text);
		if (!doc || path_walk(doc, c->path, &v)) {
			wb_addf(w, "expected a JSON answer with a number at '%s', got: ", c->path);
			wb_snippet(w, text, SNIPPET_MAX);
			goto out;
		}
		if (cJSON_IsNumber(v)) {
			x = v->valuedouble;
			have = true;
		} else if (cJSON_IsString(v)) {
			have = find_number(v->valuestring, c->last, &x);
		}
	} else {
		have = find_number(text, c->last, &x);
	}
	if (!have) {
		wb_addf(w, "expected a number within %g of %g, found no number in: ", c->tolerance,
			c->number);
		wb_snippet(w, text, SNIPPET_MAX);
		goto out;
	}
	if (fabs(x - c->number) <= c->tolerance || match_num_eq(x, c->number)) {
		cJSON_Delete(doc);
		return true;
	}
	wb_addf(w, "expected a number within %g of %g, got %g", c->tolerance, c->number, x);
out:
	cJSON_Delete(doc);
	return false;
}

/* "get_weather(city in ["Paris"], unit in ["c", (omitted)])" */
static void describe_expected(const struct check *c, struct wbuf *w)
{
	wb_addf(w, "%s(", c->tool);
	if (!c->args) {
		wb_addf(w, "any arguments)");
		return;
	}
	for (const cJSON *a = c->args->child; a; a = a->next) {
		wb_addf(w, "%s%s in [", a == c->args->child ? "" : ", ", a->string);
		for (const cJSON *v = a->child; v; v = v->next) {
			if (v != a->child)
				wb_addf(w, ", ");
			if (match_is_empty_string(v))
				wb_addf(w, "(omitted)");
			else
				wb_json(w, v, 60);
		}
		wb_addf(w, "]");
	}
	wb_addf(w, ")");
}

/* Parsed arguments of a call: "" counts as {}, anything else must be an object. */
static cJSON *parse_args(const struct tool_call *tc)
{
	const char *s = tc->arguments ? tc->arguments : "";
	if (!*skip_ws(s))
		return cJSON_CreateObject();
	cJSON *j = cJSON_Parse(s);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	if (j)
		bfcl_mark_floats(j, s); /* 5.0 stays a float for BFCL's type checks */
	return j;
}

/* Whether args (a parsed object) satisfy the check; why says what failed. */
static bool args_match(const struct check *c, const cJSON *args, struct wbuf *why)
{
	if (!c->args)
		return true;
	if (c->bfcl && c->bfcl_params) {
		char msg[300];
		bool ok = bfcl_args_match(c->bfcl_params, (enum bfcl_lang)c->bfcl_lang, c->args, args,
					  msg, sizeof(msg));
		if (!ok && why)
			wb_addf(why, "%s", msg);
		return ok;
	}
	for (const cJSON *a = c->args->child; a; a = a->next) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, a->string);
		if (!v) {
			if (match_list_allows_omission(a))
				continue;
			if (why)
				wb_addf(why, "argument '%s' is missing", a->string);
			return false;
		}
		if (!match_acceptable(a, v, c->bfcl)) {
			if (why) {
				wb_addf(why, "argument '%s' = ", a->string);
				wb_json(why, v, 60);
				wb_addf(why, " is not an acceptable value");
			}
			return false;
		}
	}
	if (c->strict_args) {
		for (const cJSON *v = args->child; v; v = v->next) {
			if (!cJSON_GetObjectItemCaseSensitive(c->args, v->string)) {
				if (why)
					wb_addf(why, "unexpected argument '%s'", v->string);
				return false;
			}
		}
	}
	return true;
}

static bool call_matches(const struct check *c, const struct tool_call *tc, const cJSON *args)
{
	return tc->name && !strcmp(tc->name, c->tool) && args && args_match(c, args, NULL);
}

static void describe_call(struct wbuf *w, const struct tool_call *tc)
{
	wb_addf(w, "%s(", tc->name ? tc->name : "?");
	wb_addf(w, "%.*s", 80, tc->arguments ? tc->arguments : "");
	wb_addf(w, "%s)", tc->arguments && strlen(tc->arguments) > 80 ? "..." : "");
}

static bool tool_call_eval(const struct check *c, const struct episode_output *o,
			   struct wbuf *w)
{
	const struct tool_call *same = NULL;
	cJSON *same_args = NULL;
	for (size_t i = 0; i < o->n_calls; i++) {
		const struct tool_call *tc = &o->calls[i];
		if (!tc->name || strcmp(tc->name, c->tool))
			continue;
		cJSON *args = parse_args(tc);
		if (args && args_match(c, args, NULL)) {
			cJSON_Delete(args);
			cJSON_Delete(same_args);
			return true;
		}
		/* Keep the first near miss: its detail makes the best repair hint. */
		if (!same) {
			same = tc;
			same_args = args;
		} else {
			cJSON_Delete(args);
		}
	}
	wb_addf(w, "expected a call to ");
	describe_expected(c, w);
	if (same) {
		wb_addf(w, " but the model called ");
		describe_call(w, same);
		wb_addf(w, ": ");
		if (!same_args)
			wb_addf(w, "arguments are not a JSON object");
		else
			args_match(c, same_args, w);
		cJSON_Delete(same_args);
	} else if (o->n_calls) {
		wb_addf(w, " but the model called ");
		for (size_t i = 0; i < o->n_calls && i < 3; i++) {
			if (i)
				wb_addf(w, ", ");
			describe_call(w, &o->calls[i]);
		}
		if (o->n_calls > 3)
			wb_addf(w, " and %zu more", o->n_calls - 3);
	} else {
		wb_addf(w, " but the model made no tool call");
		if (o->text && *o->text) {
			wb_addf(w, " and answered: ");
			wb_snippet(w, o->text, SNIPPET_MAX / 2);
		}
	}
	return false;
}

/* BFCL's relevance: irrelevance wants no call (max 0), relevance some (min 1). */
static bool call_count_eval(const struct check *c, const struct episode_output *o, struct wbuf *w)
{
	size_t n = o->n_calls;
	if (n >= (size_t)c->min_calls && (c->max_calls < 0 || n <= (size_t)c->max_calls))
		return true;
	if (c->max_calls == 0)
		wb_addf(w, "expected no tool call, got %zu", n);
	else if (c->max_calls < 0)
		wb_addf(w, "expected at least %d tool call%s, got %zu", c->min_calls,
			c->min_calls == 1 ? "" : "s", n);
	else
		wb_addf(w, "expected %d to %d tool calls, got %zu", c->min_calls, c->max_calls, n);
	for (size_t i = 0; i < n && i < 3; i++) {
		wb_addf(w, i ? ", " : ": ");
		describe_call(w, &o->calls[i]);
	}
	if (!n && o->text && *o->text) {
		wb_addf(w, "; the model answered: ");
		wb_snippet(w, o->text, SNIPPET_MAX / 2);
	}
	return false;
}

/* Perfect matching of sub-checks to calls by augmenting paths (Kuhn). */
static bool augment(const bool *m, size_t nc, size_t i, bool *seen, int *owner)
{
	for (size_t j = 0; j < nc; j++) {
		if (!m[i * nc + j] || seen[j])
			continue;
		seen[j] = true;
		if (owner[j] < 0 || augment(m, nc, (size_t)owner[j], seen, owner)) {
			owner[j] = (int)i;
			return true;
		}
	}
	return false;
}

static bool check_eval_w(const struct check *c, const struct episode_output *o, struct wbuf *w);

static bool exact_calls_eval(const struct check *c, const struct episode_output *o,
			     struct wbuf *w)
{
	size_t ns = c->n_sub, nc = o->n_calls;
	bool ok = false;
	bool *m = NULL, *seen = NULL;
	int *owner = NULL;
	cJSON **args = NULL;
	if (nc != ns) {
		wb_addf(w, "expected %zu tool call%s, got %zu", ns, ns == 1 ? "" : "s", nc);
		for (size_t i = 0; i < nc && i < 3; i++) {
			wb_addf(w, i ? ", " : ": ");
			describe_call(w, &o->calls[i]);
		}
		if (nc > 3)
			wb_addf(w, " and %zu more", nc - 3);
		if (ns && nc < ns) {
			/* Name a missing call so a repair attempt knows what to add. */
			for (size_t i = 0; i < ns; i++) {
				struct wbuf sub = { NULL, 0, 0 };
				if (!check_eval_w(&c->sub[i], o, &sub)) {
					wb_addf(w, "; ");
					check_eval_w(&c->sub[i], o, w);
					break;
				}
			}
		}
		return false;
	}
	if (nc > CHECK_MAX_CALLS) {
		wb_addf(w, "too many tool calls to match (%zu)", nc);
		return false;
	}
	m = calloc(ns * nc + 1, sizeof(*m));
	seen = calloc(nc + 1, sizeof(*seen));
	owner = malloc((nc + 1) * sizeof(*owner));
	args = calloc(nc + 1, sizeof(*args));
	if (!m || !seen || !owner || !args) {
		wb_addf(w, "out of memory while checking tool calls");
		goto out;
	}
	for (size_t j = 0; j < nc; j++) {
		args[j] = parse_args(&o->calls[j]);
		owner[j] = -1;
	}
	for (size_t i = 0; i < ns; i++) {
		bool any = false;
		for (size_t j = 0; j < nc; j++)
			any |= m[i * nc + j] = call_matches(&c->sub[i], &o->calls[j], args[j]);
		if (!any) {
			check_eval_w(&c->sub[i], o, w);
			goto out;
		}
	}
	/* BFCL's parallel checker is greedy: each expected call, in answer order,
	 * takes the first still unmatched call it accepts. Judged its way, BFCL
	 * tasks score what BFCL scores, even where a one-to-one pairing exists. */
	for (size_t i = 0; c->sub[0].bfcl && i < ns; i++) {
		size_t j = 0;
		while (j < nc && (seen[j] || !m[i * nc + j]))
			j++;
		if (j == nc) {
			wb_addf(w, "Could not find a matching function among the unmatched calls for "
				   "expected call %zu (BFCL matches in answer order, first fit): ",
				i);
			check_eval_w(&c->sub[i], o, w);
			goto out;
		}
		seen[j] = true;
	}
	for (size_t i = 0; !c->sub[0].bfcl && i < ns; i++) {
		memset(seen, 0, nc * sizeof(*seen));
		if (!augment(m, nc, i, seen, owner)) {
			wb_addf(w, "the tool calls do not match the expected calls one to one: "
				   "two expected calls are satisfied only by the same call");
			goto out;
		}
	}
	ok = true;
out:
	for (size_t j = 0; args && j < nc; j++)
		cJSON_Delete(args[j]);
	free(args);
	free(owner);
	free(seen);
	free(m);
	return ok;
}

static bool check_eval_w(const struct check *c, const struct episode_output *o, struct wbuf *w)
{
	const char *text = o->text ? o->text : "";
	switch (c->kind) {
	case CHECK_NONE:
		return true;
	case CHECK_REFERENCE: {
		char why[300];
		if (!check_reference_eval) {
			wb_addf(w, "no judge for a reference check in this program");
			return false;
		}
		if (check_reference_eval(c, o, why, sizeof(why)))
			return true;
		wb_addf(w, "%s", why);
		return false;
	}
	case CHECK_EXACT:
		if (exact_match(text, c->value, c->ignore_case))
			return true;
		wb_addf(w, "expected exactly ");
		wb_snippet(w, c->value, SNIPPET_MAX / 2);
		wb_addf(w, ", got: ");
		wb_snippet(w, text, SNIPPET_MAX);
		return false;
	case CHECK_CONTAINS:
		if (c->ignore_case ? strcasestr(text, c->value) != NULL
				   : strstr(text, c->value) != NULL)
			return true;
		wb_addf(w, "expected text containing ");
		wb_snippet(w, c->value, SNIPPET_MAX / 2);
		wb_addf(w, ", got: ");
		wb_snippet(w, text, SNIPPET_MAX);
		return false;
	case CHECK_REGEX: {
		if (!c->re)
			return false;
		/* Per call: checks run on many episode threads at once. */
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		int rc = md ? pcre2_match(c->re, (PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, 0, md,
					  c->re_limits)
			    : PCRE2_ERROR_NOMEMORY;
		pcre2_match_data_free(md);
		if (rc >= 0)
			return true;
		if (rc != PCRE2_ERROR_NOMATCH) {
			/* A limit hit is a failed check with its reason, not a crash. */
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(rc, msg, sizeof(msg));
			wb_addf(w, "regex /%s/ gave up (%s) on: ", c->value, (char *)msg);
			wb_snippet(w, text, SNIPPET_MAX);
			return false;
		}
		wb_addf(w, "expected text matching /%s/, got: ", c->value);
		wb_snippet(w, text, SNIPPET_MAX);
		return false;
	}
	case CHECK_JSON_FIELD:
		return json_field_eval(c, text, w);
	case CHECK_NUMERIC:
		return numeric_eval(c, text, w);
	case CHECK_TOOL_CALL:
		return tool_call_eval(c, o, w);
	case CHECK_CALL_COUNT:
		return call_count_eval(c, o, w);
	case CHECK_ALL:
		if (c->exact_calls)
			return exact_calls_eval(c, o, w);
		for (size_t i = 0; i < c->n_sub; i++)
			if (!check_eval_w(&c->sub[i], o, w))
				return false;
		return true;
	case CHECK_ANY:
		for (size_t i = 0; i < c->n_sub; i++) {
			struct wbuf t = { NULL, 0, 0 };
			if (check_eval_w(&c->sub[i], o, &t))
				return true;
		}
		wb_addf(w, "none of %zu alternatives passed: ", c->n_sub);
		for (size_t i = 0; i < c->n_sub; i++) {
			wb_addf(w, i ? "; or " : "");
			check_eval_w(&c->sub[i], o, w);
		}
		return false;
	}
	wb_addf(w, "unknown check kind %d", (int)c->kind);
	return false;
}

bool check_eval(const struct check *c, const struct episode_output *out, char *why,
		size_t whylen)
{
	struct wbuf w = { why, why ? whylen : 0, 0 };
	if (why && whylen)
		why[0] = '\0';
	return check_eval_w(c, out, &w);
}

/* ---- what a deployed system can see (diff --escalate-on detectable) ---- */

static bool tool_exists(const cJSON *tools, const char *name)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(fn ? fn : t, "name");
		if (cJSON_IsString(n) && name && !strcmp(n->valuestring, name))
			return true;
	}
	return false;
}

/* The check's own failure, visible without the expected value. */
static bool kind_visible(const struct check *c, const struct episode_output *out)
{
	if (c->runtime)
		return true;
	switch (c->kind) {
	case CHECK_JSON_FIELD: {
		cJSON *j = extract_json(out->text);
		cJSON_Delete(j);
		return !j; /* unparseable: no JSON at all */
	}
	case CHECK_NUMERIC: {
		double v;
		if (c->path) {
			cJSON *j = extract_json(out->text);
			cJSON_Delete(j);
			return !j;
		}
		return !find_number(out->text, c->last, &v);
	}
	case CHECK_ALL:
		/* Visible as soon as one failing part is. */
		for (size_t i = 0; i < c->n_sub; i++) {
			char why[8];
			if (!check_eval(&c->sub[i], out, why, sizeof(why)) && kind_visible(&c->sub[i], out))
				return true;
		}
		return false;
	case CHECK_ANY:
		for (size_t i = 0; i < c->n_sub; i++)
			if (!kind_visible(&c->sub[i], out))
				return false;
		return c->n_sub > 0;
	default:
		return false;
	}
}

bool check_failure_visible(const struct check *c, const struct episode_output *out,
			   const cJSON *tools)
{
	if (!*skip_ws(out->text) && !out->n_calls)
		return true; /* empty answer */
	for (size_t i = 0; tools && i < out->n_calls; i++)
		if (!tool_exists(tools, out->calls[i].name))
			return true; /* a call to a tool that does not exist */
	return kind_visible(c, out);
}
