#include "jsonv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *jv_path(char *buf, size_t n, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		snprintf(buf, n, "%s.%s", prefix, key);
	else
		snprintf(buf, n, "%s", key);
	return buf;
}

const char *jv_path_idx(char *buf, size_t n, const char *prefix, size_t i)
{
	snprintf(buf, n, "%s[%zu]", prefix ? prefix : "", i);
	return buf;
}

const char *jv_type_name(const cJSON *j)
{
	if (!j)
		return "nothing";
	switch (j->type & 0xff) {
	case cJSON_False:
	case cJSON_True:
		return "boolean";
	case cJSON_NULL:
		return "null";
	case cJSON_Number:
		return "number";
	case cJSON_String:
		return "string";
	case cJSON_Array:
		return "array";
	case cJSON_Object:
		return "object";
	default:
		return "invalid";
	}
}

int jv_keys(const struct jv_ctx *c, const cJSON *obj, const char *prefix,
	    const char *const *allowed)
{
	return jv_keys_found(c, obj, prefix, allowed, NULL);
}

int jv_keys_found(const struct jv_ctx *c, const cJSON *obj, const char *prefix,
		  const char *const *allowed, const cJSON **found)
{
	char f[JV_PATH_MAX];
	if (found)
		for (size_t i = 0; allowed[i]; i++)
			found[i] = NULL;
	for (const cJSON *it = obj ? obj->child : NULL; it; it = it->next) {
		const char *k = it->string ? it->string : "";
		bool ok = false;
		/* The first byte rules out most names without a call: this runs
		 * for every key of every task line. */
		for (size_t i = 0; allowed[i] && !ok; i++) {
			ok = allowed[i][0] == k[0] && !strcmp(allowed[i], k);
			if (ok && found)
				found[i] = it;
		}
		if (!ok) {
			/* The list of accepted keys turns a typo into a one-look fix. */
			char list[320] = "";
			size_t len = 0;
			for (size_t i = 0; allowed[i] && len < sizeof(list); i++) {
				int w = snprintf(list + len, sizeof(list) - len, "%s%s",
						 i ? ", " : "", allowed[i]);
				if (w < 0)
					break;
				len += (size_t)w;
			}
			ap_error_set(c->err, c->file, c->line, jv_path(f, sizeof(f), prefix, k),
				     "unknown key (expected %s)", list);
			return -EINVAL;
		}
		for (const cJSON *p = obj->child; p != it; p = p->next) {
			if (p->string && p->string[0] == k[0] && !strcmp(p->string, k)) {
				ap_error_set(c->err, c->file, c->line,
					     jv_path(f, sizeof(f), prefix, k), "duplicate key");
				return -EINVAL;
			}
		}
	}
	return 0;
}

int jv_unique_keys(const struct jv_ctx *c, const cJSON *j, const char *prefix)
{
	char f[JV_PATH_MAX];
	size_t i = 0;
	for (const cJSON *it = j ? j->child : NULL; it; it = it->next, i++) {
		if (cJSON_IsObject(j))
			for (const cJSON *p = j->child; p != it; p = p->next)
				if (p->string && it->string && !strcmp(p->string, it->string)) {
					ap_error_set(c->err, c->file, c->line,
						     jv_path(f, sizeof(f), prefix, it->string),
						     "duplicate key");
					return -EINVAL;
				}
		if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			int rc = jv_unique_keys(c, it,
						cJSON_IsObject(j) ? jv_path(f, sizeof(f), prefix, it->string)
								  : jv_path_idx(f, sizeof(f), prefix, i));
			if (rc)
				return rc;
		}
	}
	return 0;
}

