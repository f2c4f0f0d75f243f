/*
 * BFCL's AST checker for one call (see bfcl_match.h). BFCL runs on Python
 * values, so this file works on a Python view of JSON: strings, ints,
 * floats, bools, lists, dicts and None, compared with Python's == (1 == 1.0
 * == True). JSON loses the int/float distinction of a whole number (5.0
 * reads as 5), so a whole-number float argument counts as an int; numbers
 * that the Java/JavaScript converters made from floating-point literals
 * carry a mark (BF_FLOAT) in cJSON's spare type bits.
 */
#include "bfcl_match.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Above cJSON's own flags (256, 512): survives cJSON_Duplicate, ignored by cJSON. */
#define BF_FLOAT (1 << 12)
/* Deeper than this is no function argument BFCL has; refuse rather than recurse. */
#define BF_MAX_DEPTH 32

static const char *const lang_names[] = { "python", "java", "javascript" };

int bfcl_lang_parse(const char *s)
{
	for (size_t i = 0; i < AP_ARRAY_SIZE(lang_names); i++)
		if (!strcmp(s, lang_names[i]))
			return (int)i;
	return -1;
}

const char *bfcl_lang_name(enum bfcl_lang l)
{
	return (size_t)l < AP_ARRAY_SIZE(lang_names) ? lang_names[l] : "?";
}

bool bfcl_is_float(const cJSON *v)
{
	return cJSON_IsNumber(v) && (v->type & BF_FLOAT);
}

/* After p, the next JSON number token (strings skipped); *is_float: written
 * with a fraction or an exponent. NULL when there is none. */
static const char *next_number(const char *p, bool *is_float)
{
	while (*p) {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else if (*p == '-' || isdigit((unsigned char)*p)) {
			*is_float = false;
			for (p += *p == '-'; isdigit((unsigned char)*p) || (*p && strchr(".eE+-", *p)); p++)
				*is_float |= *p == '.' || *p == 'e' || *p == 'E';
			return p;
		} else {
			p++;
		}
	}
	return NULL;
}

static void mark_floats(cJSON *v, const char **p)
{
	for (; v; v = v->next) {
		if (cJSON_IsNumber(v)) {
			bool f = false;
			*p = *p ? next_number(*p, &f) : NULL;
			if (*p && f)
				v->type |= BF_FLOAT;
		} else if (v->child) {
			mark_floats(v->child, p);
		}
	}
}

void bfcl_mark_floats(cJSON *v, const char *text)
{
	/* cJSON keeps members and elements in text order, so the n-th number of
	 * the tree is the n-th number token of the text. */
	const char *p = text;
	mark_floats(v, &p);
}

static cJSON *mk_float(double d)
{
	cJSON *v = cJSON_CreateNumber(d);
	if (v)
		v->type |= BF_FLOAT;
	return v;
}

/* ---- Python types ---- */

enum pyt { PY_NONE, PY_BOOL, PY_INT, PY_FLOAT, PY_STR, PY_LIST, PY_DICT, PY_SET, PY_UNKNOWN };

static const char *const pyt_names[] = { "NoneType", "bool", "int",  "float", "str",
					 "list",     "dict", "set",  "?" };

static enum pyt pytype(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return PY_NONE;
	if (cJSON_IsBool(v))
		return PY_BOOL;
	if (cJSON_IsNumber(v))
		return (v->type & BF_FLOAT) || v->valuedouble != floor(v->valuedouble) ||
				       fabs(v->valuedouble) > 9007199254740992.0
			       ? PY_FLOAT
			       : PY_INT;
	if (cJSON_IsString(v))
		return PY_STR;
	if (cJSON_IsArray(v))
		return PY_LIST;
	if (cJSON_IsObject(v))
		return PY_DICT;
	return PY_UNKNOWN;
}

/*
 * BFCL type name to the Python type its checker expects, per language
 * (PYTHON_TYPE_MAPPING, JAVA_TYPE_CONVERSION, JS_TYPE_CONVERSION). Names a
 * language's table lacks, where BFCL's checker would stop with a KeyError,
 * take their usual meaning from BFCL's GORILLA_TO_PYTHON, and an unknown or
 * missing one is a string ("any").
 */
