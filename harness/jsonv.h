/*
 * Validated access to parsed JSON for the workload loaders: every failure is
 * reported as "file:line: field: message" with the full dotted field path
 * ("decomposed[1].check.value"), so a user can find the mistake without
 * reading the loader.
 */
#ifndef AP_JSONV_H
#define AP_JSONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cjson/cJSON.h>

#include "util.h"

/* Where the JSON being checked came from. */
struct jv_ctx {
	const char *file;
	size_t line;
	struct ap_error *err;
};

/* Longest field path kept in messages; deeper paths are cut, not refused. */
#define JV_PATH_MAX 160

/*
 * The first byte in [q, end) that ends a run of plain JSON string bytes: '"', '\\' or a
 * control byte. Sixteen at a time with SSE2 (every x86-64 has it): a byte
 * is a control byte when max(byte, 0x1F) is 0x1F, an unsigned test that
 * UTF-8's high bytes pass. Then eight at a time, with the "has a zero byte"
 * and "has a byte below n" tests: their lowest flagged byte is exactly the
 * first such byte (a false flag can only follow a true one), so on a
 * little-endian machine its index is the trailing zero count / 8. The last
 * few bytes one by one. Never reads at or past end. Most keys and values of
 * a stream chunk end within the first sixteen bytes: one load and nine
 * instructions, where the eight-byte loop took two or three rounds.
 */
static inline const char *jv_plain(const char *q, const char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      ctl = _mm_set1_epi8(0x1F);
	while (end - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
					   _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
		unsigned m = (unsigned)_mm_movemask_epi8(hit);
		if (m)
			return q + __builtin_ctz(m);
		q += 16;
	}
#endif
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	while (end - q >= 8) {
		uint64_t x;
		memcpy(&x, q, 8);
		uint64_t dq = x ^ (ones * '"'), bs = x ^ (ones * '\\');
		uint64_t hit = (((dq - ones) & ~dq) | ((bs - ones) & ~bs) | ((x - ones * 0x20) & ~x)) & high;
		if (hit)
			return q + (__builtin_ctzll(hit) >> 3);
		q += 8;
	}
#endif
	while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	return q;
}

/*
 * j printed without whitespace into out (replacing what it held), byte for
 * byte what cJSON_PrintUnformatted prints: 0, -ENOMEM, or -EINVAL where cJSON
 * would fail too (an invalid item, a raw item without text).
 */
int jv_print_to(const cJSON *j, struct sbuf *out);
/* The same, appended to o (o keeps what it held; on an error, part of j). */
int jv_write(struct sbuf *o, const cJSON *j);
/* For a writer that prints an object itself: ',' unless first, then "k":, as
 * jv_write prints a key. */
int jv_write_key(struct sbuf *o, bool first, const char *k);
/* s as a JSON string, escaped as cJSON escapes it (NULL: ""). */
int jv_write_str(struct sbuf *o, const char *s);
/* v in decimal, as cJSON prints an integral number below 1e15. */
int jv_write_int(struct sbuf *o, long long v);

/* A member's string or number, or dflt when it is absent or of another type
 * (for files agentperf wrote itself, already validated when written). */
static inline const char *jv_str_or(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static inline double jv_num_or(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* No object anywhere inside j (nested too) holds a key twice; -EINVAL naming it. */
int jv_unique_keys(const struct jv_ctx *c, const cJSON *j, const char *prefix);
/* Adds k: v, or k: null when v is NaN or infinite (unknown is never a number). */
static inline void jv_add_num_or_null(cJSON *o, const char *k, double v)
{
	if (!isfinite(v))
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, v);
}

/* "prefix.key" (or "key" when prefix is empty) into buf; returns buf. */
const char *jv_path(char *buf, size_t n, const char *prefix, const char *key);
/* "prefix[i]"; returns buf. */
const char *jv_path_idx(char *buf, size_t n, const char *prefix, size_t i);

/* JSON type name for messages: "string", "number", "object", ... */
const char *jv_type_name(const cJSON *j);

/*
 * Rejects keys of obj not in allowed (NULL-terminated) and duplicate keys
 * (cJSON keeps both and lookups see only the first, so a duplicate would be
 * silently ignored). Returns 0 or -EINVAL.
 */
int jv_keys(const struct jv_ctx *c, const cJSON *obj, const char *prefix,
	    const char *const *allowed);
/*
 * jv_keys that also says where each allowed key is: found[i] (one slot per
 * name of allowed) is obj's item named allowed[i], or NULL; what
 * cJSON_GetObjectItemCaseSensitive would return, found in the one pass.
 */
int jv_keys_found(const struct jv_ctx *c, const cJSON *obj, const char *prefix,
		  const char *const *allowed, const cJSON **found);

/* Object check with a message naming the field. */
int jv_object(const struct jv_ctx *c, const cJSON *j, const char *field);

/*
 * Typed getters. Each returns 0 (value in *out, or the default left alone
 * when absent and not required) or -EINVAL with err set. *present, when
 * given, says whether the key was there.
 */
int jv_string(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	      bool required, const char **out);
int jv_int(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	   long min, long max, bool *present, long *out);
int jv_double(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	      double min, double max, bool *present, double *out);
int jv_bool(const struct jv_ctx *c, const cJSON *obj, const char *prefix, const char *key,
	    bool *out);

/*
 * Checks UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF, no NUL).
 * Returns true, or false with the offset of the first bad byte in *bad.
 */
bool jv_utf8_valid(const char *s, size_t n, size_t *bad);

/*
 * Parses one JSON Lines line (exactly one value, nothing after it). Returns
 * the value, or NULL with err set to "file:line: invalid JSON near byte N".
 */
cJSON *jv_parse_line(const struct jv_ctx *c, const char *s, size_t n);

/* A number that is a whole integer within [min, max]. */
bool jv_is_int(const cJSON *j, long min, long max);

#endif