int jv_object(const struct jv_ctx *c, const cJSON *j, const char *field)
{
	if (cJSON_IsObject(j))
		return 0;
	ap_error_set(c->err, c->file, c->line, field, "expected an object, got %s",
		     jv_type_name(j));
	return -EINVAL;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int jv_string(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	      bool required, const char **out)
{
	char f[JV_PATH_MAX];
	const cJSON *j = get(obj, key);
	if (!j) {
		if (!required)
			return 0;
		ap_error_set(c->err, c->file, c->line, jv_path(f, sizeof(f), prefix, key),
			     "missing required field");
		return -EINVAL;
	}
	if (!cJSON_IsString(j)) {
		ap_error_set(c->err, c->file, c->line, jv_path(f, sizeof(f), prefix, key),
			     "expected a string, got %s", jv_type_name(j));
		return -EINVAL;
	}
	*out = j->valuestring;
	return 0;
}

bool jv_is_int(const cJSON *j, long min, long max)
{
	if (!cJSON_IsNumber(j))
		return false;
	double d = j->valuedouble;
	return isfinite(d) && d == floor(d) && d >= (double)min && d <= (double)max;
}

int jv_int(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	   long min, long max, bool *present, long *out)
{
	char f[JV_PATH_MAX];
	const cJSON *j = get(obj, key);
	if (present)
		*present = j != NULL;
	if (!j)
		return 0;
	if (!jv_is_int(j, min, max)) {
		if (cJSON_IsNumber(j))
			ap_error_set(c->err, c->file, c->line,
				     jv_path(f, sizeof(f), prefix, key),
				     "expected an integer from %ld to %ld, got %g", min, max,
				     j->valuedouble);
		else
			ap_error_set(c->err, c->file, c->line,
				     jv_path(f, sizeof(f), prefix, key),
				     "expected an integer from %ld to %ld, got %s", min, max,
				     jv_type_name(j));
		return -EINVAL;
	}
	*out = (long)j->valuedouble;
	return 0;
}

int jv_double(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	      double min, double max, bool *present, double *out)
{
	char f[JV_PATH_MAX];
	const cJSON *j = get(obj, key);
	if (present)
		*present = j != NULL;
	if (!j)
		return 0;
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble < min ||
	    j->valuedouble > max) {
		if (cJSON_IsNumber(j))
			ap_error_set(c->err, c->file, c->line,
				     jv_path(f, sizeof(f), prefix, key),
				     "expected a number from %g to %g, got %g", min, max,
				     j->valuedouble);
		else
			ap_error_set(c->err, c->file, c->line,
				     jv_path(f, sizeof(f), prefix, key),
				     "expected a number from %g to %g, got %s", min, max,
				     jv_type_name(j));
		return -EINVAL;
	}
	*out = j->valuedouble;
	return 0;
}

int jv_bool(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	    bool *out)
{
	char f[JV_PATH_MAX];
	const cJSON *j = get(obj, key);
	if (!j)
		return 0;
	if (!cJSON_IsBool(j)) {
		ap_error_set(c->err, c->file, c->line, jv_path(f, sizeof(f), prefix, key),
			     "expected true or false, got %s", jv_type_name(j));
		return -EINVAL;
	}
	*out = cJSON_IsTrue(j);
	return 0;
}

/* All 8 bytes at p are ASCII and none is NUL. */
static inline bool ascii8(const unsigned char *p)
{
	const uint64_t hi = 0x8080808080808080ull, lo = 0x7f7f7f7f7f7f7f7full;
	uint64_t w;
	memcpy(&w, p, 8);
	/* Per byte, without carries: bit 7 of (b & 0x7f) + 0x7f is set when b & 0x7f != 0. */
	uint64_t nonzero = (w & lo) + lo;
	return !(w & hi) && (nonzero & hi) == hi;
}

bool jv_utf8_valid(const char *s, size_t n, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		/* Eight ASCII bytes without a NUL at a time: most of a workload. */
		while (n - i >= 8 && ascii8(p + i))
			i += 8;
		if (i == n)
			break;
		unsigned char b = p[i];
		size_t len;
		unsigned int cp, min;
		if (b == 0)
			goto bad;
		if (b < 0x80) {
			i++;
			continue;
		}
		if ((b & 0xe0) == 0xc0) {
			len = 2, cp = b & 0x1f, min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			len = 3, cp = b & 0x0f, min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			len = 4, cp = b & 0x07, min = 0x10000;
		} else {
			goto bad;
		}
		if (i + len > n)
			goto bad;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlongs and surrogates are how filters get bypassed; refuse them. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += len;
	}
	return true;
bad:
	if (bad)
		*bad = i;
	return false;
}