static enum pyt expected_type(enum bfcl_lang lang, const char *t)
{
	static const struct {
		const char *name;
		enum pyt py, java, js;
	} m[] = {
		{ "string", PY_STR, PY_STR, PY_STR },	    { "String", PY_STR, PY_STR, PY_STR },
		{ "any", PY_STR, PY_STR, PY_STR },	    { "Any", PY_STR, PY_STR, PY_STR },
		{ "char", PY_STR, PY_STR, PY_STR },	    { "integer", PY_INT, PY_INT, PY_INT },
		{ "int", PY_INT, PY_INT, PY_INT },	    { "byte", PY_INT, PY_INT, PY_INT },
		{ "short", PY_INT, PY_INT, PY_INT },	    { "long", PY_INT, PY_INT, PY_INT },
		{ "Bigint", PY_INT, PY_INT, PY_INT },	    { "float", PY_FLOAT, PY_FLOAT, PY_FLOAT },
		{ "double", PY_FLOAT, PY_FLOAT, PY_FLOAT }, { "number", PY_FLOAT, PY_FLOAT, PY_FLOAT },
		{ "boolean", PY_BOOL, PY_BOOL, PY_BOOL },   { "bool", PY_BOOL, PY_BOOL, PY_BOOL },
		{ "Boolean", PY_BOOL, PY_BOOL, PY_BOOL },   { "array", PY_LIST, PY_LIST, PY_LIST },
		{ "tuple", PY_LIST, PY_LIST, PY_LIST },	    { "list", PY_LIST, PY_LIST, PY_LIST },
		{ "Array", PY_LIST, PY_LIST, PY_LIST },	    { "ArrayList", PY_LIST, PY_LIST, PY_LIST },
		{ "Queue", PY_LIST, PY_LIST, PY_LIST },	    { "Stack", PY_LIST, PY_LIST, PY_LIST },
		{ "Set", PY_SET, PY_SET, PY_SET },	    { "dict", PY_DICT, PY_DICT, PY_DICT },
		{ "object", PY_DICT, PY_DICT, PY_DICT },    { "HashMap", PY_DICT, PY_DICT, PY_DICT },
		{ "Hashtable", PY_DICT, PY_DICT, PY_DICT },
	};
	for (size_t i = 0; t && i < AP_ARRAY_SIZE(m); i++)
		if (!strcmp(m[i].name, t))
			return lang == BFCL_JAVA ? m[i].java : lang == BFCL_JAVASCRIPT ? m[i].js : m[i].py;
	return PY_STR;
}

/* Python's == on two values. */
static bool py_eq(const cJSON *a, const cJSON *b)
{
	enum pyt ta = pytype(a), tb = pytype(b);
	bool na = ta == PY_BOOL || ta == PY_INT || ta == PY_FLOAT;
	bool nb = tb == PY_BOOL || tb == PY_INT || tb == PY_FLOAT;
	if (na && nb) {
		double x = ta == PY_BOOL ? cJSON_IsTrue(a) : a->valuedouble;
		double y = tb == PY_BOOL ? cJSON_IsTrue(b) : b->valuedouble;
		return x == y;
	}
	if (ta != tb)
		return false;
	switch (ta) {
	case PY_NONE:
		return true;
	case PY_STR:
		return !strcmp(a->valuestring, b->valuestring);
	case PY_LIST:
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		for (const cJSON *x = a->child, *y = b->child; x; x = x->next, y = y->next)
			if (!py_eq(x, y))
				return false;
		return true;
	case PY_DICT:
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		for (const cJSON *x = a->child; x; x = x->next) {
			const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y || !py_eq(x, y))
				return false;
		}
		return true;
	default:
		return false;
	}
}

/* value in list (Python's `in`); a list that is no list holds itself. */
static bool py_in(const cJSON *v, const cJSON *list)
{
	if (!cJSON_IsArray(list))
		return py_eq(v, list);
	for (const cJSON *e = list->child; e; e = e->next)
		if (py_eq(v, e))
			return true;
	return false;
}

static bool is_empty_str(const cJSON *v)
{
	return cJSON_IsString(v) && !v->valuestring[0];
}

/* "" in list: the argument may be omitted. */
static bool allows_omission(const cJSON *list)
{
	if (!cJSON_IsArray(list))
		return is_empty_str(list);
	for (const cJSON *e = list->child; e; e = e->next)
		if (is_empty_str(e))
			return true;
	return false;
}

char *bfcl_standardize(const char *s)
{
	char *o = malloc(strlen(s) + 1);
	if (!o)
		return NULL;
	size_t k = 0;
	for (const char *p = s; *p; p++) {
		if (strchr(" ,./-_*^", *p))
			continue;
		o[k++] = *p == '\'' ? '"' : (char)tolower((unsigned char)*p);
	}
	o[k] = '\0';
	return o;
}

/* A copy with strings standardized (top level only, as BFCL's checkers do). */
static cJSON *std_copy(const cJSON *v)
{
	if (!cJSON_IsString(v))
		return cJSON_Duplicate(v, true);
	char *s = bfcl_standardize(v->valuestring);
	cJSON *o = s ? cJSON_CreateString(s) : NULL;
	free(s);
	return o;
}

