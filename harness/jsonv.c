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

int jv_print_to(const cJSON *j, struct sbuf *out)
{
	/* Straight into out's buffer (grown until it fits): no allocation and copy
	 * per request body once the buffer has its size. */
	static _Thread_local size_t hint = 256; /* this thread's last size: one print, mostly */
	sbuf_reset(out);
	for (size_t want = out->cap > hint ? out->cap : hint;; want *= 2) {
		if (want > out->cap && sbuf_reserve(out, want - out->len))
			return -ENOMEM;
		if (out->cap > INT_MAX)
			break;
		if (cJSON_PrintPreallocated((cJSON *)j, out->s, (int)out->cap, 0)) {
			out->len = strlen(out->s);
			hint = out->len + out->len / 4 + 64;
			return 0;
		}
	}
	char *txt = cJSON_PrintUnformatted(j);
	if (!txt)
		return -ENOMEM;
	int rc = sbuf_adds(out, txt);
	free(txt);
	return rc;
}