/* Where \u0000 starts in s (an escape, not an escaped backslash), or NULL. */
static const char *find_nul_escape(const char *s, size_t n)
{
	/* Most lines hold no backslash at all: one memchr says so. */
	const char *b = memchr(s, '\\', n);
	if (!b)
		return NULL;
	n -= (size_t)(b - s);
	s = b;
	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "\\u0000", 6)); p++) {
		size_t bs = 0;
		for (const char *q = p; q > s && q[-1] == '\\'; q--)
			bs++;
		if (!(bs & 1))
			return p;
	}
	return NULL;
}

/* The path of the first key or string value holding byte 0x01, into buf. */
static bool find_marked(const cJSON *j, const char *prefix, char *buf, size_t n)
{
	char here[JV_PATH_MAX];
	size_t i = 0;
	for (const cJSON *c = j->child; c; c = c->next, i++) {
		if (cJSON_IsObject(j))
			jv_path(here, sizeof(here), prefix, c->string);
		else
			jv_path_idx(here, sizeof(here), prefix, i);
		if ((c->string && strchr(c->string, '\x01')) ||
		    (cJSON_IsString(c) && strchr(c->valuestring, '\x01'))) {
			snprintf(buf, n, "%s", here);
			return true;
		}
		if (find_marked(c, here, buf, n))
			return true;
	}
	return false;
}

/*
 * cJSON turns \u0000 into a NUL that silently ends the string (an exact
 * check passing on a cut reply, a prompt sent cut): refused like a raw NUL,
 * naming the field. The field is found by parsing a copy with the escape
 * made \u0001 (unless the line has a real \u0001, where it is not named).
 */
static void refuse_nul_escape(const struct jv_ctx *c, const char *s, size_t n, const char *at)
{
	char field[JV_PATH_MAX] = "";
	char *copy = memmem(s, n, "\\u0001", 6) ? NULL : malloc(n + 1);
	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
		for (char *p = copy + (at - s); p; p = (char *)find_nul_escape(p + 1, n - (size_t)(p + 1 - copy)))
			p[5] = '1';
		cJSON *j = cJSON_ParseWithLength(copy, n);
		if (j && !find_marked(j, "", field, sizeof(field)))
			field[0] = '\0';
		cJSON_Delete(j);
		free(copy);
	}
	ap_error_set(c->err, c->file, c->line, field[0] ? field : NULL,
		     "\\u0000 (a NUL character) at byte %zu is not allowed in a string: it would "
		     "cut the string there",
		     (size_t)(at - s) + 1);
}

cJSON *jv_parse_line(const struct jv_ctx *c, const char *s, size_t n)
{
	const char *nul = find_nul_escape(s, n);
	if (nul) {
		refuse_nul_escape(c, s, n, nul);
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, false);
	if (j) {
		/* cJSON stops after one value; anything but blanks after it is a
		 * second value on the line, which JSON Lines does not allow. */
		const char *e = s + n;
		while (end && end < e && (*end == ' ' || *end == '\t' || *end == '\r' ||
					  *end == '\n'))
			end++;
		if (end && end < e) {
			ap_error_set(c->err, c->file, c->line, NULL,
				     "invalid JSON: unexpected text after the value at byte %zu",
				     (size_t)(end - s) + 1);
			cJSON_Delete(j);
			return NULL;
		}
		return j;
	}
	size_t off = end && end >= s && end <= s + n ? (size_t)(end - s) : 0;
	ap_error_set(c->err, c->file, c->line, NULL, "invalid JSON near byte %zu", off + 1);
	return NULL;
}

/*
 * cJSON's unformatted printer, byte for byte (tests/test_protocol.c compares
 * the two on random trees), straight into an sbuf. Strings escape as cJSON's
 * print_string_ptr does ('"', '\\', \b \f \n \r \t, any other byte below 0x20
 * as \u00xx in lower case; '/' and bytes from 0x7f up raw); an integer below
 * 1e15 is printed here, any other number is handed to cJSON. The pieces go in
 * with inline capacity checks and no NUL until the end: through sbuf_add a
 * 150-byte request body cost as much as cJSON's own printer.
 */
static inline int jw_put(struct sbuf *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap && sbuf_reserve(o, n))
		return -ENOMEM;
	memcpy(o->s + o->len, s, n);
	o->len += n;
	return 0;
}