/* A copy of a list with its string elements standardized. */
static cJSON *std_list(const cJSON *list)
{
	cJSON *o = cJSON_CreateArray();
	for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; o && e; e = e->next) {
		cJSON *c = std_copy(e);
		if (!c || !cJSON_AddItemToArray(o, c)) {
			cJSON_Delete(c);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* ---- error messages ---- */

struct msg {
	char *s;
	size_t n;
};

static void msg_set(struct msg *m, const char *fmt, ...) AP_PRINTF(2, 3);
static void msg_set(struct msg *m, const char *fmt, ...)
{
	if (!m || !m->s || !m->n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->s, m->n, fmt, ap);
	va_end(ap);
}

/* Compact JSON of a value for a message, cut at 100 bytes. */
static const char *show(const cJSON *v, char *buf, size_t n)
{
	/* A float written as a whole number reads as Python prints it, 10.0. */
	if (bfcl_is_float(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15) {
		snprintf(buf, n, "%.1f", v->valuedouble);
		return buf;
	}
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;
	if (!s) {
		snprintf(buf, n, "?");
		return buf;
	}
	if (strlen(s) > 100)
		snprintf(buf, n, "%.100s...", s);
	else
		snprintf(buf, n, "%s", s);
	free(s);
	return buf;
}

/* ---- BFCL's checkers ---- */

/* The type of the first acceptable value that is not "" (PY_UNKNOWN: none). */
static enum pyt answer_type(const cJSON *list)
{
	if (!cJSON_IsArray(list))
		return is_empty_str(list) ? PY_UNKNOWN : pytype(list);
	for (const cJSON *e = list->child; e; e = e->next)
		if (!is_empty_str(e))
			return pytype(e);
	return PY_UNKNOWN;
}

/*
 * type_checker: value has the expected type (and, one level down, its
 * elements have the element type), or the type of the acceptable values,
 * which marks the value as a variable name compared as written.
 */
static bool type_check(const char *param, const cJSON *v, const cJSON *answers, const char *tdesc,
		       enum pyt t, enum pyt nested, bool *is_var, struct msg *m)
{
	char b[128];
	enum pyt at = answer_type(answers), vt = pytype(v);
	*is_var = at != PY_UNKNOWN && at != t;
	if (vt == t) {
		if (nested == PY_UNKNOWN)
			return true;
		for (const cJSON *pa = cJSON_IsArray(answers) ? answers->child : NULL; pa;
		     pa = pa->next) {
			bool ok = true, iv;
			if (cJSON_IsArray(pa))
				for (const cJSON *x = v->child; x && ok; x = x->next)
					ok = type_check(param, x, pa, pyt_names[nested], nested,
							PY_UNKNOWN, &iv, NULL);
			if (ok)
				return true;
		}
		msg_set(m, "Nested type checking failed for parameter '%s'. Expected outer type %s "
			   "with inner type %s. Parameter value: %s.",
			param, tdesc, pyt_names[nested], show(v, b, sizeof(b)));
		return false;
	}
	if (at != PY_UNKNOWN && vt == at) {
		*is_var = true;
		return true;
	}
	msg_set(m, "Incorrect type for parameter '%s'. Expected type %s, got %s. Parameter value: %s.",
		param, tdesc, pyt_names[vt], show(v, b, sizeof(b)));
	return false;
}

static bool string_check(const char *param, const cJSON *v, const cJSON *answers, struct msg *m)
{
	char b[128], c[128];
	char *sv = bfcl_standardize(v->valuestring);
	bool ok = false;
	for (const cJSON *e = cJSON_IsArray(answers) ? answers->child : answers; sv && e && !ok;
	     e = cJSON_IsArray(answers) ? e->next : NULL) {
		if (!cJSON_IsString(e))
			continue;
		char *se = bfcl_standardize(e->valuestring);
		ok = se && !strcmp(se, sv);
		free(se);
	}
	free(sv);
	if (!ok)
		msg_set(m, "Invalid value for parameter '%s': %s. Expected one of %s. Case insensitive.",
			param, show(v, b, sizeof(b)), show(answers, c, sizeof(c)));
	return ok;
}

static bool list_check(const char *param, const cJSON *v, const cJSON *answers, struct msg *m)
{
	char b[128], c[128];
	bool ok = false;
	cJSON *sv = std_list(v);
	for (const cJSON *pa = cJSON_IsArray(answers) ? answers->child : NULL; sv && pa && !ok;
	     pa = pa->next) {
		/* A "" answer standardizes to an empty list in BFCL's checker. */
		cJSON *sp = is_empty_str(pa) ? cJSON_CreateArray() : std_list(pa);
		ok = sp && (cJSON_IsArray(pa) || is_empty_str(pa)) && py_eq(sv, sp);
		cJSON_Delete(sp);
	}
	cJSON_Delete(sv);
	if (!ok)
		msg_set(m, "Invalid value for parameter '%s': %s. Expected one of %s.", param,
			show(v, b, sizeof(b)), show(answers, c, sizeof(c)));
	return ok;
}

/* One dictionary answer: every key of v acceptable, every missing key optional. */
static bool dict_one(const cJSON *v, const cJSON *pa, struct msg *m)
{
	char b[128], c[128];
	if (!cJSON_IsObject(pa) || !cJSON_IsObject(v)) {
		msg_set(m, "Invalid value %s for a dictionary answer %s.", show(v, b, sizeof(b)),
			show(pa, c, sizeof(c)));
		return false;
	}
	for (const cJSON *kv = v->child; kv; kv = kv->next) {
		const cJSON *acc = cJSON_GetObjectItemCaseSensitive(pa, kv->string);
		if (!acc) {
			msg_set(m, "Unexpected dict key parameter: '%s'.", kv->string);
			return false;
		}
		cJSON *sv = std_copy(kv);
		cJSON *sa = cJSON_IsArray(acc) ? std_list(acc) : std_copy(acc);
		bool ok = sv && sa && py_in(sv, sa);
		if (!ok)
			msg_set(m, "Invalid value for parameter '%s': %s. Expected one of %s.",
				kv->string, show(kv, b, sizeof(b)), show(sa, c, sizeof(c)));
		cJSON_Delete(sv);
		cJSON_Delete(sa);
		if (!ok)
			return false;
	}
	for (const cJSON *acc = pa->child; acc; acc = acc->next) {
		if (!cJSON_GetObjectItemCaseSensitive(v, acc->string) && !allows_omission(acc)) {
			msg_set(m, "Missing dict key parameter: '%s'.", acc->string);
			return false;
		}
	}
	return true;
}

/* dict_checker: some answer (a dict of per-key acceptable lists) accepts v. */
static bool dict_check(const cJSON *v, const cJSON *answers, struct msg *m)
{
	msg_set(m, "No dictionary among the acceptable values.");
	for (const cJSON *pa = cJSON_IsArray(answers) ? answers->child : answers; pa;
	     pa = cJSON_IsArray(answers) ? pa->next : NULL) {
		if (is_empty_str(pa))
			continue;
		if (dict_one(v, pa, m))
			return true;
	}
	return false;
}

/* list_dict_checker: some answer (a list of dict answers) accepts v, in order. */
static bool list_dict_check(const cJSON *v, const cJSON *answers, struct msg *m)
{
	msg_set(m, "No list of dictionaries among the acceptable values.");
	int n = cJSON_GetArraySize(v);
	for (const cJSON *pa = cJSON_IsArray(answers) ? answers->child : NULL; pa; pa = pa->next) {
		int k = cJSON_IsArray(pa) ? cJSON_GetArraySize(pa) : is_empty_str(pa) ? 0 : -1;
		if (k != n) {
			msg_set(m, "Wrong number of dictionaries in the list.");
			continue;
		}
		bool ok = true;
		for (const cJSON *x = v->child, *y = cJSON_IsArray(pa) ? pa->child : NULL; x && y && ok;
		     x = x->next, y = y->next)
			ok = dict_one(x, y, m);
		if (ok)
			return true;
	}
	return false;
}

/* The element type named by a parameter's "items" (NULL: none). */
static const char *items_type(const cJSON *pd)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(pd, "items");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

static bool one_param(const char *param, const cJSON *value, const cJSON *pd, enum bfcl_lang lang,
		      const cJSON *answers, struct msg *m)
{
	char b[128], c[128];
	const cJSON *tj = cJSON_GetObjectItemCaseSensitive(pd, "type");
	const char *tdesc = cJSON_IsString(tj) ? tj->valuestring : "any";
	enum pyt t = expected_type(lang, tdesc), nested = PY_UNKNOWN;
	cJSON *v = NULL;
	bool ok = false, is_var = false;
	if (lang == BFCL_PYTHON) {
		if (!strcmp(tdesc, "array") || !strcmp(tdesc, "tuple")) {
			const char *it = items_type(pd);
			nested = it ? expected_type(lang, it) : PY_UNKNOWN;
		}
		v = cJSON_Duplicate(value, true);
		/* Python converts an int argument of a float parameter. */
		if (v && !strcmp(tdesc, "float") && pytype(v) == PY_INT)
			v->type |= BF_FLOAT;
	} else {
		if (!cJSON_IsString(value)) {
			msg_set(m, "Incorrect type for parameter '%s'. Expected type String, got %s. "
				   "Parameter value: %s.",
				param, pyt_names[pytype(value)], show(value, b, sizeof(b)));
			return false;
		}
		const char *it = NULL;
		if (!strcmp(tdesc, "Array") || !strcmp(tdesc, "ArrayList") || !strcmp(tdesc, "array")) {
			it = items_type(pd);
			nested = it ? expected_type(lang, it) : PY_UNKNOWN;
		}
		v = bfcl_convert(lang, value->valuestring, tdesc, it);
	}
	if (!v) {
		msg_set(m, "out of memory while checking parameter '%s'", param);
		return false;
	}
	if (!type_check(param, v, answers, tdesc, t, nested, &is_var, m))
		goto out;
	if (!is_var && t == PY_DICT) {
		ok = dict_check(v, answers, m);
	} else if (!is_var && t == PY_LIST && nested == PY_DICT) {
		ok = list_dict_check(v, answers, m);
	} else if (!is_var && t == PY_STR) {
		ok = string_check(param, v, answers, m);
	} else if (!is_var && t == PY_LIST) {
		ok = list_check(param, v, answers, m);
	} else {
		ok = py_in(v, answers);
		if (!ok)
			msg_set(m, "Invalid value for parameter '%s': %s. Expected one of %s.", param,
				show(v, b, sizeof(b)), show(answers, c, sizeof(c)));
	}
out:
	cJSON_Delete(v);
	return ok;
}

bool bfcl_args_match(const cJSON *params, enum bfcl_lang lang, const cJSON *answer,
		     const cJSON *args, char *why, size_t whylen)
{
	struct msg m = { why, whylen };
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(params, "properties");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(params, "required");
	if (why && whylen)
		why[0] = '\0';
	for (const cJSON *r = cJSON_IsArray(req) ? req->child : NULL; r; r = r->next) {
		if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(args, r->valuestring)) {
			msg_set(&m, "Missing required parameter: '%s'.", r->valuestring);
			return false;
		}
	}
	for (const cJSON *a = args ? args->child : NULL; a; a = a->next) {
		const cJSON *pd = cJSON_GetObjectItemCaseSensitive(props, a->string);
		const cJSON *acc = cJSON_GetObjectItemCaseSensitive(answer, a->string);
		if (!pd || !acc) {
			msg_set(&m, "Unexpected parameter: '%s'.", a->string);
			return false;
		}
		if (!one_param(a->string, a, pd, lang, acc, &m))
			return false;
	}
	for (const cJSON *acc = answer ? answer->child : NULL; acc; acc = acc->next) {
		if (!cJSON_GetObjectItemCaseSensitive(args, acc->string) && !allows_omission(acc)) {
			msg_set(&m, "Optional parameter '%s' not provided and not marked as optional.",
				acc->string);
			return false;
		}
	}
	return true;
}

/* ---- Java and JavaScript literals ---- */

enum {
	RE_INT, RE_JFLOAT, RE_JDOUBLE, RE_JLONG, RE_JALIST, RE_JAADD, RE_JADD, RE_JAEMPTY,
	RE_JARRAY, RE_JMAP, RE_JPUT, RE_JMAPEMPTY, RE_JSFLOAT, RE_JSBIGINT, RE_JSA2D,
	RE_JSINNER, RE_JSA1D, RE_JSDICT, RE_JSPAIR, RE_COUNT
};

/* The literal grammars BFCL's converters accept (Python re syntax, which
 * these patterns share with PCRE2); anchored ones start with ^. */
static const struct {
	const char *pat;
	uint32_t opts;
} re_src[RE_COUNT] = {
	[RE_INT] = { "^-?\\d+$", 0 },
	[RE_JFLOAT] = { "^-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?[fF]$", 0 },
	[RE_JDOUBLE] = { "^-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?$", 0 },
	[RE_JLONG] = { "^-?\\d+[lL]$", 0 },
	[RE_JALIST] = { "new\\s+ArrayList<\\w*>\\(Arrays\\.asList\\((.+?)\\)\\)", 0 },
	[RE_JAADD] = { "new\\s+ArrayList<\\w*>\\(\\)\\s*\\{\\{\\s*(.+?)\\s*\\}\\}", PCRE2_DOTALL },
	[RE_JADD] = { "add\\((.+?)\\)", 0 },
	[RE_JAEMPTY] = { "new\\s+ArrayList<\\w*>\\(\\)", 0 },
	[RE_JARRAY] = { "new\\s+\\w+\\[\\]\\s*\\{(.*?)\\}", 0 },
	[RE_JMAP] = { "new\\s+HashMap<.*?>\\s*\\(\\)\\s*\\{\\s*\\{?\\s*(.*?)\\s*\\}?\\s*\\}",
		      PCRE2_DOTALL },
	[RE_JPUT] = { "put\\(\"(.*?)\",\\s*(.*?)\\)", 0 },
	[RE_JMAPEMPTY] = { "new\\s+HashMap<.*?>\\s*\\(\\)", 0 },
	[RE_JSFLOAT] = { "^-?\\d+(\\.\\d+)?$", 0 },
	[RE_JSBIGINT] = { "^-?\\d+n$", 0 },
	[RE_JSA2D] = { "^(?:\\[\\s*\\[.*?\\]\\s*(,\\s*\\[.*?\\]\\s*)*\\]|\\bnew\\s+Array\\(\\s*\\[.*?"
		       "\\]\\s*(,\\s*\\[.*?\\]\\s*)*\\))",
		       0 },
	[RE_JSINNER] = { "\\[(.*?)\\]", 0 },
	[RE_JSA1D] = { "^(?:\\[(.*?)\\]|\\bnew\\s+Array\\((.*?)\\))", 0 },
	[RE_JSDICT] = { "^\\{(.*?)\\}", 0 },
	[RE_JSPAIR] = { "([^:]+):\\s*(.*?)(?:,\\s*(?=[^,]+:)|$)", 0 },
};

static pcre2_code *re_code[RE_COUNT];
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static void re_init(void)
{
	for (int i = 0; i < RE_COUNT; i++) {
		int e;
		PCRE2_SIZE off;
		re_code[i] = pcre2_compile((PCRE2_SPTR)re_src[i].pat, PCRE2_ZERO_TERMINATED,
					   re_src[i].opts, &e, &off, NULL);
	}
}

/* A match of pattern i in s from offset start: groups' offsets in ov (2 per
 * group, group 0 first, PCRE2_UNSET when a group took no part). */
struct rmatch {
	size_t ov[8];
	int n;
};

static bool re_find(int i, const char *s, size_t len, size_t start, struct rmatch *r)
{
	pthread_once(&re_once, re_init);
	if (!re_code[i] || start > len)
		return false;
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	if (!md)
		return false;
	int rc = pcre2_match(re_code[i], (PCRE2_SPTR)s, len, start, 0, md, NULL);
	if (rc > 0) {
		PCRE2_SIZE *o = pcre2_get_ovector_pointer(md);
		r->n = rc;
		for (int k = 0; k < 8; k++)
			r->ov[k] = k < 2 * rc ? o[k] : PCRE2_UNSET;
	}
	pcre2_match_data_free(md);
	return rc > 0;
}

static bool re_full(int i, const char *s)
{
	struct rmatch r;
	return re_find(i, s, strlen(s), 0, &r);
}

/* Group g of a match as a new string (NULL if it took no part). */
static char *group(const char *s, const struct rmatch *r, int g)
{
	if (g >= r->n || r->ov[2 * g] == PCRE2_UNSET)
		return NULL;
	size_t a = r->ov[2 * g], b = r->ov[2 * g + 1];
	char *o = malloc(b - a + 1);
	if (o) {
		memcpy(o, s + a, b - a);
		o[b - a] = '\0';
	}
	return o;
}

/* str.strip(): a new string without leading and trailing whitespace. */
static char *strip_ws(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *o = malloc(n + 1);
	if (o) {
		memcpy(o, s, n);
		o[n] = '\0';
	}
	return o;
}

/*
 * Python's re.findall of pattern i over s: each match becomes a value by
 * conv(group 1, group 2 (NULL if none), arg), appended to the list out, or,
 * with key, set in the dict out under key(group 1) (a later key wins, as in
 * a Python dict). Returns out, or NULL (out freed) on ENOMEM.
 */
static cJSON *findall(int i, const char *s, cJSON *out,
		      cJSON *(*conv)(const char *g1, const char *g2, void *arg), void *arg,
		      char *(*key)(const char *g1))
{
	size_t len = strlen(s), at = 0;
	struct rmatch m;
	while (out && at <= len && re_find(i, s, len, at, &m)) {
		char *g1 = group(s, &m, 1), *g2 = group(s, &m, 2);
		char *k = key && g1 ? key(g1) : NULL;
		cJSON *v = g1 && (!key || k) ? conv(g1, g2, arg) : NULL;
		if (v && key) {
			cJSON_DeleteItemFromObjectCaseSensitive(out, k);
			if (!cJSON_AddItemToObject(out, k, v))
				cJSON_Delete(v), v = NULL;
		} else if (v && !cJSON_AddItemToArray(out, v)) {
			cJSON_Delete(v), v = NULL;
		}
		if (!v) {
			cJSON_Delete(out);
			out = NULL;
		}
		free(g1), free(g2), free(k);
		at = m.ov[1] > m.ov[0] ? m.ov[1] : m.ov[1] + 1;
	}
	return out;
}

/* s[1:-1] */
static char *unquote(const char *s)
{
	size_t n = strlen(s);
	return n >= 2 ? strndup(s + 1, n - 2) : strdup("");
}

/* Python's int(s): whitespace, a sign, digits with single '_' between them. */
static bool py_int(const char *s, double *out)
{
	char buf[64];
	size_t k = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		buf[k++] = *s++;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; *s && k < sizeof(buf) - 1; s++) {
		if (isdigit((unsigned char)*s))
			buf[k++] = *s;
		else if (*s == '_' && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[-1]))
			continue;
		else
			break;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return false;
	buf[k] = '\0';
	*out = strtod(buf, NULL);
	return true;
}

/* Python's float(s): what strtod takes, but no hexadecimal. */
static bool py_float(const char *s, double *out)
{
	char *end;
	if (strpbrk(s, "xXpP") && !strcasestr(s, "inf"))
		return false;
	errno = 0;
	double d = strtod(s, &end);
	if (end == s)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return false;
	*out = d;
	return true;
}

static cJSON *split_list(const char *s, cJSON *(*conv)(const char *, const void *),
			 const void *arg, bool skip_empty);

/* parse_java_value: a literal whose type is not known. */
static cJSON *java_value(const char *s)
{
	double d;
	size_t n = strlen(s);
	if (!strcmp(s, "true") || !strcmp(s, "false"))
		return cJSON_CreateBool(!strcmp(s, "true"));
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		char *u = strndup(s + 1, n - 2);
		cJSON *o = u ? cJSON_CreateString(u) : NULL;
		free(u);
		return o;
	}
	if (re_full(RE_JLONG, s))
		return cJSON_CreateNumber(strtod(s, NULL));
	if (re_full(RE_JFLOAT, s))
		return mk_float(strtod(s, NULL));
	if (py_int(s, &d))
		return cJSON_CreateNumber(d);
	if (py_float(s, &d))
		return mk_float(d);
	return cJSON_CreateString(s);
}

static cJSON *java_convert(const char *v, const char *t, const char *nested);

/* Element of a Java list with element type nested (NULL: unknown). */
static cJSON *java_elem(const char *e, const void *arg)
{
	const char *nested = arg;
	if (nested && (!strcmp(nested, "char") || !strcmp(nested, "String"))) {
		char *u = unquote(e);
		cJSON *o = u ? cJSON_CreateString(u) : NULL;
		free(u);
		return o;
	}
	return nested ? java_convert(e, nested, NULL) : java_value(e);
}

/* Array element: java_type_converter keeps quotes on String elements. */
static cJSON *java_array_elem(const char *e, const void *arg)
{
	const char *nested = arg;
	return nested ? java_convert(e, nested, NULL) : java_value(e);
}

/* One add(x) of an ArrayList's initializer block. */
static cJSON *java_add(const char *g1, const char *g2, void *nested)
{
	(void)g2;
	char *y = strip_ws(g1, strlen(g1));
	cJSON *e = y ? java_elem(y, nested) : NULL;
	free(y);
	return e;
}

static cJSON *java_arraylist(const char *v, const char *nested)
{
	struct rmatch r;
	size_t len = strlen(v);
	if (re_find(RE_JALIST, v, len, 0, &r)) {
		char *g = group(v, &r, 1);
		cJSON *o = g ? split_list(g, java_elem, nested, false) : NULL;
		free(g);
		return o;
	}
	if (re_find(RE_JAADD, v, len, 0, &r)) {
		char *g = group(v, &r, 1);
		cJSON *o = g ? findall(RE_JADD, g, cJSON_CreateArray(), java_add, (void *)nested, NULL)
			     : NULL;
		free(g);
		return o;
	}
	if (re_find(RE_JAEMPTY, v, len, 0, &r))
		return cJSON_CreateArray();
	return cJSON_CreateString(v);
}