static inline int jw_putc(struct sbuf *o, char c)
{
	if (o->len + 2 > o->cap && sbuf_reserve(o, 1))
		return -ENOMEM;
	o->s[o->len++] = c;
	return 0;
}

static int jw_str(struct sbuf *o, const char *s)
{
	if (!s)
		return jw_put(o, "\"\"", 2);
	const unsigned char *run = (const unsigned char *)s, *end = run + strlen(s);
	int rc = jw_putc(o, '"');
	while (!rc) {
		const unsigned char *p =
			(const unsigned char *)jv_plain((const char *)run, (const char *)end);
		if (p > run && (rc = jw_put(o, (const char *)run, (size_t)(p - run))))
			break;
		if (p == end)
			return jw_putc(o, '"');
		unsigned char c = *p;
		char e[8] = { '\\', (char)c };
		size_t n = 2;
		switch (c) {
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		case '"':
		case '\\': break;
		default: {
			static const char hex[] = "0123456789abcdef";
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			n = 6;
		}
		}
		rc = jw_put(o, e, n);
		run = p + 1;
	}
	return rc;
}

static int jw_int(struct sbuf *o, long long v)
{
	char b[24], *p = b + sizeof(b);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	return jw_put(o, p, (size_t)(b + sizeof(b) - p));
}

static int jw_num(struct sbuf *o, const cJSON *j)
{
	/* An integer below 1e15 (not -0): every cJSON prints its digits, whether
	 * by "%1.15g" (1.7.15) or by "%d" (later releases, inside int's range).
	 * Any other number is cJSON's to print, so the two agree on every value. */
	double d = j->valuedouble;
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d)))
		return jw_int(o, (long long)d);
	char b[64];
	if (!cJSON_PrintPreallocated((cJSON *)j, b, (int)sizeof(b), 0))
		return -EINVAL;
	return jw_put(o, b, strlen(b));
}

static int jw_value(struct sbuf *o, const cJSON *j)
{
	int rc = 0;
	switch (j->type & 0xff) {
	case cJSON_False:
		return jw_put(o, "false", 5);
	case cJSON_True:
		return jw_put(o, "true", 4);
	case cJSON_NULL:
		return jw_put(o, "null", 4);
	case cJSON_Number:
		return jw_num(o, j);
	case cJSON_String:
		return jw_str(o, j->valuestring);
	case cJSON_Raw:
		return j->valuestring ? jw_put(o, j->valuestring, strlen(j->valuestring)) : -EINVAL;
	case cJSON_Array:
	case cJSON_Object: {
		bool obj = (j->type & 0xff) == cJSON_Object;
		rc = jw_putc(o, obj ? '{' : '[');
		for (const cJSON *c = j->child; c && !rc; c = c->next) {
			if (obj && !(rc = jw_str(o, c->string)))
				rc = jw_putc(o, ':');
			if (!rc)
				rc = jw_value(o, c);
			if (!rc && c->next)
				rc = jw_putc(o, ',');
		}
		return rc ? rc : jw_putc(o, obj ? '}' : ']');
	}
	default:
		return -EINVAL; /* cJSON_Invalid: cJSON's printer fails too */
	}
}

/* Every public writer ends with the NUL that sbuf promises (jw_put left room). */
static int jw_end(struct sbuf *o, int rc)
{
	if (o->s)
		o->s[o->len] = '\0';
	return rc;
}

int jv_write(struct sbuf *o, const cJSON *j)
{
	return jw_end(o, j ? jw_value(o, j) : -EINVAL);
}

int jv_write_str(struct sbuf *o, const char *s)
{
	return jw_end(o, jw_str(o, s));
}

int jv_write_int(struct sbuf *o, long long v)
{
	return jw_end(o, jw_int(o, v));
}

int jv_write_key(struct sbuf *o, bool first, const char *k)
{
	int rc = first ? 0 : jw_putc(o, ',');
	if (!rc)
		rc = jw_str(o, k);
	return jw_end(o, rc ? rc : jw_putc(o, ':'));
}

int jv_print_to(const cJSON *j, struct sbuf *out)
{
	sbuf_reset(out);
	return jv_write(out, j);
}