static cJSON *java_array(const char *v, const char *nested)
{
	struct rmatch r;
	if (!re_find(RE_JARRAY, v, strlen(v), 0, &r))
		return cJSON_CreateString(v);
	char *g = group(v, &r, 1);
	cJSON *o = g ? split_list(g, java_array_elem, nested, true) : NULL;
	free(g);
	return o;
}

/* One put("key", value) of a HashMap's initializer block: the value. */
static cJSON *java_put(const char *g1, const char *g2, void *arg)
{
	(void)g1, (void)arg;
	char *y = g2 ? strip_ws(g2, strlen(g2)) : NULL;
	cJSON *e = y ? java_value(y) : NULL;
	free(y);
	return e;
}

static cJSON *java_hashmap(const char *v)
{
	struct rmatch r;
	size_t len = strlen(v);
	if (re_find(RE_JMAP, v, len, 0, &r)) {
		char *g = group(v, &r, 1);
		cJSON *o = g ? findall(RE_JPUT, g, cJSON_CreateObject(), java_put, NULL, strdup) : NULL;
		free(g);
		return o;
	}
	if (re_find(RE_JMAPEMPTY, v, len, 0, &r))
		return cJSON_CreateObject();
	return cJSON_CreateString(v);
}

/* java_type_converter. Types its converter does not implement (Set,
 * Hashtable, Queue, Stack, and names it does not know) stay strings. */
static cJSON *java_convert(const char *v, const char *t, const char *nested)
{
	if (!strcmp(t, "byte") || !strcmp(t, "short") || !strcmp(t, "integer"))
		return re_full(RE_INT, v) ? cJSON_CreateNumber(strtod(v, NULL)) : cJSON_CreateString(v);
	if (!strcmp(t, "float"))
		return re_full(RE_JFLOAT, v) ? mk_float(strtod(v, NULL)) : cJSON_CreateString(v);
	if (!strcmp(t, "double"))
		return re_full(RE_JDOUBLE, v) ? mk_float(strtod(v, NULL)) : cJSON_CreateString(v);
	if (!strcmp(t, "long"))
		return re_full(RE_JLONG, v) ? cJSON_CreateNumber(strtod(v, NULL)) : cJSON_CreateString(v);
	if (!strcmp(t, "boolean"))
		return !strcmp(v, "true") || !strcmp(v, "false") ? cJSON_CreateBool(!strcmp(v, "true"))
								 : cJSON_CreateString(v);
	if (!strcmp(t, "ArrayList"))
		return java_arraylist(v, nested);
	if (!strcmp(t, "Array"))
		return java_array(v, nested);
	if (!strcmp(t, "HashMap"))
		return java_hashmap(v);
	/* char: BFCL's pattern for a quoted char never matches, so it stays as written. */
	return cJSON_CreateString(v);
}

/* parse_js_value */
static cJSON *js_value(const char *s0)
{
	double d;
	char *s = strip_ws(s0, strlen(s0));
	cJSON *o = NULL;
	size_t n = s ? strlen(s) : 0;
	if (!s)
		return NULL;
	if (!strcmp(s, "true") || !strcmp(s, "false"))
		o = cJSON_CreateBool(!strcmp(s, "true"));
	else if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\'')))
		o = (s[n - 1] = '\0', cJSON_CreateString(s + 1));
	else if (py_int(s, &d))
		o = cJSON_CreateNumber(d);
	else if (py_float(s, &d))
		o = mk_float(d);
	else
		o = cJSON_CreateString(s);
	free(s);
	return o;
}

static cJSON *js_convert(const char *v, const char *t, const char *nested, bool *fail);

struct js_elem_arg {
	const char *nested;
	bool fail;
};

static cJSON *js_elem(const char *e, const void *arg)
{
	struct js_elem_arg *a = (struct js_elem_arg *)arg;
	if (!a->nested)
		return js_value(e);
	bool q = e[0] == '\'' || e[0] == '"';
	return js_convert(e, a->nested, q ? "String" : NULL, &a->fail);
}

static cJSON *js_value_elem(const char *e, const void *arg)
{
	(void)arg;
	return js_value(e);
}

static cJSON *js_collection(const char *code0, bool dict, const char *nested);

/* Strips the quote characters ' and " from both ends (str.strip("'\"")). */
static char *strip_quotes(const char *s)
{
	size_t n = strlen(s);
	while (n && (*s == '\'' || *s == '"'))
		s++, n--;
	while (n && (s[n - 1] == '\'' || s[n - 1] == '"'))
		n--;
	return strndup(s, n);
}

/* A dict pair's key: stripped of whitespace, then of quote characters. */
static char *js_key(const char *g1)
{
	char *k1 = strip_ws(g1, strlen(g1));
	char *k = k1 ? strip_quotes(k1) : NULL;
	free(k1);
	return k;
}

/* A dict pair's value: a list, a nested dict, or a plain value. */
static cJSON *js_pair(const char *g1, const char *g2, void *arg)
{
	(void)g1, (void)arg;
	char *v = g2 ? strip_ws(g2, strlen(g2)) : NULL;
	cJSON *e = NULL;
	size_t vn = v ? strlen(v) : 0;
	if (vn && v[0] == '[' && v[vn - 1] == ']') {
		e = js_collection(v, false, NULL);
	} else if (vn && v[0] == '{' && v[vn - 1] == '}') {
		e = js_collection(v, true, NULL);
	} else if (v) {
		char *u = strip_quotes(v);
		e = u ? js_value(u) : NULL;
		free(u);
	}
	free(v);
	return e;
}

static cJSON *js_dict(const char *code)
{
	struct rmatch r;
	if (!strcmp(code, "{}"))
		return cJSON_CreateObject();
	if (!re_find(RE_JSDICT, code, strlen(code), 0, &r))
		return cJSON_CreateString(code);
	char *g = group(code, &r, 1);
	cJSON *o = g ? findall(RE_JSPAIR, g, cJSON_CreateObject(), js_pair, NULL, js_key) : NULL;
	free(g);
	return o;
}

/* One inner list of a 2-D array; the first match still holds the outer '['. */
static cJSON *js_inner(const char *g1, const char *g2, void *idx)
{
	(void)g2;
	char *y = strip_ws(g1, strlen(g1));
	const char *in = y && *(int *)idx == 0 && y[0] == '[' ? y + 1 : y;
	cJSON *e = in ? split_list(in, js_value_elem, NULL, false) : NULL;
	(*(int *)idx)++;
	free(y);
	return e;
}

static cJSON *js_array(const char *code, const char *nested)
{
	struct rmatch r;
	size_t len = strlen(code);
	if (re_find(RE_JSA2D, code, len, 0, &r)) {
		char *g = group(code, &r, 0);
		int idx = 0;
		cJSON *o = g ? findall(RE_JSINNER, g, cJSON_CreateArray(), js_inner, &idx, NULL) : NULL;
		free(g);
		return o;
	}
	if (!re_find(RE_JSA1D, code, len, 0, &r))
		return cJSON_CreateString(code);
	char *g = group(code, &r, 1);
	if (!g)
		g = group(code, &r, 2);
	char *s = g ? strip_ws(g, strlen(g)) : NULL;
	cJSON *o = NULL;
	if (s && !*s) {
		o = cJSON_CreateArray();
	} else if (s) {
		struct js_elem_arg a = { nested, false };
		o = split_list(s, js_elem, &a, false);
		/* A failed element conversion: BFCL keeps the code as written. */
		if (o && a.fail) {
			cJSON_Delete(o);
			o = cJSON_CreateString(code);
		}
	}
	free(g);
	free(s);
	return o;
}

/* Nesting depth of js_collection on this thread: "{a: {a: {..." recurses. */
static _Thread_local int js_depth;

static cJSON *js_collection(const char *code0, bool dict, const char *nested)
{
	if (js_depth >= BF_MAX_DEPTH)
		return cJSON_CreateString(code0);
	js_depth++;
	char *code = strip_ws(code0, strlen(code0));
	cJSON *o = code ? (dict ? js_dict(code) : js_array(code, nested)) : NULL;
	free(code);
	js_depth--;
	return o;
}

/* js_type_converter. *fail: a type its converter refuses (BFCL raises). */
static cJSON *js_convert(const char *v, const char *t, const char *nested, bool *fail)
{
	size_t n = strlen(v);
	if (!strcmp(t, "String")) {
		if (n >= 1 && ((v[0] == '"' && v[n - 1] == '"') || (v[0] == '\'' && v[n - 1] == '\''))) {
			char *u = unquote(v);
			cJSON *o = u ? cJSON_CreateString(u) : NULL;
			free(u);
			return o;
		}
		return cJSON_CreateString(v);
	}
	if (!strcmp(t, "integer"))
		return re_full(RE_INT, v) ? cJSON_CreateNumber(strtod(v, NULL)) : cJSON_CreateString(v);
	if (!strcmp(t, "float"))
		return re_full(RE_JSFLOAT, v) ? mk_float(strtod(v, NULL)) : cJSON_CreateString(v);
	if (!strcmp(t, "Bigint"))
		return re_full(RE_JSBIGINT, v) ? cJSON_CreateNumber(strtod(v, NULL))
					       : cJSON_CreateString(v);
	if (!strcmp(t, "Boolean"))
		return !strcmp(v, "true") || !strcmp(v, "false") ? cJSON_CreateBool(!strcmp(v, "true"))
								 : cJSON_CreateString(v);
	if (!strcmp(t, "dict"))
		return js_collection(v, true, nested);
	if (!strcmp(t, "array"))
		return js_collection(v, false, nested);
	if (strcmp(t, "any") && fail)
		*fail = true;
	return cJSON_CreateString(v);
}

/* s split at every ',', each piece stripped and converted, into a list. */
static cJSON *split_list(const char *s, cJSON *(*conv)(const char *, const void *),
			 const void *arg, bool skip_empty)
{
	cJSON *o = cJSON_CreateArray();
	for (const char *p = s; o;) {
		const char *c = strchr(p, ',');
		char *e = strip_ws(p, c ? (size_t)(c - p) : strlen(p));
		if (!e) {
			cJSON_Delete(o);
			return NULL;
		}
		if (!skip_empty || *e) {
			cJSON *x = conv(e, arg);
			if (!x || !cJSON_AddItemToArray(o, x)) {
				cJSON_Delete(x);
				cJSON_Delete(o);
				o = NULL;
			}
		}
		free(e);
		if (!c)
			break;
		p = c + 1;
	}
	return o;
}

cJSON *bfcl_convert(enum bfcl_lang lang, const char *value, const char *type, const char *nested)
{
	if (lang == BFCL_JAVA)
		return java_convert(value, type, nested);
	if (lang == BFCL_JAVASCRIPT) {
		bool fail = false;
		return js_convert(value, type, nested, &fail);
	}
	return cJSON_CreateString(value);
}
